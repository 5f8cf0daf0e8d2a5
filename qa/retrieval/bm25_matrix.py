"""BM25 stage: a term-major sparse matrix of precomputed BM25 weights.

Row ``t`` of the matrix holds, for every document containing term ``t``, that term's full BM25
contribution (idf × saturated, length-normalised tf). A query is then a sum of a few rows::

    scores[indices[indptr[t]:indptr[t + 1]]] += data[indptr[t]:indptr[t + 1]]

which is vectorised over documents (one ``np.add.at`` per query term, summed in float64), so
latency grows with the postings of the query terms rather than with Python work per document.
:meth:`BM25Index.search` finds the same top ``k`` faster, from a float32 pass and an exact
re-score of the few documents near the cut-off (:mod:`qa.retrieval.bm25_topk`).

Variants (:class:`~qa.config.BM25Config` ``variant``):

* ``lucene``: idf = ln(1 + (N - n + 0.5) / (n + 0.5)), never negative.
* ``okapi``: rank-bm25's ``BM25Okapi`` exactly: idf = ln(N - n + 0.5) - ln(n + 0.5), with negative
  idfs replaced by ``epsilon`` × the mean idf over the vocabulary.

Files written by :meth:`BM25Index.save` (see :mod:`qa.retrieval.bm25_files`):
``bm25_vocab.json``, ``bm25_data.npy``, ``bm25_indices.npy``, ``bm25_indptr.npy``,
``bm25_params.json``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.config import BM25Config
from qa.retrieval.bm25_files import (
    DATA_FILE,
    FORMAT_VERSION,
    INDICES_FILE,
    INDPTR_FILE,
    PARAMS_FILE,
    TF_FILE,
    VOCAB_FILE,
    read_arrays,
    read_params,
    write_files,
)
from qa.retrieval.bm25_topk import SearchResult, exact_scores, search_rows, top_k

if TYPE_CHECKING:
    from qa.retrieval.bm25_counts import ChunkCounts

__all__ = [
    "DATA_FILE", "FORMAT_VERSION", "INDICES_FILE", "INDPTR_FILE", "PARAMS_FILE", "VOCAB_FILE",
    "BM25Builder", "BM25Index", "SearchResult", "TokenCounts", "check_config", "encode_tokens",
    "idf_values", "top_k", "weights",
]
VARIANTS = ("lucene", "okapi")
# Memory-mapped indexes with more postings than this skip the document-id scan at load.
SCAN_AT_LOAD = 1 << 24


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


def weights(idf: np.ndarray | float, tf: np.ndarray, dl: np.ndarray, avgdl: float, k1: float,
            b: float) -> np.ndarray:
    """BM25 posting weights in float64 (the caller rounds them to float32).

    The one formula every index uses, so a segmented index's weights are a fresh build's bit
    for bit; the operation order is rank-bm25's, so okapi weights agree with it too.
    """
    f = tf.astype(np.float64, copy=False)
    return idf * (f * (k1 + 1) / (f + k1 * (1 - b + b * dl / avgdl)))


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
        tf: Each posting's term frequency (``bm25_tf.npy``), from which a segmented index
            (:mod:`qa.retrieval.bm25_segments`) scores with corpus-wide statistics; ``None``
            in an index written before it was kept.
    """

    vocab: dict[str, int]
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_docs: int
    avgdl: float
    config: BM25Config
    tf: np.ndarray | None = None

    @classmethod
    def build(cls, corpus_tokens: Sequence[Sequence[str]], config: BM25Config) -> BM25Index:
        """Index tokenized documents.

        Args:
            corpus_tokens: One token list per document, in document order (empty lists allowed).
            config: BM25 settings.

        Raises:
            ValueError: On an unknown variant, bad k1/b, or an empty corpus.

        For a corpus too large to hold as token lists, feed a :class:`BM25Builder` batch by
        batch (e.g. from :meth:`qa.tokens.tokenize.Tokenizer.tokenize_batches` with
        ``reduce=encode_tokens``); the result is the same.
        """
        builder = BM25Builder(config)
        builder.add(corpus_tokens)
        return builder.finish()

    @classmethod
    def from_counts(cls, counts: ChunkCounts, config: BM25Config) -> BM25Index:
        """Index chunks from their token counts (:mod:`qa.retrieval.bm25_counts`)."""
        counts = counts.canonical()
        builder = BM25Builder(config)
        builder.add_pairs(counts.vocab, np.diff(np.asarray(counts.ptr)), counts.terms,
                          counts.tf, counts.lengths)
        return builder.finish()

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """Return the BM25 score of every document (float32, document order).

        A repeated token counts once per occurrence (as rank-bm25 does); unknown tokens add 0.
        Each document's weights are summed in float64 in query-token order, then rounded.

        Raises:
            ValueError: If the postings hold a document id outside ``0..n_docs - 1`` (a
                corrupt memory-mapped ``bm25_indices.npy``; loading does not scan it).
        """
        return exact_scores(self._spans(query_tokens), self.indices, self.data, self.n_docs)

    def _spans(self, query_tokens: Sequence[str]) -> list[tuple[int, int]]:
        """The postings of each known query token, in query order, repeats included."""
        indptr = self.indptr
        rows = [self.vocab[t] for t in query_tokens if t in self.vocab]
        return [(int(indptr[r]), int(indptr[r + 1])) for r in rows]

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
        # Lucene weights are all positive, which lets search_rows find the exact top k from
        # a float32 pass; the result is top_k(self.scores(tokens), k) in every case.
        positive = self.config.variant == "lucene"
        return [
            search_rows(self._spans(tokens), self.indices, self.data, self.n_docs, int(k),
                        positive)
            for tokens in queries
        ]

    def save(self, directory: Path) -> None:
        """Write the index files into ``directory`` (created if needed).

        The caller makes the whole index directory atomic (build in a temporary directory,
        then rename); this method only writes its five files (:mod:`.bm25_files`).
        """
        params = {
            "config": self.config.to_dict(),
            "n_docs": self.n_docs,
            "avgdl": self.avgdl,
            "n_terms": len(self.vocab),
            "nnz": int(len(self.data)),
        }
        arrays = {"data": self.data, "indices": self.indices, "indptr": self.indptr}
        write_files(directory, self.vocab, arrays, params)
        if self.tf is not None:
            np.save(directory / TF_FILE, self.tf, allow_pickle=False)

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
        params = read_params(directory)
        try:
            config = BM25Config.from_dict(params["config"])
            n_docs, avgdl = int(params["n_docs"]), float(params["avgdl"])
            check_config(config)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{PARAMS_FILE} is corrupt: {exc}") from exc
        # Scanning every posting of a large memory-mapped index would read the whole file at
        # load (seconds at a million chunks); scores() checks document ids for free instead.
        scan_limit = SCAN_AT_LOAD if mmap else None
        vocab, data, indices, indptr = read_arrays(directory, n_docs, mmap, scan_limit)
        tf = None
        if (directory / TF_FILE).is_file():
            try:
                tf = np.load(directory / TF_FILE, mmap_mode="r" if mmap else None,
                             allow_pickle=False)
            except (OSError, ValueError, EOFError) as exc:
                raise ValueError(f"{TF_FILE} is corrupt or truncated: {exc}") from exc
            if tf.ndim != 1 or tf.dtype.kind not in "iu" or len(tf) != len(indices):
                raise ValueError(f"{TF_FILE} has {tf.shape} {tf.dtype}, expected "
                                 f"{len(indices)} term frequencies")
        return cls(vocab, data, indices, indptr, n_docs, avgdl, config, tf)


