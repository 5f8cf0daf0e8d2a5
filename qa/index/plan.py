"""Incremental indexing: per-document artefacts, re-assembled into the global indexes.

Every document contributes artefacts that depend on nothing but its own content
and the index settings: its text, chunks and passage vectors.
Only those are expensive (embedding), so an update computes them for new and
changed documents alone and reuses everyone else's from the current index.

What depends on the whole corpus is brought up to date from the committed version
(:mod:`qa.index.lexical`): the tokenizer dictionary from kept term counts, the tokens of
only the chunks a dictionary change can touch; the BM25 weights and the FAISS index are
recomputed from all kept counts and vectors (array work, no text). Documents are always
laid out in id order, so any sequence of adds and removes yields exactly the files a fresh
build of the same documents writes.

Identity rules, for a file with id ``ID`` (its stem):

* same id, same content (sha256 of the bytes) → unchanged, nothing is written;
* same id and path, other content → the document is replaced;
* same id, another path → skipped (rename the file, or ``qa remove ID`` first);
* new id but content already indexed under another id → skipped as a duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.index.chunkstore import ChunkStore, StoredRows
from qa.index.commit import verify
from qa.index.folded import FoldedFile
from qa.index.records import Committed, DocRecord, Lexical, Part, State, UpdateReport
from qa.index.segments import segment_dir
from qa.index.store import (
    DOCS,
    FOLDED,
    TERM_COUNTS,
    TERMS,
    VECTORS,
    current_version,
    read_json,
    read_jsonl,
    source_path,
)
from qa.progress import bar
from qa.read.corpus import Candidate, Skipped
from qa.read.formats import MAX_BYTES, UnreadableError, read_file
from qa.read.pdf import page_of
from qa.retrieval.bm25_counts import PTR_FILE as COUNTS_PTR
from qa.retrieval.bm25_counts import ChunkCounts
from qa.retrieval.encoders import Encoder
from qa.text.chunk import chunk_document
from qa.text.clean import load_document
from qa.tokens.terms import TermCounts
from qa.tokens.tokenize import Tokenizer
from qa.types import Chunk, Document


# ------------------------------------------------------------------ reading a current index
def load_state(index: Path) -> State:
    """Load an index's per-document artefacts, every file verified, nothing parsed yet.

    An update copies (links) these artefacts into the next version, so each file's
    checksum is checked first: damage is reported, never carried forward. Chunks stay in
    the committed chunk store (:class:`~qa.index.chunkstore.StoredRows`), vectors and token
    counts memory-mapped.

    Raises:
        IndexUnusableError: When the index is missing, damaged or of another format.
        ValueError: When its parts disagree (the caller words the error).
    """
    directory, manifest = current_version(index)
    verify(directory, manifest.checksums, index)
    settings = Settings.from_dict(manifest.settings)
    records = [DocRecord.from_dict(d) for d in read_jsonl(directory / DOCS)]
    names = manifest.segments
    where = {name: i for i, name in enumerate(names)}
    if any(r.segment not in where for r in records):
        raise ValueError(f"{DOCS} names a segment the manifest lacks")
    lexical = _lexical_state(directory, settings)
    segments = [_segment_rows(segment_dir(directory, name), lexical is not None)
                for name in names]
    if sum(r.chunks for r in records) > sum(len(s[0]) for s in segments):
        raise ValueError(f"{DOCS} and chunks.jsonl disagree on the number of chunks")
    parts: dict[str, Part] = {}
    sources = source_path(directory, "x").parent
    for record in records:
        store, vectors, counts, folded, first = segments[where[record.segment]]
        a = first.get(record.doc, -1)
        b = a + record.chunks
        codes = np.asarray(store.doc_codes)
        # Codes never decrease (a document's rows are together): the ends tell.
        if a < 0 or b > len(store) or codes[a] != codes[b - 1] or \
                store.doc_ids[int(codes[a])] != record.doc:
            raise ValueError(f"chunks.jsonl rows {a}–{b} are not all document {record.doc!r}")
        parts[record.doc] = Part(
            record, StoredRows(store, a, b), vectors[a:b],  # type: ignore[arg-type]
            text_file=Path(f"{sources}/{record.doc}.txt"),
            counts=None if counts is None else counts.rows(a, b),
            folded=None if folded is None else folded.rows(a, b))
    committed = Committed(directory, dict(manifest.files), dict(manifest.checksums), names,
                          tuple(len(s[0]) for s in segments), dict(manifest.backends))
    return State(settings, manifest.encoder, manifest.corpus, parts, lexical, committed)


def _segment_rows(directory: Path, lexical: bool
                  ) -> tuple[ChunkStore, np.ndarray, ChunkCounts | None, FoldedFile | None,
                             dict[str, int]]:
    """One segment's row files, read for an update.

    Returns its chunk store, vectors, token counts, folded rows and each document's first
    row (a document's rows are together).
    """
    store = ChunkStore.open(directory)
    # Plain views of the maps: slicing a np.memmap per document costs more than the rest.
    vectors = np.asarray(np.load(directory / VECTORS, mmap_mode="r", allow_pickle=False))
    rows = len(store)
    if len(vectors) != rows:
        raise ValueError(f"chunks.jsonl and {VECTORS} disagree on the number of chunks")
    counts = folded = None
    if lexical:
        counts = ChunkCounts.load(directory).plain() if (directory / COUNTS_PTR).is_file() \
            else None
        if counts is not None and len(counts) != rows:
            raise ValueError(f"{COUNTS_PTR} has {len(counts)} rows, the chunk store {rows}")
        folded = FoldedFile(directory / FOLDED, rows)
    return store, vectors, counts, folded, store.first_rows()


def _lexical_state(directory: Path, settings: Settings) -> Lexical | None:
    """The committed tokenizer and term counts, where kept.

    An index from before term counts were kept (format 6 and older) gives ``None``, and
    its next update tokenizes everything once.
    """
    if not (directory / TERM_COUNTS).is_file():
        return None
    tokenizer = Tokenizer.from_stored(settings.tokenizer, read_json(directory / TERMS))
    return Lexical(tokenizer, TermCounts.from_dict(read_json(directory / TERM_COUNTS)))


def compatible(state: State, settings: Settings, encoder: Encoder) -> bool:
    """Whether an index's artefacts can be reused for a build with these settings and encoder."""
    old = state.settings
    return (
        state.encoder.get("name") == encoder.name
        and state.encoder.get("version") == encoder.version
        and state.encoder.get("dim") == encoder.dim
        and (old.chunk, old.tokenizer, old.bm25, old.dense.encoder)
        == (settings.chunk, settings.tokenizer, settings.bm25, settings.dense.encoder)
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
    """Embed the chunks of new documents in one stream; split per document."""
    chunks = [c for _, doc_chunks, _ in fresh for c in doc_chunks]
    if not chunks:
        return {}
    enc = encoder()
    batch = settings.dense.batch_size
    vectors = embed(enc, [c.index_text() for c in chunks], batch, "段落向量 passages", progress)
    out: dict[str, Part] = {}
    row = 0
    for doc, doc_chunks, cand in fresh:
        a, b = row, row + len(doc_chunks)
        out[doc.doc_id] = Part(_record(doc, len(doc_chunks), cand), doc_chunks, vectors[a:b],
                               text=doc.text)
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

