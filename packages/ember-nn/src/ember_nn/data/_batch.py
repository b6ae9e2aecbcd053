"""``batch``: consecutive samples stacked into tensors, variable lengths padded on request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ember

from .._core._errors import ConfigError
from ._dataset import INFINITE, Dataset, Stage, close_iterator
from ._errors import DataError, stage_error
from ._sources import RowSource, current
from ._stages import positive_int

__all__ = ["Batch", "stack_samples"]


def flatten(element: Any) -> tuple[list[Any], Any]:
    """The leaves of a sample (tuples and dicts are structure; anything else is a leaf) and its
    structure: ``None`` for a leaf, ``(tuple, [sub])`` or ``(dict, keys, [sub])``."""
    if type(element) is tuple:
        leaves, subs = [], []
        for e in element:
            ls, s = flatten(e)
            leaves += ls
            subs.append(s)
        return leaves, ("tuple", subs)
    if isinstance(element, dict):
        leaves, subs = [], []
        for k in element:
            ls, s = flatten(element[k])
            leaves += ls
            subs.append(s)
        return leaves, ("dict", list(element), subs)
    return [element], None


def unflatten(structure: Any, leaves: Iterator[Any]) -> Any:
    if structure is None:
        return next(leaves)
    if structure[0] == "tuple":
        return tuple(unflatten(s, leaves) for s in structure[1])
    return {k: unflatten(s, leaves) for k, s in zip(structure[1], structure[2], strict=True)}


def _pad_value(pad: Any) -> float | int | bool | None:
    """None (no padding) or the value to pad with."""
    if pad is False or pad is None:
        return None
    if pad is True:
        return 0
    if isinstance(pad, int | float):
        return pad
    raise ConfigError(f"batch: pad must be False, True (pad with 0), a number to pad with, or a "
                      f"tuple/dict of those matching the samples, got {pad!r}")


def _shape(leaf: Any) -> tuple[int, ...]:
    return tuple(leaf.shape)


def _mismatch(stage: str, shapes: list[tuple[int, ...]], indices: list[int], epoch: int,
              leaf: int, why: str) -> DataError:
    seen: dict[tuple[int, ...], int] = {}
    for s, i in zip(shapes, indices, strict=True):
        seen.setdefault(s, i)
    listed = ", ".join(f"sample {i} has shape {s}" for s, i in seen.items())
    return DataError(f"{stage}: cannot stack samples {indices[0]}..{indices[-1]} (epoch {epoch}, "
                     f"element part {leaf}): {listed}; {why}", stage=stage, index=indices[0],
                     epoch=epoch)


def stack_leaf(stage: str, values: list[Any], indices: list[int], epoch: int, leaf: int,
               pad: float | int | bool | None, pad_to: int | None) -> Any:
    """One tensor of the samples' values of one leaf (strings stay a list)."""
    if all(isinstance(v, str | bytes) for v in values):
        return list(values)
    if pad is None and not any(isinstance(v, ember.Tensor) for v in values):
        try:  # Python numbers and (nested) lists: one conversion
            return ember.asarray(values)
        except ember.EmberError:
            pass  # ragged: report the shapes below
    try:
        tensors = [current(v) if isinstance(v, ember.Tensor) else ember.asarray(v)
                   for v in values]
    except ember.EmberError as e:
        raise stage_error(stage, indices[0], epoch, e, "could not make tensors of samples") \
            from e
    shapes = [_shape(t) for t in tensors]
    if pad is None:
        if len(set(shapes)) > 1:
            raise _mismatch(stage, shapes, indices, epoch, leaf,
                            "pass pad=True (or a value to pad with) to pad them along their "
                            "first axis, or map them to one shape")
        return ember.stack(tensors)
    if any(len(s) == 0 for s in shapes):
        if len(set(shapes)) > 1:
            raise _mismatch(stage, shapes, indices, epoch, leaf, "scalars cannot be padded")
        return ember.stack(tensors)
    if len({s[1:] for s in shapes}) > 1:
        raise _mismatch(stage, shapes, indices, epoch, leaf,
                        "padding makes the first axis equal; the other axes must already be")
    longest = max(s[0] for s in shapes)
    target = longest if pad_to is None else pad_to
    if longest > target:
        i = indices[[s[0] for s in shapes].index(longest)]
        raise DataError(f"{stage}: sample {i} (epoch {epoch}, element part {leaf}) has length "
                        f"{longest} along its first axis, more than pad_to={pad_to}; raise "
                        f"pad_to or crop the samples in a map first", stage=stage, index=i,
                        epoch=epoch)
    padded = []
    for t in tensors:
        n = t.shape[0]
        if n < target:
            fill = ember.full((target - n, *t.shape[1:]), pad, dtype=t.dtype,
                              backend=t.backend, device=t.device)
            t = ember.concat([t, fill], axis=0)
        padded.append(t)
    return ember.stack(padded)


