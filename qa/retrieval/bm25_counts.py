"""Each chunk's token counts, kept in the index so an update tokenizes only what changed.

The BM25 weights depend on the whole corpus (idf, average length), the counts do not: an
update keeps the counts of every chunk whose tokens cannot have changed, tokenizes the rest,
and recomputes the weights from all counts (:class:`qa.retrieval.bm25_matrix.BM25Builder`
from :meth:`ChunkCounts.canonical`), which is numpy work over the postings, not jieba work
over the text. The BM25 files come out byte for byte as a fresh build writes them.

Files (``.npy`` arrays are memory-mapped on reading)::

    counts_vocab.json   the token table (a JSON list); ids index it. An update only appends
                        to it, so a table may hold tokens no chunk uses any more
    counts_ptr.npy      int64, ``n + 1``: chunk ``r``'s pairs are ``[ptr[r], ptr[r + 1])``
    counts_terms.npy    int32 token id of each (chunk, token) pair, in the order the tokens
                        first occur in the chunk
    counts_tf.npy       int32 occurrences of the token in the chunk
    counts_len.npy      int64 tokens per chunk
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.progress import bar
from qa.tokens.tokenize import Tokenizer

VOCAB_FILE = "counts_vocab.json"
PTR_FILE = "counts_ptr.npy"
TERMS_FILE = "counts_terms.npy"
TF_FILE = "counts_tf.npy"
LEN_FILE = "counts_len.npy"
FILES = (VOCAB_FILE, PTR_FILE, TERMS_FILE, TF_FILE, LEN_FILE)
_BATCH = 2000
# Below this many chunks, starting worker processes (~1 s each) costs more than it saves.
_PARALLEL_FROM = 20_000


@dataclass(frozen=True, eq=False)
class ChunkCounts:
    """Token counts of consecutive chunks (rows), chunk by chunk.

    Attributes:
        vocab: The token table the ids index (shared, never modified, by slices).
        ptr: int64 pair offsets, ``len(lengths) + 1`` entries starting at 0.
        terms: Token id of each pair.
        tf: Count of each pair.
        lengths: Tokens per chunk.
        ordered: The table is in order of first occurrence and holds only used tokens
            (:meth:`canonical`).
    """

    vocab: list[str]
    ptr: np.ndarray
    terms: np.ndarray
    tf: np.ndarray
    lengths: np.ndarray
    ordered: bool = False

    def __len__(self) -> int:
        return len(self.lengths)

    @classmethod
    def of_tokens(cls, token_lists: Sequence[Sequence[str]]) -> ChunkCounts:
        """Count token lists; a chunk's pairs follow the order its tokens first occur in."""
        local: dict[str, int] = {}
        ids = np.fromiter(
            (local.setdefault(tok, len(local)) for doc in token_lists for tok in doc),
            dtype=np.int64,
        )
        lengths = np.fromiter((len(doc) for doc in token_lists), dtype=np.int64,
                              count=len(token_lists))
        docs = np.repeat(np.arange(len(token_lists), dtype=np.int64), lengths)
        n_terms = max(len(local), 1)
        keys, first, tf = np.unique(docs * n_terms + ids, return_index=True, return_counts=True)
        # Positions are global, so ordering pairs by their first position orders them by
        # chunk, then by first occurrence inside the chunk.
        order = np.argsort(first, kind="stable")
        pair_docs, pair_terms = np.divmod(keys[order], n_terms)
        ptr = np.zeros(len(token_lists) + 1, dtype=np.int64)
        np.cumsum(np.bincount(pair_docs, minlength=len(token_lists)), out=ptr[1:])
        return cls(list(local), ptr, pair_terms.astype(np.int32), tf[order].astype(np.int32),
                   lengths)

    def plain(self) -> ChunkCounts:
        """The same counts over plain array views of the memory maps (cheaper slicing)."""
        return ChunkCounts(self.vocab, np.asarray(self.ptr), np.asarray(self.terms),
                           np.asarray(self.tf), np.asarray(self.lengths), self.ordered)

    def rows(self, start: int, end: int) -> ChunkCounts:
        """Chunks ``start:end`` (views; the token table is shared)."""
        a, b = int(self.ptr[start]), int(self.ptr[end])
        return ChunkCounts(self.vocab, np.asarray(self.ptr[start : end + 1]) - a,
                           self.terms[a:b], self.tf[a:b], self.lengths[start:end])

    @staticmethod
    def concat(parts: Sequence[ChunkCounts]) -> ChunkCounts:
        """The chunks of ``parts`` one after another, over one token table.

        The table is the first part's, extended by the other tables' new tokens; parts that
        share the first part's table keep their ids as they are.
        """
        if not parts:
            return ChunkCounts([], np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32),
                               np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64))
        base = max(parts, key=lambda p: len(p.vocab)).vocab
        vocab = list(base)
        index: dict[str, int] | None = None
        terms, tfs, lengths, sizes = [], [], [], []
        for part in parts:
            ids = np.asarray(part.terms)
            if part.vocab is not base:
                if index is None:
                    index = {tok: i for i, tok in enumerate(vocab)}
                remap = np.zeros(len(part.vocab), dtype=np.int64)
                for j, tok in enumerate(part.vocab):
                    i = index.get(tok)
                    if i is None:
                        i = index[tok] = len(vocab)
                        vocab.append(tok)
                    remap[j] = i
                ids = remap[ids] if len(ids) else ids
            terms.append(ids.astype(np.int32, copy=False))
            tfs.append(np.asarray(part.tf, dtype=np.int32))
            lengths.append(np.asarray(part.lengths, dtype=np.int64))
            sizes.append(np.diff(np.asarray(part.ptr)))
        ptr = np.zeros(sum(len(p) for p in parts) + 1, dtype=np.int64)
        np.cumsum(np.concatenate(sizes), out=ptr[1:])
        return ChunkCounts(vocab, ptr, np.concatenate(terms), np.concatenate(tfs),
                           np.concatenate(lengths))

    def canonical(self) -> ChunkCounts:
        """The same counts over a table in order of first occurrence over the chunks.

        That is the order a fresh build's :class:`~.bm25_matrix.BM25Builder` numbers terms
        in, and it drops tokens no chunk uses any more: whichever updates led to these
        counts, the files written are those of a fresh build.
        """
        if self.ordered:
            return self
        terms = np.asarray(self.terms)
        # Each token's first position (np.unique would sort all pairs: 15x slower).
        first = np.full(len(self.vocab), len(terms), dtype=np.int64)
        np.minimum.at(first, terms, np.arange(len(terms), dtype=np.int64))
        used = np.flatnonzero(first < len(terms))
        order = used[np.argsort(first[used], kind="stable")]
        rank = np.zeros(len(self.vocab), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        return ChunkCounts([self.vocab[i] for i in order.tolist()], np.asarray(self.ptr),
                           rank[terms], np.asarray(self.tf), np.asarray(self.lengths),
                           ordered=True)

    def save(self, directory: Path) -> None:
        """Write the ``counts_*`` files."""
        with open(directory / VOCAB_FILE, "w", encoding="utf-8") as fh:
            json.dump(self.vocab, fh, ensure_ascii=False)
        for name, array in ((PTR_FILE, self.ptr), (TERMS_FILE, self.terms), (TF_FILE, self.tf),
                            (LEN_FILE, self.lengths)):
            np.save(directory / name, np.asarray(array), allow_pickle=False)

    @classmethod
    def load(cls, directory: Path) -> ChunkCounts:
        """Memory-map the ``counts_*`` files.

        Raises:
            ValueError: For a missing file or files that disagree.
        """
        try:
            with open(directory / VOCAB_FILE, encoding="utf-8") as fh:
                vocab = json.load(fh)
            ptr, terms, tf, lengths = (
                np.load(directory / name, mmap_mode="r", allow_pickle=False)
                for name in (PTR_FILE, TERMS_FILE, TF_FILE, LEN_FILE))
        except (OSError, ValueError) as exc:
            raise ValueError(f"the token counts ({VOCAB_FILE}, counts_*.npy) are unreadable: "
                             f"{exc}") from exc
        if not isinstance(vocab, list) or len(ptr) != len(lengths) + 1 or \
                len(terms) != len(tf) or int(ptr[-1]) != len(terms):
            raise ValueError("the token counts (counts_*.npy) disagree with each other")
        return cls(vocab, ptr, terms, tf, lengths)


def count_tokens(token_lists: Sequence[Sequence[str]]) -> ChunkCounts:
    """:meth:`ChunkCounts.of_tokens`, as a module-level function for tokenizer workers."""
    return ChunkCounts.of_tokens(token_lists)


def tokenize_counts(tokenizer: Tokenizer, texts: Iterable[str], n: int,
                    progress: bool = False) -> ChunkCounts:
    """Tokenize ``n`` texts (in worker processes for many) into their counts, in order."""
    parallel = n >= _PARALLEL_FROM and (os.cpu_count() or 1) > 1
    pieces = []
    with bar(total=n, desc="分词 tokens", unit="段", enabled=progress and n > 0) as shown:
        for counts in tokenizer.tokenize_batches(texts, batch_size=_BATCH,
                                                 processes=None if parallel else 1,
                                                 reduce=count_tokens):
            pieces.append(counts)
            shown.update(len(counts))
    return ChunkCounts.concat(pieces)
