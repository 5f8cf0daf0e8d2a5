"""The row space the local backends share: row ↔ chunk id, and filters as rows.

The local BM25 and FAISS indexes and the chunk store are written in one row order (the
chunk store's: documents in id order, each document's chunks in source order). This is
an inside detail of those backends; nothing outside :mod:`qa.retrieval` sees a row
(:func:`checked_filter` hands out a :class:`Filter`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from qa.retrieval.base import Filter
from qa.types import date_key
from qa.validate import ArgumentError


class RowSpace(Protocol):
    """What the local backends need from the chunk store.

    That is :class:`qa.index.chunkstore.ChunkStore`.
    """

    def id_of(self, row: int) -> str:
        """The chunk id at ``row``."""
        ...

    def row_of(self, chunk_id: str) -> int:
        """The row of a chunk id."""
        ...

    def rows_of(self, docs: str | Sequence[str]) -> np.ndarray:
        """The rows of some documents, ascending."""
        ...

    def column(self, name: str) -> np.ndarray:
        """A per-row integer column (``date``: the chunk's date key, 0 when undated)."""
        ...

    def __len__(self) -> int: ...


@runtime_checkable
class SegmentedRows(RowSpace, Protocol):
    """A row space over several segments (:class:`qa.index.segments.SegmentedChunks`).

    Rows are positions in corpus order over the live rows; the backends' physical rows are
    their segments' rows one after another.
    """

    offsets: np.ndarray  # each segment's first physical row, and the total at the end
    physical: np.ndarray  # position → physical row
    rank: np.ndarray  # physical row → position, -1 for a dead row

    def dead(self, segment: int) -> np.ndarray | None:
        """Per row of a segment, whether it is dead (``None`` when none is)."""
        ...


def filter_rows(space: RowSpace, where: Filter | None) -> np.ndarray | None:
    """The rows ``where`` allows, ascending (``None``: every row)."""
    if where is None:
        return None
    rows = None
    if where.docs is not None:
        rows = space.rows_of(list(where.docs))
    if where.dated:
        dates = space.column("date")
        lo = where.since if where.since is not None else 1
        hi = where.until if where.until is not None else 99999999
        dated = np.flatnonzero((dates >= lo) & (dates <= hi))
        rows = dated if rows is None else np.intersect1d(rows, dated)
    return rows


def without(rows: np.ndarray | None, removed: np.ndarray, n: int) -> np.ndarray | None:
    """``rows`` (``None``: all ``n``) minus the tombstoned ``removed`` rows."""
    if not len(removed):
        return rows
    every = np.arange(n, dtype=np.int64) if rows is None else rows
    return np.setdiff1d(every, removed, assume_unique=True)


def _iso(key: int) -> str:
    """A date key (``YYYYMMDD``) as ``YYYY-MM-DD``."""
    key = int(key)
    return f"{key // 10000:04d}-{key // 100 % 100:02d}-{key % 100:02d}"


def checked_filter(
    space: RowSpace, doc: Sequence[str] | None, since: str | None = None,
    until: str | None = None,
) -> Filter | None:
    """The filter for checked query arguments (``None``: everything), made sure to match.

    Raises:
        ArgumentError: For an unknown document id, or filters that leave no passage (the
            message gives the dates the passages have).
    """
    if doc is None and not since and not until:
        return None
    where = Filter(tuple(doc) if doc is not None else None,
                   date_key(since) if since else None,
                   date_key(until, upper=True) if until else None)
    try:
        rows = filter_rows(space, where)
    except ValueError as exc:  # an unknown document id, named by the chunk store
        raise ArgumentError(str(exc)) from exc
    if rows is not None and len(rows) == 0:
        dates = space.column("date")
        known = dates[dates > 0]
        span = (f"dated passages run from {_iso(known.min())} to {_iso(known.max())}"
                if len(known) else "no passage has a date")
        wanted = [f"documents {', '.join(doc)}" if doc else ""]
        wanted += [f"dated from {since}" if since else "", f"until {until}" if until else ""]
        raise ArgumentError(
            f"没有符合条件的段落 (no passage matches: {' '.join(w for w in wanted if w)}; "
            f"{span})."
        )
    return where
