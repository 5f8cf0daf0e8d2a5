"""Answer selection pieces: question types, cues, sentence windows, the English glossary."""

from __future__ import annotations

import pytest

from qa.answering.answer import cue_score, question_kind, trim
from qa.text.chunk import chunk_sentences
from qa.tokens.translate import Glossary


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("到2027年智能家电产业规模目标是多少？", "number"),
        ("How many smart factories will be built by 2027?", "number"),
        ("哪个区布局磁存储芯片？", "place"),
        ("Which district hosts magnetic storage chips?", "place"),
        ("发布会是什么时候召开的？", "date"),
        ("青岛优先发展的2个先导产业是哪两个？", "list"),
        ("在发布会上表示主攻方向是“10+1”产业的市领导是谁？", "person"),
        ("青岛为什么要升级产业体系？", "other"),
    ],
)
def test_question_kind(question, kind):
    assert question_kind(question) == kind


def test_cue_needs_something_the_question_does_not_already_say():
    # The number in the sentence is the one in the question: no new information.
    assert cue_score("number", "到2027年，建成25家智能工厂", "2027年建成多少家智能工厂？") == 1.0
    assert cue_score("number", "计划总投资10亿元以上", "计划总投资10亿元以上的有多少？") == 0.0
    assert cue_score("place", "磁存储芯片布局在西海岸新区", "哪个区布局磁存储芯片？") == 1.0
    assert cue_score("list", "包括石化、钢铁、建材等", "") == 1.0
    assert cue_score("list", "包括石化等", "") == 0.0
    assert cue_score("other", "任何文字", "") == 0.0


def test_chunk_sentences_cut_long_sentences_at_clauses():
    text = "第一句很短。" + "，".join(["这是一个比较长的分句"] * 30) + "。最后一句。"
    spans = chunk_sentences(text, 60)
    assert all(b - a <= 60 for a, b in spans)
    assert "".join(text[a:b] for a, b in spans) == text
    assert text[spans[0][0] : spans[0][1]] == "第一句很短。"


def test_trim_drops_bullets_and_space():
    text = "  ●智能家电产业：重点发展…  "
    a, b = trim(text, 0, len(text))
    assert text[a:b] == "智能家电产业：重点发展…"


def test_glossary_expands_english_only():
    glossary = Glossary.bundled()
    expanded = glossary.expand("Which district hosts magnetic storage chips?")
    assert "磁存储芯片" in expanded and "区" in expanded
    # Longest phrase wins: "west coast new area" is not read as "west coast" + "new area".
    assert glossary.terms("the West Coast New Area")[:1] == ["西海岸新区"]
    assert glossary.expand("哪个区布局磁存储芯片？") == "哪个区布局磁存储芯片？"
    # Whole words only: "ai" inside "Taiwan" or "chain" is not artificial intelligence.
    assert "人工智能" not in glossary.terms("supply chain in Taiwan")
    assert "人工智能" in glossary.terms("AI industry")
