"""Patterns, word tags and offsets the short-answer finder (:mod:`qa.answering.span`) uses.

Units of figures, date and place patterns, the words that open or close an enumeration, the
question words, jieba-rs part-of-speech tagging with the index's dictionary, clause cutting, and
the mapping of passage offsets to source-file offsets.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

from qa.answering.kinds import JOB_TITLES, UNIT, UNITS, fold
from qa.answering.placenames import country_names

_ARABIC = r"\d+(?:[.,]\d+)*"
_CN_NUM = r"[零一二两三四五六七八九十百千万]+"
_MAGNITUDE = r"(?:万亿|千亿|百亿|亿|万|千)"
# A figure as written: an ordinal's 第 (第2位), a magnitude with its measure word (1万名,
# 20万辆), a grade after a unit (4000吨级, 四星级).
_NUMBER = re.compile(
    rf"第?(?:{_ARABIC}|{_CN_NUM})(?:\s*(?:[-~—–至到])\s*(?:{_ARABIC}|{_CN_NUM}))?\s*(?:余|多)?"
    rf"\s*(?:{_MAGNITUDE}(?:余|多)?(?:{UNIT})|{UNIT})(?:(?<!级)级)?"
    rf"|{_ARABIC}(?![\d.])"
    r"|[百千万]亿级"
)

# A four-digit year is a date, not a figure ("2025年" answers 哪年, not 多少).
_YEAR_ONLY = re.compile(r"^(?:19|20)\d{2}\s*年?$")
_DATE = re.compile(
    r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?"
    r"|(?:19|20)\d{2}\s*[-—–至到]\s*(?:19|20)\d{2}\s*年?"
    r"|(?:19|20)\d{2}\s*年(?:底|末|初|前|上半年|下半年|年底|年末)?"
    r"|\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|(?:19|20)\d{2}[.\-/]\d{1,2}(?:[.\-/]\d{1,2})?"
    r"|[“\"]?十[一二三四五六七八九]?五[”\"]?(?:期间|末|初)"
)
_PLACE_SUFFIX = re.compile(
    r"(新区|片区|功能区|区|市|县|镇|街道|园区|产业园|工业园|科技园|生态园|基地|开发区|自贸区|"
    r"示范区|试验区|保税区|港|湾|岛|省)$"
)
# Words of scope, not places: 全市 is whichever city the passage is about, never an answer
# to 哪个区 nor a place a question is about.
SCOPES = frozenset("全市 全区 全省 全国 本市 本区 全县 市区 城区 区市 各区 各市".split())
# Marks that end a clause: the subject of a figure is looked for inside its own clause.
_CLAUSE_END = re.compile(r"[，,；;。！？!?：:\n\t]")
_LIST_SEP = "、"
_ITEM_MARK = re.compile("、")
# Wordings that ask for several things: the whole enumeration answers them.
_LIST_ASK = re.compile(r"哪些|哪几|分别|包括|有哪|都有|which \w+s\b|what are", re.I)
_RESPECTIVELY = re.compile(r"分别(?:为|是|达到|达|增长|提高到|提升至|占|突破|超过)?")
_ITEM_SPLIT = re.compile(r"[、和及与]")
# Words that open an enumeration: the items start after the last of them.
_LIST_OPENERS = frozenset(
    "包括 包含 涵盖 囊括 主要是 分别是 分别为 即 有 为 是 如 发展 布局 聚焦 培育 打造 "
    "建设 推进 实施 "
    "围绕 突破 引进 壮大 提升 形成 重点 覆盖 涉及 集聚 拥有 落地 瞄准 做强 做优 做大 建成 "
    "开展 推动 加快".split()
)
_LIST_STOPS = frozenset("等 等等 以及其他 之类".split())
# Tags that end an item run (verbs, prepositions, particles, conjunctions other than 和/及/与).
_STOP_TAGS = ("v", "p", "u", "d", "r", "y", "e", "o")
_JOINERS = frozenset("和 及 与 以及 、".split())
_QUOTED = re.compile(r"[“《「\"]([^”》」\"\n]{2,30})[”》」\"]")
_ORG_SUFFIX = re.compile(
    r"(大学|学院|公司|集团|研究院|研究所|实验室|银行|医院|协会|商会|中心|海关|[局厅署]"
    # a company's short name ends in its trade (大东科技, 海佳机械, 双星轮胎 is not one)
    r"|科技|股份|机械|重工|药业|制药|电器"
    r"|委员会|办公室|新闻办|联盟|专班|工作组|小组|计划|行动|工程)$")
_NAME_TITLES = re.compile(rf"(?:{JOB_TITLES})$")


# The question word whose neighbours say what is asked.
_WH = re.compile(
    r"多少|几[个家项年条类大种所座批次届倍]?|哪[个些里儿一几年]?|什么|谁|何[时处地]|是否"
)
_NOUN_TAGS = ("n", "vn", "j", "eng", "l", "i")
# Words beside a question word that do not say what is asked.
_GENERIC = frozenset(
    "目标 达到 要 是 有 多少 规模 计划 预计 力争 实现 什么 哪个 哪些 主要 重点 情况 方面 数量 总数 "
    "一共 共有 分别 以上 左右 年 到 至 为 在 将 能 可 新增 累计 全市 青岛 青岛市 产业 "
    "比例 比重 占比 增速 增幅 排名 位次 名次 水平 总量 数目".split()
)
_HEAD_TAGS = frozenset(("n", "nz", "nt", "ns", "nr", "j", "eng"))
_LINKS = frozenset("是 为 有 达到 达 要 将 能 的".split())
# Units that answer a question by its wording: 占比 → a share, 总值 → an amount of money.
_UNIT_HINTS = (
    (re.compile(r"多久|多长时间|how long", re.I), ("个月", "年", "天", "小时", "周")),
    (re.compile(r"\brank|排名|排第|第几|位次|名次", re.I), ("位", "名")),
    (re.compile(r"比重|比例|占比|百分|增速|增长|提高|下降|率|percent|\bshare\b|\brate\b|\bgr[eo]w",
                re.I), ("%", "％", "个百分点", "百分点")),
    (re.compile(r"总值|总额|产值|规模|收入|营收|投资|金额|增加值|资金|基金|销售额|利润|gdp|生产总值"),
     ("亿元", "万元", "亿美元", "万美元", "亿", "万亿", "元")),
    (re.compile(r"多少钱|花多少|投多少|投入|资金"), ("亿元", "万元", "亿", "元")),
    (re.compile(r"企业|公司|家"), ("家",)),
    (re.compile(r"面积"), ("平方米", "平方公里", "亩", "公顷", "万平方米", "万亩")),
)


_ORG_TYPES = (
    (re.compile(r"大学|高校|university", re.I), ("大学",)),
    (re.compile(r"学院|college|school", re.I), ("学院",)),
    (re.compile(r"专班|工作组|working group|task force", re.I), ("专班", "工作组", "小组")),
    (re.compile(r"programme|program|campaign|initiative", re.I), ("计划", "行动", "工程")),
    (re.compile(r"公司|企业|集团|company|firm|enterprise|group|subsidiar|maker|producer|supplier",
                re.I), ("公司", "集团", "科技", "股份", "机械", "重工", "药业", "制药", "电器")),
    (re.compile(r"研究院|研究所|institute", re.I), ("研究院", "研究所")),
    (re.compile(r"银行|bank", re.I), ("银行",)),
    (re.compile(r"平台|platform", re.I), ("平台",)),
    (re.compile(r"中心|cent(?:er|re)", re.I), ("中心",)),
    (re.compile(r"实验室|lab", re.I), ("实验室",)),
)


# The kind of place asked for (哪个镇 / which town) and the endings of its names.
_PLACE_TYPES = (
    (re.compile(r"哪(?:个|些|[两三四五]个)?(?:镇|乡)|which (?:\w+ )?(?:town|township)", re.I),
     ("镇", "乡")),
    (re.compile(r"哪(?:个|些|[两三四五]个)?县|which (?:\w+ )?count(?:y|ies)", re.I), ("县",)),
    (re.compile(r"哪(?:个|些|[两三四五]个)?街道|which (?:\w+ )?street", re.I), ("街道", "路")),
    (re.compile(r"哪(?:个|些|[两三四五]个)?省|which (?:\w+ )?province", re.I), ("省",)),
    (re.compile(r"哪(?:个|些|[两三四五]个)?园区|which (?:\w+ )?park", re.I),
     ("园区", "园", "基地")),
    # 哪个国家 / which country: the bundled countries' names (data/countries.txt, read on first
    # use, so a function here).
    (re.compile(r"哪(?:个|些|[两三四五]个)?国家|which (?:\w+ )?countr(?:y|ies)", re.I),
     country_names),
)


def type_endings(kind: str, question: str) -> tuple[str, ...]:
    """The endings of the kind of organisation or place asked for.

    大学 for 哪所大学 / which university, 镇 for 哪个镇 / which town; empty for other kinds or
    when the question names no type.
    """
    table = _ORG_TYPES if kind == "org" else _PLACE_TYPES if kind == "place" else ()
    for pattern, endings in table:
        if pattern.search(question):
            return endings() if callable(endings) else endings
    return ()


def _preferred_units(question: str, unit: str | None) -> tuple[str, ...]:
    """The units a figure answering ``question`` is likely to have (empty: no preference)."""
    if unit:
        return (unit,)
    asked = re.search(r"(?:多少|几)\s*([^\s，。？?的]{1,3})", question)
    if asked:
        for u in UNITS:
            if asked.group(1).startswith(u) and u not in ("年",):
                return (u,)
    for pattern, units in _UNIT_HINTS:
        if pattern.search(question):
            return units
    return ()


def unit_end(value: str) -> str:
    """A figure without its trailing grade or spaces (4000吨级 → 4000吨): what its unit ends."""
    value = value.rstrip()
    return value[:-1] if value.endswith("级") and len(value) > 1 else value


class Tagger:
    """jieba part-of-speech tags (jieba-rs), with the index's dictionary words added.

    Args:
        terms: Dictionary entries ``WORD [FREQ] [POS]`` (the tokenizer's terms).
    """

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self._terms = tuple(terms)
        self._jieba: Any = None
        self._lock = threading.Lock()

    def _ready(self) -> Any:  # noqa: ANN401 - rjieba ships no type information
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    import rjieba

                    jieba = rjieba.Jieba()
                    for entry in self._terms:
                        parts = entry.split()
                        if not parts:
                            continue
                        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
                        tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
                        # A domain term without a tag is a name of something (nz).
                        jieba.add_word(parts[0], freq, tag or "nz")
                    self._jieba = jieba
        return self._jieba

    def tag(self, text: str) -> list[tuple[int, int, str, str]]:
        """``(start, end, word, tag)`` of every word of ``text``."""
        out = []
        pos = 0
        for word, flag in self._ready().tag(text, True):
            out.append((pos, pos + len(word), word, flag or "nz"))
            pos += len(word)
        return out


def clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The clauses of ``text[start:end]``, cut after ``，；。：`` and line breaks."""
    out = []
    lo = start
    for m in _CLAUSE_END.finditer(text, start, end):
        if m.end() > lo:
            out.append((lo, m.end()))
        lo = m.end()
    if lo < end:
        out.append((lo, end))
    return [(a, b) for a, b in out if text[a:b].strip()]


def source_offsets(
    chunk_text: str, source: str, chunk_start: int, a: int, b: int
) -> tuple[int, int]:
    """Map ``chunk_text[a:b]`` to offsets in ``source``, where the chunk begins at ``chunk_start``.

    A chunk's text equals its source slice once whitespace is removed from both (repaired
    page breaks drop line breaks), so the n-th non-space character of the chunk is the n-th
    non-space character of the slice.

    Raises:
        ValueError: When the source does not hold the chunk (an index out of step with it).
    """
    while a < b and chunk_text[a].isspace():
        a += 1
    while b > a and chunk_text[b - 1].isspace():
        b -= 1
    before = sum(1 for ch in chunk_text[:a] if not ch.isspace())
    inside = sum(1 for ch in chunk_text[a:b] if not ch.isspace())
    seen = 0
    pos = chunk_start
    n = len(source)
    # Walk to the first non-space character after ``before`` of them.
    while pos < n and (source[pos].isspace() or seen < before):
        if not source[pos].isspace():
            seen += 1
        pos += 1
    lo = pos
    seen = 0
    while pos < n and seen < inside:
        if not source[pos].isspace():
            seen += 1
        pos += 1
    hi = pos
    if fold(source[lo:hi]) != fold(chunk_text[a:b]):
        raise ValueError("the index's source text does not match its chunk offsets")
    return lo, hi
