"""Evaluation metrics: small pure functions over strings and ranks.

Matching follows ``EVAL_FORMAT.md``: whitespace is removed from both sides and
traditional characters are folded to simplified before any substring test.
Exact match and F1 follow the official CMRC 2018 evaluation script (punctuation
removed, Chinese segmented by character, other text kept as whole words, F1
from the longest common substring), with the same folding added.

Rank lists use ``None`` for "no hit". An aggregate over no cases is ``None``
(undefined), never ``0`` and never an exception.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

MAX_ANSWER_CHARS = 200

# The CMRC 2018 script's own list, for the symbols that are not Unicode punctuation.
_CMRC_SYMBOLS = frozenset("-:_*^/\\~`+=，。：？！“”；’《》…·、「」（）－～『』")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
# A word outside Chinese: letters and digits, joined by inner marks ("5.5", "1,000", "e-mail").
_WORD = re.compile(r"\w+(?:[.,:/'’\-]\w+)*")


@lru_cache(maxsize=1)
def _t2s() -> Any:  # noqa: ANN401 - opencc ships no type information
    """The traditional→simplified converter, created on first use, once."""
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    r"""Remove all whitespace and fold traditional characters to simplified.

    Args:
        text: Any text.

    Returns:
        The text without whitespace (including full-width spaces), in simplified characters.

    Example:
        >>> normalize("青島 西海岸\n新區")
        '青岛西海岸新区'
    """
    squeezed = "".join(text.split())
    return _t2s().convert(squeezed) if squeezed else ""


def contains_evidence(passage: str, evidences: Iterable[str]) -> bool:
    """Whether ``passage`` contains one of ``evidences``, ignoring whitespace and script.

    Args:
        passage: A retrieved chunk's text.
        evidences: Verbatim source passages; empty ones (after removing whitespace)
            never match.

    Returns:
        True when some normalised evidence string is a substring of the normalised passage.
    """
    text = normalize(passage)
    return any(e and e in text for e in (normalize(ev) for ev in evidences))


def first_hit_rank(passages: Sequence[str], evidences: Iterable[str]) -> int | None:
    """1-based rank of the first passage that contains an evidence string.

    Passages are taken in the order given (best first); passages with equal
    scores are therefore ranked by their position, which keeps the result
    deterministic.

    Args:
        passages: Retrieved chunk texts, best first.
        evidences: Evidence strings, any one of which makes a hit.

    Returns:
        The rank, or ``None`` when no passage contains evidence (also for no passages
        or no evidence).
    """
    wanted = [e for e in (normalize(ev) for ev in evidences) if e]
    if not wanted:
        return None
    for rank, passage in enumerate(passages, start=1):
        text = normalize(passage)
        if any(e in text for e in wanted):
            return rank
    return None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def recall_at(ranks: Sequence[int | None], k: int) -> float | None:
    """Fraction of questions whose first hit is at rank ``k`` or better.

    Args:
        ranks: One first-hit rank per question (``None`` when nothing was found).
        k: The cutoff, at least 1.

    Returns:
        The fraction in [0, 1], or ``None`` for no questions.

    Raises:
        ValueError: When ``k < 1``.
    """
    _check_k(k)
    return _mean([1.0 if r is not None and r <= k else 0.0 for r in ranks])


def mrr(ranks: Sequence[int | None], k: int = 10) -> float | None:
    """Mean reciprocal rank at cutoff ``k``: mean of ``1/r`` for ``r <= k``, else 0.

    Args:
        ranks: One first-hit rank per question (``None`` when nothing was found).
        k: The cutoff, at least 1.

    Returns:
        The mean in [0, 1], or ``None`` for no questions.

    Raises:
        ValueError: When ``k < 1``.
    """
    _check_k(k)
    return _mean([1.0 / r if r is not None and r <= k else 0.0 for r in ranks])


def ndcg(ranks: Sequence[int | None], k: int = 10) -> float | None:
    """Mean nDCG at cutoff ``k`` with binary relevance and one relevant item per question.

    The relevant item is the first retrieved chunk that contains an evidence
    string; later chunks that also contain evidence earn nothing (overlapping
    chunks would otherwise inflate the score). With the item at rank ``r``,
    ``DCG@k = 1 / log2(r + 1)`` when ``r <= k`` and 0 otherwise; the ideal ranking
    puts it at rank 1, so ``IDCG = 1`` and ``nDCG@k = 1 / log2(r + 1)``. For
    example rank 1 → 1.0, rank 3 → 0.5, rank 7 → 1/3, no hit → 0.

    Args:
        ranks: One first-hit rank per question (``None`` when nothing was found).
        k: The cutoff, at least 1.

    Returns:
        The mean in [0, 1], or ``None`` for no questions.

    Raises:
        ValueError: When ``k < 1``.
    """
    _check_k(k)
    return _mean([1.0 / math.log2(r + 1) if r is not None and r <= k else 0.0 for r in ranks])


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def answer_correct(answer_text: str, golds: Iterable[str]) -> bool:
    """Whether a short answer is correct under the question-set matching rules.

    Correct when some gold answer, normalised (:func:`normalize`), is a substring
    of the normalised answer text and the answer text is at most 200 characters
    long (a whole passage does not count as an answer).

    Args:
        answer_text: The system's short answer.
        golds: Gold answers; empty ones never match.

    Returns:
        True when the answer is correct; always False when ``golds`` is empty.
    """
    if len(answer_text) > MAX_ANSWER_CHARS:
        return False
    text = normalize(answer_text)
    return any(g and g in text for g in (normalize(gold) for gold in golds))


def _is_punctuation(char: str) -> bool:
    return char in _CMRC_SYMBOLS or unicodedata.category(char).startswith("P")


def remove_punctuation(text: str) -> str:
    r"""CMRC 2018 normalisation: lower-case, fold to simplified, drop punctuation and spaces.

    Args:
        text: An answer or prediction.

    Returns:
        The text without whitespace and without Unicode punctuation (Chinese and
        English) or the CMRC script's symbols (``- : _ * ^ / \ ~ ` + =``).
    """
    return "".join(c for c in normalize(text.lower()) if not _is_punctuation(c))


def mixed_segmentation(text: str) -> list[str]:
    """CMRC 2018 tokens: each Chinese character alone, other text as whole words.

    Lower-cased and folded to simplified. Whitespace and punctuation separate
    words, and punctuation inside a word is then dropped, as in
    :func:`remove_punctuation` (``"GDP 增长 5.5%"`` → ``["gdp", "增", "长", "55"]``).

    Args:
        text: An answer or prediction.

    Returns:
        The tokens in order.
    """
    tokens: list[str] = []
    run: list[str] = []
    folded = _t2s().convert(text.lower()) if text.strip() else ""
    for char in folded + " ":
        if _CJK.match(char) or char == " ":
            for word in _WORD.findall("".join(run)):
                kept = "".join(c for c in word if not _is_punctuation(c))
                tokens += [kept] if kept else []
            run = []
            if char != " ":
                tokens.append(char)
        else:
            run.append(char)
    return tokens


def longest_common_substring(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest contiguous run shared by two token sequences (CMRC ``find_lcs``).

    Args:
        a: First token sequence.
        b: Second token sequence.

    Returns:
        The length, 0 when either is empty or nothing is shared.
    """
    best = 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def exact_match(prediction: str, golds: Iterable[str]) -> float:
    """CMRC 2018 exact match: 1.0 when the prediction equals some gold after normalisation.

    Both sides go through :func:`remove_punctuation`. A gold that normalises to
    the empty string never matches.

    Args:
        prediction: The system's answer text (pass ``""`` for an abstention).
        golds: Gold answers.

    Returns:
        1.0 or 0.0; 0.0 when ``golds`` is empty.
    """
    pred = remove_punctuation(prediction)
    return 1.0 if any(g and g == pred for g in map(remove_punctuation, golds)) else 0.0


