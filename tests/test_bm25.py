"""BM25 index tests: reference implementations, hand-checked statistics, persistence."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from qa.config import BM25Config, TokenizerConfig
from qa.retrieval.bm25_matrix import (
    DATA_FILE,
    INDICES_FILE,
    INDPTR_FILE,
    PARAMS_FILE,
    TF_FILE,
    VOCAB_FILE,
    BM25Index,
    idf_values,
)
from qa.tokens.tokenize import Tokenizer, corpus_terms

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
FILES = (VOCAB_FILE, DATA_FILE, INDICES_FILE, INDPTR_FILE, PARAMS_FILE)

QUERIES = [
    "哪个区布局磁存储芯片？",
    "磁存儲芯片佈局在哪個區",
    "青岛“10+1”产业体系包括哪些先导产业？",
    "到2027年新一代信息技术产业规模目标是多少？",
    "人工智能产业重点发展哪些细分赛道？",
    "低空经济产业规模到2027年达到多少亿元？",
    "智能网联新能源汽车产业重点发展什么？",
    "青岛有几个国家级先进制造业集群？",
    "海尔智家2024年营业收入是多少？",
    "青岛啤酒中高端产品销量",
    "灯塔工厂数量列全国首位",
    "崂山区未来产业加速园",
    "西海岸新区船舶海工产业产值目标",
    "FPSO是什么装备？",
    "2024年青岛进出口总值是多少？",
    "全市人才总量目标是多少？",
    "上汽通用五菱新能源汽车产能",
    "专精特新小巨人企业数量目标",
    "太赫兹、量子信息等未来产业赛道",
    "民生领域集中攻坚行动完成了哪些任务？",
    "what is the FPSO of 西海岸新区",
]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    return Tokenizer(TokenizerConfig(), corpus_terms(texts))


@pytest.fixture(scope="module")
def corpus(tokenizer: Tokenizer) -> list[list[str]]:
    """The seed corpus: each non-empty line of each seed file is one document."""
    lines = [
        line
        for path in sorted(SEEDS.glob("*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return tokenizer.tokenize_many(lines)


@pytest.fixture(scope="module")
def queries(tokenizer: Tokenizer) -> list[list[str]]:
    return [tokenizer.tokenize_query(q) for q in QUERIES]


def naive_lucene(corpus: list[list[str]], query: list[str], k1: float, b: float) -> np.ndarray:
    """Reference Lucene BM25 by hand: dict counting and plain loops."""
    n = len(corpus)
    avgdl = sum(len(d) for d in corpus) / n
    df: Counter[str] = Counter()
    for doc in corpus:
        df.update(set(doc))
    out = []
    for doc in corpus:
        tf = Counter(doc)
        score = 0.0
        for term in query:
            if term not in df:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            f = tf[term]
            score += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(doc) / avgdl))
        out.append(score)
    return np.array(out)


@pytest.mark.parametrize("k1,b", [(1.5, 0.75), (1.2, 0.75), (0.9, 0.4)])
def test_okapi_matches_rank_bm25(
    corpus: list[list[str]], queries: list[list[str]], k1: float, b: float
) -> None:
    index = BM25Index.build(corpus, BM25Config(k1=k1, b=b, variant="okapi", epsilon=0.25))
    reference = BM25Okapi(corpus, k1=k1, b=b, epsilon=0.25)
    assert index.avgdl == reference.avgdl
    # idf, the epsilon floor and its mean are bit-identical to rank-bm25's.
    idf = idf_values(np.diff(index.indptr), index.n_docs, index.config)
    assert idf.tolist() == [reference.idf[term] for term in index.vocab]
    for query in queries:
        scores = index.scores(query)
        assert scores.dtype == np.float32 and scores.shape == (len(corpus),)
        np.testing.assert_allclose(scores, reference.get_scores(query), rtol=1e-5, atol=1e-6)
    assert sum(index.scores(q).max() > 0 for q in queries) >= len(queries) - 1


def test_lucene_matches_naive_reference(corpus: list[list[str]], queries: list[list[str]]) -> None:
    config = BM25Config(k1=1.2, b=0.75, variant="lucene")
    index = BM25Index.build(corpus, config)
    for query in queries:
        expected = naive_lucene(corpus, query, config.k1, config.b)
        np.testing.assert_allclose(index.scores(query), expected, rtol=1e-5, atol=1e-6)


def test_seed_query_finds_the_layout_line(
    tokenizer: Tokenizer, corpus: list[list[str]], queries: list[list[str]]
) -> None:
    index = BM25Index.build(corpus, BM25Config())
    ids, _ = index.search(queries[0], 3)
    assert all("磁存储芯片" in corpus[i] for i in ids)
    assert any("西海岸新区" in corpus[i] for i in ids)  # the line that answers the question


TINY = [["a", "b"], ["a", "c", "c"], ["d"]]  # N = 3, lengths 2, 3, 1, avgdl = 2


def test_tiny_corpus_by_hand_lucene() -> None:
    index = BM25Index.build(TINY, BM25Config(k1=1.2, b=0.75, variant="lucene"))
    assert index.n_docs == 3 and index.avgdl == 2.0
    assert np.diff(index.indptr).tolist() == [2, 1, 1, 1]  # df of a, b, c, d
    idf_a, idf_c = math.log(1.6), math.log(1 + 2.5 / 1.5)  # n=2: 1 + 1.5/2.5; n=1: 1 + 2.5/1.5
    # doc 0 has length avgdl, so the tf part is 1 * 2.2 / (1 + 1.2) = 1.
    # doc 1: length norm 0.25 + 0.75 * 3/2 = 1.375, k1 * norm = 1.65.
    expected_a = [idf_a, idf_a * 2.2 / 2.65, 0.0]
    np.testing.assert_allclose(index.scores(["a"]), expected_a, rtol=1e-6)
    np.testing.assert_allclose(index.scores(["c"]), [0, idf_c * 2 * 2.2 / 3.65, 0], rtol=1e-6)


def test_tiny_corpus_by_hand_okapi_epsilon_floor() -> None:
    index = BM25Index.build(TINY, BM25Config(k1=1.2, b=0.75, variant="okapi", epsilon=0.25))
    # idf(a) = ln(1.5/2.5) < 0 is floored at 0.25 * mean idf over a, b, c, d.
    mean = (math.log(1.5 / 2.5) + 3 * math.log(2.5 / 1.5)) / 4
    np.testing.assert_allclose(index.scores(["a"]), [0.25 * mean, 0.25 * mean * 2.2 / 2.65, 0])
    reference = BM25Okapi(TINY, k1=1.2, b=0.75, epsilon=0.25)
    for query in (["a"], ["a", "c"], ["d", "d", "b"]):
        np.testing.assert_allclose(index.scores(query), reference.get_scores(query), rtol=1e-6)


def test_repeated_query_tokens_count_twice() -> None:
    index = BM25Index.build(TINY, BM25Config())
    np.testing.assert_allclose(index.scores(["c", "c"]), 2 * index.scores(["c"]))


def test_top_k_order_and_tie_break() -> None:
    corpus = [["x"], ["a"], ["a", "a"], ["a"], ["z"], ["a"]]
    index = BM25Index.build(corpus, BM25Config())
    ids, scores = index.search(["a"], 10)
    assert ids.tolist() == [2, 1, 3, 5]  # doc 2 has tf 2; 1, 3, 5 tie, lower id first
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    assert np.all(np.diff(scores) <= 0) and np.all(scores > 0)
    assert index.search(["a"], 2)[0].tolist() == [2, 1]  # tie at the cut-off: lowest id wins
    many = BM25Index.build([["a"]] * 50 + [["b"]] * 50, BM25Config())
    assert many.search(["a"], 5)[0].tolist() == [0, 1, 2, 3, 4]


def test_k_larger_than_corpus() -> None:
    index = BM25Index.build(TINY, BM25Config())
    ids, scores = index.search(["a", "d"], 1000)
    assert ids.tolist() == [2, 0, 1]
    assert len(scores) == 3


def test_empty_and_unknown_queries() -> None:
    index = BM25Index.build(TINY, BM25Config())
    for query in ([], ["nope"], ["nope", "never"]):
        ids, scores = index.search(query, 5)
        assert len(ids) == 0 and len(scores) == 0
        assert not index.scores(query).any()
    assert index.scores(["a", "nope"]).tolist() == index.scores(["a"]).tolist()


def test_search_is_batch_search(corpus: list[list[str]], queries: list[list[str]]) -> None:
    index = BM25Index.build(corpus, BM25Config())
    batch = index.batch_search(queries, 7)
    assert len(batch) == len(queries)
    for query, (ids, scores) in zip(queries, batch, strict=True):
        one_ids, one_scores = index.search(query, 7)
        assert one_ids.tolist() == ids.tolist() and one_scores.tolist() == scores.tolist()
        full = index.scores(query)
        assert np.array_equal(full[ids], scores)


def test_invalid_settings() -> None:
    with pytest.raises(ValueError, match="lucene.*okapi"):
        BM25Index.build(TINY, BM25Config(variant="bm25+"))
    with pytest.raises(ValueError, match="empty corpus"):
        BM25Index.build([], BM25Config())
    index = BM25Index.build(TINY, BM25Config())
    with pytest.raises(ValueError, match="k must"):
        index.search(["a"], 0)


def test_all_empty_documents() -> None:
    index = BM25Index.build([[], []], BM25Config(variant="okapi"))
    assert index.search(["a"], 3)[0].tolist() == []


@pytest.mark.parametrize("mmap", [True, False])
def test_save_load_roundtrip(
    tmp_path: Path, corpus: list[list[str]], queries: list[list[str]], mmap: bool
) -> None:
    index = BM25Index.build(corpus, BM25Config(variant="okapi", k1=1.5))
    index.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted((*FILES, TF_FILE))
    assert "磁存储芯片" in (tmp_path / VOCAB_FILE).read_text(encoding="utf-8")  # not \u-escaped
    loaded = BM25Index.load(tmp_path, mmap=mmap)
    assert isinstance(loaded.data, np.memmap) == mmap
    assert loaded.config == index.config and loaded.n_docs == index.n_docs
    assert loaded.avgdl == index.avgdl and loaded.vocab == index.vocab
    for query in queries:
        assert np.array_equal(loaded.scores(query), index.scores(query))
        assert loaded.search(query, 5)[0].tolist() == index.search(query, 5)[0].tolist()


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    BM25Index.build([["磁存储芯片", "a"], ["a", "b"], ["c"]], BM25Config()).save(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", [DATA_FILE, INDICES_FILE, INDPTR_FILE, TF_FILE])
@pytest.mark.parametrize("mmap", [True, False])
def test_truncated_array_is_a_clear_error(saved: Path, name: str, mmap: bool) -> None:
    path = saved / name
    raw = path.read_bytes()
    for cut in (len(raw) - 4, 40):  # truncated body, truncated header
        path.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match=name):
            BM25Index.load(saved, mmap=mmap)


@pytest.mark.parametrize("name", FILES)
def test_missing_file_is_a_clear_error(saved: Path, name: str) -> None:
    (saved / name).unlink()
    with pytest.raises(ValueError, match=f"{name} is missing"):
        BM25Index.load(saved)


def test_vocab_indptr_mismatch(saved: Path) -> None:
    vocab = json.loads((saved / VOCAB_FILE).read_text(encoding="utf-8"))
    vocab["extra"] = len(vocab)
    (saved / VOCAB_FILE).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match=INDPTR_FILE):
        BM25Index.load(saved)


def test_corrupt_json_and_bad_indices(saved: Path) -> None:
    np.save(saved / INDICES_FILE, np.array([0, 1, 1, 2, 9], dtype=np.int32), allow_pickle=False)
    with pytest.raises(ValueError, match=INDICES_FILE):
        BM25Index.load(saved)
    (saved / PARAMS_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=PARAMS_FILE):
        BM25Index.load(saved)


def test_builder_in_batches_equals_build(corpus: list[list[str]], queries: list[list[str]]) -> None:
    from qa.retrieval.bm25_matrix import BM25Builder, encode_tokens

    for config in (BM25Config(), BM25Config(variant="okapi", k1=1.5)):
        whole = BM25Index.build(corpus, config)
        builder = BM25Builder(config)
        for start in range(0, len(corpus), 37):
            builder.add_counts(encode_tokens(corpus[start : start + 37]))
        builder.add([])  # an empty batch changes nothing
        batched = builder.finish()
        assert batched.vocab == whole.vocab  # first-occurrence order across batches
        assert batched.n_docs == whole.n_docs and batched.avgdl == whole.avgdl
        for name in ("data", "indices", "indptr"):
            assert np.array_equal(getattr(batched, name), getattr(whole, name)), name
        for query in queries:
            assert np.array_equal(batched.scores(query), whole.scores(query))


def test_encode_tokens_counts() -> None:
    from qa.retrieval.bm25_matrix import encode_tokens

    counts = encode_tokens([["b", "a", "b"], [], ["c", "a"]])
    assert counts.vocab == ["b", "a", "c"]
    assert counts.lengths.tolist() == [3, 0, 2]
    pairs = sorted(
        zip(counts.docs.tolist(), counts.terms.tolist(), counts.tf.tolist(), strict=True)
    )
    assert pairs == [(0, 0, 2), (0, 1, 1), (2, 1, 1), (2, 2, 1)]


def test_top_k_matches_full_sort() -> None:
    from qa.retrieval.bm25_matrix import top_k

    rng = np.random.default_rng(3)
    for n, k in [(1000, 10), (50, 50), (5, 10), (2000, 1)]:
        # Few distinct values: many ties, and zeros that must never be returned.
        scores = rng.integers(0, 6, size=n).astype(np.float32)
        ids, values = top_k(scores, k)
        order = np.lexsort((np.arange(n), -scores))
        expected = [i for i in order if scores[i] > 0][:k]
        assert ids.tolist() == expected
        assert values.tolist() == scores[expected].tolist()


def test_out_of_range_postings_caught_at_query_time(tmp_path: Path, monkeypatch) -> None:
    import qa.retrieval.bm25_matrix as bm25_module

    BM25Index.build([["a", "b"], ["a"], ["c"]], BM25Config()).save(tmp_path)
    indices = np.load(tmp_path / INDICES_FILE)
    indices[-1] = 7  # same length, so only the id range is wrong
    np.save(tmp_path / INDICES_FILE, indices, allow_pickle=False)
    monkeypatch.setattr(bm25_module, "SCAN_AT_LOAD", 0)  # as for a large index: no scan
    index = BM25Index.load(tmp_path, mmap=True)
    with pytest.raises(ValueError, match=INDICES_FILE):
        index.scores(["a", "b", "c"])


def test_search_is_top_k_of_the_exact_scores(
    corpus: list[list[str]], queries: list[list[str]], monkeypatch
) -> None:
    """The float32 pass with exact re-scoring returns exactly top_k(scores(q), k)."""
    import qa.retrieval.bm25_topk as topk_module
    from qa.retrieval.bm25_matrix import top_k

    # Every seed line three times over: many exact ties at any cut-off.
    tied = corpus + corpus[::-1] + corpus
    # The float32 pass (the corpus is below EXACT_BELOW, so forced), then with no candidate
    # allowed (every query falls back to the full pass), then the defaults.
    paths = [(0, topk_module.MAX_CANDIDATES), (0, 0),
             (topk_module.EXACT_BELOW, topk_module.MAX_CANDIDATES)]
    for config in (BM25Config(), BM25Config(variant="okapi", k1=1.5)):
        index = BM25Index.build(tied, config)
        for exact_below, limit in paths:
            monkeypatch.setattr(topk_module, "EXACT_BELOW", exact_below)
            monkeypatch.setattr(topk_module, "MAX_CANDIDATES", limit)
            for query in queries + [[], ["未知的词"], queries[0] + queries[0]]:
                for k in (1, 3, 10, 100, len(tied) + 5):
                    ids, scores = index.search(query, k)
                    expected_ids, expected_scores = top_k(index.scores(query), k)
                    assert ids.tolist() == expected_ids.tolist(), (query, k)
                    assert scores.tobytes() == expected_scores.tobytes(), (query, k)


def test_near_cutoff_is_the_full_selection() -> None:
    """The groups' lower bound only narrows where the k-th largest sum is looked for."""
    from qa.retrieval.bm25_topk import GROUP, _near_cutoff

    rng = np.random.default_rng(5)
    margin = 1 - 1e-6
    cases = [(GROUP * 40, 10, 0.5), (GROUP * 40, 10, 0.002), (GROUP * 40, 1, 0.01),
             (GROUP * 5, 10, 1.0), (GROUP * 40 + 17, 40, 0.05), (100, 3, 0.3), (8, 10, 0.5)]
    for n, k, share in cases:
        rough = np.zeros(n, dtype=np.float32)
        hit = rng.random(n) < share
        # Few distinct values: ties at the cut-off, and untouched documents at zero.
        rough[hit] = rng.integers(1, 8, size=int(hit.sum())).astype(np.float32) / 4
        kth = float(np.partition(rough, n - k)[n - k]) if n > k else 0.0
        floor = kth * margin
        expected = np.flatnonzero(rough >= np.float32(floor) if floor > 0 else rough)
        assert _near_cutoff(rough, k, margin).tolist() == expected.tolist(), (n, k, share)


