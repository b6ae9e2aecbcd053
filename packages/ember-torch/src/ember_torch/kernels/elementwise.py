"""Element-wise kernels. Bare torch functions where torch already gives NumPy's answer."""

from __future__ import annotations

from typing import Any

import torch

from ._util import (
    UNSIGNED_WIDE,
    Tensor,
    binary,
    binary_slow,
    both_tensors,
    narrow,
    unary,
    widen,
)

__all__ = [
    "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and",
    "bitwise_invert", "bitwise_left_shift", "bitwise_or", "bitwise_right_shift", "bitwise_xor",
    "ceil", "clip", "conj", "copysign", "cos", "cosh", "divide", "equal", "erf", "erfinv", "exp",
    "expm1", "floor", "floor_divide", "greater", "greater_equal", "hypot", "imag", "isfinite",
    "isinf", "isnan", "less", "less_equal", "log", "log1p", "log2", "log10", "logaddexp",
    "logical_and", "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "multiply",
    "negative", "nextafter", "not_equal", "pow", "real", "remainder", "round", "sign", "signbit",
    "sin", "sinh", "sqrt", "square", "subtract", "tan", "tanh", "trunc",
]

# -- floating-point unary: ember only sends float/complex, torch matches NumPy -----------------
acos = torch.acos
acosh = torch.acosh
asin = torch.asin
asinh = torch.asinh
atan = torch.atan
atanh = torch.atanh
cos = torch.cos
cosh = torch.cosh
erf = torch.erf
erfinv = torch.erfinv
exp = torch.exp
expm1 = torch.expm1
log = torch.log
log1p = torch.log1p
log2 = torch.log2
log10 = torch.log10
sin = torch.sin
sinh = torch.sinh
sqrt = torch.sqrt
tan = torch.tan
tanh = torch.tanh

# -- predicates --------------------------------------------------------------------------------
isfinite = torch.isfinite
isinf = torch.isinf
isnan = torch.isnan
signbit = unary(torch.signbit)

# -- rounding (integers pass through; uint16+ via a wider type) ---------------------------------
ceil = unary(torch.ceil)
floor = unary(torch.floor)
trunc = unary(torch.trunc)
_round = unary(torch.round)


def round(x: Tensor) -> Tensor:
    if x.is_complex():  # torch has no complex round: each part rounds half to even
        return torch.complex(torch.round(x.real), torch.round(x.imag))
    return _round(x)

# -- arithmetic ----------------------------------------------------------------------------------
add = binary(torch.add)
subtract = binary(torch.sub)
multiply = binary(torch.mul)
pow = binary(torch.pow)
negative = unary(torch.neg)
square = unary(torch.square)
bitwise_and = binary(torch.bitwise_and)
bitwise_or = binary(torch.bitwise_or)
bitwise_xor = binary(torch.bitwise_xor)
bitwise_left_shift = binary(torch.bitwise_left_shift)
bitwise_invert = unary(torch.bitwise_not)

# -- floating-point binary: torch wants tensors for both operands ------------------------------
atan2 = binary(torch.atan2)
copysign = binary(torch.copysign)
hypot = binary(torch.hypot)
logaddexp = binary(torch.logaddexp)
nextafter = binary(torch.nextafter)


def divide(x1: Any, x2: Any) -> Tensor:
    try:
        return torch.div(x1, x2)
    except TypeError:
        return torch.div(*both_tensors(x1, x2))


# -- comparisons (uint64 compares through a sign-flipped int64 view) ----------------------------
equal = binary(torch.eq)
not_equal = binary(torch.ne)
greater = binary(torch.gt, order=True)
greater_equal = binary(torch.ge, order=True)
less = binary(torch.lt, order=True)
less_equal = binary(torch.le, order=True)
maximum = binary(torch.maximum, order=True)  # NaN propagates, like NumPy
minimum = binary(torch.minimum, order=True)

# -- logical (ember sends bool arrays; a scalar may be either operand) -------------------------
logical_and = binary(torch.logical_and)
logical_or = binary(torch.logical_or)
logical_xor = binary(torch.logical_xor)
logical_not = torch.logical_not

real = torch.real  # identity for real tensors


def conj(x: Tensor) -> Tensor:
    # conj_physical: torch.conj only sets a lazy flag that .numpy() refuses
    return torch.conj_physical(x) if x.is_complex() else x


def imag(x: Tensor) -> Tensor:
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


def abs(x: Tensor) -> Tensor:
    if x.dtype in UNSIGNED_WIDE:
        return x.clone()
    return torch.abs(x)


