r"""Chunking: a cleaned :class:`~qa.types.Document` → citable :class:`~qa.types.Chunk` objects.

Chunks follow the document's structure: a chunk never spans two articles or two
sections, short blocks of one section are packed together, and a long block is
cut at sentence boundaries with overlap. Every chunk satisfies, for the source
text ``src``::

    re.sub(r"\s+", "", src[c.start:c.end]) == re.sub(r"\s+", "", c.text)

which holds because blocks are only packed when nothing but whitespace lies
between them in the source.

Size bound: a chunk has at most ``max_chars`` non-whitespace characters, except
that a run's last piece shorter than ``min_chars`` is folded into the chunk
before it, so no chunk exceeds ``max_chars + min_chars - 1``.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.config import ChunkConfig
from qa.types import Block, Chunk, Document

_SENTENCE_END = "。！？；!?;"
_CLOSERS = "”’）)」』】》"
# A sentence break: an end mark with any end marks or closers right after it, or a line
# break; then the whitespace that follows (re's \s is exactly str.isspace()).
_BREAK = re.compile(
    f"[{re.escape(_SENTENCE_END)}][{re.escape(_SENTENCE_END + _CLOSERS)}]*\\s*|\n\\s*"
)
_CLAUSE_END = "，,"
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class _Segment:
    """An unbreakable piece of a run: a whole short block or one sentence of a long one."""

    block: int  # index of the block within its run
    start: int  # offsets into that block's text
    end: int
    size: int  # non-whitespace characters


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split text into sentences.

    A sentence ends at ``。！？；!?;`` (together with any closing quotes or
    brackets right after it, such as ``。”``) or at a line break. The spans
    partition the text: they are consecutive, the first starts at 0, the last
    ends at ``len(text)``, and whitespace after a sentence belongs to it (strip
    a span's text for display). No span is blank.

    Args:
        text: Any text.

    Returns:
        ``(start, end)`` offsets; empty for blank text.

    Example:
        >>> sentence_spans("他说：“好。”然后走了！")
        [(0, 7), (7, 12)]
    """
    if not text.strip():
        return []
    spans: list[tuple[int, int]] = []
    start, n = 0, len(text)
    for match in _BREAK.finditer(text):
        j = match.end()
        if text[start:j].strip():  # leading blank lines join the next sentence
            spans.append((start, j))
            start = j
    if start < n:
        if text[start:].strip():
            spans.append((start, n))
        else:
            spans[-1] = (spans[-1][0], n)
    return spans


# Where a long sentence may be cut into the answerer's sentences: after a comma, colon or 、.
_CLAUSE = re.compile(r"[，,：:、]")