def stack_samples(samples: list[Any], *, pad: Any = False, pad_to: int | None = None,
                  stage: str = "batch", indices: list[int] | None = None,
                  epoch: int = 0) -> Any:
    """Stack samples of one structure (a leaf, or tuples/dicts of leaves) leaf by leaf.

    >>> b = stack_samples([(ember.ones((2,)), 0), (ember.ones((3,)), 1)], pad=True)
    >>> b[0].tolist(), b[1].tolist()
    ([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]], [0, 1])
    """
    if indices is None:
        indices = list(range(len(samples)))
    flat = [flatten(s) for s in samples]
    structure = flat[0][1]
    for (_, s), i in zip(flat, indices, strict=True):
        if s != structure:
            raise DataError(f"{stage}: sample {i} (epoch {epoch}) is structured differently from "
                            f"sample {indices[0]} ({_show(s)} vs {_show(structure)}); every sample "
                            f"of a batch needs the same tuple/dict structure", stage=stage,
                            index=i, epoch=epoch)
    width = len(flat[0][0])
    pads = _pads(pad, structure, width)
    out = [stack_leaf(stage, [f[0][k] for f in flat], indices, epoch, k, pads[k], pad_to)
           for k in range(width)]
    return unflatten(structure, iter(out))


def _show(structure: Any) -> str:
    if structure is None:
        return "a value"
    if structure[0] == "tuple":
        return f"a tuple of {len(structure[1])}"
    return f"a dict with keys {structure[1]}"


def _pads(pad: Any, structure: Any, width: int) -> list[Any]:
    """The pad value of each leaf: one for all, or one per leaf from a matching tuple/dict."""
    if type(pad) is tuple or isinstance(pad, dict):
        leaves, s = flatten(pad)
        if s != structure:
            raise ConfigError(f"batch: pad={pad!r} must match the samples' structure "
                              f"({_show(structure)}), one entry per part")
        return [_pad_value(p) for p in leaves]
    return [_pad_value(pad)] * width


class Batch(Stage):
    """``batch_size`` consecutive samples stacked leaf by leaf into tensors on the current
    default backend; a tuple or dict sample gives a tuple or dict of batched tensors.

    Samples of different shapes are an error naming the shapes and the samples' indices unless
    ``pad`` is given: ``True`` (pad with 0) or a value, or a tuple/dict matching the samples with
    a value or ``False`` per part; padded parts get their first axis extended to the longest in
    the batch, or to ``pad_to``. The last, shorter batch is kept unless ``drop_remainder``.
    """

    batched = True

    def __init__(self, parent: Dataset, batch_size: int, *, drop_remainder: bool,
                 pad: Any, pad_to: int | None) -> None:
        super().__init__(parent)
        self.batched = True
        self.batch_size = positive_int("batch", "batch_size", batch_size)
        if not isinstance(drop_remainder, bool):
            raise ConfigError(f"batch: drop_remainder must be True or False, got "
                              f"{drop_remainder!r}")
        if type(pad) is not tuple and not isinstance(pad, dict):
            _pad_value(pad)
        if pad_to is not None:
            positive_int("batch", "pad_to", pad_to)
            if pad is False or pad is None:
                raise ConfigError("batch: pad_to needs pad (pad=True pads with 0)")
        self.drop_remainder, self.pad, self.pad_to = drop_remainder, pad, pad_to

    def _describe(self) -> str:
        extra = ", drop_remainder=True" if self.drop_remainder else ""
        if self.pad is not False and self.pad is not None:
            extra += f", pad={self.pad!r}" + (f", pad_to={self.pad_to}" if self.pad_to else "")
        return f"batch({self.batch_size}{extra})"

    def _length(self) -> int | float | None:
        assert self.parent is not None
        n = self.parent._length()
        if n is None or n == INFINITE:
            return n
        full, rest = divmod(int(n), self.batch_size)
        return full + (1 if rest and not self.drop_remainder else 0)

    def _iterate(self, epoch: int) -> Iterator[Any]:
        parent, size = self.parent, self.batch_size
        assert parent is not None
        if isinstance(parent, RowSource) and (self.pad is False or self.pad is None):
            yield from parent.batches(size, self.drop_remainder)
            return
        stage = self._describe()
        samples: list[Any] = []
        first = 0
        it = parent._iterate(epoch)
        try:
            for i, sample in enumerate(it):
                if not samples:
                    first = i
                samples.append(sample)
                if len(samples) == size:
                    yield self._stack(samples, first, stage, epoch)
                    samples = []
        finally:
            close_iterator(it)
        if samples and not self.drop_remainder:
            yield self._stack(samples, first, stage, epoch)

    def _stack(self, samples: list[Any], first: int, stage: str, epoch: int) -> Any:
        indices = list(range(first, first + len(samples)))
        try:
            return stack_samples(samples, pad=self.pad, pad_to=self.pad_to, stage=stage,
                                 indices=indices, epoch=epoch)
        except (DataError, ConfigError):
            raise
        except Exception as e:
            raise stage_error(stage, first, epoch, e, "failed on the batch starting at sample") \
                from e
