"""Build the MLX :class:`ember.Backend`."""

from __future__ import annotations

import functools
import operator
from typing import Any

import ember
import mlx.core as mx
from ember._catalogue import CATALOGUE
from ember._compile import checked
from ember._memory import creation_params, host_memory, out_of_memory

from . import _settings, kernels
from ._lazy_numpy import np

__all__ = ["create_backend"]

DTYPES = {
    ember.bool: mx.bool_,
    ember.int8: mx.int8,
    ember.int16: mx.int16,
    ember.int32: mx.int32,
    ember.int64: mx.int64,
    ember.uint8: mx.uint8,
    ember.uint16: mx.uint16,
    ember.uint32: mx.uint32,
    ember.uint64: mx.uint64,
    ember.float16: mx.float16,
    ember.bfloat16: mx.bfloat16,
    ember.float32: mx.float32,
    ember.float64: mx.float64,
    ember.complex64: mx.complex64,
}

HOST = {
    "nonzero": "data-dependent output shape: computed on the host",
    "unique_all": "data-dependent output shape: computed on the host (NumPy's unique_all)",
    "getitem": "boolean-mask indices only: the mask is read on the host (data-dependent "
    "shape); all other keys stay on the device",
    "index_update": "boolean-mask indices only: the mask is read on the host",
    "repeat": "an array of repeats only: the repeats are read on the host (data-dependent "
    "shape); an int repeat stays on the device",
}

_F64_HOST = (
    "float64 input only: MLX evaluates it in float32 precision, so float64 is computed with "
    "NumPy on the host"
)
_COMPLEX_HOST = "complex64 input only: MLX's factorisation is real-only, so NumPy computes it"
_DET_HOST = (
    "complex64 and float64 input only: MLX's factorisation is real-only and its float64 "
    "determinant has float32 precision, so NumPy computes those"
)
HOST.update(
    {name: _F64_HOST for name in ("exp", "sin", "cos", "erf", "erfinv", "logaddexp")}
    | {f"linalg.{name}": _COMPLEX_HOST for name in ("cholesky", "qr", "pinv")}
    | {f"linalg.{name}": _DET_HOST for name in ("det", "slogdet")}
)

UNSUPPORTED: dict[str, str] = {}
F64 = mx.float64


def _gpu_available() -> bool:
    try:
        return bool(mx.is_available(mx.gpu))
    except Exception:  # older or CPU-only builds
        return False


def _devices() -> list[str]:
    return ["cpu", "gpu"] if _gpu_available() else ["cpu"]


def _default_device() -> str:
    return "gpu" if mx.default_device().type == mx.gpu else "cpu"


def _device_of(x: Any) -> str:
    return _default_device()  # MLX arrays are not bound to a device


def _to_device(name: str) -> mx.Device:
    kind, _, index = name.partition(":")
    if index not in ("", "0"):  # MLX has one device of each kind
        pass
    elif kind == "cpu":
        return mx.Device(mx.cpu)
    elif kind == "gpu" and _gpu_available():
        return mx.Device(mx.gpu)
    raise ember.UnsupportedError(
        f"MLX has no device {name!r} here; available: {', '.join(_devices())}"
    )


def _evaluated(x: mx.array) -> mx.array:
    """``x`` evaluated. NumPy's conversion of an MLX array swallows an evaluation error and
    reads whatever the buffer holds (a singular ``inv`` under ``mx.compile`` read as numbers),
    so the error is raised here first."""
    try:
        mx.eval(x)
    except RuntimeError as exc:
        raise ember.EmberError(f"MLX failed to compute this array: {exc}") from exc
    return x


def _to_numpy(x: mx.array) -> np.ndarray:
    if x.dtype == mx.bfloat16:
        raise ember.UnsupportedError(
            "NumPy has no bfloat16; convert first with x.astype(ember.float32)"
        )
    return np.array(_evaluated(x), copy=True)


