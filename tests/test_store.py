"""A damaged or outdated index gives one clear line naming the fix, never a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa import QA, IndexUnusableError
from qa.api import build_index
from qa.index.commit import read_pointer
from qa.index.store import MANIFEST


@pytest.fixture
def index_copy(seed_index, tmp_path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(seed_index, copy)
    return copy


def _data(index: Path) -> Path:
    """The committed version directory (index/v-NNNNNN) the files live in."""
    return index / read_pointer(index)[0]


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _rewrite_array(path: Path, change) -> None:
    """Rewrite a .npy file with changed values of the same shape and type (same size)."""
    array = np.load(path, allow_pickle=False)
    np.save(path, change(array.copy()), allow_pickle=False)


def _rewrite_manifest(index: Path, **changes) -> None:
    data = json.loads((index / MANIFEST).read_text(encoding="utf-8"))
    data.update(changes)
    (index / MANIFEST).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


DAMAGES = {
    "missing manifest": lambda ix: (ix / MANIFEST).unlink(),
    "corrupt manifest": lambda ix: (ix / MANIFEST).write_text("{not json", encoding="utf-8"),
    "missing chunks": lambda ix: (ix / "chunks.jsonl").unlink(),
    "truncated faiss": lambda ix: _truncate(ix / "dense.faiss"),
    "truncated bm25": lambda ix: _truncate(next(ix.glob("bm25_*.npy"))),
    "missing folded text": lambda ix: (ix / "chunks_folded.txt").unlink(),
    "chunk offsets out of order": lambda ix: _rewrite_array(
        ix / "chunks_offsets.npy", lambda a: np.concatenate([[0], a[1:][::-1]])),
    "other format version": lambda ix: _rewrite_manifest(ix, format_version=999),
    "chunk count disagrees": lambda ix: _rewrite_manifest(ix, chunk_count=3),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_index_gives_a_clear_error(index_copy, damage):
    DAMAGES[damage](_data(index_copy))
    with pytest.raises(IndexUnusableError) as info:
        QA.load(index_copy)
    message = str(info.value)
    assert "qa build --rebuild" in message
    assert "\n" not in message


def test_damaged_index_via_cli_is_one_line_no_traceback(index_copy):
    _truncate(_data(index_copy) / "dense.faiss")
    run = subprocess.run(
        [sys.executable, "-m", "qa", "ask", "芯片", "--index", str(index_copy), "--corpus",
         str(index_copy / "no-corpus")],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "qa build --rebuild" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_missing_index_directory(tmp_path):
    with pytest.raises(IndexUnusableError, match="qa build"):
        QA.load(tmp_path / "nothing-here")


def test_interrupted_build_keeps_the_old_index(index_copy, tmp_path, monkeypatch):
    before = (_data(index_copy) / MANIFEST).read_text(encoding="utf-8")
    versions = sorted(p.name for p in index_copy.iterdir())
    import qa.index.lifecycle

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(qa.index.lifecycle, "finish_manifest", boom)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(Path(__file__).resolve().parent.parent / "seeds" / "002_e4ce7d2251e78f88.txt",
                corpus)
    with pytest.raises(KeyboardInterrupt):
        QA.build(corpus, index_copy, progress=False)
    assert (_data(index_copy) / MANIFEST).read_text(encoding="utf-8") == before
    assert QA.load(index_copy).search("芯片")
    assert sorted(p.name for p in index_copy.iterdir()) == versions  # nothing left behind


def test_changed_corpus_is_loaded_as_is_and_built_by_qa_build(tmp_path):
    seeds = Path(__file__).resolve().parent.parent / "seeds"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(seeds / "002_e4ce7d2251e78f88.txt", corpus)
    index = tmp_path / "index"
    first = QA.open(index, corpus, progress=False, log=lambda m: None)
    assert {c.doc for c in first.chunks} == {"002_e4ce7d2251e78f88"}
    shutil.copy(seeds / "004_3ac7f40897e9268e.txt", corpus)
    messages: list[str] = []
    second = QA.open(index, corpus, progress=False, log=messages.append)
    assert messages == []  # never rebuilt behind the caller's back
    assert {c.doc for c in second.chunks} == {"002_e4ce7d2251e78f88"}
    build_index(corpus, index, progress=False)
    third = QA.open(index, corpus, progress=False, log=messages.append)
    assert {c.doc for c in third.chunks} == {"002_e4ce7d2251e78f88", "004_3ac7f40897e9268e"}
    assert third.manifest.corpus["dir"] == str(corpus.resolve())


def test_missing_manifest_is_an_error_not_a_rebuild(tmp_path, seed_index):
    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    (_data(index) / MANIFEST).unlink()
    messages: list[str] = []
    with pytest.raises(IndexUnusableError, match="qa build --rebuild"):
        QA.open(index, Path(__file__).resolve().parent.parent / "seeds", log=messages.append)
    assert messages == []


def _repoint(index: Path) -> None:
    """Make CURRENT carry the (rewritten) manifest's checksum, as a writer would."""
    from qa.index.commit import checksum

    name = read_pointer(index)[0]
    (index / "CURRENT").write_text(f"{name} {checksum(index / name / MANIFEST)}\n",
                                   encoding="ascii")


def test_an_index_of_format_5_still_answers(index_copy):
    """Format 6 only dropped the sentence table; a version-5 index needs no rebuild."""
    _rewrite_manifest(_data(index_copy), format_version=5)
    _repoint(index_copy)
    assert QA.load(index_copy).ask("哪个区布局磁存储芯片？").span == "西海岸新区"


def test_an_older_format_names_the_versions_this_qa_reads(index_copy):
    _rewrite_manifest(_data(index_copy), format_version=4)
    _repoint(index_copy)
    with pytest.raises(IndexUnusableError, match="format version 4, this qa reads 5, 6, 7 and 8"):
        QA.load(index_copy)
