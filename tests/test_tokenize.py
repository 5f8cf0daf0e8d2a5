"""Tokenizer tests on real sentences from seeds/."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from qa.config import TokenizerConfig
from qa.tokens.segment import Segmenter
from qa.tokens.tokenize import Tokenizer, corpus_terms, parse_term

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

# Copied from the seeds (000: 布局40个细分赛道; 003: 新区“十四五”规划; 004: 传统制造业).
LAYOUT = (
    "例如，新一代信息技术产业，先进封装布局在西海岸新区、城阳区，磁存储芯片布局在西海岸新区，"
    "新型显示技术布局在西海岸新区、崂山区。"
)
TEN_PLUS_ONE = "青岛把“10+1”产业发展的重点落在细分赛道上"
TARGET = "力争到2027年，新一代信息技术产业规模达到2000亿元。"
FPSO = "建造具有世界一流水平的 FPSO（浮式生产储卸油装置）等海工装备。"
BRANDS = "这些领域诞生了海湾集团、青岛特钢、海尔、海信、澳柯玛、青岛啤酒等一批知名企业"
LINK_OWNER = "做强“链主”企业，支持“链主”企业在产业链招商、产业生态构建等方面发挥更大作用。"
LONG_QUOTE = (
    "“实现全社会研发经费总量年均增长10%以上，数字经济核心产业增加值占地区生产总值比重每年提升"
    "1个百分点左右。”近日，发布会举行。"
)
ENUMERATION = (
    "对磁存储芯片、先进封装、人形机器人、基因和细胞诊疗、康复医疗器械等20个细分赛道，持续发力"
)


@pytest.fixture(scope="module")
def seed_texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]


@pytest.fixture(scope="module")
def seed_lines(seed_texts: list[str]) -> list[str]:
    return [line for text in seed_texts for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tok(seed_texts: list[str]) -> Tokenizer:
    return Tokenizer(TokenizerConfig(), corpus_terms(seed_texts))


@pytest.fixture(scope="module")
def tok_exact(tok: Tokenizer) -> Tokenizer:
    """Precise (non-search) mode, to see whole words without jieba's sub-words."""
    return Tokenizer(TokenizerConfig(search_mode=False), tok.terms)


def test_domain_terms_stay_whole(tok_exact: Tokenizer) -> None:
    tokens = tok_exact.tokenize(LAYOUT)
    assert tokens.count("西海岸新区") == 3
    assert "磁存储芯片" in tokens and "先进封装" in tokens and "城阳区" in tokens
    assert "西海" not in tokens and "芯片" not in tokens


def test_search_mode_adds_sub_words(tok: Tokenizer) -> None:
    tokens = tok.tokenize(LAYOUT)
    assert {"磁存储芯片", "芯片", "存储", "西海岸新区", "西海岸", "新区", "崂山区"} <= set(tokens)


def test_brands_and_districts_from_dictionary(tok_exact: Tokenizer) -> None:
    tokens = tok_exact.tokenize(BRANDS)
    assert {"海湾集团", "青岛特钢", "海尔", "海信", "澳柯玛", "青岛啤酒"} <= set(tokens)
    assert tok_exact.tokenize("即墨区、黄岛区、莱西市") == ["即墨区", "黄岛区", "莱西市"]


def test_ten_plus_one_is_one_token(tok: Tokenizer) -> None:
    tokens = tok.tokenize(TEN_PLUS_ONE)
    assert "10+1" in tokens
    assert "+" not in tokens and "10" not in tokens
    assert "10+1" in tok.tokenize("１０＋１产业")  # full-width digits and plus fold first
    assert "8+x" in tok.tokenize("构建“8+X”未来产业体系")


def test_numbers_stay_tokens(tok: Tokenizer) -> None:
    tokens = tok.tokenize(TARGET)
    assert "2027" in tokens and "2000" in tokens and "亿元" in tokens


