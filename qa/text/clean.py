"""Loading and cleaning: a file → :class:`~qa.types.Document` with blocks and articles.

Files of every supported format are turned into text by :mod:`qa.read.formats`
(decoded, or extracted from PDF, DOCX and HTML); from here on all formats are
text, and "the source" means that text.

The sources are newspaper pages and policy plans pasted as plain text: several
articles per page, headings of many shapes, paragraphs cut in mid-sentence by
page breaks, flattened tables and a garbled repeated tail. ``parse`` turns that
into blocks whose offsets index the decoded text exactly, so every later stage
can cite lines of the original file.

The article headline is kept as a ``heading`` block of level 0: it names the
article (``Article.title``) and never enters a section trail.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import replace
from pathlib import Path

from qa.read.formats import decode_text, extract, read_file
from qa.text.metadata import (
    CN_DATE,
    DATE_LINE,
    DOC_NUMBER,
    LETTERHEAD,
    is_issuer,
    metadata,
)
from qa.text.metadata import iso_date as iso_date  # re-exported (old path)
from qa.text.repeats import drop_repeats
from qa.text.units import Unit
from qa.types import Article, Block, Document

# A line ending in one of these ends a sentence; anything else may be a page break.
_TERMINAL = "。！？；：…!?;:—"
# Closing quotes and brackets end a sentence only after one of the marks above
# ("…协议。”" does, "单项企业（产品）" at a page break does not).
_CLOSERS = "”’）)」』】》"
# Lines containing any of these read as sentences, never as short title lines.
_SENTENCE_MARKS = "，,、。；;！？!?：:"
_TITLE_MAX = 32  # headlines and subheadings in the seeds have at most 31 characters
_HEADING_MAX = 40
_EDITOR = re.compile(r"^(?:主编|责编|责任编辑|美编|编辑)[\s：:]")
_EDITOR_ROLE = re.compile(r"美编|审读|排版|校对|组版|审校")
_TRAILING_BYLINE = re.compile(r"^(.*?[。！？”])\s*(\*\*[^*]*(?:记者|通讯员)[^*]*\*\*)$")
_CAPTION = re.compile(r"(?:资料照片|资料图片|供图|摄影|\s摄)$")
_MARKDOWN = re.compile(r"^(#{1,6})\s*(?=\S)")
_BOX = re.compile(r"^专栏\s*\d+")
# Level 0: numbered headings nest under whatever fixed-level heading is above them.
_HEADINGS = (
    (re.compile(r"^第[一二三四五六七八九十百零〇\d]+[章篇](?:\s|$)"), 1, "chapter"),
    (re.compile(r"^[一二三四五六七八九十]+、"), 2, "enum"),
    (re.compile(r"^[（(][一二三四五六七八九十]+[）)]"), 3, "paren"),
    (re.compile(r"^\d{1,2}[.．](?!\d)\s*\S"), 0, "numbered"),
)
_LIST = re.compile(r"^(?:[-•●▪◆◇○]|\*(?!\*))\s*\S")
_DATELINE_OPENER = re.compile(r"^本报\S{0,6}讯")
_HTML_TAG = re.compile(r"</?\w+>")


def read_text(path: Path) -> tuple[str, str]:
    r"""Decode a plain-text source file, detecting its encoding.

    See :func:`qa.read.formats.decode_text`.

    Args:
        path: The file to read.

    Returns:
        ``(text, encoding)``. A UTF-8 byte-order mark is removed and reported
        as ``utf-8-sig``; offsets index the returned text. Line breaks are left
        as they are (``\r`` is treated as whitespace downstream).

    Raises:
        ValueError: If the file is empty, whitespace-only or not text.
    """
    return decode_text(Path(path).read_bytes(), Path(path))


def load_document(path: Path, doc_id: str | None = None, raw: bytes | None = None) -> Document:
    """Read, hash and parse one file of any supported format (see :mod:`qa.read.formats`).

    Args:
        path: The source file.
        doc_id: Document id; defaults to the file stem.
        raw: The file's bytes, when already read.

    Returns:
        The parsed document. For PDF, DOCX and HTML files ``text`` is the
        extracted text (offsets index it) and, for PDFs, ``pages`` holds each
        page's start offset in it.

    Raises:
        ValueError: If the file cannot be read (:class:`qa.read.formats.UnreadableError`).
    """
    path = Path(path)
    raw = read_file(path) if raw is None else raw
    found = extract(path, raw)
    doc = parse(
        found.text,
        doc_id or path.stem,
        path=str(path),
        sha256=hashlib.sha256(raw).hexdigest(),
        encoding=found.encoding,
        fmt=found.format,
    )
    date = doc.date or found.date
    title = doc.title
    if found.title and title == doc.doc_id:
        title = found.title
    articles = tuple(
        replace(a, date=a.date or date, title=title if a.title == doc.title else a.title)
        for a in doc.articles
    )
    return replace(doc, title=title, date=date, articles=articles, pages=found.pages)


def parse(
    text: str,
    doc_id: str,
    path: str = "",
    sha256: str = "",
    encoding: str = "utf-8",
    fmt: str = "txt",
) -> Document:
    """Turn decoded text into a document of blocks and articles.

    Args:
        text: The decoded file content; all offsets index this string.
        doc_id: The document id.
        path: Where the text came from.
        sha256: Hash of the raw bytes.
        encoding: The encoding the text was decoded with.
        fmt: The source format.

    Returns:
        The document; its title is the first article's headline (``doc_id`` when
        there is none) and its date comes from a page date line such as
        ``2025年1月15日 星期三`` (else a date given in the text's own words: an
        official document's 成文日期 line ``二〇二五年一月十五日``, or a labelled
        ``发布日期：2025-01-15``). ``meta`` holds ``issuer`` (issuing body or
        newspaper), ``number`` (文号 such as ``青政发〔2025〕1号``), ``newspaper`` and
        ``editors`` when the text states them.
    """
    units = [u for start, end in _line_spans(text) for u in _classify(text[start:end], start)]
    units = drop_repeats(_repair_breaks(_promote_first_title(_mark_furniture(units))))
    blocks, heads = _structure(units, [0] + [m.end() for m in re.finditer("\n", text)])
    doc_title = heads[0][0] if heads else doc_id
    meta = metadata(units, doc_title)
    date = meta.pop("date", None)
    articles = tuple(
        Article(index=i, title=title or doc_title, date=date, byline=byline)
        for i, (title, byline) in enumerate(heads)
    ) or (Article(index=0, title=doc_title, date=date),)
    return Document(
        doc_id=doc_id,
        path=path,
        title=doc_title,
        date=date,
        text=text,
        sha256=sha256,
        blocks=tuple(blocks),
        articles=articles,
        encoding=encoding,
        format=fmt,
        meta=meta,
    )


def is_terminated(line: str) -> bool:
    """Tell whether a line ends a sentence (so a following line is not its continuation).

    Example:
        >>> is_terminated("提质发展3个优势产业，")
        False
    """
    core = _HTML_TAG.sub("", line).rstrip("*").strip().rstrip(_CLOSERS)
    return bool(core) and core[-1] in _TERMINAL


def _size(text: str) -> int:
    return len(re.sub(r"\s+", "", text))


def _line_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of the stripped content of every non-blank line."""
    spans, pos = [], 0
    for line in text.split("\n"):
        stripped = line.strip()  # also strips \r, \u3000 and no-break spaces
        if stripped:
            left = pos + len(line) - len(line.lstrip())
            spans.append((left, left + len(stripped)))
        pos += len(line) + 1
    return spans


