"""The evaluation harness: score retrieval and answers on a question set.

``qa eval`` and :func:`evaluate` run every question of a set (``EVAL_FORMAT.md``)
through :meth:`QA.search` and :meth:`QA.ask` for each retrieval mode and report
flat metrics (``hybrid/recall@5``, ``bm25/factoid/accuracy``), a compact table,
every failure and, on request, a Markdown report with a recall@k plot. The
metrics themselves are the pure functions of :mod:`qa.metrics`.

Example:
    >>> from qa import QA
    >>> from qa.evaluate import evaluate, format_table, load_questions
    >>> result = evaluate(QA.load("index"), load_questions("eval/questions.jsonl"))
    >>> print(format_table(result))
    >>> result.metrics["hybrid/recall@5"]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from . import metrics as m
from .errors import QAError
from .types import Answer, Hit
from .validate import ArgumentError

TYPES = ("factoid", "paraphrase", "crosslingual", "traditional", "list", "multidoc", "unanswerable")
FIELDS = ("id", "question", "answers", "evidence", "doc", "type")
DEFAULT_MODES = ("hybrid", "bm25", "dense")
RECALL_CUTOFFS = (1, 3, 5, 10)
RANK_CUTOFF = 10  # MRR, nDCG and "evidence not retrieved" look at the top 10 (or k if smaller)
ASK_K = 5
MAX_ERRORS_SHOWN = 20


@dataclass(frozen=True)
class Case:
    """One question of a question set.

    Attributes:
        id: Unique id within the file.
        question: The question as a user would type it.
        answers: Gold answers (any one counts); empty when unanswerable.
        evidence: Verbatim source passages (any one makes a retrieval hit).
        doc: Source document stem, or ``None``.
        type: One of :data:`TYPES`.
        line: 1-based line in the question file (0 when built in code).
        kind: The optional ``kind`` field: the failure kind the case probes
            (``near_miss``, ``two_part``, ``english_entity``, ``table``, ``multi_figure``);
            ``""`` when absent.
    """

    id: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[str, ...]
    doc: str | None
    type: str
    line: int = 0
    kind: str = ""

    @property
    def split(self) -> str:
        """``tune`` or ``check``: see :func:`split_of`."""
        return split_of(self.id)

    @property
    def answerable(self) -> bool:
        """False for the ``unanswerable`` type."""
        return self.type != "unanswerable"


@dataclass(frozen=True)
class CaseResult:
    """What one mode did on one case.

    Attributes:
        mode: Retrieval mode.
        id: Case id.
        type: Case type.
        question: The question.
        answers: The gold answers.
        answer: The short answer text (``""`` when abstained).
        abstained: Whether the system abstained.
        cited: Where the first citation points (``doc:line``), ``""`` when none.
        top: Where the first search hit points (``doc:line``), ``""`` when none.
        evidence_rank: 1-based rank of the first search hit containing evidence, or
            ``None`` (always ``None`` for unanswerable cases).
        correct: Answer correct; for an unanswerable case, whether it abstained.
        citation_correct: Whether the first citation contains evidence (False when an
            answer has no citation); ``None`` for unanswerable cases and abstentions.
        em: CMRC exact match of the short answer span (0 for unanswerable cases).
        f1: CMRC F1 of the short answer span (0 for unanswerable cases).
        search_ms: Wall time of the search call.
        ask_ms: Wall time of the ask call.
        span: The short answer span (``""`` when abstained).
        span_correct: Whether a gold answer is inside the span (False when abstained).
        all_parts: Whether every gold answer is in the answer text (for two-part cases).
        split: ``tune`` or ``check``.
        kind: The case's ``kind`` (``""`` when none).
        reason: Why the system abstained (``""`` when it answered).
    """

    mode: str
    id: str
    type: str
    question: str
    answers: tuple[str, ...]
    answer: str
    abstained: bool
    cited: str
    top: str
    evidence_rank: int | None
    correct: bool
    citation_correct: bool | None
    em: float
    f1: float
    search_ms: float
    ask_ms: float
    span: str = ""
    span_correct: bool = False
    all_parts: bool = False
    split: str = ""
    kind: str = ""
    reason: str = ""

    @property
    def answerable(self) -> bool:
        """False for the ``unanswerable`` type."""
        return self.type != "unanswerable"


@dataclass(frozen=True)
class EvalResult:
    """Everything one evaluation run measured.

    Attributes:
        modes: The modes evaluated, in order.
        k: Passages retrieved per search.
        metrics: Flat metrics: ``{mode}/{metric}`` and ``{mode}/{type}/{metric}``;
            ``None`` where a metric is undefined (e.g. no unanswerable question).
        counts: Number of cases overall (``all``), ``answerable`` and per type.
        cases: One record per mode and case, modes in order, cases in file order.
        ask_k: Passages cited per answer.
    """

    modes: tuple[str, ...]
    k: int
    metrics: dict[str, float | None]
    counts: dict[str, int]
    cases: tuple[CaseResult, ...]
    ask_k: int = ASK_K

    def flat(self) -> dict[str, Any]:
        """Counts (``n/all``, ``n/factoid``, …) and metrics in one flat, JSON-ready dict."""
        out: dict[str, Any] = {f"n/{name}": n for name, n in self.counts.items()}
        out.update({key: None if v is None else round(v, 6) for key, v in self.metrics.items()})
        return out

    def records(self, mode: str) -> list[CaseResult]:
        """The per-case records of one mode, in file order."""
        return [c for c in self.cases if c.mode == mode]


@dataclass(frozen=True)
class Failure:
    """A case one mode got wrong, and how.

    Attributes:
        mode: Retrieval mode.
        id: Case id.
        type: Case type.
        question: The question.
        expected: The gold answers joined with `` / `` (``(abstain)`` when unanswerable).
        got: The answer text, or ``(abstained)``.
        cited: Where the first citation points (``""`` when abstained).
        top: Where the first search hit points.
        evidence_rank: Rank of the evidence in the search results, ``None`` if absent.
        problems: Short labels: ``wrong answer``, ``abstained``, ``evidence not in top 10``,
            ``citation lacks evidence``, ``answer over 200 chars``, ``should abstain``.
    """

    mode: str
    id: str
    type: str
    question: str
    expected: str
    got: str
    cited: str
    top: str
    evidence_rank: int | None
    problems: tuple[str, ...]


class QASystem(Protocol):
    """What the harness needs from a QA system (:class:`qa.QA` has it)."""

    def search(self, question: str, k: int = ..., mode: str = ...) -> list[Hit]:
        """Best-first passages."""
        ...

    def ask(self, question: str, k: int = ..., mode: str = ...) -> Answer:
        """A short answer with citations, or an abstention."""
        ...


SPLITS = ("tune", "check")


def split_of(case_id: str) -> str:
    """The split a case belongs to, fixed by its id: ``tune`` or ``check``.

    Weights and rules are fitted on ``tune``; ``check`` is never looked at while tuning.
    About half the cases fall in each.

    >>> split_of("q001"), split_of("q002")
    ('check', 'tune')
    """
    digest = hashlib.sha256(case_id.encode("utf-8")).hexdigest()
    return "check" if int(digest, 16) % 2 else "tune"


# ------------------------------------------------------------------------ loading
def _case_problems(data: Any) -> list[str]:  # noqa: ANN401 - any decoded JSON value
    """Everything wrong with one decoded line; empty when it is a valid case."""
    if not isinstance(data, dict):
        return [f"expected a JSON object, got {type(data).__name__}"]
    missing = [f for f in FIELDS if f not in data]
    if missing:
        return [f"missing field(s) {', '.join(missing)}; every line needs {', '.join(FIELDS)}"]
    problems = []
    for name in ("id", "question"):
        if not isinstance(data[name], str) or not data[name].strip():
            problems.append(f"{name} must be a non-empty string, got {data[name]!r}")
    for name in ("answers", "evidence"):
        value = data[name]
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            problems.append(f"{name} must be a list of strings, got {value!r}")
        elif any(not s.strip() for s in value):
            problems.append(f"{name} holds an empty string; remove it")
    if data["doc"] is not None and not isinstance(data["doc"], str):
        problems.append(f"doc must be a string or null, got {data['doc']!r}")
    kind = data["type"]
    if kind not in TYPES:
        problems.append(f"type {kind!r} is not one of {', '.join(TYPES)}")
    if problems:
        return problems
    if kind == "unanswerable" and (data["answers"] or data["evidence"]):
        problems.append("an unanswerable case must have empty answers and evidence")
    if kind != "unanswerable" and not (data["answers"] and data["evidence"]):
        problems.append(
            f"a {kind} case needs at least one answer and one evidence string "
            "(use type unanswerable for questions the corpus cannot answer)"
        )
    return problems


def load_questions(path: str | Path) -> list[Case]:
    """Read and validate a question set (UTF-8 JSON Lines, ``EVAL_FORMAT.md``).

    Every line is checked (JSON, required fields, types, type names, answers and
    evidence consistent with the type, unique ids); blank lines are skipped.

    Args:
        path: The ``.jsonl`` file.

    Returns:
        The cases in file order.

    Raises:
        QAError: Naming the file, the line and the problem, for every bad line
            (up to 20), or when the file is missing, unreadable or empty.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise QAError(
            f"{path}: cannot read the question file ({exc.strerror or exc}); "
            "pass an existing JSON Lines file with --questions."
        ) from exc
    cases: list[Case] = []
    errors: list[str] = []
    first_line: dict[str, int] = {}
    for number, line_bytes in enumerate(raw.split(b"\n"), start=1):
        try:
            line = line_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(f"{path}:{number}: not UTF-8 (byte {exc.start + 1} of the line)")
            continue
        line = line.lstrip("\ufeff").strip() if number == 1 else line.strip()
        if not line:
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{path}:{number}: invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        problems = _case_problems(data)
        if not problems and data["id"] in first_line:
            problems = [f"duplicate id {data['id']!r} (first on line {first_line[data['id']]})"]
        if problems:
            errors += [f"{path}:{number}: {p}" for p in problems]
            continue
        first_line[data["id"]] = number
        kind = data.get("kind")
        cases.append(
            Case(data["id"], data["question"].strip(), tuple(data["answers"]),
                 tuple(data["evidence"]), data["doc"], data["type"], number,
                 kind if isinstance(kind, str) else "")
        )
    if errors:
        more = len(errors) - MAX_ERRORS_SHOWN
        shown = errors[:MAX_ERRORS_SHOWN] + ([f"… and {more} more"] if more > 0 else [])
        head = "bad question file" if len(errors) == 1 else f"{len(errors)} problems"
        raise QAError(f"{head} in {path}:\n  " + "\n  ".join(shown))
    if not cases:
        raise QAError(f"{path}: no questions in the file; add one JSON object per line.")
    return cases


