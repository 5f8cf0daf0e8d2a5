"""Reading source files: bytes of any supported format → the text the rest of the pipeline sees.

Plain text is decoded (UTF-8, UTF-8 with BOM, UTF-16, GBK/GB18030; the encoding
found is recorded). Other formats have no decoded text of their own, so their
*extracted* text stands in for it: offsets of blocks and chunks index that text,
and the index keeps a copy (``sources/<doc>.txt``) so a citation's offsets can
be checked. What each format gives:

* ``.pdf`` — the text layer, page by page (a table of page start offsets keeps
  page numbers), with lines broken by the page width joined again, words
  hyphenated at a line end mended, and running headers, footers and page
  numbers dropped;
* ``.docx`` — paragraphs in order, heading styles as Markdown ``#`` headings
  (so they become sections), tables as one readable line per row;
* ``.html``/``.htm`` — the main text (navigation, scripts and boilerplate
  dropped), headings as ``#`` headings, the page ``<title>`` as the title.

Every failure is an :class:`UnreadableError` whose ``reason`` is one line saying
what is wrong and, where there is one, the fix.
"""

from __future__ import annotations

import bisect
import io
import logging
import math
import os
import re
import stat
import unicodedata
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIXES = (".txt", ".md", ".pdf", ".docx", ".html", ".htm")
# Limits on untrusted input, each reported as one skip line (README, "Promises").
MAX_BYTES = 50 * 1024 * 1024  # a file on disk (--max-mb)
MAX_TEXT_CHARS = 5_000_000  # text extracted from any one file (~10 MB of Chinese UTF-8)
MAX_PART_BYTES = 32 * 1024 * 1024  # one part of a DOCX (a zip), inflated
MAX_INFLATED_BYTES = 128 * 1024 * 1024  # all parts of a DOCX, inflated
MAX_HTML_BYTES = 10 * 1024 * 1024  # a web page
# Strict UTF-8 that fails on a few stray bytes is still UTF-8: decoded with U+FFFD for
# them when at most this share of the characters is replaced.
_UTF8_STRAY_SHARE = 0.001
_FORMATS = {".txt": "txt", ".md": "md", ".pdf": "pdf", ".docx": "docx", ".html": "html",
            ".htm": "html"}
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
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.I)
_META_DATE_NAMES = ("pubdate", "publishdate", "firstpublishedtime", "article:published_time",
                    "dc.date", "dcterms.issued", "date")
_TITLE_SPLIT = re.compile(r"\s*[_|｜]\s*|\s+[-–—]\s+")
_NOISE = re.compile(r"(?:^|[\s_-])(?:nav|navbar|menu|breadcrumbs?|crumbs?|footer|header|sidebar|"
                    r"share|comments?|copyright|related|toolbar|pagination|topbar)(?:$|[\s_-])",
                    re.I)
_NOISE_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form",
               "iframe", "template", "svg", "button", "select")


class UnreadableError(ValueError):
    """A file that cannot be indexed.

    Attributes:
        path: The file.
        reason: One line: what is wrong and what to do.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class Extracted:
    """A file's text and what its format says about it.

    Attributes:
        text: Decoded or extracted text; all offsets index this string.
        format: ``txt``, ``md``, ``pdf``, ``docx`` or ``html``.
        encoding: The character encoding a text or HTML file was decoded with
            (``""`` for PDF and DOCX, whose text is not encoded bytes).
        pages: For PDFs, the offset in ``text`` where each page starts (page
            ``n`` starts at ``pages[n - 1]``); empty for other formats.
        title: A title from the file's own metadata (the HTML ``<title>``).
        date: An ISO date from the file's metadata (HTML ``<meta name="PubDate">``).
    """

    text: str
    format: str
    encoding: str = ""
    pages: tuple[int, ...] = ()
    title: str | None = None
    date: str | None = None


def file_kind(mode: int) -> str:
    """What a file is, from its ``st_mode``: ``regular file``, ``FIFO``, ``device`` and so on."""
    kinds = ((stat.S_ISREG, "regular file"), (stat.S_ISDIR, "directory"),
             (stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISCHR, "character device"),
             (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))
    return next((name for test, name in kinds if test(mode)), "special file")


def read_file(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """A regular file's bytes, at most ``max_bytes`` of them.

    The file is opened without blocking and checked on the open descriptor, so a FIFO,
    a device (``/dev/zero`` behind a link) or a socket is refused rather than read, and
    a file that grows while it is read stops at the limit.

    Raises:
        UnreadableError: For a special file or one over the limit.
        OSError: When it cannot be opened or read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableError(
                path, f"not a regular file but a {file_kind(info.st_mode)}; only regular files "
                "are read"
            )
        if info.st_size > max_bytes:
            raise UnreadableError(path, _too_big(info.st_size, max_bytes))
        parts, size = [], 0
        while size <= max_bytes:
            part = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
        if size > max_bytes:
            raise UnreadableError(path, _too_big(size, max_bytes))
        return b"".join(parts)
    finally:
        os.close(fd)


