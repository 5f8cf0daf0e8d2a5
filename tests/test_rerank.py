"""The hybrid search reorders its top passages by their best answer sentence (on the seeds)."""

from __future__ import annotations

from qa.config import AnswerConfig

QUESTION = "In Qingdao's new industry layout, which district is assigned the magnetic storage " \
    "chip segment?"
EVIDENCE = "磁存储芯片布局在西海岸新区"


def _first_with(hits, text: str) -> int | None:
    return next((h.rank for h in hits if text in "".join(h.text.split())), None)


def test_the_passage_whose_sentence_answers_comes_first(seed_index, seed_qa):
    from qa import QA

    fused = QA.load(seed_index, answer=AnswerConfig(rerank_weight=0))
    # A passage that lists every segment shares more words with the question in bulk.
    assert _first_with(fused.search(QUESTION, k=5), EVIDENCE) == 2
    hits = seed_qa.search(QUESTION, k=5)
    assert _first_with(hits, EVIDENCE) == 1
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    # The same passages, another order: only the fused top ten are reordered.
    assert {h.chunk_id for h in hits} <= {h.chunk_id for h in fused.search(QUESTION, k=10)}


def test_only_hybrid_is_reordered(seed_index, seed_qa):
    from qa import QA

    fused = QA.load(seed_index, answer=AnswerConfig(rerank_weight=0))
    for mode in ("bm25", "dense"):
        assert [h.chunk_id for h in seed_qa.search(QUESTION, k=5, mode=mode)] == \
            [h.chunk_id for h in fused.search(QUESTION, k=5, mode=mode)]


def test_batch_search_reorders_as_search_does(seed_qa):
    one = seed_qa.search(QUESTION, k=5)
    batch = seed_qa.batch_search([QUESTION, "哪个区布局磁存储芯片？"], k=5)
    assert [h.chunk_id for h in batch[0]] == [h.chunk_id for h in one]
    assert _first_with(batch[1], EVIDENCE) == 1
