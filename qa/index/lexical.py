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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from qa.config import Settings
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
    folded: list[str] = []
    for p in ordered:
        if p.record.doc in kept and p.folded is not None:
            folded.extend(p.folded)
        else:
            folded.extend(fold_chunk(tokenizer, c) for c in p.chunks)
    same_cut = prior is not None and tokenizer.terms == prior.tokenizer.terms and \
        tokenizer.dictionary_total() == prior.tokenizer.dictionary_total()
    stale = _stale_rows(ordered, kept, folded, tokenizer, prior) if prior and same_cut else None
    fresh_rows: list[int] = []
    runs: list[tuple[Part | None, int, int]] = []  # (part to keep from, start, end) per run
    row = 0
    for p in ordered:
        n = len(p.chunks)
        if p.record.doc in kept and stale is not None:
            start = row
            for r in range(row, row + n):
                if r in stale:
                    if r > start:
                        runs.append((p, start - row, r - row))
                    runs.append((None, len(fresh_rows), len(fresh_rows) + 1))
                    fresh_rows.append(r)
                    start = r + 1
            if row + n > start:
                runs.append((p, start - row, n))
        else:
            runs.append((None, len(fresh_rows), len(fresh_rows) + n))
            fresh_rows.extend(range(row, row + n))
        row += n
    fresh = tokenize_counts(tokenizer, _texts(ordered, fresh_rows), len(fresh_rows), progress)
    pieces = [fresh.rows(a, b) if p is None else p.counts.rows(a, b)  # type: ignore[union-attr]
              for p, a, b in _merged(runs)]
    return Assembled(tokenizer, term_counts, folded, ChunkCounts.concat(pieces).canonical())


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


def _stale_rows(ordered: Sequence[Part], kept: set[str], folded: list[str],
                tokenizer: Tokenizer, prior: Lexical) -> set[int]:
    """Rows of kept documents whose folded text holds a corpus term added or dropped."""
    delta = set(tokenizer.corpus or ()) ^ set(prior.tokenizer.corpus or ())
    words = {tokenizer.fold(w) for w in delta}
    if not words:
        return set()
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for word in words:
        automaton.add_word(word, word)
    automaton.make_automaton()
    stale = set()
    row = 0
    for p in ordered:
        n = len(p.chunks)
        if p.record.doc in kept:
            for r in range(row, row + n):
                if next(automaton.iter(folded[r]), None) is not None:
                    stale.add(r)
        row += n
    return stale


def _texts(ordered: Sequence[Part], rows: list[int]) -> Iterator[str]:
    """The index text of ``rows`` (ascending); only documents holding one are read."""
    wanted = iter(rows)
    target = next(wanted, None)
    row = 0
    for p in ordered:
        n = len(p.chunks)
        while target is not None and target < row + n:
            yield p.chunks[target - row].index_text()
            target = next(wanted, None)
        row += n
