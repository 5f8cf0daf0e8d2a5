"""Fusing the lists of any two retrievers into one (RRF or a weighted score sum)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import FusionConfig
from qa.retrieval.base import Filter, Query, Retriever, ScoredId
from qa.retrieval.fusion import reciprocal_rank_fusion, weighted_fusion
from qa.types import Chunk

_HAN = re.compile(r"[\u4e00-\u9fff]")


def is_chinese(text: str) -> bool:
    """Two or more Han characters: the test the glossary expansion uses too."""
    return len(_HAN.findall(text)) >= 2


class Fuser:
    """Fuses a lexical and a semantic list per :class:`~qa.config.FusionConfig`.

    Args:
        config: Method, weights, RRF constant and candidate depth.
        order: A chunk id's position in corpus order (document id, then position in the
            document); equal fused scores are ordered by it, so results are deterministic
            whatever backends produced the lists.
    """

    def __init__(self, config: FusionConfig, order: Callable[[str], int]) -> None:
        self.config = config
        self._order = order

    def fuse(self, lexical: Sequence[ScoredId], semantic: Sequence[ScoredId], k: int,
             foreign: bool = False) -> list[ScoredId]:
        """Fuse one query's two lists and keep the top ``k``.

        ``foreign``: the query is not Chinese, so ``config.foreign_bm25_weight`` applies.
        """
        cfg = self.config
        key: dict[int, str] = {}

        def keyed(ranking: Sequence[ScoredId]) -> list[tuple[int, float]]:
            out = []
            for hit in ranking:
                position = self._order(hit.id)
                key[position] = hit.id
                out.append((position, hit.score))
            return out

        lists = [keyed(lexical), keyed(semantic)]
        own = foreign and cfg.foreign_bm25_weight is not None
        bm25 = cfg.foreign_bm25_weight if own and cfg.foreign_bm25_weight is not None \
            else cfg.bm25_weight
        if cfg.method == "rrf":
            fused = reciprocal_rank_fusion(lists, k=cfg.rrf_k, weights=[bm25, cfg.dense_weight])
        else:
            # weighted: foreign_bm25_weight is the BM25 share itself, as bm25_weight would be
            share = bm25 if own else cfg.bm25_weight / (cfg.bm25_weight + cfg.dense_weight)
            fused = weighted_fusion(lists, weights=[share, 1 - share])
        return [ScoredId(key[position], score) for position, score in fused[:k]]


class HybridRetriever:
    """Two retrievers' results fused; itself a :class:`~qa.retrieval.base.Retriever`.

    Each side contributes ``fuser.config.depth`` candidates (at least ``k``).
    """

    name = "hybrid"

    def __init__(self, lexical: Retriever, semantic: Retriever, fuser: Fuser) -> None:
        self.lexical = lexical
        self.semantic = semantic
        self.fuser = fuser

    @property
    def size(self) -> int:
        """Chunks the lexical side holds."""
        return self.lexical.size

    def search(
        self, queries: Sequence[Query], k: int, where: Filter | None = None
    ) -> list[list[ScoredId]]:
        """See :class:`~qa.retrieval.base.Retriever`."""
        depth = max(k, self.fuser.config.depth)
        lexical = self.lexical.search(queries, depth, where)
        semantic = self.semantic.search(queries, depth, where)
        return [
            self.fuser.fuse(lex, sem, k, foreign=not is_chinese(q.text))
            for q, lex, sem in zip(queries, lexical, semantic, strict=True)
        ]

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray | None = None) -> None:
        """Add to both sides."""
        self.lexical.add(chunks, vectors)
        self.semantic.add(chunks, vectors)

    def remove(self, chunk_ids: Iterable[str]) -> None:
        """Remove from both sides."""
        ids = list(chunk_ids)
        self.lexical.remove(ids)
        self.semantic.remove(ids)

    def save(self, directory: Path) -> dict[str, Any]:
        """Save both sides; the section holds theirs."""
        return {"lexical": self.lexical.save(directory),
                "semantic": self.semantic.save(directory)}

    def load(self, directory: Path, section: Mapping[str, Any]) -> None:
        """Load both sides from their sections."""
        self.lexical.load(directory, section["lexical"])
        self.semantic.load(directory, section["semantic"])
