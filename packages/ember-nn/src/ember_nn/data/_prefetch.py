"""``prefetch``: a background thread producing elements ahead into a bounded queue."""

from __future__ import annotations

import contextlib
import contextvars
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

from ._dataset import Dataset, Stage, close_iterator
from ._errors import DataError, stage_error
from ._sources import settle
from ._stages import positive_int

__all__ = ["Prefetch"]

_ITEM, _END, _ERROR = 0, 1, 2
#: how long closing an iterator waits for its thread to finish the element in hand (seconds);
#: a thread still busy after that is left to end on its own (it is a daemon and stops at its
#: next element)
JOIN_TIMEOUT = 10.0


class Prefetch(Stage):
    """Elements produced up to ``buffer_size`` ahead by a background thread.

    The thread runs in the iterating code's context (its default backend, ``use_backend``
    scopes) and starts with the first element asked for. An exception in any stage before
    this one is re-raised in the consumer (the same ``DataError``, naming the stage and the
    sample). Ending the iteration early (a ``break``, ``take``, ``close()``, an error in the
    consumer) stops the thread and closes the stages before it.
    """

    def __init__(self, parent: Dataset, buffer_size: int) -> None:
        super().__init__(parent)
        self.buffer_size = positive_int("prefetch", "buffer_size", buffer_size)

    def _describe(self) -> str:
        return f"prefetch({self.buffer_size})"

    def _iterate(self, epoch: int) -> Iterator[Any]:
        parent = self.parent
        assert parent is not None
        q: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=self.buffer_size)
        stop = threading.Event()

        def produce() -> None:
            it = None
            try:
                it = parent._iterate(epoch)
                for element in it:
                    q.put((_ITEM, settle(element)))
                    if stop.is_set():
                        return
                q.put((_END, None))
            except BaseException as e:  # forwarded to the consumer, KeyboardInterrupt too
                q.put((_ERROR, e))
            finally:
                if it is not None:
                    with contextlib.suppress(Exception):  # the consumer has gone: no one to tell
                        close_iterator(it)

        ctx = contextvars.copy_context()
        thread = threading.Thread(target=ctx.run, args=(produce,), daemon=True,
                                  name=f"ember-data-prefetch(epoch {epoch})")
        thread.start()
        try:
            while True:
                kind, value = q.get()
                if kind == _ITEM:
                    yield value
                elif kind == _END:
                    return
                else:
                    if isinstance(value, DataError) or not isinstance(value, Exception):
                        raise value
                    raise stage_error(f"{parent._describe()} (before {self._describe()})", None,
                                      epoch, value, "failed") from value
        finally:
            stop.set()
            deadline = time.monotonic() + JOIN_TIMEOUT
            while thread.is_alive() and time.monotonic() < deadline:
                try:  # unblock a producer waiting on a full queue
                    while True:
                        q.get_nowait()
                except queue.Empty:
                    pass
                thread.join(timeout=0.02)
