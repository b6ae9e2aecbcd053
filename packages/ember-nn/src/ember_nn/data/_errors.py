"""``DataError``: a failure inside a data pipeline, naming the stage and the sample."""

from __future__ import annotations

import ember

__all__ = ["DataError", "describe_fn"]


class DataError(ember.EmberError, RuntimeError):
    """An error raised while a ``Dataset`` produced an element: the message names the stage
    (``map(normalise)``), the index of the sample in that stage's input in this epoch, and the
    original error, which is chained as ``__cause__``.

    Attributes: ``stage`` (the stage's description), ``index`` (the sample index, or ``None``
    where none applies), ``epoch``.
    """

    def __init__(self, message: str, *, stage: str = "", index: int | None = None,
                 epoch: int | None = None) -> None:
        super().__init__(message)
        self.stage, self.index, self.epoch = stage, index, epoch


def describe_fn(fn: object, name: str | None = None) -> str:
    """How a stage names its function in messages: ``name``, else the function's name
    (``normalise``, ``<lambda>``), else its repr."""
    if name is not None:
        return name
    own = getattr(fn, "__name__", None)
    return own if isinstance(own, str) else repr(fn)


def stage_error(stage: str, index: int | None, epoch: int, exc: BaseException,
                what: str = "failed on sample") -> DataError:
    """The ``DataError`` for ``exc`` raised by ``stage`` on sample ``index`` (chain it)."""
    where = f"{what} {index}" if index is not None else what
    return DataError(f"{stage} {where} (epoch {epoch}): {type(exc).__name__}: {exc}",
                     stage=stage, index=index, epoch=epoch)
