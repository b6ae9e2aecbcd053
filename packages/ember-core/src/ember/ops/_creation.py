"""Creation functions, ``ember.tensor``/``asarray``/``frombuffer`` and moving tensors between
backends."""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

from .. import _dtypes as dt
from .._backend import Backend, current_backend
from .._dispatch import fail
from .._errors import (
    ArgumentError,
    CopyError,
    DTypeError,
    EmberError,
    OutOfMemoryError,
    ShapeError,
)
from .._memory import renamed
from .._plugins import _discover, _registrations, load_backend
from .._settings import native_default_device
from .._tensor import Tensor
from ._dtypes import _KIND_OF, _RANK, astype, result_type

__all__ = [
    "arange", "asarray", "empty", "empty_like", "eye", "from_dlpack", "frombuffer", "full",
    "full_like", "linspace", "meshgrid", "ones", "ones_like", "tensor", "tril", "triu", "zeros",
    "zeros_like",
]

_DEFAULT_OF_KIND = {"b": dt.bool, "i": dt.DEFAULT_INT}  # "f", "c": the settings (dt.default_float)


def _default_of_kind(kind: str) -> dt.DType:
    if kind == "f":
        return dt.default_float()
    if kind == "c":
        return dt.default_complex()
    return _DEFAULT_OF_KIND[kind]


def _python_kind(obj: Any) -> str | None:
    """Highest scalar kind in nested lists/tuples of Python scalars (None: not Python data)."""
    kind = None
    stack = [obj]
    while stack:
        item = stack.pop()
        k = _KIND_OF.get(type(item))
        if k is None:
            if isinstance(item, (list, tuple)):
                stack.extend(item)
                continue
            if isinstance(item, Tensor) and item.size == 1:
                k = item.dtype.kind.replace("u", "i")
            elif isinstance(item, (builtins.bool, int, float, complex)):
                k = _KIND_OF[next(t for t in (builtins.bool, int, float, complex) if isinstance(item, t))]
            else:
                return None
        if kind is None or _RANK[k] > _RANK[kind]:
            kind = k
    return kind or "f"


def _owner(obj: Any) -> Backend | None:
    """The backend whose native array type ``obj`` is (NumPy arrays excepted: they are input)."""
    root = type(obj).__module__.partition(".")[0]
    if root in ("numpy", "builtins"):
        return None
    _discover()
    for name, reg in _registrations.items():
        if reg.native == root:
            return load_backend(name)
    return None


def _device(b: Backend, device: str | None) -> Any:
    if device is None:  # the default device ember.set_default_device set, or the library's
        return native_default_device(b.root)
    try:
        return b.native_device(device)
    except EmberError:  # Backend.native_device words it the same on every backend
        raise
    except Exception as exc:
        raise EmberError(
            f"backend {b.name!r} has no device {device!r}; its devices: {', '.join(b.devices.names())}"
        ) from exc


def _target(dtype: Any, device: str | None, backend: str | Backend | None) -> tuple[Backend, dt.DType | None, Any]:
    b = load_backend(backend) if backend is not None else current_backend()
    return b, (None if dtype is None else dt.as_dtype(dtype)), _device(b, device)


def _tensor_leaves(obj: list[Any] | tuple[Any, ...]) -> list[Any]:
    """The tensors and Python scalars in nested lists/tuples, when at least one is a tensor
    (else [], nothing to do)."""
    leaves: list[Any] = []
    found = False
    stack: list[Any] = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, Tensor):
            found = True
            leaves.append(item)
        elif type(item) in _KIND_OF:
            leaves.append(item)
    return leaves if found else []


def _unflatten_tensors(obj: Any) -> Any:
    """Nested lists/tuples holding tensors as nested lists of Python scalars (a 0-d tensor is
    its ``item()``): the backends' converters take those, and a 0-d tensor has no len()."""
    if isinstance(obj, Tensor):
        return obj.item() if obj.ndim == 0 else obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [_unflatten_tensors(o) for o in obj]
    return obj


