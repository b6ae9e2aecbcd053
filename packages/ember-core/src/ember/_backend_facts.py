"""What a backend declares about its library, grouped as :class:`ember.Backend` takes it:
its arrays, its devices, its capabilities, and the optional hooks (``docs/writing-a-backend.md``).

All four are frozen: a backend states them once, when it is built, and ember-core never probes
the library per call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import _dtypes as dt

if TYPE_CHECKING:
    from .autodiff import Engine
    from .distributed import Collectives

__all__ = ["BackendHooks", "Capabilities", "NativeArrays", "NativeDevices"]


@dataclass(frozen=True, kw_only=True)
class NativeArrays:
    """The library's arrays, as ember-core needs to know them.

    Arguments:
        types: the native array types; anything else an op receives is converted with the
            ``asarray`` kernel (``(np.ndarray, np.generic)``, ``(torch.Tensor,)``).
        dtypes: the native dtype of every ember dtype the library has (``{ember.float32:
            np.dtype("float32"), ...}``); kernels get these objects, never ember's.
        to_numpy: ``to_numpy(native) -> numpy.ndarray`` for ``Tensor.numpy()`` and the
            conformance kit (raise :class:`ember.UnsupportedError` for a dtype NumPy lacks).
        module: the importable module of the library's array functions (``"numpy"``,
            ``"torch"``, ``"mlx.core"``), shown by ``ember info``; empty if there is none.
    """

    types: tuple[type, ...]
    dtypes: Mapping[dt.DType, Any]
    to_numpy: Callable[[Any], Any]
    module: str = ""


@dataclass(frozen=True, kw_only=True)
class NativeDevices:
    """The library's devices. Ember names devices ``"cpu"``, ``"cuda:0"``, ``"gpu"``, ``"mps"``.

    Arguments:
        names: ``names() -> list[str]``: the devices that exist on this machine.
        default: ``default() -> str``: the device new arrays go to.
        of: ``of(native_array) -> str``: the device an array lives on.
        to_native: ``to_native(name) -> native device``: what creation kernels get as their
            ``device``; it must raise (any exception) for a device this machine lacks.
    """

    names: Callable[[], list[str]]
    default: Callable[[], str]
    of: Callable[[Any], str]
    to_native: Callable[[str], Any]


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared by the backend (never probed per call).

    ``dtypes`` maps a device type (``"cpu"``, ``"cuda"``, ``"gpu"``) to the dtypes arrays on it
    may have; ``notes`` explains the gaps in words for error messages and ``ember info``. The
    last three are the Array API's ``capabilities()`` (``ember.__array_namespace_info__``):
    ``max_dimensions`` None means the backend states no limit.
    """

    dtypes: Mapping[str, frozenset[dt.DType]]
    notes: Mapping[str, str] = field(default_factory=dict)
    lazy: bool = False  # results are computed on demand (MLX); ember synchronises where needed
    boolean_indexing: bool = True
    data_dependent_shapes: bool = True
    max_dimensions: int | None = None


@dataclass(frozen=True, kw_only=True)
class BackendHooks:
    """Optional extras; each left None means ember-core's default.

    Arguments:
        basic_index: ``basic_index(x, key) -> native``: ``x[key]`` for a tuple of ints (in
            bounds) and slices without a step, which ember-core has checked (typically
            ``operator.getitem``). Default: the ``getitem`` kernel.
        to_bytes: ``to_bytes(native) -> bytes`` in C order, little-endian
            (``Tensor.tobytes``). Default: through ``to_numpy``.
        from_bytes: ``from_bytes(data, dtype_name, shape, device) -> native`` with an ember
            dtype name and a native device or None (``ember.frombuffer``). Default: Python's
            ``array`` module and the ``asarray`` kernel.
        memory_limit: ``memory_limit(device) -> int | None``: the most bytes one array can
            take on a native device (None: the default device); creation kernels are checked
            against it before they allocate. Default: nothing is checked in advance.
        compiler: ``compiler(fn) -> fn`` for a pure function of native arrays
            (``ember.compile``). Default: functions run as they are.
        tape_engine: builds the backend's own gradient engine, an :class:`ember.autodiff.Engine`
            (torch.autograd, MLX's vjp). Default: ember-core's generic engine.
        matmul_precision: ``matmul_precision(value) -> str``: sets the library's float32 matmul
            precision to ``value`` (``"highest"``, ``"high"``, ``"medium"``; None: only read it)
            and returns the one in effect before (``ember.set_matmul_precision``). Default: the
            library has no such switch.
        memory_info: ``memory_info(device) -> (current, peak, limit, cache)`` in bytes (each
            int or None) for a native device or None (the default device), or None for "the
            process's" (``ember.memory_info``). Default: the process's resident memory.
        reset_peak_memory: ``reset_peak_memory(device) -> bool``: restart the peak count; False
            when the device's numbers are the process's. Default: the process's peak is reset.
        set_memory_limit: ``set_memory_limit(nbytes, device) -> previous limit (int or None)``,
            or ``NotImplemented`` where the device has none (``ember.set_memory_limit``).
            Default: no limit can be set.
        distributed: ``distributed() -> ember.distributed.Collectives``: the library's own
            collectives across processes (torch.distributed, ``mx.distributed``) behind
            ``ember.distributed``. Default: a world of one process only; a launched job of
            several raises :class:`ember.UnsupportedError`.
    """

    basic_index: Callable[[Any, tuple[Any, ...]], Any] | None = None
    to_bytes: Callable[[Any], bytes] | None = None
    from_bytes: Callable[[Any, str, tuple[int, ...], Any], Any] | None = None
    memory_limit: Callable[[Any], int | None] | None = None
    compiler: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None
    tape_engine: Callable[[], Engine] | None = None
    matmul_precision: Callable[[str | None], str] | None = None
    memory_info: Callable[[Any], tuple[int | None, int | None, int | None, int | None] | None] | None = None
    reset_peak_memory: Callable[[Any], bool] | None = None
    set_memory_limit: Callable[[int, Any], Any] | None = None
    distributed: Callable[[], Collectives] | None = None
