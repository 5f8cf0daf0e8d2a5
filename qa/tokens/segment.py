r"""Word segmentation: jieba's algorithm and dictionary, run by jieba-rs (the ``rjieba`` package).

Python jieba segments about 0.35 M characters a second on one core, which made tokenizing a
100K-chunk corpus take longer than everything else in a build together. jieba-rs implements
the same prefix dictionary, DAG route and HMM in Rust, several times faster, but differs from
Python jieba in three places this module evens out, so tokens stay those of Python jieba
(``tests/test_segment.py`` compares both on the seeds, the questions and awkward strings):

* blocks: Python jieba cuts only runs of ``[\u4E00-\u9FD5a-zA-Z0-9+#&._%-]``; anything else
  (CJK extension A, symbols) comes out one character at a time. jieba-rs's runs are wider, so
  the text is split into Python's blocks here first;
* Latin runs the dictionary does not know (``W6X72-B``, ``COVID-19``, ``2020-2022``): jieba-rs
  keeps them whole, Python jieba splits them with ``[a-zA-Z0-9]+(?:\.\d+)?%?``;
* search mode: jieba-rs's ``cut_for_search`` adds other sub-words; Python jieba adds only the
  dictionary 2- and 3-grams of words longer than two characters, done here over the cut words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

# Python jieba's block and HMM patterns (jieba/__init__.py, jieba/finalseg/__init__.py).
_BLOCK = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&._%\\-]+)")
_SKIP = re.compile("(\r\n|\\s)")
_HAN_RUN = re.compile("([\u4e00-\u9fd5]+)")
_LATIN_RUN = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")
_ALL_HAN = re.compile("[\u4e00-\u9fd5]+")
# The memo of per-word results is dropped when it grows past this many words (a bound on
# memory for a vocabulary that never stops growing, e.g. numbers).
_MEMO_LIMIT = 500_000


class Segmenter:
    """jieba's ``cut`` / ``cut_for_search`` (HMM on) with extra dictionary words.

    Args:
        words: ``(word, frequency)`` pairs added in this order, a ``None`` frequency letting
            jieba suggest one (as ``jieba.add_word`` does).

    Safe to share between threads: jieba-rs's dictionary is only read after construction and
    the memo is a plain dict (single operations are atomic) whose worst race is computing a
    word twice.
    """

    def __init__(self, words: Iterable[tuple[str, int | None]] = ()) -> None:
        self._jieba = _new_jieba()
        for word, freq in words:
            self._jieba.add_word(word, freq, None)
        self._search: dict[str, tuple[str, ...]] = {}

    def cut(self, text: str) -> list[str]:
        """Python jieba's ``cut(text, HMM=True)``."""
        return list(self._words(text))

    def cut_for_search(self, text: str) -> list[str]:
        """Python jieba's ``cut_for_search(text, HMM=True)``.

        Each word gives its dictionary 2-grams (when longer than two characters) and 3-grams
        (longer than three), then itself.
        """
        memo = self._search
        out: list[str] = []
        for word in self._words(text):
            parts = memo.get(word)
            if parts is None:
                parts = self._search_parts(word)
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[word] = parts
            out.extend(parts)
        return out

    def add_words(self, words: Iterable[tuple[str, int | None]]) -> None:
        """Add more dictionary words (before cutting: the memo of sub-words is dropped)."""
        for word, freq in words:
            self._jieba.add_word(word, freq, None)
        self._search.clear()

    def suggest_freq(self, word: str) -> int:
        """Return jieba's suggested frequency for ``word``: the lowest that keeps it whole."""
        return int(self._jieba.suggest_freq(word))

    def has_word(self, word: str) -> bool:
        """True when ``word`` is in the dictionary (built-in or added)."""
        return bool(self._jieba.has_word(word))

    def _words(self, text: str) -> Iterator[str]:
        for block in _BLOCK.split(text):
            if not block:
                continue
            if _BLOCK.fullmatch(block):
                for word in self._jieba.cut(block, True):
                    if _ALL_HAN.fullmatch(word) or self._jieba.has_word(word):
                        yield word
                    else:
                        yield from _split_unknown(word)
            else:
                for piece in _SKIP.split(block):
                    if _SKIP.fullmatch(piece):
                        yield piece
                    else:
                        yield from piece

    def _search_parts(self, word: str) -> tuple[str, ...]:
        n = len(word)
        parts: list[str] = []
        if n > 2:
            parts.extend(g for g in (word[i : i + 2] for i in range(n - 1)) if self.has_word(g))
        if n > 3:
            parts.extend(g for g in (word[i : i + 3] for i in range(n - 2)) if self.has_word(g))
        parts.append(word)
        return tuple(parts)


def _split_unknown(word: str) -> Iterator[str]:
    """What Python jieba's HMM stage yields for a run the dictionary does not know."""
    for block in _HAN_RUN.split(word):
        if not block:
            continue
        if _HAN_RUN.fullmatch(block):
            yield block
        else:
            yield from (p for p in _LATIN_RUN.split(block) if p)


def _new_jieba() -> Any:
    try:
        import rjieba
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("qa.tokens.segment needs rjieba (jieba-rs): pip install rjieba") from exc
    return rjieba.Jieba()
