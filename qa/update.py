"""Incremental indexing: per-document artefacts, re-assembled into the global indexes.

Every document contributes artefacts that depend on nothing but its own content
and the index settings: its text, chunks, passage vectors and sentence table.
Only those are expensive (embedding), so an update computes them for new and
changed documents alone and reuses everyone else's from the current index.

What depends on the whole corpus is recomputed from all documents on every
update: the tokenizer dictionary (:func:`qa.tokenize.corpus_terms` over all
texts), every chunk's tokens, the BM25 statistics (idf, average length) and the
FAISS index. Documents are always laid out in id order, so any sequence of adds
and removes yields exactly the files a fresh build of the same documents writes.

Identity rules, for a file with id ``ID`` (its stem):

* same id, same content (sha256 of the bytes) → unchanged, nothing is written;
* same id and path, other content → the document is replaced;
* same id, another path → skipped (rename the file, or ``qa remove ID`` first);
* new id but content already indexed under another id → skipped as a duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from .answer import chunk_sentences
from .chunk import chunk_document
from .chunkstore import ChunkStore
from .clean import load_document
from .commit import verify
from .config import Settings
from .corpus import Candidate, Skipped
from .dense import Encoder
from .formats import MAX_BYTES, UnreadableError, page_of, read_file
from .progress import bar
from .retrieval.backends import DEFAULTS, ROLES, make_backend
from .retrieval.base import Context, Retriever
from .store import (
    DOCS,
    FOLDED,
    SOURCES,
    TERMS,
    VECTORS,
    current_version,
    link_or_copy,
    read_jsonl,
    read_sentences,
    source_path,
    write_json,
    write_jsonl,
    write_sentences,
)
from .tokenize import Tokenizer, corpus_terms
from .types import Chunk, Document, SentenceTable, date_key


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocRecord:
        """Build a record from :meth:`to_dict` output, ignoring keys it does not know."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Part:
    """One document's artefacts: everything about it that an update can reuse.

    Attributes:
        record: The document's record.
        chunks: Its chunks in source order.
        vectors: ``(len(chunks), dim)`` float32 passage vectors.
        sentence_ptr: ``len(chunks) + 1`` offsets into the two sentence arrays.
        sentence_spans: ``(n, 2)`` sentence spans within each chunk's text.
        sentence_vectors: ``(n, dim)`` float16 sentence vectors.
        text: The document text, or ``None`` to read it from ``text_file``.
        text_file: The text in a current index, linked rather than rewritten.
    """

    record: DocRecord
    chunks: list[Chunk]
    vectors: np.ndarray
    sentence_ptr: np.ndarray
    sentence_spans: np.ndarray
    sentence_vectors: np.ndarray
    text: str | None = None
    text_file: Path | None = None

    def read_text(self) -> str:
        """The document text."""
        if self.text is not None:
            return self.text
        if self.text_file is None:
            raise ValueError(f"document {self.record.doc!r} has no text")
        return self.text_file.read_text(encoding="utf-8")


@dataclass
class State:
    """An index's documents and the build settings, loaded for an update."""

    settings: Settings
    encoder: dict[str, Any]
    corpus: dict[str, Any]
    parts: dict[str, Part]


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

    @property
    def changed(self) -> bool:
        """True when the index was rewritten."""
        return bool(self.added or self.replaced or self.removed)

    def summary(self) -> str:
        """One line for the end of a command."""
        head = (f"已更新索引 (index updated) {self.index}" if self.changed
                else f"索引未变 (index unchanged) {self.index}")
        return (
            f"{head}: 新增 added {len(self.added)}, 替换 replaced {len(self.replaced)}, "
            f"未变 unchanged {len(self.unchanged)}, 移除 removed {len(self.removed)}, "
            f"跳过 skipped {len(self.skipped)}; {self.documents} documents, {self.chunks} chunks"
            f" ({self.embedded} embedded)"
        )


# ------------------------------------------------------------------ reading a current index
def load_state(index: Path) -> State:
    """Load an index's per-document artefacts (vectors memory-mapped), every file verified.

    An update copies (links) these artefacts into the next version, so each file's
    checksum is checked first: damage is reported, never carried forward.

    Raises:
        IndexUnusableError: When the index is missing, damaged or of another format.
        ValueError: When its parts disagree (the caller words the error).
    """
    directory, manifest = current_version(index)
    verify(directory, manifest.checksums, index)
    records = [DocRecord.from_dict(d) for d in read_jsonl(directory / DOCS)]
    with ChunkStore.open(directory) as store:
        chunks = list(store)  # an update rewrites every chunk anyway
    vectors = np.load(directory / VECTORS, mmap_mode="r", allow_pickle=False)
    table = read_sentences(directory)
    ptr = np.asarray(table.ptr)
    if sum(r.chunks for r in records) != len(chunks) or len(vectors) != len(chunks):
        raise ValueError(f"{DOCS}, chunks.jsonl and {VECTORS} disagree on the number of chunks")
    parts: dict[str, Part] = {}
    row = 0
    for record in records:
        a, b = row, row + record.chunks
        if any(c.doc != record.doc for c in chunks[a:b]):
            raise ValueError(f"chunks.jsonl rows {a}–{b} are not all document {record.doc!r}")
        s, e = int(ptr[a]), int(ptr[b])
        parts[record.doc] = Part(
            record, chunks[a:b], vectors[a:b], ptr[a : b + 1] - s, table.spans[s:e],
            table.occurrences(s, e), text_file=source_path(directory, record.doc),
        )
        row = b
    return State(Settings.from_dict(manifest.settings), manifest.encoder, manifest.corpus, parts)


