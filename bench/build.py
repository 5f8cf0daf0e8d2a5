"""The product's own build, end to end, with embedding taken out: ``python -m bench.build``.

:mod:`bench.run` times the index stages one by one on synthetic chunks. This times what
``qa build`` does on files: synthetic documents (seed sentences recombined, about twenty
chunks each) are written as ``.txt`` files, then :func:`qa.api.build_index` reads, cleans and
chunks them, splits sentences, derives the corpus dictionary, tokenizes, builds BM25 and
FAISS and writes every index file. The encoder is replaced by one that returns seeded random
unit vectors and keeps a stopwatch, so "build minus embedding" is measured, not estimated.
Finally the index is opened with :meth:`qa.QA.load` in this process and searched once.

    python -m bench.build --size 100000 [--work DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.synth import CHUNKS_PER_DOC, load_seeds, make_corpus
from bench.vectors import unit_rows

ROOT = Path(__file__).resolve().parent.parent
DIM = 384


class TimedRandomEncoder:
    """Seeded random unit vectors in place of a model, with the time spent in it."""

    name = "bench-random"
    version = "1"
    dim = DIM

    def __init__(self, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)
        self.seconds = 0.0
        self.texts = 0

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        start = time.perf_counter()
        out = unit_rows(self._rng.standard_normal((len(texts), self.dim), dtype=np.float32))
        self.seconds += time.perf_counter() - start
        self.texts += len(texts)
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Random query vectors."""
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Random passage vectors."""
        return self._encode(texts)


class TextSeededEncoder(TimedRandomEncoder):
    """Random unit vectors seeded by each text's hash: the same text, the same vector.

    For comparing an updated index with a fresh build of the same files, file by file.
    """

    name = "bench-text-seeded"

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        import hashlib

        start = time.perf_counter()
        rows = [np.random.default_rng(int.from_bytes(
            hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little"))
            .standard_normal(self.dim, dtype=np.float32) for t in texts]
        out = unit_rows(np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim))
        self.seconds += time.perf_counter() - start
        self.texts += len(texts)
        return out


def write_documents(directory: Path, size: int, seed: int) -> int:
    """Write ``size`` synthetic chunks' worth of text as documents; return how many files."""
    corpus = make_corpus(load_seeds(ROOT / "seeds"), size, seed)
    directory.mkdir(parents=True, exist_ok=True)
    files = 0
    for start in range(0, size, CHUNKS_PER_DOC):
        rows = range(start, min(start + CHUNKS_PER_DOC, size))
        title = corpus.seeds.heads[corpus.heads[start]][0]
        # A title line, then one paragraph per synthetic chunk: what a plain policy text has.
        body = "\n".join(corpus.text(r) for r in rows)
        (directory / f"{corpus.doc_id(start)}.txt").write_text(f"{title}\n{body}\n",
                                                              encoding="utf-8")
        files += 1
    return files


def run(size: int, work: Path, seed: int = 0) -> dict[str, float]:
    """Write the documents, build, load and query; return the figures."""
    from qa.api import QA, build_index

    docs, index = work / "docs", work / "index"
    shutil.rmtree(work, ignore_errors=True)
    start = time.perf_counter()
    files = write_documents(docs, size, seed)
    write_s = time.perf_counter() - start
    encoder = TimedRandomEncoder(seed)
    start = time.perf_counter()
    report = build_index(docs, index, encoder, progress=False, warn=lambda _m: None)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    qa = QA.load(index, encoder=encoder)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    hits = qa.search("哪个区布局磁存储芯片？", k=10, mode="bm25")
    query_ms = (time.perf_counter() - start) * 1000
    return {
        "size": float(size), "documents": float(files), "chunks": float(report.chunks),
        "write_documents_s": write_s, "build_s": build_s, "encoder_s": encoder.seconds,
        "build_without_embedding_s": build_s - encoder.seconds,
        "embedded_texts": float(encoder.texts), "load_s": load_s,
        "first_bm25_query_ms": query_ms, "hits": float(len(hits)),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the figures (and write them with ``--json``)."""
    parser = argparse.ArgumentParser(prog="python -m bench.build", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="chunks of text to write")
    parser.add_argument("--work", type=Path, help="scratch directory (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.size < CHUNKS_PER_DOC:
        parser.error(f"--size must be at least {CHUNKS_PER_DOC}")
    temporary = args.work is None
    work = Path(tempfile.mkdtemp(prefix="qa-bench-build-")) if temporary else args.work
    try:
        figures = run(args.size, work, args.seed)
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    for key, value in figures.items():
        print(f"{key:28} {value:,.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
