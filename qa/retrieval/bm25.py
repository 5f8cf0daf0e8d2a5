"""The local BM25 backend: the BM25 matrix behind the :class:`Retriever` seam.

The matrix is :class:`qa.retrieval.bm25_matrix.BM25Index`.

Rows are the shared row space's (:mod:`qa.retrieval.rows`); what goes in and out are
chunk ids and a :class:`~qa.retrieval.base.Filter`, translated here into rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import BM25Config
from qa.errors import QAError
from qa.retrieval.base import Context, Filter, Query, ScoredId
from qa.retrieval.bm25_counts import LEN_FILE, ChunkCounts, tokenize_counts
from qa.retrieval.bm25_matrix import BM25Index
from qa.retrieval.bm25_segments import Segment, SegmentedBM25
from qa.retrieval.rows import RowSpace, SegmentedRows, filter_rows, without
from qa.tokens.tokenize import Tokenizer
from qa.types import Chunk


class BM25Retriever:
    """BM25 over the tokenizer's tokens.

    Args:
        tokenizer: The tokenizer the index is (or was) built with.
        config: BM25 parameters for building.
        space: The row space (row ↔ chunk id, filter columns); may be given after
            construction with :meth:`bind` (a build knows it only once the chunks are written).
        expand: Rewrites a question before tokenizing (English → added Chinese terms).
        progress: Show a progress bar while tokenizing in :meth:`add`.
        index: An index already built (or loaded).
        counts: The token counts of the chunks :meth:`add` will get, row for row
            (:mod:`qa.index.lexical`): then it tokenizes nothing.
    """

    name = "bm25"

    def __init__(
        self, tokenizer: Tokenizer, config: BM25Config | None = None,
        space: RowSpace | None = None, expand: Callable[[str], str] = lambda s: s,
        progress: bool = False, index: BM25Index | None = None,
        counts: ChunkCounts | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.config = config or BM25Config()
        self._space = space
        self._expand = expand
        self._progress = progress
        self._index: BM25Index | SegmentedBM25 | None = index
        self._removed = np.zeros(0, dtype=np.int64)
        self._counts = counts

    @classmethod
    def from_context(cls, ctx: Context) -> BM25Retriever:
        """A new, empty backend for an index with these settings (see :mod:`.backends`)."""
        return cls(ctx.tokenizer, ctx.settings.bm25, ctx.space, ctx.expand or (lambda s: s),
                   ctx.progress, counts=ctx.counts)

    def bind(self, space: RowSpace) -> None:
        """Set the row space the index's rows belong to."""
        self._space = space

    @property
    def index(self) -> BM25Index | SegmentedBM25:
        """The BM25 matrix (for diagnostics and the idf of the default lexicon)."""
        if self._index is None:
            raise QAError("the BM25 backend holds no index yet: add chunks or load one")
        return self._index

    @property
    def size(self) -> int:
        """Chunks indexed (tombstoned ones included)."""
        return 0 if self._index is None else self._index.n_docs

    def _rows(self) -> RowSpace:
        if self._space is None:
            raise QAError("the BM25 backend has no row space: call bind() first")
        return self._space

    def search(
        self, queries: Sequence[Query], k: int, where: Filter | None = None
    ) -> list[list[ScoredId]]:
        """See :class:`~qa.retrieval.base.Retriever`."""
        space = self._rows()
        rows = without(filter_rows(space, where), self._removed, self.size)
        index = self.index
        out = []
        for query in queries:
            tokens = self.tokenizer.tokenize_query(self._expand(query.text))
            if rows is None:
                ids, scores = index.search(tokens, k)
            else:
                all_scores = index.scores(tokens)[rows]
                order = np.lexsort((rows, -all_scores))[:k]
                keep = all_scores[order] > 0
                ids, scores = rows[order][keep], all_scores[order][keep]
            out.append([ScoredId(space.id_of(int(i)), float(s))
                        for i, s in zip(ids, scores, strict=True)])
        return out

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray | None = None) -> None:
        """Build a new BM25 index over ``chunks`` from their token counts.

        The statistics (idf, average length) are the corpus's, so chunks are added to an
        empty backend only; the writer rebuilds the index from every chunk's token counts
        on each update, handed over in the context. Without them, ``chunks`` are tokenized
        (in worker processes for many).

        Raises:
            QAError: When the backend already holds an index.
        """
        if self._index is not None:
            raise QAError("the local BM25 index is rebuilt from all chunks; add to a new one")
        counts = self._counts
        if counts is None or len(counts) != len(chunks):
            counts = tokenize_counts(self.tokenizer, (c.index_text() for c in chunks),
                                     len(chunks), self._progress)
        self._index = BM25Index.from_counts(counts, self.config)

    def remove(self, chunk_ids: Iterable[str]) -> None:
        """Tombstone chunks: they are never returned (statistics stay until a rebuild)."""
        space = self._rows()
        rows = [space.row_of(c) for c in chunk_ids]
        self._removed = np.union1d(self._removed, np.asarray(rows, dtype=np.int64))

    def save(self, directory: Path) -> dict[str, Any]:
        """Write the ``bm25_*`` files; the section records the variant and size.

        Raises:
            QAError: For a segmented index (its segments are written by the segment writer).
        """
        if not isinstance(self.index, BM25Index):
            raise QAError("a segmented BM25 index is saved segment by segment")
        self.index.save(directory)
        return {"backend": self.name, "variant": self.index.config.variant,
                "chunks": self.index.n_docs}

    def load(self, directory: Path, section: Mapping[str, Any]) -> None:
        """Memory-map the ``bm25_*`` files.

        Raises:
            ValueError: For a missing, truncated or inconsistent file.
        """
        names = section.get("segments")
        space = self._space
        if names is None or (list(names) == [""] and not isinstance(space, SegmentedRows)):
            self._index = BM25Index.load(directory)
            self.config = self._index.config
            return
        if not isinstance(space, SegmentedRows):
            raise ValueError("a segmented BM25 index needs a segmented chunk store")
        segments = []
        for i, name in enumerate(names):
            where = directory / name if name else directory
            index = BM25Index.load(where)
            try:
                lengths = np.load(where / LEN_FILE, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError, EOFError) as exc:
                raise ValueError(f"{where / LEN_FILE} is unreadable: {exc}") from exc
            segments.append(Segment(int(space.offsets[i]), index, lengths, space.dead(i)))
        self.config = segments[0].index.config
        self._index = SegmentedBM25(segments, self.config, space.physical, space.rank)