def _too_big(size: int, max_bytes: int) -> str:
    return (f"file is {size / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit "
            "(--max-mb)")


def file_format(path: Path) -> str | None:
    """The format a file name says (``txt``, ``md``, ``pdf``, ``docx``, ``html``), if supported."""
    return _FORMATS.get(Path(path).suffix.lower())


def unsupported_reason(path: Path) -> str:
    """The skip reason for a file whose extension is not supported."""
    suffix = Path(path).suffix or "(none)"
    return f"unsupported file type {suffix}; supported: {', '.join(SUFFIXES)}"


def extract(path: Path, raw: bytes) -> Extracted:
    """Turn a file's bytes into text according to its extension.

    Args:
        path: The file (its suffix picks the reader; it is named in errors).
        raw: The file's bytes.

    Raises:
        UnreadableError: For an unsupported extension, an empty, binary, corrupt or
            encrypted file, or one with no text (a scanned PDF needs OCR).
    """
    fmt = file_format(path)
    if fmt is None:
        raise UnreadableError(path, unsupported_reason(path))
    if not raw.strip():
        raise UnreadableError(path, "file is empty or whitespace-only; nothing to index")
    if fmt == "pdf":
        out = read_pdf(raw, path)
    elif fmt == "docx":
        out = read_docx(raw, path)
    elif fmt == "html":
        out = read_html(raw, path)
    else:
        text, encoding = decode_text(raw, path)
        out = Extracted(text, fmt, encoding)
    check_text_size(len(out.text), path)
    return out


def check_text_size(chars: int, path: Path) -> None:
    """Refuse more text from one file than :data:`MAX_TEXT_CHARS`.

    Raises:
        UnreadableError: Saying the size and the limit.
    """
    if chars > MAX_TEXT_CHARS:
        raise UnreadableError(
            path, f"text is over {chars:,} characters, more than the limit of "
            f"{MAX_TEXT_CHARS:,} per file; split the document"
        )


