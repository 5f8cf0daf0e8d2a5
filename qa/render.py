"""Answers as HTML chat messages (pure functions, testable without a server).

Every piece of user or passage text goes through :func:`escape_text` before any tag of ours is
added, and each message is a single HTML block without blank lines, so neither HTML nor
Markdown inside a passage can change the page.
"""

from __future__ import annotations

import re

from qa.answering.answer import ABSTAIN_TEXT
from qa.types import Answer, Hit

SHOWN_QUESTION_CHARS = 300
# Characters Markdown (or Gradio's LaTeX pass) would act on, as numeric entities.
_MARKDOWN = {c: f"&#{ord(c)};" for c in "\\`*_[]{}()#+-!|~$:"}
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
_TABLE = str.maketrans({**_HTML, **_MARKDOWN})

# Block markup some sources carry as text (003 has <p> tags, and tabs): dropped for display
# only (inline tags such as <b> stay visible, escaped);
# offsets and citations still index the source exactly.
_SOURCE_TAGS = re.compile(r"</?(?:p|br|div)\b[^<>]{0,200}>", re.I)


def display_text(text: str) -> str:
    """Passage text as shown: HTML tags left in the source removed, tabs as spaces."""
    return _SOURCE_TAGS.sub(" ", text).replace("\t", " ")


def escape_text(text: str) -> str:
    """Escape ``text`` for HTML and Markdown; line breaks become ``<br>``.

    Blank lines would end the HTML block a message is rendered as, so runs of
    line breaks collapse into one ``<br>``.
    """
    escaped = text.translate(_TABLE).replace("\t", " ")
    return re.sub(r"\s*(?:\r\n|\r|\n)\s*", "<br>", escaped)


def render_passage(hit: Hit) -> str:
    """The passage, escaped, with the answer sentence (``hit.highlight``) in ``<mark>``.

    The short answer inside it (``hit.span``) is in ``<mark class="qa-span">``.
    """
    text = hit.text
    if hit.highlight is None:
        return escape_text(display_text(text).strip())
    a, b = hit.highlight
    a, b = max(0, min(a, len(text))), max(0, min(b, len(text)))
    def shown(piece: str) -> str:
        return escape_text(display_text(piece))

    inner = shown(text[a:b])
    if hit.span and a <= hit.span[0] < hit.span[1] <= b:
        x, y = hit.span
        inner = (shown(text[a:x]) + f'<mark class="qa-span">{shown(text[x:y])}</mark>'
                 + shown(text[y:b]))
    body = shown(text[:a]) + f"<mark>{inner}</mark>" + shown(text[b:])
    return re.sub(r"^(?:<br>)+|(?:<br>)+$", "", body)


def citation_line(number: int, hit: Hit) -> str:
    """``[n] 标题 › 章节 — 文件名，第 a–b 行``, escaped."""
    return f"<b>[{number}]</b> {escape_text(hit.citation())}"


def render_source(number: int, hit: Hit, open_: bool) -> str:
    """One source as a collapsible block: the citation line, then the passage."""
    return (
        f'<details class="qa-source"{" open" if open_ else ""}>'
        f'<summary class="qa-cite">{citation_line(number, hit)}</summary>'
        f'<div class="qa-passage">{render_passage(hit)}</div></details>'
    )


def render_answer(answer: Answer) -> str:
    """The chat reply: the answer with ``[1]``, or the abstention, then the sources.

    The first source is open; the others fold so a reply stays readable. When
    the answer abstains, the closest passages are listed as such, not as support.
    """
    hits = answer.citations
    if answer.abstained:
        # The very words the CLI prints (qa.answering.answer.ABSTAIN_TEXT), so both read the same.
        head = f'<div class="qa-abstain"><b>{escape_text(ABSTAIN_TEXT)}</b></div>'
        label = "最接近的段落 Closest passages"
        if answer.reason:
            head += f'<div class="qa-muted">原因 why：{escape_text(answer.reason)}</div>'
    else:
        head = "".join(_render_part(answer, p, i) for i, p in enumerate(answer.parts, 1)) \
            if answer.parts else _render_part(answer, answer, 0)
        label = "出处 Sources" + (
            '<span class="qa-muted">（[1] 含答案 holds the answer；其余为相关段落 related）</span>'
            if len(hits) > 1 else ""
        )
    sources = "".join(render_source(i, h, i == 1) for i, h in enumerate(hits, start=1))
    tail = f'<div class="qa-sources-label">{label}</div>{sources}' if hits else ""
    return f'<div class="qa-reply">{head}{tail}</div>'


def _render_part(answer: Answer, part: Answer, number: int) -> str:
    """The short answer in bold, then its sentence, with the citation number (``[n]``)."""
    lead = f"({number}) " if number else ""
    if part.abstained:
        return (f'<p class="qa-answer">{lead}<b>未在语料中找到依据</b> '
                f"（{escape_text(part.question)}）</p>")
    n = 1
    if part.citations:
        first = part.citations[0]
        n = next((i for i, h in enumerate(answer.citations, 1)
                  if (h.chunk_id, h.start) == (first.chunk_id, first.start)), 1)
    ref = f'<span class="qa-ref">[{n}]</span>' if answer.citations else ""
    span = f'<p class="qa-answer">{lead}<b>答：</b><span class="qa-short">' \
           f"{escape_text(part.span or part.text)}</span>{ref}</p>"
    if part.span and " ".join(part.span.split()) != " ".join(part.text.split()):
        span += f'<p class="qa-sentence">依据：{escape_text(part.text)}{ref}</p>'
    return span


def render_question(question: str) -> str:
    """The user's message as shown: escaped, and shortened when pasted in bulk."""
    shown = question.strip()
    if len(shown) > SHOWN_QUESTION_CHARS:
        shown = f"{shown[:SHOWN_QUESTION_CHARS]}…（共 {len(question)} 字，仅显示开头 truncated）"
    return f"<div>{escape_text(shown) or '<i>（空 empty）</i>'}</div>"


def render_error(message: str) -> str:
    """A message the user can act on (empty or over-long question, bad filter)."""
    return f'<div class="qa-reply qa-error">⚠ {escape_text(message)}</div>'