# ------------------------------------------------------------------------ running
def _where(hit: Hit | None) -> str:
    return f"{hit.doc}:{hit.line_start}" if hit is not None else ""


def run_case(qa: QASystem, case: Case, mode: str, k: int, ask_k: int = ASK_K) -> CaseResult:
    """Search and ask one question in one mode and score it.

    Raises:
        QAError: When the system rejects the question, naming the case and its line.
    """
    try:
        start = time.perf_counter()
        hits = qa.search(case.question, k=k, mode=mode)
        middle = time.perf_counter()
        answer = qa.ask(case.question, k=ask_k, mode=mode)
        end = time.perf_counter()
    except QAError as exc:
        raise QAError(f"case {case.id!r} (line {case.line}): {exc}") from exc
    first = answer.citations[0] if answer.citations else None
    text = "" if answer.abstained else answer.text
    span = "" if answer.abstained else answer.span
    rank = m.first_hit_rank([h.text for h in hits], case.evidence) if case.answerable else None
    if case.answerable:
        correct = not answer.abstained and m.answer_correct(text, case.answers)
        cited_ok = (
            None if answer.abstained
            else first is not None and m.contains_evidence(first.text, case.evidence)
        )
    else:
        correct, cited_ok = answer.abstained, None
    return CaseResult(
        mode=mode, id=case.id, type=case.type, question=case.question, answers=case.answers,
        answer=text, abstained=answer.abstained, cited=_where(first),
        top=_where(hits[0] if hits else None), evidence_rank=rank, correct=correct,
        citation_correct=cited_ok,
        em=m.exact_match(span, case.answers) if case.answerable else 0.0,
        f1=m.char_f1(span, case.answers) if case.answerable else 0.0,
        search_ms=(middle - start) * 1000, ask_ms=(end - middle) * 1000,
        span=span,
        span_correct=case.answerable and not answer.abstained
        and m.answer_correct(span, case.answers),
        all_parts=case.answerable and not answer.abstained
        and all(m.answer_correct(text, [a]) for a in case.answers),
        split=case.split, kind=case.kind, reason=answer.reason,
    )


