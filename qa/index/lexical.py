"""The corpus-wide lexical parts of a new version, recomputed only where an update changed them.

A version's tokenizer dictionary holds the corpus terms (:class:`~qa.tokens.terms.TermCounts`),
so any document can change it; and BM25 needs every chunk's tokens. A fresh build computes
both from every document. An update starts from the committed version's instead:

* the term counts lose the texts of documents that leave and gain those that arrive (only
  enumeration items new to the corpus are counted in the other documents' texts);
* a chunk of a kept document keeps its token counts unless its folded text holds a corpus
  term that the update adds to or drops from the dictionary. That is exact because the
  tokenizer gives each corpus term a frequency of its own and pads the dictionary total to
  a fixed budget (:data:`qa.tokens.tokenize.PAD_WORD`): a text's cut depends only on the
  dictionary words inside it. When the budget, the fixed terms or the tokenizer settings
  differ, every chunk is tokenized again;
* the folded text of kept chunks is copied, not folded again.

The result equals a fresh build of the same documents (``tests/test_incremental.py``).
"""

from __future__ import annotations

import bisect
from collections.abc import Container, Iterator, Mapping, Sequence
from dataclasses import dataclass

from qa.config import Settings
from qa.index.folded import FoldedFile, FoldedRows
from qa.index.records import Lexical, Part
from qa.retrieval.bm25_counts import ChunkCounts, tokenize_counts
from qa.tokens.terms import TermCounts
from qa.tokens.tokenize import Tokenizer
from qa.types import Chunk


@dataclass
class Assembled:
    """The lexical parts of a version, rows in id order of the documents.

    Attributes:
        tokenizer: The version's tokenizer.
        term_counts: What its corpus terms were counted from.
        folded: Each row's folded text (``chunks_folded.txt``).
        counts: Each row's token counts.
    """

    tokenizer: Tokenizer
    term_counts: TermCounts
    folded: list[str]
    counts: ChunkCounts


def fold_chunk(tokenizer: Tokenizer, chunk: Chunk) -> str:
    """A row of ``chunks_folded.txt``: the chunk's text folded, without whitespace."""
    return tokenizer.fold("".join(chunk.text.split()))


def assemble(ordered: Sequence[Part], settings: Settings, prior: Lexical | None,
             previous: dict[str, Part] | None, progress: bool = False) -> Assembled:
    """Tokenizer, folded text and token counts for the documents ``ordered``.

    Args:
        ordered: The new version's documents, in row order.
        settings: Build settings (the tokenizer's).
        prior: The committed version's lexical state, when it has one this can start from.
        previous: The committed version's documents (what ``prior`` was counted over).
        progress: Show a bar while tokenizing.
    """
    config = settings.tokenizer
    if prior is None or previous is None or prior.tokenizer.corpus is None or \
            prior.tokenizer.config != config:
        prior = previous = None  # nothing to start from: count and tokenize everything
    kept: set[str] = set()
    if prior is not None and previous is not None:
        kept = {p.record.doc for p in ordered if p.folded is not None and
                p.counts is not None and p.record.doc in previous and
                previous[p.record.doc].record.sha256 == p.record.sha256}
        term_counts = prior.term_counts.copy()
        term_counts.update(
            removed=[p.read_text() for d, p in previous.items() if d not in kept],
            added=[p.read_text() for p in ordered if p.record.doc not in kept],
            others=lambda: (p.read_text() for p in ordered if p.record.doc in kept),
        )
    else:
        term_counts = TermCounts.of(p.read_text() for p in ordered)
    tokenizer = Tokenizer(config, corpus=term_counts.terms())
    same_cut = prior is not None and tokenizer.terms == prior.tokenizer.terms and \
        tokenizer.dictionary_total() == prior.tokenizer.dictionary_total()
    stale: dict[str, set[int]] = {}
    if prior is not None and same_cut:
        held = [p for p in ordered if p.record.doc in kept]
        found = stale_rows(held, changed_words(tokenizer, prior.tokenizer))
        stale = {p.record.doc: found.get(p.record.doc, set()) for p in held}
    folded, counts = recount(ordered, tokenizer, kept, stale, progress)
    return Assembled(tokenizer, term_counts, folded, counts)


