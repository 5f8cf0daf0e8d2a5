"""Questions that ask two things at once, split into one question per part.

``卞成2022年和2025年分别任什么职务？``, ``单项冠军和独角兽企业分别要达到多少家？``,
``认定了多少家国家绿色工厂和多少个国家绿色产品？``, ``出口值是多少，增速是多少？`` and
``… the life health industry and the green energy industry respectively?`` each need two
answers, often from two passages or two documents. Answering them as one question finds the
passage of one part at best; each part asked on its own finds its own evidence.

The split works on the wording alone, for the language in general:

* two questions in one line (a ``？`` or ``，`` between two question words);
* two question words joined by ``和``/``、``/``以及`` (``多少家A和多少个B``), the shared opening
  repeated for the second;
* ``X和Y分别/各…`` (and ``X and Y respectively``), asked once for ``X`` and once for ``Y``,
  with ``Y`` as long as ``X`` in words, or the whole opening when ``Y`` names its own scope
  (全市, a year, a district).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from qa.types import Answer, Hit

_WH = re.compile(
    r"多少|几[个家项年条类大种所座批次届倍名位]?|哪[个些里儿一几年位家]|什么|谁|何时|何地"
)
_EACH = re.compile(r"分别|各自|各(?=[是为有要多达几])")
_JOIN = re.compile(r"和|与|以及|、|，|,")
_END = re.compile(r"[？?。！!\s]+$")
# Words that open a part of their own scope: the part does not share the first one's opening.
_SCOPE = re.compile(r"^(全市|全区|全省|青岛|本市|\d{4}年|[\u4e00-\u9fff]{1,4}(新区|区|市|县))")
_CONJ = re.compile(r"和|与|以及|、")
_ATTRIBUTE = re.compile(r"\d{4}年|“?十[一二三四五六七八九]?五”?|的")
_COMMA = re.compile(r"[，,]")
# Head nouns a coordination shares (船舶海工和高端化工产业产值: the 产业产值 of both).
_SHARED_HEADS = frozenset(
    "产业 行业 产值 规模 增加值 收入 营收 营业收入 目标 数量 总量 投资 总投资 产量 销量 比重 占比 "
    "增速 增幅 出口 进口 进出口".split()
)
_EN_RESPECTIVELY = re.compile(r"\brespectively\b", re.I)
_EN_WH = re.compile(r"\b(how (many|much)|what|which|who|when|where)\b", re.I)


def split_question(
    question: str, words: Callable[[str], list[str]] | None = None
) -> list[str]:
    """The parts of a two-part question, or ``[question]`` when it asks one thing.

    Args:
        question: The question (simplified, traditional already folded by the caller is
            not needed: the markers are the same characters).
        words: A word segmenter (jieba ``cut``); used to give ``X`` in ``X和Y分别`` as many
            words as ``Y``. Without one, characters are counted.

    Returns:
        Two questions (in the order asked) or the question itself.
    """
    q = question.strip()
    if len(q) < 6:
        return [q]
    for splitter in (_two_questions, _two_wh, _each, _respectively, _and_wh):
        parts = splitter(q, words)
        if parts:
            return parts
    return [q]


def _two_questions(q: str, _words: Callable[[str], list[str]] | None) -> list[str] | None:
    """``A是多少？B又是多少？`` or ``A是多少，B是多少？``: a mark between two question words."""
    body = _END.sub("", q)
    for mark in re.finditer(r"[？?，,；;]", body):
        left, right = body[: mark.start()], body[mark.end() :]
        if _WH.search(left) and _WH.search(right) and len(right) >= 3:
            first = left + "？"
            second = right.removeprefix("又").strip()
            # "增速是多少": the second part leans on the first one's subject.
            wh = _WH.search(second)
            if wh and len(re.sub(r"[是为有又要达到了的]", "", second[: wh.start()])) < 4:
                lead = _WH.search(left)
                stem = left[: lead.start()] if lead else left
                stem = re.sub(r"(是|为|有|达到|达)$", "", stem)
                second = stem + second
            return [first, second.rstrip("？?") + "？"]
    return None


def _two_wh(q: str, _words: Callable[[str], list[str]] | None) -> list[str] | None:
    """``认定了多少家A和多少个B``: two question words joined by 和/、."""
    body = _END.sub("", q)
    whs = list(_WH.finditer(body))
    if len(whs) < 2:
        return None
    w1, w2 = whs[0], whs[1]
    joins = [m for m in _JOIN.finditer(body, w1.end(), w2.start())]
    if not joins:
        return None
    j = joins[-1]
    between = body[j.end() : w2.start()]
    if between.strip():
        # "摸排了多少家门店、立案查处了多少起案件": the second part has its own verb,
        # so it shares only the opening clause.
        clause = max((m.end() for m in _COMMA.finditer(body, 0, w1.start())), default=0)
        stem = body[:clause]
        if not stem:
            verb = re.search(r"[\u4e00-\u9fff]{1,4}了?$", body[: w1.start()])
            stem = body[: verb.start()] if verb else ""
    else:
        stem = body[: w1.start()]
    return [body[: j.start()] + "？", stem + body[j.end() :] + "？"]


def _each(q: str, words: Callable[[str], list[str]] | None) -> list[str] | None:
    """``X和Y分别/各…``: the same question for X and for Y."""
    each = _EACH.search(q)
    if not each:
        return None
    joins = [m for m in _CONJ.finditer(q, 0, each.start())]
    if not joins:
        return None
    j = joins[-1]
    y = q[j.end() : each.start()]
    head = q[: j.start()]
    rest = q[each.end() :]
    if not y.strip() or not head.strip():
        return None
    clause = max((m.end() for m in re.finditer(r"[，,：:]", head)), default=0)
    year_x = re.search(r"\d{4}年?$", head.rstrip())
    if re.fullmatch(r"\d{4}年?", y.strip()) and year_x:
        # "卞成2022年和2025年分别…": the years take turns, the rest is shared.
        x_start = year_x.start()
    elif _SCOPE.match(y):
        x_start = clause
    else:
        # "A和B2027年的规模目标分别…": what follows B's name (a year, 的…) is asked of both.
        attr = _ATTRIBUTE.search(y, 2)
        if attr:
            rest = y[attr.start() :] + rest
            y = y[: attr.start()]
        elif words:
            cut = words(y)
            while len(cut) > 1 and cut[-1] in _SHARED_HEADS:
                rest = cut.pop() + rest
            y = "".join(cut)
        n = len(words(y)) if words else len(y)
        x_start = max(clause, _start_of_last(head, n, words))
    first = head + rest
    second = q[:x_start] + y + rest
    return [first, second]


def _start_of_last(text: str, n: int, words: Callable[[str], list[str]] | None) -> int:
    """Where the last ``n`` words (or characters) of ``text`` begin."""
    if words is None:
        return max(0, len(text) - n)
    cut = words(text)
    kept = 0
    pos = len(text)
    for word in reversed(cut):
        if kept >= n or word in "的，,。：:“”年" or re.fullmatch(r"\d{4}年?", word):
            break
        pos -= len(word)
        kept += 1
    return pos


def _respectively(q: str, _words: Callable[[str], list[str]] | None) -> list[str] | None:
    """``… for A and B respectively?``: the question once for A, once for B."""
    resp = _EN_RESPECTIVELY.search(q)
    if not resp or not _EN_WH.search(q):
        return None
    head = q[: resp.start()].rstrip(" ,")
    tail = q[resp.end() :]
    m = list(re.finditer(r"\s+and\s+", head))
    if not m:
        return None
    j = m[-1]
    y = head[j.end() :]
    left = head[: j.start()]
    n = len(y.split())
    left_words = left.split()
    # X: as many words as Y, not reaching back past the question's verb phrase.
    x_words = left_words[-n:] if len(left_words) > n else left_words
    x = " ".join(x_words)
    prefix = left[: len(left) - len(x)]
    return [f"{left}{tail}".strip(), f"{prefix}{y}{tail}".strip()]


def _and_wh(q: str, _words: Callable[[str], list[str]] | None) -> list[str] | None:
    """``How many A …, and how much B …?``: two English questions in one."""
    m = re.search(r",?\s+and\s+(?=(how (many|much)|what|which|who|when|where)\b)", q, re.I)
    if not m or not _EN_WH.search(q[: m.start()]):
        return None
    first = q[: m.start()].rstrip(" ,") + "?"
    second = q[m.end() :]
    return [first, second[0].upper() + second[1:]]


def combine(question: str, parts: Sequence[Answer], k: int, abstain_text: str) -> Answer:
    """One answer from the answers to each part of ``question``.

    Each answered part contributes its sentence, its span and its first citation (so every
    part is cited); a part without support is named in the text and in ``reason``. The
    whole abstains only when no part is supported.
    """
    answered = [p for p in parts if not p.abstained]
    missing = [p for p in parts if p.abstained]
    reason = "；".join(f"“{p.question}”未在语料中找到依据 ({p.reason})" for p in missing)
    if not answered:
        cited = _merge_citations([h for p in parts for h in p.citations], k)
        return Answer(question, abstain_text, cited, True, 0.0, parts=tuple(parts),
                      reason=reason)
    # Each part's sentence, cut around its span when long, so the whole stays short.
    texts = [_around(p.text, p.span) for p in answered] if len(answered) > 1 else \
        [p.text for p in answered]
    texts += [f"（“{p.question}”：未在语料中找到依据）" for p in missing]
    lead = answered[0]
    firsts = [p.citations[0] for p in answered]
    rest = [h for p in parts for h in p.citations]
    cited = _merge_citations(firsts + rest, max(k, len(firsts)))
    one = len(answered) == 1
    return Answer(
        question, " ".join(dict.fromkeys(texts)), cited, False,
        min(p.confidence for p in answered), lead.start, lead.end,
        span="；".join(dict.fromkeys(p.span for p in answered)),
        span_start=lead.span_start if one else -1, span_end=lead.span_end if one else -1,
        parts=tuple(parts), reason=reason,
    )


_PART_CHARS = 90


def _around(text: str, span: str) -> str:
    """``text`` cut to about :data:`_PART_CHARS` characters around ``span``, with ``…``."""
    if len(text) <= _PART_CHARS:
        return text
    squeezed = "".join(span.split())
    at = text.find(span) if span in text else text.find(squeezed)
    if at < 0:
        return text[:_PART_CHARS] + "…"
    lo = max(0, at - (_PART_CHARS - len(span)) // 2)
    hi = min(len(text), lo + _PART_CHARS)
    lo = max(0, hi - _PART_CHARS)
    return ("…" if lo else "") + text[lo:hi] + ("…" if hi < len(text) else "")


def _merge_citations(hits: Sequence[Hit], k: int) -> tuple[Hit, ...]:
    """Hits in order, each chunk once (the first, highlighted copy kept), at most ``k``."""
    seen: set[str] = set()
    out = []
    for h in hits:
        key = h.chunk_id or f"{h.doc}:{h.start}"
        if key in seen:
            continue
        seen.add(key)
        out.append(h)
    return tuple(replace(h, rank=i) for i, h in enumerate(out[:k], start=1))