def char_f1(prediction: str, golds: Iterable[str]) -> float:
    """CMRC 2018 F1: longest common substring of tokens, the best over the golds.

    For each gold, with ``L`` the length of the longest common substring of the
    :func:`mixed_segmentation` tokens, precision is ``L / len(prediction tokens)``,
    recall ``L / len(gold tokens)`` and F1 their harmonic mean (0 when ``L = 0``).
    For example ``西海岸新区`` against ``青岛西海岸新区``: ``L = 5``, ``P = 1``,
    ``R = 5/7``, ``F1 = 10/12``.

    Args:
        prediction: The system's answer text (pass ``""`` for an abstention).
        golds: Gold answers.

    Returns:
        The best F1 in [0, 1]; 0.0 when ``golds`` is empty or the prediction has no token.
    """
    pred = mixed_segmentation(prediction)
    best = 0.0
    for gold in golds:
        ref = mixed_segmentation(gold)
        common = longest_common_substring(ref, pred)
        if common:
            precision, recall = common / len(pred), common / len(ref)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def abstention_precision_recall(
    pairs: Iterable[tuple[bool, bool]],
) -> tuple[float | None, float | None]:
    """Precision and recall of abstaining, with unanswerable questions as the positives.

    Args:
        pairs: ``(unanswerable, abstained)`` per question.

    Returns:
        ``(precision, recall)``: precision = unanswerable-and-abstained / abstained,
        recall = unanswerable-and-abstained / unanswerable; each ``None`` when its
        denominator is 0 (the system never abstained; the set has no unanswerable
        question).
    """
    both = abstained = unanswerable = 0
    for is_unanswerable, did_abstain in pairs:
        both += is_unanswerable and did_abstain
        abstained += did_abstain
        unanswerable += is_unanswerable
    return (
        both / abstained if abstained else None,
        both / unanswerable if unanswerable else None,
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile with linear interpolation (NumPy's default method).

    Args:
        values: Samples, in any order.
        q: Percentile in [0, 100].

    Returns:
        The interpolated value, or ``None`` for no samples.

    Raises:
        ValueError: When ``q`` is outside [0, 100].
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[float | bool]) -> float | None:
    """Arithmetic mean, ``None`` for no values (booleans count as 0 and 1).

    Args:
        values: Numbers or booleans.

    Returns:
        The mean, or ``None`` when there is nothing to average.
    """
    return _mean([float(v) for v in values])
