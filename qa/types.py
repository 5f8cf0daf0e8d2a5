"""Small typed data objects passed between pipeline stages.

Every stage takes and returns these frozen dataclasses, never raw dicts, so a
field added or renamed shows up in type checks instead of at run time.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

_DATE_BOUND = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


@dataclass(frozen=True)
class Block:
    """One cleaned unit of a source document: a heading, paragraph or table row.

    Attributes:
        text: The block's text as it stands in the source, with line breaks inside
            a repaired paragraph removed (so ``text`` equals ``source[start:end]``
            once all whitespace is removed from both).
        start: Offset of the first character in the decoded source file.
        end: Offset one past the last character in the decoded source file.
        line_start: 1-based line of ``start``.
        line_end: 1-based line of the last character.
        kind: ``heading``, ``paragraph``, ``table``, ``list``, ``byline`` or ``caption``.
        level: Heading depth (1 = top) for headings, 0 otherwise.
        section: The heading trail above this block (not including itself).
        article: Index of the article (0-based) this block belongs to.
    """

    text: str
    start: int
    end: int
    line_start: int
    line_end: int
    kind: str
    level: int = 0
    section: tuple[str, ...] = ()
    article: int = 0


@dataclass(frozen=True)
class Article:
    """One article of a document; a plain document has exactly one.

    Attributes:
        index: 0-based position in the document.
        title: The article's headline (falls back to the document title).
        date: ISO date (``YYYY-MM-DD``) or partial (``YYYY-MM``), when the text gives one.
        byline: The ``□ 记者 …`` line, when there is one.
    """

    index: int
    title: str
    date: str | None = None
    byline: str | None = None


@dataclass(frozen=True)
class Document:
    """A cleaned source document with its structure.

    Attributes:
        doc_id: The file stem; the document's id everywhere.
        path: Where the file was read from (as given, relative when possible).
        title: The document title.
        date: ISO date when the text gives one.
        text: The decoded source text; all offsets point into this string.
        sha256: Hash of the raw file bytes.
        blocks: Cleaned blocks in source order; dropped duplicates are not here.
        articles: The articles the blocks refer to by index.
        encoding: The encoding the file was decoded with (``""`` for PDF and DOCX).
        format: ``txt``, ``md``, ``pdf``, ``docx`` or ``html``.
        meta: Further metadata found in the text: ``issuer`` (issuing body or
            newspaper), ``number`` (文号), ``newspaper``, ``editors``.
        pages: For PDFs, the offset in ``text`` where each page starts (page
            ``n`` starts at ``pages[n - 1]``); empty for unpaged formats.
    """

    doc_id: str
    path: str
    title: str
    date: str | None
    text: str
    sha256: str
    blocks: tuple[Block, ...]
    articles: tuple[Article, ...]
    encoding: str = "utf-8"
    format: str = "txt"
    meta: dict[str, str] = field(default_factory=dict)
    pages: tuple[int, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A citable piece of a document: the unit both indexes store.

    Attributes:
        id: Stable id: a hash of the document id and the chunk text.
        doc: Document id (the source file stem).
        title: Title of the article the chunk is in (the document title when
            the document has one article).
        section: The heading trail, joined with `` › ``; empty at top level.
        text: The chunk text; equals ``source[start:end]`` once whitespace is removed.
        start: Character offset into the decoded source file.
        end: Character offset one past the chunk's end.
        line_start: 1-based first line.
        line_end: 1-based last line.
        doc_title: The document title (differs from ``title`` on newspaper pages).
        date: The article's or document's date, when known.
        page_start: 1-based PDF page of ``start``; 0 for unpaged formats.
        page_end: 1-based PDF page of the chunk's last character; 0 when unpaged.
    """

    id: str
    doc: str
    title: str
    section: str
    text: str
    start: int
    end: int
    line_start: int
    line_end: int
    doc_title: str = ""
    date: str | None = None
    page_start: int = 0
    page_end: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the chunk as a JSON-ready dict."""
        # Every field is a str, int or None: a flat copy equals asdict(), ~10x faster.
        return {name: getattr(self, name) for name in _CHUNK_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        """Build a chunk from :meth:`to_dict` output."""
        return cls(**data)

    def index_text(self) -> str:
        """Text fed to both indexes: title and section give a passage its context."""
        head = " ".join(p for p in (self.title, self.section) if p)
        return f"{head}\n{self.text}" if head else self.text


_CHUNK_FIELDS = tuple(f.name for f in fields(Chunk))


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk with its score, best first in a result list.

    Attributes:
        text: The chunk text.
        doc: Document id (source file stem).
        title: Article or document title.
        section: Heading trail, joined with `` › ``.
        start: Character offset of the chunk in the document's decoded text (for
            PDF, DOCX and HTML files: the extracted text, kept in the index as
            ``sources/<doc>.txt``).
        end: Character offset one past the chunk's end.
        score: The retriever's score (fused score for hybrid search).
        line_start: 1-based first line of the chunk in the source file.
        line_end: 1-based last line.
        chunk_id: The chunk's stable id.
        rank: 1-based rank in the result list.
        path: Source file name, for citations.
        date: The article's or document's date, when known.
        highlight: ``(start, end)`` offsets of the answer sentence inside
            ``text`` for the first citation of an answer; ``None`` otherwise.
        page_start: 1-based PDF page where the chunk starts; 0 when unpaged.
        page_end: 1-based PDF page where it ends.
        issuer: Issuing body or newspaper, when the document states it.
        number: Document number (文号), when the document has one.
        span: ``(start, end)`` offsets of the short answer (:attr:`Answer.span`) inside
            ``text``, within ``highlight``; ``None`` otherwise.
    """

    text: str
    doc: str
    title: str
    section: str
    start: int
    end: int
    score: float
    line_start: int = 0
    line_end: int = 0
    chunk_id: str = ""
    rank: int = 0
    path: str = ""
    date: str | None = None
    highlight: tuple[int, int] | None = None
    page_start: int = 0
    page_end: int = 0
    issuer: str = ""
    number: str = ""
    span: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the hit as a JSON-ready dict."""
        return asdict(self)

    def citation(self) -> str:
        """One-line citation: ``title › section — file，第 a–b 行（issuer 文号，date）``.

        PDF passages give pages instead of lines (``第 3 页``, ``第 3–4 页``); the
        parenthesis lists whichever of issuer, document number and date are known.
        """
        head = " › ".join(p for p in (self.title, self.section) if p)
        first, last, unit = (
            (self.page_start, self.page_end, "页") if self.page_start
            else (self.line_start, self.line_end, "行")
        )
        where = f"第 {first} {unit}" if first == last else f"第 {first}–{last} {unit}"
        source = " ".join(p for p in (self.issuer, self.number) if p)
        about = "，".join(p for p in (source, self.date or "") if p)
        return f"{head} — {self.path or self.doc}，{where}" + (f"（{about}）" if about else "")


@dataclass(frozen=True)
class Answer:
    """A short answer with its evidence.

    Attributes:
        question: The question as asked.
        text: The supporting sentence (a sentence or clause window of the first citation,
            without a leading byline or unrelated sentence), or the abstention message
            when ``abstained`` is true.
        citations: Supporting hits, best first; the first holds the answer sentence.
        abstained: True when the corpus gave no strong enough evidence; the
            citations are then the closest passages, not support.
        confidence: The answer score the abstention threshold was applied to.
        start: Offset of the answer text inside the first citation's ``text``
            (``-1`` when abstained); equals ``citations[0].highlight[0]``.
        end: Offset one past the answer text inside that passage (``-1`` when abstained).
        span: The minimal answer a person would write (a figure with its unit, a place,
            a date, a name, list items), copied verbatim from the source file; the
            supporting sentence when no shorter span could be isolated; ``""`` when
            abstained. For a two-part question, the parts' spans joined by ``；``.
        span_start: Offset of ``span`` in the first citation's source file (the text that
            ``Hit.start``/``Hit.end`` index), so ``source[span_start:span_end] == span``;
            ``-1`` when abstained or when the span joins parts from different places.
        span_end: Offset one past the span in that file (``-1`` likewise).
        parts: For a question that asks two things at once (分别, 和…各, respectively):
            one answer per part, each with its own citations and offsets; empty otherwise.
        reason: Why the system abstained (the constraint no passage satisfied), ``""``
            when it answered.
    """

    question: str
    text: str
    citations: tuple[Hit, ...]
    abstained: bool
    confidence: float = 0.0
    start: int = -1
    end: int = -1
    span: str = ""
    span_start: int = -1
    span_end: int = -1
    parts: tuple[Answer, ...] = ()
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the answer as a JSON-ready dict."""
        return asdict(self)


def date_key(date: str | None, upper: bool = False) -> int:
    """``YYYY[-MM[-DD]]`` as a sortable ``YYYYMMDD`` int (0 for none).

    Missing parts count as the start of the period, or its end when ``upper``.

    Raises:
        ValueError: For text that is not such a date.
    """
    if not date:
        return 0
    match = _DATE_BOUND.match(date.strip())
    if not match:
        raise ValueError(
            f"Bad date {date!r}: write it as 2025-01-15, 2025-01 or 2025."
        )
    y, m, d = match.groups()
    month = int(m) if m else (12 if upper else 0)
    day = int(d) if d else (31 if upper else 0)
    return int(y) * 10000 + month * 100 + day
