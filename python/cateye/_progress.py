"""Progress bars: shown in an interactive terminal or a notebook, silent otherwise."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

Progress = Callable[[str, int, int], None]


def _interactive() -> bool:
    if "ipykernel" in sys.modules:  # a Jupyter notebook or console
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class _Bar:
    """One line on stderr, rewritten in place: the stage, the work done, and the rate."""

    def __init__(self) -> None:
        self.stage = None
        self.started = time.monotonic()
        self.width = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            if self.stage is not None:
                sys.stderr.write("\n")
            self.stage, self.started = stage, time.monotonic()
        elapsed = time.monotonic() - self.started
        if total:
            filled = int(24 * min(done, total) / total)
            text = f"{stage}: [{'#' * filled}{'.' * (24 - filled)}] {done}/{total} ({elapsed:.1f} s)"
        else:
            text = f"{stage}: {done or ''} ({elapsed:.1f} s)"
        sys.stderr.write("\r" + text.ljust(self.width))
        self.width = len(text)
        sys.stderr.flush()

    def close(self) -> None:
        if self.stage is not None:
            sys.stderr.write("\n")
            sys.stderr.flush()


@contextmanager
def shown(progress: Any) -> Iterator[Optional[Progress]]:
    """The receiver that `progress` asks for (see :func:`resolve`), its bar closed afterwards."""
    bar = resolve(progress)
    try:
        yield bar
    finally:
        if isinstance(bar, _Bar):
            bar.close()


def resolve(progress: Any) -> Optional[Progress]:
    """`progress` as the engine calls it: None = a bar when interactive; True/False = always/never;
    a callable ``f(stage, done, total)`` is called as it is."""
    if callable(progress):
        return progress
    if progress is None:
        progress = _interactive()
    return _Bar() if progress else None
