"""Segments: an update writes only its own documents; the rest of the index is linked.

A version of a local index is one or more *segments*, each a complete set of row files
(chunk store, folded text, vectors, token counts, BM25 matrix, FAISS index) over some
documents: the base segment at the top of the version directory (all a fresh build has)
and, after updates, ``seg-NNNNNN/`` directories. ``docs.jsonl`` says which segment holds
each live document (its ``segment`` field; empty for the base). A row whose document is
not live in that segment is *dead*: the document was removed, or replaced by a newer copy
in a later segment. An update

* writes one new segment with the documents it adds or changes, plus the kept documents
  whose tokens a change of the corpus dictionary touches (moved whole, so every document
  lives whole in one segment);
* hard-links every file of the segments it keeps (nothing is rewritten);
* rewrites only the small corpus-wide files: ``docs.jsonl``, ``terms.json``,
  ``terms_counts.json`` and the manifest.

Searches see the live rows in *corpus order* (documents by id, chunks in source order,
exactly a fresh build's row order), and BM25 scores with the live rows' statistics
(:mod:`qa.retrieval.bm25_segments`): results equal a fresh build's. An update that would
leave more than :data:`MAX_SEGMENTS` segments folds every segment but the base into its new
one (it costs what they hold). When the rows outside the base (newer segments and dead rows)
grow past :data:`MERGE_FRACTION` of the live rows, the update writes one segment again — a
fresh build's files, byte for byte; ``qa optimize`` does that on demand. Indexes below
:data:`SEGMENT_FROM` live chunks are always written whole (it takes under a second).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from qa.index.chunkstore import ChunkStore
from qa.retrieval.bm25_counts import ChunkCounts
from qa.retrieval.bm25_segments import SegmentedBM25
from qa.types import Chunk

BASE = ""
# Rows outside the base (other segments' and dead rows) beyond this share of the live rows
# make the next update merge everything into one segment.
MERGE_FRACTION = 0.25
MAX_SEGMENTS = 8
# Smaller indexes are rewritten whole on every update: cheap, and their files stay a fresh
# build's.
SEGMENT_FROM = 5_000
# Test hook: set to 1, updates write segments whatever the index's size and the share of
# rows outside the base (tests use it on small corpora, in this and in child processes).
ALWAYS = "QA_SEGMENT_ALWAYS"
# Files of a version that belong to no segment (rewritten, or linked per document).
VERSION_FILES = ("manifest.json", "docs.jsonl", "terms.json", "terms_counts.json")


def segment_name(version: Path) -> str:
    """The directory name of a segment first written in ``version`` (``v-000012``)."""
    return "seg-" + version.name.split("-", 1)[1]


def segment_dir(data: Path, segment: str) -> Path:
    """Where a segment's files are inside a version directory."""
    return data / segment if segment else data


def segment_files(files: Mapping[str, int], segment: str) -> list[str]:
    """The manifest-relative names of a segment's files."""
    if segment:
        return sorted(n for n in files if n.startswith(segment + "/"))
    return sorted(n for n in files if "/" not in n and n not in VERSION_FILES)


def merge_due(live: int, outside: int, segments: int) -> bool:
    """Whether an update should write one segment again (see the module notes).

    Args:
        live: Live chunks after the update.
        outside: Rows after the update that are not live rows of the base segment.
        segments: Segments after the update.
    """
    if os.environ.get(ALWAYS) == "1":
        return segments > MAX_SEGMENTS
    return live < SEGMENT_FROM or segments > MAX_SEGMENTS or outside > MERGE_FRACTION * live