def asarray(
    obj: Any, /, *, dtype: Any = None, device: str | None = None, copy: bool | None = None,
    backend: str | Backend | None = None,
) -> Tensor:
    """Convert Python data, NumPy arrays, native arrays or tensors to a Tensor.

    Python floats become float32, ints int64, bools bool, complex complex64 (ember's defaults;
    ``ember.set_default_dtype`` changes the float and complex ones);
    arrays keep their dtype. A native array of another framework stays on its own backend unless
    ``backend`` says otherwise.

    >>> ember.asarray([1, 2, 3]).dtype
    ember.int64
    """
    d = None if dtype is None else dt.as_dtype(dtype)
    if isinstance(obj, Tensor):
        x = obj if backend is None else obj.to(backend if isinstance(backend, str) else backend.name)
        if device is not None and x.device != device:
            x = x.to(device=device)
        if d is not None and x.dtype is not d:
            return astype(x, d, copy=True)
        if copy:
            return Tensor(x._b.kernels.asarray(x._n, None, None, True), x._b)
        return x
    if backend is None:
        owner = _owner(obj)
        b = owner if owner is not None else current_backend()
    else:
        b = load_backend(backend)
    dev = _device(b, device)
    if d is None and hasattr(obj, "dtype") and not isinstance(obj, Tensor):
        try:  # an array that carries an ember-known dtype: the backend must have it
            d = dt.as_dtype(obj.dtype)
        except DTypeError:
            d = None
    if isinstance(obj, (list, tuple)):
        leaves = _tensor_leaves(obj)
        if leaves:  # tensors inside lists: their dtypes promote (Python scalars are weak)
            if d is None:
                d = result_type(*leaves)
            obj = _unflatten_tensors(obj)
    if d is None:
        kind = _python_kind(obj)
        if kind is not None:
            d = _default_of_kind(kind)
    native_dtype = None if d is None else b.native_dtype(d, device)
    try:
        n = b.kernels.asarray(obj, native_dtype, dev, copy)
    except (OverflowError, TypeError, ValueError, RuntimeError) as exc:
        raise EmberError(
            f"cannot convert {type(obj).__name__} to a tensor on backend {b.name!r}"
            + (f" with dtype {d}" if d else "")
            + f": {exc}. Nested lists must be rectangular and hold numbers"
        ) from exc
    if d is None:
        d = b.from_native_dtype.get(n.dtype)
        if d is None:
            raise DTypeError(f"asarray: dtype {n.dtype} of the input has no ember equivalent")
    return Tensor(n, b, d)


def tensor(data: Any, dtype: Any = None, device: str | None = None, *, backend: str | None = None) -> Tensor:
    """Make a tensor from lists, scalars, NumPy arrays or native tensors (see :func:`asarray`).

    >>> ember.tensor([[1.0, 2.0]], dtype=ember.float64).shape
    (1, 2)
    """
    return asarray(data, dtype=dtype, device=device, backend=backend)


