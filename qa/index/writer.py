"""The one writer: every index file of a version, from per-document parts.

:func:`write_parts` assembles the corpus-wide parts (tokenizer dictionary, the retrieval
backends) and :func:`write_index_files` writes them; the benchmark calls
the latter with its synthetic corpus.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Settings
from qa.index.chunkstore import ChunkStore
from qa.index.records import Part
from qa.index.store import (
    DOCS,
    FOLDED,
    SOURCES,
    TERMS,
    VECTORS,
    link_or_copy,
    source_path,
    write_json,
    write_jsonl,
)
from qa.retrieval.backends import ROLES, make_backend
from qa.retrieval.base import Context, Retriever
from qa.tokens.tokenize import Tokenizer, corpus_terms
from qa.types import Chunk, date_key


# ------------------------------------------------------------------ writing
def write_parts(
    directory: Path,
    parts: dict[str, Part],
    settings: Settings,
    encoder: dict[str, Any],
    corpus: dict[str, Any],
    progress: bool = False,
    changed: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Assemble the global indexes from per-document artefacts and write them.

    Args:
        directory: An empty build directory.
        parts: The documents, by id (written in id order).
        settings: Build settings.
        encoder: ``{"name", "version", "dim"}`` of the encoder the vectors came from.
        corpus: The manifest's ``corpus`` entry (corpus directory and file hashes).
        progress: Show a progress bar while tokenizing.
        changed: For backends that keep their index elsewhere (Milvus), the documents that
            differ from what they hold; ``None``: they hold nothing yet.

    Returns:
        The manifest fields (all but the ones :func:`qa.index.store.finish_manifest` adds).
    """
    ordered = [parts[k] for k in sorted(parts)]
    chunks = [c for p in ordered for c in p.chunks]
    (directory / SOURCES).mkdir()
    texts = []
    for p in ordered:
        target = source_path(directory, p.record.doc)
        if p.text is None and p.text_file is not None:
            link_or_copy(p.text_file, target)
        else:
            target.write_text(p.read_text(), encoding="utf-8")
        texts.append(p.read_text())
    tokenizer = Tokenizer(settings.tokenizer, corpus_terms(texts))
    del texts
    vectors = np.concatenate([np.asarray(p.vectors, dtype=np.float32) for p in ordered])
    context = Context(settings, tokenizer, progress=progress, changed=changed)
    names = settings.backend.names
    backends = {role: make_backend(names[role], context) for role in ROLES}
    for backend in backends.values():
        backend.add(chunks, vectors)
    return write_index_files(
        directory, chunks, (p.record.to_dict() for p in ordered), tokenizer, vectors, backends,
        {
            "encoder": encoder,
            "settings": settings.to_dict(),
            "corpus": {**corpus, "documents": len(ordered)},
        },
    )


def write_index_files(
    directory: Path, chunks: Iterable[Chunk], records: Iterable[dict[str, Any]],
    tokenizer: Tokenizer, vectors: np.ndarray, backends: Mapping[str, Retriever],
    fields: dict[str, Any],
) -> dict[str, Any]:
    """Write every index file but ``sources/`` and the manifest; return the manifest fields.

    Args:
        directory: The build directory.
        chunks: The chunks in row order (any iterable, read once).
        records: ``docs.jsonl`` rows (:meth:`DocRecord.to_dict`).
        tokenizer: The tokenizer the BM25 index was built with.
        vectors: The passage vectors in row order.
        backends: The retrieval backends by role (``lexical``, ``semantic``), holding the
            chunks in row order; each writes its own files and manifest section.
        fields: ``encoder``, ``settings`` and ``corpus`` for the manifest.

    Returns:
        ``fields`` plus the tokenizer's, the chunk count and each backend's, ready for
        :func:`qa.index.store.finish_manifest`.
    """
    with open(directory / FOLDED, "w", encoding="utf-8") as folded:

        def rows() -> Iterator[Chunk]:
            # The folded text is written in the same pass as the chunk store, one line a row.
            for chunk in chunks:
                folded.write(tokenizer.fold("".join(chunk.text.split())))
                folded.write("\n")
                yield chunk

        store = ChunkStore.write(directory, rows(), columns={"date": date_column})
        count = len(store)
        store.close()
    write_jsonl(directory / DOCS, records)
    write_json(directory / TERMS, tokenizer.terms)
    np.save(directory / VECTORS, vectors, allow_pickle=False)
    sections = {role: backend.save(directory) for role, backend in backends.items()}
    return {
        **fields,
        "tokenizer": {
            "config": tokenizer.config.to_dict(),
            "dictionary_hash": tokenizer.dictionary_hash(),
            "terms": len(tokenizer.terms),
        },
        "chunk_count": count,
        "backends": sections,
    }


def date_column(chunk: Chunk) -> int:
    """The chunk store's ``date`` column: :func:`qa.types.date_key` of the chunk's date."""
    try:
        return date_key(chunk.date)
    except ValueError:
        return 0  # an unreadable date filters like none

