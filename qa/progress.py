"""Progress bars on stderr: a live bar on a terminal, a line now and then elsewhere.

When stderr is a file or a pipe (a CI log, ``2> build.log``), a redrawn bar becomes one
long line of carriage returns that shows nothing until the end; there each update is
written as its own line (stage, count, rate, time left), at most every
:data:`LINE_INTERVAL` seconds, and only for a stage that has run :data:`QUIET_FOR` seconds:
a quick ``qa add`` in a script prints nothing but what it reports (skipped files).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

from tqdm import tqdm

LINE_INTERVAL = 10.0
QUIET_FOR = 2.0


class _Lines:
    """A file for tqdm that turns redraws into lines.

    None before ``QUIET_FOR`` seconds, then one every ``LINE_INTERVAL`` seconds, and the last
    one (the stage done).
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.start = time.monotonic()
        self.last: float | None = None
        self.bar: tqdm | None = None
        self.finished = False  # the stage's last line is written (tqdm redraws it on close)

    def write(self, text: str) -> int:
        line = text.replace("\r", "").strip()
        if not line:
            return len(text)
        now = time.monotonic()
        bar = self.bar
        done = bar is not None and bar.total is not None and bar.n >= bar.total
        if self.finished or now - self.start < QUIET_FOR:
            return len(text)
        if self.last is None or done or now - self.last >= LINE_INTERVAL:
            self.stream.write(line + "\n")
            self.last = now
            self.finished = done
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def bar(
    iterable: Iterable[Any] | None = None, *, total: int | None = None, desc: str,
    unit: str, enabled: bool,
) -> tqdm:
    """A tqdm bar on stderr (disabled unless ``enabled``)."""
    stream = sys.stderr
    if not enabled:
        return tqdm(iterable, total=total, disable=True)
    if stream.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream)
    lines = _Lines(stream)
    shown = tqdm(iterable, total=total, desc=desc, unit=unit, file=lines,
                 mininterval=min(QUIET_FOR, LINE_INTERVAL), ascii=True, ncols=80)
    lines.bar = shown
    return shown
