"""Gradient cases of the element-wise ops (inputs kept away from kinks and singularities)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._cases import resolve as _resolve
from ._grad_cases import GradCall, grad_case, on

E = ember
F64 = E.float64


def resolve(op: str) -> Any:
    fn = _resolve(op)
    assert fn is not None, f"kit bug: no public function for {op}"
    return fn


def _shape(data: Any) -> tuple[int, ...]:
    return S.shape(data, 0, 3, 1, 3)


def _x(data: Any, lo: float, hi: float, **kw: Any) -> np.ndarray:
    return S.arr(data, F64, _shape(data), lo, hi, **kw)


def _off_grid(data: Any, shape: tuple[int, ...], lo: float, hi: float) -> np.ndarray:
    """Values k/2 + 1/4: never an integer or a half-integer (floor, round, ... are flat there)."""
    return S.arr(data, F64, shape, lo, hi, grid=0.5) + 0.25


def unary(op: str, lo: float, hi: float, *, second: bool = True, **kw: Any) -> None:
    fn = resolve(op)

    @grad_case(op, second=second)
    def build(data: Any) -> GradCall:
        return GradCall(fn, (_x(data, lo, hi, **kw),))


for _op, (_lo, _hi) in {
    "exp": (-3, 3), "expm1": (-3, 3), "log": (0.2, 5), "log1p": (-0.5, 3), "log2": (0.2, 5),
    "log10": (0.2, 5), "sqrt": (0.2, 5), "square": (-3, 3), "sin": (-3, 3), "cos": (-3, 3),
    "tan": (-1.2, 1.2), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atan": (-3, 3),
    "sinh": (-2, 2), "cosh": (-2, 2), "tanh": (-2, 2), "asinh": (-3, 3), "acosh": (1.2, 4),
    "atanh": (-0.9, 0.9), "erf": (-2, 2), "erfinv": (-0.9, 0.9), "negative": (-3, 3),
    "positive": (-3, 3), "conj": (-3, 3), "real": (-3, 3), "reciprocal": (0.3, 4),
}.items():
    unary(_op, _lo, _hi)
unary("abs", -3, 3, nonzero=True)
unary("sign", -3, 3, nonzero=True)
unary("imag", -3, 3, second=False)

def _piecewise_flat(op: str) -> None:
    fn = resolve(op)

    @grad_case(op, second=True)
    def build(data: Any) -> GradCall:
        return GradCall(fn, (_off_grid(data, _shape(data), -3, 3),))


for _op in ("floor", "ceil", "round", "trunc"):
    _piecewise_flat(_op)


def binary(op: str, dom1: dict[str, Any], dom2: dict[str, Any], *, variant: str = "broadcast",
           fn: Any = None) -> None:
    f = fn or resolve(op)

    @grad_case(op, variant)
    def build(data: Any) -> GradCall:
        s1, s2 = S.bcast_shapes(data, 2, 0, 3, 1, 3)
        return GradCall(f, (S.arr(data, F64, s1, **dom1), S.arr(data, F64, s2, **dom2)))

    @grad_case(op, "scalar")
    def scalar(data: Any) -> GradCall:
        x = S.arr(data, F64, _shape(data), **dom1)
        s = float(S.arr(data, F64, (), **dom2))
        swap = data.draw(st.booleans(), label="scalar first")
        if swap:
            x = S.arr(data, F64, _shape(data), **dom2)
            s = float(S.arr(data, F64, (), **dom1))
            return GradCall(lambda t: f(s, t), (x,), note=f"scalar x1={s}")
        return GradCall(lambda t: f(t, s), (x,), note=f"scalar x2={s}")


_ANY = {"lo": -3, "hi": 3}
_NZ = {"lo": -3, "hi": 3, "nonzero": True}
binary("add", _ANY, _ANY)
binary("subtract", _ANY, _ANY)
binary("multiply", _ANY, _ANY)
binary("divide", _ANY, _NZ)
binary("pow", {"lo": 0.5, "hi": 2}, {"lo": -2, "hi": 2})
binary("atan2", _NZ, _NZ)  # x1 = 0 with x2 < 0 is the branch cut
binary("hypot", _NZ, _NZ)
binary("copysign", _NZ, _NZ)


@grad_case("nextafter")
def _nextafter(data: Any) -> GradCall:
    """One ulp from x1 towards x2: it moves with x1 (derivative 1) and not with x2 while x2
    stays on the same side (derivative 0), torch's autograd's rule; x2 is kept 0.5 or more
    from x1 so the finite differences do not cross it."""
    x1 = _x(data, -3, 3)
    side = np.where(S.arr(data, F64, x1.shape, 0, 1, grid=1.0) > 0, 1.0, -1.0)
    gap = 0.5 + S.arr(data, F64, x1.shape, 0, 2)
    return GradCall(E.nextafter, (x1, x1 + side * gap))


@grad_case("hypot", "ties")
def _hypot_ties(data: Any) -> GradCall:
    """|x1| == |x2|: an implementation through maximum/minimum loses the gradient at the tie
    (MLX's own engine gave 0 for hypot(1, 1))."""
    x = _x(data, -3, 3, nonzero=True)
    flip = np.where(S.arr(data, F64, x.shape, 0, 1, grid=1.0) > 0, -1.0, 1.0)
    return GradCall(E.hypot, (x, x * flip))
binary("logaddexp", _ANY, _ANY)


def _apart(op: str) -> None:
    """maximum/minimum: operands on interleaved grids, never equal (ties split the gradient)."""
    f = resolve(op)

    @grad_case(op, "broadcast")
    def build(data: Any) -> GradCall:
        s1, s2 = S.bcast_shapes(data, 2, 0, 3, 1, 3)
        a = S.arr(data, F64, s1, -3, 3, grid=1.0)
        b = S.arr(data, F64, s2, -3, 3, grid=1.0) + 0.5
        return GradCall(f, (a, b))

    @grad_case(op, "tie")
    def tie(data: Any) -> GradCall:  # equal operands: each gets half (PyTorch, JAX)
        a = _x(data, -3, 3)
        return GradCall(lambda t: f(t, t * 1.0), (a,))


_apart("maximum")
_apart("minimum")


def _divisible(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """x1 = x2 * (k + f) with f in [0.25, 0.75]: x1 / x2 is far from an integer."""
    shape = _shape(data)
    x2 = S.arr(data, F64, shape, 0.5, 2.5) * np.where(S.arr(data, E.bool, shape), 1.0, -1.0)
    k = S.arr(data, E.int64, shape, -2, 2).astype(np.float64)
    f = S.arr(data, F64, shape, 0.25, 0.75)
    return x2 * (k + f), x2


@grad_case("remainder")
def _remainder(data: Any) -> GradCall:
    return GradCall(E.remainder, _divisible(data))


@grad_case("floor_divide")
def _floor_divide(data: Any) -> GradCall:
    return GradCall(E.floor_divide, _divisible(data))


@grad_case("clip", "scalar bounds")
def _clip_scalar(data: Any) -> GradCall:
    x = _off_grid(data, _shape(data), -3, 3)
    return GradCall(lambda t: E.clip(t, -1.0, 1.5), (x,))


@grad_case("clip", "tensor bounds")
def _clip_tensor(data: Any) -> GradCall:
    s1, s2 = S.bcast_shapes(data, 2, 0, 2, 1, 3)
    x = S.arr(data, F64, s1, -3, 3, grid=1.0)
    lo = S.arr(data, F64, s2, -2, 0, grid=1.0) + 0.5
    hi = lo + 1.0 + S.arr(data, F64, s2, 0, 2, grid=1.0)  # bounds on .5: never equal to x
    return GradCall(lambda t, a, b: E.clip(t, a, b), (x, lo, hi))


@grad_case("where")
def _where(data: Any) -> GradCall:
    sc, s1, s2 = S.bcast_shapes(data, 3, 0, 3, 1, 3)
    c = S.arr(data, E.bool, sc)
    return GradCall(lambda a, b: E.where(on(a, c), a, b),
                    (S.arr(data, F64, s1, -3, 3), S.arr(data, F64, s2, -3, 3)))


@grad_case("astype", "float32 and back", step=1e-2)
def _astype(data: Any) -> GradCall:  # exact in float32: values on a coarse grid, linear use
    return GradCall(lambda t: E.astype(E.astype(t, E.float32), E.float64) * 3.0,
                    (S.arr(data, F64, _shape(data), -3, 3, grid=0.25),),
                    note="float64 -> float32 -> float64")


@grad_case("astype", "to complex", complex=True)
def _astype_complex(data: Any) -> GradCall:
    def fn(t: Any) -> Any:
        return E.astype(t, E.complex128 if t.dtype is E.float64 else E.complex64) * (1 + 2j)

    return GradCall(fn, (_x(data, -3, 3),))


@grad_case("asarray", "copy")
def _asarray(data: Any) -> GradCall:
    return GradCall(lambda t: E.asarray(t, copy=True) * 2.0, (_x(data, -3, 3),))


@grad_case("tril")
def _tril(data: Any) -> GradCall:
    x = S.arr(data, F64, S.shape(data, 2, 3, 1, 3), -3, 3)
    return GradCall(lambda t: E.tril(t, k=1), (x,))


@grad_case("triu")
def _triu(data: Any) -> GradCall:
    x = S.arr(data, F64, S.shape(data, 2, 3, 1, 3), -3, 3)
    return GradCall(lambda t: E.triu(t, k=-1), (x,))
