"""Two-part questions split into one question per part (qa.answering.parts)."""

from __future__ import annotations

import pytest

from qa.answering.parts import split_question
from qa.answering.spanrules import Tagger

WORDS = Tagger()


def words(text: str) -> list[str]:
    return [w for _a, _b, w, _t in WORDS.tag(text)]


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        # X和Y分别…: asked once for each, the rest shared
        ("到2027年，全市单项冠军和独角兽企业分别要达到多少家？",
         ["到2027年，全市单项冠军要达到多少家？", "到2027年，全市独角兽企业要达到多少家？"]),
        # two years take turns; the name stays in both
        ("卞成2022年和2025年分别任什么职务？",
         ["卞成2022年任什么职务？", "卞成2025年任什么职务？"]),
        # Y names its own scope (全市): it does not inherit X's district
        ("西海岸新区船舶海工产业产值目标与全市智能装备产业规模目标分别是多少？",
         ["西海岸新区船舶海工产业产值目标是多少？", "全市智能装备产业规模目标是多少？"]),
        # the head nouns after Y (产业产值) belong to X too
        ("到“十四五”末，示例区船舶海工和高端化工产业产值分别力争达到多少？",
         ["到“十四五”末，示例区船舶海工产业产值力争达到多少？",
          "到“十四五”末，示例区高端化工产业产值力争达到多少？"]),
        # two question words joined by 和
        ("示例区累计认定了多少家绿色工厂和多少个绿色产品？",
         ["示例区累计认定了多少家绿色工厂？", "示例区累计认定了多少个绿色产品？"]),
        # two questions in one line; the second leans on the first one's subject
        ("2024年示例市出口值是多少，增速是多少？",
         ["2024年示例市出口值是多少？", "2024年示例市出口值增速是多少？"]),
        ("全市人才总量目标是多少？示例区现有人才总量又是多少？",
         ["全市人才总量目标是多少？", "示例区现有人才总量又是多少？"]),
        ("By 2027, what output scales does the city target for the health industry and the "
         "energy industry respectively?",
         ["By 2027, what output scales does the city target for the health industry?",
          "By 2027, what output scales does the city target for the energy industry?"]),
    ],
)
def test_split(question, parts):
    assert split_question(question, words) == parts


@pytest.mark.parametrize(
    "question",
    ["哪个区布局磁存储芯片？", "新一代信息技术和人工智能产业的规模目标是多少？", "Where is it?",
     "青岛2030年的地区生产总值目标是多少？"],
)
def test_one_part_questions_stay_whole(question):
    assert split_question(question, words) == [question]
