"""Bring your own documents: every format read right, bad files skipped, cited answers per format.

The fixtures are made here from the seed texts: a GBK text file, a UTF-16 one, a
several-page PDF (reportlab's built-in CJK font STSong-Light, so no font file is
needed) with a running header, page numbers, a paragraph across a page break and
a hyphenated English word, a DOCX with headings and a table, a web page with
navigation noise, and one of each kind of bad file.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest

from qa.text.clean import load_document, read_text
from qa.index.commit import data_dir
from qa.read.corpus import gather, scan
from qa.read.docx import table_rows
from qa.read.formats import UnreadableError, decode_text
from qa.read.pdf import page_of

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
HEADER = "青岛市人民政府文件"
PDF_TITLE = "青岛市人民政府关于印发青岛市先导产业发展行动方案的通知"
ENGLISH = ("The plan supports smart manufacturing and industrial internet platforms, and inte-",
           "grated circuits across the West Coast New Area of Qingdao.")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def seed_lines(prefix: str) -> list[str]:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ------------------------------------------------------------------ fixture makers
def _wrap(text: str, width: int, indent: int) -> list[str]:
    """Cut text into lines of ``width`` display columns (a CJK character takes two)."""
    lines, line, used = [], "", indent
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width:
            lines.append(line)
            line, used = "", 0
        line += ch
        used += w
    return lines + [line] if line else lines


def pdf_paragraphs() -> list[str | tuple[str, ...]]:
    """An official notice around paragraphs of seed 000.

    A string is a paragraph, wrapped with its first line indented; a tuple holds
    lines as they are (the first indented), or, after a leading ``">"``, lines
    set flush right (the signature and date).
    """
    body = [line for line in seed_lines("000") if len(line) > 60][:6]
    return [
        ("青政发〔2025〕1号",),
        "各区、市人民政府，市政府各部门，市直各单位：",
        "现将《青岛市先导产业发展行动方案》印发给你们，请认真贯彻执行。",
        ("一、总体要求",),
        *body,
        ("二、保障措施",),
        "加强组织领导，建立工作专班，统筹推进先导产业发展各项工作。",
        ENGLISH,
        (">", "青岛市人民政府", "2025年1月15日"),
    ]


def make_pdf(path: Path, paragraphs: list[str | tuple[str, ...]], lines_per_page: int = 11) -> int:
    """A PDF like a government notice: centred title, indented wrapped paragraphs, a running
    header from page 2 on, ``- n -`` page numbers. Returns the page count."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    rows: list[tuple[int, str]] = []  # (x offset, text); -1: flush right
    for para in paragraphs:
        if isinstance(para, tuple) and para[0] == ">":
            rows += [(-1, line) for line in para[1:]]
        elif isinstance(para, tuple):
            rows += [(24 if i == 0 else 0, line) for i, line in enumerate(para)]
        else:
            rows += [(24 if i == 0 else 0, line) for i, line in enumerate(_wrap(para, 60, 2))]
    pdf = canvas.Canvas(str(path))
    page, y = 1, 780
    pdf.setFont("STSong-Light", 18)
    pdf.drawCentredString(297, y, PDF_TITLE)
    y -= 40
    for i, (x, line) in enumerate(rows):
        if i and i % lines_per_page == 0:
            pdf.setFont("STSong-Light", 9)
            pdf.drawCentredString(297, 40, f"- {page} -")
            pdf.showPage()
            page, y = page + 1, 780
            pdf.setFont("STSong-Light", 9)
            pdf.drawString(72, 810, HEADER)
        pdf.setFont("STSong-Light", 12)
        if x < 0:
            pdf.drawRightString(440, y, line)
        else:
            pdf.drawString(72 + x, y, line)
        y -= 20
    pdf.setFont("STSong-Light", 9)
    pdf.drawCentredString(297, 40, f"- {page} -")
    pdf.showPage()
    pdf.save()
    return page


def make_docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("青岛西海岸新区高端制造业发展规划", level=0)
    d.add_paragraph("规划期：2021-2025年。")
    d.add_heading("第一章 发展基础", level=1)
    d.add_paragraph(seed_lines("003")[9])
    d.add_heading("一、主要成就", level=2)
    d.add_paragraph("先进制造业赋能升级，新能源汽车产销量突破12万台。", style="List Bullet")
    d.add_heading("第二章 发展目标", level=1)
    rows = [["指标", "2020年", "2025年目标"], ["高端制造业营业收入", "3000亿元", "6000亿元"],
            ["国家级绿色工厂", "9家", "20家"]]
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_paragraph("到2025年，全区高端制造业规模和质量效益显著提升。")
    d.save(str(path))


