"""Row-addressable chunk storage: ``chunks.jsonl`` plus memory-mapped row offsets.

Reading a million chunks into :class:`~qa.types.Chunk` objects takes seconds and gigabytes;
a query needs ten of them. :class:`ChunkStore` keeps the JSON Lines file as it is (one chunk
per line, row order = BM25 document order = FAISS row order) and adds two ``.npy`` side files,
so opening is a few memory maps and a chunk is parsed only when asked for:

    chunks.jsonl          one chunk per line (:meth:`Chunk.to_dict`), UTF-8
    chunks_offsets.npy    int64, ``n + 1`` byte offsets: row ``r`` is ``[off[r], off[r + 1])``
    chunks_docs.npy       int32 per row: the row's document as an index into ...
    chunks_docs.json      ... the document ids, in order of first appearance
    chunks_ids.npy        each row's chunk id (fixed-width unicode), so ids map to rows
    chunks_col_NAME.npy   optional int64 per row, e.g. a date key for filtering (``columns``)

The store only writes into the directory it is given; making the whole index directory
atomic (build in a temporary directory, then rename) is the caller's job, as for the other
index files.
"""

from __future__ import annotations

import json
import mmap
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from qa.types import Chunk

CHUNKS_FILE = "chunks.jsonl"
OFFSETS_FILE = "chunks_offsets.npy"
DOC_CODES_FILE = "chunks_docs.npy"
DOC_IDS_FILE = "chunks_docs.json"
IDS_FILE = "chunks_ids.npy"
FILES = (CHUNKS_FILE, OFFSETS_FILE, DOC_CODES_FILE, DOC_IDS_FILE, IDS_FILE)
COLUMN_PREFIX = "chunks_col_"
_COLUMN_NAME = re.compile(r"[a-z][a-z0-9_]*")


