"""PDF: the text layer page by page, lines mended, running headers and footers dropped."""

from __future__ import annotations

import bisect
import io
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.read.formats import Extracted, UnreadableError, check_text_size

_TERMINAL = "。！？；：!?;:….．"
_CLOSERS = "”’）)」』】》"
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])")
_PAGE_NUMBER = re.compile(
    r"^[-—–－\s]*(?:第\s*)?\d{1,4}\s*页?(?:\s*[/／]\s*(?:共\s*)?\d{1,4}\s*页?)?[-—–－\s]*$"
    r"|^(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$",
    re.IGNORECASE,
)
_HEADING_START = re.compile(
    r"^(?:第[一二三四五六七八九十百零〇\d]+[章节篇条]|[一二三四五六七八九十]+、|"
    r"[（(][一二三四五六七八九十]+[）)]|\d{1,2}[.．、](?!\d)|[-•●▪◆◇○])"
)


# ------------------------------------------------------------------ PDF
@contextmanager
def quiet(name: str) -> Iterator[None]:
    """Silence a library's logger while it reads one file (pypdf warns on every odd object)."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR + 10)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_pdf(raw: bytes, path: Path) -> Extracted:
    """The text layer of a PDF, one entry in the page table per page.

    Raises:
        UnreadableError: For a corrupt PDF, one encrypted with a password, or one
            without a text layer (scanned pages need OCR first).
    """
    try:
        from pypdf import PdfReader
        from pypdf.errors import DependencyError, FileNotDecryptedError
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError("Reading PDFs needs pypdf: pip install pypdf") from exc
    with quiet("pypdf"):
        try:
            reader = PdfReader(io.BytesIO(raw), strict=False)
            if reader.is_encrypted:
                try:
                    opened = reader.decrypt("")
                except DependencyError:
                    raise UnreadableError(
                        path, "encrypted PDF; reading it needs: pip install cryptography"
                    ) from None
                if not opened:
                    raise UnreadableError(
                        path, "encrypted PDF that needs a password; add an unprotected copy"
                    )
            pages = []
            chars = 0
            for page in reader.pages:
                text = _page_text(page)
                chars += len(text)
                check_text_size(chars, path)  # stop reading as soon as it is too much
                pages.append(_page_lines(text))
        except UnreadableError:
            raise
        except FileNotDecryptedError:
            raise UnreadableError(
                path, "encrypted PDF that needs a password; add an unprotected copy"
            ) from None
        except Exception as exc:  # noqa: BLE001 - a parser of untrusted bytes may raise anything
            raise UnreadableError(
                path, f"corrupt or unreadable PDF ({exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0][:80] if str(exc) else '-'})"
            ) from None
    if not pages:
        raise UnreadableError(path, "PDF has no pages")
    if not any(pages):
        raise UnreadableError(
            path, f"PDF has no text layer ({len(pages)} page(s) of images?); it needs OCR "
            "first, e.g. `ocrmypdf in.pdf out.pdf`"
        )
    text, starts = assemble_pages(drop_running_lines(pages))
    return Extracted(text, "pdf", "", starts)


@dataclass(frozen=True)
class PdfLine:
    """One line of a PDF page as the layout-preserving extraction shows it.

    Attributes:
        text: The line, trimmed, runs of spaces collapsed, spaces between CJK removed.
        indent: Leading spaces before it, less the page's most common indent (so
            body lines are at 0 and an indented first line of a paragraph above).
        gap: Whether blank lines (a larger vertical gap) come before it on its page.
    """

    text: str
    indent: int = 0
    gap: bool = False


def _page_text(page: Any) -> str:  # noqa: ANN401 - a pypdf page
    """The page's text with its layout (indents, vertical gaps); plain extraction as fallback."""
    try:
        return page.extract_text(extraction_mode="layout") or ""
    except Exception:  # noqa: BLE001 - layout mode fails on some odd pages; plain mode still works
        return page.extract_text() or ""


def _page_lines(text: str) -> list[PdfLine]:
    """Non-blank lines of one page."""
    lines: list[PdfLine] = []
    gap = False
    for row in text.replace("\r", "\n").split("\n"):
        body = " ".join(row.split())
        if not body:
            gap = bool(lines)
            continue
        indent = len(row) - len(row.lstrip())
        lines.append(PdfLine(_CJK_GAP.sub("", body), indent, gap))
        gap = False
    if lines:
        counts = Counter(line.indent for line in lines)
        usual = min(counts, key=lambda indent: (-counts[indent], indent))
        lines = [PdfLine(ln.text, ln.indent - usual, ln.gap) for ln in lines]
    return lines


