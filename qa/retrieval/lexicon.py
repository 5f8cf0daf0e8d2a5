"""The answerer's views of the index: a :class:`Lexicon` and a :class:`SentenceStore`.

Both are built from index files, not from a backend: idf from the BM25 index's document
frequencies (any term statistics would do), mentions from ``chunks_folded.txt``, sentences
from the sentence table, looked up by chunk id.
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Callable, Mapping

import numpy as np

from qa.types import SentenceTable

_MENTION_MEMO = 4096


class CorpusLexicon:
    """Lucene-style idf from document frequencies, and a scan of the folded corpus text.

    Args:
        vocabulary: Token → term id.
        df: Document frequency per term id.
        n_docs: Chunks in the corpus.
        folded: Every chunk's folded, whitespace-free text, one line each (memory-mapped).
    """

    def __init__(self, vocabulary: Mapping[str, int], df: np.ndarray, n_docs: int,
                 folded: mmap.mmap | bytes) -> None:
        self._vocab = vocabulary
        self._df = df
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


class TableSentences:
    """A :class:`~qa.types.SentenceTable` looked up by chunk id.

    Args:
        table: The sentence table, in chunk-store row order.
        row_of: A chunk id's row in that order.
    """

    def __init__(self, table: SentenceTable, row_of: Callable[[str], int]) -> None:
        self.table = table
        self._row_of = row_of

    def __len__(self) -> int:
        return len(self.table.ptr) - 1

    def sentences(self, chunk_id: str) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Spans of the chunk's sentences in its text, and their vectors (float32)."""
        row = self._row_of(chunk_id)
        lo, hi = int(self.table.ptr[row]), int(self.table.ptr[row + 1])
        spans = [(int(a), int(b)) for a, b in self.table.spans[lo:hi]]
        return spans, self.table.vectors_of(lo, hi)
