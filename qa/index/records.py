"""What an index holds per document, and the reports and state updates pass around."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Settings
from qa.read.corpus import Skipped
from qa.retrieval.bm25_counts import ChunkCounts
from qa.tokens.terms import TermCounts
from qa.tokens.tokenize import Tokenizer
from qa.types import Chunk

_RECORD_FIELDS: set[str] = set()  # DocRecord's field names, filled on first use


@dataclass(frozen=True)
class DocRecord:
    """One indexed document, as ``docs.jsonl`` and ``qa docs`` show it.

    Attributes:
        doc: The document id (the file stem).
        title: The document title.
        date: ISO date, when the text gives one.
        format: ``txt``, ``md``, ``pdf``, ``docx`` or ``html``.
        chunks: How many chunks (rows) the document has.
        path: How citations name the file (relative to the directory it was found in).
        source: Absolute path of the file it was read from.
        sha256: Hash of the file's bytes.
        encoding: The detected text encoding (``""`` for PDF and DOCX).
        issuer: Issuing body or newspaper, when stated.
        number: Document number (文号), when present.
        pages: Page count for PDFs, 0 otherwise.
        segment: The segment whose rows hold the document (``""``: the base; see
            :mod:`qa.index.segments`).
    """

    doc: str
    title: str
    date: str | None
    format: str
    chunks: int
    path: str
    source: str
    sha256: str
    encoding: str = ""
    issuer: str = ""
    number: str = ""
    pages: int = 0
    segment: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (every field is a plain value: no deep copy needed)."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocRecord:
        """Build a record from :meth:`to_dict` output, ignoring keys it does not know."""
        if not _RECORD_FIELDS:
            _RECORD_FIELDS.update(f.name for f in fields(cls))
        known = _RECORD_FIELDS
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Part:
    """One document's artefacts: everything about it that an update can reuse.

    Attributes:
        record: The document's record.
        chunks: Its chunks in source order.
        vectors: ``(len(chunks), dim)`` float32 passage vectors.
        text: The document text, or ``None`` to read it from ``text_file``.
        text_file: The text in a current index, linked rather than rewritten.
        counts: Its chunks' token counts in a current index (:mod:`qa.index.lexical`).
        folded: Its chunks' folded text in a current index.
    """

    record: DocRecord
    chunks: list[Chunk]
    vectors: np.ndarray
    text: str | None = None
    text_file: Path | None = None
    counts: ChunkCounts | None = None
    folded: Sequence[str] | None = None

    def read_text(self) -> str:
        """The document text."""
        if self.text is not None:
            return self.text
        if self.text_file is None:
            raise ValueError(f"document {self.record.doc!r} has no text")
        return self.text_file.read_text(encoding="utf-8")


@dataclass
class Lexical:
    """A committed version's tokenizer and the term counts behind its corpus terms."""

    tokenizer: Tokenizer
    term_counts: TermCounts


@dataclass
class State:
    """An index's documents and the build settings, loaded for an update.

    ``lexical`` is ``None`` for an index that kept no term counts (format 6 and older):
    its next update tokenizes every chunk.
    """

    settings: Settings
    encoder: dict[str, Any]
    corpus: dict[str, Any]
    parts: dict[str, Part]
    lexical: Lexical | None = None
    committed: Committed | None = None


@dataclass(frozen=True)
class Committed:
    """Where a loaded state came from: what a segmented update links and keeps.

    Attributes:
        data: The committed version directory.
        files: Its manifest's files (name → bytes) and ``checksums`` (name → xxh3).
        segments: Its segments (``""`` first) and the rows each holds, dead ones included.
        backends: Its manifest's backend sections.
    """

    data: Path
    files: dict[str, int]
    checksums: dict[str, str]
    segments: tuple[str, ...]
    rows: tuple[int, ...]
    backends: dict[str, dict[str, Any]]


@dataclass
class UpdateReport:
    """What an add, remove, build or sync did.

    Attributes:
        index: The index directory.
        added: Ids of documents new to the index.
        replaced: Ids of documents whose content changed.
        unchanged: Ids of documents given again with the same content.
        removed: Ids of documents taken out.
        skipped: Files not indexed, with reasons.
        documents: Documents in the index afterwards.
        chunks: Chunks in the index afterwards.
        embedded: Chunks embedded by this update (the expensive part).
        segments: Segments the index has afterwards (see :mod:`qa.index.segments`).
        merged: Segments a merge (``qa optimize``) joined into one; 0 when none was.
    """

    index: Path
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    segments: int = 1
    merged: int = 0

    @property
    def changed(self) -> bool:
        """True when the index was rewritten."""
        return bool(self.added or self.replaced or self.removed or self.merged)

    def summary(self) -> str:
        """One line for the end of a command."""
        head = (f"已更新索引 (index updated) {self.index}" if self.changed
                else f"索引未变 (index unchanged) {self.index}")
        return (
            f"{head}: 新增 added {len(self.added)}, 替换 replaced {len(self.replaced)}, "
            f"未变 unchanged {len(self.unchanged)}, 移除 removed {len(self.removed)}, "
            f"跳过 skipped {len(self.skipped)}; {self.documents} documents, {self.chunks} chunks"
            f" ({self.embedded} embedded)"
            + (f"; merged into one segment ({self.merged} before, dead rows dropped)"
               if self.merged else "")
            + (f"; {self.segments} segments (qa optimize merges them)" if self.segments > 1
               else "")
        )
