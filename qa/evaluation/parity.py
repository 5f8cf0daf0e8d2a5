"""Two indexes of one corpus on the same questions: does the second retrieve as well?

``qa eval --index A --compare-index B`` evaluates ``A`` as usual, searches every
answerable question on ``B`` too (:func:`qa.evaluation.running.evaluate_retrieval`) and
compares recall@1 and recall@5 per mode, on all answerable questions and on the ``tune``
and ``check`` splits. The check passes when hybrid recall@5 of ``B`` is within the
tolerance (0.03) of ``A``'s on all of them and on each split — the parity the Milvus
backend promises against the local one.

Example:
    >>> parity = compare(local_metrics, milvus_metrics, ("hybrid", "bm25"),
    ...                  ("local", "milvus"), answerable_counts(cases))
    >>> parity.within, format_parity(parity)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from qa.evaluation.cases import SPLITS, Case
from qa.validate import ArgumentError

TOLERANCE = 0.03
GATE_MODE = "hybrid"
GATE_CUTOFF = 5
CUTOFFS = (1, 5)
PARTS = ("all", *SPLITS)  # all answerable questions, then each split


@dataclass(frozen=True)
class ParityRow:
    """One figure on both indexes.

    Attributes:
        mode: Retrieval mode.
        cutoff: The ``c`` of recall@c.
        part: ``all`` (every answerable question), ``tune`` or ``check``.
        base: The figure on the first index (``None`` when undefined).
        other: The figure on the second index.
    """

    mode: str
    cutoff: int
    part: str
    base: float | None
    other: float | None

    @property
    def gap(self) -> float | None:
        """``other - base``, or ``None`` when either is undefined."""
        return None if self.base is None or self.other is None else self.other - self.base


@dataclass(frozen=True)
class Parity:
    """The comparison of two indexes and its verdict.

    Attributes:
        labels: How the two indexes are named in the output (``local (index)``, …).
        rows: Every figure, mode by mode, cutoff by cutoff, ``all`` then the splits.
        counts: Answerable questions in ``all``, ``tune`` and ``check``.
        tolerance: The largest gap the gated figures may show.
        gate: The gated mode and cutoff (``hybrid``, 5).
    """

    labels: tuple[str, str]
    rows: tuple[ParityRow, ...]
    counts: Mapping[str, int]
    tolerance: float = TOLERANCE
    gate: tuple[str, int] = (GATE_MODE, GATE_CUTOFF)

    def gated(self) -> list[ParityRow]:
        """The rows the verdict rests on: the gate's mode and cutoff, all and per split."""
        return [r for r in self.rows if (r.mode, r.cutoff) == self.gate]

    @property
    def within(self) -> bool:
        """Whether every gated gap is defined and at most :attr:`tolerance` (either way)."""
        # The rounding margin keeps a gap of exactly the tolerance (0.97 - 0.94) inside.
        return all(r.gap is not None and abs(r.gap) <= self.tolerance + 1e-9
                   for r in self.gated())

    def flat(self) -> dict[str, float | bool | None]:
        """JSON-ready: ``parity/{mode}/{part}/recall@c/{base|other|gap}`` and the verdict."""
        out: dict[str, float | bool | None] = {}
        for r in self.rows:
            key = f"parity/{r.mode}/{r.part}/recall@{r.cutoff}"
            for name, value in (("base", r.base), ("other", r.other), ("gap", r.gap)):
                out[f"{key}/{name}"] = None if value is None else round(value, 6)
        out["parity/within"] = self.within
        return out


def answerable_counts(cases: Sequence[Case]) -> dict[str, int]:
    """Answerable cases overall (``all``) and per split."""
    answerable = [c for c in cases if c.answerable]
    out = {"all": len(answerable)}
    out.update({s: sum(c.split == s for c in answerable) for s in SPLITS})
    return out


