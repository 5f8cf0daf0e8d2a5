"""The Milvus backend (milvus-lite) beside the local one: ``python -m bench.milvus``.

For each size, synthetic documents (:func:`bench.build.write_documents`) are built twice
with the product's own :func:`qa.api.build_index` — local backend, then Milvus on a
milvus-lite file inside the index — with random vectors in place of a model
(:class:`bench.build.TimedRandomEncoder`; its time is subtracted). Then, in this process:
``QA.load``, 200 questions (``--questions``) from ``eval/`` searched one at a time per
mode (query vectors given, so embedding is excluded), resident memory, disk, and the cost
of adding one 20-chunk document and removing it again with :func:`qa.api.add_documents` /
:func:`qa.api.remove_documents`. For Milvus two parts of the add are timed on their own:
connecting (``add_connect_s``: importing pymilvus and, for milvus-lite, starting the
engine on its file) and writing the collection (``add_backend_s``: upsert + delete of
that document's chunks).

milvus-lite runs in this process (pure Python, one process per file), so its memory is
in the RSS figure and its latencies are those of an embedded engine, not of a server.

    python -m bench.milvus --sizes 10000,100000 [--questions 200] [--work DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.build import ROOT, TimedRandomEncoder, write_documents
from bench.measure import latency, rss_mb

QUESTIONS = 200
KEYS = ("build_s", "disk_mb", "rss_mb", "bm25_p50_ms", "bm25_p95_ms", "dense_p50_ms",
        "dense_p95_ms", "hybrid_p50_ms", "hybrid_p95_ms", "add_s", "add_connect_s",
        "add_backend_s", "remove_s")


def _questions(count: int = QUESTIONS) -> list[str]:
    lines = (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()][:count]


def _stopwatch(owner: object, name: str, spent: list[float]) -> Callable[[], None]:
    """Time every call of ``owner.name`` into ``spent``; returns the undo."""
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    setattr(owner, name, timed)
    return lambda: setattr(owner, name, original)


def measure(docs: Path, extra: Path, index: Path, backend: str, questions: int = QUESTIONS
            ) -> dict[str, float]:
    """Build, load, query and update one index; the figures by :data:`KEYS`."""
    from qa.api import QA, add_documents, build_index, remove_documents
    from qa.config import BackendConfig, Settings
    from qa.index import external
    from qa.retrieval.milvus_store import MilvusCollection

    settings = Settings(backend=BackendConfig(kind="milvus",
                                              milvus_uri=str(index / "milvus.db"))) \
        if backend == "milvus" else Settings()
    encoder = TimedRandomEncoder(0)
    start = time.perf_counter()
    build_index(docs, index, encoder, settings, progress=False, warn=lambda _m: None)
    out = {"build_s": time.perf_counter() - start - encoder.seconds}
    qa = QA.load(index, encoder=encoder)
    asked = _questions(questions)
    vectors = encoder.encode_queries(asked)
    for mode in ("bm25", "dense", "hybrid"):
        qa.batch_search(asked[:5], k=10, mode=mode, vectors=vectors[:5])  # warm up
        times = []
        for i, question in enumerate(asked):
            start = time.perf_counter()
            qa.batch_search([question], k=10, mode=mode, vectors=vectors[i : i + 1])
            times.append((time.perf_counter() - start) * 1000)
        figures = latency(mode, times)
        out[f"{mode}_p50_ms"] = figures[f"{mode}/p50_ms"]
        out[f"{mode}_p95_ms"] = figures[f"{mode}/p95_ms"]
    out["questions"] = len(asked)
    out["rss_mb"] = rss_mb()
    out["disk_mb"] = sum(p.stat().st_size for p in index.rglob("*") if p.is_file()) / 1e6
    if backend == "milvus":
        qa.retrievers["bm25"].collection.close()  # type: ignore[attr-defined]
    del qa
    spent: list[float] = []
    connecting: list[float] = []
    undo = _stopwatch(MilvusCollection, "sync_documents", spent)
    undo_connect = _stopwatch(external, "reach", connecting)
    try:
        start = time.perf_counter()
        add_documents([extra], index, encoder, progress=False, warn=lambda _m: None)
        out["add_s"] = time.perf_counter() - start
        out["add_backend_s"] = spent[0] if spent else float("nan")
        out["add_connect_s"] = connecting[0] if backend == "milvus" else float("nan")
        start = time.perf_counter()
        remove_documents([extra.stem], index, warn=lambda _m: None)
        out["remove_s"] = time.perf_counter() - start
    finally:
        undo()
        undo_connect()
    return out


def run(sizes: tuple[int, ...], work: Path, questions: int = QUESTIONS
        ) -> dict[str, dict[str, float]]:
    """The figures per ``"{backend} {size}"``."""
    from qa.retrieval.milvus_store import MilvusCollection  # noqa: F401  (fail early)

    extra_dir = work / "extra"
    write_documents(extra_dir, 20, seed=99)
    extra = sorted(extra_dir.glob("*.txt"))[0].rename(extra_dir / "added_document.txt")
    rows = {}
    for size in sizes:
        docs = work / f"docs-{size}"
        write_documents(docs, size, seed=0)
        for backend in ("local", "milvus"):
            index = work / f"{backend}-{size}"
            rows[f"{backend} {size}"] = measure(docs, extra, index, backend, questions)
            print(f"{backend} {size}: " + ", ".join(f"{k} {v:.2f}" for k, v in
                                                    rows[f"{backend} {size}"].items()),
                  flush=True)
            shutil.rmtree(index, ignore_errors=True)
        shutil.rmtree(docs, ignore_errors=True)
    return rows


def probe(index: Path, runs: int = 3) -> list[tuple[float, float]]:
    """Seconds to write (upsert) and then delete one 20-chunk document in a Milvus index.

    The chunks are copies of the index's first 20 under new ids, with random vectors; the
    collection is left as it was.
    """
    from dataclasses import replace

    from qa.api import QA

    qa = QA.load(index)
    collection = qa.retrievers["bm25"].collection  # type: ignore[attr-defined]
    chunks = [replace(qa.chunks[i], id=f"probe{i:04d}", doc="probe_doc")
              for i in range(min(20, len(qa.chunks)))]
    vectors = TimedRandomEncoder(1).encode_passages([c.text for c in chunks])
    out = []
    for _ in range(runs):
        # sync_documents does a write once per write of the index; forget it was done.
        collection._written.clear()
        start = time.perf_counter()
        collection.sync_documents(["probe_doc"], chunks, vectors)
        middle = time.perf_counter()
        collection._written.clear()
        collection.sync_documents(["probe_doc"], [], vectors[:0])
        out.append((middle - start, time.perf_counter() - middle))
    collection.close()
    return out


def table(rows: dict[str, dict[str, float]]) -> str:
    """A Markdown table of the figures."""
    head = "| backend, chunks | " + " | ".join(KEYS) + " |"
    lines = [head, "| --- |" + " ---: |" * len(KEYS)]
    for name, figures in rows.items():
        lines.append(f"| {name} | " + " | ".join(
            "–" if np.isnan(figures[k]) else f"{figures[k]:.2f}" for k in KEYS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run and print the table (and the JSON with ``--json``)."""
    parser = argparse.ArgumentParser(prog="python -m bench.milvus", description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--questions", type=int, default=QUESTIONS,
                        help="questions searched one at a time per mode (default: %(default)s)")
    parser.add_argument("--probe", type=Path, metavar="INDEX",
                        help="only time one document's write and delete in this Milvus index")
    args = parser.parse_args(argv)
    if args.probe:
        for write_s, delete_s in probe(args.probe):
            print(f"write {write_s:.3f} s, delete {delete_s:.3f} s")
        return 0
    sizes = tuple(int(s) for s in args.sizes.split(",") if s.strip())
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-bench-milvus-"))
    try:
        rows = run(sizes, work, args.questions)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
