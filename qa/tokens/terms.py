"""The tokenizer's dictionary: curated domain terms plus terms found in the corpus.

``qa/data/terms.txt`` holds the curated terms (one per line, an optional jieba frequency after
a space); :func:`corpus_terms` adds the names a corpus itself marks as terms (quoted names,
enumeration items that recur), so segmentation keeps them whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent.parent / "data"  # qa/data
TERMS_FILE = DATA_DIR / "terms.txt"
STOPWORDS_FILE = DATA_DIR / "stopwords.txt"
_HAN = "\u4e00-\u9fd5"  # jieba's own Han range: a term outside it can never be cut out whole
_TERM_TEXT = re.compile(f"[{_HAN}0-9A-Za-z]+")
_QUOTED = re.compile(
    r"“([^“”\n]+)”|‘([^‘’\n]+)’|《([^《》\n]+)》|「([^「」\n]+)」|『([^『』\n]+)』"
)
_CLAUSE_SPLIT = re.compile(r"[，,。；;：:！!？?（）()“”‘’《》「」『』\[\]【】\s]+")
_LIST_ITEM = re.compile(f"[{_HAN}]{{3,8}}")
# An enumeration item holding one of these is a phrase ("游戏和工业医疗"), not a name.
_PHRASE_CHARS = frozenset("的了和与及或等在是将")


def parse_term(entry: str) -> tuple[str, int | None]:
    """Split ``WORD [FREQ] [POS]`` (jieba's user-dict syntax) into word and frequency.

    POS is dropped (cutting ignores it); the frequency is ``None`` when not given.

    Raises:
        ValueError: On an empty entry or a frequency below 1 (jieba's frequency 0 would change
            its process-wide HMM state).
    """
    parts = entry.split()
    if not parts:
        raise ValueError("empty dictionary term")
    freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    if freq is not None and freq < 1:
        raise ValueError(f"dictionary term {entry!r}: frequency must be at least 1, got {freq}")
    return parts[0], freq


def read_list(path: Path) -> list[str]:
    """Read a one-entry-per-line data file, skipping blank lines and ``#`` comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def curated_terms() -> list[str]:
    """The words of the curated domain dictionary (``qa/data/terms.txt``), without frequencies."""
    return [parse_term(entry)[0] for entry in read_list(TERMS_FILE)]


def merge_terms(sources: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """Merge entry lists (in increasing priority) into sorted ``WORD`` / ``WORD FREQ`` entries.

    One entry per word; a frequency given anywhere wins over none, a later one over an earlier.
    """
    merged: dict[str, int | None] = {}
    for source in sources:
        for entry in source:
            word, freq = parse_term(entry)
            if freq is not None or word not in merged:
                merged[word] = freq
    return tuple(w if f is None else f"{w} {f}" for w, f in sorted(merged.items()))


def _is_term(text: str) -> bool:
    """True for a plausible name: Han/ASCII alphanumerics only, with Han, not a phrase."""
    return (
        _TERM_TEXT.fullmatch(text) is not None
        and re.search(f"[{_HAN}]", text) is not None
        and not (set(text) & _PHRASE_CHARS)
    )


def corpus_terms(texts: Iterable[str], min_list_count: int = 2) -> list[str]:
    """Derive dictionary terms from the corpus itself.

    Two precise rules, because a bad term hides the words inside it from every query:

    * a string in “”, ‘’, 《》, 「」 or 『』 of 2–12 characters made only of Han characters and
      ASCII letters/digits (“链主”, 《实施方案》); anything with punctuation or spaces inside
      is a quotation, not a name;
    * an item of a 、-separated enumeration that sits between two 、 or between 、 and 等
      (“磁存储芯片、先进封装、新型显示技术等”), 3–8 Han characters, occurring at least
      ``min_list_count`` times in the corpus. The first item is skipped: its left edge is
      usually glued to a verb (“重点发展车规级芯片”).

    Args:
        texts: Raw document texts.
        min_list_count: How often an enumeration item must occur in all texts together.

    Returns:
        Sorted unique terms.
    """
    return TermCounts.of(texts).terms(min_list_count)


def _quoted_terms(text: str) -> set[str]:
    quoted = set()
    for match in _QUOTED.finditer(text):
        inner = next(g for g in match.groups() if g is not None).strip()
        if 2 <= len(inner) <= 12 and _is_term(inner) and not inner.isdigit():
            quoted.add(inner)
    return quoted


@dataclass
class TermCounts:
    """What :func:`corpus_terms` counts, kept so that an update recounts only what changed.

    Attributes:
        quoted: Each quoted term and how many documents quote it.
        items: Each enumeration item and ``[documents listing it, occurrences in all texts]``.

    :meth:`update` with the texts that leave and arrive gives the same counts as :meth:`of`
    over the texts after the update; only items new to the corpus are counted in the
    other texts.
    """

    quoted: dict[str, int] = field(default_factory=dict)
    items: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, texts: Iterable[str]) -> TermCounts:
        """The counts over ``texts``."""
        counts = cls()
        counts.update(added=list(texts))
        return counts

    def copy(self) -> TermCounts:
        """An independent copy."""
        return TermCounts(dict(self.quoted), {t: list(c) for t, c in self.items.items()})

    def terms(self, min_list_count: int = 2) -> list[str]:
        """The corpus terms (see :func:`corpus_terms`)."""
        items = {t for t, (_docs, n) in self.items.items() if n >= min_list_count}
        return sorted(set(self.quoted) | items)

    def update(self, removed: Sequence[str] = (), added: Sequence[str] = (),
               others: Callable[[], Iterable[str]] = lambda: ()) -> None:
        """Take the texts ``removed`` out and put ``added`` in.

        Args:
            removed: Texts of documents that leave the corpus.
            added: Texts of documents that join it.
            others: The texts of every other document after the update (read only when an
                item new to the corpus must be counted in them).
        """
        for text in removed:
            for term in _quoted_terms(text):
                left = self.quoted.get(term, 0) - 1
                if left > 0:
                    self.quoted[term] = left
                else:
                    self.quoted.pop(term, None)
            for item in set(_enumeration_items(text)):
                if item in self.items:
                    self.items[item][0] -= 1
        if removed:
            for item, n in _occurrences(sorted(self.items), list(removed)).items():
                self.items[item][1] -= n
            self.items = {t: c for t, c in self.items.items() if c[0] > 0}
        new: set[str] = set()
        for text in added:
            for term in _quoted_terms(text):
                self.quoted[term] = self.quoted.get(term, 0) + 1
            for item in set(_enumeration_items(text)):
                if item in self.items:
                    self.items[item][0] += 1
                else:
                    self.items[item] = [1, 0]
                    new.add(item)
        if added:
            for item, n in _occurrences(sorted(self.items), list(added)).items():
                self.items[item][1] += n
        if new:
            for item, n in _occurrences(sorted(new), others()).items():
                self.items[item][1] += n

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"quoted": {...}, "items": {...}}``, keys sorted."""
        return {"quoted": dict(sorted(self.quoted.items())),
                "items": dict(sorted(self.items.items()))}

    @classmethod
    def from_dict(cls, data: Any) -> TermCounts:
        """Read :meth:`to_dict`'s form back.

        Raises:
            ValueError: When it is not that form.
        """
        try:
            quoted = {str(k): int(v) for k, v in data["quoted"].items()}
            items = {str(k): [int(v[0]), int(v[1])] for k, v in data["items"].items()}
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ValueError(f"term counts are corrupt ({exc.__class__.__name__})") from exc
        return cls(quoted, items)


def _occurrences(words: list[str], texts: Iterable[str]) -> dict[str, int]:
    """How often each word occurs in all texts together (``str.count`` summed over texts).

    One Aho-Corasick pass over the texts for all words, instead of one pass per word: a
    corpus of 30M characters takes ~20 ms per word with ``str.count``, and a large corpus
    has tens of thousands of enumeration items.
    """
    counts = dict.fromkeys(words, 0)
    if not words:
        return counts
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for i, word in enumerate(words):
        automaton.add_word(word, i)
    automaton.make_automaton()
    found = [0] * len(words)
    # The automaton counts overlapping matches; str.count does not. They differ only for a
    # word that overlaps itself (its start is also its end, e.g. 哈哈哈), counted exactly.
    overlapping = [i for i, word in enumerate(words)
                   if any(word[:k] == word[-k:] for k in range(1, len(word)))]
    skip = set(overlapping)
    for text in texts:
        for _end, i in automaton.iter(text):
            if i not in skip:
                found[i] += 1
        for i in overlapping:
            found[i] += text.count(words[i])
    for word, n in zip(words, found, strict=True):
        counts[word] = n
    return counts


def _enumeration_items(text: str) -> Iterator[str]:
    """Yield the interior and 等-closed items of 、-separated lists in ``text``."""
    for clause in _CLAUSE_SPLIT.split(text):
        parts = clause.split("、")
        for i, part in enumerate(parts[1:], start=1):
            last = i == len(parts) - 1
            if last:
                if "等" not in part:
                    continue
                part = part.split("等", 1)[0]
            if _LIST_ITEM.fullmatch(part) and _is_term(part):
                yield part