def sign(x: Tensor) -> Tensor:
    if x.is_complex():
        return torch.sgn(x)  # x / |x|, 0 at 0, like NumPy 2
    if x.is_floating_point():
        return torch.where(torch.isnan(x), x, torch.sign(x))  # torch.sign(nan) is 0
    if x.dtype in UNSIGNED_WIDE:
        return (x != 0).to(x.dtype)
    return torch.sign(x)


def bitwise_right_shift(x1: Any, x2: Any) -> Tensor:
    try:
        return torch.bitwise_right_shift(x1, x2)
    except (TypeError, RuntimeError, NotImplementedError):
        x1, x2 = both_tensors(x1, x2)
        if x1.dtype is not torch.uint64:
            return binary_slow(torch.bitwise_right_shift, x1, x2)
        # logical shift of the int64 view: clear the bits the arithmetic shift filled in
        v, s = widen(x1), widen(x2)
        mask = torch.bitwise_not(torch.bitwise_left_shift(torch.full_like(v, -1), 64 - s))
        return (torch.bitwise_right_shift(v, s) & mask).view(torch.uint64)


def clip(x: Tensor, min: Any, max: Any) -> Tensor:
    if x.dtype in UNSIGNED_WIDE:  # clamp through the wider (uint64: sign-flipped) type
        shift = 2**63 if x.dtype is torch.uint64 else 0
        lo = widen(min, True) if isinstance(min, Tensor) else None if min is None else min - shift
        hi = widen(max, True) if isinstance(max, Tensor) else None if max is None else max - shift
        return narrow(clip(widen(x, True), lo, hi), x.dtype, True)
    if min is None:
        return x.clone() if max is None else torch.clamp(x, max=max)
    if max is None:
        return torch.clamp(x, min=min)
    if isinstance(min, Tensor) is isinstance(max, Tensor):
        return torch.clamp(x, min, max)
    return torch.clamp(torch.clamp(x, min=min), max=max)


def _udivmod64(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Unsigned 64-bit floor division on int64 bit patterns (torch has no uint64 division)."""
    big = b < 0  # divisor >= 2**63: the quotient is 0 or 1
    a_s, b_s = a ^ _SIGN64, b ^ _SIGN64  # order-preserving views
    q_big = (a_s >= b_s).to(torch.int64)
    bb = torch.where(big, 1, b)
    q = torch.bitwise_left_shift(((a >> 1) & _MAX64) // bb, 1)  # (a >>> 1) // b * 2
    r = a - q * bb
    fix = ((r ^ _SIGN64) >= (bb ^ _SIGN64)).to(torch.int64)
    q, r = q + fix, r - fix * bb
    q = torch.where(big, q_big, q)
    r = torch.where(big, a - q_big * b, r)
    return q, r


_SIGN64 = -(2**63)
_MAX64 = 2**63 - 1


def _divmod(x1: Any, x2: Any, which: int) -> Tensor:
    x1, x2 = both_tensors(x1, x2)
    if x1.dtype is torch.uint64:
        return _udivmod64(x1.view(torch.int64), x2.view(torch.int64))[which].view(torch.uint64)
    return binary_slow(torch.floor_divide if which == 0 else torch.remainder, x1, x2)


class _FloorDivide(torch.autograd.Function):
    """floor_divide with a zero gradient (torch has no derivative for it; ember's is 0)."""

    @staticmethod
    def forward(ctx: Any, x1: Any, x2: Any) -> Tensor:
        ctx.like = tuple(x if isinstance(x, Tensor) else None for x in (x1, x2))
        return torch.floor_divide(x1, x2)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor | None, ...]:
        return tuple(None if x is None else torch.zeros_like(x) for x in ctx.like)


def _needs_grad(x: Any) -> bool:
    return isinstance(x, Tensor) and x.requires_grad


def floor_divide(x1: Any, x2: Any) -> Tensor:
    # torch floors like NumPy; integer division by zero raises (NumPy gives 0 with a warning)
    if _needs_grad(x1) or _needs_grad(x2):
        return _FloorDivide.apply(x1, x2)
    try:
        return torch.floor_divide(x1, x2)
    except (TypeError, RuntimeError, NotImplementedError):
        return _divmod(x1, x2, 0)


def remainder(x1: Any, x2: Any) -> Tensor:
    try:
        r = torch.remainder(x1, x2)
    except (TypeError, RuntimeError, NotImplementedError):
        return _divmod(x1, x2, 1)
    if r.is_floating_point():  # NumPy: a zero remainder takes the divisor's sign too
        return torch.copysign(r, x2)
    return r