class ChunkStore(Sequence[Chunk]):
    """Chunks by row, parsed on access from a memory-mapped JSON Lines file.

    Open one with :meth:`open`, write one with :meth:`write`. Reading is safe from several
    threads at once. ``store[row]`` parses one line; iterating parses them all in order.

    Example:
        >>> store = ChunkStore.write(tmp, chunks)  # doctest: +SKIP
        >>> store = ChunkStore.open(tmp)  # doctest: +SKIP
        >>> store[3].text, len(store), store.rows_of("000_b17fa6633de3b991")  # doctest: +SKIP
    """

    def __init__(
        self, data: mmap.mmap | bytes, offsets: np.ndarray, doc_codes: np.ndarray,
        doc_ids: Sequence[str], columns: Mapping[str, np.ndarray] | None = None,
        ids: np.ndarray | None = None,
    ) -> None:
        self._ids = np.zeros(0, dtype="U1") if ids is None else ids
        self._by_id: tuple[np.ndarray, np.ndarray] | None = None
        self._data = data
        self._columns = dict(columns or {})
        self._offsets = offsets
        self._codes = doc_codes
        self._doc_ids = tuple(doc_ids)
        self._code_of = {doc: i for i, doc in enumerate(self._doc_ids)}
        self._by_doc: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ write / open
    @classmethod
    def write(
        cls, directory: Path, chunks: Iterable[Chunk],
        columns: Mapping[str, Callable[[Chunk], int]] | None = None,
    ) -> ChunkStore:
        """Write ``chunks`` (any iterable, consumed once) into ``directory`` and open them.

        Args:
            directory: Where the files go (created if needed).
            chunks: The chunks in row order; a :class:`StoredRows` among them (see
                :class:`ChunkRows`) is copied from its store as bytes, without parsing.
            columns: Per-row integers to keep beside the chunks, by name (lower-case letters,
                digits, ``_``), e.g. ``{"date": lambda c: date_key(c.date)}``; read back with
                :meth:`column` without parsing any chunk. Copied rows take their store's.

        Raises:
            ValueError: For a bad column name, or copied rows whose store lacks a column.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        columns = dict(columns or {})
        bad = [name for name in columns if not _COLUMN_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"column names {bad}: use lower-case letters, digits and _")
        pieces = chunks.pieces if isinstance(chunks, ChunkRows) else [chunks]
        sizes: list[np.ndarray] = []
        codes: list[np.ndarray] = []
        values: dict[str, list[np.ndarray]] = {name: [] for name in columns}
        code_of: dict[str, int] = {}
        ids: list[np.ndarray] = []
        with open(directory / CHUNKS_FILE, "wb") as fh:
            for piece in pieces:
                if isinstance(piece, StoredRows):
                    store, a, b = piece.store, piece.start, piece.end
                    offsets = np.asarray(store._offsets[a : b + 1])
                    fh.write(store._data[int(offsets[0]) : int(offsets[-1])])
                    sizes.append(np.diff(offsets))
                    doc_codes = np.asarray(store._codes[a:b])
                    present, first = np.unique(doc_codes, return_index=True)
                    remap = np.zeros(len(store._doc_ids), dtype=np.int32)
                    for code in present[np.argsort(first)].tolist():
                        remap[code] = code_of.setdefault(store._doc_ids[code], len(code_of))
                    codes.append(remap[doc_codes])
                    ids.append(np.asarray(store._ids[a:b]))
                    for name in columns:
                        values[name].append(np.asarray(store.column(name)[a:b]))
                    continue
                lengths, piece_codes, piece_ids = [], [], []
                piece_values: dict[str, list[int]] = {name: [] for name in columns}
                for chunk in piece:
                    # json.dumps escapes line breaks inside strings, so a line is one chunk.
                    line = (json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n").encode()
                    fh.write(line)
                    lengths.append(len(line))
                    piece_codes.append(code_of.setdefault(chunk.doc, len(code_of)))
                    piece_ids.append(chunk.id)
                    for name, fn in columns.items():
                        piece_values[name].append(int(fn(chunk)))
                sizes.append(np.asarray(lengths, dtype=np.int64))
                codes.append(np.asarray(piece_codes, dtype=np.int32))
                ids.append(np.asarray(piece_ids, dtype=str))
                for name in columns:
                    values[name].append(np.asarray(piece_values[name], dtype=np.int64))
        offsets = np.zeros(sum(len(x) for x in sizes) + 1, dtype=np.int64)
        if sizes:
            np.cumsum(np.concatenate(sizes), out=offsets[1:])
        np.save(directory / OFFSETS_FILE, offsets, allow_pickle=False)
        np.save(directory / DOC_CODES_FILE, _joined(codes, np.int32), allow_pickle=False)
        all_ids = np.concatenate(ids) if ids else np.zeros(0, dtype="U1")
        if len(all_ids) and len(np.unique(all_ids)) != len(all_ids):
            raise ValueError("two chunks share an id; chunk ids must name one chunk each")
        np.save(directory / IDS_FILE, all_ids.astype(str), allow_pickle=False)
        for name, column in values.items():
            np.save(directory / f"{COLUMN_PREFIX}{name}.npy", _joined(column, np.int64),
                    allow_pickle=False)
        with open(directory / DOC_IDS_FILE, "w", encoding="utf-8") as fh:
            json.dump(list(code_of), fh, ensure_ascii=False)
        return cls.open(directory)

    @classmethod
    def open(cls, directory: Path) -> ChunkStore:
        """Open a store written by :meth:`write`, without reading the chunks.

        Raises:
            ValueError: When a file is missing, truncated or disagrees with the others; the
                message names the file.
        """
        directory = Path(directory)
        for name in FILES:
            if not (directory / name).is_file():
                raise ValueError(
                    f"{name} is missing from {directory} (an index from before the chunk "
                    "store, or damaged): rebuild the index"
                )
        offsets = _read_array(directory / OFFSETS_FILE, np.int64)
        codes = _read_array(directory / DOC_CODES_FILE, np.int32)
        try:
            with open(directory / DOC_IDS_FILE, encoding="utf-8") as fh:
                doc_ids = json.load(fh)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{DOC_IDS_FILE} is corrupt: {exc}") from exc
        if not isinstance(doc_ids, list) or not all(isinstance(d, str) for d in doc_ids):
            raise ValueError(f"{DOC_IDS_FILE} is corrupt: expected a list of document ids")
        size = (directory / CHUNKS_FILE).stat().st_size
        n = len(offsets) - 1
        if n < 0 or offsets[0] != 0 or int(offsets[-1]) != size:
            raise ValueError(
                f"{OFFSETS_FILE} does not match {CHUNKS_FILE} ({size} bytes): truncated file?"
            )
        if n and not np.all(np.diff(offsets) > 0):
            raise ValueError(f"{OFFSETS_FILE} is corrupt: offsets must increase")
        if len(codes) != n:
            raise ValueError(f"{DOC_CODES_FILE} has {len(codes)} rows, {OFFSETS_FILE} has {n}")
        if n and (int(codes.min()) < 0 or int(codes.max()) >= len(doc_ids)):
            raise ValueError(f"{DOC_CODES_FILE} is corrupt: codes outside 0..{len(doc_ids) - 1}")
        try:
            ids = np.load(directory / IDS_FILE, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise ValueError(f"{IDS_FILE} is corrupt or truncated: {exc}") from exc
        if ids.dtype.kind != "U" or ids.shape != (n,):
            raise ValueError(f"{IDS_FILE} has {ids.shape} {ids.dtype}, expected {n} chunk ids")
        columns = {}
        for path in sorted(directory.glob(f"{COLUMN_PREFIX}*.npy")):
            column = _read_array(path, np.int64)
            if len(column) != n:
                raise ValueError(f"{path.name} has {len(column)} rows, {OFFSETS_FILE} has {n}")
            columns[path.name[len(COLUMN_PREFIX) : -len(".npy")]] = column
        return cls(map_file(directory / CHUNKS_FILE), offsets, codes, doc_ids, columns, ids)

    def close(self) -> None:
        """Release the memory map (chunks can no longer be read)."""
        if isinstance(self._data, mmap.mmap):
            self._data.close()

    def __enter__(self) -> ChunkStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ rows
    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, row: int) -> Chunk: ...

    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...

    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        """The chunk at ``row`` (negative counts from the end), or a list for a slice.

        Raises:
            IndexError: For a row outside the store.
        """
        if isinstance(row, slice):
            return [self._parse(r) for r in range(*row.indices(len(self)))]
        n = len(self)
        r = int(row)
        if r < 0:
            r += n
        if not 0 <= r < n:
            raise IndexError(f"chunk row {row} out of range 0..{n - 1}")
        return self._parse(r)

    def __iter__(self) -> Iterator[Chunk]:
        for r in range(len(self)):
            yield self._parse(r)

    def get_many(self, rows: Iterable[int]) -> list[Chunk]:
        """The chunks at ``rows``, in that order."""
        return [self[r] for r in rows]

    def _parse(self, r: int) -> Chunk:
        start, end = int(self._offsets[r]), int(self._offsets[r + 1])
        return Chunk.from_dict(json.loads(self._data[start:end]))

    @property
    def columns(self) -> tuple[str, ...]:
        """Names of the per-row integer columns stored with the chunks."""
        return tuple(sorted(self._columns))

    def column(self, name: str) -> np.ndarray:
        """A per-row integer column (int64, memory-mapped).

        Raises:
            KeyError: For a column the store does not have, naming the ones it has.
        """
        if name not in self._columns:
            raise KeyError(f"no chunk column {name!r}; this store has {list(self.columns)}")
        return self._columns[name]

    # ------------------------------------------------------------------ chunk ids
    def id_of(self, row: int) -> str:
        """The chunk id at ``row``."""
        return str(self._ids[row])

    def row_of(self, chunk_id: str) -> int:
        """The row of chunk ``chunk_id``.

        The first call sorts the ids once (O(n log n)); later calls are a binary search.

        Raises:
            KeyError: For an id the store does not hold.
        """
        if self._by_id is None:
            order = np.argsort(self._ids, kind="stable")
            self._by_id = (order, np.asarray(self._ids[order]))  # published at once
        order, ordered = self._by_id
        at = int(np.searchsorted(ordered, chunk_id))
        if at >= len(order) or str(ordered[at]) != chunk_id:
            raise KeyError(f"no chunk with id {chunk_id!r}")
        return int(order[at])

    # ------------------------------------------------------------------ documents
    @property
    def doc_ids(self) -> tuple[str, ...]:
        """The distinct document ids, in order of first appearance."""
        return self._doc_ids

    @property
    def doc_codes(self) -> np.ndarray:
        """Per row, the index of its document in :attr:`doc_ids` (int32, memory-mapped)."""
        return self._codes

    def first_rows(self) -> dict[str, int]:
        """Each document's first row (its rows are together, so codes never decrease)."""
        firsts = np.searchsorted(np.asarray(self._codes), np.arange(len(self._doc_ids)))
        return {doc: int(f) for doc, f in zip(self._doc_ids, firsts.tolist(), strict=True)}

    def docs(self) -> np.ndarray:
        """The document id of every row, as a numpy object array (builds it: O(rows))."""
        return np.asarray(self._doc_ids, dtype=object)[self._codes]

    def rows_of(self, docs: str | Iterable[str]) -> np.ndarray:
        """The rows of one or more documents, ascending (int64).

        The first call groups rows by document once (a stable sort of :attr:`doc_codes`);
        later calls are a few array slices.

        Raises:
            ValueError: For an unknown document id, naming it.
        """
        wanted = [docs] if isinstance(docs, str) else list(docs)
        unknown = [d for d in wanted if d not in self._code_of]
        if unknown:
            shown = list(self._doc_ids[:20]) + (["…"] if len(self._doc_ids) > 20 else [])
            raise ValueError(f"Unknown document id(s) {unknown}; indexed: {shown}")
        if self._by_doc is None:
            order = np.argsort(self._codes, kind="stable").astype(np.int64)
            ptr = np.zeros(len(self._doc_ids) + 1, dtype=np.int64)
            np.cumsum(np.bincount(self._codes, minlength=len(self._doc_ids)), out=ptr[1:])
            self._by_doc = (order, ptr)  # two arrays, published at once: thread-safe
        order, ptr = self._by_doc
        codes = sorted({self._code_of[d] for d in wanted})
        rows = np.concatenate([order[ptr[c] : ptr[c + 1]] for c in codes])
        return np.sort(rows)


