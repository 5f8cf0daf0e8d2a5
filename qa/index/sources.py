"""The source texts of an index's documents, which chunk, citation and span offsets index.

A short answer is copied verbatim from its document's text (a policy document is tens of KB,
so a few dozen are kept in memory), and the answerer asks whether the article a passage belongs
to names a term elsewhere (a news item names its year once, at its head).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qa.index.chunkstore import ChunkStore
from qa.index.segments import SegmentedChunks
from qa.index.store import index_error, source_path
from qa.types import Hit

# Source texts kept in memory for span offsets.
_SOURCE_MEMO = 64
# Chunks of a document read to find what its article says elsewhere (a bound for huge files).
_ARTICLE_ROWS = 2000


class Sources:
    """Reads documents' texts from an index version, and what their articles mention.

    Args:
        directory: The index directory (for messages).
        data: The committed version directory holding ``sources/``.
        chunks: The chunk store.
        fold: The tokenizer's folding (traditional → simplified, lower case).
    """

    def __init__(self, directory: Path, data: Path, chunks: ChunkStore | SegmentedChunks,
                 fold: Callable[[str], str]) -> None:
        self._directory = directory
        self._data = data
        self._chunks = chunks
        self._fold = fold
        self._texts: dict[str, str] = {}

    def text(self, doc: str) -> str:
        """The text of document ``doc``.

        Raises:
            IndexUnusableError: When the index has no readable copy of it.
        """
        text = self._texts.get(doc)
        if text is None:
            path = source_path(self._data, doc)
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise index_error(self._directory, f"{path} is unreadable ({exc})") from exc
            if len(self._texts) >= _SOURCE_MEMO:
                self._texts.clear()
            self._texts[doc] = text
        return text

    def in_article(self, hit: Hit, term: str) -> bool:
        """Whether the article of ``hit`` mentions ``term`` (folded, whitespace removed).

        The article is the hit's document's chunks under the same title.
        """
        for row in self._chunks.rows_of(hit.doc)[:_ARTICLE_ROWS]:
            chunk = self._chunks[int(row)]
            if chunk.title == hit.title and term in "".join(
                    self._fold(chunk.index_text()).split()):
                return True
        return False
