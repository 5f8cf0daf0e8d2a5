"""``chunks_folded.txt`` read lazily: rows decoded when an update needs them, not at load.

An update loads every document of the committed version (:func:`qa.index.plan.load_state`),
but needs the folded rows of few of them: the documents it moves or rewrites, and, when the
corpus dictionary changes, a scan for the changed terms (:meth:`FoldedFile.rows_holding`),
which runs over the whole text at once instead of row by row.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from qa.index.chunkstore import map_file


class FoldedFile:
    """One segment's ``chunks_folded.txt``: one line per row (memory-mapped).

    Raises:
        ValueError: When the file has fewer lines than ``rows``.
    """

    def __init__(self, path: Path, rows: int) -> None:
        self._data = map_file(path)
        self._rows = rows
        self._ends: np.ndarray | None = None
        self._lock = threading.Lock()
        if rows and len(self._data) == 0:
            raise ValueError(f"{path.name} has 0 rows, the chunk store {rows}")
        self._path = path

    def _line_ends(self) -> np.ndarray:
        if self._ends is None:
            with self._lock:
                if self._ends is None:
                    raw = np.frombuffer(self._data, dtype=np.uint8)
                    ends = np.flatnonzero(raw == 10)
                    if len(ends) < self._rows:
                        raise ValueError(f"{self._path.name} has {len(ends)} rows, the chunk "
                                         f"store {self._rows}")
                    self._ends = ends[: self._rows]
        return self._ends

    def row(self, r: int) -> str:
        """Row ``r``'s folded text."""
        ends = self._line_ends()
        start = int(ends[r - 1]) + 1 if r else 0
        return bytes(self._data[start : int(ends[r])]).decode("utf-8")

    def rows(self, start: int, end: int) -> FoldedRows:
        """Rows ``start:end`` as a lazy sequence."""
        return FoldedRows(self, start, end)

    def rows_holding(self, words: Iterable[str]) -> set[int]:
        """The rows whose text holds any of ``words`` (one Aho–Corasick pass over the file)."""
        import ahocorasick

        automaton = ahocorasick.Automaton()
        for word in words:
            automaton.add_word(word, len(word))
        if not len(automaton):
            return set()
        automaton.make_automaton()
        text = bytes(self._data).decode("utf-8")
        found: set[int] = set()
        line, last = 0, 0
        for end, _size in automaton.iter(text):
            line += text.count("\n", last, end)
            last = end
            if line < self._rows:
                found.add(line)
        return found


class FoldedRows(Sequence[str]):
    """Some consecutive rows of a :class:`FoldedFile`, decoded on access."""

    def __init__(self, file: FoldedFile, start: int, end: int) -> None:
        self.file, self.start, self.end = file, start, end

    def __len__(self) -> int:
        return self.end - self.start

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(f"folded row {i} out of range")
        return self.file.row(self.start + (i % len(self)))

    def __iter__(self) -> Iterator[str]:
        for r in range(self.start, self.end):
            yield self.file.row(r)
