"""Error cases: bad input must raise the same ember exception type on every backend, with a
message naming the op. ``MISMATCH_CASES`` mix tensors of two backends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import ember

__all__ = ["ERROR_CASES", "MISMATCH_CASES", "ErrorCase"]

E = ember


@dataclass(frozen=True)
class ErrorCase:
    op: str
    variant: str
    thunk: Callable[..., Any]  # (T, *other) -> runs the op; T(obj, dtype=None) makes a tensor
    counts: bool = False  # counts towards catalogue coverage (ops only testable this way)
    aliases: tuple[str, ...] = ()  # other words that name the op in a message

    @property
    def id(self) -> str:
        return f"{self.op}-{self.variant}"

    def raised(self, name: str, other: str | None = None) -> BaseException | None:
        def t(obj: Any, dtype: Any = None, backend: str = name) -> Any:
            return E.asarray(np.asarray(obj), dtype=dtype, backend=backend)

        def u(obj: Any, dtype: Any = None) -> Any:
            return t(obj, dtype, other or name)

        try:
            with E.use_backend(name):
                out = self.thunk(t, u)
                for leaf in out if isinstance(out, (tuple, list)) else (out,):
                    if isinstance(leaf, E.Tensor):
                        leaf.numpy()  # lazy backends raise on evaluation
        except Exception as exc:
            return exc
        return None

    def names_op(self, exc: BaseException) -> bool:
        msg = str(exc)
        return any(w in msg for w in (self.op, self.op.rpartition(".")[2], *self.aliases))


ERROR_CASES: list[ErrorCase] = []
MISMATCH_CASES: list[ErrorCase] = []


def err(op: str, variant: str, **kw: Any) -> Callable[..., Any]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        ERROR_CASES.append(ErrorCase(op, variant, fn, **kw))
        return fn

    return deco


def mismatch(op: str, fn: Callable[..., Any]) -> None:
    MISMATCH_CASES.append(ErrorCase(op, "two-backends", fn))


F = np.ones((2, 3), np.float32)
G = np.ones((4, 5), np.float32)
I3 = np.arange(3)

# shape mismatches: ShapeError --------------------------------------------------------------------
for _op in ("add", "multiply", "subtract", "divide", "maximum", "equal", "less", "atan2",
            "logaddexp", "pow", "hypot"):
    err(_op, "no-broadcast")(lambda T, U, _op=_op: getattr(E, _op)(T(F), T(G)))
for _op in ("bitwise_and", "logical_or", "bitwise_left_shift"):
    err(_op, "no-broadcast")(lambda T, U, _op=_op: getattr(E, _op)(T(I3), T(np.arange(4))))
err("where", "no-broadcast")(lambda T, U: E.where(T(np.ones(3, bool)), T(F), T(G)))
err("matmul", "inner-mismatch")(lambda T, U: E.matmul(T(F), T(G)))
err("matmul", "0-d")(lambda T, U: E.matmul(T(np.float32(1)), T(F)))
err("tensordot", "axes-mismatch")(lambda T, U: E.tensordot(T(F), T(G), axes=1))
err("vecdot", "axis-mismatch")(lambda T, U: E.vecdot(T(F), T(G)))
err("concat", "shapes")(lambda T, U: E.concat([T(F), T(G)], axis=0))
err("concat", "axis-range")(lambda T, U: E.concat([T(F), T(F)], axis=2))
err("stack", "shapes")(lambda T, U: E.stack([T(F), T(G)]))
err("reshape", "size")(lambda T, U: E.reshape(T(F), (4, 2)))
err("broadcast_to", "shape")(lambda T, U: E.broadcast_to(T(F), (3, 3)))
err("broadcast_arrays", "shapes")(lambda T, U: E.broadcast_arrays(T(F), T(G)))
err("squeeze", "not-one")(lambda T, U: E.squeeze(T(F), 0))
err("permute_dims", "not-a-permutation")(lambda T, U: E.permute_dims(T(F), (0, 0)))
err("expand_dims", "axis-range")(lambda T, U: E.expand_dims(T(F), axis=4))
err("flip", "axis-range")(lambda T, U: E.flip(T(F), axis=-3))
err("roll", "axis-range")(lambda T, U: E.roll(T(F), 1, axis=2))
err("moveaxis", "axis-range")(lambda T, U: E.moveaxis(T(F), 0, 5))
err("unstack", "axis-range")(lambda T, U: E.unstack(T(F), axis=2))
err("take", "axis-range")(lambda T, U: E.take(T(F), T(I3), axis=2))
err("take_along_axis", "axis-range")(
    lambda T, U: E.take_along_axis(T(F), T(np.zeros((2, 1), np.int64)), axis=2))
err("take_along_axis", "rank")(lambda T, U: E.take_along_axis(T(F), T(I3), axis=1))
err("take_along_axis", "no-broadcast")(
    lambda T, U: E.take_along_axis(T(F), T(np.zeros((3, 1), np.int64)), axis=1))
for _op in ("sum", "prod", "mean", "var", "std", "max", "min", "all", "any", "count_nonzero"):
    err(_op, "axis-range")(lambda T, U, _op=_op: getattr(E, _op)(T(F), axis=2))
    err(_op, "negative-axis-range")(lambda T, U, _op=_op: getattr(E, _op)(T(F), axis=(-3,)))
err("sum", "repeated-axis")(lambda T, U: E.sum(T(F), axis=(0, -2)))
err("max", "empty")(lambda T, U: E.max(T(np.ones((0, 2), np.float32))))
err("argmax", "empty")(lambda T, U: E.argmax(T(np.ones((0,), np.float32))))
err("argmin", "axis-range")(lambda T, U: E.argmin(T(F), axis=-3))
err("cumulative_sum", "axis-range")(lambda T, U: E.cumulative_sum(T(F), axis=2))
err("cumulative_prod", "no-axis")(lambda T, U: E.cumulative_prod(T(F)))
err("sort", "axis-range")(lambda T, U: E.sort(T(F), axis=2))
err("argsort", "0-d")(lambda T, U: E.argsort(T(np.float32(1))))
err("nonzero", "0-d")(lambda T, U: E.nonzero(T(np.float32(1))))
err("searchsorted", "2-d")(lambda T, U: E.searchsorted(T(F), T(F)))
err("diff", "axis-range")(lambda T, U: E.diff(T(F), axis=3))
err("tril", "1-d")(lambda T, U: E.tril(T(I3)))
err("getitem", "too-many-indices", aliases=("indices", "index"))(lambda T, U: T(F)[0, 0, 0])
err("getitem", "int-out-of-bounds", aliases=("index", "bounds"))(lambda T, U: T(F)[5])
err("index_update", "out-of-bounds", aliases=("index",))(
    lambda T, U: E.index_update(T(F), (7,), T(np.float32(1))))
for _op in ("linalg.inv", "linalg.det", "linalg.cholesky", "linalg.eigh", "linalg.slogdet",
            "linalg.eigvalsh"):
    err(_op, "not-square")(lambda T, U, _op=_op: getattr(E.linalg, _op[7:])(T(F)))
for _op in ("linalg.svd", "linalg.qr", "linalg.pinv", "linalg.matrix_rank", "linalg.svdvals",
            "linalg.matrix_norm", "linalg.diagonal", "linalg.trace"):
    err(_op, "1-d")(lambda T, U, _op=_op: getattr(E.linalg, _op[7:])(T(I3.astype(np.float32))))
err("linalg.solve", "not-aligned")(lambda T, U: E.linalg.solve(T(np.eye(3, dtype=np.float32)), T(G)))
err("linalg.cross", "not-3")(lambda T, U: E.linalg.cross(T(F[:, :2]), T(F[:, :2])))
err("linalg.vector_norm", "axis-range")(lambda T, U: E.linalg.vector_norm(T(F), axis=2))
err("linalg.matrix_power", "not-square")(lambda T, U: E.linalg.matrix_power(T(F), 2))
err("linalg.outer", "2-d")(lambda T, U: E.linalg.outer(T(F), T(F)))
for _op in ("fft.fft", "fft.rfft", "fft.ifft", "fft.irfft"):
    err(_op, "axis-range")(lambda T, U, _op=_op: getattr(E.fft, _op[4:])(T(F), axis=2))
err("fft.fftn", "s-axes-length")(lambda T, U: E.fft.fftn(T(F), s=(2, 2), axes=(0,)))

# dtype errors: DTypeError --------------------------------------------------------------------
for _op in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
            "bitwise_right_shift"):
    err(_op, "float")(lambda T, U, _op=_op: getattr(E, _op)(T(F), T(F)))
err("bitwise_invert", "float")(lambda T, U: E.bitwise_invert(T(F)))
err("add", "bool")(lambda T, U: E.add(T(np.ones(3, bool)), T(np.ones(3, bool))))
err("remainder", "bool")(lambda T, U: E.remainder(T(np.ones(3, bool)), T(np.ones(3, bool))))
err("matmul", "bool")(lambda T, U: E.matmul(T(np.ones((2, 2), bool)), T(np.ones((2, 2), bool))))
err("add", "uint64-int64")(lambda T, U: E.add(T(I3.astype(np.uint64)), T(I3)))
err("add", "int8-scalar-overflow")(lambda T, U: E.add(T(I3.astype(np.int8)), 1000))
err("take_along_axis", "float-indices")(
    lambda T, U: E.take_along_axis(T(F), T(np.zeros((2, 1), np.float32)), axis=1))
err("reciprocal", "bool")(lambda T, U: E.reciprocal(T(np.ones(3, bool))))
err("take", "float-indices")(lambda T, U: E.take(T(F), T(np.zeros(2, np.float32)), axis=0))
err("getitem", "float-index", aliases=("index",))(lambda T, U: T(F)[T(np.zeros(1, np.float32))])
err("index_update", "lossy-values")(
    lambda T, U: E.index_update(T(I3), (0,), T(np.float32(1.5))))
err("clip", "float-bound-int")(lambda T, U: E.clip(T(I3), 0.5, 2))
err("max", "complex")(lambda T, U: E.max(T(np.ones(3, np.complex64))))
err("fft.rfft", "complex")(lambda T, U: E.fft.rfft(T(np.ones(4, np.complex64))))
err("fft.fftfreq", "int-dtype")(lambda T, U: E.fft.fftfreq(4, dtype=E.int32, backend=T.__defaults__[1]))
err("full_like", "float-into-int")(lambda T, U: E.full_like(T(I3), 0.5))
err("positive", "bool")(lambda T, U: E.positive(T(np.ones(2, bool))))
err("astype", "unknown-dtype", aliases=("dtype",))(lambda T, U: E.astype(T(F), "float8"))
err("index_update", "python-int-overflow")(
    lambda T, U: E.index_update(T(I3.astype(np.uint8)), (0,), 300))
err("asarray", "int-out-of-range", aliases=("convert",))(
    lambda T, U: E.asarray([300], dtype=E.uint8, backend=T.__defaults__[1]))
err("getitem", "mask-shape", aliases=("boolean index",))(
    lambda T, U: T(F)[T(np.zeros((0, 5), bool))])

# two backends ---------------------------------------------------------------------------------
mismatch("add", lambda T, U: E.add(T(F), U(F)))
mismatch("multiply", lambda T, U: T(F) * U(F))
mismatch("matmul", lambda T, U: E.matmul(T(F), U(F.T)))
mismatch("where", lambda T, U: E.where(T(np.ones(3, bool)), T(I3), U(I3)))
mismatch("concat", lambda T, U: E.concat([T(F), U(F)]))
mismatch("stack", lambda T, U: E.stack([T(F), U(F)]))
mismatch("linalg.solve", lambda T, U: E.linalg.solve(T(np.eye(3, dtype=np.float32)), U(np.ones(3, np.float32))))
mismatch("index_update", lambda T, U: E.index_update(T(F), (0,), U(np.ones(3, np.float32))))
mismatch("equal", lambda T, U: T(I3) == U(I3))

# windows and kernels larger than the (padded) input: ShapeError on every backend ------------------
# (NumPy and MLX returned an empty tensor for a pooling window larger than the input, torch raised)
_X22 = np.ones((1, 2, 2, 1), np.float32)
for _op in ("max_pool", "avg_pool"):
    err(f"nn.{_op}", "window-larger-than-input")(
        lambda T, U, _op=_op: getattr(E.nn, _op)(T(_X22), 4))
    err(f"nn.{_op}", "window-larger-than-padded-input")(
        lambda T, U, _op=_op: getattr(E.nn, _op)(T(_X22), 5, 1, 1))
    err(f"nn.{_op}", "1-d-window-larger-than-input")(
        lambda T, U, _op=_op: getattr(E.nn, _op)(T(np.ones((2, 3, 2), np.float32)), 4, 1))
err("nn.conv2d", "kernel-larger-than-input")(
    lambda T, U: E.nn.conv2d(T(_X22), T(np.ones((1, 3, 3, 1), np.float32))))
err("nn.conv2d", "dilated-kernel-larger-than-padded-input")(
    lambda T, U: E.nn.conv2d(T(_X22), T(np.ones((1, 2, 2, 1), np.float32)), padding=1,
                             dilation=4))
err("nn.conv1d", "kernel-larger-than-input")(
    lambda T, U: E.nn.conv1d(T(np.ones((1, 3, 1), np.float32)), T(np.ones((1, 5, 1), np.float32))))

# attention: batch axes (or a mask) that do not broadcast: ShapeError naming the op everywhere
# (torch's fused kernel raised its own RuntimeError)
_Q = np.ones((2, 3, 4), np.float32)
err("nn.scaled_dot_product_attention", "batch-axes-do-not-broadcast")(
    lambda T, U: E.nn.scaled_dot_product_attention(T(_Q), T(np.ones((3, 5, 4), np.float32)),
                                                   T(np.ones((3, 5, 2), np.float32))))
err("nn.scaled_dot_product_attention", "mask-does-not-broadcast")(
    lambda T, U: E.nn.scaled_dot_product_attention(T(_Q), T(_Q), T(_Q),
                                                   mask=T(np.ones((2, 2), bool))))
