"""The tokenizer's dictionary: curated domain terms plus terms found in the corpus.

``qa/data/terms.txt`` holds the curated terms (one per line, an optional jieba frequency after
a space); :func:`corpus_terms` adds the names a corpus itself marks as terms (quoted names,
enumeration items that recur), so segmentation keeps them whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

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
    texts = list(texts)
    quoted: set[str] = set()
    items: set[str] = set()
    for text in texts:
        for match in _QUOTED.finditer(text):
            inner = next(g for g in match.groups() if g is not None).strip()
            if 2 <= len(inner) <= 12 and _is_term(inner) and not inner.isdigit():
                quoted.add(inner)
        items.update(_enumeration_items(text))
    counts = _occurrences(sorted(items), texts)
    items = {t for t, n in counts.items() if n >= min_list_count}
    return sorted(quoted | items)


def _occurrences(words: list[str], texts: list[str]) -> dict[str, int]:
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
    for text in texts:
        for _end, i in automaton.iter(text):
            found[i] += 1
    for word, n in zip(words, found, strict=True):
        # The automaton counts overlapping matches; str.count does not. They differ only for
        # a word that overlaps itself (its start is also its end, e.g. 哈哈哈).
        if n > 1 and any(word[:k] == word[-k:] for k in range(1, len(word))):
            n = sum(text.count(word) for text in texts)
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
