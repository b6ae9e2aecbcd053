"""Gradient cases with complex inputs (all ``complex=True``): the element-wise ops, reductions,
products and array manipulation whose rules claim complex support, checked against finite
differences in the real and imaginary parts (PyTorch's convention: the gradient of a real loss
L at z = a + ib is dL/da + i dL/db).

Complex values keep both parts at least 0.1 from 0 (the strategies' default), so they stay off
the branch cuts of log, sqrt, pow and the inverse trigonometric functions. The "second order"
cases differentiate a gradient taken on a nested tape (the kit's second-derivative test needs
real inputs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._cases import resolve
from ._grad_cases import GradCall, grad_case

E = ember
F64 = E.float64
C128 = E.complex128


def _shape(data: Any, min_dims: int = 0) -> tuple[int, ...]:
    return S.shape(data, min_dims, 3, 1, 3)


def _z(data: Any, shape: tuple[int, ...], r: float = 2.0) -> np.ndarray:
    """Complex values with parts in [0.1, r] in magnitude, either sign."""
    return S.arr(data, C128, shape, -r, r)


def _const(t: Any, a: Any) -> Any:
    """A constant of t's precision (complex64 beside complex64 / float32 input)."""
    single = t.dtype in (E.float32, E.complex64)
    d = (E.complex64 if single else C128) if np.iscomplexobj(a) else (E.float32 if single else F64)
    return E.asarray(a, backend=t.backend, dtype=d)


def _grad_of(f: Any, w: np.ndarray) -> Any:
    """t -> the gradient of sum(Re(conj(w) f(t))) from a nested tape (conj(f'(t)) w for a
    holomorphic f): its gradient checks the rule's own derivative."""

    def fn(t: Any) -> Any:
        with E.GradientTape() as tape:
            tape.watch(t)
            y = f(t)
            loss = E.sum(E.real(y * E.conj(_const(t, w))))
        return tape.gradient(loss, t)

    return fn


# -- unary -------------------------------------------------------------------------------------
_UNARY = {
    "exp": 2.0, "expm1": 2.0, "log": 3.0, "log1p": 2.0, "log2": 3.0, "log10": 3.0, "sqrt": 3.0,
    "square": 2.0, "sin": 2.0, "cos": 2.0, "tan": 1.2, "sinh": 2.0, "cosh": 2.0, "tanh": 1.0,
    "asin": 1.5, "acos": 1.5, "atan": 1.5, "asinh": 1.5, "acosh": 2.0, "atanh": 1.5,
    "negative": 3.0, "positive": 3.0, "conj": 3.0, "real": 3.0, "imag": 3.0, "abs": 3.0,
    "sign": 3.0,
}
_SECOND = ("exp", "log", "sqrt", "square", "sin", "tan", "tanh", "atan", "conj", "real",
           "imag", "abs", "sign")


def _unary(op: str, r: float) -> None:
    f: Any = resolve(op)

    @grad_case(op, "complex", complex=True)
    def build(data: Any) -> GradCall:
        return GradCall(f, (_z(data, _shape(data), r),))

    if op in _SECOND:
        @grad_case(op, "complex second order", complex=True)
        def second(data: Any) -> GradCall:
            z = _z(data, _shape(data), r)
            return GradCall(_grad_of(f, _z(data, z.shape)), (z,))


for _op, _r in _UNARY.items():
    _unary(_op, _r)