_BY_NAME = {d.name: n for d, n in DTYPES.items()}
_BY_NATIVE = {n: d for d, n in DTYPES.items()}


def _compiler(fn: Any) -> Any:
    """``mx.compile(fn)``, checked on its first call; a function MLX cannot compile (one that
    reads values on the host, say) runs uncompiled from then on."""
    return checked(mx.compile(fn), fn, mx.eval)


def _to_bytes(x: mx.array) -> bytes:
    """C-order little-endian bytes through NumPy (bfloat16 as its uint16 bit patterns)."""
    if x.dtype == mx.bfloat16:
        x = x.view(mx.uint16)
    host = np.asarray(_evaluated(x))
    return host.astype(host.dtype.newbyteorder("<"), copy=False).tobytes(order="C")


def _from_bytes(data: Any, dtype_name: str, shape: tuple[int, ...], device: Any) -> mx.array:
    native = _BY_NAME[dtype_name]
    if native == mx.bfloat16:
        bits = np.frombuffer(data, dtype="<u2").reshape(shape)
        return mx.array(bits, dtype=mx.uint16).view(mx.bfloat16)
    host = np.frombuffer(data, dtype=np.dtype(dtype_name).newbyteorder("<")).reshape(shape)
    return mx.array(host, dtype=native)  # copies (MLX would make float64 float32 otherwise)


def _holds_float64(args: tuple[Any, ...]) -> bool:
    array, dtype = mx.array, mx.Dtype
    for a in args:
        t = type(a)
        if t is array:
            if a.dtype == F64:
                return True
        elif t is dtype:
            if a == F64:
                return True
        elif (t is list or t is tuple) and any(
                type(b) is array and b.dtype == F64 for b in a):
            return True
    return False


_WIDE_INTS = (mx.int64, mx.uint64)


def _scatter_needs_cpu(args: tuple[Any, ...]) -> bool:
    """index_update(x, key, values, mode): float64 anywhere, or 64-bit integers (MLX's GPU
    scatter has no int64/uint64: "GPU scatter does not yet support int64")."""
    x, values = args[0], args[2]
    return (x.dtype in _WIDE_INTS or (type(values) is mx.array and values.dtype in _WIDE_INTS)
            or _holds_float64(args))


def _on_cpu_stream_when(needs_cpu: Any, fn: Any) -> Any:
    """On a GPU machine, schedule a kernel on the CPU stream when ``needs_cpu(args)``: for
    what MLX's GPU lacks (float64; 64-bit integer scatter). Only installed where a GPU exists,
    so CPU-only builds pay nothing."""

    @functools.wraps(fn)
    def kernel(*args: Any) -> Any:
        # the dtype test first: it is cheaper than asking MLX for its default device
        if needs_cpu(args) and mx.default_device().type == mx.gpu:
            with mx.stream(mx.cpu):
                return fn(*args)
        return fn(*args)

    return kernel


def _basic_index_gpu(x: mx.array, key: tuple[Any, ...]) -> mx.array:
    """x[key] for checked basic keys on a GPU machine: float64 is sliced on the CPU stream."""
    if x.dtype == F64 and mx.default_device().type == mx.gpu:
        with mx.stream(mx.cpu):
            return x[key]
    return x[key]


def _info_memory(device: Any) -> int | None:
    try:
        info = mx.device_info(device)
    except Exception:
        return None
    for key in ("total_memory", "memory_size"):
        if isinstance(info.get(key), int):
            return int(info[key])
    return None


@functools.cache
def _gpu_memory() -> int | None:
    return _info_memory(mx.Device(mx.gpu)) if _gpu_available() else None


def _memory_limit(device: mx.Device | None) -> int | None:
    """Host memory for the CPU; the GPU's as MLX reports it (the system's on Apple silicon)."""
    kind = (device if device is not None else mx.default_device()).type
    if kind == mx.gpu:
        return _gpu_memory() or host_memory()
    return host_memory()


