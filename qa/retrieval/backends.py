"""Backends by name: the manifest's ``backends`` section says which one wrote each role.

An index has two retrieval roles, ``lexical`` and ``semantic`` (the modes ``bm25`` and
``dense``; ``hybrid`` fuses them). Each role's manifest section names its backend; a new
backend is one module implementing :class:`~qa.retrieval.base.Retriever` plus its line in
:data:`BACKENDS`, with no change to :class:`qa.QA`, the answerer or the CLI.
"""

from __future__ import annotations

import importlib
from typing import Any

from qa.retrieval.base import Context, Retriever

ROLES = ("lexical", "semantic")
# name -> "module:factory"; imported only when an index uses it.
BACKENDS: dict[str, str] = {
    "bm25": "qa.retrieval.bm25:BM25Retriever",
    "faiss": "qa.retrieval.faiss:FaissRetriever",
    "milvus-bm25": "qa.retrieval.milvus:MilvusBM25Retriever",
    "milvus-dense": "qa.retrieval.milvus:MilvusDenseRetriever",
}
DEFAULTS = {"lexical": "bm25", "semantic": "faiss"}


def make_backend(name: str, ctx: Context) -> Retriever:
    """A new, empty backend ``name`` (see :data:`BACKENDS`).

    Raises:
        ValueError: For a name no backend has.
    """
    target = BACKENDS.get(name)
    if target is None:
        raise ValueError(f"unknown retrieval backend {name!r}: one of {', '.join(BACKENDS)}")
    module, _, attr = target.partition(":")
    factory: Any = getattr(importlib.import_module(module), attr)
    made: Retriever = factory.from_context(ctx)
    return made
