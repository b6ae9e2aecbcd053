"""The :class:`Backend` object a plugin builds, and the scoped choice of the default backend."""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from . import _dtypes as dt
from ._backend_facts import BackendHooks, Capabilities, NativeArrays, NativeDevices
from ._bytes import generic_from_bytes, generic_to_bytes
from ._catalogue import BY_NAME as SPECS
from ._catalogue import CATALOGUE, LATER_PRIMITIVES
from ._errors import BackendError, UnsupportedError
from ._kernels import Kernels
from ._memory import creation_params, guard_creation
from ._settings import default_device_name

__all__ = ["Backend", "BackendHooks", "Capabilities", "NativeArrays", "NativeDevices", "OpStatus"]

#: Statuses an op can have on a backend (shown in ``docs/ops.md`` and ``ember info``).
NATIVE = "native"  # the backend's own kernel
FUSED = "fused"  # a composite the backend overrides with its own kernel
COMPOSITE = "composite"  # ember-core's implementation from primitives
HOST = "host"  # the backend's kernel, computed through a host (NumPy) round trip
UNSUPPORTED = "unsupported"

KernelSource = ModuleType | Mapping[str, Callable[..., Any]] | Sequence[ModuleType]


@dataclass(frozen=True)
class OpStatus:
    status: str
    note: str = ""


class Backend:
    """A loaded backend: its typed kernel table plus what ember-core needs to know about its
    library. A plugin builds one in its factory (``docs/writing-a-backend.md``):

    >>> import numpy as np
    >>> from ember_numpy import kernels
    >>> dtypes = {ember.float32: np.dtype("float32"), ember.int64: np.dtype("int64"),
    ...           ember.bool: np.dtype("bool")}
    >>> b = ember.Backend(
    ...     name="mini", version="0.1",
    ...     kernels=kernels.MODULES,
    ...     arrays=ember.NativeArrays(types=(np.ndarray,), dtypes=dtypes, to_numpy=np.asarray),
    ...     devices=ember.NativeDevices(names=lambda: ["cpu"], default=lambda: "cpu",
    ...                                 of=lambda x: "cpu", to_native=lambda name: None),
    ...     capabilities=ember.Capabilities(dtypes={"cpu": frozenset(dtypes)}),
    ... )
    >>> b.kernels.add(np.ones(2), np.ones(2)).tolist()
    [2.0, 2.0]

    Arguments:
        name, version: the backend's name (as registered) and its library's version.
        kernels: a module, a mapping of kernel name to function, or a sequence of topic
            modules; a module's ``__all__`` names its kernels (a module without ``__all__``
            gives the attributes named like kernels). A kernel's name is the op's catalogue name
            with dots as underscores (``add``, ``linalg_solve``, ``nn_softmax``).
        arrays, devices, capabilities: the library's arrays, devices and what it can do.
        unsupported: op name -> reason, for primitives the backend does not implement.
        host: op name -> note, for ops computed through a host round trip.
        hooks: the optional extras (:class:`BackendHooks`).

    Every primitive of the catalogue needs a kernel or an ``unsupported`` entry, and every
    kernel name given must be one of the catalogue's; loading fails otherwise, naming them.
    """

    name: str
    version: str
    #: the backend itself; on its recording twin (see ``recording``) the backend it copies
    root: Backend
    #: one field per kernel (``b.kernels.add``); composites hold the fused override or None
    kernels: Kernels
    #: op name -> how this backend computes it (native, fused, composite, host, unsupported)
    status: dict[str, OpStatus]
    arrays: NativeArrays
    devices: NativeDevices
    capabilities: Capabilities
    #: the optional extras. All but ``basic_index`` (read into ``kernels`` when the backend is
    #: built) are read when used, so a user may replace them, e.g. a smaller memory budget:
    #: ``b.hooks = dataclasses.replace(b.hooks, memory_limit=lambda device: 8 << 30)``
    hooks: BackendHooks
    to_native_dtype: dict[dt.DType, Any]
    from_native_dtype: dict[Any, dt.DType]

    def __init__(
        self,
        *,
        name: str,
        version: str,
        kernels: KernelSource,
        arrays: NativeArrays,
        devices: NativeDevices,
        capabilities: Capabilities,
        unsupported: Mapping[str, str] | None = None,
        host: Mapping[str, str] | None = None,
        hooks: BackendHooks | None = None,
    ) -> None:
        hooks = BackendHooks() if hooks is None else hooks
        groups = (("arrays", arrays, NativeArrays), ("devices", devices, NativeDevices),
                  ("capabilities", capabilities, Capabilities), ("hooks", hooks, BackendHooks))
        for arg, value, kind in groups:
            if not isinstance(value, kind):
                raise BackendError(f"backend {name!r}: {arg} must be an ember.{kind.__name__}, "
                                   f"got {type(value).__name__}")
        self.name = name
        self.version = version
        self.root = self
        self._recording: Backend | None = None
        self.arrays = arrays
        self.devices = devices
        self.capabilities = capabilities
        self.hooks = hooks
        self.to_native_dtype = dict(arrays.dtypes)
        self.from_native_dtype = {v: k for k, v in arrays.dtypes.items()}
        self.kernels, self.status = _kernel_table(self, _named(name, kernels),
                                                  dict(unsupported or {}), dict(host or {}))

    def __repr__(self) -> str:
        twin = " (recording)" if self.root is not self else ""
        return f"<ember backend {self.name} {self.version}{twin}>"

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
            return default_device_name(self.root)
        for name in self.devices.names():
            try:
                if self.devices.to_native(name) == native:
                    return name
            except Exception:
                continue
        return str(native)

    def native_device(self, device: str) -> Any:
        """The native device for ``device`` ("cpu", "cuda:0", "gpu"), checked to exist here: an
        :class:`UnsupportedError` worded the same on every backend otherwise."""
        try:
            return self.devices.to_native(device)
        except Exception as exc:
            raise UnsupportedError(
                f"backend {self.name!r} has no device {device!r}; its devices: "
                f"{', '.join(self.devices.names())}") from exc

    def to_bytes(self, native: Any) -> bytes:
        """``native``'s values as C-order little-endian bytes (``hooks.to_bytes`` or the generic
        way through ``arrays.to_numpy``)."""
        hook = self.hooks.to_bytes
        return hook(native) if hook is not None else generic_to_bytes(self, native)

    def from_bytes(self, data: Any, dtype_name: str, shape: tuple[int, ...], device: Any) -> Any:
        """A native array from little-endian bytes (``hooks.from_bytes`` or the generic way
        through the ``asarray`` kernel)."""
        hook = self.hooks.from_bytes
        if hook is not None:
            return hook(data, dtype_name, shape, device)
        return generic_from_bytes(self, data, dtype_name, shape, device)

    def supports(self, op: str) -> bool:
        return self.status[op].status != UNSUPPORTED

    def native_dtype(self, dtype: dt.DType, device: str | None = None) -> Any:
        """The native dtype for ``dtype`` on ``device``, or a clear :class:`UnsupportedError`."""
        native = self.to_native_dtype.get(dtype)
        dev = device or default_device_name(self.root)
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


