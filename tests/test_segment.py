"""qa.tokens.segment gives exactly Python jieba's words (jieba is the reference, installed for tests)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from qa.tokens.segment import Segmenter

jieba = pytest.importorskip("jieba")

ROOT = Path(__file__).resolve().parent.parent
AWKWARD = [
    "3-5年 2020-2022 a#1 3&4 x_y 5%6 ①② 㐀㐁中文 鿰 COVID-19 t-shirt 5G+工业互联网",
    "型号W6X72-B的设备，增速3.5%，v2.0-beta 与 1.2.3；iPhone15Pro ABC-DEF-123 e-mail",
    "臺灣 積體電路 產業 發展  \r\n 空白\t测试 ",
    "中-美 一-二 …… —— · 《》（）【】",
    "",
]


@pytest.fixture(scope="module")
def pair() -> tuple[object, Segmenter]:
    """Python jieba and the Segmenter, with the same extra words (with and without freq)."""
    extra = [("磁存储芯片", None), ("链主", 2000), ("虚拟现实", None), ("海工装备", 5)]
    reference = jieba.Tokenizer()
    reference.initialize()
    for word, freq in extra:
        reference.add_word(word, freq)
    return reference, Segmenter(extra)


def _texts() -> list[str]:
    seeds = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").iterdir())]
    with open(ROOT / "eval" / "questions.jsonl", encoding="utf-8") as fh:
        questions = [json.loads(line)["question"] for line in fh if line.strip()]
    return [line for text in seeds for line in text.splitlines()] + questions + AWKWARD


def test_same_words_as_python_jieba_on_seeds_and_questions(pair) -> None:
    reference, segmenter = pair
    for text in _texts():
        assert segmenter.cut(text) == list(reference.cut(text, HMM=True)), text
        assert segmenter.cut_for_search(text) == list(
            reference.cut_for_search(text, HMM=True)
        ), text


def test_same_words_on_random_mixtures(pair) -> None:
    """Dictionary words glued to unknown Han characters, Latin runs, numbers and symbols."""
    reference, segmenter = pair
    words = [line.split()[0] for line in open(jieba.get_dict_file().name, encoding="utf-8")]
    rnd = random.Random(7)
    other = [*"abcXYZ0123456789+-#&._%，。、 \t\n①Ⅱ㐀鿰—·（）", "3.5", "2020-2022", "COVID-19",
             "W6X72-B", "10%", "磁存储芯片", "链主"]
    for _ in range(2000):
        parts = [
            rnd.choice(words) if rnd.random() < 0.6
            else rnd.choice(other) if rnd.random() < 0.5
            else chr(rnd.randint(0x4E00, 0x9FA5))
            for _ in range(rnd.randint(1, 30))
        ]
        text = "".join(parts)
        assert segmenter.cut_for_search(text) == list(
            reference.cut_for_search(text, HMM=True)
        ), text


def test_search_mode_adds_dictionary_grams() -> None:
    segmenter = Segmenter([("磁存储芯片", None)])
    assert segmenter.cut("磁存储芯片") == ["磁存储芯片"]
    assert segmenter.cut_for_search("磁存储芯片") == ["存储", "芯片", "磁存储芯片"]
    assert not Segmenter().has_word("磁存储芯片")
