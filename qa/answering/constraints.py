"""What the question constrains, checked against an answer sentence.

A question names things the answer must be about: a year, a place, a programme in quotes,
the indicator beside its wh-word (研发投入 in …研发投入是多少), a unit (多少名, 多少家), a
project phase (二期, phase II), a district paired with a subject, a goal rather than where things
stand, the indicator itself rather than a share of it. Each check here returns the reason an
answer fails it (the text the user reads) or ``""``; the answerer abstains on the first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from qa.answering.kinds import MULTI_PART, YEAR, fold, question_kind, unit_class
from qa.answering.span import Span, SpanFinder
from qa.answering.spanrules import _PLACE_SUFFIX, SCOPES, unit_end
from qa.config import AnswerConfig
from qa.retrieval.base import Lexicon
from qa.text.chunk import sentence_spans
from qa.tokens.translate import is_chinese
from qa.types import Hit

_QUOTED = re.compile(r"[“《「\"]([^”》」\"]{2,12})[”》」\"]")
# Dictionary terms that name an organisation or a place, not a concept.
_NAME = re.compile(
    r"(集团|公司|银行|大学|研究院|港|示范区|新区|自贸区|开发区|园区|产业园|[区市县省])$"
)
# The organisations among them (a sentence naming 海信集团 is not about 海尔集团).
_ORG = re.compile(r"(集团|公司|银行|大学|研究院)$")
# Verbs of policy prose that pair with anything; never the subject a place is paired with.
_POLICY_VERBS = frozenset(
    "布局 发展 建设 推进 实施 打造 培育 支持 推动 加快 提升 重点 聚焦 引进 建成 形成 壮大".split()
)
_PHASE = re.compile(r"[一二三四五六七八九]期")
# "phase II", "second phase": the English names of 一期 … 四期.
_PHASE_EN = re.compile(
    r"\bphase[\s-]*(iv|i{1,3}|one|two|three|four|[1-4])\b"
    r"|\b(first|second|third|fourth)[\s-]+phase\b", re.I)
_PHASE_NUMERALS = {"i": "一", "ii": "二", "iii": "三", "iv": "四", "one": "一", "two": "二",
                   "three": "三", "four": "四", "1": "一", "2": "二", "3": "三", "4": "四",
                   "first": "一", "second": "二", "third": "三", "fourth": "四"}
_DISTRICT = re.compile(r"(新区|区|县|市)$")
# Sentences that pair listed items with figures in order (A、B分别达到X、Y).
_RESPECTIVE = re.compile(r"分别|依次|各为|各是")
# A noun this rare in the corpus (固态电池, not 产业) names the thing a place is asked of
# (chosen on tune: 2.0 and 3.0 changed the same case).
_SPECIFIC_IDF = 3.0
_CLAUSE_SPLIT = re.compile(r"[，,；;。！？!?\n]")
# A question that asks for a share itself (then 占…比重 is the answer, not a share of it).
_SHARE_Q = re.compile(r"比重|比例|占比|百分|份额|share|percentage|proportion|ratio", re.I)
# A question after a goal (到2026年…目标), and a sentence that reports where things stand
# (截至今年3月…达到) without naming a goal: the figure is today's, not the one asked.
_GOAL_Q = re.compile(r"目标|力争|计划|打算|要达到|预计|到\s*20\d\d\s*年"
                     r"|\bby 20\d\d\b|\btarget|\baim|\bplan", re.I)
_STATUS_A = re.compile(r"截至|截止|目前|现已|已经|累计|去年|今年\d{1,2}月|\d{4}年\d{1,2}月底")
_GOAL_A = re.compile(r"力争|目标|到\s*20\d\d\s*年|预计|计划|将|要|打造|争取|届时|年均|期间")


def _names(place: str, text: str) -> bool:
    """Whether ``text`` names the Latin ``place`` as a whole word (Xian, not Xianda)."""
    return re.search(rf"(?<![a-z]){re.escape(place)}(?![a-z])", text) is not None


class Constraints:
    """The checks of what a question constrains, over the index's lexicon and tokens.

    Args:
        config: ``min_focus``, ``min_place_idf`` and ``need_head`` are read here.
        tokenize: The index's query tokenizer.
        lexicon: The corpus's idf and mentions.
        spans: The span finder (its place names, focus words and head nouns).
        places: Place names that mark a question as being about somewhere else.
        entities: Dictionary terms naming things (districts, companies).
        fold: Traditional→simplified and lower-case folding, as the tokenizer does it.
        english_places: English place names with their Chinese names (Shanghai → 上海).
    """

    def __init__(
        self,
        config: AnswerConfig,
        tokenize: Callable[[str], list[str]],
        lexicon: Lexicon,
        spans: SpanFinder,
        places: Sequence[str] = (),
        entities: Sequence[str] = (),
        fold: Callable[[str], str] = str.lower,
        english_places: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self._tokenize = tokenize
        self._idf = lexicon.idf
        self._mentions = lexicon.mentions
        self._chunks_of = lexicon.chunks_of
        self._spans = spans
        self._places = tuple(places)
        self._chinese_places = tuple(p for p in self._places if not p.isascii())
        self._entities = frozenset(entities)
        self._fold = fold
        self._english = {k.lower(): v for k, v in (english_places or {}).items()}
        # One pass over an English question finds every English place name it holds.
        names = "|".join(re.escape(n) for n in sorted(self._english, key=len, reverse=True))
        self._english_names = re.compile(rf"(?<![a-z])(?:{names})(?![a-z])") if names else None

    def unknown_anchor(self, question: str) -> str | None:
        """A year, place or quoted name in the question that the corpus never mentions.

        Such a question is about something else (烟台 instead of 青岛, 2030 when the
        documents stop at 2027, the “十五五” plan when they cover the 十四五);
        answering it from the nearest passage would mislead.
        """
        folded = self._fold(question)
        for match in YEAR.finditer(folded):
            if self._idf(match.group()) == 0.0:
                return match.group()
        lowered = question.lower()
        for place in self._places:
            name = place.lower()
            if not (_names(name, lowered) if name.isascii() else name in folded):
                continue
            # An English name is in the corpus under its Chinese name (Shanghai: 上海).
            if self._idf(self._english.get(name, name)) == 0.0:
                return place
        for match in _QUOTED.finditer(folded):
            if not self._mentions(fold(match.group(1))):
                return match.group(1)
        return None

    def anchors(self, question: str, tokens: Sequence[str]) -> tuple[list[str], list[str]]:
        """What the answer's passage must mention: ``(years, names)``.

        A figure for 2027 does not answer a question about 2025, and a passage that
        does not name 海信集团, 上合示范区 or 青岛港 does not answer a question about
        them. Years count in the passage's title and section too.
        Names common to most passages (青岛) tell nothing apart and are left out.
        """
        years = list(dict.fromkeys(m.group() for m in YEAR.finditer(question)))
        names = [
            t for t in dict.fromkeys(tokens)
            if t in self._entities and _NAME.search(t) and self._idf(t) >= 1.0
        ]
        return years, names

    @staticmethod
    def organisations(names: Sequence[str]) -> list[str]:
        """The companies, groups, banks, universities and institutes among ``names``.

        ``names``: what :meth:`anchors` found.
        """
        return [n for n in names if _ORG.search(n)]

    def focus_cover(self, question: str, hit: Hit, start: int, end: int) -> float:
        """Share (idf-weighted) of the words beside the wh-word found in the sentence or headings.

        Those words name what is asked (研发投入 in 海尔2024年研发投入是多少); a sentence
        that does not hold them answers another question, whatever else it shares.
        """
        focus = self._spans.focus_tokens(self._fold(question))
        if not focus:
            return 1.0
        place = fold(" ".join((hit.title, hit.section, hit.text[start:end])))
        head = self._spans.head_noun(self._fold(question)) if self.config.need_head else ""
        if head and head not in place:
            # A word the corpus does not have as such (出口值) counts by its known parts.
            parts = [t for t in self._tokenize(head) if len(t) >= 2 and t != head
                     and self._idf(t) > 0]
            known = self._idf(head) > 0
            if (known or parts) and not any(t in place for t in parts):
                return 0.0
        total = sum(focus.values())
        return sum(w for t, w in focus.items() if t in place) / total if total else 1.0

    def unsupported(
        self, question: str, hit: Hit, start: int, end: int, found: Span | None
    ) -> str:
        """What the question constrains that the answer sentence does not satisfy ("" if none).

        * what is asked (the nouns beside the wh-word: 研发投入, 员工) must stand in the
          sentence or its headings;
        * a figure asked in people (多少名), companies (多少家) or money (多少亿元) must be
          counted in them;
        * a project phase (二期, phase II) must be the phase the sentence speaks of;
        * a figure that is a share of what is asked (占地区生产总值比重) does not answer for it;
        * a goal asked (目标, 到2026年) is not answered by where things stand (截至, 累计);
        * a place asked of a rare thing (固态电池布局在哪个区) needs a sentence naming it;
        * a district the question names must stand in one clause with the question's
          most specific word (磁存储芯片), or head the section: the corpus pairs them there.
        """
        folded = self._fold(question)
        kind = question_kind(folded)
        if kind in ("number", "date", "place") and \
                self.focus_cover(question, hit, start, end) < self.config.min_focus:
            return "所引段落未提及问题所问的指标 (the passage does not give what is asked)"
        if found is not None and found.kind == "number":
            unit = unit_class(folded)
            if unit and not any(unit_end(hit.text[found.start : found.end]).endswith(u)
                                for u in unit):
                return "所引段落没有以问题所问单位计的数字 (no figure in the unit asked)"
        sentence = self._sentence_of(hit.text, found.start if found else start)
        # Chinese questions only: an English one's nouns are translations, too noisy to require.
        if kind == "place" and is_chinese(folded):
            subject = self._subject(folded, hit, sentence)
            if subject:
                return f"所引句子未提及“{subject}” (the answer sentence is not about {subject})"
        english = [_PHASE_NUMERALS[(m.group(1) or m.group(2)).lower()] + "期"
                   for m in _PHASE_EN.finditer(question)]
        for phase in dict.fromkeys([*_PHASE.findall(folded), *english]):
            if phase not in fold(sentence) or any(
                p != phase for p in _PHASE.findall(fold(self._clause_of(hit.text, found)))
            ):
                return f"所引段落未给出{phase}的数据 (the passage says nothing of {phase})"
        if found is not None and found.kind == "number" and not _SHARE_Q.search(question):
            share = self._share_of_asked(folded, self._clause_of(hit.text, found))
            if share:
                return (f"所引句子的数字是占“{share}”的比重，不是“{share}”本身 "
                        f"(the figure is a share of {share}, not {share} itself)")
        if _GOAL_Q.search(question) and _STATUS_A.search(sentence) \
                and not _GOAL_A.search(sentence):
            return ("所引句子说的是现状，不是问题所问的目标 "
                    "(the sentence reports where things stand, not the goal asked)")
        if MULTI_PART.search(folded):
            return ""
        return (self._listed_only(folded, hit, start, end, found)
                or self._misplaced(folded, hit, sentence, question)
                or self._unpaired(folded, hit))

    def _subject(self, folded: str, hit: Hit, sentence: str) -> str:
        """The question's most specific noun, when the answer sentence does not name it.

        Where 固态电池 is laid out is not answered by ``人形机器人布局在崂山区…``: a place asked
        is the place of something, and the sentence giving it must name that thing.
        """
        places = set(self._named_places(folded))
        nouns = [t for t in self._spans.nouns(folded)
                 if t not in places and not _PLACE_SUFFIX.search(t) and t not in SCOPES]
        if not nouns:
            return ""
        subject = max(nouns, key=self._place_idf)
        # Rare: under ~5% of passages (idf 3), or a single one (in a corpus too small for that).
        if self._place_idf(subject) < _SPECIFIC_IDF and len(self._chunks_of(subject)) != 1:
            return ""
        return "" if subject in fold(f"{hit.title} {hit.section} {sentence}") else subject

    def _share_of_asked(self, folded: str, clause: str) -> str:
        """What is asked, when the figure's clause gives a share of it (占地区生产总值比重30%)."""
        text = fold(clause)
        for word in self._spans.focus_tokens(folded):
            near = rf"占[^，。；]{{0,4}}{re.escape(word)}[^，。；]{{0,4}}(?:比重|比例|的比|份额)"
            if re.search(near, text):
                return word
        return ""

    def _listed_only(
        self, folded: str, hit: Hit, start: int, end: int, found: Span | None
    ) -> str:
        """A word of the question that the window only names inside an enumeration.

        ``重点发展A、B、人形机器人等细分赛道。力争到2027年，人工智能产业规模达到1200亿元``
        lists 人形机器人 among the segments; the figure is the industry's, not the
        segment's. Unless the figure's own clause (or the one before) or the headings name
        the word, or the sentence pairs items with figures (分别), the figure answers another
        question.
        """
        if found is None or found.kind != "number":
            return ""
        window = hit.text[start:end]
        if _RESPECTIVE.search(window):
            return ""
        bounds = [start, *(m.end() for m in _CLAUSE_SPLIT.finditer(hit.text, start, end)), end]
        clauses = [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
        at = next((i for i, (a, b) in enumerate(clauses) if a <= found.start < b), None)
        if at is None:
            return ""
        near = fold(hit.text[clauses[max(0, at - 1)][0] : clauses[at][1]])
        heads = fold(f"{hit.title} {hit.section}")
        # The question's nouns (what is asked, and whose): a listed verb says nothing.
        for term in self._spans.nouns(folded):
            if len(term) < 2 or YEAR.search(term) \
                    or term in _POLICY_VERBS or term in near or term in heads:
                continue
            holding = [fold(hit.text[a:b]) for a, b in clauses if term in fold(hit.text[a:b])]
            if holding and all(c.count("、") >= 2 for c in holding):
                return (f"所引段落只在列举中提到“{term}”，未给出它的数字 "
                        f"(the passage only lists {term}; the figure is not its own)")
        return ""

    def _place_idf(self, place: str) -> float:
        """How specific a place name is: its own idf, or its most specific part's."""
        return max([self._idf(place), *(self._idf(t) for t in self._tokenize(place))])

    def _named_places(self, folded: str, question: str = "") -> list[str]:
        """Places the question names (districts, cities, new areas) that the corpus mentions.

        An English question's places are those of the English place list, by Chinese name.
        """
        found = self._english_names.findall(question.lower()) if self._english_names else []
        english = [self._english[name] for name in found]
        return [p for p in dict.fromkeys([*self._spans.places(folded), *english])
                if len(p) >= 2 and p not in SCOPES and self._mentions(fold(p))
                and self._place_idf(p) > 0 and self._is_place_name(p)]

    def _is_place_name(self, word: str) -> bool:
        """Whether a word jieba tags as a place is named as one.

        It ends in a place suffix (区, 镇, 港) after a name, holds a listed place, or is a
        dictionary entity.
        jieba tags common nouns ns too (太阳, 海洋); a question is not "about" them as it is
        about 浦东.
        """
        # A bare type word (基地 in 哪个基地, 园区) names no place.
        suffix = _PLACE_SUFFIX.search(word)
        return bool(suffix and suffix.start() > 0) or word in self._entities or any(
            p in word for p in self._chinese_places)

    def _misplaced(self, folded: str, hit: Hit, sentence: str, question: str = "") -> str:
        """A place the question names that neither the answer sentence nor its headings name.

        A figure for the West Coast New Area does not answer a question about 浦东 because
        浦东 is mentioned elsewhere in the passage. Places in most passages (the city the
        whole corpus is about) say nothing and are skipped.
        """
        where = fold(f"{hit.title} {hit.section} {sentence}")
        asked = self._named_places(folded, question)
        # A passage about one place (an article on 崂山区 that says 全区) speaks of it
        # throughout; only where it names other places must the sentence name the one asked.
        others = self._passage_places(hit.text) - set(asked)
        for place in asked:
            if self._place_idf(place) < self.config.min_place_idf:
                continue
            if place not in where and (others or place not in fold(hit.text)):
                return f"所引句子未提及“{place}” (the answer sentence is not about {place})"
        return ""

    def _unpaired(self, folded: str, hit: Hit) -> str:
        """A district named in the question that the passage never pairs with its subject."""
        tokens = [t for t in dict.fromkeys(self._tokenize(folded)) if self._idf(t) > 0]
        places = [t for t in self._named_places(folded) if _DISTRICT.search(t) and len(t) >= 3
                  and self._place_idf(t) >= self.config.min_place_idf]
        if not places:
            return ""
        text = fold(hit.text)
        # The question's most specific word that the passage has (a word it lacks is left
        # to the other checks), not a place, a year or a verb of policy prose (布局, 发展).
        others = [t for t in tokens if not any(t in p or p in t for p in places)
                  and not YEAR.search(t) and len(t) >= 2 and t not in _POLICY_VERBS
                  and t in text]
        if not others:
            return ""
        subject = max(others, key=lambda t: (self._idf(t), len(t)))
        heads = fold(f"{hit.title} {hit.section}")
        parts = [fold(p) for p in _CLAUSE_SPLIT.split(hit.text)]
        if len(self._passage_places(hit.text) - set(places)) < 2:
            return ""  # a passage about one place pairs it with everything it says
        for place in places:
            if place in heads:
                continue
            if not any(place in p and subject in p for p in parts):
                return (f"语料未把“{place}”与“{subject}”相关联 "
                        f"(the passage does not pair {place} with {subject})")
        return ""

    def _passage_places(self, text: str) -> set[str]:
        """The districts, cities and areas a passage names (specific ones only)."""
        return {p for p in self._spans.places(text)
                if _DISTRICT.search(p) and len(p) >= 3
                and self._place_idf(p) >= self.config.min_place_idf}

    @staticmethod
    def _sentence_of(text: str, at: int) -> str:
        for a, b in sentence_spans(text):
            if a <= at < b:
                return text[a:b]
        return text

    @staticmethod
    def _clause_of(text: str, found: Span | None) -> str:
        if found is None:
            return ""
        lo = max((m.end() for m in _CLAUSE_SPLIT.finditer(text, 0, found.start)), default=0)
        return text[lo : found.end]
