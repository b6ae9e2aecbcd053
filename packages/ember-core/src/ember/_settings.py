"""Backend settings: the default float dtype, the default device and the float32 matmul
precision, process-wide (``ember.set_*``) or scoped (``with ember.settings(...)``).

>>> with ember.settings(default_dtype=ember.float64):
...     ember.asarray(1.5).dtype
ember.float64
>>> ember.asarray(1.5).dtype
ember.float32

See ``docs/semantics.md``, "Settings". Memory numbers are in ``_memory_info``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _dtypes as dt
from ._errors import ArgumentError, DTypeError

if TYPE_CHECKING:
    from ._backend import Backend

__all__ = [
    "MATMUL_PRECISIONS", "Settings", "default_device_name", "get_default_device",
    "get_default_dtype", "get_matmul_precision", "native_default_device", "set_default_device",
    "set_default_dtype", "set_matmul_precision", "settings",
]

#: the float32 matmul precisions, as torch names them (``torch.set_float32_matmul_precision``)
MATMUL_PRECISIONS = ("highest", "high", "medium")
#: the dtypes ``set_default_dtype`` takes
FLOAT_DTYPES = (dt.float16, dt.bfloat16, dt.float32, dt.float64)

_UNSET: Any = object()

# the default device per backend name: process-wide, and inside a settings block
_global_devices: dict[str, str] = {}
_scoped_devices: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "ember_default_devices", default=None)
# the matmul precision ember set (None: never set, each library keeps its own)
_global_precision: list[str | None] = [None]
_scoped_precision: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ember_matmul_precision", default=None)
_native_cache: dict[tuple[str, str], Any] = {}


@dataclass(frozen=True)
class Settings:
    """The settings in effect where it was read (``ember.settings()`` yields one).

    Arguments:
        default_dtype: the float dtype Python floats and float-creating ops get.
        default_device: the default device of the backend in effect.
        matmul_precision: ``"highest"``, ``"high"`` or ``"medium"``.
        backend: the backend ``default_device`` is about.
    """

    default_dtype: dt.DType
    default_device: str
    matmul_precision: str
    backend: str


# -- default dtype ------------------------------------------------------------------------------
def _float_dtype(dtype: Any) -> dt.DType:
    allowed = ", ".join(f"ember.{d.name}" for d in FLOAT_DTYPES)
    try:
        d = dt.as_dtype(dtype)
    except DTypeError:
        raise DTypeError(f"default dtype {dtype!r} is not a dtype; use one of {allowed}") from None
    if d not in FLOAT_DTYPES:
        raise DTypeError(f"default dtype must be a real floating dtype, got {d}; use one of "
                         f"{allowed}")
    return d


def set_default_dtype(dtype: Any) -> None:
    """Make ``dtype`` (float16, bfloat16, float32 or float64) the dtype Python floats and
    float-creating ops (``asarray``, ``zeros``, ``linspace``, random draws…) get when no dtype
    is given, for this process (outside ``settings`` blocks). Complex defaults follow: complex128
    for float64, else complex64. A backend that lacks the dtype raises
    :class:`ember.UnsupportedError` when a tensor of it is made, not here.

    >>> ember.set_default_dtype(ember.float64); ember.zeros(2).dtype
    ember.float64
    >>> ember.set_default_dtype(ember.float32)
    """
    dt.global_float[0] = _float_dtype(dtype)


def get_default_dtype() -> dt.DType:
    """The default float dtype in effect here (float32 unless set)."""
    return dt.default_float()


# -- default device -----------------------------------------------------------------------------
def _backend(backend: Any) -> Backend:
    from ._backend import current_backend
    from ._plugins import load_backend

    return (current_backend() if backend is None else load_backend(backend)).root


def _check_device(b: Backend, device: Any) -> str:
    if not isinstance(device, str):
        raise ArgumentError(f"default device must be a device name such as 'cpu', 'cuda:0' or "
                            f"'gpu', got {device!r}; backend {b.name!r} has: "
                            f"{', '.join(b.devices.names())}")
    return b.device_name(b.native_device(device))  # UnsupportedError naming the devices


def device_setting(b: Backend) -> str | None:
    """The default device set for backend ``b`` here (None: the library's own default)."""
    scoped = _scoped_devices.get()
    if scoped is not None and b.name in scoped:
        return scoped[b.name]
    return _global_devices.get(b.name)


def default_device_name(b: Backend) -> str:
    """The device new tensors of ``b`` go to: the setting, else the library's default."""
    name = device_setting(b)
    return b.devices.default() if name is None else name


def native_default_device(b: Backend) -> Any:
    """The native device creation kernels get when no device is given: the setting's, or None
    (the library's own default)."""
    name = device_setting(b)
    if name is None:
        return None
    native = _native_cache.get((b.name, name))
    if native is None:
        native = _native_cache[(b.name, name)] = b.native_device(name)
    return native


def set_default_device(device: str | None, *, backend: Any = None) -> None:
    """Make ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"gpu"``, ``"mps"``) where new
    tensors of ``backend`` (default: the backend in effect) go when no device is given. Devices
    belong to a backend, so the setting does too: other backends keep theirs. ``None`` goes back
    to the library's default. A device this machine lacks is an :class:`ember.UnsupportedError`.
    """
    b = _backend(backend)
    if device is None:
        _global_devices.pop(b.name, None)
    else:
        _global_devices[b.name] = _check_device(b, device)


def get_default_device(*, backend: Any = None) -> str:
    """The device new tensors of ``backend`` (default: the one in effect) go to."""
    return default_device_name(_backend(backend))


# -- matmul precision ---------------------------------------------------------------------------
def _check_precision(value: Any) -> str:
    if value not in MATMUL_PRECISIONS:
        raise ArgumentError(f"matmul precision must be one of "
                            f"{', '.join(map(repr, MATMUL_PRECISIONS))}, got {value!r}")
    return str(value)


def _precision_set() -> str | None:
    scoped = _scoped_precision.get()
    return _global_precision[0] if scoped is None else scoped


def _apply_precision(value: str | None) -> dict[str, str]:
    """``value`` pushed to every loaded backend with a hook; returns each one's previous."""
    from ._plugins import _loaded

    before = {}
    for name, b in list(_loaded.items()):
        hook = b.hooks.matmul_precision
        if hook is not None:
            before[name] = hook(value)
    return before


def backend_loaded(b: Backend) -> None:
    """Apply the precision ember set (if any) to a backend just loaded."""
    value = _precision_set()
    hook = b.hooks.matmul_precision
    if value is not None and hook is not None:
        hook(value)


def set_matmul_precision(precision: str) -> None:
    """How float32 matrix products may be computed, for this process: ``"highest"`` (full
    float32), ``"high"`` (TF32 or bfloat16x3 where the hardware has it), ``"medium"``
    (bfloat16). torch: ``torch.set_float32_matmul_precision`` (TF32 on CUDA). MLX has no such
    switch and NumPy always computes at full precision: the value is kept and reported.
    """
    value = _check_precision(precision)
    _global_precision[0] = value
    _apply_precision(_precision_set())


def get_matmul_precision() -> str:
    """The float32 matmul precision in effect here: the one ember set, else the current
    backend's own (torch: ``torch.get_float32_matmul_precision()``), else ``"highest"``."""
    value = _precision_set()
    if value is not None:
        return value
    hook = _backend(None).hooks.matmul_precision
    return hook(None) if hook is not None else "highest"


# -- the scope ----------------------------------------------------------------------------------
@contextlib.contextmanager
def settings(*, default_dtype: Any = _UNSET, default_device: Any = _UNSET,
             matmul_precision: Any = _UNSET) -> Iterator[Settings]:
    """Change settings inside a ``with`` block (context-variable scoped, as ``use_backend``);
    those not given keep their value. ``default_device`` is for the backend in effect at entry.
    Yields the :class:`Settings` in effect inside.

    >>> with ember.settings(matmul_precision="high") as s:
    ...     s.matmul_precision
    'high'

    torch's matmul precision is one switch for the whole process: the block sets it on entry
    and puts the previous value back on exit, so other threads see it meanwhile.
    """
    tokens: list[tuple[contextvars.ContextVar[Any], contextvars.Token[Any]]] = []
    b = _backend(None)
    if default_dtype is not _UNSET:
        tokens.append((dt.scoped_float, dt.scoped_float.set(_float_dtype(default_dtype))))
    if default_device is not _UNSET:
        devices = dict(_scoped_devices.get() or {})
        if default_device is None:
            devices[b.name] = b.devices.default()
        else:
            devices[b.name] = _check_device(b, default_device)
        tokens.append((_scoped_devices, _scoped_devices.set(devices)))
    before: dict[str, str] = {}
    if matmul_precision is not _UNSET:
        value = _check_precision(matmul_precision)
        tokens.append((_scoped_precision, _scoped_precision.set(value)))
        before = _apply_precision(value)
    try:
        yield Settings(dt.default_float(), default_device_name(b), get_matmul_precision(),
                       b.name)
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
        if matmul_precision is not _UNSET:
            _restore_precision(before)


def _restore_precision(before: Mapping[str, str]) -> None:
    """Each backend's precision from before a block; a backend loaded inside the block (it got
    the block's value) gets the value in effect outside, or its library's default."""
    from ._plugins import _loaded

    outside = _precision_set() or "highest"
    for name, b in list(_loaded.items()):
        hook = b.hooks.matmul_precision
        if hook is not None:
            hook(before.get(name, outside))