# ---------------------------------------------------------------------------------------------
# building the kernel table

#: every kernel name of the catalogue (ops declared with a kernel signature)
KERNEL_NAMES = frozenset(s.kernel_name for s in CATALOGUE if s.kernel != "-")


def _named(backend: str, kernels: KernelSource) -> dict[str, Callable[..., Any]]:
    """The kernels given to ``Backend`` as one mapping, each name checked against the catalogue
    (a misspelt kernel is an error at load, not an op silently left to the composite)."""
    if isinstance(kernels, Mapping):
        table = dict(kernels)
    elif isinstance(kernels, ModuleType) and not hasattr(kernels, "__all__"):
        table = {k: getattr(kernels, k) for k in KERNEL_NAMES if hasattr(kernels, k)}
    else:
        table = {}
        for module in [kernels] if isinstance(kernels, ModuleType) else kernels:
            for kname in module.__all__:
                fn = getattr(module, kname)
                if table.get(kname, fn) is not fn:
                    raise BackendError(
                        f"backend {backend!r}: kernel {kname!r} is defined in two modules")
                table[kname] = fn
    unknown = sorted(set(table) - KERNEL_NAMES - {"basic_index"})
    if unknown:
        import difflib  # an error path: not paid by `import ember`

        hints = [f"{k!r}" + "".join(f" (did you mean {m!r}?)"
                                    for m in difflib.get_close_matches(k, KERNEL_NAMES, 1))
                 for k in unknown]
        raise BackendError(
            f"backend {backend!r}: {', '.join(hints)} not a kernel of the op catalogue; a "
            f"kernel is named like its op with dots as underscores (docs/ops.md), and a "
            f"kernel module's __all__ names its kernels only")
    if "basic_index" in table:
        raise BackendError(f"backend {backend!r}: basic_index is a hook, not a kernel: pass it "
                           f"as Backend(hooks=ember.BackendHooks(basic_index=...))")
    return table


def _kernel_table(b: Backend, given: dict[str, Callable[..., Any]], unsupported: dict[str, str],
                  host: dict[str, str]) -> tuple[Kernels, dict[str, OpStatus]]:
    """The backend's :class:`Kernels` and the status of every op, or a :class:`BackendError`
    naming each primitive with neither a kernel nor an ``unsupported`` entry (a primitive of
    ``LATER_PRIMITIVES`` without either is unsupported instead)."""
    fields: dict[str, Callable[..., Any] | None] = {}
    status: dict[str, OpStatus] = {}
    missing = []
    for spec in CATALOGUE:
        kname = spec.kernel_name
        fn = given.get(kname)
        if fn is not None:
            params = creation_params(kname, spec.kernel)
            if params is not None:  # checked against hooks.memory_limit before allocating
                fn = guard_creation(b, kname, params, fn)
            if not spec.primitive:
                status[spec.name] = OpStatus(FUSED)
            elif spec.name in host:
                status[spec.name] = OpStatus(HOST, host[spec.name])
            else:
                status[spec.name] = OpStatus(NATIVE)
        elif spec.name in unsupported:
            status[spec.name] = OpStatus(UNSUPPORTED, unsupported[spec.name])
            fn = _raiser(b.name, spec.name, unsupported[spec.name])
        elif spec.primitive and spec.name in LATER_PRIMITIVES:
            why = (f"the backend has no kernel for it: {spec.name} joined the op catalogue in "
                   f"ember {LATER_PRIMITIVES[spec.name]}, after the backend was written")
            status[spec.name] = OpStatus(UNSUPPORTED, why)
            fn = _raiser(b.name, spec.name, why)
        elif spec.primitive:
            missing.append(spec.name)
        else:
            status[spec.name] = OpStatus(COMPOSITE)
        fields[kname] = fn
    unknown = sorted(set(unsupported) - set(SPECS))
    if missing or unknown:
        parts = []
        if missing:
            parts.append("no kernel and no 'unsupported' entry for: " + ", ".join(missing))
        if unknown:
            parts.append("'unsupported' names ops not in the catalogue: " + ", ".join(unknown))
        raise BackendError(f"backend {b.name!r} is incomplete: " + "; ".join(parts))
    getitem = fields["getitem"]
    fields["basic_index"] = b.hooks.basic_index or getitem
    return Kernels._make(fields.get(k) for k in Kernels._fields), status


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
