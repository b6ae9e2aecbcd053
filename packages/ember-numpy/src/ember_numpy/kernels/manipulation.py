"""Shape manipulation kernels (views where NumPy gives views; ember arrays are immutable)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "broadcast_to", "concat", "expand_dims", "flip", "permute_dims", "repeat", "reshape",
    "roll", "squeeze", "stack", "tile",
]  # fmt: skip


_RESHAPE_HAS_COPY = np.lib.NumpyVersion(np.__version__) >= "2.1.0"


def broadcast_to(x: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(x, shape)


def concat(arrays: list[Any], axis: int | None) -> np.ndarray:
    """Join along ``axis``; ``axis=None`` flattens every input first."""
    return np.concatenate(arrays, axis=axis)


def expand_dims(x: Any, axis: int) -> np.ndarray:
    return np.expand_dims(x, axis)


def flip(x: Any, axis: tuple[int, ...] | None) -> np.ndarray:
    return np.flip(x, axis)


def permute_dims(x: Any, axes: tuple[int, ...]) -> np.ndarray:
    return np.transpose(x, axes)


def repeat(x: Any, repeats: Any, axis: int | None) -> np.ndarray:
    return np.repeat(x, repeats, axis=axis)


def reshape(x: Any, shape: tuple[int, ...], copy: bool | None) -> np.ndarray:
    """``copy=True`` always copies; ``False`` raises ValueError if a view is impossible."""
    if copy is None:
        return np.reshape(x, shape)
    if _RESHAPE_HAS_COPY:
        return np.reshape(x, shape, copy=copy)
    if copy:
        return np.array(np.reshape(x, shape), copy=True)
    view = np.asarray(x).view()
    try:
        view.shape = shape
    except AttributeError as exc:
        raise ValueError(f"reshape(copy=False): cannot reshape without a copy: {exc}") from None
    return view


def roll(x: Any, shift: Any, axis: tuple[int, ...] | None) -> np.ndarray:
    return np.roll(x, shift, axis)


def squeeze(x: Any, axis: tuple[int, ...]) -> np.ndarray:
    return np.squeeze(x, axis)


def stack(arrays: list[Any], axis: int) -> np.ndarray:
    return np.stack(arrays, axis)


def tile(x: Any, repetitions: tuple[int, ...]) -> np.ndarray:
    return np.tile(x, repetitions)
