"""Web chat UI: ``qa serve`` starts a Gradio app over one loaded :class:`~qa.QA`.

The module holds no retrieval logic. :mod:`qa.render` turns an
:class:`~qa.types.Answer` into the HTML of a chat message; :func:`build_app` wires
it to Gradio components; :func:`serve` and :func:`cli` start the server.

Example:
    >>> from qa import QA
    >>> from qa.ui import serve
    >>> serve(QA.open("index", "seeds"), port=7860)  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from qa.errors import QAError
from qa.render import render_answer, render_error, render_question
from qa.types import Answer
from qa.validate import MODES, ArgumentError

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["build_app", "cli", "respond", "serve"]
EXAMPLES = (
    "哪个区布局磁存储芯片？",
    "Which district hosts magnetic storage chips?",
    "青島的新型顯示技術佈局在哪些區？",
    "海洋领域大模型布局在哪些区？",
)
_MODE_LABELS = {"hybrid": "混合 Hybrid", "bm25": "关键词 BM25", "dense": "向量 Dense"}
MODE_CHOICES = tuple((_MODE_LABELS[m], m) for m in MODES)
CONCURRENCY = 2  # two cores: more parallel requests only queue inside the encoder lock
QUEUE_SIZE = 64
# Bring the latest question to the top of the chat (Gradio's autoscroll is off),
# so a long reply is read from its answer rather than from its last source.
# On submit, wait for the new question to appear; after the reply, just scroll.
_SCROLL_JS = """() => {
  const sel = '#qa-chat .message-row.user-row', fresh = %s;
  const seen = document.querySelectorAll(sel).length;
  let tries = 0;
  const go = () => {
    const wrap = document.querySelector('#qa-chat .bubble-wrap');
    const rows = document.querySelectorAll(sel);
    if (wrap && rows.length && (!fresh || rows.length > seen)) {
      const row = rows[rows.length - 1];
      if (wrap.scrollHeight > wrap.clientHeight + 1) {
        wrap.scrollTop += row.getBoundingClientRect().top - wrap.getBoundingClientRect().top - 40;
      } else {  // a phone: the chat grows with the page, so scroll the page
        window.scrollBy(0, row.getBoundingClientRect().top - 40);
      }
    } else if (++tries < 50) setTimeout(go, 100);
  };
  setTimeout(go, 100);
}"""
SCROLL_ON_ASK, SCROLL_ON_REPLY = _SCROLL_JS % "true", _SCROLL_JS % "false"

CSS = """
.qa-reply {line-height: 1.65}
.qa-answer {font-size: 1.08em; margin: 0 0 .5em}
.qa-ref {color: var(--color-accent); font-weight: 600; margin-left: .15em}
.qa-muted {color: var(--body-text-color-subdued); font-size: .85em; font-weight: normal}
.qa-abstain {border-left: 4px solid #d97706; background: rgba(217,119,6,.08);
  padding: .45em .75em; margin: 0 0 .5em; border-radius: 4px}
.qa-error {border-left: 4px solid #dc2626; background: rgba(220,38,38,.07);
  padding: .45em .75em; border-radius: 4px}