def recall_cutoffs(k: int) -> tuple[int, ...]:
    """The recall@c cutoffs reported for ``k`` retrieved passages: 1, 3, 5, 10 up to k, and k."""
    return tuple(sorted({c for c in RECALL_CUTOFFS if c <= k} | {k}))


def summarize(records: Sequence[CaseResult], k: int) -> dict[str, float | None]:
    """All metrics over a set of records of one mode.

    Retrieval metrics, accuracy, EM and F1 are over answerable cases; citation
    precision over answerable cases the system answered; abstention precision
    and recall and ``accuracy_all`` (an unanswerable case is correct when the
    system abstained) over all cases; latencies over all cases.

    Args:
        records: Records of one mode.
        k: Passages retrieved per search.

    Returns:
        Metric name → value (``None`` when undefined for these records).
    """
    answerable = [r for r in records if r.answerable]
    ranks = [r.evidence_rank for r in answerable]
    depth = min(RANK_CUTOFF, k)
    out: dict[str, float | None] = {
        f"recall@{c}": m.recall_at(ranks, c) for c in recall_cutoffs(k)
    }
    out[f"mrr@{depth}"] = m.mrr(ranks, depth)
    out[f"ndcg@{depth}"] = m.ndcg(ranks, depth)
    out["accuracy"] = m.mean(r.correct for r in answerable)
    out["span_accuracy"] = m.mean(r.span_correct for r in answerable)
    out["em"] = m.mean(r.em for r in answerable)
    out["f1"] = m.mean(r.f1 for r in answerable)
    out["wrong_abstention"] = m.mean(r.abstained for r in answerable)
    out["span_chars_p50"] = m.percentile([len(r.span) for r in answerable if r.span], 50)
    out["citation_precision"] = m.mean(
        r.citation_correct for r in answerable if r.citation_correct is not None
    )
    precision, recall = m.abstention_precision_recall(
        (not r.answerable, r.abstained) for r in records
    )
    out["abstention_precision"], out["abstention_recall"] = precision, recall
    out["accuracy_all"] = m.mean(r.correct for r in records)
    for name, values in (("search", [r.search_ms for r in records]),
                         ("ask", [r.ask_ms for r in records])):
        out[f"{name}_p50_ms"] = m.percentile(values, 50)
        out[f"{name}_p95_ms"] = m.percentile(values, 95)
    return out


