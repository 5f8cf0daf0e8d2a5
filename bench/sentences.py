"""What the answerer's sentence vectors buy: ``python -m bench.sentences --index DIR``.

Runs ``eval/questions.jsonl`` (hybrid) twice on one index: as the product answers (each
window's dense feature from its sentences' vectors, embedded when a passage is first read,
see :mod:`qa.answering.sentences`), and with the passage's own vector standing in for each of
its sentences (what an index without sentence vectors could do, at no embedding cost).
Prints accuracy, span F1 and abstention figures per split and how many sentences were
embedded in how long. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa import QA
from qa.evaluation.cases import SPLITS, load_questions
from qa.evaluation.running import evaluate
from qa.text.chunk import chunk_sentences

ROOT = Path(__file__).resolve().parent.parent
METRICS = ("recall@5", "accuracy", "f1", "em", "abstention_recall", "wrong_abstention")


class PassageVectors:
    """Sentence spans as the answerer cuts them, each with its passage's vector."""

    def __init__(self, qa: QA) -> None:
        self._qa = qa
        self._vectors = np.load(qa.data / "vectors.npy", mmap_mode="r", allow_pickle=False)
        self._row = {qa.chunks[r].text: r for r in range(len(qa.chunks))}

    def sentences_of(
        self, texts: Sequence[str]
    ) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
        """For each passage text: its sentence spans and its passage vector once per span."""
        out = []
        for text in texts:
            spans = chunk_sentences(text, self._qa.settings.answer.max_chars)
            vector = np.asarray(self._vectors[self._row[text]], dtype=np.float32)
            out.append((spans, np.tile(vector, (len(spans), 1))))
        return out


def main(argv: list[str] | None = None) -> int:
    """Evaluate both variants and print one table."""
    parser = argparse.ArgumentParser(prog="python -m bench.sentences", description=__doc__)
    parser.add_argument("--index", type=Path, required=True, help="a built index (qa build)")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "questions.jsonl")
    args = parser.parse_args(argv)
    cases = load_questions(args.questions)
    columns: dict[str, dict[str, float | None]] = {}
    for variant in ("sentence vectors", "passage vector"):
        qa = QA.load(args.index)
        store = qa._answerer._sentences  # noqa: SLF001 - the one seam this benchmark swaps
        if variant == "passage vector":
            qa._answerer._sentences = PassageVectors(qa)  # noqa: SLF001
        start = time.perf_counter()
        result = evaluate(qa, cases, modes=("hybrid",))
        seconds = time.perf_counter() - start
        figures: dict[str, float | None] = {}
        for split in ("all", *SPLITS):
            prefix = "hybrid/" if split == "all" else f"hybrid/split:{split}/"
            for name in METRICS:
                figures[f"{split} {name}"] = result.metrics.get(prefix + name)
        figures["eval seconds"] = seconds
        if variant == "sentence vectors":
            figures["sentences embedded"] = float(getattr(store, "embedded", 0))
        columns[variant] = figures
    names = list(columns["sentence vectors"])
    width = max(len(n) for n in names)
    print(f"{len(cases)} questions, hybrid, index {args.index}")
    print(f"{'':<{width}}  {'sentence vectors':>16}  {'passage vector':>14}")
    for name in names:
        cells = []
        for variant, w in (("sentence vectors", 16), ("passage vector", 14)):
            value = columns[variant].get(name)
            cells.append(f"{'-' if value is None else f'{value:.3f}':>{w}}")
        print(f"{name:<{width}}  " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
