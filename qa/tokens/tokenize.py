"""Tokenizing stage: fold text, then cut it into BM25 tokens with jieba and a domain dictionary.

Documents and queries go through the same :meth:`Tokenizer.tokenize` pipeline, so their tokens
match: fold (traditional → simplified, full-width → half-width ASCII, ASCII lower-case), protect
``10+1``-style spans, segment with a private :class:`~qa.tokens.segment.Segmenter`
(jieba's algorithm
and dictionary run by jieba-rs; search mode by default), then drop whitespace, punctuation and
stopwords.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import multiprocessing
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from qa.config import TokenizerConfig
from qa.tokens.segment import Segmenter
from qa.tokens.terms import (
    STOPWORDS_FILE,
    TERMS_FILE,
    merge_terms,
    parse_term,
    read_list,
)
from qa.tokens.terms import corpus_terms as corpus_terms  # re-exported (old path)
from qa.tokens.terms import curated_terms as curated_terms  # re-exported (old path)

# 2: segmentation by jieba-rs (qa.tokens.segment); same tokens as Python jieba, new indexes anyway.
# 3: corpus terms kept apart (``corpus=``): each added with the frequency jieba suggests
#    against the fixed dictionary, and the dictionary total padded to a fixed budget.
HASH_VERSION = 3
# jieba scores a cut by sum(log freq) - words * log(total), so every added word, by moving the
# total, could change how text without it is cut. Corpus terms are therefore topped up by this
# word (never in text: only runs of Han and ASCII characters reach the segmenter) to a total
# that changes only when their frequencies outgrow the budget, a power of two from PAD_MIN.
# Then a chunk's tokens depend on nothing but the dictionary words inside it, which is what
# lets an update re-tokenize only the chunks that hold a term it adds or drops.
PAD_WORD = "\ue000qa-dictionary-total"
PAD_MIN = 1 << 16
_LOG = logging.getLogger(__name__)

# jieba splits on "+", so "10+1" (and "8+X", "1+10") are cut out before segmentation.
_PROTECTED = re.compile(r"(?<![0-9A-Za-z])[0-9]+(?:\+[0-9A-Za-z]+)+(?![0-9A-Za-z])")
# Full-width ASCII digits, letters and "+" fold to ASCII (what NFKC does to them); other
# full-width punctuation (，（）：) keeps its Chinese form.
_FULLWIDTH = {
    cp: cp - 0xFEE0
    for cp in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B), 0xFF0B)
}
_ASCII_LOWER = {cp: cp + 32 for cp in range(0x41, 0x5B)}


@dataclass(frozen=True)
class _Segmenter:
    """What tokenizing needs once initialised: the segmenter with the dictionary, stopwords."""

    segmenter: Segmenter
    stopwords: frozenset[str]
    budget: int = 0


def _split_protected(text: str) -> Iterator[tuple[str, bool]]:
    """Split text into ``(piece, protected)`` runs around ``10+1``-style spans."""
    pos = 0
    for match in _PROTECTED.finditer(text):
        if match.start() > pos:
            yield text[pos : match.start()], False
        yield match.group(), True
        pos = match.end()
    if pos < len(text):
        yield text[pos:], False


class Tokenizer:
    """Turns documents and queries into BM25 tokens.

    The segmenter is private to this instance (its own dictionary with the terms added) and built on
    first use under a lock, so several threads may tokenize at once. Building from the same
    config and terms always yields the same tokens and :meth:`dictionary_hash`.

    Args:
        config: Tokenizer settings.
        terms: Extra dictionary entries (``WORD [FREQ] [POS]``), typically :func:`corpus_terms`
            of the corpus, or :attr:`terms` stored with an index.
        builtin: Add the curated ``qa/data/terms.txt``. Use :meth:`from_terms` to rebuild
            exactly a stored term list even if the curated file has changed since.

    Example:
        >>> tok = Tokenizer(TokenizerConfig(), corpus_terms(texts))  # doctest: +SKIP
        >>> tok.tokenize("磁存储芯片布局在西海岸新区")  # doctest: +SKIP
        ['存储', '芯片', '磁存储芯片', '布局', '西海', '海岸', '新区', '西海岸', '西海岸新区']
        >>> again = Tokenizer.from_terms(TokenizerConfig(), tok.terms)  # doctest: +SKIP
        >>> again.dictionary_hash() == tok.dictionary_hash()  # doctest: +SKIP
        True
    """

    def __init__(
        self, config: TokenizerConfig, terms: Iterable[str] = (), *, builtin: bool = True,
        corpus: Iterable[str] | None = None,
    ) -> None:
        self.config = config
        sources = [read_list(TERMS_FILE)] if builtin else []
        self._terms = merge_terms([*sources, list(terms), config.user_terms])
        self._corpus = None if corpus is None else tuple(sorted(set(corpus)))
        self._budget: int | None = None
        self._stopwords = tuple(sorted(set(read_list(STOPWORDS_FILE))))
        table = dict(_FULLWIDTH)
        if config.lowercase:
            table.update(_ASCII_LOWER)
            table.update({cp: dst + 32 for cp, dst in _FULLWIDTH.items() if 0x41 <= dst <= 0x5A})
        self._table = table
        # str.translate looks every character up in the dict; most text has none to change.
        self._table_chars = re.compile("[" + "".join(re.escape(chr(c)) for c in table) + "]")
        # OpenCC loads in milliseconds, so eagerly; the segmenter's dictionary takes ~0.2 s,
        # so lazily.
        self._converter = _load_opencc() if config.fold_traditional else None
        self._lock = threading.Lock()
        self._segmenter: _Segmenter | None = None
        self._decided: dict[str, bool] = {}

    @classmethod
    def from_terms(cls, config: TokenizerConfig, terms: Iterable[str],
                   corpus: Iterable[str] | None = None) -> Tokenizer:
        """Rebuild a tokenizer from exactly ``terms`` and ``corpus`` (as stored in an index)."""
        return cls(config, terms, builtin=False, corpus=corpus)

    @property
    def terms(self) -> list[str]:
        """The fixed dictionary entries: curated + extra terms + ``config.user_terms``, sorted."""
        return list(self._terms)

    @property
    def words(self) -> list[str]:
        """Every dictionary entry: the fixed terms, then the corpus terms."""
        return [*self._terms, *(self._corpus or ())]

    @property
    def corpus(self) -> list[str] | None:
        """The corpus terms (added with a padded total), or ``None`` for a tokenizer without."""
        return None if self._corpus is None else list(self._corpus)

    def stored(self) -> dict[str, Any] | list[str]:
        """What an index stores to rebuild this tokenizer with :meth:`from_stored`.

        A tokenizer without corpus terms is stored as its term list, as before format 7.
        """
        if self._corpus is None:
            return self.terms
        return {"terms": self.terms, "corpus": self.corpus, "budget": self.dictionary_total()}

    @classmethod
    def from_stored(cls, config: TokenizerConfig, stored: Any) -> Tokenizer:
        """The tokenizer :meth:`stored` describes; a plain list is an older index's terms.

        Raises:
            ValueError: For anything else.
        """
        if isinstance(stored, list):
            return cls.from_terms(config, stored)
        if isinstance(stored, dict) and isinstance(stored.get("terms"), list) and \
                isinstance(stored.get("corpus", []), (list, type(None))):
            made = cls.from_terms(config, stored["terms"], stored.get("corpus"))
            budget = stored.get("budget")
            # Recorded so an update can compare budgets without building jieba (0.2 s).
            made._budget = budget if isinstance(budget, int) and budget > 0 else None
            return made
        raise ValueError("terms.json holds neither a term list nor terms and corpus terms")

    def dictionary_total(self) -> int:
        """The padded budget over the corpus terms' frequencies (0 without corpus terms).

        Two tokenizers with the same fixed terms and the same budget cut any text that holds
        none of the corpus terms by which they differ the same way.
        """
        if self._budget is not None and self._segmenter is None:
            return self._budget
        return self._ensure_segmenter().budget

    def dictionary_hash(self) -> str:
        """Return a sha256 hex digest of everything that decides the tokens.

        Covers the final term list, the config and the stopword list, so an index manifest can
        tell when its tokens would no longer match the query side.
        """
        payload: dict[str, Any] = {
            "version": HASH_VERSION,
            "config": self.config.to_dict(),
            "terms": list(self._terms),
            "stopwords": list(self._stopwords),
        }
        if self._corpus is not None:
            payload["corpus"] = list(self._corpus)
        else:
            payload["version"] = 2  # a tokenizer without corpus terms cuts as version 2 did
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def fold(self, text: str) -> str:
        """Normalise text the same way for documents and queries.

        Traditional → simplified (OpenCC ``t2s``, when ``config.fold_traditional``), full-width
        ASCII letters/digits/plus → half-width, ASCII lower-case (when ``config.lowercase``).
        """
        if self._converter is not None:
            text = self._converter.convert(text)
        return text.translate(self._table) if self._table_chars.search(text) else text

    def tokenize(self, text: str) -> list[str]:
        """Return the BM25 tokens of a document (or query) in text order.

        Numbers stay tokens (``"2027"``); ``"10+1"`` stays whole; search mode adds jieba's
        sub-words (``磁存储芯片`` also gives ``芯片``).
        """
        seg = self._ensure_segmenter()
        tokens: list[str] = []
        for piece, protected in _split_protected(self.fold(text)):
            if protected:
                tokens.append(piece)
            elif self.config.search_mode:
                tokens.extend(seg.segmenter.cut_for_search(piece))
            else:
                tokens.extend(seg.segmenter.cut(piece))
        # Tokens repeat a lot, so the keep/drop decision is memoised per token.
        decided = self._decided
        kept = []
        for token in tokens:
            keep = decided.get(token)
            if keep is None:
                keep = decided[token] = self._keep(token, seg.stopwords)
            if keep:
                kept.append(token)
        return kept

    def tokenize_query(self, text: str) -> list[str]:
        """Tokenize a query: deliberately the same pipeline as documents so tokens match."""
        return self.tokenize(text)

    def tokenize_many(
        self, texts: Sequence[str], processes: int | None = None
    ) -> list[list[str]]:
        """Tokenize a batch of texts, in order.

        Args:
            texts: The texts.
            processes: Worker processes; ``None`` or 1 tokenizes in this process. Parallel
                workers each build their own jieba from :attr:`terms`, so the tokens are the
                same as in-process ones (see :meth:`tokenize_batches`).
        """
        if processes is None or processes <= 1:
            return [self.tokenize(text) for text in texts]
        out: list[list[str]] = []
        for batch in self.tokenize_batches(texts, processes=processes):
            out.extend(batch)
        return out

    def tokenize_batches(
        self,
        texts: Iterable[str],
        batch_size: int = 1000,
        processes: int | None = None,
        reduce: Callable[[list[list[str]]], Any] | None = None,
    ) -> Iterator[Any]:
        """Tokenize texts in order, ``batch_size`` at a time, optionally in worker processes.

        Tokenizing holds the GIL (folding, filtering and the segmenter calls), so threads do
        not help; processes do. Each worker (started with ``spawn``, safe under threads and on
        every platform) rebuilds this tokenizer with :meth:`from_terms` and :attr:`terms`,
        which yields the same tokens and :meth:`dictionary_hash`. Texts are read lazily, so a
        large corpus need not be in memory at once; batches come back in input order.

        Args:
            texts: The texts, any iterable.
            batch_size: Texts per batch (per message to a worker).
            processes: Worker processes; ``None`` means one per CPU, 1 means this process.
            reduce: Applied to each batch's token lists inside the worker, so only its
                (smaller) result travels back, e.g.
                :func:`qa.retrieval.bm25_matrix.encode_tokens`. Must be a
                module-level function (it is pickled). ``None`` yields the token lists.

        Yields:
            Per batch: ``reduce(token_lists)``, or the token lists themselves.

        Raises:
            ValueError: If ``batch_size`` or ``processes`` is below 1.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if processes is None:
            processes = os.cpu_count() or 1
        if processes < 1:
            raise ValueError(
                f"processes must be at least 1 (or None for one per CPU), got {processes}"
            )
        batches = _batched(texts, batch_size)
        if processes == 1:
            for batch in batches:
                yield self._tokenize_batch(batch, reduce)
            return
        context = multiprocessing.get_context("spawn")
        init = (self.config.to_dict(), list(self._terms), self.corpus, reduce)
        # A bounded window of batches in flight: input order kept, texts read lazily.
        pending: deque[tuple[list[str], Future[Any]]] = deque()
        try:
            with ProcessPoolExecutor(
                processes, mp_context=context, initializer=_init_worker, initargs=init
            ) as pool:
                for batch in batches:
                    pending.append((batch, pool.submit(_tokenize_in_worker, batch)))
                    if len(pending) >= 2 * processes:
                        yield pending[0][1].result()
                        pending.popleft()
                while pending:
                    yield pending[0][1].result()
                    pending.popleft()
        except BrokenProcessPool as exc:
            # Workers could not start (spawn re-imports __main__, which fails for a script
            # read from stdin) or one died: finish in this process rather than fail a build.
            _LOG.warning("tokenizer worker processes failed (%s); tokenizing in this process",
                         exc)
            for batch, _future in pending:
                yield self._tokenize_batch(batch, reduce)
            for batch in batches:
                yield self._tokenize_batch(batch, reduce)

    def _tokenize_batch(
        self, batch: list[str], reduce: Callable[[list[list[str]]], Any] | None
    ) -> Any:
        tokens = [self.tokenize(text) for text in batch]
        return tokens if reduce is None else reduce(tokens)

    def _keep(self, token: str, stopwords: frozenset[str]) -> bool:
        if not token or token.isspace():
            return False
        if not self.config.stopwords:
            return True
        return token not in stopwords and any(ch.isalnum() for ch in token)

    def _ensure_segmenter(self) -> _Segmenter:
        seg = self._segmenter
        if seg is None:
            with self._lock:
                if self._segmenter is None:
                    # Published only once complete: other threads never see a half-built jieba.
                    self._segmenter = self._build_segmenter()
                seg = self._segmenter
        return seg

    def _build_segmenter(self) -> _Segmenter:
        folded: dict[str, int | None] = {}
        for entry in self._terms:
            word, freq = parse_term(entry)
            folded.setdefault(self.fold(word), freq)
        # jieba's suggested frequency depends on the words added before, so add in sorted order.
        segmenter = Segmenter(sorted(folded.items()))
        stopwords = frozenset(self.fold(w) for w in self._stopwords)
        budget = 0
        if self._corpus is not None:
            # Each corpus term's frequency is suggested against the fixed dictionary alone,
            # so it does not depend on which other corpus terms there are.
            words = sorted({self.fold(w) for w in self._corpus} - set(folded))
            added = [(w, segmenter.suggest_freq(w)) for w in words if not segmenter.has_word(w)]
            total = sum(f for _, f in added)
            budget = max(PAD_MIN, 1 << max(total - 1, 0).bit_length())
            pad = [(PAD_WORD, budget - total)] if budget > total else []
            segmenter.add_words([*added, *pad])
        return _Segmenter(segmenter=segmenter, stopwords=stopwords, budget=budget)


def _batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


# Set once per worker process by the pool initializer (never in the parent process).
_WORKER: tuple[Tokenizer, Callable[[list[list[str]]], Any] | None] | None = None


def _init_worker(
    config: dict[str, Any], terms: list[str], corpus: list[str] | None,
    reduce: Callable[[list[list[str]]], Any] | None,
) -> None:
    global _WORKER
    _WORKER = (Tokenizer.from_terms(TokenizerConfig.from_dict(config), terms, corpus), reduce)


def _tokenize_in_worker(batch: list[str]) -> Any:
    if _WORKER is None:  # pragma: no cover - the pool always runs the initializer first
        raise RuntimeError("tokenizer worker used before its initializer ran")
    tokenizer, reduce = _WORKER
    return tokenizer._tokenize_batch(batch, reduce)


def _load_opencc() -> Any:
    try:
        import opencc
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("qa.tokens.tokenize needs OpenCC: pip install opencc") from exc
    return opencc.OpenCC("t2s")