def _edges(lines: list[PdfLine]) -> set[int]:
    """Positions of the lines a running header or footer may occupy."""
    n = len(lines)
    return {i for i in (0, 1, n - 2, n - 1) if 0 <= i < n}


def drop_running_lines(pages: list[list[PdfLine]]) -> list[list[PdfLine]]:
    """Drop page numbers and headers/footers that repeat across pages.

    A line among the first two or last two of a page goes when it is a page
    number (``- 3 -``, ``第 3 页``, ``3/10``) or when the same line, digits
    ignored, is at the edge of at least 60 % of the pages (and of two at least),
    so a header left off the first page still counts.
    """

    def key(line: PdfLine) -> str:
        return re.sub(r"\d+", "#", re.sub(r"\s+", "", line.text))

    counts = Counter(k for lines in pages for k in {key(lines[i]) for i in _edges(lines)})
    need = max(2, math.ceil(0.6 * len(pages)))
    running = {k for k, c in counts.items() if c >= need}
    out = []
    for lines in pages:
        edges = _edges(lines)
        out.append([
            line for i, line in enumerate(lines)
            if i not in edges or not (key(line) in running or _PAGE_NUMBER.match(line.text))
        ])
    return out


def _width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def _ends_sentence(line: str) -> bool:
    core = line.rstrip(_CLOSERS)
    return bool(core) and core[-1] in _TERMINAL


def assemble_pages(pages: list[list[PdfLine]]) -> tuple[str, tuple[int, ...]]:
    """Join the lines of all pages into one text, mending lines broken by the page width.

    A line runs on into the next one (on the same or the next page) when it
    fills (nearly) the full text width and the next line does not start a
    paragraph of its own: no vertical gap before it, no indent, no heading or
    list mark. Where paragraphs are marked by first-line indents, that is all;
    otherwise a line that ends a sentence also ends its paragraph. Joins are
    direct between Chinese characters, with a space between two Latin words,
    and drop the hyphen of a word hyphenated at the line end.

    Returns:
        ``(text, page_starts)``: page ``n`` starts at ``page_starts[n - 1]``
        (an empty page starts where the next one does).
    """
    lines = [line for page in pages for line in page]
    widths = sorted((_width(line.text) for line in lines), reverse=True)
    full = widths[len(widths) // 10] if widths else 0
    # Gaps or indents before most lines say nothing about paragraphs (loose line spacing).
    use_gaps = sum(line.gap for line in lines) < 0.5 * len(lines)
    use_indents = 0 < sum(line.indent >= 2 for line in lines) < 0.5 * len(lines)
    parts: list[str] = []
    length = 0
    starts: list[int] = []
    prev: PdfLine | None = None
    for page in pages:
        start = None
        for i, line in enumerate(page):
            if prev is not None:
                new_paragraph = (use_gaps and line.gap and i > 0) or (
                    use_indents and line.indent >= 2
                )
                sep = "\n" if new_paragraph else _separator(
                    prev.text, line.text, full, stops=not use_indents
                )
                if sep == "-":  # "hyphen-" + "ation": drop the hyphen
                    parts[-1] = parts[-1][:-1]
                    length -= 1
                    sep = ""
                parts.append(sep)
                length += len(sep)
            if start is None:
                start = length
            parts.append(line.text)
            length += len(line.text)
            prev = line
        starts.append(length if start is None else start)
    # An empty page starts where the next non-empty one does (bisect then skips it).
    for i in range(len(starts) - 2, -1, -1):
        if not pages[i]:
            starts[i] = starts[i + 1]
    return "".join(parts), tuple(starts)


def _separator(prev: str, line: str, full: int, stops: bool) -> str:
    if (stops and _ends_sentence(prev)) or _width(prev) < 0.85 * full or _HEADING_START.match(line):
        return "\n"
    a, b = prev[-1], line[0]
    if a == "-" and len(prev) > 1 and prev[-2].isascii() and prev[-2].isalpha() and b.islower():
        return "-"
    if a.isascii() and a.isalnum() and b.isascii() and b.isalnum():
        return " "
    return ""


def page_of(pages: tuple[int, ...], offset: int) -> int:
    """The 1-based page holding ``offset``, given :attr:`Extracted.pages`; 0 when unpaged."""
    return bisect.bisect_right(pages, offset) if pages else 0