# Per-type blocks leave out what only makes sense over the whole set.
_OVERALL_ONLY = ("abstention_precision", "search_p50_ms", "search_p95_ms", "ask_p50_ms",
                 "ask_p95_ms")


def evaluate(
    qa: QASystem,
    cases: Sequence[Case],
    k: int = 10,
    modes: Sequence[str] = DEFAULT_MODES,
    ask_k: int = ASK_K,
    log: Callable[[str], None] | None = None,
) -> EvalResult:
    """Run every case through every mode and compute all metrics.

    Each mode first answers one question untimed, so that loading a model does
    not count as one question's latency.

    Args:
        qa: A loaded :class:`qa.QA` (or anything with its ``search`` and ``ask``).
        cases: The question set, e.g. from :func:`load_questions`.
        k: Passages retrieved per search (recall@k and the rank of the evidence).
        modes: Retrieval modes, in the order the table shows them.
        ask_k: Passages cited per answer.
        log: Progress messages (default: none).

    Returns:
        The metrics (``{mode}/{metric}``, ``{mode}/{type}/{metric}``) and per-case records.

    Raises:
        ArgumentError: When ``k < 1`` or there are no cases or modes.
        QAError: When the system rejects a question.
    """
    if k < 1:
        raise ArgumentError(f"k must be at least 1, got {k}")
    if not cases or not modes:
        raise ArgumentError("evaluate needs at least one case and one mode")
    log = log or (lambda _msg: None)
    types = [t for t in TYPES if any(c.type == t for c in cases)]
    records: list[CaseResult] = []
    metrics: dict[str, float | None] = {}
    for mode in modes:
        began = time.perf_counter()
        with contextlib.suppress(QAError):  # run_case reports a rejected question
            qa.ask(cases[0].question, k=ask_k, mode=mode)  # warm-up, untimed
        done = [run_case(qa, case, mode, k, ask_k) for case in cases]
        log(f"{mode}: {len(done)} questions in {time.perf_counter() - began:.1f} s")
        records += done
        metrics.update({f"{mode}/{name}": v for name, v in summarize(done, k).items()})
        for kind in types:
            part = summarize([r for r in done if r.type == kind], k)
            metrics.update({
                f"{mode}/{kind}/{name}": v for name, v in part.items()
                if v is not None and name not in _OVERALL_ONLY
            })
        for split in SPLITS:
            part = summarize([r for r in done if r.split == split], k)
            metrics.update({f"{mode}/split:{split}/{name}": v for name, v in part.items()
                            if name not in _OVERALL_ONLY[1:]})
        for kind in sorted({c.kind for c in cases if c.kind}):
            records_of = [r for r in done if r.kind == kind]
            part = summarize(records_of, k)
            metrics.update({
                f"{mode}/kind:{kind}/{name}": v for name, v in part.items()
                if v is not None and name not in _OVERALL_ONLY
            })
            if any(r.answerable for r in records_of):
                metrics[f"{mode}/kind:{kind}/all_parts"] = m.mean(
                    r.all_parts for r in records_of if r.answerable)
    counts = {"all": len(cases), "answerable": sum(c.answerable for c in cases)}
    counts.update({t: sum(c.type == t for c in cases) for t in types})
    counts.update({f"split:{x}": sum(c.split == x for c in cases) for x in SPLITS})
    counts.update({f"kind:{x}": sum(c.kind == x for c in cases)
                   for x in sorted({c.kind for c in cases if c.kind})})
    return EvalResult(tuple(modes), k, metrics, counts, tuple(records), ask_k)