def chunk_sentences(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Sentence spans of ``text``, long sentences cut at clause marks to ``max_chars``."""
    out: list[tuple[int, int]] = []
    for start, end in sentence_spans(text):
        while end - start > max_chars:
            cut = start + max_chars
            marks = [m.end() for m in _CLAUSE.finditer(text, start + max_chars // 3, cut)]
            cut = marks[-1] if marks else cut
            out.append((start, cut))
            start = cut
        if text[start:end].strip():
            out.append((start, end))
    return out


def chunk_document(doc: Document, config: ChunkConfig) -> list[Chunk]:
    """Cut a document into chunks along its structure.

    Args:
        doc: A parsed document (see :func:`qa.text.clean.parse`).
        config: Chunk size, minimum and sentence overlap.

    Returns:
        Chunks in source order. Headings are not chunks; they appear in the
        ``section`` of the chunks below them (a heading with nothing below it
        becomes a chunk of its own so that its text is not lost).
    """
    line_starts = [0] + [m.end() for m in re.finditer("\n", doc.text)]
    chunks: list[Chunk] = []
    for run in _runs(doc):
        segments = [s for i, block in enumerate(run) for s in _segments(block, i, config.max_chars)]
        for first, last in _pack(segments, config):
            chunks.append(_make_chunk(doc, run, segments[first : last + 1], line_starts))
    return _unique_ids(chunks)


def chunk_id(doc: str, text: str, repeat: int = 0) -> str:
    """A chunk's stable id: 16 hex digits of ``sha1(doc, text)``, and ``repeat`` when not 0.

    ``repeat`` tells apart chunks of one document with the same text (the n-th repeat).
    """
    key = f"{doc}\n{text}" + (f"\n{repeat}" if repeat else "")
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def _unique_ids(chunks: list[Chunk]) -> list[Chunk]:
    """Give a chunk whose text repeats earlier in the document an id of its own.

    Ids cross the retrieval seam, so they must name one chunk; the first occurrence keeps
    the plain ``sha1(doc, text)`` id, the n-th repeat hashes ``n`` in as well.
    """
    seen: dict[str, int] = {}
    out = []
    for chunk in chunks:
        n = seen.get(chunk.id, 0)
        seen[chunk.id] = n + 1
        if n:
            chunk = dataclasses.replace(chunk, id=chunk_id(chunk.doc, chunk.text, n))
        out.append(chunk)
    return out


def _nonspace(text: str) -> int:
    return len(_SPACE.sub("", text))


def _runs(doc: Document) -> list[list[Block]]:
    """Group blocks that may share a chunk: same article, same section, adjacent in the source."""
    runs: list[list[Block]] = []
    blocks = doc.blocks
    for i, block in enumerate(blocks):
        if block.kind == "heading" and not _is_leaf_heading(blocks, i):
            continue
        prev = runs[-1][-1] if runs else None
        if (
            prev is not None
            and prev.kind != "heading"
            and block.kind != "heading"
            and prev.article == block.article
            and prev.section == block.section
            and not doc.text[prev.end : block.start].strip()
        ):
            runs[-1].append(block)
        else:
            runs.append([block])
    return runs


def _is_leaf_heading(blocks: tuple[Block, ...], i: int) -> bool:
    """A heading with no content below it (kept as a chunk so its text is not lost)."""
    head = blocks[i]
    nxt = blocks[i + 1] if i + 1 < len(blocks) else None
    if nxt is None or nxt.article != head.article:
        return True
    if head.level == 0:  # the article headline; everything in the article is below it
        return False
    own = head.section + (head.text,)
    return nxt.section[: len(own)] != own


def _segments(block: Block, index: int, max_chars: int) -> list[_Segment]:
    """A short block is one segment; a long one is cut into sentences, long sentences at commas."""
    size = _nonspace(block.text)
    if size <= max_chars:
        return [_Segment(index, 0, len(block.text), size)]
    out: list[_Segment] = []
    for start, end in sentence_spans(block.text):
        for a, b in _hard_split(block.text, start, end, max_chars):
            out.append(_Segment(index, a, b, _nonspace(block.text[a:b])))
    return out


def _hard_split(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut ``text[start:end]`` into pieces of at most ``max_chars``, preferably after a comma."""
    pieces: list[tuple[int, int]] = []
    count = 0
    for i in range(start, end):
        if text[i].isspace():
            continue
        if count == max_chars:
            commas = [text.rfind(c, start, i) for c in _CLAUSE_END]
            cut = max(commas) + 1 if max(commas) >= start else i
            pieces.append((start, cut))
            start, count = cut, _nonspace(text[cut:i])
        count += 1
    pieces.append((start, end))
    return pieces


def _pack(segments: list[_Segment], config: ChunkConfig) -> list[tuple[int, int]]:
    """Greedy packing into inclusive segment ranges; overlap only inside a block."""
    sizes = [s.size for s in segments]
    ranges: list[tuple[int, int]] = []
    first, total = 0, 0
    for k, seg in enumerate(segments):
        if k > first and total + seg.size > config.max_chars:
            ranges.append((first, k - 1))
            back = k
            # Repeat the previous sentences of the same block, as many as fit.
            while (
                back > first
                and k - back < config.overlap_sentences
                and segments[back - 1].block == seg.block
                and sum(sizes[back - 1 : k]) + seg.size <= config.max_chars
            ):
                back -= 1
            first, total = back, sum(sizes[back:k])
        total += seg.size
    ranges.append((first, len(segments) - 1))
    if len(ranges) > 1:
        (p_first, p_last), (_, t_last) = ranges[-2], ranges[-1]
        if sum(sizes[p_last + 1 : t_last + 1]) < config.min_chars:
            ranges[-2:] = [(p_first, t_last)]  # fold a tiny tail into the chunk before
    return ranges


def _offset_map(doc_text: str, block: Block) -> Sequence[int]:
    """Source offset of every character of ``block.text``.

    A repaired paragraph's text lacks the whitespace of the page break it
    spanned, so its characters are matched to the source skipping whitespace.
    """
    end = block.start + len(block.text)
    if doc_text[block.start : end] == block.text:
        return range(block.start, end)  # the usual case: the block is the source verbatim
    offsets, j = [], block.start
    for ch in block.text:
        while doc_text[j] != ch:
            j += 1
        offsets.append(j)
        j += 1
    return offsets


def _make_chunk(
    doc: Document, run: list[Block], segs: list[_Segment], line_starts: list[int]
) -> Chunk:
    parts: list[str] = []
    start = end = -1
    for index in sorted({s.block for s in segs}):
        block = run[index]
        mine = [s for s in segs if s.block == index]
        a, b = mine[0].start, mine[-1].end
        while block.text[a].isspace():
            a += 1
        while block.text[b - 1].isspace():
            b -= 1
        offsets = _offset_map(doc.text, block)
        start = offsets[a] if start < 0 else start
        end = offsets[b - 1] + 1
        parts.append(block.text[a:b])
    text = "\n".join(parts)
    head = run[0]
    article = doc.articles[head.article] if head.article < len(doc.articles) else None
    return Chunk(
        id=chunk_id(doc.doc_id, text),
        doc=doc.doc_id,
        title=article.title if article else doc.title,
        section=" › ".join(head.section),
        text=text,
        start=start,
        end=end,
        line_start=bisect.bisect_right(line_starts, start),
        line_end=bisect.bisect_right(line_starts, end - 1),
        doc_title=doc.title,
        date=(article.date if article else None) or doc.date,
    )
