"""The passages an answer is chosen from: reordered by their best answer window, and joined.

A hybrid search's fused top passages are reordered by how well each one's best sentence window
answers the question (:meth:`qa.answering.answer.Answerer.passage_scores`); a part of a
two-part question also sees the whole question's best passage. Both work on the hits the
search made, so no chunk is read twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from qa.types import Hit


def reorder(
    hits: Sequence[Hit], windows_of: Callable[[Sequence[Hit]], list[float]], weight: float,
    depth: int, rescore: bool = True,
) -> list[Hit]:
    """``hits`` with the first ``depth`` reordered by fused score plus ``weight`` × window score.

    Args:
        hits: Fused search hits, best first.
        windows_of: The best answer window score of each of some hits.
        weight: How much the window score counts beside the fused score (relative to the best).
        depth: How many of the first hits are reordered; the rest keep their order.
        rescore: Give the hits their combined score ``(fused / best + w · window) / (1 + w)``
            (the rest no higher than the last reordered one); otherwise they keep the fused
            score, as the answerer's passage feature wants it.

    Returns:
        The hits in their new order, ranked from 1.
    """
    head, tail = list(hits[:depth]), list(hits[depth:])
    if len(head) < 2:
        return list(hits)
    windows = windows_of(head)
    top = max(h.score for h in head) or 1.0
    combined = [(max(h.score, 0.0) / top + weight * w) / (1 + weight)
                for h, w in zip(head, windows, strict=True)]
    order = sorted(range(len(head)), key=lambda i: -combined[i])  # stable: ties keep fused order
    floor = combined[order[-1]]
    scores = [combined[i] for i in order] + [
        min(floor, max(h.score, 0.0) / top / (1 + weight)) for h in tail]
    ordered = [head[i] for i in order] + tail
    return [replace(h, rank=rank, score=score if rescore else h.score)
            for rank, (h, score) in enumerate(zip(ordered, scores, strict=True), start=1)]


def join(own: Sequence[Hit], also: Sequence[Hit], passages: int) -> list[Hit]:
    """A part's own hits with ``also`` (the whole question's) among the first ``passages``.

    A hit of ``also`` already among the first ``passages - len(also)`` stays where it is;
    the others come right after those, before the part's own next ones.
    """
    keep = passages - len(also)
    held = {h.chunk_id for h in own[:keep]}
    extra = [h for h in also if h.chunk_id not in held]
    if not extra:
        return list(own)
    ids = {h.chunk_id for h in extra}
    rest = [h for h in own if h.chunk_id not in ids]
    joined = [*rest[:keep], *extra, *rest[keep:]]
    return [replace(h, rank=rank) for rank, h in enumerate(joined, start=1)]
