"""Finding and reading the documents of a corpus directory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .clean import load_document
from .errors import CorpusError
from .store import file_sha256
from .types import Document

SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    path: Path
    reason: str


def discover(corpus: Path) -> list[Path]:
    """The document files under ``corpus``, sorted, hidden files left out.

    Raises:
        CorpusError: When ``corpus`` is not a directory.
    """
    if not corpus.is_dir():
        raise CorpusError(
            f"语料目录不存在 (corpus directory not found): {corpus}. "
            "Give an existing directory with --corpus."
        )
    return sorted(
        p
        for p in corpus.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(corpus).parts)
    )


def corpus_hashes(corpus: Path) -> dict[str, str]:
    """``{file name relative to corpus: sha256}`` for change detection."""
    return {p.relative_to(corpus).as_posix(): file_sha256(p) for p in discover(corpus)}


def load_corpus(
    corpus: Path, warn: Callable[[str], None] = lambda _msg: None
) -> tuple[list[Document], list[Skipped]]:
    """Read every document of ``corpus``; unreadable files are skipped and reported.

    Raises:
        CorpusError: When the directory is missing or no document could be read.
    """
    docs: list[Document] = []
    skipped: list[Skipped] = []
    seen: dict[str, Path] = {}
    for path in discover(corpus):
        try:
            doc = load_document(path)
        except (ValueError, OSError) as exc:
            skipped.append(Skipped(path, str(exc)))
            warn(f"跳过 (skipped) {path}: {exc}")
            continue
        if doc.doc_id in seen:
            reason = f"document id {doc.doc_id!r} already used by {seen[doc.doc_id]}"
            skipped.append(Skipped(path, reason))
            warn(f"跳过 (skipped) {path}: {reason}")
            continue
        seen[doc.doc_id] = path
        docs.append(doc)
    if not docs:
        found = f"; skipped: {', '.join(s.path.name for s in skipped)}" if skipped else ""
        raise CorpusError(
            f"语料中没有可读的文档 (no readable document in {corpus}; "
            f"looked for {', '.join(SUFFIXES)} files{found})."
        )
    return docs, skipped
