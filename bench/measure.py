"""Small measuring helpers: latency percentiles, resident memory, sizes on disk."""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from qa.evaluation.metrics import percentile

T = TypeVar("T")


def _status_mb(*fields: str) -> dict[str, float]:
    """Fields of ``/proc/self/status`` (``VmRSS`` …) in MB; empty off Linux."""
    out: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            for line in fh:
                name = line.split(":", 1)[0]
                if name in fields:
                    out[name] = int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return out


def rss_mb() -> float:
    """This process's resident memory now, in MB (``VmRSS``; peak RSS off Linux)."""
    now = _status_mb("VmRSS")
    if now:
        return now["VmRSS"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # pragma: no cover
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024  # pragma: no cover


def rss_split_mb() -> dict[str, float]:
    """Resident memory split into its anonymous and file-backed parts, in MB.

    Anonymous is the heap; file-backed is memory-mapped index files (page cache the kernel
    can reclaim). Empty off Linux.
    """
    return {name[3:].lower(): mb for name, mb in _status_mb("RssAnon", "RssFile").items()}


def peak_mb(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """Call ``fn`` and return its result and how far it raised resident memory at its peak.

    The kernel's peak mark (``VmHWM``) is reset first (``/proc/self/clear_refs``), so the
    figure is the peak during the call less the resident memory before it, in MB. Memory
    freed earlier and reused by the call does not count; 0.0 where Linux does not say.
    """
    before = rss_mb()
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as fh:
            fh.write("5")
    except OSError:  # pragma: no cover - not Linux, or not allowed
        return fn(*args, **kwargs), 0.0
    result = fn(*args, **kwargs)
    peak = _status_mb("VmHWM").get("VmHWM", before)
    return result, max(peak - before, 0.0)


def disk_mb(directory: Path) -> float:
    """Total size of the files in ``directory`` (not recursive), in MB."""
    return sum(p.stat().st_size for p in Path(directory).iterdir() if p.is_file()) / 1e6


def timed_ms(fn: Callable[..., object], *args: Any, **kwargs: Any) -> float:
    """Wall time of one call ``fn(*args, **kwargs)``, in milliseconds."""
    start = time.perf_counter()
    fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000


def latency(prefix: str, times_ms: Sequence[float]) -> dict[str, float]:
    """``{prefix}/p50_ms``, ``p95_ms`` and ``qps`` of single-query timings."""
    t = np.asarray(times_ms, dtype=np.float64)
    return {
        f"{prefix}/p50_ms": float(percentile(list(times_ms), 50) or 0.0),
        f"{prefix}/p95_ms": float(percentile(list(times_ms), 95) or 0.0),
        f"{prefix}/qps": float(1000 * len(t) / t.sum()) if t.sum() > 0 else 0.0,
    }


def load_average() -> float:
    """The 1-minute load average (other work on the machine skews timings), or -1."""
    try:
        return float(os.getloadavg()[0])
    except OSError:  # pragma: no cover - not available
        return -1.0
