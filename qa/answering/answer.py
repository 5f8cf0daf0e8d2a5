"""Choosing a short answer from retrieved passages, or abstaining.

The answer is a sentence (or a clause window of a long sentence) of one of the
top passages. Each candidate sentence is scored by

* lexical coverage: the idf-weighted share of the question's content tokens it holds;
* dense similarity: the cosine of its embedding (computed at build time) with the question's;
* its passage's retrieval rank;
* question-type cues: 多少/几/how many → a number with its unit, 哪个区/哪里/where → a
  place, 什么时候/哪年/when → a date.

The answer is withheld when its score is below a threshold calibrated on the
questions in ``eval/``, or when the question names something the corpus never
mentions (another city, a year the documents do not cover).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from qa.answering.span import Span, SpanFinder
from qa.answering.spanrules import Tagger, source_offsets
from qa.config import AnswerConfig
from qa.retrieval.base import Lexicon, SentenceStore
from qa.text.chunk import chunk_sentences as chunk_sentences  # re-exported (old path)
from qa.text.chunk import sentence_spans
from qa.types import Answer, Hit

ABSTAIN_TEXT = "未在语料中找到依据 (no answer found in the corpus)。以下是最接近的段落。"

_NUMBER_Q = re.compile(
    r"多少|几[个家项年条类大种]|几|比重|比例|占比|规模|目标|增长|达到|多大|数量|金额"
    r"|how (many|much)|what (percentage|share|proportion|number|amount|target)|number of"
    r"|how large|how big|what (?:\w+ ){0,3}(?:scale|size|target|value|output|revenue|capacity"
    r"|investment|growth rate|rate|amount|total)\b",
    re.I,
)
_PLACE_Q = re.compile(
    r"哪个区|哪个市|哪里|哪儿|何处|什么地方|哪个地方|在哪(?![一二两三四五六七八九十几])|哪些区"
    r"|哪个园区|where|which (district|city|area|region|park|zone)",
    re.I,
)
_DATE_Q = re.compile(
    r"什么时候|何时|哪[一几]?年|哪天|几月|日期|when|which year|what year|what date", re.I
)
_NUMBER_A = re.compile(
    r"\d+(\.\d+)?\s*(%|％|亿元|万元|亿|万|千亿|百亿|家|个|项|人|万人|吨|公里|千升|倍|元|场|条|年)"
)
_PLACE_A = re.compile(r"[\u4e00-\u9fff]{2,6}(新区|区|市|县|镇|园区|产业园|基地|开发区|园)")
_DATE_A = re.compile(r"\d{4}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}[—\-–]\d{4}")
_PERSON_Q = re.compile(r"谁|哪位|哪名|什么人|姓名|who|which (reporter|official|person)",
                       re.I)
_LIST_Q = re.compile(r"哪些|哪几|分别是|包括什么|有哪|哪两|哪三|哪四|哪五|哪六|哪七|哪八"
                     r"|which (ones|industries|segments|companies|sectors|areas|fields)|list", re.I)
_NAME_Q = re.compile(r"叫什么|什么名字|名称是|称为什么|称作什么|叫做什么|命名为"
                     r"|what is (?:it|this|the \w+(?: \w+){0,4}) called|what (?:is|was) the name",
                     re.I)
_NAME_A = re.compile(r"[“《「\"][^”》」\"]{2,20}[”》」\"]")
_TITLE_Q = re.compile(r"什么职务|何职|什么职位|担任什么|任什么|什么头衔|what (position|post|title)"
                      r"|which (position|post)", re.I)
_ORG_Q = re.compile(
    r"哪家(?!.*哪些)|哪所|哪个(?:企业|公司|机构|单位|平台|研究院|大学|高校|部门|集团|银行)"
    r"|什么(?:企业|公司|机构|单位|平台|研究院|部门)"
    r"|which (company|firm|university|institute|institution|organi[sz]ation|platform|agency|"
    r"office|bureau|department|enterprise|group|bank|college|school|center|centre)\b",
    re.I,
)
_ORG_A = re.compile(
    r"[\u4e00-\u9fff]{2,12}(大学|学院|公司|集团|研究院|研究所|中心|实验室|平台|银行)"
)
_PERSON_A = re.compile(r"(记者|市长|局长|主任|书记|博士|董事长|总经理|负责人)"
                       r"\s*[\u4e00-\u9fff]{2,3}"
                       r"|[\u4e00-\u9fff]{2,3}(表示|介绍|说)")
_MARKUP = re.compile(r"</?[a-zA-Z][^>]*>|\*\*")
_TRAILING_MARKUP = re.compile(r"(?:</?[a-zA-Z][^>]*>|\*\*)$")
_CLAUSE = re.compile(r"[，,：:、]")
_YEAR = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")
_QUOTED = re.compile(r"[“《「\"]([^”》」\"]{2,12})[”》」\"]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_QUESTION_WORDS = re.compile(
    r"什么|哪个|哪些|哪几|哪里|哪儿|多少|几个|如何|怎样|怎么|是否|分别|请问|吗|呢|？|\?|。|，"
)


def _bigrams(text: str) -> set[str]:
    """Character bigrams of the Chinese runs in ``text``."""
    runs = _HAN_RUN.findall(text)
    return {run[i : i + 2] for run in runs for i in range(len(run) - 1)}


def _fold(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
# Specific units a question may ask for ("多少万辆"); common ones (个, 家, 亿元) are left out
# because documents count the same thing in several ways (32条 for 32个).
_UNIT_Q = re.compile(
    r"多少(亿美元|万美元|美元|人次|万标准箱|标准箱|万辆|万吨|千升|平方米|公里|万台|艘|架次)"
)
_MULTI_PART = re.compile(r"分别|各是|各为|各自|各有多少|respectively|and (what|how)", re.I)
# Dictionary terms that name an organisation or a place, not a concept.
_NAME = re.compile(
    r"(集团|公司|银行|大学|研究院|港|示范区|新区|自贸区|开发区|园区|产业园|[区市县省])$"
)
_ANSWER_PATTERNS = {"number": _NUMBER_A, "place": _PLACE_A, "date": _DATE_A, "person": _PERSON_A,
                    "title": _PERSON_A, "org": _ORG_A, "name": _NAME_A}
# Question kinds whose answer must hold what is asked: a figure, a place, a date or a name.
_STRICT_KINDS = ("number", "place", "date")
_KIND_LABELS = {
    "number": ("问题所问的数字", "figure"), "place": ("问题所问的地点", "place"),
    "date": ("问题所问的时间", "date"), "person": ("问题所问的人名", "name"),
}
# Only these wordings ask for a figure for certain ("目标" or "规模" may ask what the goal is).
_STRICT_NUMBER = re.compile(
    r"多少|几[个家项条类种所座批次届倍]|比重|比例|占比|百分之|how (many|much)|what percentage",
    re.I,
)
# Verbs of policy prose that pair with anything; never the subject a place is paired with.
_POLICY_VERBS = frozenset(
    "布局 发展 建设 推进 实施 打造 培育 支持 推动 加快 提升 重点 聚焦 引进 建成 形成 壮大".split()
)
# Words of scope, not places: 全市 is whichever city the passage is about.
_SCOPES = frozenset("全市 全区 全省 全国 本市 本区 全县 市区 城区 区市 各区 各市".split())
_PHASE = re.compile(r"[一二三四五六七八九]期")
_DISTRICT = re.compile(r"(新区|区|县|市)$")
_CLAUSE_SPLIT = re.compile(r"[，,；;。！？!?\n]")
# Units a figure must be counted in when the question asks "多少<unit>"; 个 and its kin are
# left out, since documents count the same things as 个, 项, 条 or 类.
_UNIT_CLASSES = (
    (re.compile(r"(?:多少|几)(?:名|位|人)"), ("名", "人", "位", "人次", "万人", "万人次")),
    (re.compile(r"(?:多少|几)家"), ("家", "户", "所")),
    (re.compile(r"多少(?:亿|万)?元|多少钱|多少(?:亿|万)美元"),
     ("元", "亿", "万亿", "千亿", "百亿", "美元")),
)
_BYLINE = re.compile(r"\s*[□■]\s*[^。\n]{0,40}?(?:报道|\n|(?=本报))")


@dataclass(frozen=True)
class Candidate:
    """An answer candidate: a window of one or two sentences of a cited passage.

    Attributes:
        citation: Position of the passage among the hits.
        start: Window start within the passage text.
        end: Window end within the passage text.
        features: Values in the order of :data:`qa.config.FEATURES`.
    """

    citation: int
    start: int
    end: int
    features: tuple[float, ...]

    def score(self, weights: Sequence[float]) -> float:
        """The weighted sum of the features."""
        return float(sum(w * f for w, f in zip(weights, self.features, strict=True)))


def question_kind(question: str) -> str:
    """What ``question`` asks for, from its wording.

    One of ``date``, ``place``, ``title``, ``name``, ``person``, ``org``, ``list``,
    ``number`` or ``other``.
    """
    for kind, pattern in (
        ("date", _DATE_Q), ("place", _PLACE_Q), ("title", _TITLE_Q), ("name", _NAME_Q),
        ("person", _PERSON_Q),
        ("org", _ORG_Q), ("list", _LIST_Q), ("number", _NUMBER_Q),
    ):
        if pattern.search(question):
            return kind
    return "other"


def cue_score(kind: str, text: str, question: str = "") -> float:
    """1 when ``text`` holds what a question of ``kind`` asks for, else 0.

    A number or place already in the question does not count: the answer must add to it.
    """
    if kind == "list":
        return 1.0 if text.count("、") >= 2 else 0.0
    pattern = _ANSWER_PATTERNS.get(kind)
    if pattern is None:
        return 0.0
    asked = _fold(question)
    return 1.0 if any(_fold(m.group()) not in asked for m in pattern.finditer(text)) else 0.0


def _strict(kind: str, question: str) -> bool:
    """Whether ``question`` surely asks for a value of ``kind`` (then one must be found)."""
    return kind != "number" or _STRICT_NUMBER.search(question) is not None


def _unit_class(question: str) -> tuple[str, ...]:
    """The units a figure must end in to answer ``question`` (empty: any)."""
    for pattern, units in _UNIT_CLASSES:
        if pattern.search(question):
            return units
    return ()


def _skip_byline(text: str, start: int, end: int, question: str) -> int:
    """Start after a leading reporter's byline (``□ 记者 … 报道``) unless the question asks it."""
    if "记者" in question or "报道" in question or "reporter" in question.lower():
        return start
    m = _BYLINE.match(text, start, end)
    return trim(text, m.end(), end)[0] if m and m.end() < end else start


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span to drop surrounding whitespace, list bullets and markup (``<p>``, ``**``)."""
    while True:
        before = (start, end)
        while start < end and (text[start].isspace() or text[start] in "-●•·*\t"):
            start += 1
        while end > start and (text[end - 1].isspace() or text[end - 1] == "*"):
            end -= 1
        head = _MARKUP.match(text, start, end)
        if head:
            start = head.end()
        tail = _TRAILING_MARKUP.search(text, start, end)
        if tail:
            end = tail.start()
        if (start, end) == before:
            return start, end


class Answerer:
    """Picks the answer sentence and decides whether to abstain.

    Args:
        config: Thresholds and sizes.
        tokenize: The index's query tokenizer.
        lexicon: The corpus's idf of a token (0 for one it lacks) and whether it mentions
            a (folded, whitespace-free) term.
        sentences: Each chunk's sentences and their vectors, by chunk id.
        places: Place names (provinces, cities) that mark a question as being
            about somewhere the corpus may not cover.
        entities: Dictionary terms naming things (districts, companies); a passage
            that does not mention one the question names cannot answer it.
        fold: Traditional→simplified and lower-case folding, as the tokenizer does it.
    """

    def __init__(
        self,
        config: AnswerConfig,
        tokenize: Callable[[str], list[str]],
        lexicon: Lexicon,
        sentences: SentenceStore,
        places: Sequence[str] = (),
        entities: Sequence[str] = (),
        fold: Callable[[str], str] = str.lower,
        source: Callable[[str], str] | None = None,
        terms: Sequence[str] = (),
        in_article: Callable[[Hit, str], bool] | None = None,
    ) -> None:
        self.config = config
        self._tokenize = tokenize
        self._idf = lexicon.idf
        self._sentences = sentences
        self._places = tuple(places)
        self._entities = frozenset(entities)
        self._mentions = lexicon.mentions
        self._fold = fold
        self._source = source
        self._in_article = in_article
        self._tagger = Tagger(terms)
        self._spans = SpanFinder(tokenize, lexicon.idf, self._tagger, places)

    def words(self, text: str) -> list[str]:
        """The words of ``text`` as jieba cuts them (with the index's dictionary)."""
        return [w for _a, _b, w, _t in self._tagger.tag(text)]

    def _coverage(self, weights: dict[str, float], text: str) -> float:
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        present = set(self._tokenize(text))
        return sum(w for t, w in weights.items() if t in present) / total

    def unknown_anchor(self, question: str) -> str | None:
        """A year, place or quoted name in the question that the corpus never mentions.

        Such a question is about something else (烟台 instead of 青岛, 2030 when the
        documents stop at 2027, the “十五五” plan when they cover the 十四五);
        answering it from the nearest passage would mislead.
        """
        folded = self._fold(question)
        for match in _YEAR.finditer(folded):
            if self._idf(match.group()) == 0.0:
                return match.group()
        for place in self._places:
            if place.lower() in folded and self._idf(place.lower()) == 0.0:
                return place
        for match in _QUOTED.finditer(folded):
            if not self._mentions(_fold(match.group(1))):
                return match.group(1)
        return None

    def anchors(self, question: str, tokens: Sequence[str]) -> tuple[list[str], list[str]]:
        """What the answer's passage must mention: ``(years, names)``.

        A figure for 2027 does not answer a question about 2025, and a passage that
        does not name 海信集团, 上合示范区 or 青岛港 does not answer a question about
        them. Years count in the passage's title and section too.
        Names common to most passages (青岛) tell nothing apart and are left out.
        """
        years = list(dict.fromkeys(m.group() for m in _YEAR.finditer(question)))
        names = [
            t for t in dict.fromkeys(tokens)
            if t in self._entities and _NAME.search(t) and self._idf(t) >= 1.0
        ]
        return years, names

    def candidates(
        self, question: str, hits: Sequence[Hit], query_vector: np.ndarray
    ) -> list[Candidate]:
        """Every one- and two-sentence window of the top passages, with its features.

        Features (see :data:`qa.config.FEATURES`): idf-weighted token coverage of the question,
        character-bigram coverage, dense similarity, the passage's fused retrieval score
        relative to the best, the question-type cue, whether the window is a pair
        (an answer often follows the sentence naming its subject), and whether it is
        shorter than 15 characters (a heading-like line that repeats the question).
        """
        tokens = self._tokenize(question)
        weights = {t: self._idf(t) for t in set(tokens)}
        if len(_HAN.findall(question)) >= 2:
            grams = _bigrams(_QUESTION_WORDS.sub("", question))
        else:  # English: the glossary terms the tokenizer added stand in for bigrams
            grams = {g for t in tokens for g in _bigrams(t)}
        kind = question_kind(self._fold(question))
        total = sum(weights.values())
        top = max((h.score for h in hits), default=0.0) or 1.0
        out: list[Candidate] = []
        for position, hit in enumerate(hits[: self.config.passages]):
            spans, vectors = self._sentences.sentences(hit.chunk_id)
            if not spans:
                continue
            sims = vectors @ query_vector
            windows = [(j, j) for j in range(len(spans))] + [
                (j, j + 1) for j in range(len(spans) - 1)
                if spans[j + 1][1] - spans[j][0] <= self.config.max_chars
            ]
            # Tokenize each sentence once; a pair's tokens are the union of its two.
            token_sets = [set(self._tokenize(hit.text[a:b])) for a, b in spans]
            gram_sets = [_bigrams(hit.text[a:b]) for a, b in spans]
            for first, last in windows:
                start, end = spans[first][0], spans[last][1]
                text = hit.text[start:end]
                present = set().union(*token_sets[first : last + 1])
                lexical = (sum(w for t, w in weights.items() if t in present) / total
                           if total else 0.0)
                found = set().union(*gram_sets[first : last + 1])
                bigram = len(grams & found) / len(grams) if grams else 0.0
                cue = cue_score(kind, text, question)
                dense = float(np.clip((max(sims[first : last + 1]) - 0.75) / 0.2, 0.0, 1.0))
                # A short line without what the question asks for is a heading echoing it.
                short = float(len(re.sub(r"\s", "", text)) < 15 and not cue)
                out.append(Candidate(position, start, end, (
                    lexical, bigram, dense, max(hit.score, 0.0) / top, cue,
                    float(last > first), short,
                )))
        return out

    def answer(
        self,
        question: str,
        hits: Sequence[Hit],
        query_vector: np.ndarray,
    ) -> Answer:
        """Choose the answer among the sentences of ``hits``.

        Returns:
            An :class:`Answer` whose first citation holds the answer sentence and the
            short answer span, or an abstention (with its reason) with the hits as the
            closest passages.
        """
        cfg = self.config
        candidates = self.candidates(question, hits, query_vector)
        if not candidates:
            return self._abstain(question, hits, 0.0,
                                 "没有可检索的段落 (no passage to answer from)")
        # A question about another place, year or programme is not answered from a
        # passage about something else, however similar it reads.
        # Nor is a question that shares no specific word with the corpus (small talk,
        # keyboard noise, markup): similarity alone would always find a "closest" passage.
        words = set(self._tokenize(question))
        idfs = [self._idf(t) for t in words]
        share = sum(1 for v in idfs if v > 0) / len(words) if words else 0.0
        if sum(idfs) < cfg.min_question_idf or (
            len(_HAN.findall(question)) >= 2 and share < cfg.min_known_share
        ):
            return self._abstain(question, hits, 0.0, "问题与语料无关 (the question shares no "
                                 "specific word with the corpus)")
        unknown = self.unknown_anchor(question)
        if unknown:
            return self._abstain(question, hits, 0.0,
                                 f"语料未提及“{unknown}” (the corpus never mentions {unknown})")
        # The best window first; when it does not satisfy what the question constrains,
        # the next ones nearly as good (another sentence of the same passage, often) may.
        ranked = sorted(candidates, key=lambda c: (-c.score(cfg.weights), c.citation, c.start))
        top = ranked[0].score(cfg.weights)
        first: Answer | None = None
        for candidate in ranked[: max(1, cfg.fallbacks)]:
            if candidate.score(cfg.weights) < top - cfg.fallback_margin:
                break
            answer = self._answer_from(question, hits, candidate)
            if not answer.abstained:
                return answer
            first = first or answer
        assert first is not None  # the loop ran at least once: ranked[0] is the top
        return first

    def _answer_from(self, question: str, hits: Sequence[Hit], best: Candidate) -> Answer:
        """The answer from one window, or an abstention saying what it does not satisfy."""
        cfg = self.config
        folded = self._fold(question)
        kind = question_kind(folded)
        unit = _UNIT_Q.search(folded)
        hit = hits[best.citation]
        start, end = self._window(question, hit.text, best.start, best.end)
        start = _skip_byline(hit.text, start, end, question)
        found = self._spans.find(folded, kind, hit.text, start, end,
                                 unit.group(1) if unit else None, _unit_class(folded))
        context = _fold(" ".join((hit.title, hit.section, hit.text)))
        if _MULTI_PART.search(question):
            # "A 和 B 分别…": each part may come from another passage, so any cited one counts.
            context = _fold(" ".join(f"{h.title} {h.section} {h.text}" for h in hits))
        years, names = self.anchors(folded, self._tokenize(question))
        if kind not in ("number", "list"):
            # Who held which post, what was held when: a dated article answers for its year.
            context += " " + (hit.date or "")
        missing = [a for a in (*years, *names) if a not in context]
        if self._in_article is not None and not _YEAR.search(hit.text[start:end]):
            # A news item on 2024's results names the year once, at its head, in another
            # passage of the same article; a sentence naming a year of its own (到2027年…)
            # speaks of that year, not the one asked.
            missing = [a for a in missing if not (a in years and self._in_article(hit, a))]
        if unit and unit.group(1) not in _fold(hit.text[best.start : best.end]):
            # asked in 万辆 or 人次: an answer without one is no answer
            missing.append(unit.group(1))
        if missing:
            return self._abstain(question, hits, 0.0, f"所引段落未提及“{missing[0]}” "
                                 f"(the passage does not mention {missing[0]})")
        # Reported in [0, 1]; the weighted score itself can pass 1 when every cue fires.
        confidence = min(best.score(cfg.weights), 1.0)
        if confidence < cfg.abstain_below:
            return self._abstain(question, hits, confidence,
                                 "证据不足 (no passage supports an answer strongly enough)")
        if found is None and kind in _STRICT_KINDS and _strict(kind, question):
            label = _KIND_LABELS[kind]
            return self._abstain(question, hits, 0.0,
                                 f"所引段落没有{label[0]} (the passage gives no {label[1]})")
        problem = self._unsupported(question, hit, start, end, found)
        if problem:
            return self._abstain(question, hits, 0.0, problem)
        if found is not None:
            start = self._drop_lead(question, hit.text, start, found.start)
            a, b = found.start, found.end
        else:
            a, b = start, end
        a, b = trim(hit.text, a, b)
        text = _MARKUP.sub("", hit.text[start:end]).strip()
        cited = replace(hit, highlight=(start, end), span=(a, b))
        others = [h for i, h in enumerate(hits) if i != best.citation]
        span, s_lo, s_hi = self._verbatim(hit, a, b)
        return Answer(question, text, (cited, *others), False, round(confidence, 4), start, end,
                      span=span, span_start=s_lo, span_end=s_hi)

    def _focus_cover(self, question: str, hit: Hit, start: int, end: int) -> float:
        """Share (idf-weighted) of the words beside the wh-word found in the sentence or headings.

        Those words name what is asked (研发投入 in 海尔2024年研发投入是多少); a sentence
        that does not hold them answers another question, whatever else it shares.
        """
        focus = self._spans.focus_tokens(self._fold(question))
        if not focus:
            return 1.0
        place = _fold(" ".join((hit.title, hit.section, hit.text[start:end])))
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

    def _unsupported(
        self, question: str, hit: Hit, start: int, end: int, found: Span | None
    ) -> str:
        """What the question constrains that the answer sentence does not satisfy ("" if none).

        * what is asked (the nouns beside the wh-word: 研发投入, 员工) must stand in the
          sentence or its headings;
        * a figure asked in people (多少名), companies (多少家) or money (多少亿元) must be
          counted in them;
        * a project phase (二期) must be the phase the sentence speaks of;
        * a district the question names must stand in one clause with the question's
          most specific word (磁存储芯片), or head the section: the corpus pairs them there.
        """
        folded = self._fold(question)
        kind = question_kind(folded)
        if kind in ("number", "date", "place") and \
                self._focus_cover(question, hit, start, end) < self.config.min_focus:
            return "所引段落未提及问题所问的指标 (the passage does not give what is asked)"
        if found is not None and found.kind == "number":
            unit = _unit_class(folded)
            if unit and not any(hit.text[found.start : found.end].rstrip().endswith(u)
                                for u in unit):
                return "所引段落没有以问题所问单位计的数字 (no figure in the unit asked)"
        sentence = self._sentence_of(hit.text, found.start if found else start)
        for phase in dict.fromkeys(_PHASE.findall(folded)):
            if phase not in _fold(sentence) or any(
                p != phase for p in _PHASE.findall(_fold(self._clause_of(hit.text, found)))
            ):
                return f"所引段落未给出{phase}的数据 (the passage says nothing of {phase})"
        if _MULTI_PART.search(folded):
            return ""
        return self._misplaced(folded, hit, sentence) or self._unpaired(folded, hit)

    def _place_idf(self, place: str) -> float:
        """How specific a place name is: its own idf, or its most specific part's."""
        return max([self._idf(place), *(self._idf(t) for t in self._tokenize(place))])

    def _named_places(self, folded: str) -> list[str]:
        """Places the question names (districts, cities, new areas) that the corpus mentions."""
        return [p for p in self._spans.places(folded)
                if len(p) >= 2 and p not in _SCOPES and self._mentions(_fold(p))
                and self._place_idf(p) > 0]

    def _misplaced(self, folded: str, hit: Hit, sentence: str) -> str:
        """A place the question names that neither the answer sentence nor its headings name.

        A figure for the West Coast New Area does not answer a question about 浦东 because
        浦东 is mentioned elsewhere in the passage. Places in most passages (the city the
        whole corpus is about) say nothing and are skipped.
        """
        where = _fold(f"{hit.title} {hit.section} {sentence}")
        asked = self._named_places(folded)
        # A passage about one place (an article on 崂山区 that says 全区) speaks of it
        # throughout; only where it names other places must the sentence name the one asked.
        others = self._passage_places(hit.text) - set(asked)
        for place in asked:
            if self._place_idf(place) < self.config.min_place_idf:
                continue
            if place not in where and (others or place not in _fold(hit.text)):
                return f"所引句子未提及“{place}” (the answer sentence is not about {place})"
        return ""

    def _unpaired(self, folded: str, hit: Hit) -> str:
        """A district named in the question that the passage never pairs with its subject."""
        tokens = [t for t in dict.fromkeys(self._tokenize(folded)) if self._idf(t) > 0]
        places = [t for t in self._named_places(folded) if _DISTRICT.search(t) and len(t) >= 3
                  and self._place_idf(t) >= self.config.min_place_idf]
        if not places:
            return ""
        text = _fold(hit.text)
        # The question's most specific word that the passage has (a word it lacks is left
        # to the other checks), not a place, a year or a verb of policy prose (布局, 发展).
        others = [t for t in tokens if not any(t in p or p in t for p in places)
                  and not _YEAR.search(t) and len(t) >= 2 and t not in _POLICY_VERBS
                  and t in text]
        if not others:
            return ""
        subject = max(others, key=lambda t: (self._idf(t), len(t)))
        heads = _fold(f"{hit.title} {hit.section}")
        parts = [_fold(p) for p in _CLAUSE_SPLIT.split(hit.text)]
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

    def _abstain(
        self, question: str, hits: Sequence[Hit], confidence: float, reason: str
    ) -> Answer:
        return Answer(question, ABSTAIN_TEXT, tuple(hits), True, round(confidence, 4),
                      reason=reason)

    def _verbatim(self, hit: Hit, a: int, b: int) -> tuple[str, int, int]:
        """The source file's own characters for ``hit.text[a:b]`` and their offsets.

        Without access to the source (a caller that gives no reader), the passage's
        characters are returned with offsets ``-1``.
        """
        if self._source is None:
            return _MARKUP.sub("", hit.text[a:b]).strip(), -1, -1
        source = self._source(hit.doc)
        lo, hi = source_offsets(hit.text, source, hit.start, a, b)
        return source[lo:hi], lo, hi

    def _drop_lead(self, question: str, text: str, start: int, span_start: int) -> int:
        """Drop sentences before the one holding the span that say nothing of the question."""
        weights = {t: self._idf(t) for t in set(self._tokenize(question))}
        for a, b in sentence_spans(text):
            if b <= start:
                continue
            if a <= span_start < b or b > span_start:
                break
            if self._coverage(weights, text[max(a, start) : b]) >= 0.34:
                break
            start = b
        return trim(text, start, len(text))[0]

    def _window(self, question: str, text: str, start: int, end: int) -> tuple[int, int]:
        """Cut a long sentence to its best clauses within ``config.max_chars``."""
        start, end = trim(text, start, end)
        kind = question_kind(self._fold(question))
        weights = {t: self._idf(t) for t in set(self._tokenize(question))}
        limit = self.config.max_chars
        if end - start <= limit:
            return start, end
        bounds = [start] + [m.end() for m in _CLAUSE.finditer(text, start, end)] + [end]
        clauses = [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
        scores = [
            self._coverage(weights, text[a:b]) + 0.5 * cue_score(kind, text[a:b], question)
            for a, b in clauses
        ]
        centre = max(range(len(clauses)), key=lambda i: (scores[i], -i))
        lo = hi = centre
        # Grow around the best clause, towards the better neighbour first.
        while True:
            options = []
            if lo > 0 and clauses[hi][1] - clauses[lo - 1][0] <= limit:
                options.append((scores[lo - 1], -1))
            if hi + 1 < len(clauses) and clauses[hi + 1][1] - clauses[lo][0] <= limit:
                options.append((scores[hi + 1], 1))
            if not options:
                break
            _, side = max(options)
            lo, hi = (lo - 1, hi) if side < 0 else (lo, hi + 1)
        a, b = clauses[lo][0], clauses[hi][1]
        if b - a > limit:
            b = a + limit
        return trim(text, a, b)


def load_places() -> list[str]:
    """The bundled list of place names (``qa/data/places.txt``)."""
    from importlib.resources import files

    text = files("qa").joinpath("data/places.txt").read_text(encoding="utf-8")
    return [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]
