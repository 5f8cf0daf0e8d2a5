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

The readers of PDF, DOCX and HTML are :mod:`qa.read.pdf`, :mod:`qa.read.docx` and
:mod:`qa.read.html`; plain text and what all formats share are here. Every failure is an
:class:`UnreadableError` whose ``reason`` is one line saying
what is wrong and, where there is one, the fix.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

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
    # The readers import their libraries (pypdf, python-docx, lxml) only when a file needs them.
    if fmt == "pdf":
        from qa.read.pdf import read_pdf

        out = read_pdf(raw, path)
    elif fmt == "docx":
        from qa.read.docx import read_docx

        out = read_docx(raw, path)
    elif fmt == "html":
        from qa.read.html import read_html

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
