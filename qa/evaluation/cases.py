"""Evaluation cases: the question set's fields, kinds and split, loaded and checked."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from qa.errors import QAError
from qa.types import Answer, Hit
from qa.validate import MODES

TYPES = ("factoid", "paraphrase", "crosslingual", "traditional", "list", "multidoc", "unanswerable")
FIELDS = ("id", "question", "answers", "evidence", "doc", "type")
DEFAULT_MODES = MODES  # every retrieval mode
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