def test_one_term_search_is_its_row(corpus: list[list[str]], queries: list[list[str]]) -> None:
    """A one-token query skips the summing: still exactly top_k(scores(q), k), any variant."""
    from qa.retrieval.bm25_matrix import top_k

    tokens = sorted({t for q in queries for t in q})
    for config in (BM25Config(), BM25Config(variant="okapi", k1=1.5)):
        index = BM25Index.build(corpus + corpus, config)
        for token in tokens + ["未知的词"]:
            for k in (1, 5, 1000):
                ids, scores = index.search([token], k)
                expected_ids, expected_scores = top_k(index.scores([token]), k)
                assert ids.tolist() == expected_ids.tolist(), (token, k)
                assert scores.tobytes() == expected_scores.tobytes(), (token, k)


def test_one_term_search_checks_document_ids(tmp_path: Path, monkeypatch) -> None:
    import qa.retrieval.bm25_matrix as bm25_module

    BM25Index.build([["a", "b"], ["a"], ["c"]], BM25Config()).save(tmp_path)
    indices = np.load(tmp_path / INDICES_FILE)
    indices[-1] = 7  # the row of "c": its only document id is out of range
    np.save(tmp_path / INDICES_FILE, indices, allow_pickle=False)
    monkeypatch.setattr(bm25_module, "SCAN_AT_LOAD", 0)
    index = BM25Index.load(tmp_path, mmap=True)
    with pytest.raises(ValueError, match=INDICES_FILE):
        index.search(["c"], 3)


def test_bm25s_gives_our_scores(corpus: list[list[str]], queries: list[list[str]]) -> None:
    """bm25s on the same tokens and settings: our scores / (k1 + 1), the same top 10.

    bm25s's Lucene term weight leaves out the constant k1 + 1, and it sums in float32; where
    the top 10 differ, it is only in which of the documents tied at the 10th score is kept.
    """
    import bm25s

    config = BM25Config()
    index = BM25Index.build(corpus, config)
    peer = bm25s.BM25(k1=config.k1, b=config.b, method="lucene", idf_method="lucene")
    peer.index(corpus, show_progress=False)
    for query in queries:
        ours = index.scores(query)
        theirs = peer.get_scores(query) * (config.k1 + 1)
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-6)
        ids, scores = index.search(query, 10)
        found = peer.retrieve([query], k=10, show_progress=False, n_threads=0)
        peer_ids = [int(d) for d, s in zip(found.documents[0], found.scores[0], strict=True)
                    if s > 0]
        assert len(peer_ids) == len(ids)
        kth = scores[-1]
        for doc in set(ids.tolist()) ^ set(peer_ids):
            assert ours[doc] == pytest.approx(kth, rel=1e-6), (query, doc)
