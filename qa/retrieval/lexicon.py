"""The answerer's view of the index's words: a :class:`~qa.retrieval.base.Lexicon`.

Built from index files, not from a backend: idf from the BM25 index's document frequencies
(any term statistics would do), mentions from ``chunks_folded.txt``.
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Mapping, Sequence

import numpy as np

from qa.retrieval.bm25_segments import SegmentedBM25

_MENTION_MEMO = 4096


class CorpusLexicon:
    """Lucene-style idf from document frequencies, and a scan of the folded corpus text.

    Args:
        vocabulary: Token → term id.
        indptr: The BM25 postings' row bounds: term id ``t`` is in the chunks
            ``indices[indptr[t]:indptr[t + 1]]`` (ascending); its document frequency is the
            row's length.
        indices: The BM25 postings' chunk rows.
        n_docs: Chunks in the corpus.
        folded: Every chunk's folded, whitespace-free text, one line each (memory-mapped).
    """

    def __init__(self, vocabulary: Mapping[str, int], indptr: np.ndarray, indices: np.ndarray,
                 n_docs: int, folded: mmap.mmap | bytes) -> None:
        self._vocab = vocabulary
        self._indptr = indptr
        self._indices = indices
        self._df = np.diff(np.asarray(indptr))
        self._n = n_docs
        self._folded = folded
        self._mentioned: dict[str, bool] = {}

    @property
    def vocabulary(self) -> Mapping[str, int]:
        """Token → term id."""
        return self._vocab

    def idf(self, token: str) -> float:
        """Lucene-style idf; 0 for a token the corpus lacks."""
        tid = self._vocab.get(token)
        if tid is None:
            return 0.0
        d = float(self._df[tid])
        return math.log(1.0 + (self._n - d + 0.5) / (d + 0.5))

    def chunks_of(self, token: str) -> np.ndarray:
        """The ascending chunk rows that hold ``token`` (empty for a token the corpus lacks)."""
        tid = self._vocab.get(token)
        if tid is None:
            return np.empty(0, dtype=np.int64)
        return np.asarray(self._indices[int(self._indptr[tid]):int(self._indptr[tid + 1])])

    def mentions(self, term: str) -> bool:
        """Whether any chunk contains ``term`` (whitespace removed, folded).

        One scan of the memory-mapped folded text (~0.1 s per 300 MB); the answers are
        remembered, since the same names come back in many questions.
        """
        known = self._mentioned.get(term)
        if known is None:
            known = self._folded.find(term.encode("utf-8")) >= 0
            if len(self._mentioned) >= _MENTION_MEMO:
                self._mentioned.clear()
            self._mentioned[term] = known
        return known


class SegmentedLexicon:
    """:class:`CorpusLexicon` for a segmented index: statistics of the live rows only.

    Args:
        bm25: The segmented BM25 matrix (live document frequencies, positions).
        vocabulary: The tokens some live row holds.
        folded: Each segment's folded text (one line per physical row) and its dead rows.
    """

    def __init__(self, bm25: SegmentedBM25, vocabulary: Mapping[str, int],
                 folded: Sequence[tuple[mmap.mmap | bytes, np.ndarray | None]]) -> None:
        self._bm25 = bm25
        self._vocab = vocabulary
        self._folded = tuple(folded)
        self._mentioned: dict[str, bool] = {}

    @property
    def vocabulary(self) -> Mapping[str, int]:
        """The tokens of the live rows."""
        return self._vocab

    def idf(self, token: str) -> float:
        """Lucene-style idf over the live rows; 0 for a token they lack."""
        d = float(self._bm25.df(token))
        if d == 0:
            return 0.0
        n = self._bm25.n_docs
        return math.log(1.0 + (n - d + 0.5) / (d + 0.5))

    def chunks_of(self, token: str) -> np.ndarray:
        """The ascending positions holding ``token``."""
        return self._bm25.chunks_of(token)

    def mentions(self, term: str) -> bool:
        """Whether a live chunk contains ``term`` (whitespace removed, folded)."""
        known = self._mentioned.get(term)
        if known is None:
            known = any(_live_find(text, dead, term.encode("utf-8"))
                        for text, dead in self._folded)
            if len(self._mentioned) >= _MENTION_MEMO:
                self._mentioned.clear()
            self._mentioned[term] = known
        return known


def _live_find(text: mmap.mmap | bytes, dead: np.ndarray | None, needle: bytes) -> bool:
    """Whether ``needle`` occurs in a line (row) of ``text`` that is not dead."""
    at = text.find(needle)
    while at >= 0:
        if dead is None:
            return True
        line = text.count(b"\n", 0, at) if isinstance(text, bytes) else \
            _count_lines(text, at)
        if line >= len(dead) or not dead[line]:
            return True
        end = text.find(b"\n", at)
        if end < 0:
            return False
        at = text.find(needle, end + 1)
    return False


def _count_lines(text: mmap.mmap, end: int) -> int:
    """Newlines in ``text[:end]`` (an mmap has no ``count``)."""
    return memoryview(text)[:end].tobytes().count(b"\n")
