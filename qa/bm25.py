"""BM25 stage: a term-major sparse matrix of precomputed BM25 weights.

Row ``t`` of the matrix holds, for every document containing term ``t``, that term's full BM25
contribution (idf × saturated, length-normalised tf). A query is then a sum of a few rows::

    scores[indices[indptr[t]:indptr[t + 1]]] += data[indptr[t]:indptr[t + 1]]

which is vectorised over documents (one ``np.bincount`` per query), so latency grows with the
postings of the query terms rather than with Python work per document.

Variants (:class:`~qa.config.BM25Config` ``variant``):

* ``lucene``: idf = ln(1 + (N - n + 0.5) / (n + 0.5)), never negative.
* ``okapi``: rank-bm25's ``BM25Okapi`` exactly: idf = ln(N - n + 0.5) - ln(n + 0.5), with negative
  idfs replaced by ``epsilon`` × the mean idf over the vocabulary.

Files written by :meth:`BM25Index.save`: ``bm25_vocab.json``, ``bm25_data.npy``,
``bm25_indices.npy``, ``bm25_indptr.npy``, ``bm25_params.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import BM25Config

FORMAT_VERSION = 1
VARIANTS = ("lucene", "okapi")
VOCAB_FILE = "bm25_vocab.json"
DATA_FILE = "bm25_data.npy"
INDICES_FILE = "bm25_indices.npy"
INDPTR_FILE = "bm25_indptr.npy"
PARAMS_FILE = "bm25_params.json"

SearchResult = tuple[np.ndarray, np.ndarray]


def check_config(config: BM25Config) -> None:
    """Reject settings BM25 cannot use.

    Raises:
        ValueError: Naming the bad value and what is allowed.
    """
    if config.variant not in VARIANTS:
        raise ValueError(f"BM25 variant {config.variant!r} is unknown; use one of {VARIANTS}")
    if not config.k1 >= 0:
        raise ValueError(f"BM25 k1 must be >= 0, got {config.k1}")
    if not 0 <= config.b <= 1:
        raise ValueError(f"BM25 b must be between 0 and 1, got {config.b}")


def idf_values(df: np.ndarray, n_docs: int, config: BM25Config) -> np.ndarray:
    """Return the idf of each term (float64) from its document frequency.

    For ``okapi`` this reproduces rank-bm25 to the bit: ``math.log`` per term and the mean idf
    summed left to right in vocabulary order, which must be first-occurrence order in the
    corpus, as rank-bm25's dict is.

    Args:
        df: Document frequency per term id.
        n_docs: Number of documents N.
        config: BM25 settings (``variant`` and ``epsilon``).
    """
    if config.variant == "lucene":
        n = df.astype(np.float64)
        return np.log(1.0 + (n_docs - n + 0.5) / (n + 0.5))
    idf = [math.log(n_docs - n + 0.5) - math.log(n + 0.5) for n in df.tolist()]
    total = 0.0
    for value in idf:
        total += value
    floor = config.epsilon * (total / len(idf)) if idf else 0.0
    return np.array([floor if v < 0 else v for v in idf], dtype=np.float64)


@dataclass(frozen=True, eq=False)
class BM25Index:
    """BM25 weights as a term-major CSR matrix (terms × documents).

    Attributes:
        vocab: Token → term id (row).
        data: float32 weight of each (term, document) posting.
        indices: Document id of each posting; ascending within a term's row.
        indptr: Row ``t`` spans ``indptr[t]:indptr[t + 1]``; ``len(vocab) + 1`` entries.
        n_docs: Number of documents N.
        avgdl: Mean document length in tokens.
        config: The settings the weights were computed with.
    """

    vocab: dict[str, int]
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_docs: int
    avgdl: float
    config: BM25Config

    @classmethod
    def build(cls, corpus_tokens: list[list[str]], config: BM25Config) -> BM25Index:
        """Index tokenized documents.

        Args:
            corpus_tokens: One token list per document, in document order (empty lists allowed).
            config: BM25 settings.

        Raises:
            ValueError: On an unknown variant, bad k1/b, or an empty corpus.
        """
        check_config(config)
        n_docs = len(corpus_tokens)
        if n_docs == 0:
            raise ValueError("cannot build a BM25 index over an empty corpus (0 documents)")
        vocab: dict[str, int] = {}
        # Ids in first-occurrence order: okapi's mean idf is summed in this order.
        ids = np.fromiter(
            (vocab.setdefault(tok, len(vocab)) for doc in corpus_tokens for tok in doc),
            dtype=np.int64,
        )
        doc_len = np.fromiter((len(doc) for doc in corpus_tokens), dtype=np.int64, count=n_docs)
        docs = np.repeat(np.arange(n_docs, dtype=np.int64), doc_len)
        # One sorted unique key per (term, doc) pair gives CSR order and tf in one pass.
        keys, tf = np.unique(ids * n_docs + docs, return_counts=True)
        terms, post_docs = np.divmod(keys, n_docs)
        df = np.bincount(terms, minlength=len(vocab))
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        avgdl = int(doc_len.sum()) / n_docs
        idf = idf_values(df, n_docs, config)
        k1, b = config.k1, config.b
        tf = tf.astype(np.float64)
        dl = doc_len[post_docs]
        # Same operation order as rank-bm25 so okapi weights agree in float64 before rounding.
        weight = idf[terms] * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)))
        return cls(
            vocab=vocab,
            data=weight.astype(np.float32),
            indices=post_docs.astype(np.int32 if n_docs < 2**31 else np.int64),
            indptr=indptr,
            n_docs=n_docs,
            avgdl=avgdl,
            config=config,
        )

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """Return the BM25 score of every document (float32, document order).

        A repeated token counts once per occurrence (as rank-bm25 does); unknown tokens add 0.
        """
        rows = [self.vocab[t] for t in query_tokens if t in self.vocab]
        if not rows:
            return np.zeros(self.n_docs, dtype=np.float32)
        spans = [(int(self.indptr[r]), int(self.indptr[r + 1])) for r in rows]
        docs = np.concatenate([self.indices[s:e] for s, e in spans])
        weights = np.concatenate([self.data[s:e] for s, e in spans])
        # bincount sums in float64, in query-token order per document.
        return np.bincount(docs, weights=weights, minlength=self.n_docs).astype(np.float32)

    def search(self, query_tokens: Sequence[str], k: int) -> SearchResult:
        """Return the top ``k`` documents, best first.

        Args:
            query_tokens: Tokens of one query.
            k: How many documents at most; larger than the corpus is fine.

        Returns:
            ``(doc_ids, scores)``: int64 ids and float32 scores, only documents scoring > 0,
            ties broken by the lower document id.

        Raises:
            ValueError: If ``k`` is not a positive integer.
        """
        return self.batch_search([query_tokens], k)[0]

    def batch_search(self, queries: Sequence[Sequence[str]], k: int) -> list[SearchResult]:
        """Search several queries; ``search(q)`` is ``batch_search([q])[0]`` by construction."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        return [top_k(self.scores(tokens), int(k)) for tokens in queries]

    def save(self, directory: Path) -> None:
        """Write the index files into ``directory`` (created if needed).

        The caller makes the whole index directory atomic (build in a temporary directory,
        then rename); this method only writes its five files.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / DATA_FILE, self.data, allow_pickle=False)
        np.save(directory / INDICES_FILE, self.indices, allow_pickle=False)
        np.save(directory / INDPTR_FILE, self.indptr, allow_pickle=False)
        _write_json(directory / VOCAB_FILE, self.vocab)
        params = {
            "format_version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "n_docs": self.n_docs,
            "avgdl": self.avgdl,
            "n_terms": len(self.vocab),
            "nnz": int(len(self.data)),
        }
        _write_json(directory / PARAMS_FILE, params)

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> BM25Index:
        """Read an index written by :meth:`save`.

        Args:
            directory: The index directory.
            mmap: Memory-map the arrays read-only instead of reading them into memory.

        Raises:
            ValueError: If a file is missing, truncated or inconsistent with the others; the
                message names the file.
        """
        directory = Path(directory)
        params = _read_json(directory / PARAMS_FILE)
        if not isinstance(params, dict) or params.get("format_version") != FORMAT_VERSION:
            version = params.get("format_version") if isinstance(params, dict) else None
            raise ValueError(
                f"{PARAMS_FILE}: format version {version!r}, expected {FORMAT_VERSION}"
            )
        try:
            config = BM25Config.from_dict(params["config"])
            n_docs, avgdl = int(params["n_docs"]), float(params["avgdl"])
            check_config(config)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{PARAMS_FILE} is corrupt: {exc}") from exc
        vocab = _read_json(directory / VOCAB_FILE)
        mode = "r" if mmap else None
        data = _read_array(directory / DATA_FILE, mode, np.floating)
        indices = _read_array(directory / INDICES_FILE, mode, np.integer)
        indptr = _read_array(directory / INDPTR_FILE, mode, np.integer)
        _check_consistent(vocab, data, indices, indptr, n_docs)
        return cls(vocab, data, indices, indptr, n_docs, avgdl, config)


def top_k(scores: np.ndarray, k: int) -> SearchResult:
    """Return the ``k`` best positive scores, best first, ties broken by the lower index."""
    candidates = np.flatnonzero(scores > 0)
    values = scores[candidates]
    if len(candidates) > k:
        # Partition first, but keep every candidate tied with the k-th score so the tie-break
        # by index below sees them all.
        kth = np.partition(values, len(values) - k)[len(values) - k]
        keep = values >= kth
        candidates, values = candidates[keep], values[keep]
    order = np.lexsort((candidates, -values))[:k]
    return candidates[order].astype(np.int64), values[order].astype(np.float32)


def _write_json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False)


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise ValueError(f"{path.name} is missing from {path.parent}")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(f"{path.name} is corrupt: {exc}") from exc


def _read_array(path: Path, mmap_mode: str | None, kind: type) -> np.ndarray:
    if not path.is_file():
        raise ValueError(f"{path.name} is missing from {path.parent}")
    try:
        array = np.load(path, allow_pickle=False, mmap_mode=mmap_mode)  # type: ignore[arg-type]
    except (OSError, ValueError, EOFError) as exc:  # truncated header/body, not a .npy file
        raise ValueError(f"{path.name} is corrupt or truncated: {exc}") from exc
    if not isinstance(array, np.ndarray) or array.ndim != 1 or not np.issubdtype(array.dtype, kind):
        raise ValueError(f"{path.name} is corrupt: expected a 1-d {kind.__name__} array")
    return array


def _check_consistent(
    vocab: Any, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, n_docs: int
) -> None:
    """Raise ValueError naming the file that disagrees with the others."""
    ids = list(vocab.values()) if isinstance(vocab, dict) else None
    if ids is None or not all(type(i) is int for i in ids) or sorted(ids) != list(range(len(ids))):
        raise ValueError(f"{VOCAB_FILE} is corrupt: term ids must be 0..n-1, each once")
    if len(indptr) != len(vocab) + 1:
        raise ValueError(
            f"{INDPTR_FILE} has {len(indptr)} entries but {VOCAB_FILE} has {len(vocab)} terms "
            f"(expected {len(vocab) + 1})"
        )
    if len(indptr) and (indptr[0] != 0 or np.any(np.diff(indptr) < 0)):
        raise ValueError(f"{INDPTR_FILE} is corrupt: must start at 0 and never decrease")
    nnz = int(indptr[-1]) if len(indptr) else 0
    if len(indices) != nnz:
        raise ValueError(f"{INDICES_FILE} has {len(indices)} entries, {INDPTR_FILE} says {nnz}")
    if len(data) != nnz:
        raise ValueError(f"{DATA_FILE} has {len(data)} entries, {INDPTR_FILE} says {nnz}")
    if nnz and (int(indices.min()) < 0 or int(indices.max()) >= n_docs):
        raise ValueError(f"{INDICES_FILE} is corrupt: document ids outside 0..{n_docs - 1}")
