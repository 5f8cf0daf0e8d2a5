"""The one writer: every index file of a version, from per-document parts.

:func:`write_parts` assembles the corpus-wide parts (tokenizer dictionary, the retrieval
backends) and :func:`write_index_files` writes them; the benchmark calls
the latter with its synthetic corpus.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Settings
from qa.index.chunkstore import ChunkRows, ChunkStore
from qa.index.lexical import assemble, fold_chunk
from qa.index.records import Lexical, Part
from qa.index.segment_writer import reset_segments
from qa.index.store import (
    DOCS,
    FOLDED,
    SOURCES,
    TERM_COUNTS,
    TERMS,
    VECTORS,
    link_or_copy,
    write_json,
    write_jsonl,
)
from qa.retrieval.backends import ROLES, make_backend
from qa.retrieval.base import Context, Retriever
from qa.tokens.tokenize import Tokenizer
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
    prior: Lexical | None = None,
    previous: dict[str, Part] | None = None,
    held: Mapping[str, Sequence[str]] | None = None,
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
        prior: The committed version's lexical state, for an update (see
            :mod:`qa.index.lexical`); ``None`` tokenizes every chunk.
        previous: The committed version's documents, with ``prior``.
        held: For an external backend, the chunk ids it is known to hold for some of the
            ``changed`` documents (:func:`qa.index.external.held_ids`).

    Returns:
        The manifest fields (all but the ones :func:`qa.index.store.finish_manifest` adds).
    """
    ordered = [parts[k] for k in sorted(parts)]
    write_sources(directory, ordered)
    lexical = assemble(ordered, settings, prior, previous, progress)
    chunks = ChunkRows.joined([p.chunks for p in ordered])
    vectors = np.concatenate([np.asarray(p.vectors, dtype=np.float32) for p in ordered])
    context = Context(settings, lexical.tokenizer, progress=progress, changed=changed,
                      counts=lexical.counts, held=held)
    names = settings.backend.names
    backends = {role: make_backend(names[role], context) for role in ROLES}
    for backend in backends.values():
        backend.add(chunks, vectors)
    write_json(directory / TERM_COUNTS, lexical.term_counts.to_dict())
    lexical.counts.save(directory)
    return write_index_files(
        directory, chunks, (r.to_dict() for r in reset_segments([p.record for p in ordered])),
        lexical.tokenizer, vectors,
        backends,
        {
            "encoder": encoder,
            "settings": settings.to_dict(),
            "corpus": {**corpus, "documents": len(ordered)},
        },
        folded=lexical.folded,
    )


def write_sources(directory: Path, ordered: Sequence[Part]) -> None:
    """Each document's text under ``sources/``: linked when the index has it, else written."""
    (directory / SOURCES).mkdir()
    folder = str(directory / SOURCES)
    for p in ordered:
        target = os.path.join(folder, f"{p.record.doc}.txt")
        if p.text is None and p.text_file is not None:
            link_or_copy(p.text_file, target)
        else:
            with open(target, "w", encoding="utf-8") as fh:
                fh.write(p.read_text())


def write_index_files(
    directory: Path, chunks: Iterable[Chunk], records: Iterable[dict[str, Any]],
    tokenizer: Tokenizer, vectors: np.ndarray, backends: Mapping[str, Retriever],
    fields: dict[str, Any], folded: Sequence[str] | None = None,
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
        folded: Each row's folded text, when known (by default folded here).

    Returns:
        ``fields`` plus the tokenizer's, the chunk count and each backend's, ready for
        :func:`qa.index.store.finish_manifest`.
    """
    with open(directory / FOLDED, "w", encoding="utf-8") as out:

        def rows() -> Iterator[Chunk]:
            # The folded text is written in the same pass as the chunk store, one line a row.
            for chunk in chunks:
                out.write(fold_chunk(tokenizer, chunk))
                out.write("\n")
                yield chunk

        if folded is None:
            store = ChunkStore.write(directory, rows(), columns={"date": date_column})
        else:
            store = ChunkStore.write(directory, chunks, columns={"date": date_column})
            out.write("".join(line + "\n" for line in folded))
        count = len(store)
        store.close()
    if folded is not None and len(folded) != count:
        raise ValueError(f"{len(folded)} folded rows for {count} chunks")
    write_jsonl(directory / DOCS, records)
    write_json(directory / TERMS, tokenizer.stored())
    np.save(directory / VECTORS, vectors, allow_pickle=False)
    sections = {role: backend.save(directory) for role, backend in backends.items()}
    return {
        **fields,
        "tokenizer": {
            "config": tokenizer.config.to_dict(),
            "dictionary_hash": tokenizer.dictionary_hash(),
            "terms": len(tokenizer.words),
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

