"""ChunkStore: row access without reading every chunk, on real seed chunks."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from qa.text.chunk import chunk_document
from qa.index.chunkstore import (
    CHUNKS_FILE,
    DOC_CODES_FILE,
    DOC_IDS_FILE,
    OFFSETS_FILE,
    ChunkRows,
    ChunkStore,
    StoredRows,
)
from qa.config import ChunkConfig
from qa.read.corpus import load_corpus
from qa.types import Chunk

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    docs, _ = load_corpus(SEEDS, lambda _msg: None)
    return [c for doc in docs for c in chunk_document(doc, ChunkConfig())]


@pytest.fixture()
def store(tmp_path: Path, chunks: list[Chunk]) -> ChunkStore:
    return ChunkStore.write(tmp_path, iter(chunks))  # any iterable, consumed once


def test_rows_roundtrip(store: ChunkStore, chunks: list[Chunk]) -> None:
    assert len(store) == len(chunks)
    assert store[0] == chunks[0] and store[-1] == chunks[-1]
    assert store[5] == chunks[5]
    assert store[3:6] == chunks[3:6]
    assert list(store) == chunks
    assert store.get_many([7, 2, 7]) == [chunks[7], chunks[2], chunks[7]]
    with pytest.raises(IndexError, match="out of range"):
        store[len(chunks)]


def test_jsonl_is_plain_json_lines(tmp_path: Path, store: ChunkStore,
                                   chunks: list[Chunk]) -> None:
    # Readable without qa's store: one chunk per line; Chinese stays readable.
    with open(tmp_path / CHUNKS_FILE, encoding="utf-8") as fh:
        assert [Chunk.from_dict(json.loads(line)) for line in fh] == chunks
    assert "西海岸新区" in (tmp_path / CHUNKS_FILE).read_text(encoding="utf-8")


def test_documents(store: ChunkStore, chunks: list[Chunk]) -> None:
    doc_ids = list(dict.fromkeys(c.doc for c in chunks))
    assert list(store.doc_ids) == doc_ids
    assert store.docs().tolist() == [c.doc for c in chunks]
    first = doc_ids[0]
    expected = [i for i, c in enumerate(chunks) if c.doc == first]
    assert store.rows_of(first).tolist() == expected
    both = store.rows_of([doc_ids[2], doc_ids[0]])
    assert both.tolist() == sorted(expected + [i for i, c in enumerate(chunks)
                                               if c.doc == doc_ids[2]])
    with pytest.raises(ValueError, match="no-such-doc"):
        store.rows_of("no-such-doc")


def test_open_is_memory_mapped(tmp_path: Path, store: ChunkStore) -> None:
    reopened = ChunkStore.open(tmp_path)
    assert isinstance(reopened.doc_codes, np.memmap)
    assert reopened[10] == store[10]
    reopened.close()


def test_concurrent_reads(store: ChunkStore, chunks: list[Chunk]) -> None:
    rows = list(range(len(chunks))) * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda r: store[r], rows))
    assert got == [chunks[r] for r in rows]


def test_empty_store(tmp_path: Path) -> None:
    store = ChunkStore.write(tmp_path, [])
    assert len(store) == 0 and list(store) == [] and store.doc_ids == ()


@pytest.mark.parametrize("name", [CHUNKS_FILE, OFFSETS_FILE, DOC_CODES_FILE, DOC_IDS_FILE])
def test_missing_file_is_named(tmp_path: Path, store: ChunkStore, name: str) -> None:
    (tmp_path / name).unlink()
    with pytest.raises(ValueError, match=name):
        ChunkStore.open(tmp_path)


def test_truncated_jsonl(tmp_path: Path, store: ChunkStore) -> None:
    data = (tmp_path / CHUNKS_FILE).read_bytes()
    (tmp_path / CHUNKS_FILE).write_bytes(data[:-10])
    with pytest.raises(ValueError, match="truncated"):
        ChunkStore.open(tmp_path)


def test_inconsistent_side_files(tmp_path: Path, store: ChunkStore) -> None:
    codes = np.load(tmp_path / DOC_CODES_FILE)
    np.save(tmp_path / DOC_CODES_FILE, codes[:-1], allow_pickle=False)
    with pytest.raises(ValueError, match=DOC_CODES_FILE):
        ChunkStore.open(tmp_path)
    np.save(tmp_path / DOC_CODES_FILE, codes + 100, allow_pickle=False)
    with pytest.raises(ValueError, match="codes outside"):
        ChunkStore.open(tmp_path)
    np.save(tmp_path / DOC_CODES_FILE, codes, allow_pickle=False)
    (tmp_path / DOC_IDS_FILE).write_text(json.dumps({"a": 1}), encoding="utf-8")
    with pytest.raises(ValueError, match=DOC_IDS_FILE):
        ChunkStore.open(tmp_path)


def test_integer_columns(tmp_path: Path, chunks: list[Chunk]) -> None:
    def year(chunk: Chunk) -> int:
        return int(chunk.date[:4]) if chunk.date else 0

    columns = {"year": year, "chars": lambda c: len(c.text)}
    store = ChunkStore.write(tmp_path, chunks, columns=columns)
    reopened = ChunkStore.open(tmp_path)
    assert reopened.columns == ("chars", "year")
    assert isinstance(reopened.column("year"), np.memmap)
    assert reopened.column("year").tolist() == [year(c) for c in chunks]
    assert store.column("chars").tolist() == [len(c.text) for c in chunks]
    with pytest.raises(KeyError, match="chars"):
        reopened.column("month")
    np.save(tmp_path / "chunks_col_year.npy", np.zeros(3, dtype=np.int64), allow_pickle=False)
    with pytest.raises(ValueError, match="chunks_col_year.npy"):
        ChunkStore.open(tmp_path)
    with pytest.raises(ValueError, match="column names"):
        ChunkStore.write(tmp_path / "x", chunks, columns={"Bad-Name": year})


def test_stored_rows_are_copied_as_bytes_and_equal_writing_the_chunks(
        tmp_path: Path, chunks: list[Chunk]) -> None:
    """What an update writes: kept rows copied from the old store, new ones serialised."""
    old = ChunkStore.write(tmp_path / "old", chunks, columns={"n": lambda c: c.start})
    docs = old.doc_ids
    first, last = old.rows_of(docs[0]), old.rows_of(docs[-1])
    # Drop the first document, keep the middle ones as stored rows, give the last as chunks.
    kept = [StoredRows(old, int(old.rows_of(d)[0]), int(old.rows_of(d)[-1]) + 1)
            for d in docs[1:-1]]
    rows = ChunkRows.joined([*kept, [old[int(r)] for r in last]])
    assert len(rows.pieces) == 2  # consecutive stored rows made one piece
    assert len(rows) == len(chunks) - len(first)
    assert rows[0] == old[int(first[-1]) + 1] and rows[-1] == chunks[-1]
    assert rows.docs() == [c.doc for c in chunks[len(first):]]
    ChunkStore.write(tmp_path / "copied", rows, columns={"n": lambda c: c.start})
    ChunkStore.write(tmp_path / "direct", chunks[len(first):], columns={"n": lambda c: c.start})
    for name in sorted(p.name for p in (tmp_path / "direct").iterdir()):
        assert (tmp_path / "copied" / name).read_bytes() == \
            (tmp_path / "direct" / name).read_bytes(), name