def _looks_like_title(line: str) -> bool:
    """A short line with no sentence punctuation: a headline or subheading."""
    size = _size(line)
    return (
        2 <= size <= _TITLE_MAX
        and not any(ch in _SENTENCE_MARKS for ch in line)
        and not is_terminated(line)
        and re.search(r"[\u4e00-\u9fff]", line) is not None
    )


def _classify(line: str, start: int) -> list[Unit]:
    """Classify one stripped line starting at ``start`` (a line may yield two units)."""
    end, size = start + len(line), _size(line)
    if DATE_LINE.match(line) or CN_DATE.fullmatch(line):
        return [Unit("date", line, start, end)]
    if DOC_NUMBER.fullmatch(line):
        return [Unit("meta", line, start, end)]
    if _EDITOR.match(line) and _EDITOR_ROLE.search(line):
        return [Unit("editor", line, start, end)]
    tail = _TRAILING_BYLINE.match(line)
    if tail:  # "...集群。**青岛晚报/…记者 李沛**": the byline closes the article
        cut = start + tail.start(2)
        return [
            Unit("paragraph", tail.group(1).rstrip(), start, start + len(tail.group(1).rstrip())),
            Unit("byline", tail.group(2), cut, end),
        ]
    if line[0] in "□■" or (size <= 40 and "记者" in line and not re.search("[。，]", line)):
        return [Unit("byline", line, start, end)]
    if size <= 80 and _CAPTION.search(line):
        return [Unit("caption", line, start, end)]
    mark = _MARKDOWN.match(line)
    if mark:  # the block starts after "# " so its text matches the source
        level = len(mark.group(1))
        return [Unit("heading", line[mark.end() :], start + mark.end(), end, level, "markdown")]
    if _BOX.match(line):
        return [Unit("heading", line, start, end, 0, "box")]
    if "\t" in line:
        return [Unit("table", line, start, end)]
    if size <= _HEADING_MAX and not re.search("[。；;：:]", line):  # numbered sentences are text
        for pattern, level, style in _HEADINGS:
            if pattern.match(line):
                return [Unit("heading", line, start, end, level, style)]
    if _LIST.match(line):
        return [Unit("list", line, start, end)]
    if _looks_like_title(line):
        return [Unit("title", line, start, end)]
    return [Unit("paragraph", line, start, end)]