# kernels whose result is a view of its input (a broadcast allocates nothing until used)
_VIEWS = frozenset({"broadcast_to", "broadcast_arrays"})
_OPS = {spec.kernel_name: spec.name for spec in CATALOGUE}
_CREATION = frozenset(spec.kernel_name for spec in CATALOGUE
                      if creation_params(spec.kernel_name, spec.kernel) is not None)


@functools.cache  # one wrapper per kernel (kernel_table may be built more than once)
def _guarded(name: str, fn: Any, limit: int) -> Any:
    """``fn`` whose results are checked against ``limit`` before anything evaluates them. MLX
    is lazy: a result's size is known before its memory is, and an allocation that fails
    crashes the process (a segmentation fault, seen with mlx 0.32 on Linux), so a result that
    cannot fit raises OutOfMemoryError here instead."""
    op = _OPS.get(name, name)

    def too_big(out: Any) -> None:
        raise out_of_memory(op, out.shape, _BY_NATIVE.get(out.dtype, out.dtype), out.nbytes,
                            _default_device(), "mlx", limit)

    @functools.wraps(fn)
    def kernel(*args: Any) -> Any:
        out = fn(*args)
        if type(out) is mx.array:
            if out.nbytes > limit:
                too_big(out)
        elif isinstance(out, (tuple, list)):
            for o in out:
                if type(o) is mx.array and o.nbytes > limit:
                    too_big(o)
        return out

    return kernel


def kernel_table(gpu: bool | None = None) -> dict[str, Any]:
    table = {name: getattr(m, name) for m in kernels.MODULES for name in m.__all__}
    limit = max((m for m in (host_memory(), _gpu_memory()) if m is not None), default=None)
    if limit is not None:  # creation kernels: ember-core checks them before they run
        table = {name: fn if name in _VIEWS or name in _CREATION else _guarded(name, fn, limit)
                 for name, fn in table.items()}
    if gpu if gpu is not None else _gpu_available():
        table = {name: _on_cpu_stream_when(
            _scatter_needs_cpu if name == "index_update" else _holds_float64, fn)
            for name, fn in table.items()}
    return table


_ENGINE: list[Any] = []  # the engine's class, once imported


def _tape_engine() -> Any:
    """The backend's gradient engine, imported with the first tape (not with the backend)."""
    if not _ENGINE:
        from ._gradient_engine import MLXEngine

        _ENGINE.append(MLXEngine)
    return _ENGINE[0]()


def _distributed() -> ember.distributed.Collectives:
    from ._distributed import MLXCollectives

    return MLXCollectives()


def create_backend() -> ember.Backend:
    all_dtypes = frozenset(DTYPES)
    return ember.Backend(
        name="mlx",
        version=mx.__version__,  # type: ignore[attr-defined]  # set at runtime, not in the stubs
        kernels=kernel_table(),
        arrays=ember.NativeArrays(types=(mx.array,), dtypes=DTYPES, to_numpy=_to_numpy),
        devices=ember.NativeDevices(names=_devices, default=_default_device, of=_device_of,
                                    to_native=_to_device),
        capabilities=ember.Capabilities(
            dtypes={"cpu": all_dtypes, "gpu": all_dtypes - {ember.float64}},
            notes={
                "float64": "MLX supports float64 only on the CPU device",
                "complex128": "MLX has no complex128",
            },
            lazy=True,
        ),
        unsupported=UNSUPPORTED,
        host=HOST,
        hooks=ember.BackendHooks(
            # plain x[key] for checked basic keys (on a GPU machine, float64 on the CPU stream)
            basic_index=_basic_index_gpu if _gpu_available() else operator.getitem,
            to_bytes=_to_bytes,
            from_bytes=_from_bytes,
            memory_limit=_memory_limit,
            compiler=_compiler,
            memory_info=_settings.memory_info,
            reset_peak_memory=_settings.reset_peak_memory,
            set_memory_limit=_settings.set_memory_limit,
            tape_engine=_tape_engine,
            distributed=_distributed,
        ),
    )
