"""Helpers shared by the kernel modules: scalar operands and the unsigned-integer workarounds.

PyTorch implements few ops for uint16, uint32 and uint64 (creation, casts, copies, ``==``,
``*``, sums and sorting work; most arithmetic, ordering and indexing do not). Two fallbacks:

* *bit views* (``bits``/``unbits``): reinterpret as the signed type of the same size, for ops that
  only move or test data (where, tril, masks, gathers, scatters of ``set``);
* *widening* (``widen``/``narrow``): uint16 -> int32 and uint32 -> int64 are exact;
  uint64 is viewed as int64, which is exact for wrapping arithmetic and bitwise ops, and with
  ``order=True`` the sign bit is flipped so that signed comparisons order the unsigned values.
"""

from __future__ import annotations

from typing import Any

import torch

Tensor = torch.Tensor

UNSIGNED_WIDE = {torch.uint16: torch.int32, torch.uint32: torch.int64, torch.uint64: torch.int64}
UNSIGNED_BITS = {torch.uint16: torch.int16, torch.uint32: torch.int32, torch.uint64: torch.int64}
_SIGN64 = -(2**63)


#: the Python scalar types ``scalar_tensor`` takes (NumPy's scalars carry a dtype of their own),
#: with the dtype that holds each exactly
PY_SCALARS = {bool: torch.bool, int: torch.int64, float: torch.float64, complex: torch.complex128}


def scalar_tensor(value: Any, dtype: torch.dtype | None, device: Any) -> Tensor:
    """A Python scalar as a 0-d tensor. Off the CPU it is a fill kernel with the value as its
    argument: ``torch.tensor(value, device="cuda")`` copies from pageable host memory, and that
    copy waits until the GPU's queue is empty (a device sync at every call, which stops the
    host from running ahead of the GPU)."""
    if device is not None and (device if isinstance(device, torch.device)
                               else torch.device(device)).type != "cpu":
        return filled_scalar(value, dtype, device)
    return torch.tensor(value, dtype=dtype, device=device)


def filled_scalar(value: Any, dtype: torch.dtype | None, device: Any) -> Tensor:
    """``torch.tensor(value, dtype=dtype)`` (its dtype, rounding, overflow to inf for floats
    and errors for integers) made by a fill on ``device``."""
    if dtype is None:  # torch.tensor's inference: the default dtypes for float and complex
        dtype = _inferred(type(value))
    if type(value) is complex and not dtype.is_complex:  # torch.tensor's own error
        return torch.tensor(value, dtype=dtype, device=device)
    if (dtype.is_floating_point or dtype.is_complex) and type(value) is not bool:
        # filled where the value is exact, then rounded once to the dtype (inf past its range)
        wide = torch.complex128 if type(value) is complex else torch.float64
        return torch.full((), value if type(value) is not int else float(value), dtype=wide,
                          device=device).to(dtype)
    return torch.full((), value, dtype=dtype, device=device)


def _inferred(kind: type) -> torch.dtype:
    """The dtype ``torch.tensor`` gives a Python scalar of type ``kind`` (no tensor made)."""
    if kind is bool:
        return torch.bool
    if kind is int:
        return torch.int64
    default = torch.get_default_dtype()
    if kind is float:
        return default
    return torch.complex128 if default is torch.float64 else torch.complex64


def as_tensor_like(value: Any, like: Tensor) -> Tensor:
    """A Python scalar as a 0-d tensor of ``like``'s dtype and device (``scalar_tensor`` for a
    device known to be a ``torch.device``: a scalar operand's path, one call less)."""
    if not like.is_cpu:
        return filled_scalar(value, like.dtype, like.device)
    return torch.tensor(value, dtype=like.dtype, device=like.device)


def both_tensors(x1: Any, x2: Any) -> tuple[Tensor, Tensor]:
    if not isinstance(x1, Tensor):
        x1 = as_tensor_like(x1, x2)
    elif not isinstance(x2, Tensor):
        x2 = as_tensor_like(x2, x1)
    return x1, x2


def widen(x: Tensor, order: bool = False) -> Tensor:
    if x.dtype is torch.uint64:
        v = x.view(torch.int64)
        return v ^ _SIGN64 if order else v
    return x.to(UNSIGNED_WIDE[x.dtype])


def narrow(r: Tensor, dtype: torch.dtype, order: bool = False) -> Tensor:
    """Undo :func:`widen` on a result (bool and other-dtype results pass through)."""
    if r.dtype is not UNSIGNED_WIDE[dtype]:
        return r
    if dtype is torch.uint64:
        return (r ^ _SIGN64 if order else r).view(torch.uint64)
    return r.to(dtype)


def bits(x: Tensor) -> Tensor:
    d = UNSIGNED_BITS.get(x.dtype)
    return x if d is None else x.view(d)


def unbits(r: Tensor, dtype: torch.dtype) -> Tensor:
    return r.view(dtype) if dtype in UNSIGNED_BITS and r.dtype is not dtype else r


def binary(fn: Any, order: bool = False) -> Any:
    """A binary kernel: ``fn`` directly, falling back for scalar first operands and uints."""

    def kernel(x1: Any, x2: Any) -> Tensor:
        try:
            return fn(x1, x2)
        except (TypeError, RuntimeError, NotImplementedError):
            return binary_slow(fn, x1, x2, order)

    kernel.__name__ = getattr(fn, "__name__", "kernel")
    return kernel


def binary_slow(fn: Any, x1: Any, x2: Any, order: bool = False) -> Tensor:
    x1, x2 = both_tensors(x1, x2)
    dt = x1.dtype
    if dt in UNSIGNED_WIDE:
        return narrow(fn(widen(x1, order), widen(x2, order)), dt, order)
    return fn(x1, x2)


def unary(fn: Any, order: bool = False) -> Any:
    """A unary kernel: ``fn`` directly, computing through a wider signed type for uints."""

    def kernel(x: Tensor) -> Tensor:
        try:
            return fn(x)
        except (TypeError, RuntimeError, NotImplementedError):
            dt = x.dtype
            if dt not in UNSIGNED_WIDE:
                raise
            return narrow(fn(widen(x, order)), dt, order)

    kernel.__name__ = getattr(fn, "__name__", "kernel")
    return kernel


def axes_or_all(axis: tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    return tuple(range(ndim)) if axis is None else axis
