"""Arrays in, batches out: what ``Trainer.fit`` iterates over.

Data is held as ember tensors on the model's backend; an epoch's order is a permutation drawn
from an explicit key, so the same seed gives the same batches on a backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import ember

from .._core._errors import ConfigError

__all__ = ["ArrayData", "as_tensor", "check_batch_size", "split"]


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