def frombuffer(data: bytes | bytearray | memoryview, dtype: Any, shape: Any, *,
               backend: str | Backend | None = None, device: str | None = None) -> Tensor:
    """A tensor of ``dtype`` and ``shape`` from raw bytes (C order, little-endian; the layout
    :meth:`Tensor.tobytes` writes). The bytes are copied; their count must be exactly
    ``prod(shape) * dtype.itemsize``.

    >>> ember.frombuffer(b"\\x01\\x00\\x02\\x01", ember.uint16, (2,)).tolist()
    [1, 258]
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ArgumentError(
            f"frombuffer takes bytes, bytearray or memoryview, got {type(data).__name__}; "
            f"for arrays and lists use ember.asarray"
        )
    view = memoryview(data)
    if not view.c_contiguous:
        raise ArgumentError("frombuffer needs a C-contiguous memoryview; pass bytes(view)")
    d = dt.as_dtype(dtype)
    b, _, dev = _target(d, device, backend)
    s = _shape("frombuffer", shape)
    need = math.prod(s) * d.itemsize
    if view.nbytes != need:
        raise ShapeError(
            f"frombuffer: shape {s} of {d} needs {need} bytes, got {view.nbytes}; check the "
            f"dtype and shape the bytes were written with"
        )
    b.native_dtype(d, device)  # a clear UnsupportedError if the backend lacks the dtype
    try:
        n = b.from_bytes(view.cast("B") if view.ndim != 1 or view.format != "B" else view,
                         d.name, s, dev)
    except EmberError:
        raise
    except Exception as exc:
        raise EmberError(f"frombuffer on backend {b.name!r} failed for {d} {s}: {exc}") from exc
    return Tensor(n, b, d)


def _shape(op: str, shape: Any) -> tuple[int, ...]:
    if isinstance(shape, int) or (hasattr(shape, "__index__") and not isinstance(shape, Sequence)):
        shape = (shape,)
    try:
        out = tuple(int(s.__index__()) for s in shape)
    except (AttributeError, TypeError):
        raise ShapeError(f"{op}: shape must be an int or a sequence of ints, got {shape!r}") from None
    if any(s < 0 for s in out):
        raise ShapeError(f"{op}: negative dimension in shape {out}")
    return out


def _creation(op: str, shape: Any, dtype: Any, device: str | None, backend: Any, fill: Any) -> Tensor:
    b, d, dev = _target(dtype, device, backend)
    d = d or (dt.default_float() if fill is None else dt.scalar_dtype(fill))
    native = b.native_dtype(d, device)
    s = _shape(op, shape)
    try:
        if fill is None:
            return Tensor(b.kernels.empty(s, native, dev), b, d)
        return Tensor(b.kernels.full(s, fill, native, dev), b, d)
    except OutOfMemoryError as exc:  # name the op called (zeros), not its kernel (full)
        raise renamed(exc, op) from exc.__cause__


def empty(shape: Any, *, dtype: Any = None, device: str | None = None, backend: Any = None) -> Tensor:
    """An uninitialised tensor (float32 unless dtype is given)."""
    return _creation("empty", shape, dtype, device, backend, None)


def zeros(shape: Any, *, dtype: Any = None, device: str | None = None, backend: Any = None) -> Tensor:
    """A tensor of zeros (float32 unless dtype is given)."""
    d = dt.default_float() if dtype is None else dt.as_dtype(dtype)
    return _creation("zeros", shape, d, device, backend, False if d is dt.bool else 0)


def ones(shape: Any, *, dtype: Any = None, device: str | None = None, backend: Any = None) -> Tensor:
    """A tensor of ones (float32 unless dtype is given)."""
    d = dt.default_float() if dtype is None else dt.as_dtype(dtype)
    return _creation("ones", shape, d, device, backend, True if d is dt.bool else 1)


def full(shape: Any, fill_value: Any, *, dtype: Any = None, device: str | None = None,
         backend: Any = None) -> Tensor:
    """A tensor filled with fill_value (dtype inferred from it unless given)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _creation("full", shape, dtype, device, backend, fill_value)


def _like(op: str, x: Tensor, dtype: Any, device: str | None, fill: Any) -> Tensor:
    x = asarray(x)
    d = x.dtype if dtype is None else dt.as_dtype(dtype)
    if fill is not None and d is dt.bool:
        fill = builtins.bool(fill)
    return _creation(op, x.shape, d, device or x.device, x._b, fill)


def empty_like(x: Tensor, /, *, dtype: Any = None, device: str | None = None) -> Tensor:
    return _like("empty_like", x, dtype, device, None)


def zeros_like(x: Tensor, /, *, dtype: Any = None, device: str | None = None) -> Tensor:
    return _like("zeros_like", x, dtype, device, 0)


