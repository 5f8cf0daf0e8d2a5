"""The answerer's view of the index's words: a :class:`~qa.retrieval.base.Lexicon`.

Built from index files, not from a backend: idf from the BM25 index's document frequencies
(any term statistics would do), mentions from ``chunks_folded.txt``.
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Mapping

import numpy as np

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
