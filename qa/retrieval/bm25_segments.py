"""BM25 over a segmented index: one matrix per segment, scored with the corpus's statistics.

An update writes its documents as a new segment and marks the rows they replace as dead
(:mod:`qa.index.segments`); it rewrites no other segment's files. Each segment's stored
weights used that segment's own idf and average length when it was written, so they are
not what a fresh build of the live documents would hold. The weights are therefore made at
query time from each posting's term frequency (``bm25_tf.npy``) and its chunk's length,
with the corpus-wide document frequency of the term over the *live* rows of every segment
and the live rows' average length — by the same function the builder uses
(:func:`qa.retrieval.bm25_matrix.weights`), so every weight, every score and every result
equals a fresh build's bit for bit. Equal scores are ordered by corpus order (the fresh
build's row order), not by physical row.

A term's live postings and weights are computed once per loaded version and cached (up to
:data:`CACHE_POSTINGS` postings); a merge (``qa optimize``, or automatically when segments
pile up) brings back the single matrix whose stored weights are used directly.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.config import BM25Config
from qa.retrieval.bm25_matrix import BM25Index, idf_values, weights
from qa.retrieval.bm25_topk import SearchResult, exact_scores, search_rows

# Postings whose query-time weights stay cached (float32 weight + int32 row: 8 bytes each).
CACHE_POSTINGS = 1 << 24


@dataclass(frozen=True)
class Segment:
    """One segment's BM25 matrix in the corpus's row space.

    Attributes:
        offset: The segment's first row in the row space.
        index: Its matrix (with ``tf``).
        lengths: Tokens per row (int64), from its ``counts_len.npy``.
        dead: Per row, whether the row is dead (replaced or removed); ``None``: none is.
    """

    offset: int
    index: BM25Index
    lengths: np.ndarray
    dead: np.ndarray | None


@dataclass(frozen=True)
class _Postings:
    """A term's live postings in each segment (local rows, float32 weights), and its df."""

    rows: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray, ...]
    df: int

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.rows)