def _joined(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype=dtype)


class _Rows(Sequence[Chunk]):
    """A sequence of chunks addressed by row; subclasses say how to read row ``r``."""

    def _row(self, r: int) -> Chunk:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> Chunk: ...

    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...

    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return [self._row(r) for r in range(*i.indices(len(self)))]
        r = int(i) + (len(self) if int(i) < 0 else 0)
        if not 0 <= r < len(self):
            raise IndexError(f"row {i} out of range 0..{len(self) - 1}")
        return self._row(r)


class StoredRows(_Rows):
    """Rows ``start:end`` of a :class:`ChunkStore`, parsed only when read.

    An update keeps unchanged documents' chunks as these, so they are neither parsed on
    loading nor serialised again when written (:meth:`ChunkStore.write` copies their bytes).
    """

    def __init__(self, store: ChunkStore, start: int, end: int) -> None:
        self.store, self.start, self.end = store, start, end

    def __len__(self) -> int:
        return self.end - self.start

    def _row(self, r: int) -> Chunk:
        return self.store[self.start + r]

    def __iter__(self) -> Iterator[Chunk]:
        for r in range(self.start, self.end):
            yield self.store[r]


class ChunkRows(_Rows):
    """Consecutive pieces (lists of chunks, :class:`StoredRows`) read as one sequence of rows."""

    def __init__(self, pieces: Sequence[Sequence[Chunk]]) -> None:
        self.pieces = list(pieces)
        self._ends = np.cumsum([len(p) for p in self.pieces], dtype=np.int64)
        self._docs: list[str] | None = None

    @classmethod
    def joined(cls, pieces: Sequence[Sequence[Chunk]]) -> ChunkRows:
        """The pieces, with consecutive rows of one store made one :class:`StoredRows`."""
        out: list[Sequence[Chunk]] = []
        for piece in pieces:
            last = out[-1] if out else None
            if isinstance(piece, StoredRows) and isinstance(last, StoredRows) and \
                    last.store is piece.store and last.end == piece.start:
                out[-1] = StoredRows(piece.store, last.start, piece.end)
            elif len(piece):
                out.append(piece)
        return cls(out)

    def __len__(self) -> int:
        return int(self._ends[-1]) if len(self._ends) else 0

    def _row(self, r: int) -> Chunk:
        at = int(np.searchsorted(self._ends, r, side="right"))
        start = int(self._ends[at - 1]) if at else 0
        return self.pieces[at][r - start]

    def __iter__(self) -> Iterator[Chunk]:
        for piece in self.pieces:
            yield from piece

    def docs(self) -> list[str]:
        """Each row's document id, without parsing stored rows."""
        if self._docs is None:
            out: list[str] = []
            for piece in self.pieces:
                if isinstance(piece, StoredRows):
                    names = piece.store._doc_ids
                    out.extend(names[c] for c in piece.store._codes[piece.start : piece.end])
                else:
                    out.extend(c.doc for c in piece)
            self._docs = out
        return self._docs


def map_file(path: Path) -> mmap.mmap | bytes:
    """Memory-map a file read-only (an empty file, which mmap refuses, maps to ``b""``)."""
    with open(path, "rb") as fh:
        if not fh.seek(0, 2):
            return b""
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


def _read_array(path: Path, dtype: type) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r")
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{path.name} is corrupt or truncated: {exc}") from exc
    if not isinstance(array, np.ndarray) or array.ndim != 1 or array.dtype != dtype:
        raise ValueError(f"{path.name} is corrupt: expected a 1-d {np.dtype(dtype).name} array")
    return array
