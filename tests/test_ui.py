"""The chat UI: message rendering (pure functions), the chat turn, and the API.

Rendering is tested on hand-made answers; the chat turn and the gradio_client
test use the seed index, so what is checked is what a user would see.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from qa.answering.answer import ABSTAIN_TEXT
from qa.render import (
    SHOWN_QUESTION_CHARS,
    citation_line,
    escape_text,
    render_answer,
    render_passage,
    render_question,
)
from qa.types import Answer, Hit
from qa.ui import parse_auth, respond

PASSAGE = "青岛在产业布局上统筹。磁存储芯片布局在西海岸新区，新型显示技术布局在崂山区。"
SENTENCE = "磁存储芯片布局在西海岸新区"


def make_hit(text: str = PASSAGE, highlight: tuple[int, int] | None = None, **kw) -> Hit:
    fields = dict(
        text=text, doc="000_b17fa6633de3b991", title="布局40个细分赛道",
        section="亮出产业培育新打法", start=0, end=len(text), score=0.5, line_start=57, line_end=61,
        path="000_b17fa6633de3b991.txt", highlight=highlight,
    )
    fields.update(kw)
    return Hit(**fields)


SPAN = "西海岸新区"


def answered() -> Answer:
    a = PASSAGE.index(SENTENCE)
    x = PASSAGE.index(SPAN)
    first = make_hit(highlight=(a, a + len(SENTENCE)), span=(x, x + len(SPAN)))
    other = make_hit(text="其他产业的各个细分赛道。", line_start=47, line_end=47)
    return Answer("哪个区布局磁存储芯片？", SENTENCE, (first, other), False, 0.9, a, a + 14,
                  span=SPAN, span_start=x, span_end=x + len(SPAN))


def test_escape_text_neutralises_html_and_markdown():
    out = escape_text("<script>alert(1)</script> *粗* _斜_ # 标题 [链接](x) $x$ `c`")
    assert "<" not in out and ">" not in out
    assert "&lt;script&gt;alert&#40;1&#41;&lt;/script&gt;" in out
    for char in "*_#[]()$`":
        assert char not in out.replace("&#", "")  # only as numeric entities
    assert "&#42;粗&#42;" in out


def test_escape_text_never_leaves_a_blank_line():
    # A blank line would end the HTML block and let Markdown in.
    out = escape_text("第一段\n\n\n第二段\r\n第三段\n")
    assert "\n" not in out
    assert out == "第一段<br>第二段<br>第三段<br>"


def test_highlight_wraps_exactly_the_answer_sentence():
    answer = answered()
    html = render_passage(answer.citations[0])
    assert f'<mark>磁存储芯片布局在<mark class="qa-span">{SPAN}</mark></mark>' in html
    assert html.count("<mark>") == 1 and html.count('<mark class="qa-span">') == 1
    assert html.startswith("青岛在产业布局上统筹。<mark>")
    assert render_passage(answer.citations[1]).count("<mark>") == 0


def test_highlight_offsets_survive_escaping():
    text = "<b>前</b>*注*。答案句在此。后文"
    a = text.index("答案句")
    html = render_passage(make_hit(text=text, highlight=(a, a + 5)))
    assert "<mark>答案句在此</mark>" in html
    assert html.startswith("&lt;b&gt;前&lt;/b&gt;&#42;注&#42;。<mark>")


def test_highlight_out_of_range_is_clamped():
    html = render_passage(make_hit(text="短句。", highlight=(1, 99)))
    assert html == "短<mark>句。</mark>"


def test_citation_line_format():
    line = citation_line(2, make_hit())
    assert line.startswith(
        "<b>[2]</b> 布局40个细分赛道 › 亮出产业培育新打法 — "
        "000&#95;b17fa6633de3b991.txt，第 57–61 行"
    )
    single = citation_line(1, make_hit(line_start=5, line_end=5, section=""))
    assert "布局40个细分赛道 — 000&#95;b17fa6633de3b991.txt，第 5 行" in single


def test_answer_has_inline_citation_and_numbered_sources():
    html = render_answer(answered())
    # the short answer first, then its sentence, each with the citation
    assert f'<b>答：</b><span class="qa-short">{SPAN}</span><span class="qa-ref">[1]</span>' in html
    assert f'依据：{SENTENCE}<span class="qa-ref">[1]</span>' in html
    assert html.index(SPAN) < html.index(f"依据：{SENTENCE}")
    assert "出处 Sources" in html
    assert html.index("<b>[1]</b>") < html.index("<b>[2]</b>")
    assert html.count('<details class="qa-source"') == 2
    assert html.count('<details class="qa-source" open>') == 1  # only the answer's source
    assert ABSTAIN_TEXT not in html
    assert "\n" not in html


def test_abstention_reads_clearly_and_keeps_closest_passages():
    hits = (make_hit(), make_hit(text="另一段。"))
    html = render_answer(Answer("烟台市磁存储芯片产业布局在哪个区？", "x", hits, True, 0.1))
    assert f"<b>{escape_text(ABSTAIN_TEXT)}</b>" in html
    assert "最接近的段落 Closest passages" in html and "出处 Sources" not in html
    assert "<b>[1]</b>" in html and "<b>[2]</b>" in html
    assert "qa-ref" not in html  # nothing is cited as support
    bare = render_answer(Answer("q", "x", (), True, 0.0))
    assert escape_text(ABSTAIN_TEXT) in bare and "Closest passages" not in bare


def test_passage_text_cannot_inject_tags():
    evil = make_hit(text="<img src=x onerror=alert(1)>正文", title="<script>t</script>")
    html = render_answer(Answer("q", "<script>x</script>", (evil,), False, 0.5))
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert&#40;1&#41;&gt;" in html


def test_long_question_is_shortened_for_display():
    shown = render_question("长" * 10_000)
    assert shown.count("长") == SHOWN_QUESTION_CHARS
    assert "共 10000 字" in shown
    assert "空 empty" in render_question("   ")


def test_parse_auth():
    assert parse_auth("me:pa:ss") == ("me", "pa:ss")
    assert parse_auth(None) is None
    for bad in ("nocolon", ":pw", "me:"):
        with pytest.raises(ValueError, match="USER:PASS"):
            parse_auth(bad)


def test_cli_loads_once_with_progress_then_serves(monkeypatch, tmp_path: Path):
    import qa.api
    import qa.ui
    from qa.cli import main

    calls = []

    def fake_open(index, corpus, progress=None):
        calls.append(("open", str(index), str(corpus), progress))
        return type("FakeQA", (), {"documents": []})()

    def fake_serve(qa_, host, port, auth):
        calls.append(("serve", host, port, auth))

    monkeypatch.setattr(qa.api.QA, "open", staticmethod(fake_open))
    monkeypatch.setattr(qa.ui, "serve", fake_serve)
    index = str(tmp_path / "index")
    assert main(["serve", "--index", index, "--port", "7999", "--auth", "me:pw"]) == 0
    # Not the default index: nothing to build from, a missing one is an error (no build).
    assert calls == [("open", index, "None", True), ("serve", "127.0.0.1", 7999, ("me", "pw"))]


def test_cli_rejects_bad_auth_before_loading(tmp_path: Path):
    from qa.cli import main

    assert main(["serve", "--index", str(tmp_path / "none"), "--auth", "nopass"]) == 2


# ------------------------------------------------------------------ with the seed index
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("", "问题为空"),
        ("长" * 10_000, "问题过长"),
    ],
)
def test_bad_questions_get_a_message(seed_qa, question: str, expected: str):
    history = respond(seed_qa, question, [])
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert "qa-error" in history[1]["content"] and expected in history[1]["content"]


def test_chat_turn_keeps_history(seed_qa):
    first = respond(seed_qa, "哪个区布局磁存储芯片？", [])
    second = respond(seed_qa, "<script>alert(1)</script>", first, k=3, mode="bm25")
    assert second[:2] == first and len(second) == 4
    assert "西海岸新区" in first[1]["content"] and "<mark>" in first[1]["content"]
    assert second[2]["content"] == "<div>&lt;script&gt;alert&#40;1&#41;&lt;/script&gt;</div>"
    assert "<script" not in second[3]["content"]


def test_document_filter_and_unknown_document(seed_qa):
    doc = "000_b17fa6633de3b991"
    html = respond(seed_qa, "哪个区布局磁存储芯片？", [], docs=[doc])[-1]["content"]
    files = re.findall(r"— ([\w&#;]+\.txt)", html)
    assert files and all(f == escape_text(f"{doc}.txt") for f in files)
    bad = respond(seed_qa, "哪个区布局磁存储芯片？", [], docs=["nope"])[-1]["content"]
    assert "qa-error" in bad and "Unknown document" in bad


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gradio_client_calls_the_chat_endpoint(seed_index: Path, tmp_path: Path):
    from gradio_client import Client

    from qa import QA
    from qa.ui import serve

    port = free_port()
    app = serve(QA.open(seed_index, tmp_path / "no-corpus"), port=port, block=False)
    try:
        assert app.share is False and app.share_url is None
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        history, box = client.predict(
            "哪个区布局磁存储芯片？", [], 5, "hybrid", [], api_name="/chat"
        )
        assert box == ""
        assert [m["role"] for m in history] == ["user", "assistant"]
        reply = history[-1]["content"]
        reply = reply[0]["text"] if isinstance(reply, list) else reply
        assert "西海岸新区" in reply and "000&#95;b17fa6633de3b991.txt" in reply

        answer = client.predict("哪个区布局磁存储芯片？", 3, "hybrid", None, api_name="/ask")
        assert not answer["abstained"] and "西海岸新区" in answer["text"]
        assert answer["citations"][0]["file"] == "000_b17fa6633de3b991.txt"
        assert len(answer["citations"]) <= 3

        with pytest.raises(Exception, match="问题为空"):
            client.predict("  ", 5, "hybrid", None, api_name="/ask")

        # Several people at once: queued jobs all complete, each with its own answer.
        questions = ["哪个区布局磁存储芯片？", "Which district hosts magnetic storage chips?",
                     "烟台市磁存储芯片产业布局在哪个区？"]
        jobs = [client.submit(q, 5, "hybrid", None, api_name="/ask") for q in questions]
        results = [job.result(timeout=300) for job in jobs]
        assert [r["question"] for r in results] == questions
        assert [r["abstained"] for r in results] == [False, False, True]
    finally:
        app.close()


def test_serve_binds_localhost_by_default():
    from qa.cli import _parser

    args = _parser().parse_args(["serve"])
    assert (args.host, args.port, args.auth) == ("127.0.0.1", 7860, None)


class _NoIndex:
    """Enough of QA for the app to start: no documents, never asked."""

    documents: list[dict[str, object]] = []

    def ask(self, question, k=5, mode="hybrid", doc=None):  # pragma: no cover
        raise AssertionError("not asked")


def test_login_is_throttled_after_repeated_failures(capfd):
    import urllib.error
    import urllib.parse
    import urllib.request

    from qa.ui import LOGIN_FAILURES, serve

    port = free_port()
    app = serve(_NoIndex(), port=port, auth=("me", "s3cret"), block=False)
    try:
        printed = capfd.readouterr()
        assert "share=True" not in printed.out + printed.err
        assert f"127.0.0.1:{port}" in printed.err

        def login(password: str) -> int:
            data = urllib.parse.urlencode({"username": "me", "password": password}).encode()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", data, timeout=30):
                    return 200
            except urllib.error.HTTPError as exc:
                return exc.code

        assert login("s3cret") == 200
        codes = [login("wrong") for _ in range(LOGIN_FAILURES + 2)]
        assert codes[:LOGIN_FAILURES] == [400] * LOGIN_FAILURES or 429 not in codes[:LOGIN_FAILURES]
        assert codes[LOGIN_FAILURES:] == [429, 429]
        assert login("s3cret") == 429  # even the right password waits out the minute
    finally:
        app.close()


def test_source_markup_and_tabs_are_hidden_but_offsets_stay():
    text = "发展路径\t<p>依托雷沃重工。<p>答案句在此。"
    a = text.index("答案句")
    html = render_passage(make_hit(text=text, highlight=(a, a + 5)))
    assert "&lt;p&gt;" not in html and "\t" not in html
    assert "<mark>答案句在此</mark>" in html


def test_clear_resets_the_conversation_and_the_document_filter(seed_qa):
    import gradio as gr

    from qa.ui import build_app

    app = build_app(seed_qa)
    blocks = list(app.blocks.values())
    clear = next(b for b in blocks if isinstance(b, gr.ClearButton))
    chat = next(b for b in blocks if isinstance(b, gr.Chatbot))
    docs = next(b for b in blocks if isinstance(b, gr.Dropdown))
    question = next(b for b in blocks if isinstance(b, gr.Textbox))
    cleared = [set(dep["outputs"]) for dep in app.get_config_file()["dependencies"]
               if clear._id in [target[0] for target in dep["targets"]]]
    assert any({chat._id, question._id, docs._id} <= outputs for outputs in cleared)
