"""Adding and removing one document at scale: ``python -m bench.update``.

For each size, synthetic documents (:func:`bench.build.write_documents`, about twenty chunks
each) are built into a local index with the product's :func:`qa.api.build_index`; random
vectors seeded by each text stand in for a model (:class:`bench.build.TextSeededEncoder`,
its time subtracted). Then one 20-chunk document is added with :func:`qa.api.add_documents`
and removed with :func:`qa.api.remove_documents`, ``--repeat`` times, in a fresh process (as
``qa add`` runs, after ``sync``): the medians are the figures, with how many chunks each
update tokenized (the added document's, plus kept chunks holding a corpus term the update
adds or drops) and how many segments the index has after it (:mod:`qa.index.segments`).
``--check`` then adds the document once more, builds the same files afresh, compares the
search results of both (BM25, dense, hybrid: ids and scores of the top 10 for 200 questions
of ``eval/questions.jsonl``), times BM25 on each, merges the updated index with
:func:`qa.api.optimize_index` (timed) and compares every index file with the fresh build's.

    python -m bench.update --sizes 100000 [--repeat 3] [--check] [--work DIR]
                           [--json bench/results.json]

``--json`` merges ``{size}/update/add_one_s``, ``{size}/update/remove_one_s`` and the rest
into that file, replacing the ``{size}/update/`` keys of an earlier run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.build import TextSeededEncoder, write_documents
from bench.report import write_json


def _tokenized_counter() -> tuple[list[int], Callable[[], None]]:
    """Count the chunks each write tokenizes (the product's own function, wrapped)."""
    from qa.index import lexical

    seen: list[int] = []
    real = lexical.tokenize_counts

    def counting(tokenizer: Any, texts: Any, n: int, progress: bool) -> Any:
        seen.append(n)
        return real(tokenizer, texts, n, progress)

    lexical.tokenize_counts = counting  # every write tokenizes through lexical.recount
    return seen, lambda: setattr(lexical, "tokenize_counts", real)


def _questions(n: int = 200) -> list[str]:
    path = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [r["question"] for r in rows[:n]]


def _results(index: Path, encoder: Any, questions: list[str]) -> tuple[list[Any], float]:
    """Every mode's top 10 for ``questions``, and the BM25 median latency (ms)."""
    from qa.api import QA

    qa = QA.load(index, encoder)
    out, times = [], []
    for q in questions:
        for mode in ("bm25", "dense", "hybrid"):
            start = time.perf_counter()
            hits = qa.search(q, k=10, mode=mode)
            if mode == "bm25":
                times.append(time.perf_counter() - start)
            out.append([(h.chunk_id, h.score) for h in hits])
    return out, 1000 * statistics.median(times)


def files_of(index: Path) -> dict[str, bytes]:
    """Every file of the committed version but the manifest (which holds build times)."""
    from qa.index.commit import data_dir

    version = data_dir(index)[0]
    return {p.relative_to(version).as_posix(): p.read_bytes() for p in sorted(version.rglob("*"))
            if p.is_file() and p.name != "manifest.json"}


def time_updates(index_dir: str, extra_file: str, repeat: int) -> dict[str, float]:
    """Add and remove one document ``repeat`` times; the medians (run in a child process)."""
    from qa.api import add_documents, remove_documents

    index, extra = Path(index_dir), Path(extra_file)
    encoder = TextSeededEncoder(0)
    seen, undo = _tokenized_counter()
    adds, removes, tokenized_add, tokenized_remove, segments = [], [], [], [], []
    try:
        for _ in range(repeat):
            spent = encoder.seconds
            before = len(seen)
            start = time.perf_counter()
            report = add_documents([extra], index, encoder, progress=False,
                                   warn=lambda _m: None)
            adds.append(time.perf_counter() - start - (encoder.seconds - spent))
            tokenized_add.append(sum(seen[before:]))
            segments.append(report.segments)
            before = len(seen)
            start = time.perf_counter()
            remove_documents([extra.stem], index, warn=lambda _m: None)
            removes.append(time.perf_counter() - start)
            tokenized_remove.append(sum(seen[before:]))
    finally:
        undo()
    return {
        "add_one_s": statistics.median(adds), "remove_one_s": statistics.median(removes),
        "add_one_tokenized": float(statistics.median(tokenized_add)),
        "remove_one_tokenized": float(statistics.median(tokenized_remove)),
        "segments_after_add": float(statistics.median(segments)),
        "repeat": float(repeat),
    }


def measure(size: int, work: Path, repeat: int, check: bool) -> dict[str, float]:
    """Build ``size`` chunks, add and remove one document ``repeat`` times; the figures."""
    from qa.api import build_index

    docs, index = work / f"docs-{size}", work / f"index-{size}"
    extra_dir = work / "extra"
    if not extra_dir.is_dir():
        write_documents(extra_dir, 20, seed=99)
        sorted(extra_dir.glob("*.txt"))[0].rename(extra_dir / "added_document.txt")
    extra = extra_dir / "added_document.txt"
    shutil.rmtree(docs, ignore_errors=True)
    shutil.rmtree(index, ignore_errors=True)
    write_documents(docs, size, seed=0)
    encoder = TextSeededEncoder(0)
    start = time.perf_counter()
    report = build_index(docs, index, encoder, progress=False, warn=lambda _m: None)
    out = {"build_s": time.perf_counter() - start - encoder.seconds,
           "chunks": float(report.chunks)}
    # Timed in a fresh process, as `qa add` and `qa remove` run: not in one that has just
    # built the index and holds its garbage and caches; and once the build's writes are on
    # disk (an index is updated long after it was built, not while it is being written back).
    os.sync()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        out.update(pool.apply(time_updates, (str(index), str(extra), repeat)))
    if check:
        out.update(_check(size, work, docs, index, extra, encoder))
    shutil.rmtree(index, ignore_errors=True)
    shutil.rmtree(docs, ignore_errors=True)
    return out


def _check(size: int, work: Path, docs: Path, index: Path, extra: Path, encoder: Any
           ) -> dict[str, float]:
    """The updated index against a fresh build: results, BM25 latency, then files merged."""
    from qa.api import add_documents, build_index, optimize_index

    # Added from the corpus directory, so its record names the file a fresh build reads.
    shutil.copy(extra, docs / extra.name)
    add_documents([docs / extra.name], index, encoder, progress=False, warn=lambda _m: None)
    fresh = work / f"fresh-{size}"
    shutil.rmtree(fresh, ignore_errors=True)
    build_index(docs, fresh, encoder, progress=False, warn=lambda _m: None)
    questions = _questions()
    updated, segmented_ms = _results(index, encoder, questions)
    built, fresh_ms = _results(fresh, encoder, questions)
    out = {"same_results_as_fresh_build": float(updated == built),
           "segmented_bm25_p50_ms": segmented_ms, "fresh_bm25_p50_ms": fresh_ms}
    start = time.perf_counter()
    optimize_index(index, warn=lambda _m: None, progress=False)
    out["optimize_s"] = time.perf_counter() - start
    mine, theirs = files_of(index), files_of(fresh)
    differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    out["same_files_after_optimize"] = float(not differ)
    if differ:
        print(f"{size}: files that differ from a fresh build after optimize: "
              f"{', '.join(differ)}")
    shutil.rmtree(fresh, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run each size, print the figures (and merge them with ``--json``)."""
    parser = argparse.ArgumentParser(prog="python -m bench.update",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated chunk counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true",
                        help="compare the updated index with a fresh build: results, then "
                             "files after a merge")
    parser.add_argument("--work", type=Path, help="scratch directory (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="merge the figures into this file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    temporary = args.work is None
    work = Path(tempfile.mkdtemp(prefix="qa-bench-update-")) if temporary else args.work
    work.mkdir(parents=True, exist_ok=True)
    figures: dict[str, float] = {}
    try:
        for size in sizes:
            row = measure(size, work, args.repeat, args.check)
            print(f"{size}: " + ", ".join(f"{k} {v:.3g}" for k, v in row.items()), flush=True)
            figures.update({f"{size}/update/{k}": v for k, v in row.items()})
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    if args.json is not None:
        merged = json.loads(args.json.read_text(encoding="utf-8")) if args.json.is_file() else {}
        # A size measured again replaces its figures whole (no key of an older run stays).
        prefixes = tuple(f"{size}/update/" for size in sizes)
        merged = {k: v for k, v in merged.items() if not k.startswith(prefixes)}
        merged.update(figures)
        write_json(merged, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
