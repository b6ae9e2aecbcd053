"""Arrays in, batches out: what ``Trainer.fit`` iterates over (and the checks that let it take
a data pipeline or any iterable of batches instead).

Data is held as ember tensors on the model's backend; an epoch's order is a permutation drawn
from an explicit key, so the same seed gives the same batches on a backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import ember

from .._core._errors import ConfigError

__all__ = ["EVAL_BATCH", "FIT_BATCH", "ArrayData", "DefaultSize", "StreamEpochs", "as_stream", "as_tensor", "check_batch_size", "inputs_of", "is_stream", "pair",
           "split", "stream_for_fit"]


def check_batch_size(batch_size: Any, where: str = "batch_size") -> int:
    """``batch_size`` if it is a positive int (not a bool); ConfigError naming it otherwise."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(
            f"{where}: batch_size must be a positive int (samples per step), got {batch_size!r}")
    return batch_size


def as_tensor(x: Any, *, backend: str | None = None, device: str | None = None,
              dtype: Any = None, what: str = "data") -> ember.Tensor:
    """``x`` as a tensor on ``backend``/``device`` (moved if it is a tensor elsewhere)."""
    if isinstance(x, ember.Tensor):
        t = x
        if (backend is not None and t.backend != backend) or (device is not None
                                                              and t.device != device):
            t = t.to(backend, device=device)
    else:
        try:
            t = ember.asarray(x, backend=backend, device=device)
        except ember.EmberError as e:
            raise ember.ArgumentError(f"{what}: cannot be made a tensor: {e}") from None
    if dtype is not None and t.dtype != dtype:
        t = ember.astype(t, dtype)
    return t


class ArrayData:
    """Aligned arrays (inputs, targets, ...) sharing their first axis, batched on demand.

    >>> data = ArrayData([ember.arange(10.0), ember.arange(10)])
    >>> [len(b[0]) for b in data.batches(4)]
    [4, 4, 2]
    """

    def __init__(self, arrays: Sequence[ember.Tensor]) -> None:
        sizes = [a.shape[0] if a.ndim else None for a in arrays]
        if not arrays or None in sizes or len(set(sizes)) != 1:
            shapes = [a.shape for a in arrays]
            raise ember.ShapeError(
                f"data arrays must share their first (sample) axis, got shapes {shapes}")
        self.arrays = list(arrays)
        self.size = int(sizes[0])  # type: ignore[arg-type]

    def __len__(self) -> int:
        return self.size

    def num_batches(self, batch_size: int, drop_last: bool = False) -> int:
        """How many batches ``batches`` gives (0 with ``drop_last`` and fewer samples than one
        batch)."""
        full, rest = divmod(self.size, check_batch_size(batch_size, "ArrayData"))
        return full + (1 if rest and not drop_last else 0)

    def batches(self, batch_size: int, *, key: ember.random.Key | None = None,
                drop_last: bool = False) -> Iterator[list[ember.Tensor]]:
        """Consecutive batches; in a random order (a permutation from ``key``) when given."""
        n = self.num_batches(batch_size, drop_last)
        arrays = self.arrays
        if key is not None:
            first = arrays[0]
            order = ember.random.permutation(
                key, ember.arange(self.size, backend=first.backend, device=first.device))
            arrays = [ember.take(a, order, axis=0) for a in arrays]
        for i in range(n):
            lo, hi = i * batch_size, min((i + 1) * batch_size, self.size)
            yield [a[lo:hi] for a in arrays]


def split(arrays: Sequence[ember.Tensor], fraction: float, *,
          key: ember.random.Key | None = None) -> tuple[list[ember.Tensor], list[ember.Tensor]]:
    """Split aligned arrays into (1 - fraction, fraction) parts, shuffled first when ``key``."""
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) \
            or not 0.0 < fraction < 1.0:
        raise ConfigError(f"split: the fraction to hold out must be a number in (0, 1), got "
                          f"{fraction!r}")
    data = ArrayData(arrays)
    n_hold = max(1, round(data.size * fraction))
    if n_hold >= data.size:
        raise ConfigError(
            f"split: holding out {fraction} of {data.size} samples (at least one) leaves nothing "
            f"to train on; use more samples or a smaller fraction")
    parts = data.arrays
    if key is not None:
        order = ember.random.permutation(
            key, ember.arange(data.size, backend=parts[0].backend, device=parts[0].device))
        parts = [ember.take(a, order, axis=0) for a in parts]
    cut = data.size - n_hold
    return [a[:cut] for a in parts], [a[cut:] for a in parts]


class DefaultSize(int):
    """A default batch size: an int, told apart from the same number passed explicitly (a
    dataset batches itself, so an explicit ``batch_size`` with one is an error)."""


#: the default batch sizes of ``fit`` and of ``evaluate``/``predict``
FIT_BATCH, EVAL_BATCH = DefaultSize(32), DefaultSize(256)


def is_stream(x: Any) -> bool:
    """Whether ``x`` is a data pipeline (``ember_nn.data.Dataset``) or another iterable of
    batches (a generator, a generator function, a torch ``DataLoader`` ...) rather than array
    data (tensors, nested lists, anything with ``__array__``/``__dlpack__``)."""
    from ..data._dataset import Dataset

    if isinstance(x, Dataset):
        return True
    if isinstance(x, ember.Tensor | list | tuple | str | bytes | dict) or x is None \
            or hasattr(x, "__array__") or hasattr(x, "__dlpack__"):
        return False
    import inspect

    return hasattr(x, "__iter__") or inspect.isgeneratorfunction(x)


