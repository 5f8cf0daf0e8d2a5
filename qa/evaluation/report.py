"""Reporting an evaluation: text and Markdown tables, failures, the recall plot, the CLI."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import QAError
from qa.evaluation import metrics as m
from qa.evaluation.cases import DEFAULT_MODES, RANK_CUTOFF, EvalResult, Failure, load_questions
from qa.evaluation.parity import (
    TOLERANCE,
    answerable_counts,
    check_arguments,
    compare,
    format_parity,
)
from qa.evaluation.running import evaluate, evaluate_retrieval, failures, recall_cutoffs

if TYPE_CHECKING:
    from qa.api import QA


# ------------------------------------------------------------------------ output
def _rows(result: EvalResult) -> list[tuple[str, str, str]]:
    """(label, metric name, kind) rows of the main table; kind is ``rate`` or ``ms``."""
    depth = min(RANK_CUTOFF, result.k)
    rows = [(f"recall@{c}", f"recall@{c}", "rate") for c in recall_cutoffs(result.k)]
    rows += [
        (f"MRR@{depth}", f"mrr@{depth}", "rate"),
        (f"nDCG@{depth}", f"ndcg@{depth}", "rate"),
        ("accuracy", "accuracy", "rate"),
        ("span accuracy", "span_accuracy", "rate"),
        ("span exact match (CMRC)", "em", "rate"),
        ("span F1 (CMRC)", "f1", "rate"),
        ("span length p50 (chars)", "span_chars_p50", "num"),
        ("wrong abstentions", "wrong_abstention", "rate"),
        ("citation precision", "citation_precision", "rate"),
        ("abstention precision", "abstention_precision", "rate"),
        ("abstention recall", "abstention_recall", "rate"),
        ("accuracy incl. unanswerable", "accuracy_all", "rate"),
        ("search p50 / p95 (ms)", "search", "ms"),
        ("ask p50 / p95 (ms)", "ask", "ms"),
    ]
    return rows


def _cell(result: EvalResult, mode: str, name: str, kind: str, digits: int = 3) -> str:
    if kind == "ms":
        p50, p95 = (result.metrics.get(f"{mode}/{name}_p{q}_ms") for q in (50, 95))
        return f"{_ms(p50)} / {_ms(p95)}"
    value = result.metrics.get(f"{mode}/{name}")
    if kind == "num":
        return "–" if value is None else f"{value:.0f}"
    return "–" if value is None else f"{value:.{digits}f}"


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _type_rows(result: EvalResult) -> list[tuple[str, list[str]]]:
    """Per-type (label, cells): recall@5 / accuracy; unanswerable shows abstentions."""
    cut = max(c for c in recall_cutoffs(result.k) if c <= 5)
    rows = []
    for kind, n in result.counts.items():
        if kind in ("all", "answerable") or ":" in kind:
            continue
        cells = []
        for mode in result.modes:
            if kind == "unanswerable":
                recall, acc = "–", _cell(result, mode, f"{kind}/accuracy_all", "rate", 2)
            else:
                recall = _cell(result, mode, f"{kind}/recall@{cut}", "rate", 2)
                acc = _cell(result, mode, f"{kind}/accuracy", "rate", 2)
            cells.append(f"{recall} / {acc}")
        rows.append((f"{kind} ({n})", cells))
    return rows


# The figures compared between the tune and check splits, and reported per kind.
_SPLIT_ROWS = (
    ("recall@1", "recall@1"), ("recall@5", "recall@5"), ("accuracy", "accuracy"),
    ("span F1 (CMRC)", "f1"), ("span exact match (CMRC)", "em"),
    ("abstention recall", "abstention_recall"), ("wrong abstentions", "wrong_abstention"),
    ("span length p50 (chars)", "span_chars_p50"),
)


def _value(result: EvalResult, key: str) -> float | None:
    return result.metrics.get(key)


def _fmt(value: float | None, name: str) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if name == "span_chars_p50" else f"{value:.3f}"


def split_rows(result: EvalResult, mode: str) -> list[tuple[str, str, str, str]]:
    """(label, tune, check, gap) rows for one mode.

    A rule fitted to the questions shows as a gap between the split it was tuned on and
    the one it never saw.
    """
    rows = []
    for label, name in _SPLIT_ROWS:
        tune = _value(result, f"{mode}/split:tune/{name}")
        check = _value(result, f"{mode}/split:check/{name}")
        gap = "–" if tune is None or check is None or name == "span_chars_p50" \
            else f"{tune - check:+.3f}"
        rows.append((label, _fmt(tune, name), _fmt(check, name), gap))
    return rows


def kind_rows(result: EvalResult, mode: str) -> list[tuple[str, str]]:
    """(kind (n), figures) per ``kind`` of case, for one mode."""
    out = []
    for key, n in result.counts.items():
        if not key.startswith("kind:"):
            continue
        kind = key.removeprefix("kind:")
        base = f"{mode}/{key}"
        if _value(result, f"{base}/accuracy") is None:
            text = f"abstained {_fmt(_value(result, f'{base}/accuracy_all'), '')}"
        else:
            text = (f"recall@5 {_fmt(_value(result, f'{base}/recall@5'), '')}  "
                    f"accuracy {_fmt(_value(result, f'{base}/accuracy'), '')}  "
                    f"span F1 {_fmt(_value(result, f'{base}/f1'), '')}")
            if kind == "two_part":
                text += f"  all parts {_fmt(_value(result, f'{base}/all_parts'), '')}"
        out.append((f"{kind} ({n})", text))
    return out


def _summary_line(result: EvalResult) -> str:
    n, answerable = result.counts["all"], result.counts["answerable"]
    return (
        f"{n} questions ({answerable} answerable, {n - answerable} unanswerable); "
        f"search k={result.k}, answers cite {result.ask_k}"
    )


def format_table(result: EvalResult) -> str:
    """A compact text table, modes as columns, then recall@5 / accuracy per type.

    Undefined values (e.g. abstention recall without unanswerable questions) show ``–``.
    """
    cut = max(c for c in recall_cutoffs(result.k) if c <= 5)
    body = [(label, [_cell(result, mode, name, kind) for mode in result.modes])
            for label, name, kind in _rows(result)]
    types = _type_rows(result)
    head = f"per type: recall@{cut} / accuracy"
    left = max(len(label) for label, _ in body + types + [(head, [])])
    widths = [
        max(len(mode), *(len(cells[i]) for _, cells in body + types))
        for i, mode in enumerate(result.modes)
    ]

    def line(label: str, cells: Sequence[str]) -> str:
        row = [label.ljust(left)] + [c.rjust(w) for c, w in zip(cells, widths, strict=True)]
        return "  ".join(row).rstrip()

    out = [_summary_line(result), line("", result.modes), line("", ["-" * w for w in widths])]
    out += [line(label, cells) for label, cells in body]
    out += ["", head]
    out += [line(label, cells) for label, cells in types]
    out.append("(unanswerable: – / share abstained)")
    mode = result.modes[0]
    n_tune, n_check = result.counts.get("split:tune", 0), result.counts.get("split:check", 0)
    if n_tune and n_check:
        out += ["", f"{mode}: tune ({n_tune}) / check ({n_check}) / gap"]
        out += [f"{label.ljust(left)}  {t:>8}  {c:>8}  {g:>8}"
                for label, t, c, g in split_rows(result, mode)]
    kinds = kind_rows(result, mode)
    if kinds:
        out += ["", f"{mode}: per kind"]
        out += [f"{label.ljust(left)}  {text}" for label, text in kinds]
    return "\n".join(out)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_failures(items: Sequence[Failure], width: int = 60) -> str:
    """Failures, three lines each: what went wrong, the question, expected and got.

    The first line gives the evidence rank in the search results (``–`` when absent)
    and, when the evidence was missed, where the top hit came from.
    """
    lines = []
    for f in items:
        where = ""
        if f.type != "unanswerable":
            rank = "–" if f.evidence_rank is None else str(f.evidence_rank)
            where = f" (evidence rank {rank}" + (
                f", top hit {f.top})" if f.evidence_rank != 1 and f.top else ")")
        lines.append(f"✗ {f.id} [{f.type}] {', '.join(f.problems)}{where}")
        lines.append(f"    Q: {_clip(f.question, width)}")
        lines.append(f"    expected: {_clip(f.expected, width)}  |  got: {_clip(f.got, width)}"
                     + (f"  [cited {f.cited}]" if f.cited else ""))
    return "\n".join(lines)


def _md(text: str, width: int = 80) -> str:
    return _clip(text, width).replace("|", "\\|")


def _cjk_font() -> str | None:
    """A font that has Chinese glyphs, preferring simplified-Chinese ones, or ``None``."""
    from matplotlib import font_manager

    names = sorted({f.name for f in font_manager.fontManager.ttflist})
    for hint in ("CJK SC", "Source Han Sans SC", "WenQuanYi", "SimHei", "Microsoft YaHei",
                 "PingFang", "CJK"):
        for name in names:
            if hint in name and "Mono" not in name:
                return name
    return None


def plot_recall(result: EvalResult, path: str | Path) -> Path:
    """Draw recall@k for k = 1..k, one line per mode, to a PNG.

    Chinese appears in the title only when a CJK font is installed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    cuts = list(range(1, result.k + 1))
    n = result.counts["answerable"]
    font = _cjk_font()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    try:
        for mode in result.modes:
            ranks = [r.evidence_rank for r in result.records(mode) if r.answerable]
            values = [m.recall_at(ranks, c) for c in cuts]
            ax.plot(cuts, [v if v is not None else float("nan") for v in values],
                    marker="o", markersize=4, linewidth=1.8, label=mode)
        title = f"Retrieval recall@k ({n} answerable questions)"
        if font:
            ax.set_title("检索召回率 " + title, fontfamily=[font, "DejaVu Sans"])
        else:
            ax.set_title(title)
        ax.set_xlabel("k (passages retrieved)")
        ax.set_ylabel("recall@k (share with evidence in top k)")
        ax.set_xticks(cuts if len(cuts) <= 20 else cuts[:: max(1, len(cuts) // 10)])
        ax.set_xlim(0.5, result.k + 0.5)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(True, alpha=0.3)
        ax.legend(title="mode", loc="lower right")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def write_report(result: EvalResult, directory: str | Path) -> Path:
    """Write ``report.md``, ``recall_at_k.png``, ``metrics.json`` and ``cases.jsonl``.

    Args:
        result: An evaluation result.
        directory: Created if missing; files in it are overwritten.

    Returns:
        The path of ``report.md``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    plot_recall(result, directory / "recall_at_k.png")
    write_json(result, directory / "metrics.json")
    with open(directory / "cases.jsonl", "w", encoding="utf-8") as fh:
        for record in result.cases:
            fh.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")
    modes = list(result.modes)
    lines = ["# Evaluation report", "", _summary_line(result) + ".", "",
             "| metric | " + " | ".join(modes) + " |", "|---|" + "---:|" * len(modes)]
    for label, name, kind in _rows(result):
        lines.append(f"| {label} | " + " | ".join(_cell(result, x, name, kind)
                                                  for x in modes) + " |")
    cut = max(c for c in recall_cutoffs(result.k) if c <= 5)
    lines += ["", f"Per question type: recall@{cut} / accuracy (unanswerable: share abstained).",
              "", "| type (n) | " + " | ".join(modes) + " |", "|---|" + "---:|" * len(modes)]
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in _type_rows(result)]
    first = result.modes[0]
    if result.counts.get("split:tune") and result.counts.get("split:check"):
        lines += ["", f"Tune and check splits ({first}): rules and weights were fitted on "
                  "`tune` only.", "", "| metric | tune | check | gap |", "|---|---:|---:|---:|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in split_rows(result, first)]
    if kind_rows(result, first):
        lines += ["", f"Per kind ({first}).", "", "| kind (n) | figures |", "|---|---|"]
        lines += [f"| {a} | {b} |" for a, b in kind_rows(result, first)]
    lines += ["", "![recall@k per mode](recall_at_k.png)", ""]
    for mode in modes:
        items = failures(result, mode)
        lines += [f"## Failures: {mode} ({len(items)} of {result.counts['all']})", ""]
        if not items:
            lines += ["None.", ""]
            continue
        lines += ["| id | type | question | expected | got | cited | evidence rank | problem |",
                  "|---|---|---|---|---|---|---:|---|"]
        for f in items:
            rank = "–" if f.evidence_rank is None else str(f.evidence_rank)
            lines.append(
                f"| {f.id} | {f.type} | {_md(f.question)} | {_md(f.expected)} | {_md(f.got)} "
                f"| {f.cited or '–'} | {rank} | {', '.join(f.problems)} |"
            )
        lines.append("")
    report = directory / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report


def write_json(result: EvalResult, path: str | Path,
               extra: Mapping[str, object] | None = None) -> Path:
    """Write the flat counts and metrics (:meth:`EvalResult.flat`), and ``extra``, as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({**result.flat(), **(extra or {})}, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    return path


def parse_modes(text: str, allowed: Sequence[str] = DEFAULT_MODES) -> tuple[str, ...]:
    """Split ``hybrid,bm25`` into modes, in order, without duplicates.

    Raises:
        QAError: For an empty list or an unknown mode.
    """
    modes = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    unknown = [x for x in modes if x not in allowed]
    if not modes or unknown:
        raise QAError(
            f"--modes {text!r}: unknown mode(s) {', '.join(unknown) or '(none given)'}; "
            f"use a comma-separated list of {', '.join(allowed)}."
        )
    return modes


def label(qa: QA) -> str:
    """An index named for a comparison: its backend and directory (``milvus (x)``)."""
    kind = str(qa.manifest.settings.get("backend", {}).get("kind", "local"))
    return f"{kind} ({qa.directory})"


def corpus_note(base: QA, other: QA) -> str:
    """One line when two indexes hold different documents (or versions of them), else ``""``."""
    ours = {d: r.sha256 for d, r in base.records.items()}
    theirs = {d: r.sha256 for d, r in other.records.items()}
    if ours == theirs:
        return ""
    only = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
    changed = sorted(d for d in set(ours) & set(theirs) if ours[d] != theirs[d])
    said = [f"only in the first: {', '.join(only[0][:3])}" if only[0] else "",
            f"only in the second: {', '.join(only[1][:3])}" if only[1] else "",
            f"different text: {', '.join(changed[:3])}" if changed else ""]
    return ("注意 (note): the two indexes do not hold the same corpus ("
            + "; ".join(x for x in said if x) + "), so their recall is not comparable.")


def cli(args: argparse.Namespace) -> int:
    """``qa eval``: print the table and the failures, write ``--json`` and ``--report``.

    With ``--compare-index``, also search every answerable question on that index and
    print both indexes' recall per mode and split (:mod:`qa.evaluation.parity`).

    Returns:
        0 on success; 1 when ``--compare-index`` finds hybrid recall@5 further than
        ``--tolerance`` from this index's.

    Raises:
        QAError: For a bad question file, bad modes or an unusable index.
    """
    from qa.api import QA

    modes = parse_modes(args.modes)
    cases = load_questions(args.questions)  # before any index work: fail fast
    compare_to = getattr(args, "compare_index", None)
    tolerance = getattr(args, "tolerance", TOLERANCE)
    if compare_to is not None:
        check_arguments(modes, args.k, tolerance)
    qa = QA.open(args.index, args.corpus)
    other = QA.load(compare_to) if compare_to is not None else None

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    result = evaluate(qa, cases, k=args.k, modes=modes, log=log, progress=True)
    print(format_table(result))
    first = failures(result, modes[0])
    print(f"\nFailures ({modes[0]}): {len(first)} of {len(cases)}")
    if first:
        print(format_failures(first))
    for mode in modes[1:]:
        print(f"Failures ({mode}): {len(failures(result, mode))} of {len(cases)}"
              + ("" if args.report else "; use --report DIR to list them"))
    parity = None
    if other is not None:
        log(f"searching the same questions on {compare_to} …")
        theirs = evaluate_retrieval(other, cases, k=args.k, modes=modes, log=log)
        parity = compare(result.metrics, theirs, modes, (label(qa), label(other)),
                         answerable_counts(cases), tolerance)
        print("\n" + format_parity(parity))
        note = corpus_note(qa, other)
        if note:
            print(note)
    if args.json_file:
        extra = parity.flat() if parity is not None else None
        print(f"\nmetrics: {write_json(result, args.json_file, extra)}")
    if args.report:
        print(f"report: {write_report(result, args.report)}")
    return 0 if parity is None or parity.within else 1

