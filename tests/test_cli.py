"""The command line: answers, JSON output and each user error as one clear line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from qa.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_prints_answer_and_numbered_citations(seed_index, capsys, tmp_path):
    code, out, _ = run(capsys, "ask", "哪个区布局磁存储芯片？", "--index", str(seed_index),
                       "--corpus", str(tmp_path / "none"))
    assert code == 0
    assert "西海岸新区" in out.splitlines()[0]
    assert "[1] " in out and "000_b17fa6633de3b991.txt" in out


def test_ask_json(seed_index, capsys, tmp_path):
    code, out, _ = run(capsys, "ask", "Which district hosts magnetic storage chips?", "--json",
                       "--index", str(seed_index), "--corpus", str(tmp_path / "none"), "--k", "3")
    assert code == 0
    data = json.loads(out)
    assert data["abstained"] is False and "西海岸新区" in data["text"]
    assert 1 <= len(data["citations"]) <= 3
    assert {"text", "doc", "title", "section", "start", "end", "score"} <= set(data["citations"][0])


def test_ask_unanswerable_says_so(seed_index, capsys, tmp_path):
    code, out, _ = run(capsys, "ask", "烟台市磁存储芯片产业布局在哪个区？", "--index",
                       str(seed_index), "--corpus", str(tmp_path / "none"))
    assert code == 0
    assert "未在语料中找到依据" in out and "最接近的段落" in out


def test_search_json_modes(seed_index, capsys, tmp_path):
    for mode in ("hybrid", "bm25", "dense"):
        code, out, _ = run(capsys, "search", "低空经济", "--json", "--mode", mode, "--k", "4",
                           "--index", str(seed_index), "--corpus", str(tmp_path / "none"))
        assert code == 0
        hits = json.loads(out)
        assert 1 <= len(hits) <= 4


@pytest.mark.parametrize("question", ["", "   ", "长" * 2001])
def test_bad_questions_exit_nonzero(capsys, tmp_path, question):
    code, out, err = run(capsys, "ask", question, "--index", str(tmp_path / "ix"))
    assert code == 2 and out == ""
    assert err.startswith("qa: 问题")
    assert not (tmp_path / "ix").exists(), "no index work for a bad question"


def test_missing_corpus_directory(capsys, tmp_path):
    code, _, err = run(capsys, "build", "--corpus", str(tmp_path / "missing"), "--index",
                       str(tmp_path / "ix"))
    assert code == 2 and "corpus directory not found" in err


def test_corpus_without_readable_documents(capsys, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("   \n", encoding="utf-8")
    (corpus / "binary.txt").write_bytes(b"\xff\xfe\x00\x81\x00garbage\x00")
    (corpus / "notes.pdfx").write_text("ignored", encoding="utf-8")
    code, _, err = run(capsys, "build", "--corpus", str(corpus), "--index", str(tmp_path / "ix"))
    assert code == 2
    assert "no readable document" in err
    assert "empty.txt" in err


def test_bad_k(capsys, tmp_path):
    code, _, err = run(capsys, "ask", "芯片", "--k", "0", "--index", str(tmp_path / "ix"))
    assert code == 2 and "--k" in err


def test_python_dash_m_runs_and_errors_without_traceback(tmp_path):
    run_ = subprocess.run([sys.executable, "-m", "qa", "build", "--corpus", str(tmp_path / "x"),
                           "--index", str(tmp_path / "ix")], capture_output=True, text=True,
                          timeout=120)
    assert run_.returncode == 2
    assert "Traceback" not in run_.stderr and "corpus directory not found" in run_.stderr



def test_add_and_remove_show_progress_lines_in_a_log(seed_index, tmp_path, capsys,
                                                     monkeypatch):
    """Not on a terminal, progress is one line per update (no carriage returns)."""
    import shutil

    import qa.progress

    monkeypatch.setattr(qa.progress, "QUIET_FOR", 0.0)  # every stage, however quick
    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    doc = tmp_path / "q_note.txt"
    doc.write_text("青岛市发布海洋装备产业通知。\n\n到2027年，海洋装备产业规模达到500亿元。\n",
                   encoding="utf-8")
    assert main(["add", str(doc), "--index", str(index)]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert any(line.startswith("段落向量 passages") and "100%" in line for line in lines)
    assert any(line.startswith("分词 tokens") and "100%" in line for line in lines)
    assert main(["remove", "q_note", "--index", str(index)]) == 0
    # The note holds no corpus term, so removing it tokenizes nothing (and says nothing of it).
    assert not any(line.startswith("分词 tokens") for line in capsys.readouterr().err.splitlines())


def test_progress_lines_wait_for_a_slow_stage(monkeypatch, capsys):
    """A stage quicker than QUIET_FOR prints nothing; a slower one its lines, the last at 100%."""
    import time

    import qa.progress
    from qa.progress import bar

    for _ in bar(range(3), desc="快 quick", unit="x", enabled=True):
        pass
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(qa.progress, "QUIET_FOR", 0.05)
    for _ in bar(range(3), desc="慢 slow", unit="x", enabled=True):
        time.sleep(0.05)
    lines = capsys.readouterr().err.splitlines()
    assert lines and lines[-1].startswith("慢 slow") and "100%" in lines[-1] and "3/3" in lines[-1]
    assert sum("100%" in line for line in lines) == 1  # the last line once, not again on close
