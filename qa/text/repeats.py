"""Dropping lines a page repeats: exact repeats, and near repeats of the same kind."""

from __future__ import annotations

import re

from qa.text.units import Unit

NEAR_DUPLICATE = 0.75
DEDUP_MIN_CHARS = 12
_NOT_ALNUM = re.compile(r"[\W_]+")


def normalise(line: str) -> str:
    """Letters, CJK characters and digits only; digits are kept so targets differ."""
    # re's \w is exactly str.isalnum() plus "_" (one C pass instead of a loop per character).
    return _NOT_ALNUM.sub("", line)


def _bigrams(key: str) -> set[str]:
    return {key[i : i + 2] for i in range(len(key) - 1)}


def drop_repeats(units: list[Unit]) -> list[Unit]:
    """Drop content lines that repeat an earlier one exactly or almost exactly.

    An exact repeat (after normalising) of any earlier line goes. A near repeat
    needs a character-bigram Jaccard of at least 0.75 with an earlier line of the
    *same kind*: page-assembly glitches repeat the same element (000's garbled
    未来空间 list items score 0.80–1.0 against each other), while a sidebar list
    that restates the body's facts in other words (000's ●industry lines score
    up to 0.75 against their paragraphs, at most 0.45 against each other) stays.
    """
    keys: set[str] = set()
    seen: dict[str, list[set[str]]] = {}  # kept lines' bigram sets, by kind
    out: list[Unit] = []
    for unit in units:
        key = normalise(unit.text)
        if (
            unit.kind not in ("paragraph", "list", "table", "caption")
            or len(key) < DEDUP_MIN_CHARS
        ):
            out.append(unit)
            continue
        if key in keys:
            continue
        grams = _bigrams(key)
        n = len(grams)
        # Jaccard = |A ∩ B| / (|A| + |B| - |A ∩ B|) needs one set operation, not two; and as
        # it is at most min/max of the sizes, pairs whose sizes differ too much are skipped.
        if any(
            NEAR_DUPLICATE * max(n, len(g)) <= min(n, len(g))
            and (common := len(grams & g)) >= NEAR_DUPLICATE * (n + len(g) - common)
            for g in seen.get(unit.kind, ())
        ):
            continue
        keys.add(key)
        seen.setdefault(unit.kind, []).append(grams)
        out.append(unit)
    return out
