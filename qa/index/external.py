"""Writes that reach outside the index directory: a Milvus collection beside the versions.

The index directory commits atomically (:mod:`qa.index.commit`); a collection on a server
cannot take part in that rename. So a write to an index whose backend is external goes:

1. under the lock, write ``PENDING.json`` (``fsync``-ed) naming the collection and the
   documents this write changes — before Milvus is touched;
2. upsert those documents' chunks, then delete their stale ones (idempotent);
3. write and commit the new version directory as for a local index;
4. remove ``PENDING.json``.

A crash before 4 leaves ``PENDING.json``. The committed version is then the old one while
the collection may already hold the new chunks: readers drop ids their chunk store does
not know (so answers stay those of the committed version, perhaps with fewer passages),
and the next write adds the pending documents to its own changes, making the collection
match what it commits — whatever the crashed write was. A crashed build into a *new*
collection leaves one no version names; the next write drops it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qa.config import BackendConfig, Settings
from qa.errors import QAError
from qa.index.records import Part
from qa.index.store import current_version

PENDING = "PENDING.json"


def new_collection_name() -> str:
    """A collection name no other index uses (Milvus: letters, digits, underscores)."""
    return f"qa_{uuid.uuid4().hex[:16]}"


def committed_backend(index: Path) -> BackendConfig | None:
    """The backend settings of the committed version (``None``: no readable index)."""
    try:
        _, manifest = current_version(index)
        return Settings.from_dict(manifest.settings).backend
    except (QAError, ValueError, KeyError, TypeError):
        return None


def same_collection(a: BackendConfig | None, b: BackendConfig | None) -> bool:
    """Whether two backend settings name the same external collection."""
    return (a is not None and b is not None and a.kind == b.kind != "local"
            and (a.milvus_uri, a.milvus_collection) == (b.milvus_uri, b.milvus_collection))


def changed_documents(previous: Mapping[str, Part], parts: Mapping[str, Part]) -> set[str]:
    """Documents added, removed, or whose content or chunks differ between two versions."""
    changed = set(previous).symmetric_difference(parts)
    for doc in set(previous) & set(parts):
        old, new = previous[doc], parts[doc]
        if old is new:
            continue  # kept from the committed version as it is (no chunk need be read)
        if old.record.sha256 != new.record.sha256 or \
                [c.id for c in old.chunks] != [c.id for c in new.chunks]:
            changed.add(doc)
    return changed


def held_ids(previous: Mapping[str, Part], changed: frozenset[str], pending: set[str]
             ) -> dict[str, tuple[str, ...]]:
    """What the collection holds for each changed document no crashed write left pending.

    A committed version and its collection agree (every write goes through the journal
    above), so those documents' rows are the committed chunks (none for a new document)
    and need not be looked up; a pending document's rows are unknown.
    """
    return {doc: tuple(c.id for c in previous[doc].chunks) if doc in previous else ()
            for doc in changed - pending}


def read_pending(index: Path) -> dict[str, Any] | None:
    """What a crashed write left in ``PENDING.json`` (``None``: nothing)."""
    try:
        data = json.loads((index / PENDING).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"uri": "", "collection": "", "docs": [], "fresh": False, "unreadable": True}
    return data if isinstance(data, dict) else None


def begin(index: Path, backend: BackendConfig, docs: set[str] | None) -> None:
    """Record, durably, what this write is about to change in the collection.

    Args:
        index: The index directory (lock held).
        backend: The collection written to.
        docs: The documents it changes; ``None`` for a new collection (all of them).
    """
    data = {"uri": backend.milvus_uri, "collection": backend.milvus_collection,
            "docs": sorted(docs or ()), "fresh": docs is None}
    tmp = index / f"{PENDING}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index / PENDING)
    fd = os.open(index, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def finish(index: Path) -> None:
    """The write is committed: nothing is pending any more."""
    (index / PENDING).unlink(missing_ok=True)


def pending_docs(index: Path, backend: BackendConfig) -> set[str] | None:
    """Documents a crashed write may have left half-written in this collection.

    ``None``: ``PENDING.json`` is unreadable, so any document may be.
    """
    pending = read_pending(index)
    if pending is not None and pending.get("unreadable"):
        return None
    if pending is None or pending.get("fresh"):
        return set()
    if (pending.get("uri"), pending.get("collection")) != (backend.milvus_uri,
                                                            backend.milvus_collection):
        return set()
    return {str(d) for d in pending.get("docs", [])}


def orphan(index: Path, committed: BackendConfig | None) -> BackendConfig | None:
    """A collection a crashed build created that no version names (to drop), if any."""
    pending = read_pending(index)
    if pending is None or not pending.get("fresh") or not pending.get("collection"):
        return None
    left = BackendConfig(kind="milvus", milvus_uri=str(pending["uri"]),
                         milvus_collection=str(pending["collection"]))
    return None if same_collection(left, committed) else left


def reach(backend: BackendConfig) -> None:
    """Connect before any work, so an unreachable server fails in a second, not after embedding.

    Raises:
        BackendError: When the server cannot be reached or refuses the token.
    """
    if backend.kind == "local":
        return
    from qa.retrieval.milvus_store import MilvusCollection

    MilvusCollection(backend).exists()


def drop(backend: BackendConfig, warn: Any) -> None:
    """Drop a collection no version needs any more; a failure is one warning line."""
    from qa.retrieval.milvus_store import MilvusCollection

    collection = MilvusCollection(backend)
    try:
        if collection.exists():
            collection.drop()
    except QAError as exc:
        warn(f"注意 (note): collection {backend.milvus_collection} was not dropped ({exc}); "
             "drop it by hand when the server is back.")
