"""Opening an index: the files of its committed version, checked, and today's backends.

:func:`open_parts` reads what :class:`qa.QA` is made of: the chunk store, the tokenizer, one
retriever per role (the backend its manifest section names), the lexicon the answerer reads,
and the encoder (queries; passages' sentences for the answerer), made on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.errors import IndexUnusableError, QAError
from qa.index.chunkstore import ChunkStore, map_file
from qa.index.commit import verify
from qa.index.records import DocRecord
from qa.index.segments import SegmentedChunks, live_vocabulary, segment_dir
from qa.index.store import (
    DOCS,
    FOLDED,
    TERMS,
    Manifest,
    current_version,
    index_error,
    read_json,
    read_jsonl,
)
from qa.retrieval.backends import ROLES, make_backend
from qa.retrieval.base import Context, Lexicon, Retriever
from qa.retrieval.bm25_segments import SegmentedBM25
from qa.retrieval.encoders import Encoder, make_encoder
from qa.retrieval.lexicon import CorpusLexicon, SegmentedLexicon
from qa.tokens.tokenize import Tokenizer
from qa.tokens.translate import Translator

# Loading checks every file's checksum when the index is at most this big (xxh3 reads
# ~8 GB/s from the page cache: ~30 ms); a bigger index has its files up to
# _LOAD_VERIFY_FILE_BYTES checked at load and the rest by `qa verify` and before every update.
LOAD_VERIFY_BYTES = 256 * 2**20
_LOAD_VERIFY_FILE_BYTES = 16 * 2**20


def check_encoder(
    built_with: object, encoder: str | Encoder | None, directory: Path | str = "index"
) -> None:
    """Refuse an encoder other than the one an index was built with.

    Raises:
        IndexUnusableError: Naming both encoders and the command that rebuilds.
    """
    wanted = encoder if isinstance(encoder, str) or encoder is None else encoder.name
    if wanted is not None and wanted != built_with:
        raise IndexUnusableError(
            f"索引使用的编码器不同 (encoder mismatch): {directory} was built with "
            f"{built_with!r}, not {wanted!r}; its vectors would not be comparable. "
            f"Run: qa build --rebuild --index {directory} --encoder {wanted}"
        )


class LazyEncoder:
    """An encoder made once, on first use, under a lock (loading a model is slow)."""

    def __init__(self, factory: Callable[[], Encoder]) -> None:
        self._factory = factory
        self._made: Encoder | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Encoder:
        """The encoder, made on the first call."""
        if self._made is None:
            with self._lock:
                if self._made is None:
                    self._made = self._factory()
        return self._made


@dataclass(frozen=True)
class Parts:
    """What a loaded index is made of (see :func:`open_parts`)."""

    directory: Path
    data: Path
    manifest: Manifest
    chunks: ChunkStore | SegmentedChunks
    tokenizer: Tokenizer
    lexical: Retriever
    semantic: Retriever
    lexicon: Lexicon
    embed: Callable[[Sequence[str]], np.ndarray]
    embed_passages: Callable[[Sequence[str]], np.ndarray]
    expand: Callable[[str], str]
    records: list[DocRecord]


def open_chunks(data: Path, manifest: Manifest, records: Sequence[DocRecord]
                ) -> ChunkStore | SegmentedChunks:
    """The chunk store of a version: one store, or the live rows of its segments."""
    names = manifest.segments
    stores = [ChunkStore.open(segment_dir(data, name)) for name in names]
    if len(stores) == 1 and sum(r.chunks for r in records) == len(stores[0]):
        return stores[0]
    where = {name: i for i, name in enumerate(names)}
    unknown = sorted({r.segment for r in records} - set(where))
    if unknown:
        raise ValueError(f"{DOCS} names segments the manifest lacks: {unknown}")
    return SegmentedChunks(stores, [(r.doc, where[r.segment], r.chunks) for r in records])


def _lexicon(lexical: Retriever, chunks: ChunkStore | SegmentedChunks, data: Path,
             segments: Sequence[str]) -> Lexicon:
    """The default lexicon: idf from the BM25 backend's document frequencies."""
    index = getattr(lexical, "index", None)
    if isinstance(index, SegmentedBM25) and isinstance(chunks, SegmentedChunks):
        folded = [(map_file(segment_dir(data, name) / FOLDED), chunks.dead(i))
                  for i, name in enumerate(segments)]
        return SegmentedLexicon(index, live_vocabulary(index, data, segments, chunks), folded)
    n_docs = len(chunks)
    vocab, indptr = getattr(index, "vocab", None), getattr(index, "indptr", None)
    indices = getattr(index, "indices", None)
    if vocab is None or indptr is None or indices is None:
        raise QAError(f"the {lexical.name} backend has no term statistics for the answerer")
    return CorpusLexicon(vocab, indptr, indices, n_docs, map_file(data / FOLDED))


