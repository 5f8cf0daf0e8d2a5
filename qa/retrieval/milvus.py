"""The Milvus backends: BM25 and dense search in one Milvus collection per index.

``milvus-bm25`` (the lexical role) searches the collection's sparse field, which Milvus's
BM25 function fills from the chunk text through its jieba analyzer; ``milvus-dense`` (the
semantic role) searches the HNSW index of the passage vectors. Both translate a
:class:`~qa.retrieval.base.Filter` into a Milvus expression over the scalar fields, so
``--doc`` and ``--since/--until`` run inside Milvus. The collection is described in
:mod:`qa.retrieval.milvus_store`.

What stays in the index directory: the chunk store and the passage vectors (the answerer
and later updates read them, so nothing is re-embedded), and the BM25 term
statistics the answerer's idf comes from (``bm25_*``: the lexical backend's files). Those
files are segmented like a local index's (:mod:`qa.index.segments`), so an update writes
its own documents' rows there too, not the whole directory. The
manifest section of each role records the collection (uri and name), its chunk count and
the encoder and dimension; the token is never written.

Updates are proportional: the writer says which documents changed
(:attr:`~qa.retrieval.base.Context.changed`) and only their chunks are upserted or
deleted; the collection is never rewritten. Both backends of an index share one
:class:`~qa.retrieval.milvus_store.MilvusCollection` (through ``Context.shared``), so a
write reaches Milvus once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from qa.config import BackendConfig
from qa.errors import IndexUnusableError, QAError
from qa.retrieval.base import Context, Filter, Query, ScoredId, query_vectors
from qa.retrieval.bm25 import BM25Retriever
from qa.retrieval.bm25_matrix import BM25Index
from qa.retrieval.bm25_segments import SegmentedBM25
from qa.retrieval.milvus_store import MilvusCollection
from qa.retrieval.rows import RowSpace
from qa.tokens.tokenize import STOPWORDS_FILE, read_list
from qa.types import Chunk

# Extra hits asked for, to make up for ids the committed chunk store does not know (rows
# upserted by a write that crashed before its commit, until the next write removes them).
_SLACK = 10


_B = TypeVar("_B", bound="_MilvusBackend")


class _MilvusBackend:
    """What both roles share: the collection, the filter, the write, the section."""

    name = "milvus"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._config = ctx.settings.backend
        self._space: RowSpace | None = ctx.space
        self._removed: set[str] = set()
        self._size = 0
        self._dim: int | None = None

    @classmethod
    def from_context(cls: type[_B], ctx: Context) -> _B:
        """A new backend for an index with these settings (see :mod:`.backends`)."""
        return cls(ctx)

    def bind(self, space: RowSpace) -> None:
        """Set the chunk store whose ids results are checked against."""
        self._space = space

    @property
    def collection(self) -> MilvusCollection:
        """The index's collection, shared with the other role's backend."""
        cfg = self._config
        key = f"milvus {cfg.milvus_uri} {cfg.milvus_collection}"
        made = self._ctx.shared.get(key)
        if made is None:
            made = self._ctx.shared[key] = MilvusCollection(cfg, self._ctx.tokenizer.fold)
        if not isinstance(made, MilvusCollection):
            raise QAError(f"Context.shared[{key!r}] is not a Milvus collection")
        return made

    @property
    def size(self) -> int:
        """Chunks the collection holds for this index."""
        return self._size

    def _known(self, hits: list[tuple[str, float]], k: int) -> list[ScoredId]:
        """The first ``k`` hits the committed chunk store holds and nobody removed."""
        out = []
        for chunk_id, score in hits:
            if chunk_id in self._removed:
                continue
            if self._space is not None:
                try:
                    self._space.row_of(chunk_id)
                except KeyError:
                    continue
            out.append(ScoredId(chunk_id, score))
            if len(out) == k:
                break
        return out

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray | None = None) -> None:
        """Bring the collection up to date with ``chunks`` (every chunk of the index).

        Only the documents in ``Context.changed`` are written (all of them into a new
        collection when it is ``None``): their chunks upserted, their stale ones deleted.

        Raises:
            QAError: Without one passage vector per chunk.
        """
        if vectors is None or len(vectors) != len(chunks):
            raise QAError("the Milvus backend needs one passage vector per chunk")
        vectors = np.asarray(vectors, dtype=np.float32)
        collection = self.collection
        changed = self._ctx.changed
        self._dim = int(vectors.shape[1])
        if changed is None:
            if not collection.created:
                stopwords = [self._ctx.tokenizer.fold(w) for w in read_list(STOPWORDS_FILE)]
                collection.create(self._dim, self._encoder(), self._ctx.tokenizer.words,
                                  stopwords)
            changed = frozenset(c.doc for c in chunks)
        # The writer's rows (qa.index.chunkstore.ChunkRows) name their documents without
        # parsing every chunk; any other sequence is read.
        docs_of = getattr(chunks, "docs", None)
        docs = docs_of() if callable(docs_of) else [c.doc for c in chunks]
        rows = [r for r, doc in enumerate(docs) if doc in changed]
        collection.sync_documents(sorted(changed), [chunks[r] for r in rows], vectors[rows],
                                  self._ctx.held)
        self._size = len(chunks)

    def _encoder(self) -> dict[str, Any]:
        return {"name": self._ctx.settings.dense.encoder, "dim": self._dim}

    def remove(self, chunk_ids: Iterable[str]) -> None:
        """Stop returning these chunks (the collection loses them at the next write)."""
        self._removed.update(chunk_ids)

    def save(self, directory: Path) -> dict[str, Any]:
        """The manifest section: where the collection is and what it holds."""
        cfg = self._config
        return {"backend": self.name, "uri": cfg.milvus_uri, "collection": cfg.milvus_collection,
                "chunks": self._size, "dim": self._dim, "encoder": self._encoder()}

    def load(self, directory: Path, section: Mapping[str, Any]) -> None:
        """Connect to the collection ``section`` names and check it.

        Raises:
            IndexUnusableError: For a section without a collection, a missing collection,
                or one filled by another encoder or dimension.
            BackendError: When Milvus cannot be reached or refuses the token.
        """
        uri, name = section.get("uri"), section.get("collection")
        chunks, encoder = section.get("chunks"), section.get("encoder")
        if not (isinstance(uri, str) and isinstance(name, str) and isinstance(chunks, int)
                and isinstance(encoder, dict)):
            raise ValueError(f"the {self.name} section of the manifest lacks uri, collection, "
                             "chunks or encoder")
        cfg = self._config
        if (cfg.milvus_uri, cfg.milvus_collection) != (uri, name):
            self._config = BackendConfig.from_dict({**cfg.to_dict(), "milvus_uri": uri,
                                                    "milvus_collection": name})
        collection = self.collection
        if not collection.checked:
            collection.check(encoder)
        self._size, self._dim = chunks, section.get("dim")


class MilvusBM25Retriever(_MilvusBackend):
    """BM25 inside Milvus (its jieba analyzer), with local term statistics for the answerer.

    The statistics are the local BM25 backend's matrix (``bm25_*`` files), written with
    the index and never searched: :attr:`index` is what the answerer's idf reads.
    """

    name = "milvus-bm25"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._stats = BM25Retriever(ctx.tokenizer, ctx.settings.bm25, ctx.space,
                                    progress=ctx.progress, counts=ctx.counts)
        self._expand = ctx.expand or (lambda s: s)

    @property
    def index(self) -> BM25Index | SegmentedBM25:
        """The term statistics (vocabulary, document frequencies) of the corpus.

        One matrix, or one per segment after segmented updates (:mod:`qa.index.segments`).
        """
        return self._stats.index

    def search(
        self, queries: Sequence[Query], k: int, where: Filter | None = None
    ) -> list[list[ScoredId]]:
        """See :class:`~qa.retrieval.base.Retriever`; English questions are expanded first."""
        if not queries:
            return []
        found = self.collection.search_text([self._expand(q.text) for q in queries],
                                            k + _SLACK, where)
        return [self._known(hits, k) for hits in found]

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray | None = None) -> None:
        """Write the changed documents to the collection and count every chunk's terms."""
        super().add(chunks, vectors)
        self._stats.add(chunks)

    def save(self, directory: Path) -> dict[str, Any]:
        """Write the term statistics; the section records the collection as well."""
        stats = self._stats.save(directory)
        return {**super().save(directory), "variant": stats["variant"]}

    def load(self, directory: Path, section: Mapping[str, Any]) -> None:
        """Memory-map the term statistics, then connect to the collection."""
        self._stats.load(directory, section)
        super().load(directory, section)
        if self._stats.size != self._size:
            raise IndexUnusableError(
                f"the term statistics hold {self._stats.size} chunks, the manifest's "
                f"{self.name} section {self._size}: run qa build --rebuild"
            )


class MilvusDenseRetriever(_MilvusBackend):
    """Cosine similarity of the passage vectors over the collection's HNSW index."""

    name = "milvus-dense"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Query embeddings (folded first, as the corpus is simplified Chinese)."""
        if self._ctx.encoder is None:
            raise QAError("the Milvus dense backend was given no encoder")
        fold = self._ctx.tokenizer.fold
        return self._ctx.encoder().encode_queries([fold(t) for t in texts])

    def search(
        self, queries: Sequence[Query], k: int, where: Filter | None = None
    ) -> list[list[ScoredId]]:
        """See :class:`~qa.retrieval.base.Retriever`; queries without a vector are embedded."""
        if not queries:
            return []
        vectors = query_vectors(queries, self.encode)
        found = self.collection.search_vectors(vectors, k + _SLACK, where)
        return [self._known(hits, k) for hits in found]