def as_stream(op: str, x: Any, *, batch_size: Any = None, what: str = "data") -> Any:
    """``x`` as an ``ember_nn.data.Dataset`` of batches, after checking it is not a dataset of
    single samples and that no array-only option was passed."""
    from ..data._dataset import Dataset
    from ..data._sources import from_iterable

    ds = x if isinstance(x, Dataset) else from_iterable(x)
    if batch_size is not None and not isinstance(batch_size, DefaultSize):
        raise ConfigError(
            f"{op}: batch_size={batch_size!r} is for array data; the {what} is a dataset that "
            f"yields batches, so batch it in the pipeline (dataset.batch({batch_size}))")
    if ds.batched is False:
        raise ConfigError(
            f"{op}: the {what} {ds!r} yields single samples, not batches; add a batch stage, "
            f"e.g. dataset.batch(32)")
    return ds


def stream_for_fit(x: Any, y: Any, *, batch_size: Any, shuffle: Any, drop_last: Any,
                   validation_split: Any, steps_per_epoch: Any) -> Any:
    """The dataset ``fit`` trains on, after checking that no array-only option was passed and
    that an endless dataset comes with ``steps_per_epoch``."""
    if y is not None:
        raise ConfigError("fit: the data is a dataset yielding (inputs, targets) batches, so y "
                          "must be omitted (fit(dataset, epochs=...)); to pair inputs with "
                          "targets use Dataset.from_arrays(x, y)")
    for name, value, fix in (("shuffle", shuffle, "dataset.shuffle(buffer_size, seed)"),
                             ("drop_last", drop_last or None,
                              "dataset.batch(n, drop_remainder=True)"),
                             ("validation_split", validation_split or None,
                              "validation_data=another dataset")):
        if value is not None:
            raise ConfigError(f"fit: {name}={value!r} is for array data; with a dataset use "
                              f"{fix}")
    if steps_per_epoch is not None:
        check_batch_size(steps_per_epoch, "fit: steps_per_epoch")
    ds = as_stream("fit", x, batch_size=batch_size, what="training data")
    if steps_per_epoch is None and ds.length is None and ds._length() is not None:
        raise ConfigError(f"fit: {ds!r} never ends; pass steps_per_epoch (batches an epoch)")
    return ds


def describe_batch(batch: Any) -> str:
    if isinstance(batch, ember.Tensor):
        return f"a tensor of shape {batch.shape}"
    if isinstance(batch, tuple | list):
        return f"a {type(batch).__name__} of {len(batch)}"
    return f"a {type(batch).__name__}"


def pair(op: str, batch: Any, index: int, what: str = "data") -> tuple[Any, Any]:
    """``(inputs, targets)`` of one batch of a dataset; ConfigError naming what came instead."""
    if isinstance(batch, tuple | list) and len(batch) == 2:
        return batch[0], batch[1]
    raise ConfigError(f"{op}: batch {index} of the {what} is {describe_batch(batch)}; the "
                      f"dataset must yield (inputs, targets) pairs, e.g. "
                      f"Dataset.from_arrays(x, y).batch(32)")


def inputs_of(batch: Any) -> Any:
    """The inputs of a batch for ``predict``: the batch itself, or the first of a tuple."""
    return batch[0] if isinstance(batch, tuple | list) else batch


_END = object()  # next()'s default: a pass over a dataset that ended


class StreamEpochs:
    """The batches of each epoch of ``fit`` on a dataset: a pass over it an epoch
    (``dataset.iter(k)`` for the k-th pass), or with ``steps_per_epoch`` that many batches from
    one pass going on across epochs (a new pass started when one ends). ``convert`` turns a
    batch's inputs and targets into the model's tensors; ``close()`` ends a pass left open."""

    def __init__(self, ds: Any, steps_per_epoch: int | None,
                 convert: Callable[[Any, Any], tuple[ember.Tensor, ember.Tensor]]) -> None:
        self.ds, self.steps, self.convert = ds, steps_per_epoch, convert
        self.passes = 0
        self.it: Iterator[Any] | None = None

    def _fresh(self) -> Iterator[Any]:
        it: Iterator[Any] = self.ds.iter(self.passes)
        self.passes += 1
        return it

    def __call__(self, epoch: int) -> Iterator[tuple[ember.Tensor, ember.Tensor]]:
        from ..data._dataset import close_iterator

        if self.steps is None:
            it = self._fresh()
            try:
                for i, batch in enumerate(it):
                    yield self.convert(*pair("fit", batch, i, "training data"))
            finally:
                close_iterator(it)
            return
        for i in range(self.steps):
            for attempt in range(2):
                if self.it is None:
                    self.it = self._fresh()
                batch = next(self.it, _END)
                if batch is not _END:
                    break
                self.it = None
                if attempt:
                    raise ConfigError(f"fit: {self.ds!r} gave no batch in a pass over it")
            yield self.convert(*pair("fit", batch, i, "training data"))

    def close(self) -> None:
        from ..data._dataset import close_iterator

        if self.it is not None:
            close_iterator(self.it)
            self.it = None