def open_parts(directory: Path, encoder: str | Encoder | None = None) -> Parts:
    """Read and check the committed version of the index at ``directory``.

    Args:
        directory: The index directory.
        encoder: The query encoder, or its name; by default the one the index was built
            with. Another one than that is an error.

    Raises:
        IndexUnusableError: For a missing, truncated or corrupt index, another format
            version, or an encoder mismatch; the message says what to run.
    """
    data, manifest = current_version(directory)
    built_with = manifest.encoder.get("name")
    check_encoder(built_with, encoder, directory)
    total = sum(manifest.files.values())
    verify(data, manifest.checksums, directory,
           None if total <= LOAD_VERIFY_BYTES else _LOAD_VERIFY_FILE_BYTES)
    if isinstance(encoder, str) or encoder is None:
        spec = str(encoder or built_with)
        made = LazyEncoder(lambda: make_encoder(spec))
    else:
        given = encoder
        made = LazyEncoder(lambda: given)
    translator: list[Translator] = []

    def expand(text: str) -> str:
        return translator[0].expand(text)

    try:
        records = [DocRecord.from_dict(d) for d in read_jsonl(data / DOCS)]
        chunks = open_chunks(data, manifest, records)
        chunks.column("date")  # present in every index this version writes
        for name in manifest.segments:
            if not (segment_dir(data, name) / FOLDED).is_file():
                raise ValueError(f"{segment_dir(data, name) / FOLDED} is missing")
        terms = read_json(data / TERMS)
        settings = Settings.from_dict(manifest.settings)
        tokenizer = Tokenizer.from_stored(settings.tokenizer, terms)
        if tokenizer.dictionary_hash() != manifest.tokenizer.get("dictionary_hash"):
            raise ValueError("tokenizer dictionary differs from the one the index was built with")
        context = Context(settings, tokenizer, made, chunks, expand)
        backends = {}
        for role in ROLES:
            section = manifest.backends.get(role)
            if section is None:
                raise ValueError(f"the manifest has no {role} backend")
            backend = make_backend(str(section["backend"]), context)
            backend.load(data, section)
            backends[role] = backend
        lexicon = _lexicon(backends["lexical"], chunks, data, manifest.segments)
    except (ValueError, KeyError, OSError, TypeError, AttributeError) as exc:
        raise index_error(directory, str(exc).splitlines()[0] if str(exc) else repr(exc)) \
            from exc
    counts = {
        "chunks.jsonl": len(chunks),
        **{backends[role].name: backends[role].size for role in ROLES},
        "manifest": manifest.chunk_count,
        "docs.jsonl": sum(r.chunks for r in records),
    }
    if len(set(counts.values())) != 1:
        raise index_error(directory, f"parts disagree on the number of chunks {counts}")
    dim = manifest.backends["semantic"].get("dim")
    if dim is not None and dim != manifest.encoder.get("dim"):
        raise index_error(directory, f"dense dimension {dim} != encoder dimension")
    # Only corpus tokens are added to an English question (CC-CEDICT, pinyin: on first use).
    translator.append(Translator.bundled(lexicon.vocabulary, lexicon.idf, lexicon.chunks_of))
    expected_dim = manifest.encoder.get("dim")

    def checked() -> Encoder:
        enc = made()
        if enc.dim != expected_dim:
            raise IndexUnusableError(
                f"索引使用的编码器不同 (encoder mismatch): dimension {enc.dim}, the index "
                f"has {expected_dim}."
            )
        return enc

    def embed(texts: Sequence[str]) -> np.ndarray:
        # The corpus is simplified Chinese; folding traditional queries helps the model too.
        return checked().encode_queries([tokenizer.fold(t) for t in texts])

    def embed_passages(texts: Sequence[str]) -> np.ndarray:
        return checked().encode_passages(texts)

    return Parts(directory, data, manifest, chunks, tokenizer, backends["lexical"],
                 backends["semantic"], lexicon, embed, embed_passages,
                 expand, records)