def _mark_furniture(units: list[Unit]) -> list[Unit]:
    """Mark an official document's letterhead and signature as ``meta`` (kept out of blocks).

    The letterhead (``青岛市人民政府文件``) is one of the first three lines; the
    signature is an issuer's name right before a date line among the last three.
    """
    out = list(units)
    for i, unit in enumerate(out[:3]):
        if unit.kind in ("title", "paragraph") and LETTERHEAD.match(unit.text):
            out[i] = replace(unit, kind="meta", style="letterhead")
    for i in range(max(len(out) - 3, 1), len(out)):
        prev = out[i - 1]
        if out[i].kind == "date" and is_issuer(prev.text) and prev.kind in ("title", "paragraph"):
            out[i - 1] = replace(prev, kind="meta", style="signature")
    return out


def _promote_first_title(units: list[Unit]) -> list[Unit]:
    """The first line of a page is its headline even when it holds a comma."""
    for i, unit in enumerate(units):
        if unit.kind in ("date", "editor", "meta"):
            continue
        if unit.kind == "paragraph" and _size(unit.text) <= 40 and not is_terminated(unit.text):
            units = units[:i] + [replace(unit, kind="title")] + units[i + 1 :]
        break
    return units


def _repair_breaks(units: list[Unit]) -> list[Unit]:
    """Join paragraphs (and table rows) cut by a page break in mid-sentence.

    A piece that does not end a sentence is joined with the next unit when that
    one is a plain paragraph; headings, bylines, list items and title-like lines
    never continue a sentence, so a truncated line before them stays as it is.
    """
    out: list[Unit] = []
    for unit in units:
        prev = out[-1] if out and out[-1].kind in ("paragraph", "table") else None
        if prev and unit.kind == "paragraph" and not is_terminated(prev.text):
            out[-1] = replace(prev, text=prev.text + unit.text, end=unit.end)
        else:
            out.append(unit)
    return out


def _titleish(unit: Unit) -> bool:
    return unit.kind == "title" or (unit.kind == "heading" and unit.style == "markdown")


def _starts_article(units: list[Unit], i: int) -> bool:
    """A headline (plus at most one sub-headline) followed by a byline or 本报讯 opener."""
    j = i + 1
    while j < len(units) and j <= i + 2 and _titleish(units[j]):
        j += 1
    if j >= len(units):
        return False
    nxt = units[j]
    return nxt.kind == "byline" or (
        nxt.kind == "paragraph" and bool(_DATELINE_OPENER.match(nxt.text))
    )


def _heading_level(unit: Unit, trail: list[tuple[int, str, str]]) -> int:
    """Numbered headings and 专栏 boxes nest one below the last fixed-level heading."""
    if unit.style in ("numbered", "box"):
        skip = ("numbered", "box") if unit.style == "numbered" else ("box",)
        parents = [level for level, _, style in trail if style not in skip]
        return (parents[-1] if parents else 0) + 1
    return unit.level or 2  # short title lines are subheadings under the headline


def _structure(
    units: list[Unit], line_starts: list[int]
) -> tuple[list[Block], list[tuple[str, str | None]]]:
    """Assign articles and heading trails; return blocks and (title, byline) per article.

    Articles start at the first line, at a headline followed by a byline or a
    本报讯 opener, and at any headline after an article was closed by a trailing
    byline or is a short ``□ 记者 … 报道`` news item (those have no subheadings).
    """
    blocks: list[Block] = []
    heads: list[tuple[str, str | None]] = []
    trail: list[tuple[int, str, str]] = []
    in_headline = closed = has_body = False

    def emit(unit: Unit, kind: str, level: int = 0) -> None:
        section = tuple(name for _, name, _ in trail)
        first, last = (bisect.bisect_right(line_starts, p) for p in (unit.start, unit.end - 1))
        article = max(len(heads) - 1, 0)
        blocks.append(
            Block(unit.text, unit.start, unit.end, first, last, kind, level, section, article)
        )

    for i, unit in enumerate(units):
        if unit.kind == "editor":
            # A page's editors (主编 … 美编 …) are searchable: a reader may ask who edited it.
            emit(unit, "byline")
            continue
        if unit.kind in ("date", "meta"):
            continue
        if _titleish(unit) and (
            not heads or closed or (not in_headline and _starts_article(units, i))
        ):
            heads.append((unit.text, None))
            trail, in_headline, closed, has_body = [], True, False, False
            emit(unit, "heading")
            continue
        if _titleish(unit) and in_headline:
            emit(unit, "paragraph")  # a sub-headline is content worth retrieving
            continue
        in_headline = False
        if unit.kind in ("heading", "title"):
            level = _heading_level(unit, trail)
            while trail and trail[-1][0] >= level:
                trail.pop()
            emit(unit, "heading", level)
            trail.append((level, unit.text, unit.style))
            continue
        if unit.kind == "byline":
            nxt = units[i + 1] if i + 1 < len(units) else None
            trailing = has_body and (nxt is None or _titleish(nxt))
            if not heads:
                heads.append(("", None))
            title, byline = heads[-1]
            heads[-1] = (title, byline or unit.text.strip("*□■ "))
            closed = trailing or unit.text.endswith("报道")
        else:
            has_body = True
        emit(unit, unit.kind)
    return blocks, heads
