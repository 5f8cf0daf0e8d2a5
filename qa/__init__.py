"""Retrieval question answering with citations over Chinese policy documents.

Example:
    >>> from qa import QA
    >>> qa = QA.open("index", corpus="seeds")   # builds on first use
    >>> answer = qa.ask("哪个区布局磁存储芯片？")
    >>> answer.text, answer.citations[0].citation()
"""

from qa.api import QA
from qa.config import (
    AnswerConfig,
    BM25Config,
    ChunkConfig,
    DenseConfig,
    FusionConfig,
    Settings,
    TokenizerConfig,
)
from qa.errors import CorpusError, IndexUnusableError, QAError, QuestionError
from qa.types import Answer, Chunk, Hit

__version__ = "0.1.0"
__all__ = [
    "QA",
    "Answer",
    "AnswerConfig",
    "BM25Config",
    "Chunk",
    "ChunkConfig",
    "CorpusError",
    "DenseConfig",
    "FusionConfig",
    "Hit",
    "IndexUnusableError",
    "QAError",
    "QuestionError",
    "Settings",
    "TokenizerConfig",
]
