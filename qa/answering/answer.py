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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from qa.answering.constraints import Constraints
from qa.answering.kinds import (
    JOB_TITLES,
    MARKUP,
    MULTI_PART,
    TITLED,
    UNIT_Q,
    YEAR,
    cue_score,
    fold,
    question_kind,
    skip_byline,
    stated_figures,
    trim,
    unit_class,
)
from qa.answering.placenames import english_places as english_places
from qa.answering.placenames import load_places as load_places
from qa.answering.span import SpanFinder
from qa.answering.spanrules import Tagger, source_offsets
from qa.config import FEATURES, AnswerConfig
from qa.retrieval.base import Lexicon, SentenceStore
from qa.text.chunk import chunk_sentences as chunk_sentences  # re-exported (old path)
from qa.text.chunk import sentence_spans
from qa.types import Answer, Hit

ABSTAIN_TEXT = "未在语料中找到依据 (no answer found in the corpus)。以下是最接近的段落。"

_CLAUSE = re.compile(r"[，,：:、]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_QUESTION_WORDS = re.compile(
    r"什么|哪个|哪些|哪几|哪里|哪儿|多少|几个|如何|怎样|怎么|是否|分别|请问|吗|呢|？|\?|。|，"
)


_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_POST = re.compile(JOB_TITLES)
# Question kinds whose answer must hold what is asked: a figure, a place, a date or a name.
_STRICT_KINDS = ("number", "place", "date", "title")
_KIND_LABELS = {
    "number": ("问题所问的数字", "figure"), "place": ("问题所问的地点", "place"),
    "date": ("问题所问的时间", "date"), "person": ("问题所问的人名", "name"),
    "title": ("问题所问的职务", "post"),
}
# Only these wordings ask for a figure for certain ("目标" or "规模" may ask what the goal is).
_STRICT_NUMBER = re.compile(
    r"多少|几[个家项条类种所座批次届倍]|比重|比例|占比|百分之|how (many|much)|what percentage"
    r"|what (?:is|was|are|were) the (?:\w+ ){0,2}(?:size|amount|value|number|revenue|investment"
    r"|capacity|growth rate)\b",
    re.I,
)


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


def _bigrams(text: str) -> set[str]:
    """Character bigrams of the Chinese runs in ``text``."""
    runs = _HAN_RUN.findall(text)
    return {run[i : i + 2] for run in runs for i in range(len(run) - 1)}


def _strict(kind: str, question: str) -> bool:
    """Whether ``question`` surely asks for a value of ``kind`` (then one must be found)."""
    return kind != "number" or _STRICT_NUMBER.search(question) is not None


_CUE = FEATURES.index("cue")


