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

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .chunk import sentence_spans
from .config import AnswerConfig
from .types import Answer, Hit, SentenceTable

ABSTAIN_TEXT = "未在语料中找到依据 (no answer found in the corpus)。以下是最接近的段落。"

_NUMBER_Q = re.compile(
    r"多少|几[个家项年条类大种]|几|比重|比例|占比|规模|目标|增长|达到|多大|数量|金额"
    r"|how (many|much)|what (percentage|share|proportion|number|amount|target)|number of"
    r"|how large|how big",
    re.I,
)
_PLACE_Q = re.compile(r"哪个区|哪个市|哪里|哪儿|何处|什么地方|哪个地方|在哪|哪些区|哪个园区"
                      r"|where|which (district|city|area|region|park|zone)", re.I)
_DATE_Q = re.compile(r"什么时候|何时|哪[一几]?年|哪天|几月|日期|when|which year|what year|what date",
                     re.I)
_NUMBER_A = re.compile(
    r"\d+(\.\d+)?\s*(%|％|亿元|万元|亿|万|千亿|百亿|家|个|项|人|万人|吨|公里|千升|倍|元|场|条|年)"
)
_PLACE_A = re.compile(r"[\u4e00-\u9fff]{2,6}(新区|区|市|县|镇|园区|产业园|基地|开发区|园)")
_DATE_A = re.compile(r"\d{4}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}[—\-–]\d{4}")
_PERSON_Q = re.compile(r"谁|哪位|哪名|什么人|姓名|叫什么名字|who|which (reporter|official|person)",
                       re.I)
_LIST_Q = re.compile(r"哪些|哪几|分别是|包括什么|有哪|哪两|哪三|哪四|哪五|哪六|哪七|哪八"
                     r"|which (ones|industries|segments|companies|sectors|areas|fields)|list", re.I)
_PERSON_A = re.compile(r"(记者|市长|局长|主任|书记|博士|董事长|总经理|负责人)\s*[\u4e00-\u9fff]{2,3}"
                       r"|[\u4e00-\u9fff]{2,3}(表示|介绍|说)")
_MARKUP = re.compile(r"</?[a-zA-Z][^>]*>|\*\*")
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
_UNIT_Q = re.compile(r"多少(亿美元|万美元|美元|人次|万标准箱|标准箱|万辆|万吨|千升|平方米|公里|万台|艘|架次)")
_MULTI_PART = re.compile(r"分别|各是|各为|各自|各有多少|respectively|and (what|how)", re.I)
# Dictionary terms that name an organisation or a place, not a concept.
_NAME = re.compile(r"(集团|公司|银行|大学|研究院|港|示范区|新区|自贸区|开发区|园区|产业园|[区市县省])$")
_ANSWER_PATTERNS = {"number": _NUMBER_A, "place": _PLACE_A, "date": _DATE_A, "person": _PERSON_A}
FEATURES = ("lexical", "bigram", "dense", "passage", "cue", "pair", "short")


@dataclass(frozen=True)
class Candidate:
    """An answer candidate: a window of one or two sentences of a cited passage.

    Attributes:
        citation: Position of the passage among the hits.
        start: Window start within the passage text.
        end: Window end within the passage text.
        features: Values in the order of :data:`FEATURES`.
    """

    citation: int
    start: int
    end: int
    features: tuple[float, ...]

    def score(self, weights: Sequence[float]) -> float:
        """The weighted sum of the features."""
        return float(sum(w * f for w, f in zip(weights, self.features)))


