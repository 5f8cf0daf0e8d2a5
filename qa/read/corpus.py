"""Finding the documents of a corpus: directories walked safely, every file not taken said why.

A directory is walked recursively in sorted order. Hidden files and folders are
left out silently, and so is the ``NAME_files`` folder a browser saves beside
``NAME.html``. Symbolic links are never followed out of the directory: a link
to a place outside it is reported and skipped; a link to a place inside is
skipped silently (its target is indexed where it is). A file with an
unsupported extension is reported and skipped.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from qa.errors import CorpusError
from qa.index.store import file_sha256
from qa.read.formats import MAX_BYTES, SUFFIXES, file_format, file_kind, unsupported_reason
from qa.text.clean import load_document
from qa.types import Document

__all__ = [
    "SUFFIXES",
    "Candidate",
    "Skipped",
    "corpus_hashes",
    "discover",
    "gather",
    "load_corpus",
    "scan",
]


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why (one line)."""

    path: Path
    reason: str

    def message(self) -> str:
        """The line printed for it."""
        return f"跳过 (skipped) {self.path}: {self.reason}"


@dataclass(frozen=True)
class Candidate:
    """A file to index.

    Attributes:
        path: The file, as found (under the directory given, or as given).
        name: How citations name it: relative to the directory given, or the
            file name for a file given directly.
    """

    path: Path
    name: str


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _link_skipped(link: Path, root: Path, real_root: Path) -> list[Skipped]:
    """Why a symbolic link in the corpus is not read: broken, a loop, or pointing outside."""
    target, problem = _link_target(link)
    if target is None:
        return [Skipped(link, problem)]
    if not _inside(target, real_root):
        return [Skipped(link, f"symbolic link to {target}, outside {root}; not followed")]
    return []


def _link_target(path: Path) -> tuple[Path | None, str]:
    """Where a symbolic link leads, or ``(None, why not)`` for a loop or a broken link."""
    try:
        return path.resolve(strict=True), ""
    except RuntimeError:  # Python < 3.13 reports a loop this way
        return None, "symbolic link loop"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "symbolic link loop"
        return None, "broken symbolic link"


def _not_regular(path: Path) -> str | None:
    """Why ``path`` (links followed) is not a regular file we can read, or ``None``."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        return f"cannot read it ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    return f"not a regular file but a {file_kind(mode)}; only regular files are read"


def scan(root: Path) -> tuple[list[Candidate], list[Skipped]]:
    """The supported files under ``root`` (sorted) and the files passed over, with reasons.

    Raises:
        CorpusError: When ``root`` is not a directory.
    """
    if not root.is_dir():
        raise CorpusError(
            f"语料目录不存在 (corpus directory not found): {root}. "
            "Give an existing directory with --corpus."
        )
    real_root = root.resolve()
    found: list[Candidate] = []
    skipped: list[Skipped] = []

    def unreadable(err: OSError) -> None:
        skipped.append(Skipped(Path(err.filename or root), f"cannot read it ({err.strerror})"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        here = Path(dirpath)
        pages = {Path(f).stem for f in filenames if file_format(Path(f)) == "html"}
        keep = []
        for name in sorted(dirnames):
            sub = here / name
            if name.startswith(".") or (name.endswith("_files") and name[:-6] in pages):
                continue
            if sub.is_symlink():
                skipped.extend(_link_skipped(sub, root, real_root))
                continue
            keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            path = here / name
            if name.startswith("."):
                continue
            if path.is_symlink():
                # A link inside the corpus is read where it points (the walk reaches it there).
                skipped.extend(_link_skipped(path, root, real_root))
                continue
            if file_format(path) is None:
                skipped.append(Skipped(path, unsupported_reason(path)))
                continue
            irregular = _not_regular(path)
            if irregular:
                skipped.append(Skipped(path, irregular))
                continue
            found.append(Candidate(path, path.relative_to(root).as_posix()))
    found.sort(key=lambda c: c.name)
    skipped.sort(key=lambda s: str(s.path))
    return found, skipped


def gather(paths: Iterable[Path]) -> tuple[list[Candidate], list[Skipped]]:
    """Files and directories given by a user → files to index and files passed over.

    A directory contributes :func:`scan`'s files; a file is taken as given
    (following it if it is a link, since the user named it).
    """
    found: list[Candidate] = []
    skipped: list[Skipped] = []
    for path in map(Path, paths):
        problem = _not_regular(path)
        if path.is_dir():
            more, passed = scan(path)
            found += more
            skipped += passed
        elif not path.exists() and not path.is_symlink():
            skipped.append(Skipped(path, "no such file or directory"))
        elif path.is_symlink() and _link_target(path)[0] is None:
            skipped.append(Skipped(path, _link_target(path)[1]))
        elif file_format(path) is None:
            skipped.append(Skipped(path, unsupported_reason(path)))
        elif problem:
            skipped.append(Skipped(path, problem))
        else:
            found.append(Candidate(path, path.name))
    return found, skipped


def discover(corpus: Path) -> list[Path]:
    """The supported document files under ``corpus``, sorted (see :func:`scan`).

    Raises:
        CorpusError: When ``corpus`` is not a directory.
    """
    return [c.path for c in scan(corpus)[0]]


def corpus_hashes(corpus: Path) -> dict[str, str]:
    """``{file name relative to corpus: sha256}`` for change detection.

    Files over the size limit are recorded by size instead (they are skipped anyway).
    """
    out = {}
    for c in scan(corpus)[0]:
        size = c.path.stat().st_size
        out[c.name] = f"size:{size}" if size > MAX_BYTES else file_sha256(c.path)
    return out


def load_corpus(
    corpus: Path, warn: Callable[[str], None] = lambda _msg: None
) -> tuple[list[Document], list[Skipped]]:
    """Read every document of ``corpus``; unreadable files are skipped and reported.

    Raises:
        CorpusError: When the directory is missing or no document could be read.
    """
    found, skipped = scan(corpus)
    for s in skipped:
        warn(s.message())
    docs: list[Document] = []
    seen: dict[str, Path] = {}
    for cand in found:
        path = cand.path
        reason = None
        if path.stem in seen:
            reason = f"document id {path.stem!r} already used by {seen[path.stem]}"
        else:
            try:
                doc = load_document(path)
            except (ValueError, OSError) as exc:
                reason = getattr(exc, "reason", str(exc))
        if reason is not None:
            skipped.append(Skipped(path, reason))
            warn(skipped[-1].message())
            continue
        seen[doc.doc_id] = path
        docs.append(doc)
    if not docs:
        raise no_documents(corpus, skipped)
    return docs, skipped


def no_documents(corpus: Path, skipped: list[Skipped]) -> CorpusError:
    """The error for a corpus in which nothing could be read."""
    found = f"; skipped: {', '.join(s.path.name for s in skipped)}" if skipped else ""
    return CorpusError(
        f"语料中没有可读的文档 (no readable document in {corpus}; "
        f"looked for {', '.join(SUFFIXES)} files{found})."
    )
