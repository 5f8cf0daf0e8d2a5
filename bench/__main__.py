"""``python -m bench --sizes 10000,100000,1000000 [--json FILE]``: see :mod:`bench`."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.report import note, plot, table, write_json
from bench.run import Options, run
from bench.vectors import KINDS

HERE = Path(__file__).resolve().parent


def parse_sizes(text: str) -> tuple[int, ...]:
    """``10000,100000`` → ``(10000, 100000)``; sizes must be at least 100."""
    try:
        sizes = tuple(int(s.replace("_", "")) for s in text.split(",") if s.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--sizes {text!r}: give integers like 10000,100000") \
            from exc
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError(f"--sizes {text!r}: each size must be at least 100")
    return tuple(sorted(set(sizes)))


def merged(path: Path, results: dict[str, object]) -> dict[str, object]:
    """``results`` beside the figures that other tools keep in ``path``.

    Those are ``python -m bench.seeds``' (``seeds/…``) and ``python -m bench.update``'s
    (``{size}/update/…``).

    Every other figure in the file is this benchmark's own from an earlier run, and is
    replaced whole, so the scale table never mixes two runs.
    """
    kept: dict[str, object] = {}
    if path.is_file():
        with open(path, encoding="utf-8") as fh:
            old = json.load(fh)
        kept = {k: v for k, v in old.items() if k.startswith("seeds/") or "/update/" in k}
    return {**kept, **results}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print, plot and (optionally) save the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("10000,100000"),
                        help="corpus sizes in chunks (default 10000,100000)")
    parser.add_argument("--json", type=Path, help="write the flat figures to this file")
    parser.add_argument("--plot", type=Path, default=HERE / "latency.png",
                        help="latency plot (PNG; default bench/latency.png)")
    parser.add_argument("--work", type=Path,
                        help="scratch directory for the indexes (default: a temporary one, "
                             "removed afterwards); ~4 GB at a million chunks")
    parser.add_argument("--vectors", choices=KINDS, default="composed",
                        help="synthetic chunk vectors (default composed)")
    parser.add_argument("--processes", type=int, help="tokenizer processes (default: CPUs)")
    parser.add_argument("--rank-bm25-max", type=int, default=100_000,
                        help="largest size compared with rank-bm25 (default 100000)")
    parser.add_argument("--bm25s-max", type=int, default=1_000_000,
                        help="largest size compared with bm25s (default 1000000)")
    parser.add_argument("--ann", default="hnsw,ivf",
                        help="approximate index kinds compared with exact (default hnsw,ivf)")
    parser.add_argument("--encoder-texts", type=int, default=64,
                        help="chunks embedded to time the real encoder (0 skips; default 64)")
    parser.add_argument("--queries", type=int, help="use only the first N questions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report-only", type=Path, metavar="JSON",
                        help="print the table and redraw the plot from a --json file; no run")
    args = parser.parse_args(argv)
    if args.report_only:
        with open(args.report_only, encoding="utf-8") as fh:
            saved = json.load(fh)
        sizes = sorted({int(k.split("/")[0]) for k in saved if k.split("/")[0].isdigit()})
        print(table(saved, sizes))
        plot(saved, sizes, args.plot)
        return 0
    ann = tuple(k for k in args.ann.split(",") if k)
    unknown = [k for k in ann if k not in ("hnsw", "ivf")]
    if unknown:
        parser.error(f"--ann {args.ann!r}: kinds must be hnsw or ivf, not {unknown}")
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-bench-"))
    start = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f} s] {message}", file=sys.stderr, flush=True)

    log(note({"meta/vectors": args.vectors}).split(" (")[0])
    try:
        options = Options(
            sizes=args.sizes, work=work, vectors=args.vectors, processes=args.processes,
            rank_bm25_max=args.rank_bm25_max, bm25s_max=args.bm25s_max, ann=ann,
            encoder_texts=args.encoder_texts, queries=args.queries, seed=args.seed,
        )
        results = run(options, log)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    results["meta/total_s"] = time.perf_counter() - start
    results["meta/note"] = note(results)
    print(table(results, args.sizes))
    plot(results, args.sizes, args.plot)
    log(f"plot written to {args.plot}")
    if args.json:
        write_json(merged(args.json, results), args.json)
        log(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
