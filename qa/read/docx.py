"""Word files: paragraphs in order, heading styles as ``#`` headings, tables as rows."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from qa.read.formats import MAX_INFLATED_BYTES, MAX_PART_BYTES, Extracted, UnreadableError


# ------------------------------------------------------------------ DOCX
def read_docx(raw: bytes, path: Path) -> Extracted:
    """Paragraphs and tables of a Word file in document order.

    Heading styles (``Heading 1``…, ``标题 1``…, or an outline level) become
    Markdown ``#`` headings one level below the ``Title`` paragraph; list
    styles become ``- `` items; a table becomes one line per row, each cell
    labelled with its column header (``指标：智能工厂，2027年：25家。``).

    Raises:
        UnreadableError: For a file that is not a readable DOCX, or has no text.
    """
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError("Reading .docx files needs python-docx: pip install python-docx") from exc
    _check_zip(raw, path)
    lines: list[str] = []
    try:
        document = docx.Document(io.BytesIO(raw))
        for element in document.element.body.iterchildren():
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "p":
                line = _docx_paragraph(Paragraph(element, document))
                if line:
                    lines.append(line)
            elif tag == "tbl":
                lines.extend(table_rows(_docx_cells(Table(element, document))))
    except Exception as exc:  # noqa: BLE001 - a parser of untrusted bytes may raise anything
        raise UnreadableError(
            path, f"corrupt or unreadable DOCX ({exc.__class__.__name__}); "
            "open and re-save it in Word or LibreOffice"
        ) from None
    text = "\n".join(lines)
    if not text.strip():
        raise UnreadableError(path, "DOCX has no text; nothing to index")
    return Extracted(text, "docx", "")


def _check_zip(raw: bytes, path: Path) -> None:
    """Refuse a zip whose parts inflate past the limits, before anything is inflated.

    ``zipfile`` never returns more than a member's recorded ``file_size``, so checking the
    recorded sizes bounds what python-docx can read.

    Raises:
        UnreadableError: For a corrupt zip, or one over :data:`MAX_PART_BYTES` per part or
            :data:`MAX_INFLATED_BYTES` in all.
    """
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnreadableError(
            path, f"corrupt or unreadable DOCX ({exc.__class__.__name__}); "
            "open and re-save it in Word or LibreOffice"
        ) from None
    biggest = max(members, key=lambda m: m.file_size, default=None)
    if biggest is not None and biggest.file_size > MAX_PART_BYTES:
        raise UnreadableError(
            path, f"DOCX part {biggest.filename} inflates to {biggest.file_size / 2**20:,.0f} MB, "
            f"over the {MAX_PART_BYTES // 2**20} MB limit per part (a zip bomb?)"
        )
    total = sum(m.file_size for m in members)
    if total > MAX_INFLATED_BYTES:
        raise UnreadableError(
            path, f"DOCX inflates to {total / 2**20:,.0f} MB, over the "
            f"{MAX_INFLATED_BYTES // 2**20} MB limit (a zip bomb?)"
        )


def _docx_paragraph(paragraph: Any) -> str:  # noqa: ANN401 - python-docx's Paragraph
    text = " ".join(paragraph.text.split())
    if not text:
        return ""
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    low = style.lower()
    if low == "title":
        return text
    match = re.match(r"^(?:heading|标题)\s*(\d)$", low)
    level = int(match.group(1)) if match else _outline_level(paragraph)
    if level:
        return f"{'#' * min(level + 1, 6)} {text}"
    numbered = paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    if low.startswith("list") or numbered:
        return f"- {text}"
    return text


def _outline_level(paragraph: Any) -> int:  # noqa: ANN401 - python-docx's Paragraph
    """1-based outline level from the paragraph's or its style's properties; 0 for body text."""
    for holder in (paragraph._p, getattr(paragraph.style, "element", None)):
        if holder is None:
            continue
        found = holder.xpath("./w:pPr/w:outlineLvl/@w:val")
        if found and str(found[0]).isdigit() and int(found[0]) < 9:
            return int(found[0]) + 1
    return 0


def _docx_cells(table: Any) -> list[list[str]]:  # noqa: ANN401 - python-docx's Table
    rows = []
    for row in table.rows:
        cells: list[str] = []
        seen: list[Any] = []
        for cell in row.cells:
            if any(cell._tc is s for s in seen):  # a merged cell repeats across its span
                continue
            seen.append(cell._tc)
            cells.append(" ".join(cell.text.split()))
        rows.append(cells)
    return rows


def table_rows(rows: list[list[str]]) -> list[str]:
    """Readable lines for a table: each body cell labelled with its column's header.

    The first row is the header when it has as many cells as the widest row.
    A row whose cells are all the same (a merged caption row) is kept as one line.

    Example:
        >>> table_rows([["指标", "2027年"], ["智能工厂", "25家"]])
        ['指标：智能工厂，2027年：25家。']
    """
    rows = [r for r in rows if any(c for c in r)]
    if not rows:
        return []
    width = max(len(r) for r in rows)
    header = rows[0] if len(rows) > 1 and len(rows[0]) == width and all(rows[0]) else None
    out = []
    for row in rows[1:] if header else rows:
        cells = [c for c in row if c]
        if len(set(cells)) == 1:
            out.append(cells[0])
        elif header and len(row) == width:
            pairs = [f"{h}：{c}" for h, c in zip(header, row, strict=True) if c]
            out.append("，".join(pairs) + "。")
        else:
            out.append("，".join(cells) + "。")
    return out
