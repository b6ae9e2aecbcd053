"""``ember.__array_namespace_info__()``: the Array API inspection namespace (2023.12).

Ember is one namespace over several backends, so the answers are those of the backend in
effect where the function is called (``ember.use_backend``, ``EMBER_BACKEND``): the devices it
has, and the dtypes each device holds, as the backend declares them in its
:class:`ember.Capabilities` (MLX: no complex128 anywhere, no float64 on its GPU).

>>> info = ember.__array_namespace_info__()
>>> info.default_dtypes()["real floating"]
ember.float32
>>> "float64" in info.dtypes(kind="real floating")
True
"""

from __future__ import annotations

from typing import Any

from . import _dtypes as dt
from ._backend import Backend, current_backend
from ._errors import ArgumentError
from ._settings import default_device_name

__all__ = ["ArrayNamespaceInfo", "STANDARD_DTYPES", "__array_namespace_info__"]

#: The dtypes the Array API standard names, in its order. Ember's float16 and bfloat16 are
#: extensions: they are in ``Backend.capabilities.dtypes`` but never in ``info.dtypes()``,
#: whose keys the standard fixes.
STANDARD_DTYPES: tuple[dt.DType, ...] = (
    dt.bool, dt.int8, dt.int16, dt.int32, dt.int64, dt.uint8, dt.uint16, dt.uint32, dt.uint64,
    dt.float32, dt.float64, dt.complex64, dt.complex128,
)


def _kinds(kind: Any) -> tuple[Any, ...]:
    if kind is None:
        return ()
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if isinstance(k, str):
            if k not in dt._KINDS:
                raise ArgumentError(
                    f"dtypes: unknown kind {k!r}; use one of {', '.join(map(repr, dt._KINDS))} "
                    f"or a dtype"
                )
        else:
            dt.as_dtype(k)  # a clear DTypeError for anything that is not a dtype
    return kinds


class ArrayNamespaceInfo:
    """What the backend ``backend`` offers (see :func:`__array_namespace_info__`)."""

    __slots__ = ("_b",)

    def __init__(self, backend: Backend) -> None:
        self._b = backend.root

    def __repr__(self) -> str:
        return f"<ember namespace info for backend {self._b.name!r}>"

    @property
    def backend(self) -> str:
        """Name of the backend these answers are about."""
        return self._b.name

    def capabilities(self) -> dict[str, Any]:
        """``{"boolean indexing": bool, "data-dependent shapes": bool, "max dimensions": int |
        None}`` as the backend declares them."""
        caps = self._b.capabilities
        return {
            "boolean indexing": caps.boolean_indexing,
            "data-dependent shapes": caps.data_dependent_shapes,
            "max dimensions": caps.max_dimensions,
        }

    def default_device(self) -> str:
        """The device new tensors go to (``ember.set_default_device`` or the library's)."""
        return default_device_name(self._b)

    def devices(self) -> list[str]:
        """The devices tensors can be on (``"cpu"``, ``"cuda:0"``, ``"gpu"``…)."""
        return list(self._b.devices.names())

    def _device(self, device: Any) -> str:
        if device is None:
            return default_device_name(self._b)
        devices = self.devices()
        name = str(device)
        if name not in devices and name.split(":")[0] not in {d.split(":")[0] for d in devices}:
            raise ArgumentError(
                f"backend {self._b.name!r} has no device {device!r}; its devices: "
                f"{', '.join(devices)}"
            )
        return name

    def default_dtypes(self, *, device: Any = None) -> dict[str, dt.DType]:
        """The dtypes ember picks when none is given: ``real floating`` (float32), ``complex
        floating`` (complex64), ``integral`` and ``indexing`` (int64); the same on every
        backend and device, so that the same code gives the same dtypes everywhere
        (``ember.set_default_dtype`` changes the floating ones)."""
        self._device(device)
        return {
            "real floating": dt.default_float(),
            "complex floating": dt.default_complex(),
            "integral": dt.DEFAULT_INT,
            "indexing": dt.DEFAULT_INT,
        }

    def dtypes(self, *, device: Any = None, kind: Any = None) -> dict[str, dt.DType]:
        """The standard's dtypes that tensors on ``device`` (default: the default device) can
        have, by name, optionally only those of ``kind`` (a kind name such as ``"integral"``,
        a dtype, or a tuple of those: the union)."""
        dev = self._device(device)
        kinds = _kinds(kind)
        allowed = self._b.capabilities.dtypes.get(dev.split(":")[0])
        out = {}
        for d in STANDARD_DTYPES:
            if d not in self._b.to_native_dtype or (allowed is not None and d not in allowed):
                continue
            if kinds and not dt.is_kind(d, kinds):
                continue
            out[d.name] = d
        return out


def __array_namespace_info__() -> ArrayNamespaceInfo:
    """The Array API inspection namespace for the backend in effect here.

    >>> with ember.use_backend("numpy"):
    ...     ember.__array_namespace_info__().devices()
    ['cpu']
    """
    return ArrayNamespaceInfo(current_backend())
