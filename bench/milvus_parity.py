"""Milvus against local retrieval on ``eval/``, and Milvus's own fusion against ours.

``python -m bench.milvus_parity --local DIR --milvus DIR [--questions eval/questions.jsonl]``

Both indexes must hold the same corpus. The local and Milvus rows are what ``qa eval
--index LOCAL --compare-index MILVUS`` compares (:func:`qa.evaluation.running.evaluate_retrieval`,
every answerable question searched in each mode); printed per mode: recall@1/5/10 on all
answerable questions and recall@5 on the ``tune`` and ``check`` splits. Then, for the Milvus
index, ``hybrid`` two more ways over the same two Milvus lists (50 each, the questions
embedded once by the local index's encoder): Milvus ``hybrid_search`` with ``RRFRanker(60)``
and with ``WeightedRanker(0.6, 0.4)`` — against our fusion
(:class:`qa.retrieval.hybrid.Fuser`), which is what the index uses.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from qa import QA
from qa.evaluation.cases import load_questions
from qa.evaluation.metrics import first_hit_rank
from qa.evaluation.running import evaluate_retrieval, split_rank_metrics

MODES = ("bm25", "dense", "hybrid")
K = 10
KEYS = ("recall@1", "recall@5", "recall@10", "split:tune/recall@5", "split:check/recall@5")


def run(local: Path, milvus: Path, questions: Path) -> dict[str, dict[str, float | None]]:
    """The figures, by row name (``local bm25``, ``milvus hybrid_search (RRF k=60)``, …)."""
    from pymilvus import RRFRanker, WeightedRanker

    cases = [c for c in load_questions(questions) if c.answerable]
    mine, theirs = QA.load(local), QA.load(milvus)
    metrics: dict[str, float | None] = {}
    for name, qa in (("local", mine), ("milvus", theirs)):
        found = evaluate_retrieval(qa, cases, k=K, modes=MODES)
        metrics.update({f"{name} {key}": v for key, v in found.items()})
    texts = [c.question for c in cases]
    vectors = mine.embed(texts)
    lexical = theirs.retrievers["bm25"]
    collection = lexical.collection  # type: ignore[attr-defined]
    expanded = [lexical._expand(t) for t in texts]  # type: ignore[attr-defined]
    for label, ranker in (("RRF k=60", RRFRanker(60)),
                          ("weighted 0.6/0.4", WeightedRanker(0.6, 0.4))):
        found = collection.hybrid(expanded, vectors, K, None, ranker, depth=50)
        ranks = [first_hit_rank([theirs.chunks[theirs.chunks.row_of(i)].text for i, _ in row],
                                c.evidence) for row, c in zip(found, cases, strict=True)]
        metrics.update(split_rank_metrics(f"milvus hybrid_search ({label})", ranks, cases, K))
    rows = [f"{name} {mode}" for name in ("local", "milvus") for mode in MODES]
    rows += ["milvus hybrid_search (RRF k=60)", "milvus hybrid_search (weighted 0.6/0.4)"]
    return {row: {key: metrics.get(f"{row}/{key}") for key in KEYS} for row in rows}


def main(argv: list[str] | None = None) -> int:
    """Print the table (and write it as JSON with ``--json``)."""
    parser = argparse.ArgumentParser(prog="python -m bench.milvus_parity", description=__doc__)
    parser.add_argument("--local", type=Path, required=True)
    parser.add_argument("--milvus", type=Path, required=True)
    parser.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = run(args.local, args.milvus, args.questions)
    heads = [k.removeprefix("split:") for k in KEYS]
    print(f"{'':40}" + "".join(f"{k:>16}" for k in heads))
    for name, figures in rows.items():
        print(f"{name:40}" + "".join("–".rjust(16) if figures[k] is None
                                     else f"{figures[k]:16.3f}" for k in KEYS))
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
