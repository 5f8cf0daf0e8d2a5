"""Running the evaluation: each case through search and ask, summaries, failures."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence

from qa.errors import QAError
from qa.evaluation import metrics as m
from qa.evaluation.cases import (
    ASK_K,
    DEFAULT_MODES,
    RANK_CUTOFF,
    RECALL_CUTOFFS,
    SPLITS,
    TYPES,
    Case,
    CaseResult,
    EvalResult,
    Failure,
    QASystem,
)
from qa.progress import bar
from qa.types import Hit
from qa.validate import ArgumentError


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


def rank_metrics(ranks: Sequence[int | None], k: int) -> dict[str, float | None]:
    """recall@c (:func:`recall_cutoffs`), MRR and nDCG from the evidence ranks of answerable cases.

    Args:
        ranks: 1-based rank of the first passage with evidence, ``None`` when not retrieved.
        k: Passages retrieved per search.
    """
    depth = min(RANK_CUTOFF, k)
    out: dict[str, float | None] = {
        f"recall@{c}": m.recall_at(ranks, c) for c in recall_cutoffs(k)
    }
    out[f"mrr@{depth}"] = m.mrr(ranks, depth)
    out[f"ndcg@{depth}"] = m.ndcg(ranks, depth)
    return out


def split_rank_metrics(name: str, ranks: Sequence[int | None], cases: Sequence[Case], k: int
                       ) -> dict[str, float | None]:
    """:func:`rank_metrics` over all cases and per split, keyed as :func:`evaluate` keys them.

    Args:
        name: The key prefix (a mode: ``hybrid/recall@5``, ``hybrid/split:check/recall@5``).
        ranks: The evidence rank of each answerable case, in the order of ``cases``.
        cases: The answerable cases.
        k: Passages retrieved per search.
    """
    out = {f"{name}/{key}": v for key, v in rank_metrics(ranks, k).items()}
    for split in SPLITS:
        mine = [r for r, c in zip(ranks, cases, strict=True) if c.split == split]
        out.update({f"{name}/split:{split}/{key}": v
                    for key, v in rank_metrics(mine, k).items()})
    return out


def evaluate_retrieval(
    qa: QASystem,
    cases: Sequence[Case],
    k: int = 10,
    modes: Sequence[str] = DEFAULT_MODES,
    log: Callable[[str], None] | None = None,
) -> dict[str, float | None]:
    """Retrieval alone: each answerable case searched once per mode, no answers.

    The same searches as :func:`evaluate` makes (so the same ranks on the same index), at
    a fraction of its time; what a comparison of two backends needs.

    Returns:
        ``{mode}/recall@c``, ``{mode}/mrr@10``, ``{mode}/ndcg@10`` and the same per split
        (``{mode}/split:tune/recall@5``), as in :attr:`EvalResult.metrics`.

    Raises:
        ArgumentError: When ``k < 1`` or there is no answerable case or no mode.
        QAError: When the system rejects a question.
    """
    answerable = [c for c in cases if c.answerable]
    if k < 1:
        raise ArgumentError(f"k must be at least 1, got {k}")
    if not answerable or not modes:
        raise ArgumentError("evaluate_retrieval needs at least one answerable case and one mode")
    log = log or (lambda _msg: None)
    out: dict[str, float | None] = {}
    for mode in modes:
        began = time.perf_counter()
        ranks = []
        for case in answerable:
            try:
                hits = qa.search(case.question, k=k, mode=mode)
            except QAError as exc:
                raise QAError(f"case {case.id!r} (line {case.line}): {exc}") from exc
            ranks.append(m.first_hit_rank([h.text for h in hits], case.evidence))
        log(f"{mode}: {len(answerable)} searches in {time.perf_counter() - began:.1f} s")
        out.update(split_rank_metrics(mode, ranks, answerable, k))
    return out


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
    out = rank_metrics([r.evidence_rank for r in answerable], k)
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
    progress: bool = False,
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
        progress: A progress bar per mode on stderr (see :mod:`qa.progress`).

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
        done = [run_case(qa, case, mode, k, ask_k)
                for case in bar(cases, desc=f"评测 eval {mode}", unit="题", enabled=progress)]
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