.qa-sources-label {font-weight: 600; margin: .6em 0 .3em}
.qa-short {font-weight: 600}
.qa-sentence {margin: .2em 0; color: #444}
.qa-passage mark.qa-span {background: #fdba74; font-weight: 600}
.qa-source {border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: .35em .6em; margin: .35em 0}
.qa-source summary {cursor: pointer}
.qa-cite {font-size: .92em}
.qa-passage {margin: .4em 0 .1em; padding-left: .6em; font-size: .92em;
  border-left: 3px solid var(--border-color-primary); color: var(--body-text-color)}
.qa-passage mark {background: #fde68a; color: #111; padding: 0 .1em; border-radius: 2px}
/* A phone: no fixed-height chat box with its own scrollbar; the page scrolls instead. */
@media (max-width: 640px) {
  #qa-chat {height: auto !important; max-height: none !important; min-height: 320px}
  #qa-chat .bubble-wrap {height: auto !important; max-height: none !important;
    overflow: visible !important}
}
"""
class Asker(Protocol):
    """What the UI needs from :class:`qa.QA` (a fake stands in for it in tests)."""

    def ask(
        self, question: str, k: int = 5, mode: str = "hybrid", doc: list[str] | None = None
    ) -> Answer:
        """Answer ``question`` with numbered citations, or abstain."""
        ...

    @property
    def documents(self) -> list[dict[str, object]]:
        """The indexed documents: dicts with ``doc``, ``title``, ``date`` and ``path``."""
        ...


def respond(
    qa: Asker, message: str, history: Sequence[dict[str, Any]] | None, k: float = 5,
    mode: str = "hybrid", docs: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One chat turn: ``history`` plus the question and the rendered reply."""
    turn = [*(history or []), {"role": "user", "content": render_question(message or "")}]
    try:
        answer = qa.ask(message or "", k=int(k), mode=mode, doc=list(docs) if docs else None)
    except QAError as exc:  # anything else is a bug: gradio shows it as an error
        reply = render_error(str(exc))
    else:
        reply = render_answer(answer)
    return [*turn, {"role": "assistant", "content": reply}]


# ------------------------------------------------------------------ the app
def build_app(qa: Asker) -> gr.Blocks:
    """The chat app over ``qa``; call ``.queue()`` and ``.launch()`` on it (see :func:`serve`).

    API endpoints: ``/chat`` takes ``(message, history, k, mode, doc)`` and returns
    ``(history, "")``, the last history entry being the reply's HTML; ``/ask``
    takes ``(question, k, mode, docs)`` and returns the answer as JSON.
    """
    import gradio as gr

    docs = qa.documents
    choices = [(f"{d['title']}（{d.get('date') or '日期不详'}）", str(d["doc"])) for d in docs]

    def chat(
        message: str, history: list[dict[str, Any]], k: float, mode: str, doc: list[str]
    ) -> Iterator[tuple[list[dict[str, Any]], str]]:
        # Show the question at once and clear the box; the answer follows.
        yield [*(history or []), {"role": "user", "content": render_question(message or "")}], ""
        yield respond(qa, message, history, k, mode, doc), ""

    def ask(
        question: str, k: int = 5, mode: str = "hybrid", docs: list[str] | None = None
    ) -> dict[str, Any]:
        """The answer as JSON for API clients: ``Answer.to_dict()``, ``path`` renamed ``file``.

        gradio_client takes any dict with a ``path`` string for a file to download.
        """
        try:
            answer = qa.ask(question, k=int(k), mode=mode, doc=list(docs) if docs else None)
        except QAError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc
        data = answer.to_dict()
        data["citations"] = [
            {("file" if key == "path" else key): value for key, value in hit.items()}
            for hit in data["citations"]
        ]
        return data

    with gr.Blocks(title="政策文件问答 Policy Q&A", analytics_enabled=False) as app:
        gr.Markdown(
            "## 政策文件问答 · Policy document Q&A\n"
            f"在 {len(docs)} 份政策文件中检索并回答，每个答案都附出处；没有依据时会明确说明。"
            "可用中文（简/繁）或英文提问。 *Ask in Chinese or English; every answer cites "
            "its sources.*"
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="对话 Conversation", elem_id="qa-chat", height=600, layout="bubble",
                    autoscroll=False, buttons=["copy_all"], feedback_options=None,
                    latex_delimiters=[], sanitize_html=True,
                    placeholder="输入问题，按 Enter 提问。<br>Type a question and press Enter.",
                )
                message = gr.Textbox(
                    label="问题 Question", show_label=False, elem_id="qa-question",
                    placeholder="输入问题，例如：哪个区布局磁存储芯片？",
                    submit_btn="提问 Ask", autofocus=True,
                )
                examples = gr.Examples(
                    list(EXAMPLES), inputs=[message], label="示例问题 Examples（点击提问）",
                )
            with gr.Column(scale=1, min_width=260):
                k = gr.Slider(1, 10, value=5, step=1, label="段落数 Passages (k)")
                mode = gr.Radio(MODE_CHOICES, value="hybrid", label="检索方式 Retrieval mode")
                doc = gr.Dropdown(
                    choices, value=[], multiselect=True, label="限定文件 Documents",
                    info="留空即检索全部文件 (empty = all documents)",
                )
                gr.ClearButton([chatbot, message, doc], value="清空对话 Clear")
        gr.api(ask, api_name="ask")
        inputs = [message, chatbot, k, mode, doc]
        asked = message.submit(chat, inputs, [chatbot, message], api_name="chat")
        clicked = examples.load_input_event.then(
            chat, inputs, [chatbot, message], api_visibility="undocumented"
        )
        for event in (asked, clicked):
            event.then(None, js=SCROLL_ON_REPLY, queue=False)
        message.submit(None, js=SCROLL_ON_ASK, queue=False)
        examples.load_input_event.then(None, js=SCROLL_ON_ASK, queue=False)
    return app


def serve(
    qa: Asker, host: str = "127.0.0.1", port: int = 7860,
    auth: tuple[str, str] | None = None, block: bool = True,
) -> gr.Blocks:
    """Queue and launch the app; never opens a public share link.

    Args:
        qa: The loaded index, shared by all requests (its methods are thread-safe).
        host: Address to bind; anything but loopback exposes it on the network.
        port: Port to bind.
        auth: ``(user, password)`` to require a login.
        block: Wait until interrupted; ``False`` returns once the server runs.

    Returns:
        The running app (call ``.close()`` to stop it when ``block`` is false).
    """
    app = build_app(qa)
    app.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    # quiet: Gradio would advise "set share=True"; this app never shares, so say the URL alone.
    app.launch(
        server_name=host, server_port=port, share=False, auth=auth,
        prevent_thread_lock=True, ssr_mode=False, mcp_server=False, quiet=True,
        enable_monitoring=False, footer_links=["api"], css=CSS,
        auth_message="政策文件问答：请登录 (please log in)",
    )
    if auth is not None:
        throttle_logins(app.server_app)
    print(f"网页界面 (web UI): {app.local_url}", file=sys.stderr, flush=True)
    if block:
        app.block_thread()
    return app


LOGIN_FAILURES = 5  # failed logins per client ...
LOGIN_WINDOW = 60.0  # ... within this many seconds, then refused for as long


def throttle_logins(server: Any) -> None:  # noqa: ANN401 - Gradio's FastAPI app
    """Refuse ``/login`` for a minute to a client that failed :data:`LOGIN_FAILURES` times.

    Wraps the login route's ASGI app (Gradio adds no middleware once the server runs), so
    a failure is a non-200 answer from Gradio's own login check.
    """
    import json
    import threading
    import time
    from collections import defaultdict, deque

    failures: dict[str, deque[float]] = defaultdict(deque)
    lock = threading.Lock()

    def wrap(inner: Any) -> Any:  # noqa: ANN401
        async def guarded(scope: dict, receive: Any, send: Any) -> None:  # noqa: ANN401
            client = (scope.get("client") or ("?", 0))[0]
            now = time.monotonic()
            with lock:
                seen = failures[client]
                while seen and now - seen[0] > LOGIN_WINDOW:
                    seen.popleft()
                wait = LOGIN_WINDOW - (now - seen[0]) if len(seen) >= LOGIN_FAILURES else 0
            if wait > 0:
                body = json.dumps({"detail": f"too many failed logins; try again in "
                                             f"{wait:.0f} s"}).encode()
                await send({"type": "http.response.start", "status": 429,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"retry-after", str(int(wait) + 1).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
            status: list[int] = []

            async def watch(message: dict) -> None:
                if message["type"] == "http.response.start":
                    status.append(message["status"])
                await send(message)

            await inner(scope, receive, watch)
            with lock:
                if status and status[0] != 200:
                    failures[client].append(time.monotonic())
                elif status:
                    failures.pop(client, None)

        return guarded

    for route in server.router.routes:
        if getattr(route, "path", "").rstrip("/") == "/login" and hasattr(route, "app"):
            route.app = wrap(route.app)


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``USER:PASS`` → ``(user, pass)``.

    Raises:
        ArgumentError: When there is no ``:`` or either side is empty.
    """
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ArgumentError("--auth must be USER:PASS, both non-empty (e.g. --auth me:s3cret)")
    return user, password


def cli(args: argparse.Namespace) -> int:
    """``qa serve``: load (or build, with progress) the index once, then serve it."""
    from qa.cli import open_index

    auth = parse_auth(args.auth)
    if not 0 < args.port < 65536:
        raise ArgumentError(f"--port must be between 1 and 65535, got {args.port}")
    if args.host not in ("127.0.0.1", "localhost", "::1") and auth is None:
        print(f"注意 (warning): serving on {args.host} without --auth; anyone who can reach "
              "this address can use it.", file=sys.stderr)
    qa = open_index(args.index, args.corpus)
    print(f"已载入索引 (index loaded): {args.index}, {len(qa.documents)} documents",
          file=sys.stderr)
    serve(qa, args.host, args.port, auth)
    return 0
