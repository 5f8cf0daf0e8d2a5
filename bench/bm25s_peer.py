"""bm25s, the fast Python BM25 peer, against our BM25 on the same tokens and parameters.

Both are built from the same token lists with the product's settings (:class:`BM25Config`:
Lucene idf, its ``k1`` and ``b``) and asked the same tokenized questions one at a time: ours
with :meth:`BM25Index.search`, bm25s with its public ``retrieve`` (numpy backend, the default,
no threads). Figures per size, ``{n}/bm25_index/…`` for ours and ``{n}/bm25s/…``: build
seconds, query p50/p95/QPS, the index arrays' size and the peak memory a build adds, and how
often the top 10 agree, with every disagreement classified.

Two things differ by design, and neither changes a ranking: bm25s's ``lucene`` term weight
leaves out the constant factor ``k1 + 1`` (its scores are ours ÷ (k1 + 1)), and it rounds the
idf to float32 and sums in float32 where we sum in float64 and round once. So a document
whose score equals the 10th (same tokens, or the same tf and length) may be in one top 10
and not the other: each breaks such ties its own way (we by lower document id).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from bench.measure import latency, peak_mb
from qa.config import BM25Config
from qa.retrieval.bm25_matrix import BM25Index, encode_tokens
from qa.tokens.tokenize import Tokenizer

K = 10
WARMUP = 5


def token_lists(
    tokenizer: Tokenizer, texts: Iterable[str], processes: int | None
) -> list[list[str]]:
    """Every text's tokens as a list, for libraries that take token lists.

    Tokenized in worker processes into counts (cheap to send back), then each document's
    tokens are listed term by term, every occurrence of a token the same string object so
    a million documents fit in memory. BM25 counts tokens and ignores their order, and terms
    keep their order of first occurrence, so every BM25 built from these lists (rank-bm25's
    vocabulary order included) equals one built from the tokens in text order.
    """
    shared: dict[str, str] = {}
    out: list[list[str]] = []
    for counts in tokenizer.tokenize_batches(texts, processes=processes, reduce=encode_tokens):
        words = np.array([shared.setdefault(w, w) for w in counts.vocab] or [""], dtype=object)
        flat = words[np.repeat(counts.terms, counts.tf)].tolist()
        ends = np.cumsum(counts.lengths).tolist()
        out.extend(flat[s:e] for s, e in zip([0] + ends[:-1], ends, strict=True))
    return out


def compare(
    tokens: Sequence[list[str]], queries: Sequence[list[str]], prefix: str,
    log: Callable[[str], None], config: BM25Config | None = None,
) -> dict[str, float]:
    """Build both on ``tokens``, search ``queries`` with both, and return the figures.

    Raises:
        ImportError: Naming the pip command when bm25s is missing.
    """
    try:
        import bm25s
    except ImportError as exc:  # pragma: no cover - part of the bench extra
        raise ImportError('The bm25s comparison needs: pip install -e ".[bench]"') from exc
    config = config or BM25Config()
    if config.variant != "lucene":
        raise ValueError(f"bm25s is compared on the lucene variant, not {config.variant!r}")
    out: dict[str, float] = {f"{prefix}/bm25s/queries": float(len(queries))}
    log(f"[{prefix}] bm25s comparison: building ours")
    start = time.perf_counter()
    ours, ours_peak = peak_mb(BM25Index.build, tokens, config)
    out[f"{prefix}/bm25_index/build_s"] = time.perf_counter() - start
    log(f"[{prefix}] bm25s comparison: building bm25s {bm25s.__version__}")
    peer = bm25s.BM25(k1=config.k1, b=config.b, method="lucene", idf_method="lucene")
    start = time.perf_counter()
    _, peer_peak = peak_mb(peer.index, list(tokens), show_progress=False)
    out[f"{prefix}/bm25s/build_s"] = time.perf_counter() - start
    arrays = peer.scores
    out.update({
        f"{prefix}/bm25_index/build_peak_mb": ours_peak,
        f"{prefix}/bm25s/build_peak_mb": peer_peak,
        f"{prefix}/bm25_index/index_mb": _mb(ours.data, ours.indices, ours.indptr),
        f"{prefix}/bm25s/index_mb": _mb(arrays["data"], arrays["indices"], arrays["indptr"]),
    })

    def peer_search(query: list[str]) -> tuple[np.ndarray, np.ndarray]:
        found = peer.retrieve([query], k=min(K, ours.n_docs), show_progress=False, n_threads=0)
        return np.asarray(found.documents[0]), np.asarray(found.scores[0])

    for query in queries[:WARMUP]:
        ours.search(query, K), peer_search(query)
    ours_ms, peer_ms, tops = [], [], []
    for query in queries:
        # Interleaved, so load from elsewhere on the machine hits both alike.
        start = time.perf_counter()
        ids, scores = ours.search(query, K)
        ours_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        peer_ids, peer_scores = peer_search(query)
        peer_ms.append((time.perf_counter() - start) * 1000)
        tops.append((ids, scores, peer_ids, peer_scores))
    out.update(latency(f"{prefix}/bm25_index", ours_ms))
    out.update(latency(f"{prefix}/bm25s", peer_ms))
    out.update(agreement(tops, tokens, lambda i: ours.scores(queries[i]), prefix))
    return out


def agreement(
    tops: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    tokens: Sequence[list[str]], our_scores: Callable[[int], np.ndarray], prefix: str,
) -> dict[str, float]:
    """How often the top 10 agree, and why they differ where they do.

    Per query, ``tops`` holds our ids and scores and bm25s's (best first; its zero scores
    are no hits); ``our_scores(i)`` is our score of every document for query ``i``. Where the
    two lists differ, each document in one and not the other is looked up in our scores: if
    all of them score exactly our 10th score, the query's difference is a *tie at the
    cut-off*; if all are within float32 rounding of it (relative 1e-5), a *rounding* tie
    (bm25s sums in float32); otherwise a *scoring* difference.

    Returns:
        ``same_top10`` (same set of documents), ``same_top10_ordered`` (same order too),
        ``order_differs_by_ties`` (queries with the same set in another order, where only
        documents of equal score changed places), ``ties_at_cutoff``, ``rounding_at_cutoff``
        and ``scoring_differences`` (counts of queries), ``tied_identical_docs`` (of the
        documents swapped at a tie, the share whose tokens are those of our 10th document)
        and ``score_ratio_min``/``max`` (bm25s's score over ours on the documents both
        returned: ``1 / (k1 + 1)`` when only that constant differs).
    """
    same = ordered = order_ties = ties = rounding = scoring = swapped = identical = 0
    ratios: list[float] = []
    for i, (ids, scores, peer_ids, peer_scores) in enumerate(tops):
        hits = peer_scores > 0
        peer_ids, peer_scores = peer_ids[hits], peer_scores[hits]
        ours_by_id = dict(zip(ids.tolist(), scores.tolist(), strict=True))
        ratios.extend(s / ours_by_id[d] for d, s in zip(peer_ids.tolist(), peer_scores.tolist(),
                                                         strict=True) if d in ours_by_id)
        if set(ids.tolist()) == set(peer_ids.tolist()):
            same += 1
            ordered += ids.tolist() == peer_ids.tolist()
            # Another order of the same documents with our scores in the same sequence: only
            # documents of equal score were swapped.
            order_ties += ids.tolist() != peer_ids.tolist() and [
                ours_by_id[d] for d in peer_ids.tolist()] == scores.tolist()
            continue
        full = our_scores(i)
        kth = full[int(ids[-1])] if len(ids) else np.float32(0)
        differ = sorted(set(ids.tolist()) ^ set(peer_ids.tolist()))
        if len(ids) == len(peer_ids) and all(full[d] == kth for d in differ):
            ties += 1
            reference = sorted(tokens[int(ids[-1])])
            swapped += len(differ)
            identical += sum(sorted(tokens[d]) == reference for d in differ)
        elif len(ids) == len(peer_ids) and all(
            np.isclose(full[d], kth, rtol=1e-5, atol=0) for d in differ
        ):
            rounding += 1
        else:
            scoring += 1
    n = max(len(tops), 1)
    return {
        f"{prefix}/bm25s/same_top10": same / n,
        f"{prefix}/bm25s/same_top10_ordered": ordered / n,
        f"{prefix}/bm25s/order_differs_by_ties": float(order_ties),
        f"{prefix}/bm25s/ties_at_cutoff": float(ties),
        f"{prefix}/bm25s/rounding_at_cutoff": float(rounding),
        f"{prefix}/bm25s/scoring_differences": float(scoring),
        f"{prefix}/bm25s/tied_identical_docs": identical / swapped if swapped else 1.0,
        f"{prefix}/bm25s/score_ratio_min": min(ratios) if ratios else 0.0,
        f"{prefix}/bm25s/score_ratio_max": max(ratios) if ratios else 0.0,
    }


def _mb(*arrays: Any) -> float:
    return sum(int(np.asarray(a).nbytes) for a in arrays) / 1e6
