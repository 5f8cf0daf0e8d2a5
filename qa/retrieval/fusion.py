"""Fusing ranked lists from several retrievers into one.

Both functions take, per retriever, a best-first list of ``(row, score)`` pairs
and return one best-first list of ``(row, fused_score)``. Ties are broken by the
lower row number so results are deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

Ranking = Sequence[tuple[int, float]]


def _ordered(fused: dict[int, float]) -> list[tuple[int, float]]:
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def reciprocal_rank_fusion(
    rankings: Sequence[Ranking], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[int, float]]:
    """Reciprocal rank fusion (Cormack et al., 2009): ``sum_i w_i / (k + rank_i)``.

    Scores are ignored; only ranks count, so retrievers with incomparable score
    scales fuse fairly.

    Args:
        rankings: One best-first list per retriever.
        k: The RRF constant; larger values flatten the rank differences.
        weights: One weight per retriever (default all 1).

    Returns:
        Best-first ``(row, fused_score)`` pairs over all rows any list holds.

    Raises:
        ValueError: When ``k`` is negative or the weights do not match the lists.
    """
    if k < 0:
        raise ValueError(f"rrf k must be >= 0, got {k}")
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, (row, _score) in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return _ordered(fused)


def min_max(ranking: Ranking) -> list[tuple[int, float]]:
    """Scale scores to [0, 1] within one list; a list of equal scores maps to 1."""
    if not ranking:
        return []
    scores = [s for _, s in ranking]
    low, high = min(scores), max(scores)
    if high == low:
        return [(row, 1.0) for row, _ in ranking]
    return [(row, (s - low) / (high - low)) for row, s in ranking]


def weighted_fusion(
    rankings: Sequence[Ranking], weights: Sequence[float] | None = None
) -> list[tuple[int, float]]:
    """Weighted sum of min-max normalised scores; a row missing from a list adds 0.

    Args:
        rankings: One best-first list per retriever.
        weights: One weight per retriever (default equal weights summing to 1).

    Returns:
        Best-first ``(row, fused_score)`` pairs.

    Raises:
        ValueError: When the weights do not match the lists or are negative.
    """
    n = len(rankings)
    weights = [1.0 / n] * n if weights is None else list(weights)
    if len(weights) != n:
        raise ValueError(f"{len(weights)} weights for {n} rankings")
    if any(w < 0 for w in weights):
        raise ValueError(f"weights must be >= 0, got {weights}")
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for row, score in min_max(ranking):
            fused[row] = fused.get(row, 0.0) + weight * score
    return _ordered(fused)
