"""Bind Tensor operators and methods to the op functions (done once at import)."""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor
from . import _elementwise as ew
from ._dtypes import astype
from ._indexing import _At, getitem, index_update
from ._linalg import matmul, matrix_transpose
from ._manipulation import reshape


def _swap(fn: Any) -> Any:
    def reflected(self: Tensor, other: Any) -> Tensor:
        return fn(other, self)

    reflected.__name__ = f"r{fn.__name__}"
    return reflected


def _setitem(self: Tensor, key: Any, value: Any) -> None:
    """``x[key] = value`` rebinds x to an updated copy (no other tensor sees the change)."""
    self._n = index_update(self, key, value)._n


_BINARY = {
    "add": ew.add, "sub": ew.subtract, "mul": ew.multiply, "truediv": ew.divide,
    "floordiv": ew.floor_divide, "mod": ew.remainder, "pow": ew.pow, "matmul": matmul,
    "and": ew.bitwise_and, "or": ew.bitwise_or, "xor": ew.bitwise_xor,
    "lshift": ew.bitwise_left_shift, "rshift": ew.bitwise_right_shift,
}


def bind() -> None:
    for name, fn in _BINARY.items():
        setattr(Tensor, f"__{name}__", fn)
        setattr(Tensor, f"__r{name}__", _swap(fn))
    for name, fn in {"eq": ew.equal, "ne": ew.not_equal, "lt": ew.less, "le": ew.less_equal,
                     "gt": ew.greater, "ge": ew.greater_equal}.items():
        setattr(Tensor, f"__{name}__", fn)
    plain = {
        "__neg__": ew.negative, "__pos__": ew.positive, "__abs__": ew.abs,
        "__invert__": ew.bitwise_invert, "__getitem__": getitem, "__setitem__": _setitem,
        "__hash__": object.__hash__,  # defining __eq__ above removed it
        "astype": lambda self, dtype, copy=True: astype(self, dtype, copy=copy),
        "reshape": lambda self, *shape: reshape(
            self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape),
        "T": property(lambda self: matrix_transpose(self) if self.ndim == 2 else _t_error(self)),
        "mT": property(matrix_transpose),
        "at": property(_At),
    }
    for name, value in plain.items():
        setattr(Tensor, name, value)


def _t_error(x: Tensor) -> Tensor:
    from .._errors import ShapeError

    raise ShapeError(f".T is defined for 2-d tensors only (got shape {x.shape}); use .mT or permute_dims")
