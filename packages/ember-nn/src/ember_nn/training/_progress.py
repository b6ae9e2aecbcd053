"""A dependency-free progress bar for training loops.

On a terminal it redraws one line per epoch (``\\r``); elsewhere (CI logs, pipes) it prints
one line when an epoch ends, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["ProgressBar"]


def _fmt(logs: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in logs.items())


class ProgressBar:
    """``bar.start(epoch)``, ``bar.update(n, logs)``, ``bar.finish(logs)`` for each epoch;
    ``steps`` None when an epoch's length is not known (a streaming dataset): ``12/?``."""

    def __init__(self, total_epochs: int, steps: int | None, *, stream: TextIO | None = None,
                 width: int = 24, enabled: bool = True) -> None:
        self.total_epochs, self.steps, self.width = total_epochs, steps, width
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._t0 = time.perf_counter()
        self._last = 0.0
        self.epoch = 0
        self._done = 0

    def start(self, epoch: int) -> None:
        self.epoch, self._t0, self._last, self._done = epoch, time.perf_counter(), 0.0, 0

    def _line(self, done: int, logs: dict[str, Any]) -> str:
        el = time.perf_counter() - self._t0
        if self.steps is None:
            return f"epoch {self.epoch + 1}/{self.total_epochs} {done}/? {el:.1f}s  {_fmt(logs)}"
        filled = int(self.width * done / max(self.steps, 1))
        bar = "#" * filled + "." * (self.width - filled)
        return (f"epoch {self.epoch + 1}/{self.total_epochs} [{bar}] {done}/{self.steps} "
                f"{el:.1f}s  {_fmt(logs)}")

    def update(self, done: int, logs: dict[str, Any]) -> None:
        self._done = done
        if not (self.enabled and self.tty):
            return
        now = time.perf_counter()
        if now - self._last < 0.1 and (self.steps is None or done < self.steps):
            return
        self._last = now
        self.stream.write("\r" + self._line(done, logs) + "\x1b[K")
        self.stream.flush()

    def finish(self, logs: dict[str, Any]) -> None:
        if not self.enabled:
            return
        done = self._done if self.steps is None else self.steps
        self.stream.write(("\r" if self.tty else "") + self._line(done, logs)
                          + ("\x1b[K" if self.tty else "") + "\n")
        self.stream.flush()
