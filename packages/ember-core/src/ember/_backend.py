"""The :class:`Backend` object a plugin builds, and the scoped choice of the default backend."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from . import _dtypes as dt
from ._bytes import generic_from_bytes, generic_to_bytes
from ._catalogue import BY_NAME as SPECS
from ._catalogue import CATALOGUE
from ._errors import BackendError, UnsupportedError
from ._memory import creation_params, guard_creation

__all__ = ["Backend", "Capabilities", "OpStatus"]

#: Statuses an op can have on a backend (shown in ``docs/ops.md`` and ``ember info``).
NATIVE = "native"  # the backend's own kernel
FUSED = "fused"  # a composite the backend overrides with its own kernel
COMPOSITE = "composite"  # ember-core's implementation from primitives
HOST = "host"  # the backend's kernel, computed through a host (NumPy) round trip
UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class OpStatus:
    status: str
    note: str = ""


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


class Backend:
    """A loaded backend: kernels by name plus the few facts ember-core needs about its arrays.

    A plugin builds one with its kernel module; see ``docs/writing-a-backend.md``. Every
    primitive in the catalogue must have a kernel or an entry in ``unsupported`` (with the
    reason), otherwise loading fails and names what is missing.
    """

    def __init__(
        self,
        *,
        name: str,
        version: str,
        kernels: ModuleType | Mapping[str, Callable[..., Any]] | Sequence[ModuleType],
        native_types: tuple[type, ...],
        dtypes: Mapping[dt.DType, Any],
        capabilities: Capabilities,
        devices: Callable[[], list[str]],
        default_device: Callable[[], str],
        device_of: Callable[[Any], str],
        to_device: Callable[[str], Any],
        to_numpy: Callable[[Any], Any],
        unsupported: Mapping[str, str] | None = None,
        host: Mapping[str, str] | None = None,
        native_module: str = "",
        basic_index: Callable[[Any, tuple[Any, ...]], Any] | None = None,
        tape_engine: Callable[[], Any] | None = None,
        to_bytes: Callable[[Any], bytes] | None = None,
        from_bytes: Callable[[Any, str, tuple[int, ...], Any], Any] | None = None,
        compiler: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
        memory_limit: Callable[[Any], int | None] | None = None,
    ) -> None:
        self.name = name
        #: the backend itself; on its recording twin (see ``recording``) the backend it copies
        self.root: Backend = self
        #: builds this backend's own gradient engine (torch.autograd, MLX's vjp); None: generic
        self.tape_engine = tape_engine
        #: ``compiler(fn) -> fn`` for a pure function of native arrays (``ember.compile``);
        #: None: the backend has no compiler and functions run as they are
        self.compiler = compiler
        #: ``memory_limit(device) -> bytes | None``: the most bytes one array can take on a
        #: native device (None: the default device); creation kernels are checked against it
        #: before they allocate (``ember._memory``). None: no limit is known
        self.memory_limit = memory_limit
        self._recording: Backend | None = None
        self.version = version
        self.native_types = native_types
        self.native_module = native_module
        self.to_native_dtype: dict[dt.DType, Any] = dict(dtypes)
        self.from_native_dtype: dict[Any, dt.DType] = {v: k for k, v in dtypes.items()}
        self.capabilities = capabilities
        self.devices = devices
        self.default_device = default_device
        self.device_of = device_of
        self._to_device = to_device
        self.to_numpy = to_numpy
        #: ``to_bytes(native) -> bytes``: C-order little-endian bytes (``Tensor.tobytes``);
        #: ``from_bytes(data, dtype_name, shape, device) -> native`` with an ember dtype name
        #: and a native device or None (``ember.frombuffer``). Optional: the generic ones in
        #: ``ember._bytes`` go through ``to_numpy`` and the ``asarray`` kernel.
        self.to_bytes: Callable[[Any], bytes] = (
            to_bytes if to_bytes is not None else functools.partial(generic_to_bytes, self)
        )
        self.from_bytes: Callable[[Any, str, tuple[int, ...], Any], Any] = (
            from_bytes if from_bytes is not None else functools.partial(generic_from_bytes, self)
        )
        self.status: dict[str, OpStatus] = {}
        self.fused: dict[str, Callable[..., Any]] = {}
        unsupported = dict(unsupported or {})
        host = dict(host or {})
        if isinstance(kernels, (list, tuple)):
            kernels = _merge_modules(name, kernels)
        get = kernels.get if isinstance(kernels, Mapping) else lambda n: getattr(kernels, n, None)
        missing = []
        for spec in CATALOGUE:
            kname = spec.kernel_name
            fn = get(kname)
            if fn is not None:
                params = creation_params(kname, spec.kernel)
                if params is not None:  # checked against memory_limit before allocating
                    fn = guard_creation(self, kname, params, fn)
                setattr(self, kname, fn)
                if not spec.primitive:
                    self.fused[spec.name] = fn
                    self.status[spec.name] = OpStatus(FUSED)
                elif spec.name in host:
                    self.status[spec.name] = OpStatus(HOST, host[spec.name])
                else:
                    self.status[spec.name] = OpStatus(NATIVE)
            elif spec.name in unsupported:
                self.status[spec.name] = OpStatus(UNSUPPORTED, unsupported[spec.name])
                setattr(self, kname, _raiser(name, spec.name, unsupported[spec.name]))
            elif spec.primitive:
                missing.append(spec.name)
            else:
                self.status[spec.name] = OpStatus(COMPOSITE)
        unknown = sorted(set(unsupported) - set(SPECS))
        if missing or unknown:
            parts = []
            if missing:
                parts.append("no kernel and no 'unsupported' entry for: " + ", ".join(missing))
            if unknown:
                parts.append("'unsupported' names ops not in the catalogue: " + ", ".join(unknown))
            raise BackendError(f"backend {name!r} is incomplete: " + "; ".join(parts))
        # x[key] for keys of ints (in bounds) and slices without a step, which ember-core has
        # already checked: typically operator.getitem, skipping the general getitem kernel
        self.basic_index: Callable[[Any, tuple[Any, ...]], Any] = (
            basic_index if basic_index is not None else self.getitem
        )

    if TYPE_CHECKING:
        # kernels are set per catalogue entry in __init__ (``b.add``, ``b.linalg_solve``)
        def __getattr__(self, name: str) -> Callable[..., Any]: ...

    def __repr__(self) -> str:
        return f"<ember backend {self.name} {self.version}{' (recording)' if self.root is not self else ''}>"

    @property
    def recording(self) -> Backend:
        """This backend's recording twin: the same backend whose kernels report each call to
        the gradient tapes recording in the current context. Tensors a tape tracks carry it,
        so ops on untracked tensors never pay for recording (see ``ember.autodiff``)."""
        twin = self.root._recording
        if twin is None:
            from .autodiff._record import make_recording

            twin = self.root._recording = make_recording(self.root)
        return twin

    def device_name(self, native: Any) -> str:
        """The ember name of a native device (None: the default device)."""
        if native is None:
            return self.default_device()
        for name in self.devices():
            try:
                if self._to_device(name) == native:
                    return name
            except Exception:
                continue
        return str(native)

    def native_device(self, device: str) -> Any:
        """The native device for ``device`` ("cpu", "cuda:0", "gpu"), checked to exist here: an
        :class:`UnsupportedError` worded the same on every backend otherwise."""
        try:
            return self._to_device(device)
        except Exception as exc:
            raise UnsupportedError(
                f"backend {self.name!r} has no device {device!r}; its devices: "
                f"{', '.join(self.devices())}") from exc

    def supports(self, op: str) -> bool:
        return self.status[op].status != UNSUPPORTED

    def native_dtype(self, dtype: dt.DType, device: str | None = None) -> Any:
        """The native dtype for ``dtype`` on ``device``, or a clear :class:`UnsupportedError`."""
        native = self.to_native_dtype.get(dtype)
        dev = device or self.default_device()
        allowed = self.capabilities.dtypes.get(dev.split(":")[0])
        if native is None or (allowed is not None and dtype not in allowed):
            where = f" on device {dev!r}" if native is not None else ""
            note = self.capabilities.notes.get(dtype.name, "")
            raise UnsupportedError(
                f"backend {self.name!r} does not support dtype {dtype}{where}"
                + (f" ({note})" if note else "")
                + "; choose another dtype, device or backend"
            )
        return native

    def dtype_of(self, x: Any) -> dt.DType:
        try:
            return self.from_native_dtype[x.dtype]
        except KeyError:
            raise UnsupportedError(
                f"backend {self.name!r} array has dtype {x.dtype}, which ember does not model"
            ) from None


def _merge_modules(backend: str, modules: Sequence[ModuleType]) -> dict[str, Callable[..., Any]]:
    """Kernels from several topic modules: each module's ``__all__`` names its kernels."""
    table: dict[str, Callable[..., Any]] = {}
    for module in modules:
        for kname in module.__all__:
            fn = getattr(module, kname)
            if table.get(kname, fn) is not fn:
                raise BackendError(f"backend {backend!r}: kernel {kname!r} is defined in two modules")
            table[kname] = fn
    return table


