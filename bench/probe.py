"""Open a benchmark index in a fresh process and time it: load, memory, query latency.

Run by :mod:`bench.run` as ``python -m bench.probe INDEX QUERIES`` so that nothing the build
left in memory counts; prints one JSON object. ``QUERIES`` is a directory holding
``questions.json`` (texts) and ``vectors.npy`` (their query embeddings): latencies exclude
query embedding, which :mod:`bench.vectors` measures separately.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import latency, rss_mb, timed_ms

K = 10
BATCH = 32
WARMUP = 5


def open_index(directory: Path) -> dict[str, Any]:
    """Open every part the way a server would: memory maps, no chunk parsed."""
    from qa.bm25 import BM25Index
    from qa.chunkstore import ChunkStore
    from qa.config import TokenizerConfig
    from qa.dense import DenseIndex
    from qa.tokenize import Tokenizer

    with open(directory / "manifest.json", encoding="utf-8") as fh:
        manifest = json.load(fh)
    with open(directory / "terms.json", encoding="utf-8") as fh:
        terms = json.load(fh)
    tokenizer = Tokenizer.from_terms(
        TokenizerConfig.from_dict(manifest["settings"]["tokenizer"]), terms
    )
    return {
        "store": ChunkStore.open(directory),
        "tokenizer": tokenizer,
        "bm25": BM25Index.load(directory, mmap=True),
        "dense": DenseIndex.load(directory, manifest["dense_kind"], mmap=True),
    }


def probe(directory: Path, queries: Path) -> dict[str, Any]:
    """Load ``directory``, then time single and batched queries of every kind."""
    from qa.config import FusionConfig
    from qa.retrieve import BM25Retriever, DenseRetriever, HybridRetriever
    from qa.translate import Glossary

    rss_start = rss_mb()
    start = time.perf_counter()
    parts = open_index(directory)
    open_s = time.perf_counter() - start
    parts["tokenizer"].tokenize("预热")  # jieba's dictionary: part of being ready to serve
    load_s = time.perf_counter() - start
    out: dict[str, Any] = {
        "open_s": open_s, "load_s": load_s, "rss_mb": rss_mb(), "rss_start_mb": rss_start,
    }
    questions = json.loads((queries / "questions.json").read_text(encoding="utf-8"))
    vectors = np.load(queries / "vectors.npy", allow_pickle=False)
    store, dense = parts["store"], parts["dense"]
    bm25 = BM25Retriever(parts["tokenizer"], parts["bm25"], Glossary.bundled().expand)

    def no_encoder() -> Any:
        raise RuntimeError("the probe passes query vectors; it never embeds")

    hybrid = HybridRetriever(bm25, DenseRetriever(dense, no_encoder), FusionConfig())

    def hybrid_hits(i: int) -> list[Any]:
        ranked = hybrid.batch_search([questions[i]], K, vectors=vectors[i : i + 1])[0]
        return store.get_many(row for row, _ in ranked)  # a search returns chunks, not rows

    out["first_query_ms"] = timed_ms(hybrid_hits, 0)
    for i in range(min(WARMUP, len(questions))):
        hybrid_hits(i)
    single: dict[str, list[float]] = {"bm25": [], "dense": [], "hybrid": []}
    ids = []
    for i, question in enumerate(questions):
        single["bm25"].append(timed_ms(bm25.search, question, K))
        single["dense"].append(timed_ms(dense.search, vectors[i], K))
        single["hybrid"].append(timed_ms(hybrid_hits, i))
        ids.append(dense.search(vectors[i], K)[0].tolist())
    for name, times in single.items():
        out.update(latency(name, times))
    batches = [(s, min(s + BATCH, len(questions))) for s in range(0, len(questions), BATCH)]
    batch_ms = {
        "bm25": sum(timed_ms(bm25.batch_search, questions[s:e], K) for s, e in batches),
        "dense": sum(timed_ms(dense.batch_search, vectors[s:e], K) for s, e in batches),
        "hybrid": sum(timed_ms(hybrid.batch_search, questions[s:e], K, vectors=vectors[s:e])
                      for s, e in batches),
    }
    for name, total in batch_ms.items():
        out[f"{name}/batch{BATCH}_ms_per_query"] = total / len(questions)
        out[f"{name}/batch{BATCH}_qps"] = 1000 * len(questions) / total if total else 0.0
    out["rss_after_queries_mb"] = rss_mb()
    out["dense_ids"] = ids
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