def compatible(state: State, settings: Settings, encoder: Encoder) -> bool:
    """Whether an index's artefacts can be reused for a build with these settings and encoder."""
    old = state.settings
    return (
        state.encoder.get("name") == encoder.name
        and state.encoder.get("version") == encoder.version
        and state.encoder.get("dim") == encoder.dim
        and (old.chunk, old.tokenizer, old.bm25, old.dense.encoder)
        == (settings.chunk, settings.tokenizer, settings.bm25, settings.dense.encoder)
        and old.answer.max_chars == settings.answer.max_chars
    )


# ------------------------------------------------------------------ planning
@dataclass
class Plan:
    """The documents an update ends with; ``report`` says how it got there."""

    parts: dict[str, Part]
    report: UpdateReport


def plan_update(
    index: Path,
    current: dict[str, Part],
    candidates: Sequence[Candidate],
    *,
    settings: Settings,
    encoder: Callable[[], Encoder],
    remove: Sequence[str] = (),
    reuse: dict[tuple[str, str], Part] | None = None,
    skipped: Sequence[Skipped] = (),
    max_bytes: int = MAX_BYTES,
    progress: bool = False,
    warn: Callable[[str], None] = lambda _m: None,
) -> Plan:
    """Decide what each candidate file does to the index and compute the new artefacts.

    Args:
        index: The index directory (for the report).
        current: The index's documents now, by id.
        candidates: Files to add (or re-add).
        settings: Build settings (chunking, sentence length, batch size).
        encoder: Returns the encoder; called only when something must be embedded.
        remove: Ids to take out first.
        reuse: Artefacts of documents not in ``current`` that may be reused by
            ``(id, sha256)`` (a rebuild over an existing index).
        skipped: Files already passed over (reported with the rest).
        max_bytes: Files larger than this are skipped.
        progress: Show progress bars.
        warn: Receives one line per skipped file.

    Returns:
        The new document set and the report (``embedded`` counts embedded chunks).
    """
    parts = {k: v for k, v in current.items() if k not in set(remove)}
    report = UpdateReport(index, removed=[r for r in remove if r in current])
    for s in skipped:
        report.skipped.append(s)
        warn(s.message())

    def skip(path: Path, reason: str) -> None:
        report.skipped.append(Skipped(path, reason))
        warn(report.skipped[-1].message())

    by_hash = {p.record.sha256: doc for doc, p in parts.items()}
    taken: dict[str, Path] = {}
    fresh: list[tuple[Document, list[Chunk], Candidate]] = []
    for cand in bar(candidates, desc="文档 documents", unit="份", enabled=progress):
        path, doc_id = cand.path, cand.path.stem
        source = str(path.resolve())
        if doc_id in taken:
            skip(path, f"document id {doc_id!r} already used by {taken[doc_id]}; rename the file")
            continue
        try:
            raw = read_file(path, max_bytes)
        except UnreadableError as exc:
            skip(path, exc.reason)
            continue
        except OSError as exc:
            skip(path, f"cannot read it ({exc.strerror or exc})")
            continue
        sha = hashlib.sha256(raw).hexdigest()
        old = parts.get(doc_id)
        if old is not None and old.record.sha256 == sha:
            taken[doc_id] = path
            report.unchanged.append(doc_id)
            continue
        if old is not None and old.record.source != source:
            skip(path, f"document id {doc_id!r} is already used by {old.record.source}; rename "
                       f"this file or run `qa remove {doc_id}` first")
            continue
        if by_hash.get(sha, doc_id) != doc_id:
            skip(path, f"same content as document {by_hash[sha]!r}, already indexed")
            continue
        kept = (reuse or {}).get((doc_id, sha))
        if kept is not None:
            record = replace(kept.record, path=cand.name, source=source)
            parts[doc_id] = replace(kept, record=record)
        else:
            try:
                doc = load_document(path, doc_id, raw=raw)
            except (ValueError, OSError) as exc:
                skip(path, getattr(exc, "reason", None) or str(exc))
                continue
            chunks = [_paged(c, doc.pages) for c in chunk_document(doc, settings.chunk)]
            if not chunks:
                skip(path, "no text left to index after cleaning")
                continue
            fresh.append((doc, chunks, cand))
        taken[doc_id] = path
        by_hash[sha] = doc_id
        (report.replaced if old is not None else report.added).append(doc_id)
    parts.update(_embed_documents(fresh, settings, encoder, progress))
    report.embedded = sum(len(chunks) for _, chunks, _ in fresh)
    report.documents = len(parts)
    report.chunks = sum(len(p.chunks) for p in parts.values())
    return Plan(parts, report)