# ------------------------------------------------------------------ plain text
def decode_text(raw: bytes, path: Path) -> tuple[str, str]:
    r"""Decode a text file, detecting its encoding.

    Tried in order: a byte-order mark (UTF-8 → ``utf-8-sig``, UTF-16), strict
    UTF-8, UTF-16 without a mark (from where its zero bytes sit), GBK then
    GB18030 (the Chinese government encodings, when the result reads as Chinese
    text), and finally charset-normalizer's best guess.

    Args:
        raw: The file's bytes.
        path: Named in errors.

    Returns:
        ``(text, encoding)``; a byte-order mark is not part of ``text``.

    Raises:
        UnreadableError: For an empty or whitespace-only file or one that is not text.
    """
    text, encoding = _decode(raw, path)
    if not text.strip():
        raise UnreadableError(path, "file is empty or whitespace-only; nothing to index")
    controls = len(_CONTROLS.findall(text))
    if "\x00" in text or controls > max(2, len(text) // 100):
        raise UnreadableError(path, _BINARY)
    return text, encoding


# Unicode category Cc (U+0000-001F, U+007F-009F) except the whitespace controls \t\n\v\f\r.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_BINARY = ("binary file, not text (wrong extension?); supported text encodings: "
           "UTF-8, UTF-16, GBK/GB18030")


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    boms = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
    for bom, encoding in boms:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding), encoding
            except UnicodeDecodeError:
                raise UnreadableError(path, _BINARY) from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" in raw:
        return _decode_utf16(raw, path)
    lenient = raw.decode("utf-8", errors="replace")
    if lenient.count("\ufffd") <= max(3, _UTF8_STRAY_SHARE * len(lenient)):
        return lenient, "utf-8"  # a few stray bytes, replaced by U+FFFD
    for encoding in ("gbk", "gb18030"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _reads_as_chinese(text):
            return text, encoding
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None or best.encoding in ("utf_16", "utf_32"):
        raise UnreadableError(path, _BINARY)
    return str(best), best.encoding


def _decode_utf16(raw: bytes, path: Path) -> tuple[str, str]:
    """UTF-16 without a byte-order mark: mostly-ASCII or CJK text has zeros on one side."""
    if len(raw) % 2 == 0:
        even, odd = raw[0::2].count(0), raw[1::2].count(0)
        encoding = "utf-16-le" if odd > even else "utf-16-be"
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            text = ""
        if text and _reads_as_chinese(text):
            return text, encoding
    raise UnreadableError(path, _BINARY)


def _reads_as_chinese(text: str) -> bool:
    """Nearly all characters are Han, CJK or general punctuation and symbols, or ASCII text."""
    good = sum(
        1
        for ch in text
        if " " <= ch <= "~"
        or ch in "\t\n\r\xa0·"
        or "\u2000" <= ch <= "\u2bff"  # punctuation, symbols, ①, arrows, boxes
        or "\u3000" <= ch <= "\u9fff"  # CJK punctuation, kana, extension A, unified Han
        or "\uf900" <= ch <= "\ufaff"
        or "\uff00" <= ch <= "\uffef"
    )
    return good >= 0.97 * len(text)


# ------------------------------------------------------------------ PDF
@contextmanager
def _quiet(name: str) -> Iterator[None]:
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
    with _quiet("pypdf"):
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


# ------------------------------------------------------------------ HTML
def read_html(raw: bytes, path: Path) -> Extracted:
    """The main text of a web page, with its title.

    Navigation, headers, footers, sidebars, forms and scripts are removed first;
    trafilatura then picks the main content, whose headings become Markdown ``#``
    headings and whose tables become readable rows (see :func:`table_rows`).

    Raises:
        UnreadableError: For a page that cannot be decoded or has no main text.
    """
    try:
        import lxml.html
        import trafilatura
    except ImportError as exc:  # pragma: no cover - declared dependencies
        raise ImportError(
            f"Reading web pages needs trafilatura and lxml_html_clean ({exc}): "
            'pip install -e . (or: pip install trafilatura lxml_html_clean)'
        ) from exc
    if len(raw) > MAX_HTML_BYTES:
        raise UnreadableError(
            path, f"web page is {len(raw) / 2**20:.1f} MB, over the {MAX_HTML_BYTES // 2**20} MB "
            "limit for HTML"
        )
    html, encoding = _decode_html(raw, path)
    try:
        tree = lxml.html.document_fromstring(html)
    except Exception as exc:  # noqa: BLE001 - a parser of untrusted bytes may raise anything
        raise UnreadableError(path, f"unreadable HTML ({exc.__class__.__name__})") from None
    title = _page_title(tree)
    date = _meta_date(tree)
    _strip_noise(tree)
    cleaned = lxml.html.tostring(tree, encoding="unicode")
    with _quiet("trafilatura"), _quiet("htmldate"):
        xml = trafilatura.extract(
            cleaned, output_format="xml", include_tables=True, include_comments=False,
            include_links=False, include_images=False, include_formatting=False,
            favor_recall=True, deduplicate=False,
        )
    lines = _xml_lines(xml) if xml else []
    if not lines:  # too little for trafilatura: take the cleaned body's text, block by block
        body = tree.find("body")
        text = "\n".join(body.itertext()) if body is not None else ""
        lines = [ln for ln in (" ".join(t.split()) for t in text.splitlines()) if ln]
    if not any(re.sub(r"[#\s-]", "", ln) for ln in lines):
        raise UnreadableError(path, "web page has no main text; nothing to index")
    if title and not any(_same(title, ln.lstrip("# ")) for ln in lines[:3]):
        lines.insert(0, f"# {title}")
    text = "\n".join(lines)
    return Extracted(text, "html", encoding, (), title, date)


def _decode_html(raw: bytes, path: Path) -> tuple[str, str]:
    declared = _META_CHARSET.search(raw[:4096])
    if declared and not raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        name = declared.group(1).decode("ascii").lower()
        name = "gb18030" if name in ("gb2312", "gbk", "x-gbk") else name
        try:
            return raw.decode(name), name
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(raw, path)


def _same(a: str, b: str) -> bool:
    squash = re.compile(r"\s+")
    a, b = squash.sub("", a), squash.sub("", b)
    return bool(a) and bool(b) and (a in b or b in a)


def _page_title(tree: Any) -> str | None:  # noqa: ANN401 - an lxml element
    """The ``<title>`` less a site name after ``_``, ``|`` or `` - ``; else the first ``<h1>``."""
    node = tree.find(".//title")
    raw = " ".join(node.text_content().split()) if node is not None else ""
    parts = [p for p in _TITLE_SPLIT.split(raw) if p.strip()]
    if parts:  # the page's own title comes first; a very short first part is a site name
        return parts[0] if len(parts[0]) >= 6 or len(parts) == 1 else max(parts, key=len)
    h1 = tree.find(".//h1")
    text = " ".join(h1.text_content().split()) if h1 is not None else ""
    return text or None


def _meta_date(tree: Any) -> str | None:  # noqa: ANN401 - an lxml element
    for meta in tree.iter("meta"):
        name = (meta.get("name") or meta.get("property") or "").lower()
        if name in _META_DATE_NAMES:
            content = meta.get("content") or ""
            match = re.match(r"\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", content)
            if match:
                y, m, d = map(int, match.groups())
                if 1 <= m <= 12 and 1 <= d <= 31:
                    return f"{y:04d}-{m:02d}-{d:02d}"
    return None


def _strip_noise(tree: Any) -> None:  # noqa: ANN401 - an lxml element
    """Remove navigation, page chrome and scripts before the main text is picked."""
    doomed = [el for el in tree.iter() if isinstance(el.tag, str) and (
        el.tag in _NOISE_TAGS
        or (el.get("role") or "") in ("navigation", "banner", "contentinfo", "search")
        or (el.tag not in ("html", "body", "main", "article")
            and _NOISE.search(f"{el.get('class') or ''} {el.get('id') or ''}"))
    )]
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()


def _xml_lines(xml: str) -> list[str]:
    """Lines of trafilatura's XML: ``#`` headings, ``- `` items, readable table rows."""
    from lxml import etree

    root = etree.fromstring(xml.encode("utf-8"))
    main = root.find("main")
    lines: list[str] = []

    def text_of(el: Any) -> str:  # noqa: ANN401 - an lxml element
        return " ".join("".join(el.itertext()).split())

    def walk(el: Any) -> None:  # noqa: ANN401 - an lxml element
        for child in el:
            if child.tag == "head":
                level = re.sub(r"\D", "", child.get("rend") or "") or "2"
                lines.append(f"{'#' * min(int(level), 6)} {text_of(child)}")
            elif child.tag == "list":
                lines.extend(f"- {text_of(item)}" for item in child.iter("item"))
            elif child.tag == "table":
                lines.extend(table_rows([[text_of(c) for c in row.iter("cell")]
                                         for row in child.iter("row")]))
            elif child.tag in ("div", "section", "main", "article"):
                walk(child)
            else:
                lines.append(text_of(child))

    if main is not None:
        walk(main)
    return [ln for ln in lines if ln.strip("-# ")]
