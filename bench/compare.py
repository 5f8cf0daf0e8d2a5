"""Comparisons run beside the product's own numbers: rank-bm25, and exact vs approximate FAISS."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bench.measure import latency, timed_ms
from qa.config import BM25Config
from qa.evaluation.metrics import percentile
from qa.retrieval.bm25_matrix import BM25Index
from qa.retrieval.dense import DenseIndex

K = 10


def same_top(ids: np.ndarray, scores: np.ndarray, reference: np.ndarray, k: int = K) -> bool:
    """Whether our top ``k`` equals the reference scores' top ``k`` (positive scores only).

    Documents tied with the ``k``-th score may differ (each side breaks ties its own way).
    """
    order = np.argsort(-reference, kind="stable")[:k]
    top = order[reference[order] > 0]
    if len(top) != len(ids):
        return False
    if not np.allclose(np.sort(reference[top]), np.sort(scores), rtol=1e-5, atol=1e-6):
        return False
    differ = set(ids.tolist()) ^ set(top.tolist())
    kth = reference[top[-1]] if len(top) else 0.0
    return all(np.isclose(reference[d], kth, rtol=1e-5) for d in differ)


def rank_bm25(
    tokens: Sequence[list[str]], queries: Sequence[list[str]], prefix: str,
) -> dict[str, float]:
    """Our ``okapi`` BM25 against rank-bm25's ``BM25Okapi`` on the same tokens.

    Both rank the same queries; ours is timed with :meth:`BM25Index.search`, rank-bm25 with
    ``get_scores`` plus the ``argsort`` its ``get_top_n`` uses.

    Raises:
        ImportError: Naming the pip command when rank-bm25 is missing.
    """
    try:
        from rank_bm25 import BM25Okapi
    except ImportError as exc:  # pragma: no cover - part of the bench extra
        raise ImportError('The rank-bm25 comparison needs: pip install -e ".[bench]"') from exc
    start = time.perf_counter()
    # rank-bm25's defaults: k1 1.5, b 0.75, epsilon 0.25.
    config = BM25Config(k1=1.5, b=0.75, variant="okapi", epsilon=0.25)
    ours = BM25Index.build(list(tokens), config)
    ours_build = time.perf_counter() - start
    start = time.perf_counter()
    reference = BM25Okapi(list(tokens))
    ref_build = time.perf_counter() - start
    ours_ms, ref_ms, agree = [], [], 0
    for query in queries:
        ours_ms.append(timed_ms(ours.search, query, K))
        start = time.perf_counter()
        ref_scores = reference.get_scores(query)
        np.argsort(ref_scores)[::-1][:K]
        ref_ms.append((time.perf_counter() - start) * 1000)
        ids, scores = ours.search(query, K)
        agree += same_top(ids, scores, np.asarray(ref_scores))
    out = {
        f"{prefix}/rank_bm25/build_s": ref_build,
        f"{prefix}/bm25_okapi/build_s": ours_build,
        f"{prefix}/bm25/speedup_vs_rank_bm25": float(np.sum(ref_ms) / np.sum(ours_ms)),
        f"{prefix}/bm25/same_top10_as_rank_bm25": agree / len(queries),
        f"{prefix}/rank_bm25/queries": float(len(queries)),
    }
    out.update(latency(f"{prefix}/rank_bm25", ref_ms))
    out.update(latency(f"{prefix}/bm25_okapi", ours_ms))
    return out


def recall_at_k(truth: np.ndarray, found: Sequence[Sequence[int]], k: int = K) -> float:
    """Mean share of the exact top ``k`` that the approximate search found."""
    hits = [len(set(t[:k].tolist()) & set(list(f)[:k])) / k
            for t, f in zip(truth, found, strict=True)]
    return float(np.mean(hits)) if hits else 0.0


def ann_vs_exact(
    vectors: np.ndarray, queries: np.ndarray, kinds: Sequence[str], prefix: str,
    product: DenseIndex, log: Callable[[str], None], timed_queries: int = 50,
) -> tuple[dict[str, Any], np.ndarray]:
    """Exact FAISS search against each approximate index kind: recall@10 and latency.

    The product's own index is reused when it is of a compared kind; others are built here
    (their build time is reported too).

    Returns:
        The figures, and the exact top-10 ids of every query.
    """
    sample = queries[:timed_queries]
    truth, out = _exact(product if product.kind == "flat" else DenseIndex.build(vectors, "flat"),
                        queries, sample, prefix)
    for kind in kinds:
        if kind == product.kind:
            index = product
        else:
            log(f"[{prefix}] building a {kind} index for comparison")
            start = time.perf_counter()
            index = DenseIndex.build(vectors, kind)
            out[f"{prefix}/{kind}/build_s"] = time.perf_counter() - start
        found, _ = index.batch_search(queries, K)
        out[f"{prefix}/{kind}/recall@10"] = recall_at_k(truth, found.tolist())
        out.update(latency(f"{prefix}/{kind}", [timed_ms(index.search, q, K) for q in sample]))
        for name, value in index.params.items():
            if name not in ("kind", "size"):
                out[f"{prefix}/{kind}/{name}"] = value
        out.update(sweep(index, queries, truth, f"{prefix}/{kind}", timed_queries))
    return out, truth


def _exact(
    exact: DenseIndex, queries: np.ndarray, sample: np.ndarray, prefix: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """Exact top-10 ids of every query, and the exact index's latency on ``sample``."""
    truth, _ = exact.batch_search(queries, K)
    return truth, dict(latency(f"{prefix}/exact", [timed_ms(exact.search, q, K) for q in sample]))


def sweep(
    index: DenseIndex, queries: np.ndarray, truth: np.ndarray, prefix: str, timed_queries: int
) -> dict[str, float]:
    """Recall@10 and p50 latency of an approximate index at other search breadths.

    ``efSearch`` for HNSW, ``nprobe`` for IVF: how the defaults in :mod:`qa.retrieval.dense` were chosen.
    """
    import faiss

    out: dict[str, float] = {}
    if index.kind == "hnsw":
        name, values = "ef", (64, 128, 256, 512)
    elif index.kind == "ivf":
        name, values = "nprobe", (16, 32, 64, 128)
    else:
        return out

    def make(value: int) -> Any:
        if index.kind == "hnsw":
            return faiss.SearchParametersHNSW(efSearch=value)  # type: ignore[attr-defined]
        return faiss.SearchParametersIVF(nprobe=value)  # type: ignore[call-arg]

    raw: Any = index.faiss_index
    q = np.ascontiguousarray(queries, dtype=np.float32)
    threads = faiss.omp_get_max_threads()
    for value in values:
        params = make(value)
        _, found = raw.search(q, K, params=params)
        out[f"{prefix}/{name}{value}/recall@10"] = recall_at_k(truth, found.tolist())
        faiss.omp_set_num_threads(1)  # as DenseIndex does for single queries
        times = []
        try:
            for i in range(min(timed_queries, len(q))):
                start = time.perf_counter()
                raw.search(q[i : i + 1], K, params=params)
                times.append((time.perf_counter() - start) * 1000)
        finally:
            faiss.omp_set_num_threads(threads)
        out[f"{prefix}/{name}{value}/p50_ms"] = float(percentile(list(times), 50) or 0.0)
    return out