class SegmentedBM25:
    """BM25 search over several segments, equal to one matrix over the live rows.

    Args:
        segments: The segments in row-space order.
        config: The BM25 settings (Lucene idf: the only variant segments are written for).
        physical: Position (corpus order over the live rows) → physical row.
        rank: Physical row → position (``-1`` for a dead row).

    Rows in and out are positions, as in a fresh build's matrix.

    Raises:
        ValueError: When a segment lacks its term frequencies or lengths disagree.
    """

    def __init__(self, segments: Sequence[Segment], config: BM25Config,
                 physical: np.ndarray, rank: np.ndarray) -> None:
        for seg in segments:
            if seg.index.tf is None:
                raise ValueError("a segment's BM25 index has no bm25_tf.npy")
            if len(seg.lengths) != seg.index.n_docs:
                raise ValueError(f"counts_len.npy has {len(seg.lengths)} rows, the BM25 "
                                 f"index {seg.index.n_docs}")
        self.segments = tuple(segments)
        self.config = config
        self._physical = physical
        self._rank = rank
        live = total = 0
        for seg in self.segments:
            lengths = np.asarray(seg.lengths, dtype=np.int64)
            if seg.dead is None:
                live += len(lengths)
                total += int(lengths.sum())
            else:
                live += int(np.count_nonzero(~seg.dead))
                total += int(lengths[~seg.dead].sum())
        if live == 0:
            raise ValueError("every row of the index is dead")
        self.n_docs = live
        self.n_rows = sum(seg.index.n_docs for seg in self.segments)
        # int / int as the builder computes it: the same float64 average length.
        self.avgdl = total / live
        self._cache: OrderedDict[str, _Postings | None] = OrderedDict()
        self._cached = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ statistics
    def postings(self, token: str) -> _Postings | None:
        """The term's live postings and weights in every segment (``None``: no live row)."""
        with self._lock:
            if token in self._cache:
                self._cache.move_to_end(token)
                return self._cache[token]
        found = self._compute(token)
        with self._lock:
            size = 0 if found is None else found.size
            self._cache[token] = found
            self._cached += size
            while self._cached > CACHE_POSTINGS and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._cached -= 0 if old is None else old.size
        return found

    def _compute(self, token: str) -> _Postings | None:
        spans: list[tuple[int, int, np.ndarray, np.ndarray | None] | None] = []
        df = 0
        for seg in self.segments:
            tid = seg.index.vocab.get(token)
            if tid is None:
                spans.append(None)
                continue
            a, b = int(seg.index.indptr[tid]), int(seg.index.indptr[tid + 1])
            rows = np.asarray(seg.index.indices[a:b])
            keep = None if seg.dead is None else ~seg.dead[rows]
            live = len(rows) if keep is None else int(np.count_nonzero(keep))
            spans.append((a, b, rows, keep))
            df += live
        if df == 0:
            return None
        idf = float(idf_values(np.array([df]), self.n_docs, self.config)[0])
        k1, b_ = self.config.k1, self.config.b
        out_rows, out_weights = [], []
        for seg, span in zip(self.segments, spans, strict=True):
            if span is None:
                out_rows.append(np.zeros(0, dtype=np.int32))
                out_weights.append(np.zeros(0, dtype=np.float32))
                continue
            a, b, rows, keep = span
            tf = np.asarray(seg.index.tf[a:b])  # type: ignore[index]
            if keep is not None:
                rows, tf = rows[keep], tf[keep]
            dl = np.asarray(seg.lengths)[rows]
            out_rows.append(rows)
            out_weights.append(weights(idf, tf, dl, self.avgdl, k1, b_).astype(np.float32))
        return _Postings(tuple(out_rows), tuple(out_weights), df)

    def df(self, token: str) -> int:
        """Live chunks holding ``token``."""
        found = self.postings(token)
        return 0 if found is None else found.df

    def chunks_of(self, token: str) -> np.ndarray:
        """The ascending positions holding ``token``."""
        found = self.postings(token)
        if found is None:
            return np.empty(0, dtype=np.int64)
        return np.sort(self._rank[np.concatenate([
            seg.offset + rows.astype(np.int64)
            for seg, rows in zip(self.segments, found.rows, strict=True)])])

    # ------------------------------------------------------------------ scoring
    def _query(self, query_tokens: Sequence[str]) -> list[_Postings]:
        found = [self.postings(t) for t in query_tokens]
        return [p for p in found if p is not None]

    @staticmethod
    def _packed(terms: list[_Postings], s: int
                ) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray]:
        """The query's postings in segment ``s`` as one small CSR (query order, repeats in)."""
        rows = [p.rows[s] for p in terms]
        spans, start = [], 0
        for r in rows:
            spans.append((start, start + len(r)))
            start += len(r)
        indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
        data = np.concatenate([p.weights[s] for p in terms]) if rows else \
            np.zeros(0, dtype=np.float32)
        return spans, indices, data

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """Every position's score (float32), as a fresh build's ``scores``."""
        terms = self._query(query_tokens)
        out = []
        for s, seg in enumerate(self.segments):
            spans, indices, data = self._packed(terms, s)
            out.append(exact_scores(spans, indices, data, seg.index.n_docs))
        return np.concatenate(out)[self._physical]

    def search(self, query_tokens: Sequence[str], k: int) -> SearchResult:
        """The top ``k`` positions, best first, equal scores by the lower position."""
        return self.batch_search([query_tokens], k)[0]

    def batch_search(self, queries: Sequence[Sequence[str]], k: int) -> list[SearchResult]:
        """Search several queries (``k`` a positive integer)."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        positive = self.config.variant == "lucene"
        rank = self._rank
        results = []
        for tokens in queries:
            terms = self._query(tokens)
            ids, values = [], []
            for s, seg in enumerate(self.segments):
                spans, indices, data = self._packed(terms, s)
                if not len(indices):
                    continue
                found, scores = search_rows(spans, indices, data, seg.index.n_docs, int(k),
                                            positive)
                ids.append(found + seg.offset)
                values.append(scores)
            if not ids:
                results.append((np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)))
                continue
            positions = rank[np.concatenate(ids)]
            scores = np.concatenate(values)
            order = np.lexsort((positions, -scores))[:k]
            results.append((positions[order], scores[order].astype(np.float32)))
        return results
