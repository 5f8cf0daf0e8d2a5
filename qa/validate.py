"""Checking what callers pass in, in one place for the CLI, the library API and the web UI.

Each check takes the value as given (any type), returns it in the form the rest of the
code uses, and raises :class:`ArgumentError` with one line that says the value, what is
allowed and how to write it. :class:`ArgumentError` is both a :class:`~qa.errors.QAError`
(the CLI and UI print it as one line) and a :class:`ValueError` (what callers of the
library caught before).

Example:
    >>> check_query(k=5, mode="bm25", doc="000_b17fa6633de3b991", since="2025-01")
    QueryArgs(k=5, mode='bm25', doc=['000_b17fa6633de3b991'], since='2025-01', until=None)
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from qa.errors import QAError, QuestionError

MODES = ("hybrid", "bm25", "dense")
MAX_K = 100  # passages per question; more is a dump of the index, not an answer
MAX_DOC_IDS = 1000
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


class ArgumentError(QAError, ValueError):
    """A wrong argument: its message is one line with the value and what is allowed."""


def _shown(value: Any) -> str:  # noqa: ANN401 - any value a caller passed
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_k(k: Any, name: str = "k") -> int:  # noqa: ANN401
    """An integer from 1 to :data:`MAX_K` (not a bool, a float or a string)."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise ArgumentError(
            f"{name} must be a whole number from 1 to {MAX_K}, got {_shown(k)} "
            f"({type(k).__name__})."
        )
    if not 1 <= k <= MAX_K:
        raise ArgumentError(f"{name} must be from 1 to {MAX_K}, got {k}.")
    return k


def check_mode(mode: Any) -> str:  # noqa: ANN401
    """One of :data:`MODES`."""
    if not isinstance(mode, str) or mode not in MODES:
        raise ArgumentError(f"unknown mode {_shown(mode)}: use one of {', '.join(MODES)}.")
    return mode


def check_date(value: Any, name: str = "since") -> str | None:  # noqa: ANN401
    """``None``, or a real calendar date written ``2025-01-15``, ``2025-01`` or ``2025``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ArgumentError(
            f"bad date for {name}: {_shown(value)} is a {type(value).__name__}; write it as "
            "a string such as '2025-01-15', '2025-01' or '2025'."
        )
    text = value.strip()
    match = _DATE.fullmatch(text)
    problem = None if match else "not in the form 2025-01-15, 2025-01 or 2025"
    if match:
        year, month, day = (int(g) if g else None for g in match.groups())
        if month is not None and not 1 <= month <= 12:
            problem = f"month {month} does not exist"
        elif (day is not None and year is not None and month is not None
              and not 1 <= day <= calendar.monthrange(year, month)[1]):
            problem = f"{year}-{month:02d} has no day {day}"
    if problem:
        raise ArgumentError(f"bad date for {name}: {_shown(value)} ({problem}).")
    return text


def check_docs(doc: Any) -> list[str] | None:  # noqa: ANN401
    """``None`` (all documents), one id, or a non-empty list of ids (strings)."""
    if doc is None:
        return None
    if isinstance(doc, str):
        doc = [doc]
    elif not isinstance(doc, Iterable) or isinstance(doc, (bytes, dict)):
        raise ArgumentError(
            f"doc must be a document id or a list of ids (see `qa docs`), got {_shown(doc)} "
            f"({type(doc).__name__})."
        )
    ids = list(doc)
    if not ids:
        raise ArgumentError("doc is an empty list: give at least one document id, or None "
                            "for all documents.")
    if len(ids) > MAX_DOC_IDS:
        raise ArgumentError(f"doc lists {len(ids)} ids, at most {MAX_DOC_IDS}.")
    bad = [d for d in ids if not isinstance(d, str) or not d.strip()]
    if bad:
        raise ArgumentError(
            f"doc ids must be non-empty strings (see `qa docs`), got {_shown(bad[0])} "
            f"({type(bad[0]).__name__})."
        )
    return list(dict.fromkeys(ids))


@dataclass(frozen=True)
class QueryArgs:
    """The checked arguments of a search or an answer."""

    k: int
    mode: str
    doc: list[str] | None
    since: str | None
    until: str | None


def check_query(
    k: Any = 5, mode: Any = "hybrid", doc: Any = None,  # noqa: ANN401
    since: Any = None, until: Any = None,  # noqa: ANN401
) -> QueryArgs:
    """Check every argument of a search or an answer but the question itself.

    Raises:
        ArgumentError: For the first argument that is wrong.
    """
    args = QueryArgs(check_k(k), check_mode(mode), check_docs(doc),
                     check_date(since, "since"), check_date(until, "until"))
    if args.since and args.until and _key(args.since) > _key(args.until, upper=True):
        raise ArgumentError(f"since {args.since} is after until {args.until}: nothing can match.")
    return args


def _key(date: str, upper: bool = False) -> int:
    parts = [int(p) for p in date.split("-")]
    year = parts[0]
    month = parts[1] if len(parts) > 1 else (12 if upper else 1)
    day = parts[2] if len(parts) > 2 else (calendar.monthrange(year, month)[1] if upper else 1)
    return year * 10000 + month * 100 + day


MAX_QUESTION_CHARS = 2000


def check_question(question: str) -> str:
    """Validate a question at the boundary.

    Raises:
        QuestionError: For an empty question or one over 2,000 characters.
    """
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("问题为空 (the question is empty): type a question.")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"问题过长 (question too long): {len(question)} characters, at most "
            f"{MAX_QUESTION_CHARS}. Ask a shorter question."
        )
    return question.strip()
