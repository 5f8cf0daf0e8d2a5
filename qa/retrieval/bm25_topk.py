"""BM25 top-k: the exact scores' top ``k``, found with a float32 pass and an exact re-score.

:meth:`qa.retrieval.bm25_matrix.BM25Index.scores` sums each document's weights in float64 and
rounds once, which costs a float64 array and a conversion of every posting. For the top ``k``
alone, :func:`search_rows` first sums in float32 (numpy's fast ``np.add.at`` path, half the
memory traffic), keeps every document whose float32 sum could still reach the exact ``k``-th
score, and re-scores only those exactly. The result equals ``top_k(index.scores(q), k)`` bit
for bit: the bound below is rigorous when every weight is positive (always so for the Lucene
idf), and any other case, or too many candidates, takes the exact path, as does a corpus
too small for the float32 pass to pay (:data:`EXACT_BELOW`). A one-term query needs neither
pass: its row holds the exact scores.

Why the bound holds: a float32 recursive sum of at most ``m`` positive weights is within
``γ = m·u/(1 - m·u)`` (``u = 2**-24``) of the true sum, and the exact float32 score within
``u``. So the ``k``-th largest float32 sum ``K`` and the exact ``k``-th score ``T`` satisfy
``T ≥ K·(1 - γ - u)``, and every document scoring at least ``T`` has a float32 sum of at least
``K·(1 - 2γ - 2u)``; candidates are taken from ``K·(1 - 4(m + 1)·u)``, twice that margin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.retrieval.bm25_files import INDICES_FILE

SearchResult = tuple[np.ndarray, np.ndarray]
Spans = Sequence[tuple[int, int]]
# More candidates than this: re-scoring them costs more than the exact full pass saves.
MAX_CANDIDATES = 2048
# Fewer documents than this: the exact pass is quicker than the float32 pass and its
# re-score (measured on the benchmark's corpus: exact faster at 10,000 and 20,000
# documents, the float32 pass at 30,000 and beyond).
EXACT_BELOW = 25_000
_U = 2.0**-24  # float32 unit roundoff
# Documents per group (strided, disjoint) whose maxima bound the k-th largest float32 sum
# from below; the maxima of all groups are one vectorised pass over the sums.
GROUP = 64


def top_k(scores: np.ndarray, k: int) -> SearchResult:
    """Return the ``k`` best positive scores, best first, ties broken by the lower index."""
    n = len(scores)
    if n > k:
        # One selection pass finds the k-th score; every document tied with it is kept so
        # the tie-break by index below sees them all.
        kth = np.partition(scores, n - k)[n - k]
        candidates = np.flatnonzero(scores >= kth) if kth > 0 else np.flatnonzero(scores > 0)
    else:
        candidates = np.flatnonzero(scores > 0)
    values = scores[candidates]
    order = np.lexsort((candidates, -values))[:k]
    return candidates[order].astype(np.int64), values[order].astype(np.float32)


def exact_scores(
    spans: Spans, indices: np.ndarray, data: np.ndarray, n_docs: int
) -> np.ndarray:
    """Every document's score (float32): its weights summed in float64 in span order.

    ``spans`` are the query tokens' rows (``indptr[t]``, ``indptr[t + 1]``), repeats included.

    Raises:
        ValueError: If a posting's document id is outside ``0..n_docs - 1``.
    """
    scores = np.zeros(n_docs, dtype=np.float64)
    for start, end in spans:
        if start == end:
            continue
        docs = _row(indices, start, end, n_docs)
        # A document appears at most once per row; add.at with matching dtypes is numpy's
        # fast path (about twice np.bincount over the concatenated postings).
        _add_at(scores, docs, data[start:end].astype(np.float64), n_docs)
    return scores.astype(np.float32)


def search_rows(
    spans: Spans, indices: np.ndarray, data: np.ndarray, n_docs: int, k: int,
    positive: bool,
) -> SearchResult:
    """``top_k(exact_scores(spans, …), k)``, computed faster when ``positive``.

    Args:
        spans: The query tokens' rows, repeats included.
        indices: Document id of each posting, ascending within a row.
        data: float32 weight of each posting.
        n_docs: Number of documents.
        k: How many documents at most.
        positive: Every weight is > 0 (the Lucene idf's guarantee); only then is the
            float32 pass's bound valid.

    Raises:
        ValueError: If a posting's document id is outside ``0..n_docs - 1``.
    """
    spans = [(start, end) for start, end in spans if end > start]
    if len(spans) == 1 and data.dtype == np.float32:
        # One term: its row already holds the exact scores (a single float32 weight summed
        # in float64 rounds back to itself), so nothing needs adding up.
        start, end = spans[0]
        docs = _row(indices, start, end, n_docs)
        if docs[-1] >= n_docs:
            raise ValueError(f"{INDICES_FILE} is corrupt: document ids outside 0..{n_docs - 1}")
        ids, scores = top_k(data[start:end], k)
        return docs[ids].astype(np.int64), scores
    if not positive or data.dtype != np.float32 or not spans or n_docs < EXACT_BELOW:
        return top_k(exact_scores(spans, indices, data, n_docs), k)
    rough = np.zeros(n_docs, dtype=np.float32)
    for start, end in spans:
        _add_at(rough, _row(indices, start, end, n_docs), data[start:end], n_docs)
    candidates = _near_cutoff(rough, k, 1 - 4 * (len(spans) + 1) * _U)
    if len(candidates) > MAX_CANDIDATES:
        return top_k(exact_scores(spans, indices, data, n_docs), k)
    # Keys in the postings' dtype: mixed dtypes would make searchsorted cast whole rows.
    keys = candidates.astype(indices.dtype)
    exact = np.zeros(len(candidates), dtype=np.float64)
    for start, end in spans:
        docs = indices[start:end]
        at = np.minimum(np.searchsorted(docs, keys), end - start - 1)
        # Adding 0.0 where a candidate lacks the term leaves its sum as the full pass has it.
        weights = data[start:end][at].astype(np.float64)
        exact += np.where(docs[at] == keys, weights, 0.0)
    ids, scores = top_k(exact.astype(np.float32), k)
    return candidates[ids].astype(np.int64), scores


def _near_cutoff(rough: np.ndarray, k: int, margin: float) -> np.ndarray:
    """Documents (ascending) whose float32 sum is at least ``margin`` × the ``k``-th largest.

    Every document when fewer than ``k`` score above zero. Selecting the ``k``-th largest of
    every document costs more than the float32 pass's other steps together, so it is taken
    among the few documents above a cheap lower bound: the ``k``-th largest maximum of
    ``n // GROUP`` disjoint groups (``k`` distinct documents reach it).
    """
    n = len(rough)
    width = n // GROUP
    lower = 0.0
    if width >= k:
        maxima = rough[: GROUP * width].reshape(GROUP, width).max(axis=0)
        lower = float(np.partition(maxima, width - k)[width - k])
    if lower > 0:
        near = np.flatnonzero(rough >= np.float32(lower * margin))
        values = rough[near]
        kth = float(np.partition(values, len(values) - k)[len(values) - k])
        return near[values >= np.float32(kth * margin)]
    kth = float(np.partition(rough, n - k)[n - k]) if n > k else 0.0
    floor = kth * margin
    return np.flatnonzero(rough >= np.float32(floor)) if floor > 0 else np.flatnonzero(rough)


def _row(indices: np.ndarray, start: int, end: int, n_docs: int) -> np.ndarray:
    docs = indices[start:end]
    if docs[0] < 0:  # ascending within a row: the first id is the smallest
        raise ValueError(f"{INDICES_FILE} is corrupt: document ids outside 0..{n_docs - 1}")
    return docs


def _add_at(target: np.ndarray, docs: np.ndarray, weights: np.ndarray, n_docs: int) -> None:
    try:
        # add.at's fast path wants intp indices; given int32 it casts in small buffered
        # chunks, and one cast up front makes the whole call about 30% faster.
        np.add.at(target, docs.astype(np.intp, copy=False), weights)
    except IndexError as exc:
        raise ValueError(
            f"{INDICES_FILE} is corrupt: document ids outside 0..{n_docs - 1}"
        ) from exc
