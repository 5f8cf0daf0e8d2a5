"""Chunking on the real seed pages: the offset property, structure, sizes and coverage."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

import pytest

from qa.text.chunk import chunk_document, sentence_spans
from qa.text.clean import load_document, parse
from qa.config import ChunkConfig
from qa.types import Chunk, Document

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
NAMES = sorted(p.stem for p in SEEDS.glob("*.txt"))
CONFIGS = [
    ChunkConfig(),
    ChunkConfig(max_chars=120, min_chars=20, overlap_sentences=2),
    ChunkConfig(max_chars=60, min_chars=0, overlap_sentences=0),
]


@cache
def doc(prefix: str) -> Document:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return load_document(path)


@cache
def chunks(prefix: str, config: ChunkConfig = CONFIGS[0]) -> tuple[Chunk, ...]:
    return tuple(chunk_document(doc(prefix), config))


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def blocks_in(d: Document, c: Chunk):
    return [b for b in d.blocks if b.start < c.end and c.start < b.end]


# --- sentence_spans ---------------------------------------------------------------------------


def test_sentence_spans_keep_closing_quotes():
    text = "“主攻方向是‘10+1’产业。”耿涛表示。对吗？对！"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "“主攻方向是‘10+1’产业。”",
        "耿涛表示。",
        "对吗？",
        "对！",
    ]


def test_sentence_spans_split_at_semicolons_ascii_marks_and_line_ends():
    text = "甲；乙; c! d?\n无标点的行\n\n末句"
    assert [text[a:b].strip() for a, b in sentence_spans(text)] == [
        "甲；",
        "乙;",
        "c!",
        "d?",
        "无标点的行",
        "末句",
    ]


def test_sentence_spans_of_blank_text():
    assert sentence_spans("") == [] and sentence_spans(" \n\t") == []


@pytest.mark.parametrize("name", NAMES)
def test_sentence_spans_partition_every_block(name):
    for b in doc(name[:3]).blocks:
        spans = sentence_spans(b.text)
        assert spans[0][0] == 0 and spans[-1][1] == len(b.text)
        assert all(x[1] == y[0] for x, y in zip(spans, spans[1:], strict=False))
        assert all(b.text[s:e].strip() for s, e in spans)


# --- the offset property, for every chunk of every seed ------------------------------------------


@pytest.mark.parametrize("config", CONFIGS, ids=["default", "small", "tiny"])
@pytest.mark.parametrize("name", NAMES)
def test_chunks_index_their_source(name, config):
    d = doc(name[:3])
    for c in chunks(name[:3], config):
        assert squash(d.text[c.start : c.end]) == squash(c.text), c
        assert d.text.count("\n", 0, c.start) + 1 == c.line_start
        assert d.text.count("\n", 0, c.end - 1) + 1 == c.line_end
        assert c.text == c.text.strip() and c.text
        assert c.doc == d.doc_id and c.doc_title == d.title


@pytest.mark.parametrize("config", CONFIGS, ids=["default", "small", "tiny"])
@pytest.mark.parametrize("name", NAMES)
def test_chunks_stay_inside_one_article_and_one_section(name, config):
    d = doc(name[:3])
    for c in chunks(name[:3], config):
        inside = blocks_in(d, c)
        assert len({b.article for b in inside}) == 1, c
        content = [b for b in inside if b.kind != "heading"] or inside
        assert len({b.section for b in content}) == 1, c
        assert c.section == " › ".join(content[0].section)
        assert c.title == d.articles[inside[0].article].title
        assert c.title not in c.section.split(" › ")


@pytest.mark.parametrize("config", CONFIGS, ids=["default", "small", "tiny"])
@pytest.mark.parametrize("name", NAMES)
def test_chunk_size_bound(name, config):
    # Chunks hold at most max_chars non-whitespace characters; only a run's last piece
    # shorter than min_chars may be folded into the chunk before it.
    for c in chunks(name[:3], config):
        assert len(squash(c.text)) <= config.max_chars + max(config.min_chars - 1, 0), c


@pytest.mark.parametrize("name", NAMES)
def test_nothing_is_lost(name):
    d = doc(name[:3])
    covered = [False] * len(d.text)
    for c in chunks(name[:3]):
        covered[c.start : c.end] = [True] * (c.end - c.start)
    for b in d.blocks:
        if b.kind != "heading":
            assert all(covered[i] or d.text[i].isspace() for i in range(b.start, b.end)), b
    headings = {b.line_start for b in d.blocks if b.kind == "heading"}
    lost = {
        n
        for n, line in enumerate(d.text.split("\n"), 1)
        if line.strip()
        and n not in headings
        and not any(c.line_start <= n <= c.line_end for c in chunks(name[:3]))
    }
    assert lost == ({3, 105, 107, 109} if name.startswith("000") else set())


def test_ids_are_stable_and_unique_across_the_corpus():
    everything = [c for name in NAMES for c in chunks(name[:3])]
    assert len({c.id for c in everything}) == len(everything)
    c = everything[0]
    assert c.id == hashlib.sha1(f"{c.doc}\n{c.text}".encode()).hexdigest()[:16]
    assert [x.id for x in chunk_document(doc("000"), ChunkConfig())] == [
        x.id for x in chunks("000")
    ]


def test_long_paragraph_is_split_with_one_sentence_overlap():
    d = doc("003")
    (para,) = [b for b in d.blocks if b.line_start == 19]
    pieces = [c for c in chunks("003") if c.start >= para.start and c.end <= para.end]
    assert len(pieces) == 2
    first_sentences = [pieces[1].text[a:b] for a, b in sentence_spans(pieces[1].text)]
    assert pieces[0].text.endswith(first_sentences[0].strip())


def test_overlong_sentence_is_cut_after_a_comma():
    sentence = "，".join(f"第{i}项任务按期完成" for i in range(40)) + "。"
    d = parse(f"标题\n\n{sentence}\n", "long")
    out = chunk_document(d, ChunkConfig(max_chars=100, min_chars=0))
    assert len(out) > 1
    assert all(c.text.endswith(("，", "。")) for c in out)
    assert "".join(c.text for c in out) == sentence


def test_short_blocks_are_packed_within_a_section():
    c = next(c for c in chunks("002") if c.line_start == 15)
    assert c.text.count("\n") == 3 and c.section == "实现“4个走在前列”"


def test_never_packed_across_a_dropped_line():
    # 000 line 105-109 are dropped; nothing after them, but line 3 (the date) sits above the
    # editors' line: no chunk may span a dropped line.
    dropped = {3, 105, 107, 109}
    for c in chunks("000"):
        assert not any(c.line_start < n < c.line_end for n in dropped)


def test_garbled_tail_yields_at_most_two_chunks():
    assert len([c for c in chunks("000") if c.line_end >= 103]) <= 2


def test_page_break_repairs_survive_chunking():
    assert any("提质发展3个优势产业，包括智能家电" in c.text for c in chunks("001"))
    assert any("奥古特A系列、尼卡希白啤" in c.text for c in chunks("004"))


def test_box_rows_carry_their_box_in_the_section():
    row = next(c for c in chunks("003") if c.text.startswith("发展路径\t依托中船集团"))
    parts = row.section.split(" › ")
    assert "第四章 发展重点" in parts and "专栏 1 船舶海工“十四五”发展路径及重点项目" in parts


def test_article_titles_and_dates_on_chunks():
    assert {c.title for c in chunks("004")} == {
        "升级传统制造业 发展新质生产力",
        "壮大“领军企业” 培育“未来之星”",
    }
    assert len({c.title for c in chunks("001")}) == 10
    assert {c.date for c in chunks("000")} == {"2025-01-15"}
    assert {c.date for c in chunks("003")} == {None}


def test_heading_with_nothing_below_is_kept():
    d = parse("总标题\n\n第一章 总则\n\n第二章 目标\n\n到2025年完成。\n", "leaf")
    out = chunk_document(d, ChunkConfig())
    assert [(c.section, c.text) for c in out] == [
        ("", "第一章 总则"),
        ("第二章 目标", "到2025年完成。"),
    ]


@pytest.mark.parametrize("bad", [{"max_chars": 0}, {"overlap_sentences": -1}, {"min_chars": -5}])
def test_bad_config_is_rejected(bad):
    with pytest.raises(ValueError, match="max_chars"):
        chunk_document(doc("002"), ChunkConfig(**bad))
