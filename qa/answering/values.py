"""The values a short answer can be: figures, dates, places, names, organisations, lists.

Each finder returns ``(start, end)`` offsets of its candidates in the passage text, given the
sentence window (``text[start:end]``) or its part-of-speech tagged words (``(start, end, word,
tag)``, from :class:`qa.answering.spanrules.Tagger`). A value already in the question
(``asked``, folded) adds nothing and is left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .kinds import TITLED, fold
from .spanrules import (
    _DATE,
    _JOINERS,
    _LIST_OPENERS,
    _LIST_SEP,
    _LIST_STOPS,
    _NAME_TITLES,
    _NUMBER,
    _ORG_SUFFIX,
    _PLACE_SUFFIX,
    _QUOTED,
    _STOP_TAGS,
    _YEAR_ONLY,
    SCOPES,
)

Words = Sequence[tuple[int, int, str, str]]
_HAN_CHAR = re.compile(r"[\u4e00-\u9fff]")
# A venue after a place name is part of it (青岛金茂湾 + 购物中心, 市民 + 广场 is not one).
_VENUE = re.compile(r"(购物中心|广场|大厦|酒店|会展中心|会议中心|体育馆|体育中心|剧院|博物馆"
                    r"|美术馆|展览馆|商场)$")
_ORG_PART_TAGS = ("ns", "nz", "nt", "n", "j", "eng", "l", "b")


def numbers(text: str, start: int, end: int, asked: str) -> list[tuple[int, int]]:
    """Figures with their units (not years, dates, model names such as W6X72, or titles)."""
    out = []
    # 《…第十四个五年规划…》 is a name: the numbers in a title count nothing.
    titled = [m.span() for m in TITLED.finditer(text, start, end)]
    for m in _NUMBER.finditer(text, start, end):
        a, b = m.span()
        value = m.group()
        if _YEAR_ONLY.match(value.strip()) or fold(value) in asked:
            continue
        if any(x < a and b < y for x, y in titled):
            continue
        if re.match(r"\s*(?:月|日|号)", text[b : b + 2]):
            continue  # 1月16日 is a date, not a figure
        # A bare number glued to letters is a model name (W6X72), not a figure.
        if (a > 0 and text[a - 1].isascii() and text[a - 1].isalpha()) or (
            b < len(text) and text[b].isascii() and text[b].isalpha()
        ):
            continue
        if a > 0 and text[a - 1] == "每":
            a -= 1  # 每两年 (every two years) is a rate, not a length of time
        out.append((a, b))
    return out


def dates(text: str, start: int, end: int, asked: str) -> list[tuple[int, int]]:
    """Dates: years, months and days, ranges of years."""
    return [m.span() for m in _DATE.finditer(text, start, end) if fold(m.group()) not in asked]


def places_in(
    words: Words, asked: str, known: frozenset[str] = frozenset()
) -> list[tuple[int, int]]:
    """Place names (runs of words ending in a place word), joined runs of them merged."""
    singles: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        a, b, word, tag = words[i]
        is_place = tag == "ns" or word in known or (
            len(word) >= 2 and _PLACE_SUFFIX.search(word) is not None
            and tag in ("n", "nz", "nt", "ns", "j", "s")
        ) or (  # a town jieba reads as a person's name (大柳镇)
            len(word) >= 3 and tag.startswith("nr") and _PLACE_SUFFIX.search(word) is not None
        )
        if not is_place:
            i += 1
            continue
        # Grow left over the name's own words (西海岸 + 新区, 董家口 + 化工 + 园区).
        lo = i
        while lo > 0 and words[lo - 1][3] in ("ns", "s", "nz", "j") and i - lo < 3:
            lo -= 1
        # A one-character modifier jieba cut off the name (大 + 村镇, 小 + 港区).
        if lo == i and lo > 0 and len(words[lo - 1][2]) == 1 and \
                words[lo - 1][3] in ("a", "b", "n", "ng") and _HAN_CHAR.match(words[lo - 1][2]):
            lo -= 1
        hi = i
        while hi + 1 < len(words) and (_PLACE_SUFFIX.search(words[hi + 1][2])
                                        or _VENUE.search(words[hi + 1][2])) and \
                words[hi + 1][3] in ("n", "ns", "nz", "s") and hi - i < 2:
            hi += 1
        singles.append((words[lo][0], words[hi][1]))
        i = hi + 1
    merged: list[tuple[int, int]] = []
    for a, b in singles:
        if merged:
            pa, pb = merged[-1]
            gap = "".join(w[2] for w in words if pb <= w[0] and w[1] <= a)
            if gap in _JOINERS:
                merged[-1] = (pa, b)
                continue
        merged.append((a, b))
    text = "".join(w[2] for w in words)
    base = words[0][0] if words else 0
    return [
        (a, b) for a, b in merged
        if fold(text[a - base : b - base]) not in asked and text[a - base : b - base] not in SCOPES
    ]


def persons(words: Words, asked: str) -> list[tuple[int, int]]:
    """People: an ``nr`` word, or a two- or three-character noun after a job title."""
    out = []
    for i, (a, b, word, tag) in enumerate(words):
        after_title = i > 0 and _NAME_TITLES.search(words[i - 1][2]) is not None
        if (tag == "nr" or (after_title and tag in ("n", "nz") and 2 <= len(word) <= 3)) \
                and 2 <= len(word) <= 4 and fold(word) not in asked:
            out.append((a, b))
    return out


def quoted(text: str, start: int, end: int, asked: str) -> list[tuple[int, int]]:
    """Names in quotation marks or title marks (“英才计划”, 《条例》), marks left out."""
    return [
        (m.start(1), m.end(1)) for m in _QUOTED.finditer(text, start, end)
        if fold(m.group(1)) not in asked
    ]


def orgs(words: Words, asked: str) -> list[tuple[int, int]]:
    """Organisations: an ``nt`` word, or name words ending in 大学, 公司, 研究院 and such."""
    out = []
    for i, (a, b, word, tag) in enumerate(words):
        # A brand-like name jieba knows as such (中电思仪, 青源峰达): three characters or more.
        named = tag in ("nz", "nrt") and len(word) >= 3 and _HAN_CHAR.match(word) is not None
        if not (tag == "nt" or named or _ORG_SUFFIX.search(word)):
            continue
        lo = i
        # Over the name's own words: nouns, abbreviations, set phrases (技术创新), attributes,
        # and a place in brackets (优创（青岛）数据技术有限公司).
        while lo > 0 and i - lo < 7:
            prev = words[lo - 1]
            if prev[2] in ("）", ")") and lo >= 3 and words[lo - 3][2] in ("（", "(") \
                    and words[lo - 2][3] == "ns" and lo >= 4 and words[lo - 4][2].strip() \
                    and words[lo - 4][3].startswith(_ORG_PART_TAGS):
                lo -= 3
                continue
            # A brand jieba reads as a person's name counts after a place (青岛 + 蓝科途).
            brand = prev[3].startswith("nr") and lo >= 2 and words[lo - 2][3] == "ns"
            # A word jieba reads as an adverb between two of the name's nouns (国家 + 高速 +
            # 列车技术创新中心) is the name's own.
            before = words[lo - 2][3] if lo >= 2 else ""
            inner = prev[3] == "d" and len(prev[2]) >= 2 \
                and before.startswith(("n", "j")) and not before.startswith("nr")
            if not (prev[3].startswith(_ORG_PART_TAGS) or brand or inner) \
                    or (prev[3].startswith("nr") and not brand) or prev[2] in _LIST_OPENERS:
                break
            lo -= 1
        # A one-character attribute jieba cut off the name (大 + 东 + 科技), after a verb.
        if lo >= 2 and len(words[lo - 1][2]) == 1 and words[lo - 1][3] in ("a", "b") \
                and words[lo - 2][3].startswith("v"):
            lo -= 1
        a = words[lo][0]
        if b - a >= 3 and fold("".join(w[2] for w in words[lo : i + 1])) not in asked:
            out.append((a, b))
    return out


def titles(words: Words, asked: str) -> list[tuple[int, int]]:
    """Job titles: the words before a title word (局长, 副市长), back to a clause mark."""
    out = []
    for i, (_a, b, word, _tag) in enumerate(words):
        if not _NAME_TITLES.search(word):
            continue
        lo = i
        while True:
            while lo > 0 and words[lo - 1][2] not in "，,、；;。：:（()）" \
                    and not words[lo - 1][2].isspace() and i - lo < 8 \
                    and not words[lo - 1][3].startswith(("v", "p", "nr")):
                lo -= 1
            # "党组书记、主任": titles held together are one answer.
            if lo > 1 and words[lo - 1][2] == "、" and _NAME_TITLES.search(words[lo - 2][2]):
                lo -= 1
                i = lo - 1
                continue
            break
        out.append((words[lo][0], b))
    return out


def lists(words: Words, text: str) -> list[tuple[int, int]]:
    """Enumerations: two or more items joined by ``、`` (and a final 和/及)."""
    out = []
    seps = [i for i, w in enumerate(words) if w[2] == _LIST_SEP]
    used: set[int] = set()
    for s in seps:
        if s in used:
            continue
        # The run of separators this one belongs to.
        run = [s]
        j = s + 1
        while j < len(words) and words[j][2] not in "，,；;。：:\n" and \
                words[j][2] not in _LIST_STOPS:
            if words[j][2] == _LIST_SEP:
                run.append(j)
            j += 1
        used.update(run)
        lo = run[0] - 1
        while lo > 0:
            prev = words[lo - 1]
            if prev[2] in _LIST_OPENERS or prev[3].startswith(_STOP_TAGS) or \
                    prev[2] in "，,；;。：:“”\"\n" or prev[2].isspace():
                break
            lo -= 1
        hi = run[-1] + 1
        while hi + 1 < len(words):
            nxt = words[hi + 1]
            if nxt[2] in _LIST_STOPS or nxt[2] in "，,；;。：:”\"\n" or nxt[2].isspace():
                break
            if nxt[3].startswith(_STOP_TAGS) and nxt[2] not in _JOINERS:
                break
            hi += 1
        if 0 <= lo < hi < len(words) and words[hi][1] - words[lo][0] >= 4:
            out.append((words[lo][0], words[hi][1]))
    return out
