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
from .types import Answer, Hit

ABSTAIN_TEXT = "未在语料中找到依据 (no answer found in the corpus)。以下是最接近的段落。"

_NUMBER_Q = re.compile(
    r"多少|几[个家项年条类大种]|几|比重|比例|占比|规模|目标|增长|达到|多大|数量|金额"
    r"|how (many|much)|what (percentage|share|proportion|number|amount|target)|number of"
    r"|how large|how big",
    re.I,
)
_PLACE_Q = re.compile(r"哪个区|哪个市|哪里|哪儿|何处|什么地方|哪个地方|在哪|哪些区|哪个园区"
                      r"|where|which (district|city|area|region|park|zone)", re.I)
_DATE_Q = re.compile(r"什么时候|何时|哪一?年|哪天|几月|日期|when|which year|what year|what date",
                     re.I)
_NUMBER_A = re.compile(
    r"\d+(\.\d+)?\s*(%|％|亿元|万元|亿|万|千亿|百亿|家|个|项|人|万人|吨|公里|千升|倍|元|场|条|年)"
)
_PLACE_A = re.compile(r"[\u4e00-\u9fff]{2,6}(新区|区|市|县|镇|园区|产业园|基地|开发区|园)")
_DATE_A = re.compile(r"\d{4}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}[—\-–]\d{4}")
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


@dataclass(frozen=True)
class SentenceTable:
    """Sentence spans of every chunk with their embeddings, made at build time.

    Attributes:
        ptr: ``ptr[r]:ptr[r + 1]`` are chunk ``r``'s sentences (CSR-style).
        spans: ``(n, 2)`` start/end offsets of each sentence within its chunk's text.
        vectors: ``(n, dim)`` normalised sentence embeddings (float16 on disk).
    """

    ptr: np.ndarray
    spans: np.ndarray
    vectors: np.ndarray


@dataclass(frozen=True)
class Candidate:
    """A scored answer candidate."""

    citation: int
    start: int
    end: int
    score: float
    lexical: float
    dense: float


def question_kind(question: str) -> str:
    """``number``, ``place``, ``date`` or ``other``, from the question's wording."""
    if _DATE_Q.search(question):
        return "date"
    if _PLACE_Q.search(question):
        return "place"
    if _NUMBER_Q.search(question):
        return "number"
    return "other"


