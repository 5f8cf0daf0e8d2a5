"""Sentence vectors for the answerer, embedded when a passage is first answered from.

The answerer scores every sentence window of the top passages by, among other features, its
dense similarity to the question. Those vectors used to be a table made at build time (about
four sentences per chunk, so most of the build's embedding work) although a query only ever
reads the sentences of its top five passages. ``python -m bench.sentences`` measures what
they buy against the passage vector standing in for each sentence (figures in the README:
they pay for themselves; the build-time table did not). So they are embedded here, on first
use, and kept in a bounded
cache keyed by the sentence's text (a sentence repeated in the overlap of two chunks, or asked
about again, is embedded once); the answers are the same as with the table.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from qa.text.chunk import chunk_sentences

# 20,000 sentences of 384 float32 dimensions: 30 MB, the sentences of ~5,000 passages.
CACHE_SENTENCES = 20_000


class SentenceVectors:
    """A passage's sentence spans (cut as the answerer cuts them) and their vectors.

    Args:
        embed: Passage-side embeddings of texts (one row each, L2-normalised), from the
            index's own encoder.
        max_chars: The answerer's ``max_chars``: sentences longer than this are cut at clauses.
        capacity: How many sentence vectors the cache keeps (least recently used go first).

    Safe to share between threads (the UI answers concurrent requests): the cache is locked;
    two threads may embed the same sentence at once, which costs time, not correctness.
    """

    def __init__(
        self,
        embed: Callable[[Sequence[str]], np.ndarray],
        max_chars: int,
        capacity: int = CACHE_SENTENCES,
    ) -> None:
        self._embed = embed
        self.max_chars = max_chars
        self.capacity = max(1, capacity)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.embedded = 0  # sentences embedded so far (for benchmarks and tests)

    def __len__(self) -> int:
        return len(self._cache)

    def sentences_of(
        self, texts: Sequence[str]
    ) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
        """For each passage text: its sentences' spans in it and their vectors (float32).

        What is not cached is embedded in one call for all the passages.
        """
        cut: list[tuple[list[tuple[int, int]], list[str]]] = []
        for text in texts:
            spans = chunk_sentences(text, self.max_chars)
            cut.append((spans, [text[a:b].strip() for a, b in spans]))
        wanted = list(dict.fromkeys(k for _spans, keys in cut for k in keys))
        with self._lock:
            found = {k: v for k in wanted if (v := self._cache.get(k)) is not None}
            for k in found:
                self._cache.move_to_end(k)
        missing = [k for k in wanted if k not in found]
        if missing:
            vectors = np.asarray(self._embed(missing), dtype=np.float32)
            fresh = dict(zip(missing, vectors, strict=True))
            found.update(fresh)
            with self._lock:
                self.embedded += len(missing)
                self._cache.update(fresh)
                while len(self._cache) > self.capacity:
                    self._cache.popitem(last=False)
        out = []
        for spans, keys in cut:
            if keys:
                out.append((spans, np.stack([found[k] for k in keys])))
            else:
                out.append((spans, np.zeros((0, 0), dtype=np.float32)))
        return out