def _paged(chunk: Chunk, pages: tuple[int, ...]) -> Chunk:
    if not pages:
        return chunk
    return replace(chunk, page_start=page_of(pages, chunk.start),
                   page_end=page_of(pages, chunk.end - 1))


def _record(doc: Document, chunks: int, cand: Candidate) -> DocRecord:
    return DocRecord(
        doc=doc.doc_id, title=doc.title, date=doc.date, format=doc.format, chunks=chunks,
        path=cand.name, source=str(cand.path.resolve()), sha256=doc.sha256,
        encoding=doc.encoding, issuer=doc.meta.get("issuer", ""),
        number=doc.meta.get("number", ""), pages=len(doc.pages),
    )


def _embed_documents(
    fresh: Sequence[tuple[Document, list[Chunk], Candidate]],
    settings: Settings,
    encoder: Callable[[], Encoder],
    progress: bool,
) -> dict[str, Part]:
    """Embed the chunks and sentences of new documents in one stream; split per document."""
    chunks = [c for _, doc_chunks, _ in fresh for c in doc_chunks]
    if not chunks:
        return {}
    enc = encoder()
    batch = settings.dense.batch_size
    vectors = embed(enc, [c.index_text() for c in chunks], batch, "段落向量 passages", progress)
    table = sentence_table(chunks, enc, settings.answer.max_chars, batch, progress)
    out: dict[str, Part] = {}
    row = 0
    for doc, doc_chunks, cand in fresh:
        a, b = row, row + len(doc_chunks)
        s, e = int(table.ptr[a]), int(table.ptr[b])
        out[doc.doc_id] = Part(
            _record(doc, len(doc_chunks), cand), doc_chunks, vectors[a:b],
            table.ptr[a : b + 1] - s, table.spans[s:e], table.occurrences(s, e),
            text=doc.text,
        )
        row = b
    return out


def embed(
    encoder: Encoder, texts: Sequence[str], batch: int, label: str, progress: bool
) -> np.ndarray:
    """Embed passages in batches with a progress bar."""
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    with bar(total=len(texts), desc=label, unit="段", enabled=progress) as shown:
        for i in range(0, len(texts), batch):
            out[i : i + batch] = encoder.encode_passages(texts[i : i + batch])
            shown.update(min(batch, len(texts) - i))
    return out


def sentence_table(
    chunks: Sequence[Chunk], encoder: Encoder, max_chars: int, batch: int, progress: bool
) -> SentenceTable:
    """Split every chunk into sentences and embed each distinct sentence once."""
    ptr = [0]
    spans: list[tuple[int, int]] = []
    texts: list[str] = []
    for chunk in chunks:
        for start, end in chunk_sentences(chunk.text, max_chars):
            spans.append((start, end))
            texts.append(chunk.text[start:end].strip())
        ptr.append(len(spans))
    distinct = sorted(set(texts))
    position = {t: i for i, t in enumerate(distinct)}
    vectors = embed(encoder, distinct, batch, "句子向量 sentences", progress)
    return SentenceTable(
        ptr=np.asarray(ptr, dtype=np.int64),
        spans=np.asarray(spans, dtype=np.int32).reshape(-1, 2),
        rows=np.array([position[t] for t in texts], dtype=np.int32),
        vectors=vectors.astype(np.float16),
    )