# -- binary ------------------------------------------------------------------------------------
def _binary(op: str, r1: float = 2.0, r2: float = 2.0) -> None:
    f: Any = resolve(op)

    @grad_case(op, "complex broadcast", complex=True)
    def both(data: Any) -> GradCall:
        s1, s2 = S.bcast_shapes(data, 2, 0, 3, 1, 3)
        return GradCall(f, (_z(data, s1, r1), _z(data, s2, r2)))

    @grad_case(op, "real and complex", complex=True)
    def mixed(data: Any) -> GradCall:  # the real operand is promoted: its gradient is real
        s1, s2 = S.bcast_shapes(data, 2, 0, 3, 1, 3)
        x = S.arr(data, F64, s1, 0.5, 2) * np.where(S.arr(data, E.bool, s1), 1.0, -1.0)
        if op == "pow":
            x = np.abs(x)  # a real base: positive (the log of a negative real is on the cut)
        swap = data.draw(st.booleans(), label="complex first")
        if swap:
            return GradCall(f, (_z(data, s2, r1), x))
        return GradCall(f, (x, _z(data, s2, r2)))

    @grad_case(op, "complex scalar", complex=True)
    def scalar(data: Any) -> GradCall:  # a Python complex operand needs no cotangent
        z = _z(data, _shape(data), r1)
        c = complex(_z(data, (), r2))
        if data.draw(st.booleans(), label="scalar first"):
            return GradCall(lambda t: f(c, t) if op != "pow" else f(abs(c), t), (z,),
                            note=f"x1={c}")
        return GradCall(lambda t: f(t, c), (z,), note=f"x2={c}")


for _op in ("add", "subtract", "multiply", "divide"):
    _binary(_op)
_binary("pow", 2.0, 1.0)


@grad_case("divide", "reciprocal", complex=True)
def _reciprocal(data: Any) -> GradCall:
    return GradCall(lambda t: 1.0 / t, (_z(data, _shape(data)),))


@grad_case("pow", "integer power", complex=True)
def _pow_int(data: Any) -> GradCall:
    k = data.draw(st.integers(-2, 3), label="power")
    return GradCall(lambda t: t ** k, (_z(data, _shape(data)),), note=f"z ** {k}")


@grad_case("multiply", "complex second order", complex=True)
def _multiply2(data: Any) -> GradCall:
    z = _z(data, _shape(data))
    return GradCall(_grad_of(lambda t: t * E.conj(t) * t, _z(data, z.shape)), (z,))


@grad_case("divide", "complex second order", complex=True)
def _divide2(data: Any) -> GradCall:
    z = _z(data, _shape(data))
    return GradCall(_grad_of(lambda t: E.exp(t) / t, _z(data, z.shape)), (z,))


@grad_case("pow", "complex second order", complex=True)
def _pow2(data: Any) -> GradCall:
    z = _z(data, _shape(data))
    return GradCall(_grad_of(lambda t: t ** (0.5 + 0.25j), _z(data, z.shape)), (z,))


# -- reductions --------------------------------------------------------------------------------
def _reduction(op: str, r: float = 2.0) -> None:
    f: Any = resolve(op)

    @grad_case(op, "complex axes", complex=True)
    def build(data: Any) -> GradCall:
        z = _z(data, _shape(data), r)
        axes, keep = S.axes_arg(data, z.ndim), data.draw(st.booleans(), label="keepdims")
        return GradCall(lambda t: f(t, axis=axes, keepdims=keep), (z,),
                        note=f"axis={axes} keepdims={keep}")


_reduction("sum")
_reduction("mean")
_reduction("prod", 1.5)


def _cumulative(op: str) -> None:
    f: Any = resolve(op)

    @grad_case(op, "complex", complex=True)
    def build(data: Any) -> GradCall:
        z = _z(data, _shape(data, 1), 1.5)
        axis = data.draw(st.integers(-z.ndim, z.ndim - 1), label="axis")
        init = data.draw(st.booleans(), label="include_initial")
        return GradCall(lambda t: f(t, axis=axis, include_initial=init), (z,),
                        note=f"axis={axis} include_initial={init}")


_cumulative("cumulative_sum")
_cumulative("cumulative_prod")


