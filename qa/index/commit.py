"""Commits of an index directory: one writer at a time, a pointer file, checksums.

The way storage engines commit (LevelDB's ``CURRENT``, Lucene's ``segments_N``)::

    index/
      CURRENT          "v-000007 <xxh3-128 of v-000007/manifest.json>": the committed version
      LOCK             held (``fcntl.flock``) by the one writer; it records the writer's pid
      v-000007/        the committed version: manifest.json and every file it lists
      v-000006/        the version before, kept until the next write so that a reader that
                       has just read CURRENT can still open it
      .gitignore, README.md   not ours, left alone

A writer takes ``LOCK`` (waiting, or failing at once with ``wait=False``), removes what a
crashed writer left (versions newer than the committed one, versions older than the one
before it, a half-written ``CURRENT.tmp``), writes a new version directory, ``fsync``-s every
file in it and the directory, and publishes it by writing ``CURRENT.tmp``, ``fsync``-ing it
and renaming it over ``CURRENT`` (then ``fsync``-ing the index directory). A rename is atomic,
so at every instant ``CURRENT`` names a complete, synced version: a crash before the rename
leaves the old version current, one after it the new one. Readers never take the lock.

Files that do not change between versions are hard-linked into the new version (see
:func:`qa.index.store.link_or_copy`), so a version costs only the files that changed. That is what
lets a later segment layout (add-only segments plus tombstones, merged now and then) fit in
the same scheme: a version is the set of files its manifest lists, with their checksums.

Every file a manifest lists carries an xxh3-128 checksum (about 8 GB/s from memory);
:func:`verify` checks them, and ``CURRENT`` carries the manifest's own.

Test hook: the environment variable ``QA_FAULT_POINT`` set to one of :data:`FAULT_POINTS`
makes the writer kill itself with ``SIGKILL`` when it reaches that phase
(``tests/test_faults.py`` uses it to prove that a crash at any phase loses nothing).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import xxhash

from qa.errors import IndexUnusableError, QAError

CURRENT = "CURRENT"
LOCK = "LOCK"
MANIFEST = "manifest.json"
NOT_OURS = (".gitignore", "README.md")
_VERSION = re.compile(r"v-(\d{6,})")
_POINTER = re.compile(r"(v-\d{6,}) ([0-9a-f]{32})\n?")
# Where the writer may be killed on purpose (QA_FAULT_POINT), in the order it passes them.
FAULT_POINTS = ("locked", "writing", "written", "synced", "published")


class IndexBusyError(QAError):
    """Another process is writing the index and the caller chose not to wait."""


def fault_point(phase: str) -> None:
    """Test hook: die here (``SIGKILL``, no cleanup) when ``QA_FAULT_POINT`` names ``phase``."""
    if os.environ.get("QA_FAULT_POINT") == phase:
        os.kill(os.getpid(), signal.SIGKILL)


def rebuild_hint(index: Path) -> str:
    """The command that fixes a broken or outdated index."""
    return f"qa build --rebuild --index {index}"


def damaged(index: Path, problem: str) -> IndexUnusableError:
    """One-line error naming the problem and the fix."""
    return IndexUnusableError(
        f"索引不可用 (index unusable): {problem}. Run: {rebuild_hint(index)}"
    )


# ------------------------------------------------------------------ checksums
def checksum(path: str | Path) -> str:
    """Hex xxh3-128 of a file's bytes."""
    with open(path, "rb") as fh:
        first = fh.read(1 << 22)
        if len(first) < 1 << 22:  # most files: one read, one call
            return xxhash.xxh3_128_hexdigest(first)
        digest = xxhash.xxh3_128(first)
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(
    data: Path, checksums: dict[str, str], index: Path, max_file_bytes: int | None = None
) -> int:
    """Check every listed file against its checksum; returns the bytes checked.

    Args:
        data: The version directory the names are relative to.
        checksums: ``{relative name: xxh3-128 hex}`` from the manifest.
        index: The index directory, for the message.
        max_file_bytes: Skip files larger than this (a cheap check at load); ``None``: all.

    Raises:
        IndexUnusableError: Naming the first file that does not match, and the fix.
    """
    done = 0
    root = str(data)
    for name, expected in checksums.items():
        path = os.path.join(root, name)  # str paths: pathlib costs more than xxh3 on small files
        try:
            size = os.stat(path).st_size
            if max_file_bytes is not None and size > max_file_bytes:
                continue
            actual = checksum(path)
        except OSError as exc:
            raise damaged(index, f"{path} cannot be read ({exc.strerror or exc})") from exc
        if actual != expected:
            raise damaged(index, f"{path} is damaged (its checksum does not match the manifest)")
        done += size
    return done


# ------------------------------------------------------------------ reading the pointer
def version_number(name: str) -> int | None:
    """``v-000007`` → 7; ``None`` for any other name."""
    match = _VERSION.fullmatch(name)
    return int(match.group(1)) if match else None