def _key(mode: str, part: str, cutoff: int) -> str:
    return f"{mode}/recall@{cutoff}" if part == "all" else f"{mode}/split:{part}/recall@{cutoff}"


def check_arguments(modes: Sequence[str], k: int, tolerance: float) -> None:
    """Refuse, before any work, a comparison that could not judge hybrid recall@5.

    Raises:
        ArgumentError: Naming the option to change.
    """
    if GATE_MODE not in modes:
        raise ArgumentError(f"--compare-index judges {GATE_MODE} recall@{GATE_CUTOFF}: add "
                            f"{GATE_MODE} to --modes (e.g. --modes hybrid,bm25,dense)")
    if k < GATE_CUTOFF:
        raise ArgumentError(f"--compare-index needs recall@{GATE_CUTOFF}: use --k "
                            f"{GATE_CUTOFF} or more")
    if tolerance < 0:
        raise ArgumentError(f"--tolerance must be 0 or more, got {tolerance:g}")


def compare(
    base: Mapping[str, float | None],
    other: Mapping[str, float | None],
    modes: Sequence[str],
    labels: tuple[str, str],
    counts: Mapping[str, int],
    tolerance: float = TOLERANCE,
) -> Parity:
    """Compare two indexes' retrieval metrics (keys as in :attr:`EvalResult.metrics`).

    Args:
        base: Metrics of the first index (the reference, e.g. the local backend).
        other: Metrics of the second, on the same questions, ``k`` and modes.
        modes: The modes both were evaluated in; must include ``hybrid``.
        labels: Names for the two indexes in the output.
        counts: :func:`answerable_counts` of the questions.
        tolerance: The largest gap of hybrid recall@5 that still passes.

    Raises:
        ArgumentError: When ``hybrid`` was not evaluated, recall@5 is missing (``k < 5``)
            or the tolerance is negative.
    """
    gate = _key(GATE_MODE, "all", GATE_CUTOFF)
    check_arguments(modes, GATE_CUTOFF if gate in base and gate in other else 0, tolerance)
    rows = tuple(
        ParityRow(mode, cutoff, part, base.get(_key(mode, part, cutoff)),
                  other.get(_key(mode, part, cutoff)))
        for mode in modes for cutoff in CUTOFFS for part in PARTS
    )
    return Parity(labels, rows, dict(counts), tolerance)


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _gap(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"


def format_parity(parity: Parity) -> str:
    """The two indexes side by side, then one line saying whether the check passes."""
    first, second = parity.labels
    parts = {p: f"{p} ({parity.counts.get(p, 0)})" for p in PARTS}
    head = ("mode", "recall", "questions", first, second, "gap")
    body = [(r.mode, f"@{r.cutoff}", parts[r.part], _figure(r.base), _figure(r.other),
             _gap(r.gap)) for r in parity.rows]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        left = [c.ljust(w) for c, w in zip(cells[:3], widths[:3], strict=True)]
        right = [c.rjust(w) for c, w in zip(cells[3:], widths[3:], strict=True)]
        return "  ".join(left + right).rstrip()

    mode, cutoff = parity.gate
    gaps = ", ".join(f"{r.part} {_gap(r.gap)}" for r in parity.gated())
    if parity.within:
        verdict = (f"✓ 一致 (parity holds): {mode} recall@{cutoff} of {second} is within "
                   f"{parity.tolerance:g} of {first} ({gaps}).")
    else:
        verdict = (f"✗ 不一致 (parity fails): {mode} recall@{cutoff} of {second} differs from "
                   f"{first} by more than {parity.tolerance:g} ({gaps}). Check that both "
                   "indexes hold the same corpus with the same encoder (qa docs --index …), "
                   "then compare their failures with qa eval --report DIR on each.")
    out = [f"对比 (comparison): {first} against {second}, "
           f"{parity.counts.get('all', 0)} answerable questions", line(head),
           line(["-" * w for w in widths])]
    out += [line(row) for row in body]
    return "\n".join([*out, "", verdict])
