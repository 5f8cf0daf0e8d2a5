"""Open a benchmark index in a fresh process and time it: load, memory, query latency.

Run by :mod:`bench.run` as ``python -m bench.probe INDEX QUERIES`` so that nothing the build
left in memory counts; prints one JSON object. The index is opened with the product's
:meth:`qa.QA.load` (memory maps; no chunk is parsed until a result needs it) and searched
with :meth:`qa.QA.batch_search`, so latencies include reading the hits' chunks. ``QUERIES``
is a directory holding ``questions.json`` (texts) and ``vectors.npy`` (their query
embeddings): latencies exclude query embedding, which :mod:`bench.vectors` measures
separately. Each question is searched twice in every mode: ``{mode}/first_pass/…`` is the
first time (its pages touched for the first time), ``{mode}/p50_ms`` and ``p95_ms`` the second.
The hybrid search's reordering of its top ten passages by their answer sentences is off here:
it embeds those passages' sentences with the index's encoder, which synthetic vectors lack,
and its cost does not grow with the index (``bench.seeds`` times search with it).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import latency, rss_mb, rss_split_mb, timed_ms

K = 10
BATCH = 32
WARMUP = 5


def probe(directory: Path, queries: Path) -> dict[str, Any]:
    """Load ``directory`` with :meth:`qa.QA.load`, then time single and batched searches."""
    from qa.api import QA
    from qa.config import AnswerConfig

    rss_start = rss_mb()
    start = time.perf_counter()
    qa = QA.load(directory, answer=AnswerConfig(rerank_weight=0))
    open_s = time.perf_counter() - start
    qa.tokenizer.tokenize("预热")  # the segmenter's dictionary: part of being ready to serve
    load_s = time.perf_counter() - start
    out: dict[str, Any] = {
        "open_s": open_s, "load_s": load_s, "rss_mb": rss_mb(), "rss_start_mb": rss_start,
    }
    out.update({f"rss_{part}_mb": mb for part, mb in rss_split_mb().items()})
    questions = json.loads((queries / "questions.json").read_text(encoding="utf-8"))
    vectors = np.load(queries / "vectors.npy", allow_pickle=False)

    def search(mode: str, s: int, e: int) -> list[Any]:
        # The product's path: filters, retrieval, fusion, and hits read from the chunk store.
        return qa.batch_search(questions[s:e], K, mode, vectors=vectors[s:e])

    out["first_query_ms"] = timed_ms(search, "hybrid", 0, 1)
    for i in range(min(WARMUP, len(questions))):
        search("hybrid", i, i + 1)
    modes = ("bm25", "dense", "hybrid")
    # The first pass is the first touch of each question's postings and vectors: page
    # faults into an index just written (at a million chunks, GBs still being written
    # back) cost more than the search. It is reported apart; p50/p95 are the warm pass,
    # as a serving process that has answered a while sees them (and as the in-memory
    # BM25 peers are timed).
    for suffix in ("/first_pass", ""):
        single: dict[str, list[float]] = {mode: [] for mode in modes}
        for i in range(len(questions)):
            for mode, times in single.items():
                times.append(timed_ms(search, mode, i, i + 1))
        for mode, times in single.items():
            out.update(latency(mode + suffix, times))
    batches = [(s, min(s + BATCH, len(questions))) for s in range(0, len(questions), BATCH)]
    for name in modes:
        total = sum(timed_ms(search, name, s, e) for s, e in batches)
        out[f"{name}/batch{BATCH}_ms_per_query"] = total / len(questions)
        out[f"{name}/batch{BATCH}_qps"] = 1000 * len(questions) / total if total else 0.0
    out["rss_after_queries_mb"] = rss_mb()
    # Mapped index pages the queries touched count as resident but are page cache, which
    # the kernel reclaims under pressure; the anonymous part is what the process holds.
    out.update({f"rss_after_queries_{part}_mb": mb for part, mb in rss_split_mb().items()})
    dense = qa.dense_index
    out["dense_ids"] = [dense.search(vectors[i], K)[0].tolist() for i in range(len(questions))]
    out["dense_params"] = dense.params
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.probe INDEX QUERIES``: print the probe's JSON."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m bench.probe INDEX_DIR QUERIES_DIR", file=sys.stderr)
        return 2
    print(json.dumps(probe(Path(args[0]), Path(args[1])), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
