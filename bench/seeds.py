"""``python -m bench.seeds``: the product's own speed on the shipped corpus.

Prints the index build time for ``seeds/``, the cold start of ``qa ask`` on a built index
(process start to printed answer, several runs) and warm ``search``/``ask`` latency p50/p95
over the questions of ``eval/questions.jsonl``, query embedding included. Targets on 2 cores:
warm hybrid ``ask`` p50 ≤ 50 ms, cold ``qa ask`` ≤ 3 s. Figures, not assertions: this is no test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import timed_ms
from qa.evaluation.metrics import percentile

ROOT = Path(__file__).resolve().parent.parent


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p95 of ``values`` (:func:`qa.evaluation.metrics.percentile`)."""
    return float(percentile(values, 50) or 0.0), float(percentile(values, 95) or 0.0)


def main(argv: list[str] | None = None) -> int:
    """Build, time a cold ``qa ask`` and warm queries; print one table."""
    parser = argparse.ArgumentParser(prog="python -m bench.seeds", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=ROOT / "seeds")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "questions.jsonl")
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args(argv)

    from qa import QA

    questions = [json.loads(line)["question"]
                 for line in args.questions.read_text(encoding="utf-8").splitlines() if line]
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        start = time.perf_counter()
        qa = QA.build(args.corpus, index, progress=False)
        rows.append(("build seeds/ (s)", f"{time.perf_counter() - start:.1f}"))
        rows.append(("chunks", str(len(qa.chunks))))

        cold = []
        for _ in range(args.cold_runs):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "qa", "ask", "哪个区布局磁存储芯片？", "--index", str(index),
                 "--corpus", str(Path(tmp) / "none")],
                check=True, capture_output=True,
            )
            cold.append(time.perf_counter() - start)
        p50, p95 = percentiles(cold)
        rows.append((f"cold `qa ask` (s, {args.cold_runs} runs) p50 / p95",
                     f"{p50:.2f} / {p95:.2f}"))

        qa.ask(questions[0])  # load the encoder once: warm means warm
        for mode in ("hybrid", "bm25", "dense"):
            for name, call in (("search", qa.search), ("ask", qa.ask)):
                times = [timed_ms(call, q, k=5, mode=mode) for q in questions]
                p50, p95 = percentiles(times)
                rows.append((f"warm {mode} {name} (ms) p50 / p95", f"{p50:.1f} / {p95:.1f}"))
    width = max(len(name) for name, _ in rows)
    print(f"{len(questions)} questions; query embedding included in warm figures")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
