"""``ember.Variable``: a tensor with a name whose value can be replaced (``assign``), and which
gradient tapes watch automatically when it is read (``trainable=True``)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from typing import Any

from .. import _dtypes as dt
from .._errors import BackendMismatchError, DTypeError, ShapeError
from .._tensor import Tensor

__all__ = ["Variable", "alias", "live_variables", "start_reading", "stop_reading", "variable_of"]

# id(native array) -> weak reference to the Variable holding it (so a tape can tell, from a
# kernel's arguments, that a variable is being read)
_by_native: dict[int, weakref.ref[Variable]] = {}
_lock = threading.Lock()
_reading = [0]  # tapes anywhere that watch the variables they read (see start_reading)


def alias(b: Any, n: Any) -> Any:
    """A new native array object with n's values (a view where the library has one): the
    identity of native objects is what tapes track, so a Variable never shares its array."""
    root = b.root
    f = root.kernels.stop_gradient
    if f is not None:
        return f(n)
    return root.kernels.asarray(n, None, None, True)


def variable_of(native: Any) -> Variable | None:
    """The live Variable whose current value is ``native``, if any."""
    r = _by_native.get(id(native))
    if r is None:
        return None
    v = r()
    return v if v is not None and (v._n is native or v._orig is native) else None


def live_variables() -> list[Variable]:
    out = []
    for r in list(_by_native.values()):
        v = r()
        if v is not None:
            out.append(v)
    return out


def start_reading() -> None:
    """While reading is started anywhere (and not stopped as many times), trainable variables
    live on their backend's recording twin, so that a tape sees them read (a GradientTape
    starts it when it watches accessed variables, and stops it when it stops recording)."""
    with _lock:
        _reading[0] += 1
        if _reading[0] == 1:
            for r in list(_by_native.values()):
                v = r()
                if v is not None and v._trainable:
                    b = v._b
                    if b is b.root:
                        v._b = b._recording or b.recording


def stop_reading() -> None:
    """Undo one :func:`start_reading`: with none left, variables go back to their backend
    (except those a tape watches explicitly: pinned)."""
    with _lock:
        _reading[0] -= 1
        if _reading[0] == 0:
            for r in list(_by_native.values()):
                v = r()
                if v is not None and v._pins == 0:
                    b = v._b
                    if b is not b.root:
                        v._b = b.root


class Variable(Tensor):
    """A named tensor whose value can be replaced; trainable ones are watched by every
    ``GradientTape`` that reads them (unless ``watch_accessed_variables=False``).

    >>> w = ember.Variable([[1.0, 2.0]], name="w")
    >>> with ember.GradientTape() as tape:
    ...     loss = ember.sum(w * w)
    >>> tape.gradient(loss, w).tolist()
    [[2.0, 4.0]]
    >>> w.assign_sub([[0.5, 0.5]]).tolist()
    [[0.5, 1.5]]
    """

    __slots__ = ("_cell", "_name", "_orig", "_pins", "_trainable")

    def __init__(self, value: Any, trainable: bool = True, name: str | None = None, *,
                 dtype: Any = None, backend: Any = None) -> None:
        from ..ops._creation import asarray
        from ..ops._dtypes import astype

        t = asarray(value, dtype=dtype, backend=backend)
        if dtype is not None and t.dtype is not dt.as_dtype(dtype):
            t = astype(t, dtype)
        root = t._b.root
        super().__init__(alias(root, t._n), root, t.dtype)
        self._name = name
        self._trainable = bool(trainable)
        self._pins = 0  # tapes that watch this variable explicitly (they keep it on the twin)
        self._orig: Any = None  # while a tape tracks another array in its place: its own
        cell: list[int] = [id(self._n), 0]  # ids of its array (and of _orig while swapped)

        def gone(ref: weakref.ref[Variable], cell: list[int] = cell) -> None:
            for key in cell:
                if _by_native.get(key) is ref:
                    del _by_native[key]

        ref = weakref.ref(self, gone)
        self._cell = (cell, ref)
        _by_native[cell[0]] = ref
        if self._trainable and _reading[0]:
            self._b = root.recording

    # -- attributes ----------------------------------------------------------------------------
    @property
    def name(self) -> str | None:
        return self._name

    @property
    def trainable(self) -> bool:
        return self._trainable

    def value(self) -> Tensor:
        """The current value as a plain tensor (a read: tapes see it like any other use)."""
        return Tensor(self._n, self._b, self._d)

    # -- replacing the value -------------------------------------------------------------------
    def _set_native(self, native: Any) -> None:
        cell, ref = self._cell
        for key in cell:
            if _by_native.get(key) is ref:
                del _by_native[key]
        self._n = native
        self._orig = None
        cell[0], cell[1] = id(native), 0
        _by_native[cell[0]] = ref

    def _swap(self, native: Any) -> None:
        """A tape tracks ``native`` (the same values) in this variable's place until
        :meth:`_unswap`. The array it replaces still counts as this variable's (an op may have
        taken it before the swap: ``vecdot(v, v)`` reads v twice in two kernel calls)."""
        if self._orig is not None:
            self._set_native(native)
            return
        cell, ref = self._cell
        self._orig = self._n
        self._n = native
        cell[0], cell[1] = id(native), cell[0]
        _by_native[cell[0]] = ref

    def _unswap(self, native: Any) -> None:
        """The tape that swapped ``native`` in stops recording: the variable's own array is
        back (unless the variable was assigned since)."""
        if self._n is not native or self._orig is None:
            return
        cell, ref = self._cell
        if _by_native.get(cell[0]) is ref:
            del _by_native[cell[0]]
        self._n = self._orig
        self._orig = None
        cell[0], cell[1] = cell[1], 0

    def _native_for(self, op: str, value: Any) -> Any:
        from ..ops._creation import asarray

        root = self._b.root
        t = value if isinstance(value, Tensor) else asarray(value, backend=root)
        if t._b.root is not root:
            raise BackendMismatchError(
                f"Variable.{op}: the variable is on {root.name!r}, the value on {t._b.name!r}; "
                f"move it with value.to({root.name!r})")
        if t.shape != self.shape:
            raise ShapeError(
                f"Variable.{op}: value of shape {t.shape} for a variable of shape {self.shape} "
                f"({self._name or 'unnamed'}); a variable keeps its shape")
        d = self.dtype
        if t.dtype is not d:
            if not (dt.promotes_to(t.dtype, d) or (t.dtype.kind == d.kind == "f")):
                raise DTypeError(
                    f"Variable.{op}: cannot store {t.dtype} values in a {d} variable without "
                    f"loss; cast with ember.astype first")
            return root.kernels.astype(t._n, root.native_dtype(d), False)
        return alias(root, t._n)

    def assign(self, value: Any) -> Variable:
        """Replace the value (same shape; the dtype is kept). Not recorded by tapes."""
        self._set_native(self._native_for("assign", value))
        return self

    def assign_add(self, delta: Any) -> Variable:
        """``self.assign(self + delta)``, not recorded by tapes."""
        from ..ops._autodiff import stop_gradient

        return self.assign(self._plain() + stop_gradient(delta))

    def assign_sub(self, delta: Any) -> Variable:
        """``self.assign(self - delta)``, not recorded by tapes."""
        from ..ops._autodiff import stop_gradient

        return self.assign(self._plain() - stop_gradient(delta))

    def _plain(self) -> Tensor:
        return Tensor(self._n, self._b.root, self._d)  # on the root backend: not recorded

    def __repr__(self) -> str:
        body = super().__repr__().removeprefix("ember.Tensor(").removesuffix(")")
        name = f"name={self._name!r}, " if self._name else ""
        return f"ember.Variable({name}{body}, trainable={self._trainable})"


def iter_variables(obj: Any) -> Iterator[Variable]:
    from ._tree import flatten

    for leaf in flatten(obj)[0]:
        if isinstance(leaf, Variable):
            yield leaf