class Answerer:
    """Picks the answer sentence and decides whether to abstain.

    Args:
        config: Thresholds and sizes.
        tokenize: The index's query tokenizer.
        lexicon: The corpus's idf of a token (0 for one it lacks) and whether it mentions
            a (folded, whitespace-free) term.
        sentences: A passage's sentences and their vectors.
        places: Place names (provinces, cities) that mark a question as being
            about somewhere the corpus may not cover.
        entities: Dictionary terms naming things (districts, companies); a passage
            that does not mention one the question names cannot answer it.
        fold: Traditional→simplified and lower-case folding, as the tokenizer does it.
        source: The source file's text of a document (for the span's verbatim offsets).
        terms: The tokenizer's dictionary words (for the part-of-speech tagger).
        in_article: Whether a hit's article (its other passages) mentions a string.
        english_places: English place names with the Chinese name each stands for
            (Shanghai → 上海), so an English question is checked for the same places.
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
        english_places: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self._tokenize = tokenize
        self._idf = lexicon.idf
        self._sentences = sentences
        self._fold = fold
        self._source = source
        self._in_article = in_article
        self._tagger = Tagger(terms)
        self._spans = SpanFinder(tokenize, lexicon.idf, self._tagger, places)
        self._checks = Constraints(config, tokenize, lexicon, self._spans, places, entities,
                                   fold, english_places)

    def words(self, text: str) -> list[str]:
        """The words of ``text`` as jieba cuts them (with the index's dictionary)."""
        return [w for _a, _b, w, _t in self._tagger.tag(text)]

    def passage_scores(
        self, question: str, hits: Sequence[Hit], query_vector: np.ndarray
    ) -> list[float]:
        """Each hit's best answer window score (see :meth:`candidates`), 0 when it has none.

        A passage whose best sentence answers the question well outranks one that only
        shares its words in bulk: the search reorders its top passages by this.
        """
        best = [0.0] * len(hits)
        for c in self.candidates(question, hits, query_vector, depth=len(hits)):
            best[c.citation] = max(best[c.citation], c.score(self.config.weights))
        return best

    def candidates(
        self, question: str, hits: Sequence[Hit], query_vector: np.ndarray,
        depth: int | None = None,
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
        # "Who is the 美编": a name under another post (记者 杨光) does not answer it, so
        # when some window names the post asked, only those compete.
        posts = {t for t in tokens if _POST.fullmatch(t)} if kind == "person" else set()
        total = sum(weights.values())
        top = max((h.score for h in hits), default=0.0) or 1.0
        out: list[Candidate] = []
        top_hits = hits[: self.config.passages if depth is None else depth]
        cut = self._sentences.sentences_of([hit.text for hit in top_hits])
        for position, (hit, (spans, vectors)) in enumerate(zip(top_hits, cut, strict=True)):
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
        def holding(out: list[Candidate], test: Callable[[str], bool]) -> list[Candidate]:
            # the windows whose text passes ``test``, when some do; else all of them
            kept = [c for c in out if test(top_hits[c.citation].text[c.start : c.end])]
            return kept or out

        stated = stated_figures(self._fold(question))
        if stated:
            # "which brand grew by more than 30%": the windows that say 30% compete alone
            # (a figure the question gives is the surest word it shares)
            out = holding(out, lambda text: all(f in fold(text) for f in stated))
        if posts:
            out = holding(out, lambda text: any(p in text for p in posts))
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
        unknown = self._checks.unknown_anchor(question)
        if unknown:
            return self._abstain(question, hits, 0.0,
                                 f"语料未提及“{unknown}” (the corpus never mentions {unknown})")
        # The best window first; when it does not satisfy what the question constrains,
        # the next ones nearly as good (another sentence of the same passage, often) may.
        ranked = sorted(candidates, key=lambda c: (-c.score(cfg.weights), c.citation, c.start))
        top = ranked[0].score(cfg.weights)
        kind = question_kind(self._fold(question))
        if ranked[0].features[_CUE] == 0.0 and kind == "number" and _strict(kind, question):
            # 几章几条 over a sentence with no figure in 章 can only abstain; another sentence of
            # the same passage that has one, nearly as good, answers instead (a far weaker one,
            # or one from another passage, would answer near misses).
            same = [c for c in ranked if c.citation == ranked[0].citation
                    and c.features[_CUE] > 0 and c.score(cfg.weights) >= top - cfg.fallback_margin]
            if same:
                ranked = [same[0], *[c for c in ranked if c is not same[0]]]
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
        unit = UNIT_Q.search(folded)
        hit = hits[best.citation]
        start, end = self._window(question, hit.text, best.start, best.end)
        start = skip_byline(hit.text, start, end, question)
        years, names = self._checks.anchors(folded, self._tokenize(question))
        start, end = self._naming(hit.text, start, end, self._checks.organisations(names))
        found = self._spans.find(folded, kind, hit.text, start, end,
                                 unit.group(1) if unit else None, unit_class(folded))
        context = fold(" ".join((hit.title, hit.section, hit.text)))
        if MULTI_PART.search(question):
            # "A 和 B 分别…": each part may come from another passage, so any cited one counts.
            context = fold(" ".join(f"{h.title} {h.section} {h.text}" for h in hits))
        if kind not in ("number", "list"):
            # Who held which post, what was held when: a dated article answers for its year.
            context += " " + (hit.date or "")
        # A year inside a document's title (《…2035年远景目标纲要》) names the document,
        # not a year the passage gives figures for.
        dated = TITLED.sub("", context)
        missing = [a for a in (*years, *names) if a not in (dated if a in years else context)]
        if self._in_article is not None and not YEAR.search(hit.text[start:end]):
            # A news item on 2024's results names the year once, at its head, in another
            # passage of the same article; a sentence naming a year of its own (到2027年…)
            # speaks of that year, not the one asked.
            missing = [a for a in missing if not (a in years and self._in_article(hit, a))]
        if unit and unit.group(1) not in fold(hit.text[best.start : best.end]):
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
        problem = self._checks.unsupported(question, hit, start, end, found)
        if problem:
            return self._abstain(question, hits, 0.0, problem)
        if found is not None:
            start = self._drop_lead(question, hit.text, start, found.start)
            a, b = found.start, found.end
        else:
            a, b = start, end
        a, b = trim(hit.text, a, b)
        text = MARKUP.sub("", hit.text[start:end]).strip()
        cited = replace(hit, highlight=(start, end), span=(a, b))
        others = [h for i, h in enumerate(hits) if i != best.citation]
        span, s_lo, s_hi = self._verbatim(hit, a, b)
        return Answer(question, text, (cited, *others), False, round(confidence, 4), start, end,
                      span=span, span_start=s_lo, span_end=s_hi)

    @staticmethod
    def _naming(text: str, start: int, end: int, names: Sequence[str]) -> tuple[int, int]:
        """The window's sentences that name the organisations asked, when only some do.

        ``海信集团…第93位。澳柯玛集团…第176位。`` asked of 海信集团: the figure is the
        first sentence's.
        """
        if not names:
            return start, end
        sentences = [(start + a, start + b) for a, b in sentence_spans(text[start:end])]
        naming = [(a, b) for a, b in sentences if all(n in fold(text[a:b]) for n in names)]
        if not naming or len(naming) == len(sentences):
            return start, end
        return naming[0][0], naming[-1][1]

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
            return MARKUP.sub("", hit.text[a:b]).strip(), -1, -1
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
            if self._spans.overlap(weights, text[max(a, start) : b]) >= 0.34:
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
            self._spans.overlap(weights, text[a:b]) + 0.5 * cue_score(kind, text[a:b], question)
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