def _raiser(backend: str, op: str, reason: str) -> Callable[..., Any]:
    def unsupported(*args: Any, **kwargs: Any) -> Any:
        raise UnsupportedError(f"{op} is not available on backend {backend!r}: {reason}")

    return unsupported


# ---------------------------------------------------------------------------------------------
# the default backend: EMBER_BACKEND, set_backend(), use_backend()

DEFAULT_ORDER = ("numpy", "torch", "mlx")
"""When nothing is set, the default backend is the first installed one of these, else the first
installed backend in alphabetical order."""

_current: contextvars.ContextVar[Backend | None] = contextvars.ContextVar(
    "ember_backend", default=None
)
_global: list[Backend] = []  # the process-wide default, set lazily


def current_backend() -> Backend:
    """The backend new tensors go to (fast: one context-variable read on the common path)."""
    b = _current.get()
    if b is not None:
        return b
    if _global:
        return _global[0]
    return _init_global()


def _init_global() -> Backend:
    from ._plugins import installed_names, load_backend

    name = os.environ.get("EMBER_BACKEND", "").strip()
    if not name:
        names = installed_names()
        name = next((n for n in DEFAULT_ORDER if n in names), None) or (
            sorted(names)[0] if names else ""
        )
        if not name:
            from ._errors import BackendNotFoundError

            raise BackendNotFoundError(
                "no ember backend is installed; install one, e.g. `pip install ember-numpy` "
                "(or ember-torch, ember-mlx)"
            )
    b = load_backend(name)
    _global[:] = [b]
    return b


def set_backend(name: str) -> None:
    """Make ``name`` the default backend for this process (outside any ``use_backend`` block)."""
    from ._plugins import load_backend

    _global[:] = [load_backend(name)]


def get_backend() -> str:
    """The name of the backend in effect here."""
    return current_backend().name


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[Backend]:
    """Use ``name`` as the default backend inside a ``with`` block (context-variable scoped)."""
    from ._plugins import load_backend

    token = _current.set(load_backend(name))
    try:
        yield _current.get()  # type: ignore[misc]
    finally:
        _current.reset(token)
