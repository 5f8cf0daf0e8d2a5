"""The unit the cleaning steps pass along: one classified line (or several joined)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    """A classified line (or joined lines): a block kind, or ``title``/``date``/``editor``."""

    kind: str
    text: str
    start: int
    end: int
    level: int = 0
    style: str = ""
