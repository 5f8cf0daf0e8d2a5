"""A segmented update: the changed documents as one new segment, every other file linked.

:func:`plan_segment` decides whether an update can be written this way (see
:mod:`qa.index.segments` for when it cannot: a merge is due, the dictionary's cut changed,
the committed version lacks what segments need); :func:`write_segment` writes it. Both cost
what the changed documents cost, plus linking the kept files and the small corpus-wide
ones (``docs.jsonl``, ``terms.json``, ``terms_counts.json``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Settings
from qa.index import segments as layout
from qa.index.chunkstore import ChunkRows, ChunkStore
from qa.index.lexical import changed_words, recount, stale_rows
from qa.index.records import Committed, DocRecord, Part, State
from qa.index.segments import BASE, merge_due, segment_dir, segment_files, segment_name
from qa.index.store import (
    DOCS,
    FOLDED,
    TERM_COUNTS,
    TERMS,
    VECTORS,
    link_or_copy,
    write_json,
    write_jsonl,
)
from qa.retrieval.bm25_counts import PTR_FILE as COUNTS_PTR
from qa.retrieval.bm25_files import TF_FILE
from qa.retrieval.bm25_matrix import BM25Index
from qa.retrieval.dense import DenseIndex
from qa.tokens.terms import TermCounts
from qa.tokens.tokenize import Tokenizer


@dataclass
class SegmentPlan:
    """What a segmented update writes.

    Attributes:
        tokenizer: The new version's tokenizer.
        term_counts: What its corpus terms were counted from.
        docs: The documents of the new segment, in id order (added, changed, moved).
        stale: Per kept document the new segment takes, its rows (0-based) to tokenize again
            (empty: none; its counts and folded text are reused).
        kept: The committed segments that still hold a live document (the base always).
    """

    tokenizer: Tokenizer
    term_counts: TermCounts
    docs: list[str]
    stale: dict[str, set[int]]
    kept: list[str]


def plan_segment(parts: dict[str, Part], state: State, settings: Settings
                 ) -> SegmentPlan | None:
    """The segmented update from ``state`` to the documents ``parts``; ``None``: write whole."""
    committed, prior = state.committed, state.lexical
    if committed is None or prior is None or settings.bm25.variant != "lucene" or \
            prior.tokenizer.corpus is None or prior.tokenizer.config != settings.tokenizer or \
            not _has_segment_files(committed):
        return None
    previous = state.parts
    kept = {d for d, p in parts.items() if d in previous and p is previous[d]
            and p.counts is not None and p.folded is not None}
    ordered = sorted(parts)
    term_counts = prior.term_counts.copy()
    term_counts.update(
        removed=[previous[d].read_text() for d in sorted(previous) if d not in kept],
        added=[parts[d].read_text() for d in ordered if d not in kept],
        others=lambda: (parts[d].read_text() for d in ordered if d in kept),
    )
    terms = term_counts.terms()
    if terms == list(prior.tokenizer.corpus):
        # The same dictionary: the committed tokenizer (and its recorded budget) serves as is.
        tokenizer = prior.tokenizer
    else:
        tokenizer = Tokenizer(settings.tokenizer, corpus=terms)
    if tokenizer.terms != prior.tokenizer.terms or \
            tokenizer.dictionary_total() != prior.tokenizer.dictionary_total():
        return None  # every chunk's cut may change: a fresh build's work
    stale = stale_rows([parts[d] for d in ordered if d in kept],
                       changed_words(tokenizer, prior.tokenizer))
    docs = sorted((set(parts) - kept) | set(stale))
    staying = kept - set(stale)
    holding = {parts[d].record.segment for d in staying}
    kept_segments = [s for s in committed.segments if s == BASE or s in holding]
    if len(kept_segments) + bool(docs) > layout.MAX_SEGMENTS:
        # Too many segments: fold every newer one into the new segment (their counts, folded
        # text and vectors reused), which costs what they hold, not what the base holds.
        movers = {d for d in staying if parts[d].record.segment != BASE}
        for d in movers:
            stale.setdefault(d, set())
        docs = sorted(set(docs) | movers)
        staying -= movers
        kept_segments = [BASE]
    rows = dict(zip(committed.segments, committed.rows, strict=True))
    live = sum(p.record.chunks for p in parts.values())
    physical = sum(rows[s] for s in kept_segments) + sum(parts[d].record.chunks for d in docs)
    base_live = sum(parts[d].record.chunks for d in staying if parts[d].record.segment == BASE)
    if merge_due(live, physical - base_live, len(kept_segments) + bool(docs)):
        return None
    return SegmentPlan(tokenizer, term_counts, docs, stale, kept_segments)


def _has_segment_files(committed: Committed) -> bool:
    """Whether every committed segment has the token counts and term frequencies."""
    for name in committed.segments:
        prefix = f"{name}/" if name else ""
        if f"{prefix}{TF_FILE}" not in committed.files or \
                f"{prefix}{COUNTS_PTR}" not in committed.files:
            return False
    return True


def write_segment(directory: Path, plan: SegmentPlan, parts: dict[str, Part], state: State,
                  corpus: dict[str, Any], progress: bool = False,
                  changed: frozenset[str] | None = None,
                  held: Mapping[str, Sequence[str]] | None = None
                  ) -> tuple[dict[str, Any], dict[str, str]]:
    """Write a segmented version into the empty ``directory``.

    An index whose search runs outside the directory (Milvus) gets the same local files
    but the FAISS index, which it does not have; its collection receives the chunks of
    the ``changed`` documents (added, replaced, removed, or left pending by a crashed
    write), wherever their rows are, and nothing else.

    Returns:
        The manifest fields, and the checksums of the files linked from the committed
        version (they are known; :func:`qa.index.store.finish_manifest` reuses them).
    """
    committed = state.committed
    assert committed is not None
    settings = state.settings
    known: dict[str, str] = {}
    for name in plan.kept:
        for file in segment_files(committed.files, name):
            target = directory / file
            target.parent.mkdir(parents=True, exist_ok=True)
            link_or_copy(committed.data / file, target)
            known[file] = committed.checksums[file]
    names = list(plan.kept)
    external = settings.backend.kind != "local"
    if external:
        _sync_external(settings, plan.tokenizer, changed, held, parts)
    section = committed.backends["semantic"]
    # Each segment's FAISS index type (none for an external backend: it has no FAISS).
    committed_kinds = section.get("kinds") or {BASE: section.get("kind")}
    kinds = {} if external else {name: committed_kinds[name] for name in plan.kept}
    new = segment_name(directory)
    if plan.docs:
        kind = _write_rows(segment_dir(directory, new), [parts[d] for d in plan.docs],
                           plan, settings, progress, dense=not external)
        if kind is not None:
            kinds[new] = kind
        names.append(new)
    records = []
    moving = set(plan.docs)
    for doc in sorted(parts):
        record = parts[doc].record
        records.append(replace(record, segment=new) if doc in moving else record)
    write_jsonl(directory / DOCS, (r.to_dict() for r in records))
    write_json(directory / TERMS, plan.tokenizer.stored())
    write_json(directory / TERM_COUNTS, plan.term_counts.to_dict())
    live = sum(r.chunks for r in records)
    lexical = {**committed.backends["lexical"], "chunks": live, "segments": names}
    semantic = {**section, "chunks": live, "segments": names}
    if not external:
        semantic["kinds"] = kinds
    fields = {
        "encoder": state.encoder,
        "settings": settings.to_dict(),
        "corpus": {**corpus, "documents": len(records)},
        "tokenizer": {
            "config": plan.tokenizer.config.to_dict(),
            "dictionary_hash": plan.tokenizer.dictionary_hash(),
            "terms": len(plan.tokenizer.words),
        },
        "chunk_count": live,
        "backends": {"lexical": lexical, "semantic": semantic},
        "segments": tuple(names),
    }
    return fields, known


def _sync_external(settings: Settings, tokenizer: Tokenizer, changed: frozenset[str] | None,
                   held: Mapping[str, Sequence[str]] | None, parts: dict[str, Part]) -> None:
    """Write the ``changed`` documents' chunks (none for a removed one) to the collection."""
    from qa.retrieval.backends import make_backend
    from qa.retrieval.base import Context

    if changed is None:
        raise ValueError("a segmented write to an external backend needs the changed documents")
    present = [parts[d] for d in sorted(changed) if d in parts]
    chunks = ChunkRows.joined([p.chunks for p in present])
    dim = int(np.asarray(next(iter(parts.values())).vectors).shape[1])
    vectors = np.concatenate([np.asarray(p.vectors, dtype=np.float32) for p in present]) \
        if present else np.zeros((0, dim), dtype=np.float32)
    # The semantic backend's add writes exactly the documents the context names as changed;
    # the lexical one shares its collection (and would also count terms, which the segment
    # does itself).
    backend = make_backend(settings.backend.names["semantic"],
                           Context(settings, tokenizer, changed=changed, held=held))
    backend.add(chunks, vectors)


