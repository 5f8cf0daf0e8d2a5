"""The retrieval seam: what every backend takes and returns, keyed by chunk id.

A backend (:class:`Retriever`) is given :class:`Query` objects and a :class:`Filter`, and
answers with best-first :class:`ScoredId` lists. Row numbers, if a backend has them (the
local BM25 and FAISS backends do), stay inside it; chunk ids cross the boundary. A server
backend (Milvus, Elasticsearch) translates the same filter into its own query language.

The answerer reads the corpus through two more small protocols: a :class:`Lexicon` (idf of
a token, whether the corpus mentions a term) and a :class:`SentenceStore` (a passage's
sentence spans and their embeddings).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from qa.config import Settings
from qa.retrieval.encoders import Encoder
from qa.tokens.tokenize import Tokenizer
from qa.types import Chunk

if TYPE_CHECKING:
    from qa.retrieval.bm25_counts import ChunkCounts
    from qa.retrieval.rows import RowSpace


@dataclass(frozen=True)
class Query:
    """One question as a backend sees it.

    Attributes:
        text: The question (a lexical backend tokenizes it).
        vector: Its embedding by the index's encoder, when the caller has it; a dense
            backend embeds ``text`` otherwise.
    """

    text: str
    vector: np.ndarray | None = None


def query_vectors(queries: Sequence[Query],
                  encode: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
    """The queries' vectors, one float32 row each; those without one are ``encode``-d."""
    missing = [i for i, q in enumerate(queries) if q.vector is None]
    given = {i: q.vector for i, q in enumerate(queries) if q.vector is not None}
    if missing:
        made = encode([queries[i].text for i in missing])
        given.update({i: made[j] for j, i in enumerate(missing)})
    return np.stack([np.asarray(given[i], dtype=np.float32) for i in range(len(queries))])


@dataclass(frozen=True)
class Filter:
    """Which chunks may be returned; every backend translates it itself.

    Attributes:
        docs: Only chunks of these document ids (``None``: any document).
        since: Only chunks dated on or after this date key (``YYYYMMDD``); undated ones
            then never match.
        until: Only chunks dated on or before this date key.
    """

    docs: tuple[str, ...] | None = None
    since: int | None = None
    until: int | None = None

    @property
    def dated(self) -> bool:
        """Whether the filter restricts dates."""
        return self.since is not None or self.until is not None


@dataclass(frozen=True)
class ScoredId:
    """A chunk id and its score from one retriever (higher is better)."""

    id: str
    score: float


@dataclass(frozen=True)
class Context:
    """What a backend may need to be made: settings, tokens, the encoder, the row space.

    Attributes:
        settings: The index's build settings.
        tokenizer: The index's tokenizer (its dictionary included).
        encoder: Makes the index's encoder, on first use.
        space: The local row space (chunk store), for backends that keep rows.
        expand: Rewrites a question before a lexical backend tokenizes it.
        progress: Show progress while adding.
        changed: For a backend keeping its index outside the index directory (a server):
            the documents whose chunks differ from what it already holds (added, replaced,
            removed), so :meth:`Retriever.add` writes only those; ``None``: it holds
            nothing yet (a fresh collection), write everything.
        shared: Objects the backends of one index share for one write or load (a
            connection to the collection both roles live in), by key.
        counts: The token counts of the chunks a write adds, row for row, when the writer
            has them (:mod:`qa.index.lexical`): a lexical backend then need not tokenize.
        held: For some of the ``changed`` documents, the chunk ids the backend is known to
            hold now (the committed version's): it need not look them up.
    """

    settings: Settings
    tokenizer: Tokenizer
    encoder: Callable[[], Encoder] | None = None
    space: RowSpace | None = None
    expand: Callable[[str], str] | None = None
    progress: bool = False
    changed: frozenset[str] | None = None
    shared: dict[str, Any] = field(default_factory=dict)
    counts: ChunkCounts | None = None
    held: Mapping[str, Sequence[str]] | None = None


@runtime_checkable
class Retriever(Protocol):
    """A retrieval backend: searching, updating and persisting, all by chunk id.

    ``name`` is the backend's name in the manifest's ``backends`` section (``bm25``,
    ``faiss``, …; see :mod:`qa.retrieval.backends`).
    """

    name: str

    def search(
        self, queries: Sequence[Query], k: int, where: Filter | None = None
    ) -> list[list[ScoredId]]:
        """Best-first ``k`` chunk ids per query, only chunks ``where`` allows."""
        ...

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray | None = None) -> None:
        """Index ``chunks`` (with their passage ``vectors``, for a dense backend)."""
        ...

    def remove(self, chunk_ids: Iterable[str]) -> None:
        """Stop returning these chunks."""
        ...

    def save(self, directory: Path) -> dict[str, Any]:
        """Write the backend's files into ``directory``; return its manifest section."""
        ...

    def load(self, directory: Path, section: Mapping[str, Any]) -> None:
        """Read what :meth:`save` wrote (``section`` is its manifest section)."""
        ...

    @property
    def size(self) -> int:
        """How many chunks the backend holds."""
        ...


class Lexicon(Protocol):
    """Corpus statistics the answerer and the English expansion need."""

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token; 0 for a token the corpus lacks."""
        ...

    def mentions(self, term: str) -> bool:
        """Whether any chunk contains ``term`` (folded, whitespace removed)."""
        ...

    def chunks_of(self, token: str) -> np.ndarray:
        """The ascending chunk rows holding ``token``; empty for a token the corpus lacks."""
        ...

    @property
    def vocabulary(self) -> Mapping[str, int]:
        """The corpus tokens (a token → any integer)."""
        ...


class SentenceStore(Protocol):
    """Passages' sentences with their embeddings (see :mod:`qa.answering.sentences`)."""

    def sentences_of(
        self, texts: Sequence[str]
    ) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
        """For each passage text: its sentences' spans and their vectors (float32, one row each)."""
        ...
