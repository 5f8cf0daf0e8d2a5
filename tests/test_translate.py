"""English question expansion: hand glossary, CC-CEDICT and pinyin over real corpus tokens."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from qa.tokens.translate import Glossary, Translator

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
# Real sentences of seeds/ (004: 崂山区; 003: 海尔, 黄岛, 算力).
LINES = [
    "崂山区探索建设未来产业加速园 跟踪预研新赛道",
    "支持海尔、海信、澳柯玛等",
    "筹推进黄岛石化区和董家",
    "2025年建成算力规模8000P",
    "2025年，数据中心机柜突破10000个",
]


@pytest.fixture(scope="module")
def translator(seed_qa) -> Translator:
    vocabulary = {t for line in LINES for t in seed_qa.tokenizer.tokenize(line)}
    return Translator(Glossary({}), vocabulary, lambda term: 1.0)


def test_lines_are_from_the_corpus():
    corpus = "".join("".join(p.read_text(encoding="utf-8").split()) for p in SEEDS.glob("*.txt"))
    for line in LINES:
        assert "".join(line.split()) in corpus


def test_pinyin_matches_corpus_place_and_company_names(translator):
    terms = translator.terms("What is Laoshan exploring?")
    assert "崂山区" in terms or "崂山" in terms
    assert "海尔" in translator.terms("Which platform does Haier run?")
    assert "黄岛" in translator.terms("Is Huangdao a district?")
    # A word that is English is not read as pinyin, even when it spells one.
    assert translator.terms("long") == []


def test_dictionary_phrase_longest_first(translator):
    terms = translator.terms("What computing power scale is planned?")
    assert terms[:1] == ["算力"]  # "computing power" as a phrase, before "power" alone
    assert "规模" in terms
    # A plural head noun is looked up by its singular: "centers" → "center".
    assert "中心" in translator.terms("How many data centers?")


def test_stopwords_never_expand(translator):
    assert translator.terms("What which the of is are how") == []


def test_hand_glossary_wins_and_only_corpus_terms_are_added(seed_qa):
    vocabulary = {t for line in LINES for t in seed_qa.tokenizer.tokenize(line)}
    translator = Translator(Glossary({"computing power": ("算力规模",)}), vocabulary, lambda t: 1.0)
    terms = translator.terms("computing power")
    assert terms == ["算力规模"]  # the glossary's term, not CC-CEDICT's 算力
    assert all(t in vocabulary for t in translator.terms("the future industry platform"))


def test_chinese_question_unchanged(translator):
    question = "崂山区探索建设什么？"
    assert translator.expand(question) == question
    assert translator.expand("Which district?").startswith("Which district?")


def test_deterministic_and_fast(seed_qa, translator):
    question = "Which Laoshan platform plans computing power for future industry?"
    first = translator.expand(question)
    vocabulary = {t for line in LINES for t in seed_qa.tokenizer.tokenize(line)}
    again = Translator(Glossary({}), sorted(vocabulary, reverse=True), lambda term: 1.0)
    assert again.expand(question) == first
    start = time.perf_counter()
    for _ in range(100):
        translator.terms(question)
    assert (time.perf_counter() - start) / 100 < 0.01


def test_rejects_zero_caps():
    with pytest.raises(ValueError, match="at least 1"):
        Translator(Glossary({}), (), lambda term: 1.0, per_word=0)


def test_qa_expands_english_with_corpus_terms(seed_qa):
    hits = seed_qa.search("What is Laoshan District exploring to build?", k=5, mode="bm25")
    assert any("崂山区" in h.text for h in hits)


# ------------------------------------------------------------ seed-document names
ENTITY_BLOCK = "# --- Named entities of the seed documents"


def _entity_block() -> list[tuple[str, list[str]]]:
    text = (Path(__file__).resolve().parent.parent / "qa" / "data" / "glossary.tsv").read_text(
        encoding="utf-8"
    )
    block = text[text.index(ENTITY_BLOCK):]
    rows = []
    for line in block.splitlines():
        if line.strip() and not line.startswith("#"):
            english, _, chinese = line.partition("\t")
            rows.append((english, chinese.split("|")))
    return rows


def test_entity_names_are_copied_from_the_seed_text():
    corpus = "".join("".join(p.read_text(encoding="utf-8").split()) for p in SEEDS.glob("*.txt"))
    rows = _entity_block()
    assert len(rows) > 100
    for english, terms in rows:
        assert english == english.lower().strip() and terms, english
        for term in terms:
            assert term in corpus, f"{english} → {term} is not in seeds/"


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("Which Inspur institute is being set up?", "浪潮"),
        ("What does COSMOPlat represent?", "卡奥斯"),
        ("Which companies besides Goertek and Pico work on virtual reality?", "歌尔"),
        ("Which companies besides Goertek and Pico work on virtual reality?", "小鸟看看"),
        ("What revenue did Haier Smart Home report for 2024?", "海尔智家"),
        ("Which Harbin Engineering University project is listed?", "哈尔滨工程大学"),
        ("What are chain leader enterprises expected to do?", "链主"),
        ("What is planned for the 100,000-ton aquaculture vessel?", "养殖工船"),
    ],
)
def test_bundled_glossary_names_seed_entities(question, term):
    assert term in Glossary.bundled().terms(question)


def test_seed_entity_name_finds_its_passage(seed_qa):
    question = "Which platform is supported as the industrial internet example of COSMOPlat?"
    hits = seed_qa.search(question, k=5, mode="bm25")
    assert any("卡奥斯" in h.text for h in hits)
    hits = seed_qa.search("What is Goertek's field?", k=5, mode="bm25")
    assert any("歌尔" in h.text for h in hits)


# ------------------------------------------------------------ person names in pinyin
NAME_LINES = ["青岛市委常委、副市长耿涛在发布会上表示", "主任卞成介绍"]


@pytest.fixture(scope="module")
def name_translator(seed_qa) -> Translator:
    vocabulary = {t for line in NAME_LINES for t in seed_qa.tokenizer.tokenize(line)}
    vocabulary |= {"变成"}  # a common word with the same reading as 卞成
    return Translator(Glossary({}), vocabulary, lambda term: 2.0 if term == "卞成" else 1.0)


def test_name_lines_are_from_the_corpus():
    corpus = "".join("".join(p.read_text(encoding="utf-8").split()) for p in SEEDS.glob("*.txt"))
    for line in NAME_LINES:
        assert line in corpus


def test_capitalised_pinyin_name_is_read_as_pinyin(name_translator):
    # "geng", "tao", "bian", "cheng" are lower-case words in CC-CEDICT's glosses, but a
    # capitalised pair of pinyin words is a person's name.
    assert name_translator.terms("What did Geng Tao say at the press conference?")[:1] == ["耿涛"]
    assert "卞成" in name_translator.terms("What does Bian Cheng introduce?")
    # Lower case, or one word alone, stays English.
    assert "耿涛" not in name_translator.terms("geng tao")
    assert name_translator.terms("Tao") == []


# ------------------------------------------------------------ sense choice by the corpus
SENSES = ["活力", "能源", "能量", "效率", "提高"]


def _postings(rows: dict[str, list[int]]):
    import numpy as np

    return lambda term: np.asarray(rows.get(term, []), dtype=np.int64)


def test_word_sense_is_the_one_found_beside_the_other_words():
    # "energy" glosses 活力 first in CC-CEDICT; the corpus pairs 能源 with 效率.
    question = "How will energy efficiency improve?"
    plain = Translator(Glossary({}), SENSES, lambda term: 1.0)
    assert plain.terms(question)[0] == "活力"
    beside = {"活力": [0], "能源": [1, 2], "能量": [3], "效率": [2], "提高": [5]}
    chosen = Translator(Glossary({}), SENSES, lambda term: 1.0, chunks_of=_postings(beside))
    assert chosen.terms(question)[:2] == ["能源", "效率"]
    # The same words in another corpus: the choice follows the corpus, not a word list.
    beside = {"活力": [0, 2], "能源": [1], "能量": [3], "效率": [2], "提高": [5]}
    chosen = Translator(Glossary({}), SENSES, lambda term: 1.0, chunks_of=_postings(beside))
    assert chosen.terms(question)[:2] == ["活力", "效率"]


def test_sense_choice_keeps_dictionary_order_without_evidence():
    # No candidate meets another word's terms: the dictionary's first sense stays.
    beside = {"活力": [0], "能源": [1], "能量": [3], "效率": [7]}
    chosen = Translator(Glossary({}), SENSES, lambda term: 1.0, chunks_of=_postings(beside))
    assert chosen.terms("energy efficiency")[:1] == ["活力"]


def test_seed_index_gives_the_translator_postings(seed_qa):
    rows = seed_qa.lexicon.chunks_of("崂山区")
    assert rows is not None and rows.size > 0
    assert all("崂山区" in seed_qa.chunks[int(r)].text for r in rows)


def test_rows_in_common_agrees_with_sets():
    import numpy as np

    from qa.tokens.translate import _share

    rng = np.random.default_rng(5)
    for _ in range(300):
        a = np.unique(rng.integers(0, 400, rng.integers(0, 60)))
        b = np.unique(rng.integers(0, 400, rng.integers(0, 200)))
        expected = bool(set(a.tolist()) & set(b.tolist()))
        assert _share(a, b, block=7) is expected
        assert _share(b, a) is expected


def test_inflected_words_are_looked_up_by_their_base_form():
    from qa.tokens.english import base_forms

    assert "benchmark" in base_forms("benchmarking")
    assert "locate" in base_forms("located")
    assert "plan" in base_forms("planned")
    assert base_forms("companies")[0] == "company"
    assert base_forms("fall") == ()  # no ending: nothing to try
    translator = Translator(Glossary({}), {"标杆", "能效"}, lambda term: 1.0)
    assert translator.terms("a benchmarking drive") == ["标杆"]


def test_suspended_hyphen_shares_the_tail():
    from qa.tokens.english import unsuspend

    assert unsuspend("energy- and water-efficiency") == "energy-efficiency and water-efficiency"
    assert unsuspend("well-known and long-lived") == "well-known and long-lived"
    translator = Translator(Glossary({}), {"标杆", "能效"}, lambda term: 1.0)
    # "energy- and water-efficiency" holds the phrase "energy efficiency" (能效).
    assert translator.terms("the energy- and water-efficiency benchmarking campaign") == [
        "能效", "标杆"]


def test_phrase_in_another_word_order_matches_its_gloss():
    from qa.tokens.english import word_bag

    assert word_bag(("editor", "in", "chief")) == word_bag(("chief", "editors"))
    assert word_bag(("editor",)) is None  # one word: the exact key alone
    # CC-CEDICT glosses 主编 "editor in chief"; questions say "chief editor" too.
    translator = Translator(Glossary({}), {"主编", "美编"}, lambda term: 1.0)
    assert translator.terms("Who was the chief editor of the page?") == ["主编"]
    assert translator.terms("Who was the editor in chief?") == ["主编"]
    assert translator.terms("Who was the art editor?") == ["美编"]


def test_adverbs_are_looked_up_by_their_adjective():
    from qa.tokens.english import base_forms

    assert "official" in base_forms("officially")
    assert "steady" in base_forms("steadily")
    assert "notable" in base_forms("notably")
    translator = Translator(Glossary({}), {"正式", "启用"}, lambda term: 1.0)
    assert "正式" in translator.terms("It was officially opened.")


def test_a_word_takes_the_sense_of_a_phrase_it_heads_before_a_verb_sense():
    # CC-CEDICT: 研究院 "research institute"; 建设 "to build; …; to institute".
    translator = Translator(Glossary({}), {"研究院", "建设"}, lambda term: 1.0)
    assert translator.terms("Which institute opened?") == ["研究院"]
    assert translator.terms("What will they build?") == ["建设"]