def _write_rows(directory: Path, docs: list[Part], plan: SegmentPlan, settings: Settings,
                progress: bool, dense: bool = True) -> str | None:
    """Write one segment's row files; return its FAISS index type (``None``: no FAISS)."""
    from qa.index.writer import date_column

    directory.mkdir()
    # A document the segment takes from another keeps its folded text and counts, but for
    # its stale rows; an added or changed one is folded and tokenized.
    folded, counts = recount(docs, plan.tokenizer, plan.stale, plan.stale, progress)
    store = ChunkStore.write(directory, ChunkRows.joined([p.chunks for p in docs]),
                             columns={"date": date_column})
    store.close()
    with open(directory / FOLDED, "w", encoding="utf-8") as out:
        out.write("".join(line + "\n" for line in folded))
    vectors = np.concatenate([np.asarray(p.vectors, dtype=np.float32) for p in docs])
    np.save(directory / VECTORS, vectors, allow_pickle=False)
    counts.save(directory)
    BM25Index.from_counts(counts, settings.bm25).save(directory)
    if not dense:
        return None
    index = DenseIndex.build(vectors, settings.dense.index_type)
    index.save(directory)
    return index.kind


def reset_segments(records: list[DocRecord]) -> list[DocRecord]:
    """Records for a version written whole: every document in the base segment."""
    return [replace(r, segment=BASE) if r.segment else r for r in records]