def ones_like(x: Tensor, /, *, dtype: Any = None, device: str | None = None) -> Tensor:
    return _like("ones_like", x, dtype, device, 1)


def full_like(x: Tensor, /, fill_value: Any, *, dtype: Any = None, device: str | None = None) -> Tensor:
    x = asarray(x)
    d = x.dtype if dtype is None else dt.as_dtype(dtype)
    if (isinstance(fill_value, float) and not d.is_inexact) or (isinstance(fill_value, complex) and not d.is_complex):
        raise DTypeError(f"full_like: fill value {fill_value!r} does not fit dtype {d}")
    return _creation("full_like", x.shape, d, device or x.device, x._b, fill_value)


def arange(start: Any, /, stop: Any = None, step: Any = 1, *, dtype: Any = None,
           device: str | None = None, backend: Any = None) -> Tensor:
    """Values from start (inclusive) to stop (exclusive) by step; int64 for ints, else float32."""
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise EmberError("arange: step must not be zero")
    b, d, dev = _target(dtype, device, backend)
    if d is None:
        d = dt.DEFAULT_INT if all(isinstance(v, int) for v in (start, stop, step)) else dt.default_float()
    native = b.native_dtype(d, device)
    if math.ceil((stop - start) / step) <= 0:  # an empty range (some libraries raise instead)
        return Tensor(b.kernels.empty((0,), native, dev), b, d)
    try:
        return Tensor(b.kernels.arange(start, stop, step, native, dev), b, d)
    except Exception as exc:
        raise fail("arange", (), exc) from exc


def linspace(start: Any, stop: Any, /, num: int, *, dtype: Any = None, device: str | None = None,
             endpoint: bool = True, backend: Any = None) -> Tensor:
    """num evenly spaced values from start to stop (float32 unless dtype is given)."""
    if num < 0:
        raise ShapeError(f"linspace: num must be non-negative, got {num}")
    b, d, dev = _target(dtype, device, backend)
    if d is None:
        d = dt.default_complex() if isinstance(start, complex) or isinstance(stop, complex) else dt.default_float()
    return Tensor(b.kernels.linspace(start, stop, num, b.native_dtype(d, device), dev, endpoint), b)


def eye(n_rows: int, n_cols: int | None = None, /, *, k: int = 0, dtype: Any = None,
        device: str | None = None, backend: Any = None) -> Tensor:
    """A 2-d tensor with ones on diagonal k (float32 unless dtype is given)."""
    b, d, dev = _target(dtype, device, backend)
    d = d or dt.default_float()
    n_cols = n_rows if n_cols is None else n_cols
    if n_rows < 0 or n_cols < 0:
        raise ShapeError(f"eye: n_rows and n_cols must be non-negative, got {n_rows}, {n_cols}")
    k = builtins.max(-n_rows, builtins.min(int(k), n_cols))  # beyond the matrix: all zeros
    return Tensor(b.kernels.eye(n_rows, n_cols, k, b.native_dtype(d, device), dev), b, d)