@dataclass(frozen=True)
class TokenCounts:
    """A batch of tokenized documents in compact form, as :func:`encode_tokens` makes it.

    Attributes:
        vocab: The batch's distinct tokens in first-occurrence order (local term ids).
        lengths: Tokens per document (int64).
        docs: Document of each (document, term) pair, 0-based within the batch, ascending.
        terms: Local term id of each pair.
        tf: How often the term occurs in the document.
    """

    vocab: list[str]
    lengths: np.ndarray
    docs: np.ndarray
    terms: np.ndarray
    tf: np.ndarray


def encode_tokens(corpus_tokens: Sequence[Sequence[str]]) -> TokenCounts:
    """Count a batch of token lists into :class:`TokenCounts`.

    Cheap to send between processes (one string per distinct token, then int arrays), so
    tokenizer workers can run it and hand :class:`BM25Builder` only counts.
    """
    local: dict[str, int] = {}
    ids = np.fromiter(
        (local.setdefault(tok, len(local)) for doc in corpus_tokens for tok in doc),
        dtype=np.int64,
    )
    lengths = np.fromiter(
        (len(doc) for doc in corpus_tokens), dtype=np.int64, count=len(corpus_tokens)
    )
    n_terms = max(len(local), 1)
    docs = np.repeat(np.arange(len(corpus_tokens), dtype=np.int64), lengths)
    # One sorted unique key per (doc, term) pair gives document order and tf in one pass.
    keys, tf = np.unique(docs * n_terms + ids, return_counts=True)
    pair_docs, pair_terms = np.divmod(keys, n_terms)
    return TokenCounts(
        vocab=list(local),
        lengths=lengths,
        docs=pair_docs.astype(np.int32),
        terms=pair_terms.astype(np.int32),
        tf=tf.astype(np.int32),
    )


