"""Milvus against local retrieval on ``eval/``, and Milvus's own fusion against ours.

``python -m bench.milvus_parity --local DIR --milvus DIR [--questions eval/questions.jsonl]``

Both indexes must hold the same corpus (build the Milvus one from a copy of the local one:
the vectors are reused). Every question is embedded once, by the local index's encoder, and
the same vectors go to both, so the figures compare retrieval alone. Printed per mode:
recall@1/5/10 over the answerable questions, on all of them and on the ``tune`` and
``check`` splits; then, for the Milvus index, ``hybrid`` three ways over the same two
Milvus lists (50 each): our fusion (:class:`qa.retrieval.hybrid.Fuser`, what the index
uses), Milvus ``hybrid_search`` with ``RRFRanker(60)`` and with ``WeightedRanker(0.6, 0.4)``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from qa import QA
from qa.evaluation.cases import Case, load_questions
from qa.evaluation.metrics import first_hit_rank
from qa.retrieval.base import ScoredId

CUTOFFS = (1, 5, 10)


def recalls(ranks: Sequence[int | None], cases: Sequence[Case]) -> dict[str, float]:
    """``recall@k`` for all cases and per split (``tune/recall@5``, …)."""
    out = {}
    for split in ("all", "tune", "check"):
        mine = [r for r, c in zip(ranks, cases, strict=True) if split in ("all", c.split)]
        for k in CUTOFFS:
            key = f"recall@{k}" if split == "all" else f"{split}/recall@{k}"
            out[key] = sum(r is not None and r <= k for r in mine) / len(mine)
    return out


def _ranks(qa: QA, ranked: Sequence[Sequence[ScoredId]], cases: Sequence[Case]
           ) -> list[int | None]:
    texts = [[qa.chunks[qa.chunks.row_of(s.id)].text for s in row] for row in ranked]
    return [first_hit_rank(t, c.evidence) for t, c in zip(texts, cases, strict=True)]


def run(local: Path, milvus: Path, questions: Path) -> dict[str, dict[str, float]]:
    """The figures, by row name (``local bm25``, ``milvus hybrid (RRF)``, …)."""
    from pymilvus import RRFRanker, WeightedRanker

    cases = [c for c in load_questions(questions) if c.answerable]
    texts = [c.question for c in cases]
    mine, theirs = QA.load(local), QA.load(milvus)
    vectors = mine.embed(texts)
    rows: dict[str, dict[str, float]] = {}
    for name, qa in (("local", mine), ("milvus", theirs)):
        for mode in ("bm25", "dense", "hybrid"):
            found = qa.batch_search(texts, k=10, mode=mode, vectors=vectors)
            ranks = [first_hit_rank([h.text for h in hits], c.evidence)
                     for hits, c in zip(found, cases, strict=True)]
            rows[f"{name} {mode}"] = recalls(ranks, cases)
    lexical = theirs.retrievers["bm25"]
    collection = lexical.collection  # type: ignore[attr-defined]
    expand = lexical._expand  # type: ignore[attr-defined]
    expanded = [expand(t) for t in texts]
    for label, ranker in (("RRF k=60", RRFRanker(60)),
                          ("weighted 0.6/0.4", WeightedRanker(0.6, 0.4))):
        found = collection.hybrid(expanded, vectors, 10, None, ranker, depth=50)
        ranked = [[ScoredId(i, s) for i, s in row] for row in found]
        rows[f"milvus hybrid_search ({label})"] = recalls(_ranks(theirs, ranked, cases), cases)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the table (and write it as JSON with ``--json``)."""
    parser = argparse.ArgumentParser(prog="python -m bench.milvus_parity", description=__doc__)
    parser.add_argument("--local", type=Path, required=True)
    parser.add_argument("--milvus", type=Path, required=True)
    parser.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = run(args.local, args.milvus, args.questions)
    keys = ["recall@1", "recall@5", "recall@10", "tune/recall@5", "check/recall@5"]
    print(f"{'':36}" + "".join(f"{k:>16}" for k in keys))
    for name, figures in rows.items():
        print(f"{name:36}" + "".join(f"{figures[k]:16.3f}" for k in keys))
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
