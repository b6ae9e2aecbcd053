"""``ember.random``: explicit keys, the same numbers for the same key on a backend, every run.

A :class:`Key` is a 64-bit value; :func:`split` and :func:`fold_in` derive new keys with the
SplitMix64 mixer, so key arithmetic is identical on every backend. Each backend turns a key
into numbers with its own generator (NumPy Philox, torch's CPU generator, MLX's threefry), so
the same key gives the same numbers on one backend run after run, not across backends.

>>> k1, k2 = ember.random.split(ember.random.key(0))
>>> ember.random.uniform(k1, (2,)).shape
(2,)
"""

from __future__ import annotations

import math
from typing import Any

from . import _dtypes as dt
from ._backend import Backend, current_backend
from ._errors import DTypeError, EmberError, ShapeError
from ._plugins import load_backend
from ._tensor import Tensor

__all__ = ["Key", "bernoulli", "categorical", "fold_in", "key", "normal", "permutation",
           "randint", "split", "truncated_normal", "uniform"]

_MASK64 = (1 << 64) - 1


def _mix(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


class Key:
    """A random key. Make one with :func:`key`; derive more with :func:`split`."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value & _MASK64

    def __repr__(self) -> str:
        return f"ember.random.Key({self.value:#018x})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("ember.Key", self.value))

    @property
    def seed(self) -> int:
        """The integer seed handed to backend kernels, in [0, 2**63)."""
        return self.value >> 1


def key(seed: int) -> Key:
    """A key from a non-negative integer seed."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise EmberError(f"random.key takes a non-negative int seed, got {seed!r}")
    return Key(_mix(seed & _MASK64) ^ _mix(seed >> 64))


def split(k: Key | int, num: int = 2) -> tuple[Key, ...]:
    """num new independent keys derived from k."""
    k = _key(k)
    return tuple(Key(_mix(k.value ^ _mix(i + 1))) for i in range(num))


def fold_in(k: Key | int, data: int) -> Key:
    """A new key derived from k and an integer (a step number, a layer index)."""
    return Key(_mix(_key(k).value ^ _mix(data & _MASK64) ^ 0x5851F42D4C957F2D))


def _key(k: Any) -> Key:
    if isinstance(k, Key):
        return k
    if isinstance(k, int) and not isinstance(k, bool):
        return key(k)
    raise EmberError(f"expected an ember.random.Key or an int seed, got {type(k).__name__}")


def _shape(shape: Any) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ShapeError(f"negative dimension in shape {shape}")
    return shape


def _target(backend: Any, device: str | None, dtype: dt.DType) -> tuple[Backend, Any, Any]:
    b = current_backend() if backend is None else load_backend(backend)
    dev = None if device is None else b.native_device(device)
    return b, b.native_dtype(dtype, device), dev


def _float_dtype(dtype: Any) -> dt.DType:
    d = dt.DEFAULT_FLOAT if dtype is None else dt.as_dtype(dtype)
    if not d.is_floating:
        raise DTypeError(f"expected a real floating dtype, got {d}")
    return d


def _scaled(kernel: str, k: Key | int, shape: Any, dtype: Any, scale: float, shift: float,
            device: str | None, backend: Any) -> Tensor:
    """Standard samples from a backend kernel, then ``* scale + shift`` (skipped when trivial)."""
    d = _float_dtype(dtype)
    b, nd, dev = _target(backend, device, d)
    z = Tensor(getattr(b, kernel)(_key(k).seed, _shape(shape), nd, dev), b, d)
    return z if scale == 1.0 and shift == 0.0 else z * scale + shift


def uniform(k: Key | int, shape: Any = (), dtype: Any = None, low: float = 0.0, high: float = 1.0, *,
            device: str | None = None, backend: Any = None) -> Tensor:
    """Uniform samples in [low, high)."""
    return _scaled("random_uniform", k, shape, dtype, high - low, low, device, backend)


def normal(k: Key | int, shape: Any = (), dtype: Any = None, loc: float = 0.0, scale: float = 1.0, *,
           device: str | None = None, backend: Any = None) -> Tensor:
    """Normal samples with mean loc and standard deviation scale."""
    return _scaled("random_normal", k, shape, dtype, scale, loc, device, backend)


def randint(k: Key | int, shape: Any, low: int, high: int, dtype: Any = None, *,
            device: str | None = None, backend: Any = None) -> Tensor:
    """Integers uniform in [low, high) (int64 unless dtype is given)."""
    d = dt.DEFAULT_INT if dtype is None else dt.as_dtype(dtype)
    if not d.is_integer:
        raise DTypeError(f"randint: dtype must be an integer dtype, got {d}")
    if high <= low:
        raise EmberError(f"randint: need low < high, got [{low}, {high})")
    info = dt.iinfo(d)
    if low < info.min or high - 1 > info.max:
        raise DTypeError(f"randint: [{low}, {high}) does not fit {d}")
    b, nd, dev = _target(backend, device, d)
    return Tensor(b.random_randint(_key(k).seed, _shape(shape), int(low), int(high), nd, dev), b)


def truncated_normal(k: Key | int, lower: float = -2.0, upper: float = 2.0, shape: Any = (),
                     dtype: Any = None, *, device: str | None = None, backend: Any = None) -> Tensor:
    """Standard normal samples conditioned on [lower, upper] (inverse-CDF sampling)."""
    from .ops import _elementwise as ew
    from .ops._elementwise import clip

    if not lower < upper:
        raise EmberError(f"truncated_normal: need lower < upper, got [{lower}, {upper}]")
    d = _float_dtype(dtype)
    work = dt.float64 if d is dt.float64 else dt.float32
    a = 0.5 * (1.0 + math.erf(lower / math.sqrt(2.0)))
    c = 0.5 * (1.0 + math.erf(upper / math.sqrt(2.0)))
    u = uniform(k, shape, work, device=device, backend=backend)
    p = u * (c - a) + a
    x = ew.erfinv(p * 2.0 - 1.0) * math.sqrt(2.0)
    x = clip(x, lower, upper)
    return x if work is d else x.astype(d)


def bernoulli(k: Key | int, p: Any = 0.5, shape: Any = None, *, device: str | None = None,
              backend: Any = None) -> Tensor:
    """Booleans that are True with probability p (a float or a tensor, broadcast to shape)."""
    if isinstance(p, Tensor):
        shape = p.shape if shape is None else shape
        backend = backend or p.backend
    elif not 0.0 <= float(p) <= 1.0:
        raise EmberError(f"bernoulli: p must be in [0, 1], got {p}")
    u = uniform(k, () if shape is None else shape, dt.float32, device=device, backend=backend)
    return u < p


def categorical(k: Key | int, logits: Any, *, axis: int = -1, shape: Any = None) -> Tensor:
    """Class indices (int64) drawn from unnormalised log-probabilities along axis (Gumbel-max).

    ``shape`` (batch shape of the result) defaults to logits' shape without ``axis``.
    """
    from .ops import _elementwise as ew
    from .ops._creation import asarray
    from .ops._manipulation import moveaxis
    from .ops._searching import argmax

    lg = asarray(logits)
    if lg.ndim == 0:
        raise ShapeError("categorical: logits need a class axis")
    lg = moveaxis(lg, axis, -1)
    batch = lg.shape[:-1] if shape is None else _shape(shape)
    d = lg.dtype if lg.dtype.is_floating else dt.DEFAULT_FLOAT
    u = uniform(k, (*batch, lg.shape[-1]), d, backend=lg._b, device=lg.device)
    tiny = dt.finfo(d).smallest_normal
    gumbel = -ew.log(-ew.log(ew.maximum(u, tiny)))
    return argmax(lg + gumbel, axis=-1)


def permutation(k: Key | int, x: Any, *, axis: int = 0) -> Tensor:
    """A random permutation of range(x) if x is an int, else of x along axis."""
    from .ops._creation import asarray
    from .ops._indexing import take
    from .ops._searching import argsort

    if isinstance(x, int) and not isinstance(x, bool):
        if x < 0:
            raise ShapeError(f"permutation: n must be non-negative, got {x}")
        return argsort(uniform(k, (x,), dt.float64 if _f64(None) else dt.float32))
    t = asarray(x)
    if t.ndim == 0:
        raise ShapeError("permutation: x must be an int or a tensor with at least one axis")
    n = t.shape[axis]
    order = argsort(uniform(k, (n,), dt.float64 if _f64(t._b) else dt.float32, backend=t._b, device=t.device))
    return take(t, order, axis=axis)


def _f64(b: Backend | None) -> bool:
    b = b or current_backend()
    try:
        b.native_dtype(dt.float64)
        return True
    except EmberError:
        return False
