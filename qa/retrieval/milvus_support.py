"""Reaching Milvus: URIs (a milvus-lite file or a server), tokens, errors, filters, analyzer.

Every failure of the client library is turned here into a one-line
:class:`~qa.errors.BackendError` or :class:`~qa.errors.IndexUnusableError` that says what to
do; a :class:`~qa.retrieval.base.Filter` becomes a Milvus filter expression; our dictionary and
stopwords become the jieba analyzer's parameters.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.config import BackendConfig
from qa.errors import BackendError
from qa.retrieval.base import Filter

TOKEN_ENV = "QA_MILVUS_TOKEN"
_TEXT_BYTES = 65_535
_NAME_BYTES = 4_096
_ID_BYTES = 128
_DOC_BYTES = 1_024
_UPSERT_BATCH = 1_000
_DOC_GROUP = 200  # documents per lookup of their rows: a short filter expression
# Punctuation the jieba analyzer would otherwise make tokens of (ours drops any token
# without a letter or digit); Milvus's stop filter takes a word list only.
PUNCTUATION = tuple("，。、；：？！“”‘’（）《》【】〔〕…—·「」『』"
                    ",.;:?!\"'()[]<>{}-_/\\|%+*=~#@&^$`")
INSTALL = 'pip install -e ".[milvus]"  (pymilvus==3.0.2, milvus-lite==3.2.2)'


def _client_module() -> Any:
    try:
        import pymilvus
    except ImportError as exc:  # an optional dependency: say how to get it
        raise BackendError(f"the Milvus backend needs pymilvus: {INSTALL}") from exc
    return pymilvus


def is_local(uri: str) -> bool:
    """Whether ``uri`` names a milvus-lite file rather than a server."""
    return not uri.startswith(("http://", "https://", "tcp://", "unix:"))


def resolve_uri(uri: str) -> str:
    """A milvus-lite path made absolute (later commands may run elsewhere); a server as is."""
    return str(Path(uri).expanduser().resolve()) if is_local(uri) else uri


def _locked_elsewhere(path: Path) -> bool:
    """Whether another process holds milvus-lite's lock on the data directory ``path``."""
    import fcntl

    from milvus_lite.server_manager import server_manager_instance

    if str(path.resolve()) in getattr(server_manager_instance, "_servers", {}):
        return False  # this process has it open: reused
    lock = path / "LOCK"  # milvus_lite.db.LOCK_FILENAME
    if not lock.is_file():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def _token(config: BackendConfig) -> str:
    return config.milvus_token or os.environ.get(TOKEN_ENV, "")


def _quiet_client_logs() -> None:
    # pymilvus logs every failed call with a traceback at ERROR level before raising;
    # we raise one line instead. Only when the user has not configured these loggers.
    # milvus-lite's analyzer imports jieba, which logs its dictionary loading at DEBUG.
    with contextlib.suppress(ImportError):
        import jieba  # noqa: F401  (so its own logger set-up happens before ours)
    for name, own in (("pymilvus.decorators", logging.NOTSET), ("jieba", logging.DEBUG),
                      ("milvus_lite.server_manager", logging.NOTSET)):
        logger = logging.getLogger(name)
        if logger.level == own:
            logger.setLevel(logging.CRITICAL)


def _problem(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(message).split())


def explain(exc: BaseException, config: BackendConfig, collection: str = "") -> BackendError:
    """A client failure as one line: what happened and what to do.

    Args:
        exc: What pymilvus (or gRPC underneath it) raised.
        config: The connection settings (uri, timeout).
        collection: The collection the call was about, when there is one.
    """
    problem = _problem(exc)
    lowered = problem.lower()
    uri = config.milvus_uri
    if any(w in lowered for w in ("auth", "credential", "unauthenticated", "permission denied",
                                  "password", "token")):
        return BackendError(
            f"Milvus 拒绝了凭据 (Milvus at {uri} refused the credentials: {problem}). Give the "
            f"right token with --milvus-token (build) or the {TOKEN_ENV} environment variable."
        )
    if any(w in lowered for w in ("deadline", "timeout", "timed out")):
        return BackendError(
            f"Milvus 超时 (Milvus at {uri} did not answer within {config.milvus_timeout:g} s: "
            f"{problem}). Check the server's load, or raise BackendConfig.milvus_timeout."
        )
    if any(w in lowered for w in ("fail connecting", "unavailable", "connection refused",
                                  "failed to connect", "open local milvus failed")):
        return BackendError(
            f"无法连接 Milvus (cannot reach Milvus at {uri}: {problem}). Start the server "
            "(see README, “Milvus”) or fix --milvus-uri."
        )
    what = f" on collection {collection}" if collection else ""
    return BackendError(f"Milvus 出错 (Milvus at {uri} failed{what}: {problem}).")


def expression(where: Filter | None) -> str:
    """A :class:`Filter` as a Milvus boolean expression (``""``: everything).

    Example:
        >>> expression(Filter(docs=("a",), since=20250101))
        'doc in ["a"] and date >= 20250101'
    """
    if where is None:
        return ""
    parts = []
    if where.docs is not None:
        parts.append(f"doc in [{', '.join(json.dumps(d, ensure_ascii=False) for d in where.docs)}]")
    if where.since is not None:
        parts.append(f"date >= {int(where.since)}")
    if where.until is not None:
        parts.append(f"date >= 1 and date <= {int(where.until)}")
    return " and ".join(parts)


def _clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (Milvus measures VARCHARs in bytes)."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


def analyzer_params(terms: Sequence[str], stopwords: Sequence[str]) -> dict[str, Any]:
    """Jieba in search mode with our dictionary, stopwords and punctuation dropped.

    ``_default_`` keeps jieba's own dictionary on a Milvus server (there the ``dict`` list
    replaces it otherwise; milvus-lite adds the words to it either way).
    """
    words = sorted({t.split()[0] for t in terms if t.strip()})
    stop = sorted({*stopwords, *PUNCTUATION})
    return {"tokenizer": {"type": "jieba", "mode": "search", "dict": ["_default_", *words]},
            "filter": ["lowercase", {"type": "stop", "stop_words": stop}]}
