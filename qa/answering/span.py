"""The short answer inside an answer sentence: a figure, a place, a date, a name or a list.

Given the sentence the answerer chose and what the question asks for, this module finds the
minimal span a person would write down — ``6600亿元``, ``西海岸新区、城阳区``,
``2025年1月15日``, ``卞成`` — as character offsets into the passage, so the caller can copy
it verbatim from the source file. Candidates come from patterns (figures with units, dates),
jieba's part-of-speech tags through jieba-rs (``ns`` places, ``nr`` names), place suffixes and
enumerations joined by ``、``. Each candidate is scored by how much of the question's subject
stands in its own clause (and, less, the clause before): of several figures of the same unit,
the one whose clause names what was asked wins. A candidate already in the question (a year, a
district) adds nothing and is skipped. When no candidate fits, there is no span and the caller
falls back to the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .kinds import UNIT, fold
from .respectively import respective_figure
from .spanrules import (
    _CLAUSE_END,
    _GENERIC,
    _HEAD_TAGS,
    _ITEM_MARK,
    _LINKS,
    _LIST_ASK,
    _LIST_SEP,
    _NOUN_TAGS,
    _WH,
    Tagger,
    _preferred_units,
    clauses,
    type_endings,
    unit_end,
)
from .values import dates, lists, numbers, orgs, persons, places_in, quoted, titles


@dataclass(frozen=True)
class Span:
    """A short answer inside a passage.

    Attributes:
        start: Offset in the passage text.
        end: Offset one past the end.
        kind: What was found: ``number``, ``date``, ``place``, ``person``, ``list`` or
            ``clause``.
        score: How strongly its clause names the question's subject (0–1 and more).
    """

    start: int
    end: int
    kind: str
    score: float


# Classifiers of counted things; a figure in one of them, glued to a noun, counts that noun.
_CLASSIFIER_END = re.compile(
    r"(?:名|个|家|项|台|辆|艘|座|套|户|位|件|条|所|类|种|款|批|支|颗|片|部|处|起)$"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
# The type word a name is asked by: 什么钻井平台, 哪条生产线, 什么项目.
_TYPE_ASKED = re.compile(r"什么|哪[个条家种类项所座]")
_LABELS = frozenset("指标 方面 内容 情况 问题 作用 工作 要求 原则 方式 领域".split())
# What may stand between a count and what it counts (5个以上全国领先的智能工厂), or end
# it (10项左右、…).
_QUALIFIER = re.compile(r"左右|以上|以下|以内|上下")
# A question after a position in an order (第几, 排名, which session): only it is answered by
# an ordinal (第十四个五年规划 gives no figure to 产值是多少).
_ORDINAL_Q = re.compile(
    r"第|排名|排在|排列|位列|位次|名次|届|\brank|\bsession|\bedition|\bround|\bbatch"
    r"|\bplace[sd]?\b|\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\b",
    re.I,
)


def _type_word_at(focus: re.Match[str]) -> int:
    """Where the answer's type word starts after an identity question word (-1: none).

    哪个园区, 什么平台: the word names what kind of thing the answer is (a park's name), not
    something the answer sentence must repeat.
    """
    return focus.end() if focus.group().startswith(("哪", "什么")) else -1


class SpanFinder:
    """Finds the short answer inside a chosen sentence window.

    Args:
        tokenize: The index's query tokenizer (for the clause's overlap with the question).
        idf: Inverse document frequency of a token (0 when unknown).
        tagger: Part-of-speech tagger.
        places: Extra place names (cities, provinces) counted as places.
    """

    def __init__(
        self,
        tokenize: Callable[[str], list[str]],
        idf: Callable[[str], float],
        tagger: Tagger,
        places: Iterable[str] = (),
    ) -> None:
        self._tokenize = tokenize
        self._idf = idf
        self._tagger = tagger
        self._places = frozenset(places)

    # ------------------------------------------------------------------ candidates
    def places(self, text: str) -> list[str]:
        """Every place name in ``text`` (adjacent words merged: 南港 + 新区), in order, once."""
        words = self._tagger.tag(text)
        found: list[str] = []
        for a, b in places_in(words, "\x00", self._places):
            for part in re.split(r"[、和及与]", text[a:b]):
                if part:
                    found.append(part)
        return list(dict.fromkeys(found))

    # ------------------------------------------------------------------ scoring
    def _weights(self, question: str) -> dict[str, float]:
        """The question's content tokens with their idf, doubled beside the wh-word.

        In ``高层工业楼宇项目开发面积是多少`` the words next to 多少 (开发面积) name what
        is asked; the rest (高层工业楼宇项目) only name whose it is.
        """
        weights = {t: self._idf(t) for t in set(self._tokenize(question)) if self._idf(t) > 0}
        focus = _WH.search(question)
        if focus:
            near = question[max(0, focus.start() - 6) : focus.end() + 6]
            for t in weights:
                if t in near:
                    weights[t] *= 2.0
        return weights

    def _nounish(self, token: str) -> bool:
        words = self._tagger.tag(token)
        return bool(words) and words[-1][3].startswith(_NOUN_TAGS)

    def focus_tokens(self, question: str) -> dict[str, float]:
        """The nouns beside the question word (whole words, not sub-words), with their idf."""
        focus = _WH.search(question)
        if not focus:
            return {}
        lo, hi = focus.start() - 6, focus.end() + 6
        typed = _type_word_at(focus)
        out = {}
        for a, b, word, tag in self._tagger.tag(question):
            if b <= lo or a >= hi or a == typed:
                continue
            idf = self._idf(word)
            if idf <= 0 and len(word) >= 3:
                # A dictionary word the index cut finer: its parts' idf stands in.
                idf = max((self._idf(t) for t in self._tokenize(word)), default=0.0)
            if idf > 0 and word not in _GENERIC and len(word) >= 2 and tag.startswith(_NOUN_TAGS):
                out[word] = idf
        return out

    def nouns(self, question: str) -> list[str]:
        """The question's nouns as whole words (jieba's tags), each known to the corpus.

        An English question's are those of the Chinese terms it was translated to.
        """
        if not _CJK.search(question):
            terms = [t for t in self._tokenize(question) if _CJK.search(t)]
            question = " ".join(sorted(dict.fromkeys(terms), key=len, reverse=True))
        out = []
        for _a, _b, word, tag in self._tagger.tag(question):
            if len(word) < 2 or word in _GENERIC or not tag.startswith(_NOUN_TAGS):
                continue
            # A dictionary word the index cut finer is known by its parts.
            if self._idf(word) > 0 or any(self._idf(t) > 0 for t in self._tokenize(word)):
                out.append(word)
        return list(dict.fromkeys(out))

    def head_noun(self, question: str) -> str:
        """The noun right before the question word (or right after it): what is asked.

        ``智能工厂的投资额是多少`` → 投资额; ``哪个区布局磁存储芯片`` → 磁存储芯片.
        """
        focus = _WH.search(question)
        if not focus:
            return ""
        words = self._tagger.tag(question)
        before = [w for w in words if w[1] <= focus.start()]
        typed = _type_word_at(focus)
        after = [w for w in words if w[0] >= focus.end() and w[0] != typed]
        for _a, _b, word, tag in [*reversed(before[-4:]), *after[:4]]:
            if tag in _HEAD_TAGS and word not in _GENERIC and len(word) >= 2:
                return word
            if tag.startswith(("v", "p", "c")) and word not in _LINKS:
                # A verb or preposition ends the noun phrase next to the question word.
                continue
        return ""

    def subject_tokens(self, question: str) -> dict[str, float]:
        """The question's other nouns (whose figure, which programme), with their idf."""
        focus = self.focus_tokens(question)
        return {
            t: self._idf(t) for t in set(self._tokenize(question))
            if t not in focus and self._idf(t) >= 2.0 and t not in _GENERIC and len(t) >= 2
            and self._nounish(t) and not re.fullmatch(r"\d+年?", t)
        }

    def overlap(self, weights: Mapping[str, float], text: str) -> float:
        """The idf-weighted share of ``weights``' tokens that ``text`` holds (0 when none weigh)."""
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        present = set(self._tokenize(text))
        return sum(w for t, w in weights.items() if t in present) / total

    def _support(
        self, weights: Mapping[str, float], text: str, lo: int, hi: int, a: int, b: int,
        right: float,
    ) -> float:
        """How much of the question stands near ``text[a:b]`` within ``text[lo:hi]``.

        Each question token found in the window counts its weight, discounted by its
        distance from the candidate and by every clause mark in between (a figure's
        subject stands in its own clause, normally before it); ``right`` weighs tokens
        after the candidate.
        """
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        window = text[lo:hi].lower()
        got = 0.0
        for token, weight in weights.items():
            best = 0.0
            pos = window.find(token)
            while pos >= 0:
                s, e = lo + pos, lo + pos + len(token)
                if e <= a:
                    gap, side = a - e, 1.0
                    marks = len(_CLAUSE_END.findall(text, e, a))
                elif s >= b:
                    gap, side = s - b, right
                    marks = len(_CLAUSE_END.findall(text, b, s))
                else:
                    pos = window.find(token, pos + 1)
                    continue
                best = max(best, side / (1.0 + gap / 12.0 + 1.5 * marks))
                pos = window.find(token, pos + 1)
            got += weight * best
        return got / total

    def find(
        self, question: str, kind: str, text: str, start: int, end: int,
        unit: str | None = None, units: Sequence[str] = (),
    ) -> Span | None:
        """The short answer to ``question`` inside ``text[start:end]``, or ``None``.

        See :meth:`_find`; a name is then given with the type word the question asks it by
        (什么钻井平台 → 座底式海洋钻井平台), and without a trailing 等.
        """
        found = self._find(question, kind, text, start, end, unit, units)
        if found is None or found.kind in ("number", "date", "list"):
            return found
        a, b = found.start, found.end
        noun = self._type_asked(question)
        if len(noun) >= 2 and text.startswith(noun, b) and b + len(noun) <= end:
            b += len(noun)
        trailing = re.search(r"(?<=.)等+$", text[a:b])
        if trailing:
            b = a + trailing.start()
        return found if (a, b) == (found.start, found.end) else Span(a, b, found.kind, found.score)

    def _type_asked(self, question: str) -> str:
        """The nouns right after 什么 or 哪条/哪个…: the type a name is asked by (钻井平台)."""
        asked = _TYPE_ASKED.search(question)
        if not asked:
            return ""
        words = self._tagger.tag(question[asked.end() :])
        out = ""
        for _a, _b, word, tag in words[:3]:
            if not tag.startswith(("n", "vn")) or len(out) + len(word) > 6:
                break
            out += word
        # A label, not a name's type: 什么指标 is answered by the indicator alone.
        return "" if out in _LABELS else out

    def _find(
        self, question: str, kind: str, text: str, start: int, end: int,
        unit: str | None = None, units: Sequence[str] = (),
    ) -> Span | None:
        """The short answer to ``question`` inside ``text[start:end]``, or ``None``.

        Args:
            question: The question (folded as the caller folds it).
            kind: What it asks for: ``number``, ``date``, ``place``, ``person``, ``list``,
                or anything else for a clause.
            text: The passage text.
            start: Start of the answer window in ``text``.
            end: End of the answer window.
            unit: A unit the question asks in (``家`` for 多少家), preferred among figures.
            units: Units a figure must end in (people for 多少名): figures in them only,
                when there are any.
        """
        asked = fold(question)
        if not _CJK.search(question):
            # An English question asks about the Chinese terms it was translated to.
            asked += " " + " ".join(self._tokenize(question))
        weights = self._weights(question)
        spans: list[tuple[int, int]]
        words: list[tuple[int, int, str, str]] = []
        if kind in ("place", "person", "list", "other", "org", "title", "name"):
            words = [(a + start, b + start, w, t) for a, b, w, t in
                     self._tagger.tag(text[start:end])]
        if kind == "number":
            spans = numbers(text, start, end, asked)
            if not _ORDINAL_Q.search(question):
                spans = [(a, b) for a, b in spans if not text.startswith("第", a)]
        elif kind == "date":
            spans = dates(text, start, end, asked)
        elif kind == "place":
            spans = places_in(words, asked, self._places)
        elif kind == "person":
            spans = persons(words, asked)
        elif kind == "list":
            spans = lists(words, text)
        elif kind == "name":
            spans = quoted(text, start, end, asked)
            if not spans:
                return self._clause(question, weights, text, start, end, words)
        elif kind == "org":
            spans = orgs(words, asked)
        elif kind == "title":
            spans = titles(words, asked)
        else:
            return self._clause(question, weights, text, start, end, words)
        if not spans:
            return None
        if kind == "number" and units:
            counted = [(a, b) for a, b in spans if text[a:b].rstrip().endswith(tuple(units))]
            spans = counted or spans
        prefer = _preferred_units(question, unit)
        if kind == "number":
            by_asked = self._weights(asked)
            aligned = respective_figure(self._tagger, lambda t: self.overlap(by_asked, t),
                                        text, start, end, spans, prefer)
            if aligned is not None:
                return Span(aligned[0], aligned[1], "number", aligned[2])
        # A figure's or a date's subject stands before it; so does a person's post.
        right = 0.5 if kind in ("number", "date", "title") else 0.8 if kind == "person" else 1.0
        endings = type_endings(kind, question)
        best: Span | None = None
        for a, b in spans:
            value = text[a:b]
            # A count in a classifier directly before a noun counts that noun (500名管理人才,
            # 25家智能工厂): its subject stands after it, as much as before.
            qualifier = _QUALIFIER.match(text, b)
            after = qualifier.end() if qualifier else b
            side = 1.0 if kind == "number" and _CLASSIFIER_END.search(value) and \
                _CJK.match(text, after) else right
            score = self._support(weights, text, start, end, a, b, side)
            if prefer and any(unit_end(value).endswith(u) for u in prefer):
                score += 0.3
            if kind == "number" and not re.search(rf"(?:{UNIT})\s*$|级$", value):
                score -= 0.2  # a bare number is rarely the figure asked for
            if kind == "list":
                score += 0.05 * text.count(_LIST_SEP, a, b)
            if endings and value.endswith(endings):
                score += 0.5
            if best is None or score > best.score + 1e-9:
                best = Span(a, b, kind, round(score, 4))
        return best

    def _clause(
        self, question: str, weights: Mapping[str, float], text: str, start: int, end: int,
        words: Sequence[tuple[int, int, str, str]],
    ) -> Span | None:
        """For a question of no particular kind: its best clause, less the question's own words.

        ``卞成任什么职务`` over ``卞成担任青岛市副市长`` gives ``青岛市副市长``.
        """
        parts = clauses(text, start, end)
        if not parts:
            return None
        scored = [(self.overlap(weights, text[a:b]), -i, a, b) for i, (a, b) in enumerate(parts)]
        score, _, a, b = max(scored)
        if score <= 0:
            return None
        if text.count(_LIST_SEP, a, b) >= 2 and not _LIST_ASK.search(question):
            # One thing asked of an enumeration (哪条生产线 over a row of projects): the
            # item that holds the question's words, not the whole row.
            a, b = self._best_item(weights, text, a, b)
        a, b = self._unknown_side(weights, text, a, b, words)
        asked = set(self._tokenize(question))
        inside = [w for w in words if a <= w[0] and w[1] <= b]
        lo, hi = 0, len(inside)
        while lo < hi and (
            inside[lo][2] in asked or inside[lo][3].startswith(("v", "p", "u", "c", "d", "x", "r"))
            or inside[lo][2].isspace()
        ):
            lo += 1
        while hi > lo and (inside[hi - 1][2] in asked or inside[hi - 1][3] == "x"
                           or inside[hi - 1][2].isspace()):
            hi -= 1
        if hi - lo < 1 or inside[hi - 1][1] - inside[lo][0] < 2:
            return None
        return Span(inside[lo][0], inside[hi - 1][1], "clause", round(score, 4))


    def _unknown_side(
        self, weights: Mapping[str, float], text: str, a: int, b: int,
        words: Sequence[tuple[int, int, str, str]],
    ) -> tuple[int, int]:
        """``A为B`` / ``A是B`` where one side restates the question: the other side.

        ``东方影都为影视内容制作集聚核心区`` answers "which base is the core zone for film
        production" with 东方影都: the side sharing (almost) nothing with the question.
        """
        links = [w for w in words if a < w[0] and w[1] < b and w[2] in ("为", "是", "即")]
        if len(links) != 1:
            return a, b
        link = links[0]
        left, right = (a, link[0]), (link[1], b)
        if min(left[1] - left[0], right[1] - right[0]) < 2:
            return a, b
        lo_score = self.overlap(weights, text[left[0] : left[1]])
        hi_score = self.overlap(weights, text[right[0] : right[1]])
        if max(lo_score, hi_score) <= 0 or abs(lo_score - hi_score) < 0.5 * max(lo_score, hi_score):
            return a, b
        return left if lo_score < hi_score else right

    def _best_item(
        self, weights: Mapping[str, float], text: str, a: int, b: int
    ) -> tuple[int, int]:
        """The ``、``-separated item of ``text[a:b]`` sharing most with the question."""
        bounds = [a, *(m.end() for m in _ITEM_MARK.finditer(text, a, b)), b]
        items = [(x, y - 1 if text[y - 1] == _LIST_SEP else y)
                 for x, y in zip(bounds, bounds[1:], strict=False)]
        items = [(x, y) for x, y in items if y > x]
        scored = [(self.overlap(weights, text[x:y]), -(y - x), x, y) for x, y in items]
        best = max(scored)
        return (best[2], best[3]) if best[0] > 0 else (a, b)
