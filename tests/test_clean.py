"""Cleaning on the real seed pages: offsets, page-break repair, headings, articles, duplicates."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from qa.text.clean import is_terminated, load_document, parse, read_text
from qa.types import Document

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
NAMES = sorted(p.stem for p in SEEDS.glob("*.txt"))


@cache
def doc(prefix: str) -> Document:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return load_document(path)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def block_at(d: Document, line: int):
    (block,) = [b for b in d.blocks if b.line_start == line]
    return block


def test_seed_corpus_is_present():
    assert [n[:3] for n in NAMES] == ["000", "001", "002", "003", "004"]


@pytest.mark.parametrize("name", NAMES)
def test_every_block_matches_its_source_span(name):
    d = doc(name[:3])
    assert d.doc_id == name and len(d.sha256) == 64 and d.encoding == "utf-8"
    previous_end = 0
    for b in d.blocks:
        assert squash(d.text[b.start : b.end]) == squash(b.text), b
        assert d.text.count("\n", 0, b.start) + 1 == b.line_start
        assert d.text.count("\n", 0, b.end - 1) + 1 == b.line_end
        assert b.start >= previous_end, "blocks are in source order and do not overlap"
        previous_end = b.end
        assert b.kind in {"heading", "paragraph", "table", "list", "byline", "caption"}
        assert 0 <= b.article < len(d.articles)


def test_read_text_strips_bom_and_keeps_offsets(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeff标题行\n\n正文。".encode())
    text, encoding = read_text(path)
    assert (text, encoding) == ("标题行\n\n正文。", "utf-8-sig")
    d = load_document(path)
    assert d.encoding == "utf-8-sig" and d.text[d.blocks[-1].start : d.blocks[-1].end] == "正文。"


@pytest.mark.parametrize("content", [b"", b"  \n\r\n\t "])
def test_read_text_rejects_empty_files(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="empty.txt.*empty"):
        read_text(path)


def test_read_text_detects_gbk_and_rejects_binary_naming_the_file(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("青岛市人民政府".encode("gb18030"))
    assert read_text(path) == ("青岛市人民政府", "gbk")
    assert load_document(path).encoding == "gbk"
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02\xff" * 8)
    with pytest.raises(ValueError, match="binary.txt.*binary"):
        load_document(binary)


def test_crlf_is_whitespace_and_offsets_index_the_decoded_text():
    text = "标题\r\n\r\n第一段没有结束，\r\n\r\n接着说完。\r\n"
    d = parse(text, "crlf")
    (para,) = [b for b in d.blocks if b.kind == "paragraph"]
    assert para.text == "第一段没有结束，接着说完。"
    assert squash(text[para.start : para.end]) == squash(para.text)
    assert (para.line_start, para.line_end) == (3, 5)


@pytest.mark.parametrize(
    ("prefix", "first", "last"),
    [
        ("000", 33, 35),
        ("000", 55, 57),
        ("000", 59, 61),
        ("001", 15, 17),
        ("001", 94, 96),
        ("001", 98, 100),
        ("001", 126, 128),
        ("001", 130, 132),
        ("001", 152, 154),
        ("002", 36, 38),
        ("002", 48, 50),
        ("002", 64, 66),
        ("003", 27, 29),
        ("003", 105, 107),
        ("003", 164, 166),
        ("003", 262, 265),
        ("003", 360, 361),
        ("003", 479, 481),
        ("004", 19, 21),
        ("004", 29, 31),
        ("004", 49, 51),
        ("004", 61, 63),
    ],
)
def test_page_breaks_are_repaired(prefix, first, last):
    b = block_at(doc(prefix), first)
    assert (b.line_start, b.line_end) == (first, last)
    assert is_terminated(b.text)


def test_page_break_examples_read_as_one_sentence():
    assert "提质发展3个优势产业，包括智能家电" in block_at(doc("001"), 15).text
    assert "奥古特A系列、尼卡希白啤" in block_at(doc("004"), 19).text


def test_truncated_line_before_a_list_is_not_joined():
    d = doc("000")
    assert block_at(d, 83).text.endswith("开展科技项")
    assert block_at(d, 85).kind == "list"


def test_only_headline_lines_and_one_truncation_stay_unterminated():
    left = {
        (name[:3], b.line_start)
        for name in NAMES
        for b in doc(name[:3]).blocks
        if b.kind == "paragraph" and not is_terminated(b.text)
    }
    # Sub-headlines (kept as paragraphs) and 000's line cut off before its sidebar.
    assert left == {
        ("000", 9),
        ("000", 83),
        ("001", 5),
        ("001", 140),
        ("002", 5),
        ("002", 7),
        ("004", 5),
        ("004", 43),
    }


def test_terminated_ignores_closers_without_a_full_stop():
    assert is_terminated("…刘学辉介绍。") and is_terminated("“好。”")
    assert not is_terminated("省级以上制造业单项企业（产品）")
    assert not is_terminated("提质发展3个优势产业，")
    assert is_terminated("…提升可靠性。</p>")


def test_chapter_headings_of_the_plan():
    d = doc("003")
    cases = {
        11: (1, "第一章 发展基础"),
        13: (2, "一、主要成就"),
        17: (3, "1. 综合实力迈上新台阶"),
        21: (3, "2.创新动能取得新突破"),
        115: (1, "第四章 发展重点"),
        119: (2, "一、以制造基地为依托发展船舶海工"),
        123: (3, "专栏 1 船舶海工“十四五”发展路径及重点项目"),
        201: (3, "1.船舶海工"),
        208: (4, "专栏 9 新区船舶海工产业链现状"),
        218: (3, "2.智能家电"),
    }
    for line, (level, text) in cases.items():
        b = block_at(d, line)
        assert (b.kind, b.level, b.text) == ("heading", level, text)


def test_box_rows_are_tables_under_their_box():
    d = doc("003")
    row = block_at(d, 125)
    assert row.kind == "table" and row.text.startswith("发展路径\t")
    assert row.section == (
        "第四章 发展重点",
        "一、以制造基地为依托发展船舶海工",
        "专栏 1 船舶海工“十四五”发展路径及重点项目",
    )
    # The box closes at the next sibling heading.
    assert block_at(d, 130).section == ("第四章 发展重点", "二、以智能家居为引领发展智能家电")
    # A box under a numbered heading is popped by the next numbered heading.
    assert block_at(d, 220).section == ("第五章 重点任务", "一、做优做强传统优势产业", "2.智能家电")


def test_numbered_sentence_is_a_paragraph_not_a_heading():
    sentence = "1. 到2025年，规模以上工业产值年均增长10%以上，研发投入年均增长10%以上。"
    text = f"规划\n\n一、目标\n\n{sentence}\n"
    d = parse(text, "numbered")
    assert [(b.kind, b.section) for b in d.blocks[1:]] == [
        ("heading", ()),
        ("paragraph", ("一、目标",)),
    ]


def test_markdown_heading_block_starts_after_the_marks():
    d = doc("000")
    b = block_at(d, 19)
    assert (b.kind, b.level, b.text) == ("heading", 2, "抢占产业发展制高点")
    assert d.text[b.start : b.end] == "抢占产业发展制高点"
    assert block_at(d, 21).section == ("抢占产业发展制高点",)


def test_short_title_lines_are_section_headings():
    assert block_at(doc("001"), 13).section == ("主攻“10+1”产业40个赛道",)
    assert block_at(doc("004"), 15).section == ("推进重大成果产出和运用转化",)
    assert block_at(doc("004"), 27).section == ("建成25家国家级智能工厂",)
    assert block_at(doc("002"), 15).section == ("实现“4个走在前列”",)


def test_document_titles():
    assert {name[:3]: doc(name[:3]).title for name in NAMES} == {
        "000": "布局40个细分赛道，主攻“10+1”重点产业方向",
        "001": "青岛构建“10+1”创新型产业体系",
        "002": "努力实现“四个走在前列”，青岛打造现代产业先行城市",
        "003": "青岛西海岸新区 高端制造业发展“十四五”规划",
        "004": "升级传统制造业 发展新质生产力",
    }


def test_dates_come_from_the_page_date_line_only():
    assert doc("000").date == "2025-01-15"
    assert [a.date for a in doc("000").articles] == ["2025-01-15"]
    for prefix in ("001", "002", "003", "004"):  # 9月21日, 1月16日: no year, no date
        assert doc(prefix).date is None


def test_004_has_two_articles_closed_by_trailing_bylines():
    d = doc("004")
    assert [(a.title, a.byline) for a in d.articles] == [
        ("升级传统制造业 发展新质生产力", "青岛晚报/观海新闻/掌上青岛记者 李沛"),
        ("壮大“领军企业” 培育“未来之星”", "青岛晚报/观海新闻/掌上青岛首席记者 张译心 通讯员 吕林"),
    ]
    assert block_at(d, 45).article == 1 and block_at(d, 37).article == 0
    assert d.meta["newspaper"] == "青岛晚报"


def test_001_short_news_items_are_articles():
    d = doc("001")
    assert [a.title for a in d.articles] == [
        "青岛构建“10+1”创新型产业体系",
        "青岛再添99个省绿色低碳高质量发展重点项目",
        "上合组织国家食品机械精准采购对接会举行",
        "青岛已举办12场中小企业发展促进条例宣贯活动",
        "2025青岛市文化和旅游消费促进活动启动",
        "市南区举办“青雁归巢”寒假专题研修营活动",
        "2024年青岛进出口达9076.7亿元",
        "年货大集惠职工",
        "绿色养殖忙 大棚鳎鱼肥",
        "11个攻坚事项27项攻坚任务均实现年度目标",
    ]
    assert d.articles[0].byline == "本报记者 张志德 杨国胜"
    assert all(a.byline and a.byline.endswith("报道") for a in d.articles[1:8])
    # The main article keeps its subheadings; they do not start articles.
    assert block_at(d, 29).article == 0 and block_at(d, 29).section == ("发挥科技创新引领作用",)
    # Within an article, blocks are never assigned to a later article's headline.
    assert block_at(d, 144).article == 9 and block_at(d, 140).kind == "paragraph"


def test_single_article_documents():
    for prefix in ("000", "002", "003"):
        d = doc(prefix)
        assert len(d.articles) == 1 and d.articles[0].title == d.title
    assert doc("000").articles[0].byline == "青岛日报/观海新闻记者 杨光"
    assert doc("000").meta["newspaper"] == "青岛日报"


def test_date_line_dropped_editors_and_captions_kept():
    d = doc("000")
    lines = {b.line_start for b in d.blocks}
    assert 3 not in lines  # the date line
    # The editors' line is kept, so "这一版的美编是谁？" can be answered, and is metadata too.
    assert block_at(d, 5).kind == "byline" and block_at(d, 5).text.startswith("主编 赵波")
    assert d.meta["editors"].startswith("主编 赵波")
    assert block_at(doc("004"), 11).kind == "caption"
    assert block_at(doc("002"), 11).text == "泰睿思芯片封测生产车间。资料照片"


def test_garbled_tail_dropped_real_sidebar_kept():
    d = doc("000")
    lines = {b.line_start for b in d.blocks}
    assert not lines & {105, 107, 109}
    sidebar = [b for b in d.blocks if b.kind == "list"]
    assert [b.line_start for b in sidebar] == list(range(85, 104, 2))
    assert len({b.text.split("：")[0] for b in sidebar}) == 10  # ten different industries


def test_repeats_need_same_kind_and_high_overlap():
    lines = doc("000").text.split("\n")
    body, sidebar, garbled, copy = lines[42], lines[90], lines[102], lines[104]
    text = "\n\n".join(["题目", body, sidebar, garbled, copy, body, "- 短句重复。", "- 短句重复。"])
    d = parse(text, "dups")
    kept = [b.line_start for b in d.blocks if b.kind != "heading"]
    # The sidebar restates the paragraph (bigram Jaccard 0.75) but is another kind: kept.
    # The garbled copy is a list item like the one before it (0.80): dropped. So is the exact
    # repeat of the paragraph; lines too short to judge are never dropped.
    assert kept == [3, 5, 7, 13, 15]


def test_document_without_a_headline_falls_back_to_its_id():
    d = parse("第一段说完了。\n\n第二段也说完了。\n", "plain")
    assert d.title == "plain" and [a.title for a in d.articles] == ["plain"]
    assert [b.kind for b in d.blocks] == ["paragraph", "paragraph"]


def test_repeat_dropping_equals_comparing_every_pair() -> None:
    """Near repeats found with the size shortcut are exactly those of the plain pairwise test."""
    import random

    from qa.text.repeats import DEDUP_MIN_CHARS, NEAR_DUPLICATE, drop_repeats, normalise
    from qa.text.units import Unit

    def every_pair(units: list[Unit]) -> list[Unit]:
        seen: list[tuple[str, str, set[str]]] = []
        out = []
        for unit in units:
            key = normalise(unit.text)
            if unit.kind not in ("paragraph", "list", "table", "caption") or \
                    len(key) < DEDUP_MIN_CHARS:
                out.append(unit)
                continue
            grams = {key[i : i + 2] for i in range(len(key) - 1)}
            if any(key == k or (kind == unit.kind and
                                len(grams & g) >= NEAR_DUPLICATE * len(grams | g))
                   for kind, k, g in seen):
                continue
            seen.append((unit.kind, key, grams))
            out.append(unit)
        return out

    rnd = random.Random(3)
    alphabet = "产业发展新区青岛芯片海洋装备制造"
    dropped = 0
    for _ in range(300):
        base = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(5, 40)))
                for _ in range(4)]
        units = []
        for i in range(rnd.randint(1, 25)):
            text = rnd.choice(base)
            cut = rnd.randint(0, len(text))
            text = text[:cut] + "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 4))) \
                + text[cut:]
            kind = rnd.choice(["paragraph", "paragraph", "list", "heading"])
            units.append(Unit(kind, text, i, i + len(text)))
        expected = every_pair(units)
        assert drop_repeats(units) == expected
        dropped += len(units) - len(expected)
    assert dropped > 100  # the cases do contain near repeats
