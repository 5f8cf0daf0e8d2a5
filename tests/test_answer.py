"""Answer selection pieces: question types, cues, sentence windows, the English glossary."""

from __future__ import annotations

import numpy as np
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
        # the place's type names the kind: towns, streets, countries, not 国家级 or 市场
        ("养殖园区建在哪个镇？", "place"),
        ("In which town was the park built?", "place"),
        ("Which two countries are named?", "place"),
        ("Which districts of Qingdao host the segment?", "place"),
        ("哪些国家级平台落户青岛？", "list"),
        # a place that only says whose centre or office it is: the organisation is asked
        ("From which Laoshan District center did reporters learn this?", "org"),
        ("Which authority released the data?", "org"),
        ("Which Haier factory was named a lighthouse?", "org"),
        # how long; where … rank asks for a rank
        ("从开工到出鱼用了多久？", "number"),
        ("Where did Qingdao rank among the cities?", "number"),
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
    # an approximate figure holds 余 or 多 before its unit
    assert cue_score("number", "已完成 3000 余个充电桩建设", "建成了多少个充电桩？") == 1.0
    assert cue_score("number", "吸引了30多名大学生", "吸引了多少名大学生？") == 1.0
    # the cue knows every unit the span finder cuts a figure at (one list): 类, 期, 米, 千瓦
    assert cue_score("number", "重点项目分为3类", "重点项目分为几类？") == 1.0
    assert cue_score("number", "码头建设分2期推进", "码头建设分几期？") == 1.0
    assert cue_score("number", "装机容量达到500千瓦", "装机容量是多少？") == 1.0
    assert cue_score("number", "重点项目分为三类", "重点项目分为几类？") == 0.0  # not a figure
    # a year is a date, not a figure (the span finder would find none there)
    assert cue_score("number", "1月16日，样本县举办2025年研修营活动", "吸引了多少名学生？") == 0.0
    assert cue_score("number", "2025年吸引了40余名学生", "吸引了多少名学生？") == 1.0
    # a post before a name: the editors' line names people
    assert cue_score("person", "主编 赵波 美编 李晓萌", "美编是谁？") == 1.0
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


# --- sentence vectors, embedded when a passage is first read ----------------------------------
class _CountingEncoder:
    """Deterministic unit vectors per text; records every batch it is given."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, texts):
        self.batches.append(list(texts))
        out = np.zeros((len(texts), 8), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, sum(map(ord, t)) % 8] = 1.0
        return out


# Real text of seeds/000 (two chunks sharing their overlap sentence, as the chunker makes them).
_P1 = "青岛在产业布局上，按照全市“一盘棋”统筹原则。例如，新一代信息技术产业，磁存储芯片布局在西海岸新区。"
_P2 = "例如，新一代信息技术产业，磁存储芯片布局在西海岸新区。人工智能产业，海洋领域大模型布局在即墨区。"


def test_sentence_vectors_cut_as_the_answerer_cuts_and_embed_each_sentence_once():
    from qa.answering.sentences import SentenceVectors

    enc = _CountingEncoder()
    store = SentenceVectors(enc, max_chars=150)
    (spans1, v1), (spans2, v2) = store.sentences_of([_P1, _P2])
    assert spans1 == chunk_sentences(_P1, 150) and spans2 == chunk_sentences(_P2, 150)
    assert v1.shape == (len(spans1), 8) and v2.shape == (len(spans2), 8)
    # One call for both passages; the shared sentence is embedded once.
    assert len(enc.batches) == 1
    assert len(enc.batches[0]) == len(set(enc.batches[0])) == 3
    shared = _P2[spans2[0][0] : spans2[0][1]].strip()
    assert shared in enc.batches[0]
    assert (v1[1] == v2[0]).all()
    # Asked again: nothing new is embedded.
    store.sentences_of([_P2])
    assert len(enc.batches) == 1 and store.embedded == 3


def test_sentence_vectors_cache_is_bounded():
    from qa.answering.sentences import SentenceVectors

    enc = _CountingEncoder()
    store = SentenceVectors(enc, max_chars=150, capacity=2)
    store.sentences_of([_P1])  # 2 sentences: the cache is full
    store.sentences_of([_P2])  # the shared one is a hit; the new one evicts the oldest
    assert len(store) == 2 and store.embedded == 3
    store.sentences_of([_P1])  # its first sentence was evicted: embedded again
    assert store.embedded == 4 and enc.batches[-1] == [_P1[: _P1.index("。") + 1]]


def test_a_passage_without_text_has_no_sentences():
    from qa.answering.sentences import SentenceVectors

    enc = _CountingEncoder()
    ((spans, vectors),) = SentenceVectors(enc, max_chars=150).sentences_of(["  \n"])
    assert spans == [] and len(vectors) == 0 and enc.batches == []
