"""The local dense backend: FAISS behind the :class:`Retriever` seam.

The index is :class:`qa.retrieval.dense.DenseIndex`.

FAISS rows are the shared row space's (:mod:`qa.retrieval.rows`); what goes in and out are
chunk ids and a :class:`~qa.retrieval.base.Filter`, translated here into a FAISS id selector.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import QAError
from qa.retrieval.base import Context, Filter, Query, ScoredId, query_vectors
from qa.retrieval.dense import DenseIndex
from qa.retrieval.dense_segments import DenseSegment, SegmentedDense
from qa.retrieval.encoders import Encoder
from qa.retrieval.rows import RowSpace, SegmentedRows, filter_rows, without
from qa.types import Chunk


class FaissRetriever:
    """Cosine similarity of e5-style embeddings in FAISS.

    The encoder is created on first use (``encoder_factory``), once, under a lock:
    loading a model is the slowest part of start-up and BM25-only use needs none.

    Args:
        encoder_factory: Makes the query encoder (the index's own).
        space: The row space; may be given later with :meth:`bind`.
        fold: Folds a query before embedding (traditional → simplified).
        index_type: ``auto``, ``flat``, ``hnsw`` or ``ivf`` for :meth:`add`.
    """

    name = "faiss"

    def __init__(
        self, encoder_factory: Callable[[], Encoder] | None = None,
        space: RowSpace | None = None, fold: Callable[[str], str] = lambda s: s,
        index_type: str = "auto", index: DenseIndex | SegmentedDense | None = None,
    ) -> None:
        self._factory = encoder_factory
        self._encoder: Encoder | None = None
        self._lock = threading.Lock()
        self._fold = fold
        self._space = space
        self._index_type = index_type
        self._index = index
        self._removed = np.zeros(0, dtype=np.int64)

    @classmethod
    def from_context(cls, ctx: Context) -> FaissRetriever:
        """A new, empty backend for an index with these settings (see :mod:`.backends`)."""
        return cls(ctx.encoder, ctx.space, ctx.tokenizer.fold, ctx.settings.dense.index_type)

    def bind(self, space: RowSpace) -> None:
        """Set the row space the FAISS rows belong to."""
        self._space = space

    @property
    def index(self) -> DenseIndex | SegmentedDense:
        """The FAISS index (for diagnostics: ``kind``, ``params``, ``dim``)."""
        if self._index is None:
            raise QAError("the FAISS backend holds no index yet: add chunks or load one")
        return self._index

    @property
    def size(self) -> int:
        """Vectors indexed (tombstoned ones included)."""
        return 0 if self._index is None else self._index.size

    @property
    def encoder(self) -> Encoder:
        """The query encoder, loaded on first use."""
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    if self._factory is None:
                        raise QAError("the FAISS backend was given no encoder")
                    self._encoder = self._factory()
        return self._encoder

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Query embeddings, one row per text."""
        # The corpus is simplified Chinese; folding traditional queries helps the model too.
        return self.encoder.encode_queries([self._fold(t) for t in texts])

    def search(
        self, queries: Sequence[Query], k: int, where: Filter | None = None
    ) -> list[list[ScoredId]]:
        """See :class:`~qa.retrieval.base.Retriever`; queries without a vector are embedded."""
        if not queries:
            return []
        if self._space is None:
            raise QAError("the FAISS backend has no row space: call bind() first")
        space = self._space
        vectors = query_vectors(queries, self.encode)
        rows = without(filter_rows(space, where), self._removed, self.size)
        if rows is None:
            ids, scores = self.index.batch_search(vectors, k)
        else:
            ids, scores = self.index.batch_search_within(vectors, k, rows)
        return [
            [ScoredId(space.id_of(int(i)), float(s))
             for i, s in zip(id_row, score_row, strict=True) if i >= 0]
            for id_row, score_row in zip(ids, scores, strict=True)
        ]

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray | None = None) -> None:
        """Index the chunks' passage vectors (rows in ``chunks`` order) in a new FAISS index.

        Raises:
            QAError: Without vectors, or when the backend already holds an index (the
                writer rebuilds it from every vector on each update).
        """
        if vectors is None or len(vectors) != len(chunks):
            raise QAError("the FAISS backend needs one passage vector per chunk")
        if self._index is not None:
            raise QAError("the local FAISS index is rebuilt from all vectors; add to a new one")
        self._index = DenseIndex.build(np.asarray(vectors, dtype=np.float32), self._index_type)

    def remove(self, chunk_ids: Iterable[str]) -> None:
        """Tombstone chunks: they are never returned."""
        if self._space is None:
            raise QAError("the FAISS backend has no row space: call bind() first")
        rows = [self._space.row_of(c) for c in chunk_ids]
        self._removed = np.union1d(self._removed, np.asarray(rows, dtype=np.int64))

    def save(self, directory: Path) -> dict[str, Any]:
        """Write ``dense.faiss``; the section records the index type and its parameters.

        Raises:
            QAError: For a segmented index (its segments are written by the segment writer).
        """
        if not isinstance(self.index, DenseIndex):
            raise QAError("a segmented FAISS index is saved segment by segment")
        self.index.save(directory)
        return {"backend": self.name, "kind": self.index.kind, "params": self.index.params,
                "dim": self.index.dim}

    def load(self, directory: Path, section: Mapping[str, Any]) -> None:
        """Memory-map ``dense.faiss`` (of the type ``section["kind"]`` records).

        Raises:
            ValueError: For a missing or unreadable file or a section without its type.
        """
        kind = section.get("kind")
        if not isinstance(kind, str):
            raise ValueError(f"the faiss section of the manifest has no index type: {kind!r}")
        names = section.get("segments")
        kinds = section.get("kinds") or {}
        indexes = []
        for name in names if names is not None else [""]:
            index = DenseIndex.load(directory / name if name else directory,
                                    str(kinds.get(name, kind)))
            if section.get("dim", index.dim) != index.dim:
                raise ValueError(f"dense.faiss has dimension {index.dim}, the manifest "
                                 f"{section.get('dim')}")
            indexes.append(index)
        space = self._space
        if names is None or (list(names) == [""] and not isinstance(space, SegmentedRows)):
            self._index = indexes[0]
            return
        if not isinstance(space, SegmentedRows):
            raise ValueError("a segmented FAISS index needs a segmented chunk store")
        self._index = SegmentedDense(
            [DenseSegment(int(space.offsets[i]), index, space.dead(i))
             for i, index in enumerate(indexes)], space.physical, space.rank)