def cue_score(kind: str, text: str) -> float:
    """1 when ``text`` holds what a question of ``kind`` asks for, else 0."""
    pattern = {"number": _NUMBER_A, "place": _PLACE_A, "date": _DATE_A}.get(kind)
    return 1.0 if pattern is not None and pattern.search(text) else 0.0


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
    """

    def __init__(
        self,
        config: AnswerConfig,
        tokenize: Callable[[str], list[str]],
        idf: Callable[[str], float],
        sentences: SentenceTable,
        places: Sequence[str] = (),
        entities: Sequence[str] = (),
    ) -> None:
        self.config = config
        self._tokenize = tokenize
        self._idf = idf
        self._sentences = sentences
        self._places = tuple(places)
        self._entities = frozenset(entities)

    def _coverage(self, weights: dict[str, float], text: str) -> float:
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        present = set(self._tokenize(text))
        return sum(w for t, w in weights.items() if t in present) / total

    def unknown_anchor(self, question: str) -> str | None:
        """A year or a place in the question that the corpus never mentions, if any.

        Such a question is about something else (烟台 instead of 青岛, 2030 when the
        documents stop at 2027); answering it from the nearest passage would mislead.
        """
        folded = question.lower()
        for match in _YEAR.finditer(folded):
            if self._idf(match.group()) == 0.0:
                return match.group()
        for place in self._places:
            if place.lower() in folded and self._idf(place.lower()) == 0.0:
                return place
        return None

    def anchors(self, question: str, tokens: Sequence[str]) -> list[str]:
        """What a passage must mention to answer ``question``: its years, quoted names
        and the domain-dictionary entities it names (districts, companies, programmes).

        Entities common to most passages (青岛) are not anchors: they tell nothing apart.
        """
        found = [m.group() for m in _YEAR.finditer(question)]
        found += [m.group(1) for m in _QUOTED.finditer(question)]
        found += [
            t for t in tokens if t in self._entities and len(t) >= 2 and self._idf(t) >= 1.0
        ]
        return list(dict.fromkeys(found))

    def _features(
        self, text: str, weights: dict[str, float], grams: set[str], kind: str
    ) -> tuple[float, float, float]:
        """Token coverage, character-bigram coverage and the type cue of ``text``."""
        lexical = self._coverage(weights, text)
        bigram = len(grams & _bigrams(text)) / len(grams) if grams else 0.0
        return lexical, bigram, cue_score(kind, text)

    def answer(
        self,
        question: str,
        hits: Sequence[Hit],
        rows: Sequence[int],
        query_vector: np.ndarray,
    ) -> Answer:
        """Choose the answer among the sentences of ``hits`` (chunk rows ``rows``).

        Candidates are single sentences and pairs of neighbouring sentences (an answer
        often follows the sentence that names the subject).

        Returns:
            An :class:`Answer` whose first citation holds the answer sentence, or
            an abstention with the hits as the closest passages.
        """
        cfg = self.config
        if not hits:
            return Answer(question, ABSTAIN_TEXT, (), True, 0.0)
        tokens = self._tokenize(question)
        weights = {t: self._idf(t) for t in set(tokens)}
        # English questions share almost no tokens with the Chinese corpus: rely on meaning.
        chinese = len(_HAN.findall(question)) >= 2
        known = sum(weights.values()) > 0
        grams = _bigrams(_QUESTION_WORDS.sub("", question)) if chinese else set()
        if not chinese:
            # Glossary terms the tokenizer added stand in for the question's Chinese bigrams.
            grams = {g for t in tokens for g in _bigrams(t)}
        kind = question_kind(question)
        table = self._sentences
        best: Candidate | None = None
        for position, (hit, row) in enumerate(zip(hits[: cfg.passages], rows)):
            prior = 1.0 / (1.0 + 0.25 * position)
            lo, hi = int(table.ptr[row]), int(table.ptr[row + 1])
            sims = table.vectors[lo:hi].astype(np.float32) @ query_vector if hi > lo else []
            spans = [(int(a), int(b)) for a, b in table.spans[lo:hi]]
            windows = [(j, j) for j in range(len(spans))] + [
                (j, j + 1) for j in range(len(spans) - 1)
                if spans[j + 1][1] - spans[j][0] <= cfg.max_chars
            ]
            for first, last in windows:
                start, end = spans[first][0], spans[last][1]
                text = hit.text[start:end]
                lexical, bigram, cue = self._features(text, weights, grams, kind)
                dense = float(np.clip((max(sims[first : last + 1]) - 0.75) / 0.2, 0.0, 1.0))
                if chinese:
                    score = 0.35 * lexical + 0.2 * bigram + 0.25 * dense + 0.1 * prior + 0.1 * cue
                elif known:
                    score = 0.25 * lexical + 0.1 * bigram + 0.4 * dense + 0.1 * prior + 0.15 * cue
                else:
                    score = 0.75 * dense + 0.1 * prior + 0.15 * cue
                score -= 0.02 * (last - first)
                if best is None or score > best.score:
                    best = Candidate(position, start, end, score, lexical, dense)
        if best is None:
            return Answer(question, ABSTAIN_TEXT, tuple(hits), True, 0.0)
        hit = hits[best.citation]
        context = _fold(" ".join((hit.title, hit.section, hit.text)))
        missing = [a for a in self.anchors(question, tokens) if _fold(a) not in context]
        penalty = 0.3 if self.unknown_anchor(question) else 0.6 ** len(missing)
        confidence = best.score * penalty
        if confidence < cfg.abstain_below:
            return Answer(question, ABSTAIN_TEXT, tuple(hits), True, round(confidence, 4))
        hit = hits[best.citation]
        start, end = self._window(question, hit.text, best.start, best.end, kind, weights)
        text = _MARKUP.sub("", hit.text[start:end]).strip()
        first = replace(hit, highlight=(start, end))
        others = [h for i, h in enumerate(hits) if i != best.citation]
        return Answer(question, text, (first, *others), False, round(confidence, 4), start, end)

    def _window(
        self, question: str, text: str, start: int, end: int, kind: str, weights: dict[str, float]
    ) -> tuple[int, int]:
        """Cut a long sentence to its best clauses within ``config.max_chars``."""
        start, end = trim(text, start, end)
        limit = self.config.max_chars
        if end - start <= limit:
            return start, end
        bounds = [start] + [m.end() for m in _CLAUSE.finditer(text, start, end)] + [end]
        clauses = [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
        scores = [
            self._coverage(weights, text[a:b]) + 0.5 * cue_score(kind, text[a:b])
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