# -- products ----------------------------------------------------------------------------------
@grad_case("matmul", "complex", complex=True)
def _matmul(data: Any) -> GradCall:
    n, k, m = (data.draw(st.integers(1, 3), label="size") for _ in range(3))
    batch = S.shape(data, 0, 1, 1, 2)
    kind = data.draw(st.sampled_from(["matrix", "vector left", "vector right"]), label="kind")
    a = _z(data, (k,) if kind == "vector left" else (*batch, n, k))
    b = _z(data, (k,) if kind == "vector right" else (k, m))
    return GradCall(E.matmul, (a, b), note=kind)


@grad_case("tensordot", "complex", complex=True)
def _tensordot(data: Any) -> GradCall:
    return GradCall(lambda a, b: E.tensordot(a, b, axes=1), (_z(data, (2, 3)), _z(data, (3, 2))))


@grad_case("vecdot", "complex", complex=True)
def _vecdot(data: Any) -> GradCall:  # conjugates x1
    return GradCall(E.vecdot, (_z(data, (2, 3)), _z(data, (3,))))


# -- manipulation, indexing, dtypes ------------------------------------------------------------
@grad_case("reshape", "complex", complex=True)
def _reshape(data: Any) -> GradCall:
    z = _z(data, _shape(data))
    return GradCall(lambda t: E.reshape(t, (-1,)) * _const(t, np.arange(z.size) * (1 - 1j)), (z,))


@grad_case("permute_dims", "complex", complex=True)
def _permute(data: Any) -> GradCall:
    z = _z(data, _shape(data, 1))
    perm = tuple(data.draw(st.permutations(range(z.ndim)), label="perm"))
    return GradCall(lambda t: E.permute_dims(t, perm), (z,))


@grad_case("matrix_transpose", "complex", complex=True)
def _mt(data: Any) -> GradCall:
    return GradCall(lambda t: E.conj(E.matrix_transpose(t)), (_z(data, _shape(data, 2)),))


@grad_case("getitem", "complex", complex=True)
def _getitem(data: Any) -> GradCall:
    z = _z(data, _shape(data, 1))
    idx = S.arr(data, E.int64, (4,), 0, z.shape[0] - 1)  # repeats accumulate
    return GradCall(lambda t: (t[..., 1:], t[E.asarray(idx, backend=t.backend)]), (z,))


def _index_update(mode: str) -> None:
    @grad_case("index_update", f"complex {mode}", complex=True)
    def build(data: Any) -> GradCall:
        z = _z(data, _shape(data, 1))
        idx = np.unique(S.arr(data, E.int64, (3,), 0, z.shape[0] - 1))
        v = _z(data, (idx.size, *z.shape[1:]))

        def fn(t: Any, u: Any) -> Any:
            return getattr(t.at[E.asarray(idx, backend=t.backend)], mode)(u)

        return GradCall(fn, (z, v))


for _mode in ("set", "add", "multiply"):
    _index_update(_mode)


@grad_case("concat", "complex", complex=True)
def _concat(data: Any) -> GradCall:
    shape = _shape(data, 1)
    return GradCall(lambda a, b: E.concat([a, b, a], axis=0), (_z(data, shape), _z(data, shape)))


@grad_case("where", "complex", complex=True)
def _where(data: Any) -> GradCall:
    shape = _shape(data)
    c = S.arr(data, E.bool, shape)
    return GradCall(lambda a, b: E.where(E.asarray(c, backend=a.backend), a, b),
                    (_z(data, shape), _z(data, shape)))


def _grid(data: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Parts in {+-0.25, +-0.5}, so |z| <= 1 and z +- 0.125 is exact in complex64."""
    g = S.rng(data)
    parts = np.array([-0.5, -0.25, 0.25, 0.5])
    return g.choice(parts, shape) + 1j * g.choice(parts, shape)


@grad_case("astype", "complex64 and back", complex=True, step=0.125)
def _astype_c64(data: Any) -> GradCall:  # exact in complex64: grid values, linear use
    def fn(t: Any) -> Any:
        return E.astype(E.astype(t, E.complex64), t.dtype) * (1 - 2j)

    return GradCall(fn, (_grid(data, _shape(data)),), note="complex -> complex64 -> complex")
