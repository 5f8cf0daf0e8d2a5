"""Progress bars on stderr: a live bar on a terminal, a line now and then elsewhere.

When stderr is a file or a pipe (a CI log, ``2> build.log``), a redrawn bar becomes one
long line of carriage returns that shows nothing until the end; there each update is
written as its own line, at most every :data:`LINE_INTERVAL` seconds.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TextIO

from tqdm import tqdm

LINE_INTERVAL = 10.0


class _Lines:
    """A file for tqdm that turns each redraw into one line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        line = text.replace("\r", "").strip()
        if line:
            self.stream.write(line + "\n")
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
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=_Lines(stream),
                mininterval=LINE_INTERVAL, ascii=True, ncols=80)
