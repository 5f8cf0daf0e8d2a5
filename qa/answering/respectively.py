"""Items paired with figures in order: ``A、B、C分别达到55家、20家、280家``.

The items listed before 分别 and the figures after it pair up in order; the item that shares most
with the question picks its figure. Used by the span finder before it scores figures one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .spanrules import _CLAUSE_END, _ITEM_SPLIT, _RESPECTIVELY, Tagger, unit_end

# The tags that end a list's head (2024年全市对 …): verbs, prepositions, particles, numbers, times.
_HEAD_END_TAGS = ("p", "v", "u", "c", "m", "t")


def listed_items(tagger: Tagger, clause: str) -> list[str]:
    """The listed items of ``2024年全市对欧盟、美国、日本等传统市场出口``: 欧盟, 美国, 日本.

    The clause's head (up to its last verb, preposition or date) belongs to no item, nor
    does what follows 等; only the items themselves tell the figures apart.
    """
    items = [i for i in _ITEM_SPLIT.split(clause) if i.strip()]
    if len(items) < 2:
        return items
    items[-1] = items[-1].split("等", 1)[0] or items[-1]
    words = tagger.tag(items[0])
    cut = max((i + 1 for i, (_a, _b, _w, t) in enumerate(words)
               if t.startswith(_HEAD_END_TAGS) and i + 1 < len(words)), default=0)
    if cut:
        items[0] = items[0][words[cut][0]:]
    return items


def respective_figure(
    tagger: Tagger, overlap: Callable[[str], float], text: str, start: int, end: int,
    spans: Sequence[tuple[int, int]], prefer: Sequence[str] = (),
) -> tuple[int, int, float] | None:
    """The figure in the place of the item asked, with its score, or ``None``.

    Args:
        tagger: The part-of-speech tagger (to cut a list's head off its first item).
        overlap: How much of the question a piece of text holds (idf-weighted share).
        text: The passage text; ``text[start:end]`` is the answer window.
        start: Start of the window.
        end: End of the window.
        spans: The figures found in the window, in order.
        prefer: Units the figure asked is likely to have.
    """
    previous: list[str] = []
    chosen: tuple[int, int, float] | None = None
    for m in _RESPECTIVELY.finditer(text, start, end):
        ends = [start, *(c.end() for c in _CLAUSE_END.finditer(text, start, m.start()))]
        items = listed_items(tagger, text[ends[-1] : m.start()])
        if len(items) < 2 and previous:
            # "A、B分别为15个、12个，总投资分别为180.6亿元、194亿元": the same items again.
            items = previous
        if len(items) < 2 and len(ends) >= 2:
            # "A、B、C等3类项目数量最多，分别为…": the items stand in the clause before.
            items = listed_items(tagger, text[ends[-2] : ends[-1] - 1])
        previous = items if len(items) >= 2 else previous
        values = [(a, b) for a, b in spans if a >= m.end()]
        # The figures must follow one another, joined by 、/和 only.
        run = values[:1]
        for a, b in values[1:]:
            if text[run[-1][1] : a].strip() in ("、", "和", "及", "，"):
                run.append((a, b))
            else:
                break
        if len(items) < 2 or len(run) != len(items):
            continue
        scores = [overlap(item) for item in items]
        best = max(range(len(items)), key=lambda i: (scores[i], -i))
        if scores[best] > 0 and scores.count(scores[best]) == 1:
            a, b = run[best]
            # Of two lists of figures for the same items (数量…分别为15个、12个，总投资分别为
            # 180.6亿元、194亿元), the one in the unit asked, or whose own words are asked.
            fit = 0.5 * overlap(text[ends[-1] : m.start()])
            if prefer and any(unit_end(text[a:b]).endswith(u) for u in prefer):
                fit += 0.3
            score = round(1.0 + scores[best] + fit, 4)
            if chosen is None or score > chosen[2] + 1e-9:
                chosen = (a, b, score)
    return chosen