def question_kind(question: str) -> str:
    """``date``, ``place``, ``person``, ``list``, ``number`` or ``other``, from the wording."""
    for kind, pattern in (
        ("date", _DATE_Q), ("place", _PLACE_Q), ("person", _PERSON_Q), ("list", _LIST_Q),
        ("number", _NUMBER_Q),
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


def chunk_sentences(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Sentence spans of ``text``, long sentences cut at clause marks to ``max_chars``."""
    out: list[tuple[int, int]] = []
    for start, end in sentence_spans(text):
        while end - start > max_chars:
            cut = start + max_chars
            marks = [m.end() for m in _CLAUSE.finditer(text, start + max_chars // 3, cut)]
            cut = marks[-1] if marks else cut
            out.append((start, cut))
            start = cut
        if text[start:end].strip():
            out.append((start, end))
    return out


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span to drop surrounding whitespace, list bullets and markup."""
    while start < end and (text[start].isspace() or text[start] in "-●•·*"):
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class Answerer:
    """Picks the answer sentence and decides whether to abstain.

    Args:
        config: Thresholds and sizes.
        tokenize: The index's query tokenizer.
        idf: Inverse document frequency of a token; 0 for a token the corpus lacks.
        sentences: The sentence table built with the index.
        places: Place names (provinces, cities) that mark a question as being
            about somewhere the corpus may not cover.
        entities: Dictionary terms naming things (districts, companies); a passage
            that does not mention one the question names cannot answer it.
        mentions: Whether the corpus text contains a (folded, whitespace-free) term.
        fold: Traditional→simplified and lower-case folding, as the tokenizer does it.
    """

    def __init__(
        self,
        config: AnswerConfig,
        tokenize: Callable[[str], list[str]],
        idf: Callable[[str], float],
        sentences: SentenceTable,
        places: Sequence[str] = (),
        entities: Sequence[str] = (),
        mentions: Callable[[str], bool] = lambda _term: True,
        fold: Callable[[str], str] = str.lower,
    ) -> None:
        self.config = config
        self._tokenize = tokenize
        self._idf = idf
        self._sentences = sentences
        self._places = tuple(places)
        self._entities = frozenset(entities)
        self._mentions = mentions
        self._fold = fold

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
        self, question: str, hits: Sequence[Hit], rows: Sequence[int], query_vector: np.ndarray
    ) -> list[Candidate]:
        """Every one- and two-sentence window of the top passages, with its features.

        Features (see :data:`FEATURES`): idf-weighted token coverage of the question,
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
        kind = question_kind(question)
        total = sum(weights.values())
        table = self._sentences
        top = max((h.score for h in hits), default=0.0) or 1.0
        out: list[Candidate] = []
        for position, (hit, row) in enumerate(zip(hits[: self.config.passages], rows)):
            lo, hi = int(table.ptr[row]), int(table.ptr[row + 1])
            if hi <= lo:
                continue
            sims = table.vectors_of(lo, hi) @ query_vector
            spans = [(int(a), int(b)) for a, b in table.spans[lo:hi]]
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
                lexical = sum(w for t, w in weights.items() if t in present) / total if total else 0.0
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
        rows: Sequence[int],
        query_vector: np.ndarray,
    ) -> Answer:
        """Choose the answer among the sentences of ``hits`` (chunk rows ``rows``).

        Returns:
            An :class:`Answer` whose first citation holds the answer sentence, or
            an abstention with the hits as the closest passages.
        """
        cfg = self.config
        candidates = self.candidates(question, hits, rows, query_vector)
        if not candidates:
            return Answer(question, ABSTAIN_TEXT, tuple(hits), True, 0.0)
        best = max(candidates, key=lambda c: (c.score(cfg.weights), -c.citation, -c.start))
        hit = hits[best.citation]
        context = _fold(" ".join((hit.title, hit.section, hit.text)))
        if _MULTI_PART.search(question):
            # "A 和 B 分别…": each part may come from another passage, so any cited one counts.
            context = _fold(" ".join(f"{h.title} {h.section} {h.text}" for h in hits))
        years, names = self.anchors(self._fold(question), self._tokenize(question))
        missing = [a for a in (*years, *names) if a not in context]
        unit = _UNIT_Q.search(self._fold(question))
        if unit and unit.group(1) not in _fold(hit.text[best.start : best.end]):
            missing.append(unit.group(1))  # asked in 万辆 or 人次: an answer without one is no answer
        # A question about another place, year or programme is not answered from a
        # passage about something else, however similar it reads.
        # Nor is a question that shares no specific word with the corpus (small talk,
        # keyboard noise, markup): similarity alone would always find a "closest" passage.
        words = set(self._tokenize(question))
        idfs = [self._idf(t) for t in words]
        share = sum(1 for v in idfs if v > 0) / len(words) if words else 0.0
        off_topic = sum(idfs) < cfg.min_question_idf or (
            len(_HAN.findall(question)) >= 2 and share < cfg.min_known_share
        )
        penalty = 0.0 if missing or off_topic or self.unknown_anchor(question) else 1.0
        # Reported in [0, 1]; the weighted score itself can pass 1 when every cue fires.
        confidence = min(best.score(cfg.weights), 1.0) * penalty
        if confidence < cfg.abstain_below:
            return Answer(question, ABSTAIN_TEXT, tuple(hits), True, round(confidence, 4))
        hit = hits[best.citation]
        start, end = self._window(question, hit.text, best.start, best.end)
        text = _MARKUP.sub("", hit.text[start:end]).strip()
        first = replace(hit, highlight=(start, end))
        others = [h for i, h in enumerate(hits) if i != best.citation]
        return Answer(question, text, (first, *others), False, round(confidence, 4), start, end)

    def _window(self, question: str, text: str, start: int, end: int) -> tuple[int, int]:
        """Cut a long sentence to its best clauses within ``config.max_chars``."""
        start, end = trim(text, start, end)
        kind = question_kind(question)
        weights = {t: self._idf(t) for t in set(self._tokenize(question))}
        limit = self.config.max_chars
        if end - start <= limit:
            return start, end
        bounds = [start] + [m.end() for m in _CLAUSE.finditer(text, start, end)] + [end]
        clauses = [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
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


def idf_lookup(vocab: dict[str, int], df: np.ndarray, n_docs: int) -> Callable[[str], float]:
    """Lucene-style idf of a token from document frequencies; 0 for unknown tokens."""

    def idf(token: str) -> float:
        tid = vocab.get(token)
        if tid is None:
            return 0.0
        d = float(df[tid])
        return math.log(1.0 + (n_docs - d + 0.5) / (d + 0.5))

    return idf
