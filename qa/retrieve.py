"""Retrievers: BM25, dense and their hybrid, behind one small protocol.

A retriever maps a question to a best-first list of ``(row, score)`` pairs,
where ``row`` indexes the chunk list shared by both indexes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from .bm25 import BM25Index
from .config import FusionConfig
from .dense import DenseIndex, Encoder
from .fusion import reciprocal_rank_fusion, weighted_fusion
from .tokenize import Tokenizer

MODES = ("hybrid", "bm25", "dense")
Ranked = list[tuple[int, float]]


class Retriever(Protocol):
    """What every retriever offers; ``search(q)`` is ``batch_search([q])[0]``."""

    def batch_search(
        self, queries: Sequence[str], k: int, rows: np.ndarray | None = None
    ) -> list[Ranked]:
        """Best-first ``(row, score)`` lists, one per query, limited to ``rows`` if given."""
        ...

    def search(self, query: str, k: int, rows: np.ndarray | None = None) -> Ranked:
        """Best-first ``(row, score)`` list for one query."""
        ...


class BM25Retriever:
    """BM25 over the tokenizer's tokens.

    Args:
        tokenizer: The tokenizer the index was built with.
        index: The BM25 index.
        expand: Rewrites a question before tokenizing (English → added Chinese terms).
    """

    def __init__(
        self, tokenizer: Tokenizer, index: BM25Index, expand: Callable[[str], str] = lambda s: s
    ) -> None:
        self.tokenizer = tokenizer
        self.index = index
        self._expand = expand

    def batch_search(
        self, queries: Sequence[str], k: int, rows: np.ndarray | None = None
    ) -> list[Ranked]:
        """See :class:`Retriever`."""
        out = []
        for query in queries:
            tokens = self.tokenizer.tokenize_query(self._expand(query))
            if rows is None:
                ids, scores = self.index.search(tokens, k)
            else:
                all_scores = self.index.scores(tokens)[rows]
                order = np.lexsort((rows, -all_scores))[:k]
                keep = all_scores[order] > 0
                ids, scores = rows[order][keep], all_scores[order][keep]
            out.append([(int(i), float(s)) for i, s in zip(ids, scores, strict=True)])
        return out

    def search(self, query: str, k: int, rows: np.ndarray | None = None) -> Ranked:
        """See :class:`Retriever`."""
        return self.batch_search([query], k, rows)[0]


class DenseRetriever:
    """Cosine similarity of e5-style embeddings in FAISS.

    The encoder is created on first use (``encoder_factory``), once, under a lock:
    loading a model is the slowest part of start-up and BM25-only use needs none.
    """

    def __init__(
        self,
        index: DenseIndex,
        encoder_factory: Callable[[], Encoder],
        fold: Callable[[str], str] = lambda s: s,
    ) -> None:
        self.index = index
        self._factory = encoder_factory
        self._encoder: Encoder | None = None
        self._lock = threading.Lock()
        self._fold = fold

    @property
    def encoder(self) -> Encoder:
        """The query encoder, loaded on first use."""
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = self._factory()
        return self._encoder

    def encode(self, queries: Sequence[str]) -> np.ndarray:
        """Query embeddings, one row per query."""
        # The corpus is simplified Chinese; folding traditional queries helps the model too.
        return self.encoder.encode_queries([self._fold(q) for q in queries])

    def batch_search(
        self,
        queries: Sequence[str],
        k: int,
        rows: np.ndarray | None = None,
        vectors: np.ndarray | None = None,
    ) -> list[Ranked]:
        """See :class:`Retriever`; ``vectors`` are the queries' embeddings when already known."""
        if not queries:
            return []
        if vectors is None:
            vectors = self.encode(queries)
        if rows is None:
            ids, scores = self.index.batch_search(vectors, k)
        else:
            ids, scores = self.index.batch_search_within(vectors, k, rows)
        return [
            [(int(i), float(s)) for i, s in zip(id_row, score_row, strict=True) if i >= 0]
            for id_row, score_row in zip(ids, scores, strict=True)
        ]

    def search(self, query: str, k: int, rows: np.ndarray | None = None) -> Ranked:
        """See :class:`Retriever`."""
        return self.batch_search([query], k, rows)[0]


_HAN = re.compile(r"[\u4e00-\u9fff]")


def _is_chinese(text: str) -> bool:
    """Two or more Han characters: the test the glossary expansion uses too."""
    return len(_HAN.findall(text)) >= 2


class HybridRetriever:
    """BM25 and dense results fused (RRF by default, or a weighted score sum)."""

    def __init__(self, bm25: BM25Retriever, dense: DenseRetriever, config: FusionConfig) -> None:
        if config.method not in ("rrf", "weighted"):
            raise ValueError(f"Unknown fusion method {config.method!r}: use rrf or weighted.")
        self.bm25 = bm25
        self.dense = dense
        self.config = config

    def fuse(self, lexical: Ranked, semantic: Ranked, k: int, foreign: bool = False) -> Ranked:
        """Fuse one query's two lists and keep the top ``k``.

        ``foreign``: the query is not Chinese, so ``config.foreign_bm25_weight`` applies.
        """
        cfg = self.config
        own = foreign and cfg.foreign_bm25_weight is not None
        bm25 = cfg.foreign_bm25_weight if own else cfg.bm25_weight
        assert bm25 is not None  # for mypy: bm25_weight is a float
        if cfg.method == "rrf":
            fused = reciprocal_rank_fusion(
                [lexical, semantic], k=cfg.rrf_k, weights=[bm25, cfg.dense_weight]
            )
        else:
            # weighted: foreign_bm25_weight is the BM25 share itself, as bm25_weight would be
            share = bm25 if own else cfg.bm25_weight / (cfg.bm25_weight + cfg.dense_weight)
            fused = weighted_fusion([lexical, semantic], weights=[share, 1 - share])
        return fused[:k]

    def batch_search(
        self,
        queries: Sequence[str],
        k: int,
        rows: np.ndarray | None = None,
        vectors: np.ndarray | None = None,
    ) -> list[Ranked]:
        """See :class:`Retriever`; each side contributes ``config.depth`` candidates."""
        depth = max(k, self.config.depth)
        lexical = self.bm25.batch_search(queries, depth, rows)
        semantic = self.dense.batch_search(queries, depth, rows, vectors)
        return [
            self.fuse(lex, sem, k, foreign=not _is_chinese(q))
            for q, lex, sem in zip(queries, lexical, semantic, strict=True)
        ]

    def search(self, query: str, k: int, rows: np.ndarray | None = None) -> Ranked:
        """See :class:`Retriever`."""
        return self.batch_search([query], k, rows)[0]
