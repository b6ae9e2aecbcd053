"""Ember's dtypes and the Array API type-promotion rules.

A :class:`DType` is a small immutable singleton; comparisons are by identity. Promotion follows
the Python Array API standard (2023.12), with the choices the standard leaves open made
explicitly so that every backend gives the same answer:

* integer (or bool) with floating point gives that floating-point dtype (``int32 + float16 ->
  float16``), as in PyTorch, MLX and JAX (NumPy would give float64; ember casts to agree);
* ``float16 + bfloat16`` gives ``float32``;
* ``uint64`` with a signed integer has no integer dtype that holds both: it is a :class:`DTypeError`.
"""

from __future__ import annotations

import contextvars
import functools
from typing import Any

from ._errors import DTypeError

__all__ = [
    "DType",
    "bfloat16",
    "bool",
    "complex64",
    "complex128",
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "promote_types",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
]

_builtin_bool = bool


class DType:
    """An ember dtype (``ember.float32`` and friends). Compare with ``is`` or ``==``."""

    __slots__ = ("bits", "index", "kind", "name")

    def __init__(self, name: str, kind: str, bits: int, index: int) -> None:
        self.name = name
        self.kind = kind  # 'b' bool, 'i' signed int, 'u' unsigned int, 'f' real float, 'c' complex
        self.bits = bits
        self.index = index

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    __str__ = __repr__

    def __reduce__(self) -> str:
        return self.name

    @property
    def itemsize(self) -> int:
        return max(self.bits // 8, 1)

    @property
    def is_floating(self) -> _builtin_bool:
        return self.kind == "f"

    @property
    def is_complex(self) -> _builtin_bool:
        return self.kind == "c"

    @property
    def is_inexact(self) -> _builtin_bool:
        return self.kind in "fc"

    @property
    def is_integer(self) -> _builtin_bool:
        return self.kind in "iu"


bool = DType("bool", "b", 8, 0)
int8 = DType("int8", "i", 8, 1)
int16 = DType("int16", "i", 16, 2)
int32 = DType("int32", "i", 32, 3)
int64 = DType("int64", "i", 64, 4)
uint8 = DType("uint8", "u", 8, 5)
uint16 = DType("uint16", "u", 16, 6)
uint32 = DType("uint32", "u", 32, 7)
uint64 = DType("uint64", "u", 64, 8)
float16 = DType("float16", "f", 16, 9)
bfloat16 = DType("bfloat16", "f", 16, 10)
float32 = DType("float32", "f", 32, 11)
float64 = DType("float64", "f", 64, 12)
complex64 = DType("complex64", "c", 64, 13)
complex128 = DType("complex128", "c", 128, 14)

ALL_DTYPES: tuple[DType, ...] = (
    bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
    float16, bfloat16, float32, float64, complex64, complex128,
)
BY_NAME: dict[str, DType] = {d.name: d for d in ALL_DTYPES}

DEFAULT_FLOAT = float32  # the default of the default float dtype (``ember.set_default_dtype``)
DEFAULT_INT = int64
DEFAULT_UINT = uint64
DEFAULT_COMPLEX = complex64

#: the default float dtype inside an ``ember.settings`` block (None: the process-wide one)
scoped_float: contextvars.ContextVar[DType | None] = contextvars.ContextVar(
    "ember_default_float", default=None)
#: the process-wide default float dtype (``ember.set_default_dtype``)
global_float: list[DType] = [DEFAULT_FLOAT]
_COMPLEX_OF = {float64: complex128}


def default_float() -> DType:
    """The dtype Python floats and float-creating ops get when no dtype is given: float32
    unless ``ember.set_default_dtype`` or an ``ember.settings`` block says otherwise."""
    d = scoped_float.get()
    return global_float[0] if d is None else d


def default_complex() -> DType:
    """The complex dtype paired with :func:`default_float`: complex128 for float64, else
    complex64 (ember has no complex32)."""
    return _COMPLEX_OF.get(default_float(), complex64)

_SIGNED = (int8, int16, int32, int64)
_UNSIGNED = (uint8, uint16, uint32, uint64)


def as_dtype(obj: Any) -> DType:
    """Turn a DType, a dtype name or a NumPy-like dtype object into an ember DType."""
    if type(obj) is DType:
        return obj
    if isinstance(obj, str):
        d = BY_NAME.get(obj)
        if d is not None:
            return d
    elif obj is float:
        return default_float()
    elif obj is int:
        return DEFAULT_INT
    elif obj is _builtin_bool:
        return bool
    elif obj is complex:
        return default_complex()
    else:
        name = getattr(obj, "name", None) or str(obj).rsplit(".", 1)[-1]
        d = BY_NAME.get(name)
        if d is not None:
            return d
    raise DTypeError(
        f"{obj!r} is not a dtype ember knows; use one of "
        + ", ".join(f"ember.{n}" for n in BY_NAME)
    )


def _float_of_bits(bits: int) -> DType:
    return {16: float16, 32: float32, 64: float64}[bits]


@functools.cache
def promote_types(a: DType, b: DType) -> DType:
    """The dtype two operands of these dtypes promote to (Array API rules, see module doc)."""
    if a is b:
        return a
    ka, kb = a.kind, b.kind
    if ka == "b":
        return b
    if kb == "b":
        return a
    if ka in "iu" and kb in "iu":
        if ka == kb:
            return a if a.bits >= b.bits else b
        s, u = (a, b) if ka == "i" else (b, a)
        if u.bits < s.bits:
            return s
        if u.bits == 64:
            raise DTypeError(
                f"cannot promote {a} and {b}: no integer dtype holds both; cast one operand "
                f"explicitly, e.g. ember.astype(x, ember.int64) or ember.astype(x, ember.float64)"
            )
        return {8: int16, 16: int32, 32: int64}[u.bits]
    if ka in "iu":
        return b
    if kb in "iu":
        return a
    # both inexact
    if ka == "f" and kb == "f":
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.bits > b.bits else b
    real_bits = max(a.bits if ka == "f" else a.bits // 2, b.bits if kb == "f" else b.bits // 2)
    return complex128 if real_bits > 32 else complex64


def result_dtype(*dtypes: DType) -> DType:
    out = dtypes[0]
    for d in dtypes[1:]:
        out = promote_types(out, d)
    return out


def int_range(d: DType) -> tuple[int, int]:
    """(min, max) of an integer dtype (the machinery behind ``ember.iinfo``)."""
    if d.kind == "u":
        return 0, 2**d.bits - 1
    return -(2 ** (d.bits - 1)), 2 ** (d.bits - 1) - 1


def promotes_to(from_: DType, to: DType) -> _builtin_bool:
    """Whether ``from_`` promotes to ``to`` (the rule behind ``ember.can_cast``)."""
    if from_ is to:
        return True
    try:
        return promote_types(from_, to) is to
    except DTypeError:
        return False


_KINDS = {
    "bool": "b",
    "signed integer": "i",
    "unsigned integer": "u",
    "integral": "iu",
    "real floating": "f",
    "complex floating": "c",
    "numeric": "iufc",
}


def is_kind(dtype: DType, kind: Any) -> _builtin_bool:
    """Array API ``isdtype`` on a DType: ``kind`` is a dtype, a kind name, or a tuple of those."""
    if isinstance(kind, tuple):
        return any(is_kind(dtype, k) for k in kind)
    if isinstance(kind, str) and kind in _KINDS:
        return dtype.kind in _KINDS[kind]
    return dtype is as_dtype(kind)


def scalar_dtype(value: Any) -> DType:
    """The default dtype for a Python scalar (bool, int, float, complex)."""
    t = type(value)
    if t is _builtin_bool:
        return bool
    if t is int:
        return DEFAULT_INT
    if t is float:
        return default_float()
    if t is complex:
        return default_complex()
    raise DTypeError(f"{value!r} ({t.__name__}) is not a Python scalar ember can convert")