# ------------------------------------------------------------------ writing
def write_parts(
    directory: Path,
    parts: dict[str, Part],
    settings: Settings,
    encoder: dict[str, Any],
    corpus: dict[str, Any],
    progress: bool = False,
) -> dict[str, Any]:
    """Assemble the global indexes from per-document artefacts and write them.

    Args:
        directory: An empty build directory.
        parts: The documents, by id (written in id order).
        settings: Build settings.
        encoder: ``{"name", "version", "dim"}`` of the encoder the vectors came from.
        corpus: The manifest's ``corpus`` entry (corpus directory and file hashes).
        progress: Show a progress bar while tokenizing.

    Returns:
        The manifest fields (all but the ones :func:`qa.store.finish_manifest` adds).
    """
    ordered = [parts[k] for k in sorted(parts)]
    chunks = [c for p in ordered for c in p.chunks]
    (directory / SOURCES).mkdir()
    texts = []
    for p in ordered:
        target = source_path(directory, p.record.doc)
        if p.text is None and p.text_file is not None:
            link_or_copy(p.text_file, target)
        else:
            target.write_text(p.read_text(), encoding="utf-8")
        texts.append(p.read_text())
    tokenizer = Tokenizer(settings.tokenizer, corpus_terms(texts))
    del texts
    vectors = np.concatenate([np.asarray(p.vectors, dtype=np.float32) for p in ordered])
    context = Context(settings, tokenizer, progress=progress)
    backends = {role: make_backend(DEFAULTS[role], context) for role in ROLES}
    for backend in backends.values():
        backend.add(chunks, vectors)
    sentences = _merge_sentences(ordered, chunks, vectors.shape[1])
    return write_index_files(
        directory, chunks, (p.record.to_dict() for p in ordered), tokenizer, vectors, backends,
        sentences,
        {
            "encoder": encoder,
            "settings": settings.to_dict(),
            "corpus": {**corpus, "documents": len(ordered)},
        },
    )


def write_index_files(
    directory: Path, chunks: Iterable[Chunk], records: Iterable[dict[str, Any]],
    tokenizer: Tokenizer, vectors: np.ndarray, backends: Mapping[str, Retriever],
    sentences: SentenceTable, fields: dict[str, Any],
) -> dict[str, Any]:
    """Write every index file but ``sources/`` and the manifest; return the manifest fields.

    Args:
        directory: The build directory.
        chunks: The chunks in row order (any iterable, read once).
        records: ``docs.jsonl`` rows (:meth:`DocRecord.to_dict`).
        tokenizer: The tokenizer the BM25 index was built with.
        vectors: The passage vectors in row order.
        backends: The retrieval backends by role (``lexical``, ``semantic``), holding the
            chunks in row order; each writes its own files and manifest section.
        sentences: The sentence table.
        fields: ``encoder``, ``settings`` and ``corpus`` for the manifest.

    Returns:
        ``fields`` plus the tokenizer's, the chunk count and each backend's, ready for
        :func:`qa.store.finish_manifest`.
    """
    with open(directory / FOLDED, "w", encoding="utf-8") as folded:

        def rows() -> Iterator[Chunk]:
            # The folded text is written in the same pass as the chunk store, one line a row.
            for chunk in chunks:
                folded.write(tokenizer.fold("".join(chunk.text.split())))
                folded.write("\n")
                yield chunk

        store = ChunkStore.write(directory, rows(), columns={"date": date_column})
        count = len(store)
        store.close()
    write_jsonl(directory / DOCS, records)
    write_json(directory / TERMS, tokenizer.terms)
    np.save(directory / VECTORS, vectors, allow_pickle=False)
    sections = {role: backend.save(directory) for role, backend in backends.items()}
    write_sentences(directory, sentences)
    return {
        **fields,
        "tokenizer": {
            "config": tokenizer.config.to_dict(),
            "dictionary_hash": tokenizer.dictionary_hash(),
            "terms": len(tokenizer.terms),
        },
        "chunk_count": count,
        "backends": sections,
    }


def date_column(chunk: Chunk) -> int:
    """The chunk store's ``date`` column: :func:`qa.types.date_key` of the chunk's date."""
    try:
        return date_key(chunk.date)
    except ValueError:
        return 0  # an unreadable date filters like none


def _merge_sentences(ordered: Sequence[Part], chunks: Sequence[Chunk], dim: int) -> SentenceTable:
    """One sentence table for all documents, each distinct sentence's vector stored once."""
    bases = np.cumsum([0] + [len(p.sentence_spans) for p in ordered])[:-1]
    ptr = np.concatenate(
        [[0]] + [p.sentence_ptr[1:] + base for p, base in zip(ordered, bases, strict=True)]
    ).astype(np.int64)
    spans = np.concatenate([np.asarray(p.sentence_spans).reshape(-1, 2) for p in ordered])
    occurrences = np.concatenate(
        [np.asarray(p.sentence_vectors).reshape(-1, dim) for p in ordered]
    ).astype(np.float16)
    position: dict[str, int] = {}
    rows = np.empty(len(spans), dtype=np.int32)
    first: list[int] = []
    for r, chunk in enumerate(chunks):
        for i in range(int(ptr[r]), int(ptr[r + 1])):
            a, b = spans[i]
            key = chunk.text[a:b].strip()
            if key not in position:
                position[key] = len(first)
                first.append(i)
            rows[i] = position[key]
    distinct = occurrences[np.asarray(first, dtype=np.int64)]
    return SentenceTable(ptr, spans.astype(np.int32), rows, distinct)
