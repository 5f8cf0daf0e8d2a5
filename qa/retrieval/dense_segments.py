"""FAISS over a segmented index: one index per segment, results merged in corpus order.

Each segment (:mod:`qa.index.segments`) keeps its own ``dense.faiss``; a query searches each
and the hits are merged by score, equal scores in corpus order. Dead rows never come back:
a segment with a few is searched for ``k`` plus that many and they are dropped (exact for a
flat index), one with many through a FAISS selector of its live rows. Flat segments give a
fresh build's results; an approximate base (HNSW at a million chunks) stays as approximate
as it was, and a merge rebuilds it over every vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.retrieval.dense import DenseIndex

# A segment with at most this many dead rows is searched for k + dead and filtered after.
_OVERFETCH_DEAD = 256


@dataclass(frozen=True)
class DenseSegment:
    """One segment's FAISS index in the row space (``dead``: per row, or ``None``)."""

    offset: int
    index: DenseIndex
    dead: np.ndarray | None


class SegmentedDense:
    """Dense search over several segments in corpus positions (see the module notes).

    Args:
        segments: The segments in row-space order.
        physical: Position → physical row.
        rank: Physical row → position (``-1`` for a dead row).
    """

    def __init__(self, segments: Sequence[DenseSegment], physical: np.ndarray,
                 rank: np.ndarray) -> None:
        self.segments = tuple(segments)
        self._physical = physical
        self._rank = rank
        self._live = [None if s.dead is None else np.flatnonzero(~s.dead) for s in segments]
        base = self.segments[0].index
        self.kind = base.kind
        self.dim = base.dim

    @property
    def size(self) -> int:
        """Live vectors."""
        return len(self._physical)

    @property
    def params(self) -> dict[str, int | str]:
        """The base segment's parameters."""
        return self.segments[0].index.params

    def _merge(self, hits: list[tuple[np.ndarray, np.ndarray]], n_queries: int, k: int
               ) -> tuple[np.ndarray, np.ndarray]:
        ids = np.full((n_queries, k), -1, dtype=np.int64)
        scores = np.zeros((n_queries, k), dtype=np.float32)
        if not hits:
            return ids, scores
        positions = np.concatenate([h[0] for h in hits], axis=1)
        values = np.concatenate([h[1] for h in hits], axis=1)
        for q in range(n_queries):
            keep = positions[q] >= 0
            pos, val = positions[q][keep], values[q][keep]
            order = np.lexsort((pos, -val))[:k]
            ids[q, : len(order)] = pos[order]
            scores[q, : len(order)] = val[order]
        return ids, scores

    def _positions(self, seg: DenseSegment, local: np.ndarray) -> np.ndarray:
        out = np.full(local.shape, -1, dtype=np.int64)
        found = local >= 0
        out[found] = self._rank[seg.offset + local[found]]
        return out  # a dead row maps to -1 and is dropped

    def batch_search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` live positions per query: ``(ids, scores)``, ``-1`` where none."""
        hits = []
        for seg, live in zip(self.segments, self._live, strict=True):
            if live is None:
                local, scores = seg.index.batch_search(queries, k)
            elif len(live) == 0:
                continue
            elif seg.index.size - len(live) <= _OVERFETCH_DEAD:
                local, scores = seg.index.batch_search(queries, k + seg.index.size - len(live))
            else:
                local, scores = seg.index.batch_search_within(queries, k, live)
            hits.append((self._positions(seg, np.asarray(local, dtype=np.int64)),
                         np.asarray(scores, dtype=np.float32)))
        return self._merge(hits, len(queries), k)

    def batch_search_within(self, queries: np.ndarray, k: int, rows: np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`batch_search`, restricted to some positions (a filter)."""
        physical = np.sort(self._physical[np.asarray(rows, dtype=np.int64)])
        hits = []
        for seg in self.segments:
            a, b = seg.offset, seg.offset + seg.index.size
            lo, hi = np.searchsorted(physical, [a, b])
            if hi <= lo:
                continue
            local, scores = seg.index.batch_search_within(queries, k, physical[lo:hi] - a)
            hits.append((self._positions(seg, np.asarray(local, dtype=np.int64)),
                         np.asarray(scores, dtype=np.float32)))
        return self._merge(hits, len(queries), k)
