"""Smoke test: the benchmark end to end at 1K chunks (a few seconds; random corpus vectors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main, merged, parse_sizes
from qa.config import BM25Config

SIZE = 1000
KEYS = [
    "build_s", "build/bm25_s", "build/dense_s", "build/write_s",
    "disk_mb", "load_s", "rss_mb", "first_query_ms",
    "bm25/p50_ms", "bm25/p95_ms", "bm25/first_pass/p50_ms", "dense/p50_ms", "dense/p95_ms",
    "hybrid/p50_ms", "hybrid/p95_ms", "hybrid/batch32_ms_per_query", "bm25/batch32_qps",
    "bm25/speedup_vs_rank_bm25", "rank_bm25/p50_ms", "exact/p50_ms",
    "hnsw/p50_ms", "ivf/p50_ms",
    "bm25s/build_s", "bm25s/p50_ms", "bm25s/p95_ms", "bm25s/qps", "bm25s/index_mb",
    "bm25_index/build_s", "bm25_index/p50_ms", "bm25_index/qps", "bm25_index/index_mb",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str]:
    out = tmp_path_factory.mktemp("bench")
    argv = [
        "--sizes", str(SIZE), "--vectors", "random", "--encoder-texts", "4", "--queries", "30",
        "--json", str(out / "results.json"), "--plot", str(out / "latency.png"),
        "--work", str(out / "work"), "--processes", "1",
    ]
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(argv) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return results, out, printed.getvalue()


def test_keys_and_sane_numbers(run) -> None:
    results, _, _ = run
    for key in KEYS:
        value = results[f"{SIZE}/{key}"]
        assert isinstance(value, float) and value > 0, key
    for kind in ("bm25", "dense", "hybrid"):
        assert results[f"{SIZE}/{kind}/p95_ms"] >= results[f"{SIZE}/{kind}/p50_ms"]
    assert results[f"{SIZE}/dense/kind"] == "flat"  # exact at this size
    assert results[f"{SIZE}/dense/recall@10"] == 1.0
    assert 0 <= results[f"{SIZE}/ann_recall@10"] <= 1
    # Same tokens and parameters: the same top 10 as rank-bm25. How much faster is reported
    # (a positive figure, checked above with the other keys), not asserted: a timing on a
    # busy machine is not a behaviour.
    assert results[f"{SIZE}/bm25/same_top10_as_rank_bm25"] == 1.0
    # bm25s on the same tokens: every difference in the top 10 is a tie at the cut-off, and
    # its scores are ours divided by k1 + 1 (its Lucene weight leaves the constant out).
    assert results[f"{SIZE}/bm25s/scoring_differences"] == 0
    ratio = 1 / (1 + BM25Config().k1)
    assert results[f"{SIZE}/bm25s/score_ratio_min"] == pytest.approx(ratio, rel=1e-5)
    assert results[f"{SIZE}/bm25s/score_ratio_max"] == pytest.approx(ratio, rel=1e-5)
    assert 0 < results[f"{SIZE}/rss_mb"] < 4096
    assert results["encoder/passages_per_s"] > 0 and results["encoder/query_p50_ms"] > 0
    assert "random" in results["meta/note"]


def test_table_plot_and_index_files(run) -> None:
    results, out, printed = run
    assert "hybrid p50/p95" in printed and "1,000" in printed
    assert "Synthetic" in printed
    assert (out / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    index = out / "work" / f"index-{SIZE}"
    names = {p.name for p in index.iterdir()}
    assert {"manifest.json", "chunks.jsonl", "chunks_offsets.npy", "dense.faiss",
            "bm25_data.npy", "terms.json"} <= names


def test_the_benchmark_index_is_a_product_index(run) -> None:
    """What the probe timed is what `qa` serves: QA.load opens the synthetic index."""
    from qa import QA

    _, out, _ = run
    qa = QA.load(out / "work" / f"index-{SIZE}")
    assert len(qa.chunks) == SIZE and qa.manifest.backends["semantic"]["kind"] == "flat"
    hits = qa.search("哪个区布局磁存储芯片？", k=3, mode="bm25")
    assert len(hits) == 3 and all(h.doc.startswith("syn") for h in hits)
    assert any("磁存储芯片" in h.text for h in hits)


def test_parse_sizes() -> None:
    import argparse

    assert parse_sizes("100000,10_000,10000") == (10000, 100000)
    with pytest.raises(argparse.ArgumentTypeError, match="at least 100"):
        parse_sizes("10")
    with pytest.raises(argparse.ArgumentTypeError, match="integers"):
        parse_sizes("1e4")


def test_product_build_without_embedding(tmp_path: Path) -> None:
    """bench.build runs `build_index` on written files with a stopwatch encoder."""
    from bench.build import main

    out = tmp_path / "build.json"
    assert main(["--size", "200", "--work", str(tmp_path / "work"), "--json", str(out)]) == 0
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["documents"] == 10 and figures["chunks"] >= 10 and figures["hits"] == 10
    # Only the passages went through the encoder (the answerer embeds sentences when it
    # reads them); its time is taken out.
    assert figures["embedded_texts"] == figures["chunks"]
    assert 0 < figures["encoder_s"] < figures["build_s"]
    assert figures["build_without_embedding_s"] == figures["build_s"] - figures["encoder_s"]


def test_token_lists_hold_every_token() -> None:
    """The comparisons' token lists: each text's tokens (grouped by term), strings shared."""
    from bench.bm25s_peer import token_lists
    from qa.config import TokenizerConfig
    from qa.tokens.tokenize import Tokenizer

    texts = ["青岛市布局磁存储芯片，磁存储芯片产业", "", "新能源汽车产业 新能源"]
    tokenizer = Tokenizer(TokenizerConfig(), ["磁存储芯片"])
    lists = token_lists(tokenizer, texts, processes=1)
    expected = tokenizer.tokenize_many(texts)
    assert [sorted(t) for t in lists] == [sorted(t) for t in expected]
    chip = [t for t in lists[0] if t == "磁存储芯片"]
    assert len(chip) == 2 and chip[0] is chip[1]  # one string object per term


def test_json_keeps_the_other_tools_figures(tmp_path: Path) -> None:
    # python -m bench.seeds and bench.update merge their figures into the same file; a new
    # scale run keeps them and replaces every figure of its own, sizes it skipped included.
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"seeds/build_s": 20.0, "100000/update/add_one_s": 6.0,
                                "100000/bm25/p50_ms": 3.0, "1000000/bm25/p50_ms": 38.0}))
    figures = merged(path, {"100000/bm25/p50_ms": 2.0})
    assert figures == {"seeds/build_s": 20.0, "100000/update/add_one_s": 6.0,
                       "100000/bm25/p50_ms": 2.0}
    assert merged(tmp_path / "none.json", {"a": 1}) == {"a": 1}


def test_update_bench_checks_results_and_replaces_its_own_figures(tmp_path, monkeypatch):
    from bench import update
    from qa.index import segments

    monkeypatch.setenv(segments.ALWAYS, "1")  # a small index, segmented as a large one is
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"300/update/same_files_as_fresh_build": 1.0, "seeds/build_s": 2.0}))
    assert update.main(["--sizes", "300", "--repeat", "1", "--check", "--work",
                        str(tmp_path / "work"), "--json", str(path)]) == 0
    figures = json.loads(path.read_text())
    assert "300/update/same_files_as_fresh_build" not in figures and figures["seeds/build_s"] == 2
    assert figures["300/update/segments_after_add"] == 2
    assert figures["300/update/same_results_as_fresh_build"] == 1
    assert figures["300/update/same_files_after_optimize"] == 1
    assert figures["300/update/add_one_tokenized"] >= 20 and figures["300/update/add_one_s"] > 0