def make_html(path: Path) -> None:
    lines = seed_lines("001")
    paras = "\n".join(f"<p>{line}</p>" for line in lines[4:9])
    html = f"""<!DOCTYPE html><html><head><meta charset="gbk">
<title>{lines[0]}_青岛市人民政府门户网站</title>
<meta name="PubDate" content="2024-12-20 09:00">
<script>var tracker = "脚本内容不应出现";</script><style>.nav{{color:red}}</style></head>
<body><div class="top-nav"><a href="/">首页</a><a href="/zw">政务公开</a><a>互动交流</a></div>
<nav><ul><li>新闻中心</li><li>政策文件</li><li>办事服务</li></ul></nav>
<div class="breadcrumb">当前位置：首页 &gt; 新闻中心</div>
<div class="article"><h1>{lines[0]}</h1>
<p>{lines[3]}</p>
<h2>{lines[1]}</h2>
{paras}
</div>
<aside><h3>相关链接</h3><ul><li>中国政府网</li></ul></aside>
<div id="footer">版权所有：青岛市人民政府办公厅 网站标识码3702000001</div>
<script>document.write("广告内容");</script></body></html>"""
    path.write_bytes(html.encode("gbk"))


def make_bad_files(folder: Path) -> dict[str, str]:
    """One file of each bad kind; returns ``{file name: words its skip reason contains}``."""
    from pypdf import PdfWriter
    from reportlab.pdfgen import canvas

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_bytes(b"  \n\r\n ")
    (folder / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\ngarbage\n%%EOF")
    good = folder / "tmp-good.pdf"
    make_pdf(good, pdf_paragraphs()[:3])
    writer = PdfWriter(clone_from=str(good))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    writer.write(str(folder / "locked.pdf"))
    good.unlink()
    scan_pdf = canvas.Canvas(str(folder / "scanned.pdf"))
    scan_pdf.rect(50, 50, 400, 600, fill=1)
    scan_pdf.showPage()
    scan_pdf.save()
    (folder / "corrupt.docx").write_bytes(b"PK\x03\x04 not a word file")
    (folder / "budget.xlsx").write_bytes(b"PK\x03\x04 a spreadsheet")
    (folder / "menu.html").write_bytes(
        b"<html><head><title>menu</title></head><body><nav>Home | News</nav></body></html>"
    )
    return {
        "empty.txt": "empty", "blank.md": "empty", "photo.txt": "binary",
        "corrupt.pdf": "corrupt", "locked.pdf": "password", "scanned.pdf": "OCR",
        "corrupt.docx": "corrupt", "budget.xlsx": "unsupported file type .xlsx",
        "menu.html": "no main text",
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The good fixtures, one per format, in one directory."""
    root = tmp_path_factory.mktemp("byod") / "corpus"
    root.mkdir()
    talent = "\n".join(seed_lines("002")[:20]) + "\n"
    (root / "talent.txt").write_bytes(talent.encode("gbk"))
    (root / "factory.txt").write_bytes(("\n".join(seed_lines("004")[:24]) + "\n").encode("utf-16"))
    make_pdf(root / "notice.pdf", pdf_paragraphs())
    make_docx(root / "westcoast.docx")
    make_html(root / "industry.html")
    return root


# ------------------------------------------------------------------ encodings
def test_gbk_text_is_detected_and_recorded(corpus):
    text, encoding = read_text(corpus / "talent.txt")
    assert encoding == "gbk"
    assert text.startswith(seed_lines("002")[0])
    doc = load_document(corpus / "talent.txt")
    assert doc.encoding == "gbk" and doc.title == seed_lines("002")[0]
    for b in doc.blocks:
        assert squash(doc.text[b.start : b.end]) == squash(b.text)


def test_gb18030_only_characters(tmp_path):
    path = tmp_path / "rare.txt"
    path.write_bytes("青岛市㐀人民政府印发通知。\n".encode("gb18030"))
    assert decode_text(path.read_bytes(), path) == ("青岛市㐀人民政府印发通知。\n", "gb18030")


def test_utf16_with_and_without_byte_order_mark(corpus, tmp_path):
    text, encoding = read_text(corpus / "factory.txt")
    assert encoding == "utf-16" and text.startswith(seed_lines("004")[0])
    bare = tmp_path / "bare.txt"
    bare.write_bytes("升级传统制造业\n发展新质生产力。\n".encode("utf-16-le"))
    assert read_text(bare) == ("升级传统制造业\n发展新质生产力。\n", "utf-16-le")


def test_utf8_with_bom_keeps_offsets(tmp_path):
    path = tmp_path / "bom.md"
    path.write_bytes("\ufeff# 标题\n\n正文。".encode())
    doc = load_document(path)
    assert doc.encoding == "utf-8-sig" and doc.format == "md"
    assert doc.text[doc.blocks[-1].start : doc.blocks[-1].end] == "正文。"


# ------------------------------------------------------------------ PDF
@pytest.fixture(scope="module")
def notice(corpus):
    return load_document(corpus / "notice.pdf")


def test_pdf_metadata_title_date_issuer_number(notice):
    assert notice.format == "pdf" and notice.encoding == ""
    assert notice.title == PDF_TITLE
    assert notice.date == "2025-01-15"
    assert notice.meta["number"] == "青政发〔2025〕1号"
    assert notice.meta["issuer"] == "青岛市人民政府"


def test_pdf_pages_headers_and_footers(notice, corpus):
    from pypdf import PdfReader

    pages = len(PdfReader(str(corpus / "notice.pdf")).pages)
    assert pages >= 3 and len(notice.pages) == pages
    assert list(notice.pages) == sorted(notice.pages) and notice.pages[0] == 0
    assert HEADER not in notice.text, "the running header is dropped"
    assert not re.search(r"-\s*\d+\s*-", notice.text), "page numbers are dropped"
    # Each page's text starts where the page table says.
    reader = PdfReader(str(corpus / "notice.pdf"))
    for n, start in enumerate(notice.pages, start=1):
        first = next(ln for ln in reader.pages[n - 1].extract_text().splitlines()
                     if ln.strip() and HEADER not in ln)
        assert squash(notice.text[start:]).startswith(squash(first)[:8]), n
        assert page_of(notice.pages, start) == n


def test_pdf_lines_and_page_breaks_are_repaired(notice):
    lines = notice.text.splitlines()
    for para in pdf_paragraphs():
        if isinstance(para, str):  # every wrapped paragraph is one line again
            assert squash(para) in {squash(ln) for ln in lines}, para[:20]
    # A paragraph crosses each page break, and reads through it.
    crossing = [s for s in notice.pages[1:] if notice.text[s - 1] != "\n"]
    assert crossing, "the fixture breaks a paragraph across pages"
    english = "The plan supports smart manufacturing and industrial internet platforms, and " \
              "integrated circuits across the West Coast New Area of Qingdao."
    assert english in lines, "hyphen mended, words joined with a space"


def test_pdf_blocks_index_the_extracted_text(notice):
    assert notice.blocks[0].kind == "heading" and notice.blocks[0].text == PDF_TITLE
    for b in notice.blocks:
        assert squash(notice.text[b.start : b.end]) == squash(b.text)
    sections = {b.section for b in notice.blocks if b.kind == "paragraph"}
    assert ("一、总体要求",) in sections and ("二、保障措施",) in sections
    assert all("青政发" not in b.text for b in notice.blocks), "文号 is metadata"


# ------------------------------------------------------------------ metadata in the text
def test_official_document_metadata_from_text():
    from qa.text.clean import iso_date, parse

    text = ("青岛市人民政府文件\n青政发〔2025〕1号\n青岛市人民政府关于加快发展先导产业的意见\n"
            "各区、市人民政府：\n现提出如下意见。\n一、总体要求\n加快发展新质生产力。\n"
            "青岛市人民政府\n二〇二五年一月十五日\n")
    doc = parse(text, "opinion")
    assert doc.title == "青岛市人民政府关于加快发展先导产业的意见"
    assert (doc.date, doc.meta["number"], doc.meta["issuer"]) == (
        "2025-01-15", "青政发〔2025〕1号", "青岛市人民政府")
    assert all(b.text not in ("青岛市人民政府文件", "青政发〔2025〕1号", "青岛市人民政府")
               for b in doc.blocks), "letterhead, number and signature are metadata"
    labelled = parse("关于印发行动方案的通知\n发文机关：山东省人民政府 发文字号：鲁政字〔2022〕88号\n"
                     "成文日期：2022年9月21日\n正文内容。\n", "labelled")
    assert (labelled.date, labelled.meta["number"], labelled.meta["issuer"]) == (
        "2022-09-21", "鲁政字〔2022〕88号", "山东省人民政府")
    assert parse("标题\n9月21日，市政府新闻办举办发布会。\n", "no-year").date is None
    assert [iso_date(s) for s in ("2025年1月15日", "二〇二二年九月二十一日", "2025-13-01")] == [
        "2025-01-15", "2022-09-21", None]


# ------------------------------------------------------------------ DOCX and HTML
def test_docx_headings_become_sections_and_tables_rows(corpus):
    doc = load_document(corpus / "westcoast.docx")
    assert doc.format == "docx" and doc.title == "青岛西海岸新区高端制造业发展规划"
    by_text = {b.text: b for b in doc.blocks}
    assert by_text["第一章 发展基础"].kind == "heading"
    assert by_text["一、主要成就"].section == ("第一章 发展基础",)
    row = "指标：高端制造业营业收入，2020年：3000亿元，2025年目标：6000亿元。"
    assert by_text[row].section == ("第二章 发展目标",)
    assert by_text["- 先进制造业赋能升级，新能源汽车产销量突破12万台。"].kind == "list"


def test_table_rows():
    assert table_rows([["指标", "2027年"], ["智能工厂", "25家"], ["合计", "合计"]]) == [
        "指标：智能工厂，2027年：25家。", "合计"]
    assert table_rows([["单独一行", "两格"]]) == ["单独一行，两格。"]


def test_html_main_text_title_and_date(corpus):
    doc = load_document(corpus / "industry.html")
    lines = seed_lines("001")
    assert doc.format == "html" and doc.encoding == "gb18030"
    assert doc.title == lines[0], "the <title> without the site name"
    assert doc.date == "2024-12-20"
    for noise in ("首页", "政务公开", "新闻中心", "脚本内容", "广告内容", "版权所有", "相关链接"):
        assert noise not in doc.text, noise
    assert squash(lines[4]) in squash(doc.text)
    assert any(b.kind == "heading" and b.text == lines[1] for b in doc.blocks)


# ------------------------------------------------------------------ bad files
def test_each_bad_file_has_a_one_line_reason(tmp_path):
    expected = make_bad_files(tmp_path / "bad")
    for name, words in expected.items():
        path = tmp_path / "bad" / name
        with pytest.raises(UnreadableError) as info:
            load_document(path)
        assert words in info.value.reason, (name, info.value.reason)
        assert "\n" not in str(info.value) and name in str(info.value)


def test_scan_reports_unsupported_files_and_outside_links(tmp_path):
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("正文。", encoding="utf-8")
    (root / "b.xlsx").write_bytes(b"x")
    (root / ".hidden.txt").write_text("隐藏。", encoding="utf-8")
    (root / "page.html").write_text("<p>x</p>", encoding="utf-8")
    (root / "page_files").mkdir()
    (root / "page_files" / "style.css").write_text("a{}", encoding="utf-8")
    outside = tmp_path / "secret.txt"
    outside.write_text("不应被索引。", encoding="utf-8")
    os.symlink(outside, root / "link.txt")
    os.symlink(tmp_path, root / "up")
    os.symlink(root / "sub" / "a.txt", root / "inside.txt")
    found, skipped = scan(root)
    assert [c.name for c in found] == ["page.html", "sub/a.txt"]
    reasons = {s.path.name: s.reason for s in skipped}
    assert set(reasons) == {"b.xlsx", "link.txt", "up"}
    assert "unsupported" in reasons["b.xlsx"]
    assert "outside" in reasons["link.txt"] and "not followed" in reasons["up"]
    files, missing = gather([root / "sub" / "a.txt", tmp_path / "nope.pdf"])
    assert [c.name for c in files] == ["a.txt"] and "no such file" in missing[0].reason


# ------------------------------------------------------------------ indexed and answered
@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    """``qa build`` over the fixtures plus a folder of bad files, through the CLI."""
    import contextlib
    import io

    from qa.cli import main

    make_bad_files(corpus / "bad")
    index = tmp_path_factory.mktemp("byod-index") / "index"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["build", "--corpus", str(corpus), "--index", str(index)])
    from qa import QA

    return code, out.getvalue(), err.getvalue(), index, QA.load(index)


def test_build_skips_bad_files_one_line_each_and_exits_nonzero(built):
    code, out, err, _, qa = built
    assert code == 1
    progress = [line for line in err.strip().splitlines() if "%|" in line]
    lines = [line for line in err.strip().splitlines() if line not in progress]
    assert len(lines) == 9 and all(line.startswith("跳过 (skipped) ") for line in lines)
    assert progress and all("\r" not in line for line in progress)  # one line per update
    assert "Traceback" not in err
    assert "5 documents" in out and "skipped 9" in out
    assert {d["doc"] for d in qa.documents} == {
        "talent", "factory", "notice", "westcoast", "industry"}


def test_documents_carry_their_metadata(built):
    *_, qa = built
    docs = {d["doc"]: d for d in qa.documents}
    assert docs["notice"]["format"] == "pdf" and docs["notice"]["pages"] >= 3
    assert docs["notice"]["number"] == "青政发〔2025〕1号"
    assert docs["talent"]["encoding"] == "gbk" and docs["factory"]["encoding"] == "utf-16"
    assert docs["factory"]["issuer"] == "青岛晚报"
    assert docs["industry"]["date"] == "2024-12-20"
    assert all(d["chunks"] >= 1 and Path(str(d["source"])).is_absolute() for d in docs.values())


ASKED = [
    ("到2026年青岛全市人才总量目标是多少？", "talent", "300万"),
    ("到2027年要建成多少家国家级智能工厂？", "factory", "25家"),
    ("哪些是战略引领作用突出的先导产业？", "notice", "人工智能"),
    ("到2025年西海岸新区高端制造业营业收入目标是多少？", "westcoast", "6000亿元"),
    ("到2027年新一代信息技术产业规模要达到多少？", "industry", "2000亿元"),
]


@pytest.mark.parametrize(("question", "doc", "expected"), ASKED)
def test_each_format_answers_with_the_right_citation(built, question, doc, expected):
    *_, index, qa = built
    answer = qa.ask(question)
    assert not answer.abstained, (question, answer.text)
    first = answer.citations[0]
    assert first.doc == doc, (question, first.citation())
    assert expected in squash(first.text)
    source = (data_dir(index)[0] / "sources" / f"{doc}.txt").read_text(encoding="utf-8")
    assert squash(source[first.start : first.end]) == squash(first.text)
    assert first.citation().startswith(first.title)


def test_pdf_citations_give_pages(built, notice):
    *_, qa = built
    hits = qa.search("先导产业 新一代信息技术 人工智能", k=5, doc="notice")
    assert hits
    for hit in hits:
        assert hit.page_start == page_of(notice.pages, hit.start) >= 1
        assert hit.page_end == page_of(notice.pages, hit.end - 1) >= hit.page_start
        pages = (f"第 {hit.page_start} 页" if hit.page_start == hit.page_end
                 else f"第 {hit.page_start}–{hit.page_end} 页")
        assert f"notice.pdf，{pages}（青岛市人民政府 青政发〔2025〕1号，2025-01-15）" \
            in hit.citation()
    text_hit = qa.search("人才总量", k=1, doc="talent")[0]
    assert "行" in text_hit.citation() and text_hit.page_start == 0


def test_date_filters(built):
    *_, qa = built
    hits = qa.search("产业", k=10, since="2025-01-01")
    assert hits and {h.doc for h in hits} == {"notice"}
    hits = qa.search("产业", k=10, since="2024-12", until="2024-12-31")
    assert {h.doc for h in hits} == {"industry"}
    with pytest.raises(ValueError, match="no passage matches"):
        qa.search("产业", since="2030")
    with pytest.raises(ValueError, match="2025-01-15"):
        qa.search("产业", since="15/01/2025")


def test_docs_command_lists_documents(built, capsys):
    from qa.cli import main

    *_, index, _ = built
    assert main(["docs", "--index", str(index)]) == 0
    out = capsys.readouterr().out.splitlines()
    row = next(line for line in out if line.startswith("notice\t")).split("\t")
    assert row[1:5] == [PDF_TITLE, "2025-01-15", "pdf", row[4]] and int(row[4]) >= 1
    assert "青政发〔2025〕1号" in row[5] and row[6].endswith("notice.pdf")
    assert main(["docs", "--index", str(index), "--json"]) == 0
