"""``ember.Tensor``: a thin wrapper holding a native array and the backend it belongs to.

Operators are bound to the op functions in ``ember.ops`` (see ``ops/_methods.py``), so
``a + b`` costs the same as ``ember.add(a, b)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._backend import Backend
    from ._dtypes import DType

__all__ = ["Tensor"]


class Tensor:
    """An n-dimensional array on one backend.

    Create one with :func:`ember.tensor` (or any creation op). ``.native`` is the backend's own
    array; ``.to("torch")`` moves it to another backend.

    >>> x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> (x @ x).tolist()
    [[7.0, 10.0], [15.0, 22.0]]
    """

    __slots__ = ("__weakref__", "_b", "_d", "_n")
    __array_priority__ = 1000  # NumPy defers mixed operators to us

    def __init__(self, native: Any, backend: Backend, dtype: DType | None = None) -> None:
        self._n = native
        self._b = backend
        self._d = dtype  # the ember dtype when the op that made this tensor knows it; else lazy

    if TYPE_CHECKING:  # bound at import by ember.ops._methods
        def __add__(self, other: Any) -> Tensor: ...
        def __radd__(self, other: Any) -> Tensor: ...
        def __sub__(self, other: Any) -> Tensor: ...
        def __rsub__(self, other: Any) -> Tensor: ...
        def __mul__(self, other: Any) -> Tensor: ...
        def __rmul__(self, other: Any) -> Tensor: ...
        def __truediv__(self, other: Any) -> Tensor: ...
        def __rtruediv__(self, other: Any) -> Tensor: ...
        def __floordiv__(self, other: Any) -> Tensor: ...
        def __rfloordiv__(self, other: Any) -> Tensor: ...
        def __mod__(self, other: Any) -> Tensor: ...
        def __rmod__(self, other: Any) -> Tensor: ...
        def __pow__(self, other: Any) -> Tensor: ...
        def __rpow__(self, other: Any) -> Tensor: ...
        def __matmul__(self, other: Any) -> Tensor: ...
        def __rmatmul__(self, other: Any) -> Tensor: ...
        def __and__(self, other: Any) -> Tensor: ...
        def __rand__(self, other: Any) -> Tensor: ...
        def __or__(self, other: Any) -> Tensor: ...
        def __ror__(self, other: Any) -> Tensor: ...
        def __xor__(self, other: Any) -> Tensor: ...
        def __rxor__(self, other: Any) -> Tensor: ...
        def __lshift__(self, other: Any) -> Tensor: ...
        def __rlshift__(self, other: Any) -> Tensor: ...
        def __rshift__(self, other: Any) -> Tensor: ...
        def __rrshift__(self, other: Any) -> Tensor: ...
        def __eq__(self, other: Any) -> Tensor: ...  # type: ignore[override]
        def __ne__(self, other: Any) -> Tensor: ...  # type: ignore[override]
        def __lt__(self, other: Any) -> Tensor: ...
        def __le__(self, other: Any) -> Tensor: ...
        def __gt__(self, other: Any) -> Tensor: ...
        def __ge__(self, other: Any) -> Tensor: ...
        def __neg__(self) -> Tensor: ...
        def __pos__(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def __invert__(self) -> Tensor: ...
        def __getitem__(self, key: Any) -> Tensor: ...
        def __setitem__(self, key: Any, value: Any) -> None: ...
        def astype(self, dtype: Any, copy: bool = True) -> Tensor: ...
        def reshape(self, *shape: Any) -> Tensor: ...
        @property
        def T(self) -> Tensor: ...
        @property
        def mT(self) -> Tensor: ...
        @property
        def at(self) -> Any: ...

    # -- metadata --------------------------------------------------------------------------
    @property
    def native(self) -> Any:
        """The backend's own array (a NumPy ndarray, torch.Tensor or mlx.core.array)."""
        return self._n

    def _set_native(self, native: Any) -> None:
        """Internal, for gradient tapes: hold ``native``, another array of the same values,
        from now on (a watched source's tracked array, or a target's values as an engine
        recomputed them). The one place outside a tensor's own methods that swaps its array;
        ``Variable`` extends it to keep its registry of arrays current."""
        self._n = native

    @property
    def backend(self) -> str:
        """Name of the backend this tensor lives on."""
        return self._b.name

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._n.shape)

    @property
    def dtype(self) -> DType:
        d = self._d
        if d is None:
            d = self._d = self._b.dtype_of(self._n)
        return d

    @property
    def ndim(self) -> int:
        return len(self._n.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self._n.shape:
            n *= d
        return n

    @property
    def device(self) -> str:
        return self._b.devices.of(self._n)

    def __len__(self) -> int:
        shape = self._n.shape
        if not shape:
            raise TypeError("len() of a 0-d tensor")
        return int(shape[0])

    def __iter__(self) -> Any:
        if not self._n.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._n.shape[0]))

    # -- conversion ------------------------------------------------------------------------
    def numpy(self) -> Any:
        """A NumPy array with this tensor's values (a copy unless the backend shares memory)."""
        return self._b.arrays.to_numpy(self._n)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        import numpy as np

        out = self.numpy()
        return out if dtype is None else np.asarray(out, dtype=dtype)

    def tobytes(self) -> bytes:
        """The raw values: C order, little-endian, ``dtype.itemsize`` bytes an element (bool:
        one byte, 0 or 1; bfloat16: the upper half of the float32 bits). The inverse is
        :func:`ember.frombuffer`; this is the layout safetensors files use.

        >>> ember.tensor([1, 258], dtype=ember.uint16).tobytes()
        b'\\x01\\x00\\x02\\x01'
        """
        return self._b.to_bytes(self._n)

    def tolist(self) -> Any:
        """Nested Python lists of Python scalars (works without NumPy installed)."""
        return self._n.tolist()

    def item(self) -> Any:
        if self.size != 1:
            raise _errors().ShapeError(
                f"item() needs a tensor with one element, got shape {self.shape}; index it first"
            )
        return self._n.reshape(()).item() if self._n.shape else self._n.item()

    def __bool__(self) -> bool:
        return bool(self._scalar("bool"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __complex__(self) -> complex:
        return complex(self._scalar("complex"))

    def __index__(self) -> int:
        if not self.dtype.is_integer:
            raise _errors().DTypeError(f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self._scalar("index"))

    def _scalar(self, what: str) -> Any:
        if self.size != 1:
            raise _errors().ShapeError(
                f"cannot convert a tensor of shape {self.shape} to {what}; it needs one element "
                f"(use ember.any/ember.all for truth tests of arrays)"
            )
        return self.item()

    def to(self, backend: str | None = None, *, device: str | None = None) -> Tensor:
        """This tensor on another backend and/or device (DLPack where possible, else a copy)."""
        from .ops._creation import move

        return move(self, backend, device)

    def to_device(self, device: str, /, *, stream: Any = None) -> Tensor:
        """This tensor on ``device`` of its backend (Array API ``to_device``); itself when it is
        already there. ``stream`` must be None: ember schedules no work on explicit streams.

        >>> ember.ones(2).to_device("cpu").device
        'cpu'
        """
        if stream is not None:
            raise _errors().ArgumentError(
                f"to_device: ember takes no execution streams (got stream={stream!r}); pass "
                f"stream=None, or move the native array yourself (x.native)"
            )
        from .ops._creation import move

        return move(self, None, device)

    def __dlpack__(self, *, stream: Any = None, max_version: tuple[int, int] | None = None,
                   dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> Any:
        """A DLPack capsule of the native array (the Array API 2023.12 signature); the
        arguments go to the backend library's own ``__dlpack__`` unchanged, and its
        ``BufferError`` for an export it cannot make reaches the caller as it is. With
        ``copy=False``, an export that needs a copy (a CUDA tensor asked for on the CPU) raises
        :class:`ember.CopyError`, a ``BufferError``, as the standard says (torch raises a
        ValueError)."""
        kwargs: dict[str, Any] = {}
        if stream is not None:
            kwargs["stream"] = stream
        if max_version is not None:
            kwargs["max_version"] = max_version
        if dl_device is not None:
            kwargs["dl_device"] = dl_device
        if copy is not None:
            kwargs["copy"] = copy
        try:
            return self._n.__dlpack__(**kwargs)
        except ValueError as exc:
            if copy is False:
                raise _errors().CopyError(
                    f"__dlpack__(copy=False) of a tensor on {self.device!r} with "
                    f"dl_device={dl_device!r} needs a copy ({exc}); pass copy=None or True"
                ) from exc
            raise

    def __dlpack_device__(self) -> tuple[Any, int]:
        return self._n.__dlpack_device__()

    def __array_namespace__(self, *, api_version: str | None = None) -> Any:
        from ._namespace import namespace

        if api_version not in (None, "2023.12"):
            raise _errors().EmberError(f"ember implements Array API 2023.12, not {api_version}")
        return namespace(self._b)

    def __repr__(self) -> str:
        try:
            body = repr(self._n.tolist()) if self.size <= 1000 else f"<{self.size} elements>"
        except Exception:  # pragma: no cover - a native without tolist
            body = f"<{self.size} elements>"
        return f"ember.Tensor({body}, dtype={self.dtype.name}, backend={self._b.name})"

    __hash__ = object.__hash__


def _errors() -> Any:
    from . import _errors as e

    return e
