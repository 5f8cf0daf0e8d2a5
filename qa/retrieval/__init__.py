"""Retrieval backends behind one seam keyed by chunk id (see :mod:`qa.retrieval.base`)."""

from qa.retrieval.base import Context, Filter, Lexicon, Query, Retriever, ScoredId, SentenceStore
from qa.retrieval.hybrid import Fuser, HybridRetriever

__all__ = ["Context", "Filter", "Fuser", "HybridRetriever", "Lexicon", "Query", "Retriever",
           "ScoredId", "SentenceStore"]
