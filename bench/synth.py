"""Synthetic corpora of any size, recombined from the real sentences of ``seeds/``.

The seed documents are cut with the product's own cleaner and chunker; their sentences are
the vocabulary and their chunk lengths, titles and sections the shape. A synthetic chunk is a
run of seeded-random seed sentences whose length follows the real chunk-length distribution,
under a real title and section, so token statistics stay those of Chinese policy text (with
one caveat: a vocabulary of ~700 sentences is smaller than a province's, so postings are
longer and BM25 slower than on real text of the same size).

The corpus is stored compactly (sentence ids per chunk) and turned into text on demand, so a
million chunks cost tens of megabytes until written out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from qa.config import AnswerConfig, ChunkConfig
from qa.read.corpus import load_corpus
from qa.text.chunk import chunk_document, chunk_id, chunk_sentences
from qa.types import Chunk

CHUNKS_PER_DOC = 20


@dataclass(frozen=True)
class Seeds:
    """What the synthetic corpora are made of, all from the seed documents.

    Attributes:
        texts: The seed documents' full texts (for :func:`qa.tokens.tokenize.corpus_terms`).
        sentences: Distinct sentences of the seed chunks, sorted.
        chunk_lengths: Character length of every real seed chunk.
        heads: ``(title, section)`` of every real seed chunk.
    """

    texts: tuple[str, ...]
    sentences: tuple[str, ...]
    chunk_lengths: np.ndarray
    heads: tuple[tuple[str, str], ...]


def load_seeds(directory: Path) -> Seeds:
    """Clean and chunk the seed documents with the product's defaults and collect sentences.

    Raises:
        CorpusError: When ``directory`` has no readable document.
    """
    docs, _skipped = load_corpus(directory, lambda _msg: None)
    chunks = [c for doc in docs for c in chunk_document(doc, ChunkConfig())]
    # The sentences the product's sentence table holds: the same splitting, the same cuts.
    limit = AnswerConfig().max_chars
    sentences = sorted(
        {c.text[a:b].strip() for c in chunks for a, b in chunk_sentences(c.text, limit)} - {""}
    )
    return Seeds(
        texts=tuple(d.text for d in docs),
        sentences=tuple(sentences),
        chunk_lengths=np.array([len(c.text) for c in chunks], dtype=np.int64),
        heads=tuple((c.title, c.section) for c in chunks),
    )


@dataclass(frozen=True)
class SyntheticCorpus:
    """``n`` chunks as seed-sentence ids: chunk ``r`` is ``sent_ids[ptr[r]:ptr[r + 1]]``.

    Attributes:
        seeds: The seed material.
        ptr: ``n + 1`` offsets into ``sent_ids``.
        sent_ids: Sentence ids (into ``seeds.sentences``) of all chunks, concatenated.
        heads: Per chunk, an index into ``seeds.heads`` (shared by a document's chunks).
    """

    seeds: Seeds
    ptr: np.ndarray
    sent_ids: np.ndarray
    heads: np.ndarray

    def __len__(self) -> int:
        return len(self.ptr) - 1

    def doc_id(self, row: int) -> str:
        """The synthetic document a chunk belongs to."""
        return f"syn{row // CHUNKS_PER_DOC:07d}"

    def text(self, row: int) -> str:
        """The chunk text: its sentences joined."""
        sentences = self.seeds.sentences
        return "".join(sentences[i] for i in self.sent_ids[self.ptr[row] : self.ptr[row + 1]])

    def chunk(self, row: int) -> Chunk:
        """The chunk as the product stores it (made up offsets, real title and section)."""
        text = self.text(row)
        title, section = self.seeds.heads[self.heads[row]]
        doc = self.doc_id(row)
        return Chunk(
            # The product's id; the position within the document tells apart the chunks a
            # random recombination can repeat (ids must name one chunk each).
            id=chunk_id(doc, text, row % CHUNKS_PER_DOC),
            doc=doc, title=title, section=section, text=text,
            start=(row % CHUNKS_PER_DOC) * 400, end=(row % CHUNKS_PER_DOC) * 400 + len(text),
            line_start=row % CHUNKS_PER_DOC + 1, line_end=row % CHUNKS_PER_DOC + 1,
            doc_title=title,
        )

    def chunks(self) -> Iterator[Chunk]:
        """All chunks in row order, made one at a time."""
        return (self.chunk(r) for r in range(len(self)))

    def as_sequence(self) -> ChunkSequence:
        """All chunks as a sequence that makes each chunk when it is read (for ``add``)."""
        return ChunkSequence(self)

    def index_texts(self) -> Iterator[str]:
        """What both indexes are fed (:meth:`Chunk.index_text`), one at a time."""
        return (self.chunk(r).index_text() for r in range(len(self)))


class ChunkSequence(Sequence[Chunk]):
    """A synthetic corpus as a read-only sequence of chunks, made one at a time.

    What the product's backends take (:meth:`qa.retrieval.base.Retriever.add` wants a
    length), without a million chunk objects in memory at once.
    """

    def __init__(self, corpus: SyntheticCorpus) -> None:
        self._corpus = corpus

    def __len__(self) -> int:
        return len(self._corpus)

    @overload
    def __getitem__(self, row: int) -> Chunk: ...

    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...

    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        if isinstance(row, slice):
            return [self._corpus.chunk(r) for r in range(*row.indices(len(self)))]
        if not -len(self) <= row < len(self):
            raise IndexError(f"chunk {row} of {len(self)}")
        return self._corpus.chunk(row % len(self))

    def __iter__(self) -> Iterator[Chunk]:
        return self._corpus.chunks()


def make_corpus(seeds: Seeds, n: int, seed: int = 0) -> SyntheticCorpus:
    """Make ``n`` chunks deterministically from ``seed``.

    Each chunk draws a target length from the real chunk lengths and takes random seed
    sentences until it reaches it (so it overshoots by at most one sentence).
    """
    rng = np.random.default_rng(seed)
    lengths = np.array([len(s) for s in seeds.sentences], dtype=np.int64)
    targets = rng.choice(seeds.chunk_lengths, size=n)
    # Draw sentences in one stream, then cut it where each chunk's running length reaches
    # its target; refill when a draw runs out (rare).
    ptr = np.zeros(n + 1, dtype=np.int64)
    parts: list[np.ndarray] = []
    stream = rng.integers(0, len(lengths), size=8 * n + 64)
    cum = np.cumsum(lengths[stream])
    pos, base = 0, 0
    for r in range(n):
        start = pos
        goal = (cum[pos - 1] if pos else 0) + targets[r]
        pos = max(int(np.searchsorted(cum, goal, side="left")) + 1, start + 1)
        if pos > len(stream):  # pragma: no cover - 8 sentences per chunk on average is ample
            raise RuntimeError("synthetic sentence stream exhausted")
        base += pos - start
        ptr[r + 1] = base
    parts.append(stream[:pos])
    doc_heads = rng.integers(0, len(seeds.heads), size=(n + CHUNKS_PER_DOC - 1) // CHUNKS_PER_DOC)
    heads = np.repeat(doc_heads, CHUNKS_PER_DOC)[:n]
    return SyntheticCorpus(seeds, ptr, np.concatenate(parts).astype(np.int32), heads)