def test_traditional_folds_to_simplified(tok: Tokenizer) -> None:
    traditional = tok.tokenize("磁存儲芯片佈局在哪個區？")
    assert traditional == tok.tokenize("磁存储芯片布局在哪个区？")
    assert "磁存储芯片" in traditional and "布局" in traditional
    assert tok.fold("新區產業") == "新区产业"
    assert Tokenizer(TokenizerConfig(fold_traditional=False), tok.terms).fold("新區") == "新區"


def test_ascii_lowercase_and_full_width(tok: Tokenizer) -> None:
    tokens = tok.tokenize(FPSO)
    assert "fpso" in tokens and "FPSO" not in tokens
    assert "fpso" in tok.tokenize("ＦＰＳＯ")
    assert tok.fold("ＡＢＣ１２３，（）") == "abc123，（）"  # Chinese punctuation is kept
    upper = Tokenizer(TokenizerConfig(lowercase=False), tok.terms)
    assert "FPSO" in upper.tokenize(FPSO)


def test_stopwords_question_words_and_punctuation_dropped(tok: Tokenizer) -> None:
    tokens = tok.tokenize(LAYOUT + FPSO + "哪个区布局磁存储芯片？what is the FPSO")
    for gone in ("的", "在", "等", "哪个", "what", "is", "the", "，", "。", "（", "）", " ", "？"):
        assert gone not in tokens
    assert all(any(ch.isalnum() for ch in t) for t in tokens)
    keep = Tokenizer(TokenizerConfig(stopwords=False), tok.terms)
    assert "的" in keep.tokenize(FPSO)
    assert " " not in keep.tokenize(FPSO)  # whitespace always goes


def test_query_and_batch_use_the_same_pipeline(tok: Tokenizer, seed_lines: list[str]) -> None:
    sample = seed_lines[:40]
    assert tok.tokenize_many(sample) == [tok.tokenize(line) for line in sample]
    assert tok.tokenize_query(LAYOUT) == tok.tokenize(LAYOUT)
    assert tok.tokenize_many([]) == []
    assert tok.tokenize("") == []


def test_determinism_and_hash(tok: Tokenizer, seed_lines: list[str]) -> None:
    again = Tokenizer(TokenizerConfig(), tok.terms)
    exact = Tokenizer.from_terms(TokenizerConfig(), tok.terms)
    assert again.terms == tok.terms == exact.terms
    assert again.dictionary_hash() == tok.dictionary_hash() == exact.dictionary_hash()
    sample = seed_lines[::7]
    assert again.tokenize_many(sample) == tok.tokenize_many(sample)
    assert exact.tokenize_many(sample) == tok.tokenize_many(sample)
    assert len(tok.dictionary_hash()) == 64

    user = Tokenizer(TokenizerConfig(user_terms=("海洋药仓",)), tok.terms)
    assert user.dictionary_hash() != tok.dictionary_hash()
    assert "海洋药仓" in user.terms and "海洋药仓" not in tok.terms
    sentence = "打造“海洋药仓·中国康湾”产业基地"
    exact_user = Tokenizer(TokenizerConfig(search_mode=False, user_terms=("海洋药仓",)))
    assert "海洋药仓" in exact_user.tokenize(sentence)
    assert "海洋药仓" not in Tokenizer(TokenizerConfig(search_mode=False)).tokenize(sentence)
    other_config = Tokenizer(TokenizerConfig(search_mode=False), tok.terms)
    assert other_config.dictionary_hash() != tok.dictionary_hash()


def test_thread_safe_lazy_init(tok: Tokenizer, seed_lines: list[str]) -> None:
    sample = seed_lines[:60]
    expected = tok.tokenize_many(sample)
    fresh = Tokenizer(TokenizerConfig(), tok.terms)
    start = threading.Barrier(8)
    results: list[list[list[str]] | None] = [None] * 8
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            start.wait()
            results[i] = fresh.tokenize_many(sample)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(r == expected for r in results)


def test_own_dictionary_and_no_global_logging_change(seed_texts: list[str]) -> None:
    import rjieba

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    fresh = Tokenizer(TokenizerConfig(), corpus_terms(seed_texts))
    fresh.tokenize(LAYOUT)
    assert "磁存储芯片" in fresh.terms and "磁存储芯片" in fresh.tokenize(LAYOUT)
    assert not Segmenter().has_word("磁存储芯片")  # another segmenter's dictionary is untouched
    assert not rjieba.has_word("磁存储芯片")  # and so is rjieba's module-level default
    assert root.level == level and root.handlers == handlers