class BM25Builder:
    """Builds a :class:`BM25Index` from batches of documents, in document order.

    Memory stays at a few int arrays per (document, term) pair, never the token strings,
    so a million chunks fit. Term ids follow first occurrence in the corpus, exactly as
    :meth:`BM25Index.build` numbers them.

    Args:
        config: BM25 settings.

    Raises:
        ValueError: On an unknown variant or bad k1/b.

    Example:
        >>> builder = BM25Builder(BM25Config())  # doctest: +SKIP
        >>> for counts in tokenizer.tokenize_batches(texts, reduce=encode_tokens):  # doctest: +SKIP
        ...     builder.add_counts(counts)
        >>> index = builder.finish()  # doctest: +SKIP
    """

    _BLOCK = 1 << 22  # postings weighted at a time, bounding float64 temporaries

    def __init__(self, config: BM25Config) -> None:
        check_config(config)
        self.config = config
        self._vocab: dict[str, int] = {}
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._lengths: list[np.ndarray] = []
        self._n_docs = 0

    @property
    def n_docs(self) -> int:
        """Documents added so far."""
        return self._n_docs

    def add(self, corpus_tokens: Sequence[Sequence[str]]) -> None:
        """Add the next documents as token lists."""
        self.add_counts(encode_tokens(corpus_tokens))

    def add_counts(self, counts: TokenCounts) -> None:
        """Add the next documents as :class:`TokenCounts` (e.g. made in a worker process)."""
        # Pairs come document by document (encode_tokens sorts them), so a count of pairs
        # per document is all that is kept of their documents.
        self.add_pairs(counts.vocab, np.bincount(counts.docs, minlength=len(counts.lengths)),
                       counts.terms, counts.tf, counts.lengths)

    def add_pairs(self, vocab: Sequence[str], per_doc: np.ndarray, terms: np.ndarray,
                  tf: np.ndarray, lengths: np.ndarray) -> None:
        """Add the next documents as (term, tf) pairs, document by document.

        Args:
            vocab: The tokens the pairs' term ids index, in order of first occurrence.
            per_doc: Pairs per document.
            terms: Term id of each pair.
            tf: Count of each pair.
            lengths: Tokens per document.
        """
        if not self._vocab:
            # The first batch numbers its terms as they come: its ids are already the index's.
            self._vocab = {tok: i for i, tok in enumerate(vocab)}
            mapped = np.asarray(terms, dtype=np.int32)
        else:
            known = self._vocab
            mapping = np.fromiter((known.setdefault(tok, len(known)) for tok in vocab),
                                  dtype=np.int64, count=len(vocab))
            mapped = (mapping[terms] if len(terms) else np.zeros(0, dtype=np.int64)
                      ).astype(np.int32)
        self._parts.append((np.asarray(per_doc), mapped, np.asarray(tf, dtype=np.int32)))
        self._lengths.append(np.asarray(lengths, dtype=np.int64))
        self._n_docs += len(lengths)

    def finish(self) -> BM25Index:
        """Compute the weights and return the index.

        Raises:
            ValueError: If no document was added.
        """
        from scipy import sparse

        n_docs = self._n_docs
        if n_docs == 0:
            raise ValueError("cannot build a BM25 index over an empty corpus (0 documents)")
        n_terms = len(self._vocab)
        doc_len = np.concatenate(self._lengths)
        doc_ptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.concatenate([p[0] for p in self._parts]), out=doc_ptr[1:])
        terms = np.concatenate([p[1] for p in self._parts])
        tf = np.concatenate([p[2] for p in self._parts])
        self._parts.clear()
        # Pairs arrive document by document; scipy's CSR → CSC conversion is a counting sort
        # that regroups them term by term and keeps documents ascending within a term.
        by_term = sparse.csr_matrix(
            (tf, terms, doc_ptr), shape=(n_docs, max(n_terms, 1))
        ).tocsc()
        del tf, terms
        indptr = np.asarray(by_term.indptr[: n_terms + 1], dtype=np.int64)
        post_docs = np.asarray(by_term.indices)
        post_tf = np.asarray(by_term.data)
        del by_term
        df = np.diff(indptr)
        avgdl = int(doc_len.sum()) / n_docs
        idf = idf_values(df, n_docs, self.config)
        k1, b = self.config.k1, self.config.b
        data = np.empty(len(post_docs), dtype=np.float32)
        term_of = np.repeat(np.arange(n_terms, dtype=np.int32), df)
        for start in range(0, len(data), self._BLOCK):
            end = min(start + self._BLOCK, len(data))
            term = term_of[start:end]
            f = post_tf[start:end].astype(np.float64)
            dl = doc_len[post_docs[start:end]]
            data[start:end] = weights(idf[term], f, dl, avgdl, k1, b)
        # uint16 halves the file; a chunk with a term 65,536 times would need int32.
        small = not len(post_tf) or int(post_tf.max()) < 2**16
        return BM25Index(
            vocab=self._vocab,
            tf=post_tf.astype(np.uint16 if small else np.int32),
            data=data,
            indices=post_docs.astype(np.int32 if n_docs < 2**31 else np.int64),
            indptr=indptr,
            n_docs=n_docs,
            avgdl=avgdl,
            config=self.config,
        )