def read_pointer(index: Path) -> tuple[str, str] | None:
    """``(version directory name, manifest checksum)`` from ``CURRENT``; ``None`` if absent.

    Raises:
        IndexUnusableError: When ``CURRENT`` is not what a writer writes.
    """
    try:
        text = (index / CURRENT).read_bytes().decode("ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise damaged(index, f"{index / CURRENT} is unreadable or damaged") from exc
    match = _POINTER.fullmatch(text)
    if not match:
        raise damaged(index, f"{index / CURRENT} is damaged (expected 'v-NNNNNN CHECKSUM')")
    return match.group(1), match.group(2)


def is_vacant(index: Path) -> bool:
    """True when ``index`` holds no index.

    That is: missing, or only our lock, files that are not ours and versions no commit ever
    named (what a first build that crashed leaves).
    """
    if not index.exists():
        return True
    if not index.is_dir():
        return False
    return all(
        p.name in NOT_OURS or p.name in (LOCK, f"{CURRENT}.tmp")
        or (version_number(p.name) is not None and p.is_dir())
        for p in index.iterdir()
    ) and not (index / CURRENT).exists()


def data_dir(index: Path) -> tuple[Path, str | None]:
    """The committed version directory of ``index`` and the manifest checksum to expect.

    An index written by :func:`qa.index.store.finish_manifest` straight into a directory (no
    ``CURRENT``; the benchmark writes those) is its own data directory, without the checksum.

    Raises:
        IndexUnusableError: For a missing index (naming ``qa build``), or an incomplete one.
    """
    if not index.is_dir():
        raise IndexUnusableError(
            f"索引不存在 (no index at {index}). Run: qa build --corpus DIR --index {index}"
        )
    pointer = read_pointer(index)
    if pointer is None:
        if (index / MANIFEST).is_file():
            return index, None
        if is_vacant(index):
            raise IndexUnusableError(
                f"索引不存在 (no index at {index}: the directory holds none). "
                f"Run: qa build --corpus DIR --index {index}"
            )
        raise damaged(index, f"{index} is incomplete ({CURRENT} and {MANIFEST} are missing)")
    name, manifest_sum = pointer
    data = index / name
    if not (data / MANIFEST).is_file():
        raise damaged(index, f"{CURRENT} names {name}, but {data / MANIFEST} is missing")
    return data, manifest_sum


# ------------------------------------------------------------------ the writer's lock
def _holder(lock: Path) -> str:
    try:
        pid = lock.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    return f", pid {pid}" if pid.isdigit() else ""


@contextmanager
def writing(
    index: Path, wait: bool = True, log: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the index's write lock for the block (creating the index directory if needed).

    Args:
        index: The index directory.
        wait: Wait for another writer to finish; ``False`` fails at once instead.
        log: Told once when the lock is taken and we must wait.

    Raises:
        IndexBusyError: When another process holds the lock and ``wait`` is false.
    """
    index.mkdir(parents=True, exist_ok=True)
    path = index / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            holder = _holder(path)
            if not wait:
                raise IndexBusyError(
                    f"索引正在被写入 (index {index} is being written by another process"
                    f"{holder}): try again when it has finished, or leave out --no-wait to "
                    "wait for it."
                ) from None
            if log is not None:
                log(f"等待另一个写入完成 (waiting for another process writing {index}{holder})…")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        fault_point("locked")
        yield
    finally:
        os.close(fd)  # closing releases the lock


# ------------------------------------------------------------------ writing a version
def _versions(index: Path) -> dict[int, Path]:
    return {
        n: p for p in index.iterdir()
        if (n := version_number(p.name)) is not None and p.is_dir()
    }


def clean_stale(index: Path) -> None:
    """Remove what crashed writers left; call with the lock held.

    Versions newer than the committed one were never committed; versions older than the
    one before the committed one are no longer readable through ``CURRENT``.
    """
    try:
        pointer = read_pointer(index)
    except IndexUnusableError:
        return  # a damaged pointer: keep every version until a rebuild replaces it
    (index / f"{CURRENT}.tmp").unlink(missing_ok=True)
    versions = _versions(index)
    current = version_number(pointer[0]) if pointer is not None else None
    older = [n for n in versions if current is not None and n < current]
    keep = {current, max(older)} if older else {current}
    for n, path in versions.items():
        if n not in keep:
            shutil.rmtree(path, ignore_errors=True)
    # Leftovers of writers before versioned directories (beside the index).
    if index.parent.is_dir():
        for p in index.parent.glob(f".{index.name}.building-*"):
            shutil.rmtree(p, ignore_errors=True)


def new_version(index: Path) -> Path:
    """Create the next version directory (after removing stale ones); call with the lock held."""
    clean_stale(index)
    versions = _versions(index)
    path = index / f"v-{max(versions, default=0) + 1:06d}"
    path.mkdir()
    return path


def _fsync(path: str | Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_tree(root: Path) -> None:
    """``fsync`` every file and directory under ``root``, then ``root`` itself.

    A file with more than one link is an earlier version's, linked into this one
    (:func:`qa.index.store.link_or_copy`): that version's commit synced its data already.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                _fsync(path)
        for name in dirnames:
            _fsync(os.path.join(dirpath, name), directory=True)
    _fsync(root, directory=True)


def publish(index: Path, version: Path) -> None:
    """Make ``version`` (complete, manifest written) the committed one, durably and atomically.

    Call with the lock held. Afterwards only it and the version before remain.
    """
    fault_point("written")
    sync_tree(version)
    fault_point("synced")
    tmp = index / f"{CURRENT}.tmp"
    with open(tmp, "w", encoding="ascii") as fh:
        fh.write(f"{version.name} {checksum(version / MANIFEST)}\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index / CURRENT)
    _fsync(index, directory=True)
    fault_point("published")
    _drop_flat(index)
    clean_stale(index)


def _drop_flat(index: Path) -> None:
    """Remove the files of an index written straight into the directory (before versions)."""
    flat = index / MANIFEST
    if not flat.is_file():
        return
    try:
        names = list(json.loads(flat.read_text(encoding="utf-8")).get("files", {}))
    except (OSError, ValueError, AttributeError):
        names = []
    for name in names:
        if not Path(name).is_absolute() and ".." not in Path(name).parts:
            (index / name).unlink(missing_ok=True)
    for sub in {Path(n).parts[0] for n in names if len(Path(n).parts) > 1}:
        with contextlib.suppress(OSError):
            (index / sub).rmdir()
    flat.unlink()


def discard(version: Path) -> None:
    """Remove an unfinished version directory."""
    shutil.rmtree(version, ignore_errors=True)