def test_corpus_terms_quoted(seed_texts: list[str]) -> None:
    assert "链主" in corpus_terms([LINK_OWNER])
    terms = corpus_terms([LONG_QUOTE])
    assert not any("研发经费" in t for t in terms)
    # A title longer than 12 characters is rejected, the short one inside 《》 kept.
    titled = corpus_terms(["自《青岛市中小企业发展促进条例》（以下简称《条例》）实施以来"])
    assert titled == ["条例"]
    everything = corpus_terms(seed_texts)
    assert {"链主", "十四五", "卡脖子", "磁存储芯片"} <= set(everything)
    assert all(2 <= len(t) <= 12 for t in everything)


def test_corpus_terms_enumerations() -> None:
    terms = corpus_terms([ENUMERATION], min_list_count=1)
    assert {"先进封装", "人形机器人", "康复医疗器械"} <= set(terms)
    assert "对磁存储芯片" not in terms  # the first item is glued to its verb
    assert "基因和细胞诊疗" not in terms  # a phrase, not a name
    assert corpus_terms([ENUMERATION]) == []  # each item occurs only once


def test_parallel_tokenizing_from_a_script_on_stdin_falls_back() -> None:
    """Spawned workers cannot re-import a __main__ read from stdin; the tokens still come."""
    import subprocess
    import sys

    script = (
        "from qa.config import TokenizerConfig\n"
        "from qa.tokens.tokenize import Tokenizer\n"
        "tok = Tokenizer(TokenizerConfig())\n"
        "lines = ['磁存储芯片布局在西海岸新区'] * 30\n"
        "out = [t for b in tok.tokenize_batches(lines, batch_size=10, processes=2) for t in b]\n"
        "assert out == [tok.tokenize(x) for x in lines], out\n"
        "print(len(out))\n"
    )
    run = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "30"
    assert "tokenizing in this process" in run.stderr


def test_parse_term() -> None:
    assert parse_term("西海岸新区 2000 ns") == ("西海岸新区", 2000)
    assert parse_term("崂山") == ("崂山", None)
    with pytest.raises(ValueError, match="frequency"):
        parse_term("崂山 0")


def test_parallel_tokenizing_matches_serial(tok: Tokenizer, seed_lines: list[str]) -> None:
    lines = seed_lines[:120]
    serial = tok.tokenize_many(lines)
    assert tok.tokenize_many(lines, processes=2) == serial
    batches = list(tok.tokenize_batches(iter(lines), batch_size=50, processes=2))
    assert [len(b) for b in batches] == [50, 50, 20]
    assert [t for b in batches for t in b] == serial
    # In-process batches with a reduce step, as the BM25 build uses them.
    from qa.retrieval.bm25_matrix import encode_tokens

    counts = list(tok.tokenize_batches(lines, batch_size=100, processes=1, reduce=encode_tokens))
    assert sum(len(c.lengths) for c in counts) == len(lines)


def test_tokenize_batches_rejects_bad_arguments(tok: Tokenizer) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        list(tok.tokenize_batches(["a"], batch_size=0))
    with pytest.raises(ValueError, match="processes"):
        list(tok.tokenize_batches(["a"], processes=0))


def test_occurrences_match_str_count(seed_texts: list[str]) -> None:
    from qa.tokens.terms import _enumeration_items, _occurrences

    words = sorted({w for t in seed_texts for w in _enumeration_items(t)} | {"哈哈哈", "青岛市"})
    texts = [*seed_texts, "哈哈哈哈哈哈哈", "青岛市青岛市"]
    counts = _occurrences(words, texts)
    assert counts == {w: "\n".join(texts).count(w) for w in words}
    assert counts["哈哈哈"] == 2 and counts["青岛市"] >= 2
    assert _occurrences([], texts) == {}