def changed_words(tokenizer: Tokenizer, prior: Tokenizer) -> set[str]:
    """The folded corpus terms one tokenizer has and the other lacks."""
    delta = set(tokenizer.corpus or ()) ^ set(prior.corpus or ())
    return {tokenizer.fold(w) for w in delta}


def stale_rows(kept: Sequence[Part], words: set[str]) -> dict[str, set[int]]:
    """Per kept document, its rows (0-based) whose folded text holds one of ``words``.

    Documents read from an index (:class:`~qa.index.folded.FoldedRows`) are found with one
    Aho–Corasick pass over each segment's whole folded file, then each hit is given to its
    document; only documents with such a row are in the result.
    """
    if not words:
        return {}
    stale: dict[str, set[int]] = {}
    by_file: dict[int, tuple[FoldedFile, list[tuple[Part, FoldedRows]]]] = {}
    for p in kept:
        if isinstance(p.folded, FoldedRows):
            by_file.setdefault(id(p.folded.file), (p.folded.file, []))[1].append((p, p.folded))
        else:
            found = {r for r, text in enumerate(p.folded or ()) if any(w in text for w in words)}
            if found:
                stale[p.record.doc] = found
    for file, held in by_file.values():
        hits = sorted(file.rows_holding(words))
        for p, rows in held:
            lo, hi = bisect.bisect_left(hits, rows.start), bisect.bisect_left(hits, rows.end)
            if hi > lo:
                stale[p.record.doc] = {r - rows.start for r in hits[lo:hi]}
    return stale


def recount(parts: Sequence[Part], tokenizer: Tokenizer, keep_folded: Container[str],
            stale: Mapping[str, set[int]], progress: bool = False
            ) -> tuple[list[str], ChunkCounts]:
    """Folded rows and token counts (canonical) of ``parts``, row for row.

    A document in ``keep_folded`` keeps its folded rows; one in ``stale`` keeps its token
    counts but for the rows named there, which are tokenized again with every chunk of the
    other documents (one pass, in row order).
    """
    folded: list[str] = []
    fresh: list[tuple[Part, int]] = []
    runs: list[tuple[Part | None, int, int]] = []  # (part to keep counts from, start, end)
    for p in parts:
        doc, n = p.record.doc, len(p.chunks)
        if doc in keep_folded and p.folded is not None:
            folded.extend(p.folded)
        else:
            folded.extend(fold_chunk(tokenizer, c) for c in p.chunks)
        rows = stale.get(doc) if p.counts is not None else None
        if rows is None:
            runs.append((None, len(fresh), len(fresh) + n))
            fresh.extend((p, r) for r in range(n))
            continue
        start = 0
        for r in sorted(rows):
            if r > start:
                runs.append((p, start, r))
            runs.append((None, len(fresh), len(fresh) + 1))
            fresh.append((p, r))
            start = r + 1
        if start < n:
            runs.append((p, start, n))
    texts = (p.chunks[r].index_text() for p, r in fresh)
    counted = tokenize_counts(tokenizer, texts, len(fresh), progress)
    pieces = [counted.rows(a, b) if p is None else p.counts.rows(a, b)  # type: ignore[union-attr]
              for p, a, b in _merged(runs)]
    return folded, ChunkCounts.concat(pieces).canonical()


def _merged(runs: list[tuple[Part | None, int, int]]) -> Iterator[tuple[Part | None, int, int]]:
    """Adjacent runs from the same source joined (fresh rows come in row order)."""
    last: tuple[Part | None, int, int] | None = None
    for run in runs:
        if last is not None and last[0] is run[0] and last[2] == run[1]:
            last = (last[0], last[1], run[2])
            continue
        if last is not None:
            yield last
        last = run
    if last is not None:
        yield last