class SegmentedChunks(Sequence[Chunk]):
    """The live chunks of several segments, in corpus order: a :class:`ChunkStore` view.

    Positions (``row`` in every method) are corpus order over the live rows, as in a fresh
    build's chunk store; the backends map them to physical rows with :attr:`physical`
    (position → row of the concatenated segments) and :attr:`rank` (row → position, ``-1``
    for a dead row).

    Args:
        stores: Each segment's chunk store, in segment order.
        live: Each live document's segment index and chunk count, in id order.

    Raises:
        ValueError: When a live document's rows are missing from its segment.
    """

    def __init__(self, stores: Sequence[ChunkStore], live: Sequence[tuple[str, int, int]]
                 ) -> None:
        self.stores = tuple(stores)
        sizes = [len(s) for s in self.stores]
        self.offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=self.offsets[1:])
        starts, counts = [], []
        firsts = [s.first_rows() for s in self.stores]
        self._doc_ids = tuple(doc for doc, _, _ in live)
        for doc, seg, n in live:
            first = firsts[seg].get(doc)
            store = self.stores[seg]
            if first is None or first + n > len(store) or \
                    store.doc_ids[int(store.doc_codes[first + n - 1])] != doc:
                raise ValueError(f"document {doc!r} has no {n} rows in segment {seg}")
            starts.append(int(self.offsets[seg]) + first)
            counts.append(n)
        self._doc_start = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=self._doc_start[1:])
        self._doc_index = {doc: i for i, doc in enumerate(self._doc_ids)}
        n_live = int(self._doc_start[-1])
        shift = np.repeat(np.asarray(starts, dtype=np.int64) - self._doc_start[:-1], counts)
        self.physical = shift + np.arange(n_live, dtype=np.int64)
        self.rank = np.full(int(self.offsets[-1]), -1, dtype=np.int64)
        self.rank[self.physical] = np.arange(n_live, dtype=np.int64)
        self._columns: dict[str, np.ndarray] = {}

    def dead(self, segment: int) -> np.ndarray | None:
        """Per row of a segment, whether it is dead (``None`` when none is)."""
        a, b = int(self.offsets[segment]), int(self.offsets[segment + 1])
        mask = self.rank[a:b] < 0
        return mask if mask.any() else None

    # ------------------------------------------------------------------ rows
    def __len__(self) -> int:
        return len(self.physical)

    def _locate(self, row: int) -> tuple[ChunkStore, int]:
        n = len(self)
        r = int(row)
        if r < 0:
            r += n
        if not 0 <= r < n:
            raise IndexError(f"chunk row {row} out of range 0..{n - 1}")
        phys = int(self.physical[r])
        seg = int(np.searchsorted(self.offsets, phys, side="right")) - 1
        return self.stores[seg], phys - int(self.offsets[seg])

    @overload
    def __getitem__(self, row: int) -> Chunk: ...

    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...

    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        """The chunk at a position, or a list for a slice."""
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        store, local = self._locate(row)
        return store[local]

    def __iter__(self) -> Iterator[Chunk]:
        for r in range(len(self)):
            yield self[r]

    def get_many(self, rows: Sequence[int]) -> list[Chunk]:
        """The chunks at ``rows``, in that order."""
        return [self[r] for r in rows]

    def id_of(self, row: int) -> str:
        """The chunk id at a position."""
        store, local = self._locate(row)
        return store.id_of(local)

    def row_of(self, chunk_id: str) -> int:
        """The position of a live chunk.

        Raises:
            KeyError: For an id no live row holds.
        """
        for seg, store in enumerate(self.stores):
            try:
                local = store.row_of(chunk_id)
            except KeyError:
                continue
            position = int(self.rank[int(self.offsets[seg]) + local])
            if position >= 0:
                return position
        raise KeyError(f"no chunk with id {chunk_id!r}")

    @property
    def columns(self) -> tuple[str, ...]:
        """Names of the per-row integer columns every segment has."""
        names = set(self.stores[0].columns)
        for store in self.stores[1:]:
            names &= set(store.columns)
        return tuple(sorted(names))

    def column(self, name: str) -> np.ndarray:
        """A per-position integer column (built once per name)."""
        if name not in self._columns:
            whole = np.concatenate([np.asarray(s.column(name)) for s in self.stores])
            self._columns[name] = whole[self.physical]
        return self._columns[name]

    # ------------------------------------------------------------------ documents
    @property
    def doc_ids(self) -> tuple[str, ...]:
        """The live document ids, in id order."""
        return self._doc_ids

    def rows_of(self, docs: str | Sequence[str]) -> np.ndarray:
        """The positions of one or more live documents, ascending.

        Raises:
            ValueError: For an id that is not a live document, naming it.
        """
        wanted = [docs] if isinstance(docs, str) else list(docs)
        unknown = [d for d in wanted if d not in self._doc_index]
        if unknown:
            shown = list(self._doc_ids[:20]) + (["…"] if len(self._doc_ids) > 20 else [])
            raise ValueError(f"Unknown document id(s) {unknown}; indexed: {shown}")
        parts = [np.arange(self._doc_start[i], self._doc_start[i + 1], dtype=np.int64)
                 for i in sorted({self._doc_index[d] for d in wanted})]
        return np.concatenate(parts)

    def close(self) -> None:
        """Release every segment's memory map."""
        for store in self.stores:
            store.close()


def live_vocabulary(bm25: SegmentedBM25, data: Path, names: Sequence[str],
                    chunks: SegmentedChunks) -> dict[str, int]:
    """The tokens some live row holds (a token → any integer), as a fresh build's vocabulary.

    Every segment's tokens, less those whose every posting is in a dead row (counted from
    the dead rows' token counts, so the cost follows the dead rows, not the index).
    """
    vocab: dict[str, int] = {}
    for seg in bm25.segments:
        for token in seg.index.vocab:
            vocab.setdefault(token, len(vocab))
    dead_df: dict[str, int] = {}
    for i, name in enumerate(names):
        dead = chunks.dead(i)
        if dead is None:
            continue
        counts = ChunkCounts.load(segment_dir(data, name))
        ptr, terms = np.asarray(counts.ptr), counts.terms
        rows = np.flatnonzero(dead)
        pieces = [np.asarray(terms[int(ptr[r]):int(ptr[r + 1])]) for r in rows.tolist()]
        if not pieces:
            continue
        ids, n = np.unique(np.concatenate(pieces), return_counts=True)
        for tid, count in zip(ids.tolist(), n.tolist(), strict=True):
            token = counts.vocab[tid]
            dead_df[token] = dead_df.get(token, 0) + count
    for token, count in dead_df.items():
        total = 0
        for seg in bm25.segments:
            tid = seg.index.vocab.get(token)
            if tid is not None:
                total += int(seg.index.indptr[tid + 1]) - int(seg.index.indptr[tid])
        if total <= count:
            vocab.pop(token, None)
    return vocab