def from_dlpack(x: Any, /, *, device: str | None = None, copy: bool | None = None,
                backend: Any = None) -> Tensor:
    """Import an object that supports DLPack (an ember tensor, a NumPy, torch or MLX array…)
    as a tensor of the current backend (or ``backend``), on ``device`` if given.

    ``copy=None`` shares memory where the libraries allow and copies otherwise; ``copy=True``
    always copies; ``copy=False`` never does and raises :class:`ember.CopyError` (a
    ``BufferError``) when the import needs a copy (another device; MLX copies every foreign
    array into its own memory).

    >>> import numpy as np
    >>> ember.from_dlpack(np.arange(3), backend="numpy").tolist()
    [0, 1, 2]
    """
    b = load_backend(backend) if backend is not None else current_backend()
    if copy not in (None, True, False):
        raise ArgumentError(f"from_dlpack: copy must be None, True or False, got {copy!r}")
    src = x._n if isinstance(x, Tensor) else x
    if not hasattr(src, "__dlpack__"):
        raise ArgumentError(
            f"from_dlpack takes an object with __dlpack__ (a tensor or array), got "
            f"{type(x).__name__}; use ember.asarray for lists and scalars"
        )
    dev = _device(b, device)
    try:
        n = b.kernels.from_dlpack(src, copy)
    except (BufferError, ValueError) as exc:
        if copy is False:
            raise CopyError(
                f"from_dlpack(copy=False) on backend {b.name!r} cannot import this "
                f"{type(src).__name__} without a copy ({exc}); pass copy=None to allow one"
            ) from exc
        raise EmberError(f"from_dlpack on backend {b.name!r} failed: {exc}") from exc
    except Exception as exc:
        raise EmberError(f"from_dlpack on backend {b.name!r} failed: {exc}") from exc
    if device is not None:
        try:
            n = b.kernels.asarray(n, None, dev, False if copy is False else None)
        except ValueError as exc:  # copy=False and the array is on another device
            raise CopyError(
                f"from_dlpack(copy=False): moving the array from {b.devices.of(n)!r} to "
                f"{device!r} needs a copy; pass copy=None to allow one"
            ) from exc
    return Tensor(n, b)


def _tri(op: str, x: Tensor, k: int) -> Tensor:
    x = asarray(x)
    if x.ndim < 2:
        raise ShapeError(f"{op} needs a tensor of rank >= 2, got shape {x.shape}")
    return Tensor(getattr(x._b.kernels, op)(x._n, k), x._b)


def tril(x: Tensor, /, *, k: int = 0) -> Tensor:
    """Lower triangle (on and below diagonal k) of the last two axes."""
    return _tri("tril", x, k)


def triu(x: Tensor, /, *, k: int = 0) -> Tensor:
    """Upper triangle (on and above diagonal k) of the last two axes."""
    return _tri("triu", x, k)


def meshgrid(*arrays: Tensor, indexing: str = "xy") -> list[Tensor]:
    """Coordinate grids from 1-d tensors ('xy': Cartesian, 'ij': matrix indexing)."""
    from ._manipulation import broadcast_to, reshape

    if indexing not in ("xy", "ij"):
        raise EmberError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    arrays = tuple(asarray(a) for a in arrays)
    for a in arrays:
        if a.ndim != 1:
            raise ShapeError(f"meshgrid takes 1-d tensors, got shape {a.shape}")
    n = len(arrays)
    shape = [a.shape[0] for a in arrays]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, a in enumerate(arrays):
        axis = i
        if indexing == "xy" and n >= 2 and i < 2:
            axis = 1 - i
        view = [1] * n
        view[axis] = a.shape[0]
        out.append(broadcast_to(reshape(a, tuple(view)), tuple(shape)))
    return out


def move(x: Tensor, backend: str | None, device: str | None) -> Tensor:
    """``Tensor.to``: the same values on another backend/device (DLPack, else via NumPy)."""
    target = x._b if backend is None else load_backend(backend)
    if target is x._b or target is x._b.root:
        target = x._b  # a tensor a tape tracks stays on the recording twin
        if device is None or device == x.device:
            return x
        return Tensor(target.kernels.asarray(x._n, None, _device(target, device), None), target)
    dev = _device(target, device)
    target.native_dtype(x.dtype, device)  # fails clearly if the target lacks the dtype
    n = None
    if dev is None:
        try:
            n = target.kernels.from_dlpack(x._n, None)
        except Exception:
            n = None
    if n is None:
        try:
            host = x._b.arrays.to_numpy(x._n)
        except Exception as exc:
            raise EmberError(
                f"cannot move a {x.dtype} tensor from {x._b.name!r} to {target.name!r}: {exc}"
            ) from exc
        n = target.kernels.asarray(host, target.native_dtype(x.dtype, device), dev, None)
    elif dev is not None:
        n = target.kernels.asarray(n, None, dev, None)
    return Tensor(n, target)
