"""The BM25 index on disk: its five files, written and read back with every check.

:meth:`qa.retrieval.bm25_matrix.BM25Index.save` and :meth:`~qa.retrieval.bm25_matrix.BM25Index.load`
call these. The arrays are ``.npy`` files (``allow_pickle=False``, memory-mappable); the
vocabulary and parameters are UTF-8 JSON. Every error names the file it is about.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
VOCAB_FILE = "bm25_vocab.json"
DATA_FILE = "bm25_data.npy"
INDICES_FILE = "bm25_indices.npy"
INDPTR_FILE = "bm25_indptr.npy"
PARAMS_FILE = "bm25_params.json"
# Each posting's term frequency, beside its weight: a segmented index scores from it.
TF_FILE = "bm25_tf.npy"


def write_files(
    directory: Path, vocab: dict[str, int], arrays: dict[str, np.ndarray], params: dict[str, Any]
) -> None:
    """Write the three arrays, the vocabulary and ``params`` (plus the format version).

    Args:
        directory: Where to write (created if needed).
        vocab: Token → term id.
        arrays: ``data``, ``indices`` and ``indptr``.
        params: What :func:`read_files` hands back, e.g. the configuration and ``n_docs``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, file in (("data", DATA_FILE), ("indices", INDICES_FILE), ("indptr", INDPTR_FILE)):
        np.save(directory / file, arrays[name], allow_pickle=False)
    _write_json(directory / VOCAB_FILE, vocab)
    _write_json(directory / PARAMS_FILE, {"format_version": FORMAT_VERSION, **params})


def read_params(directory: Path) -> dict[str, Any]:
    """Read ``bm25_params.json`` and check its format version.

    Raises:
        ValueError: If the file is missing, corrupt or of another format version.
    """
    params = _read_json(Path(directory) / PARAMS_FILE)
    if not isinstance(params, dict) or params.get("format_version") != FORMAT_VERSION:
        version = params.get("format_version") if isinstance(params, dict) else None
        raise ValueError(f"{PARAMS_FILE}: format version {version!r}, expected {FORMAT_VERSION}")
    return params


def read_arrays(
    directory: Path, n_docs: int, mmap: bool, scan_limit: int | None = None
) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """Read the vocabulary and the three arrays, checked against each other.

    Args:
        directory: The index directory.
        n_docs: Documents the parameters say the index holds.
        mmap: Memory-map the arrays read-only instead of reading them into memory.
        scan_limit: Scan every posting's document id (which reads the whole file) only if
            there are at most this many postings; ``None``: always.

    Returns:
        ``(vocab, data, indices, indptr)``.

    Raises:
        ValueError: If a file is missing, truncated or inconsistent with the others.
    """
    directory = Path(directory)
    vocab = _read_json(directory / VOCAB_FILE)
    mode = "r" if mmap else None
    data = _read_array(directory / DATA_FILE, mode, np.floating)
    indices = _read_array(directory / INDICES_FILE, mode, np.integer)
    indptr = _read_array(directory / INDPTR_FILE, mode, np.integer)
    check_ids = scan_limit is None or len(indices) <= scan_limit
    _check_consistent(vocab, data, indices, indptr, n_docs, check_ids=check_ids)
    return vocab, data, indices, indptr


def _write_json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False)


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise ValueError(f"{path.name} is missing from {path.parent}")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(f"{path.name} is corrupt: {exc}") from exc


def _read_array(path: Path, mmap_mode: str | None, kind: type) -> np.ndarray:
    if not path.is_file():
        raise ValueError(f"{path.name} is missing from {path.parent}")
    try:
        array = np.load(path, allow_pickle=False, mmap_mode=mmap_mode)  # type: ignore[arg-type]
    except (OSError, ValueError, EOFError) as exc:  # truncated header/body, not a .npy file
        raise ValueError(f"{path.name} is corrupt or truncated: {exc}") from exc
    if not isinstance(array, np.ndarray) or array.ndim != 1 or not np.issubdtype(array.dtype, kind):
        raise ValueError(f"{path.name} is corrupt: expected a 1-d {kind.__name__} array")
    return array


def _check_consistent(
    vocab: Any,
    data: np.ndarray,
    indices: np.ndarray,
    indptr: np.ndarray,
    n_docs: int,
    check_ids: bool = True,
) -> None:
    """Raise ValueError naming the file that disagrees with the others."""
    ids = list(vocab.values()) if isinstance(vocab, dict) else None
    if ids is None or not all(type(i) is int for i in ids) or sorted(ids) != list(range(len(ids))):
        raise ValueError(f"{VOCAB_FILE} is corrupt: term ids must be 0..n-1, each once")
    if len(indptr) != len(vocab) + 1:
        raise ValueError(
            f"{INDPTR_FILE} has {len(indptr)} entries but {VOCAB_FILE} has {len(vocab)} terms "
            f"(expected {len(vocab) + 1})"
        )
    if len(indptr) and (indptr[0] != 0 or np.any(np.diff(indptr) < 0)):
        raise ValueError(f"{INDPTR_FILE} is corrupt: must start at 0 and never decrease")
    nnz = int(indptr[-1]) if len(indptr) else 0
    if len(indices) != nnz:
        raise ValueError(f"{INDICES_FILE} has {len(indices)} entries, {INDPTR_FILE} says {nnz}")
    if len(data) != nnz:
        raise ValueError(f"{DATA_FILE} has {len(data)} entries, {INDPTR_FILE} says {nnz}")
    if check_ids and nnz and (int(indices.min()) < 0 or int(indices.max()) >= n_docs):
        raise ValueError(f"{INDICES_FILE} is corrupt: document ids outside 0..{n_docs - 1}")