# ------------------------------------------------------------------------ failures
def _expected(record: CaseResult) -> str:
    return " / ".join(record.answers) if record.answerable else "(abstain)"


def failure_of(record: CaseResult, k: int = RANK_CUTOFF) -> Failure | None:
    """The failure a record shows, or ``None`` when the case passed.

    An answerable case fails on a wrong or over-long answer, an abstention,
    evidence missing from the top ``min(k, 10)`` passages or a first citation
    without evidence; an unanswerable case fails when answered.
    """
    problems: list[str] = []
    depth = min(RANK_CUTOFF, k)
    if record.answerable:
        if record.abstained:
            problems.append("abstained")
        elif len(record.answer) > m.MAX_ANSWER_CHARS:
            problems.append(f"answer over {m.MAX_ANSWER_CHARS} chars")
        elif not record.correct:
            problems.append("wrong answer")
        if record.evidence_rank is None or record.evidence_rank > depth:
            problems.append(f"evidence not in top {depth}")
        if record.citation_correct is False:
            problems.append("citation lacks evidence")
    elif not record.abstained:
        problems.append("should abstain")
    if not problems:
        return None
    return Failure(
        mode=record.mode, id=record.id, type=record.type, question=record.question,
        expected=_expected(record), got="(abstained)" if record.abstained else record.answer,
        cited="" if record.abstained else record.cited, top=record.top,
        evidence_rank=record.evidence_rank, problems=tuple(problems),
    )


def failures(result: EvalResult, mode: str | None = None) -> list[Failure]:
    """Every failed case, for one mode or all, in mode then file order."""
    out = []
    for record in result.cases:
        if mode is None or record.mode == mode:
            failure = failure_of(record, result.k)
            if failure is not None:
                out.append(failure)
    return out


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


def write_json(result: EvalResult, path: str | Path) -> Path:
    """Write the flat counts and metrics (:meth:`EvalResult.flat`) as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(result.flat(), fh, ensure_ascii=False, indent=2)
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


def cli(args: argparse.Namespace) -> int:
    """``qa eval``: print the table and the failures, write ``--json`` and ``--report``.

    Returns:
        0 on success.

    Raises:
        QAError: For a bad question file, bad modes or an unusable index.
    """
    from .api import QA

    modes = parse_modes(args.modes)
    cases = load_questions(args.questions)  # before any index work: fail fast
    qa = QA.open(args.index, args.corpus)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    result = evaluate(qa, cases, k=args.k, modes=modes, log=log)
    print(format_table(result))
    first = failures(result, modes[0])
    print(f"\nFailures ({modes[0]}): {len(first)} of {len(cases)}")
    if first:
        print(format_failures(first))
    for mode in modes[1:]:
        print(f"Failures ({mode}): {len(failures(result, mode))} of {len(cases)}"
              + ("" if args.report else "; use --report DIR to list them"))
    if args.json_file:
        print(f"\nmetrics: {write_json(result, args.json_file)}")
    if args.report:
        print(f"report: {write_report(result, args.report)}")
    return 0
