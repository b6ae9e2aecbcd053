"""The PyTorch backend: ``create_backend()`` builds the :class:`ember.Backend`."""

from __future__ import annotations

import functools
import operator
import warnings
from typing import Any

import ember
import torch
from ember._compile import checked
from ember._memory import host_memory

from . import _settings, kernels
from ._compiler import Traced

__all__ = ["create_backend"]

DTYPES = {
    ember.bool: torch.bool,
    ember.int8: torch.int8,
    ember.int16: torch.int16,
    ember.int32: torch.int32,
    ember.int64: torch.int64,
    ember.uint8: torch.uint8,
    ember.uint16: torch.uint16,
    ember.uint32: torch.uint32,
    ember.uint64: torch.uint64,
    ember.float16: torch.float16,
    ember.bfloat16: torch.bfloat16,
    ember.float32: torch.float32,
    ember.float64: torch.float64,
    ember.complex64: torch.complex64,
    ember.complex128: torch.complex128,
}

_ALL = frozenset(DTYPES)
_NO_F64 = _ALL - {ember.float64, ember.complex128}

NOTES = {
    "uint16": "torch implements few uint16 kernels; ember computes through int32 (exact)",
    "uint32": "torch implements few uint32 kernels; ember computes through int64 (exact)",
    "uint64": (
        "torch implements few uint64 kernels; ember computes through an int64 view: exact for "
        "wrapping arithmetic, bitwise ops, shifts, comparisons, min/max, sort and search, but "
        "floor_divide and remainder are only right for values below 2**63"
    ),
    "bfloat16": "NumPy has no bfloat16: to_numpy needs .astype(ember.float32) first",
    "float64": "Apple MPS has no float64 or complex128",
    "complex128": "Apple MPS has no float64 or complex128",
}


def _devices() -> list[str]:
    out = ["cpu"]
    if torch.cuda.is_available():
        out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


def _name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return f"cuda:{dev.index if dev.index is not None else torch.cuda.current_device()}"
    return dev.type


def _default_device() -> str:
    return _name(torch.get_default_device())


def _device_of(x: torch.Tensor) -> str:
    dev = x.device
    if dev.type == "cpu":
        return "cpu"
    return _name(dev)


def _to_device(name: str) -> torch.device:
    """``name`` as a torch device that exists on this machine (torch itself accepts "cuda:7"
    anywhere and fails only when memory is allocated there)."""
    dev = torch.device(name)
    if dev.type == "cpu" and dev.index in (None, 0):
        return dev
    if dev.type == "cuda" and torch.cuda.is_available():
        if dev.index is None:  # "cuda": the current device, by its index (as ember names it)
            return torch.device("cuda", torch.cuda.current_device())
        if dev.index < torch.cuda.device_count():
            return dev
    mps = getattr(torch.backends, "mps", None)
    if dev.type == "mps" and dev.index in (None, 0) and mps is not None and mps.is_available():
        return dev
    raise ValueError(f"torch has no device {name!r} on this machine")


def _memory_limit(device: torch.device | None) -> int | None:
    """The memory of the device an array would live on: host memory for the CPU, the card's
    for CUDA, the recommended maximum for MPS."""
    dev = torch.get_default_device() if device is None else device
    if dev.type == "cuda":
        return _cuda_memory(dev.index if dev.index is not None else torch.cuda.current_device())
    if dev.type == "mps":
        mps = getattr(torch, "mps", None)
        get = getattr(mps, "recommended_max_memory", None)
        return int(get()) if get is not None else host_memory()
    return host_memory()


@functools.cache
def _cuda_memory(index: int) -> int:
    return int(torch.cuda.get_device_properties(index).total_memory)


def _to_numpy(x: torch.Tensor) -> Any:
    if x.dtype is torch.bfloat16:
        raise ember.UnsupportedError(
            "NumPy has no bfloat16: convert with .astype(ember.float32) before to_numpy"
        )
    return x.detach().cpu().resolve_conj().resolve_neg().numpy()


_BY_NAME = {d.name: n for d, n in DTYPES.items()}


def _compiler(fn: Any) -> Any:
    """``fn`` traced to an ATen graph per input signature and that graph ``torch.compile``d
    (``_compiler.py`` says why not ``torch.compile(fn)``); if torch cannot trace or compile it,
    the function runs eagerly from then on."""
    return checked(Traced(fn), fn)


def _to_bytes(x: torch.Tensor) -> bytes:
    """C-order little-endian bytes (torch runs on little-endian hosts only): the flat values
    viewed as uint8, so bfloat16 and the unsigned types need nothing of NumPy's dtypes."""
    flat = x.detach().resolve_conj().resolve_neg().reshape(-1).contiguous().cpu()
    return flat.view(torch.uint8).numpy().tobytes()


def _from_bytes(data: Any, dtype_name: str, shape: tuple[int, ...], device: Any) -> torch.Tensor:
    native = _BY_NAME[dtype_name]
    if len(data) == 0:  # torch.frombuffer rejects empty buffers
        return torch.empty(shape, dtype=native, device=device)
    with warnings.catch_warnings():  # read-only bytes make torch warn; the copy below owns them
        warnings.simplefilter("ignore", UserWarning)
        raw = torch.frombuffer(data, dtype=torch.uint8)
    raw = raw.to(device if device is not None else torch.get_default_device(), copy=True)
    if native is torch.bool:
        return (raw != 0).reshape(shape)
    return raw.view(native).reshape(shape)


_ENGINE: list[Any] = []  # the engine's class, once imported


def _tape_engine() -> Any:
    """The backend's gradient engine, imported with the first tape (not with the backend)."""
    if not _ENGINE:
        from ._gradient_engine import TorchEngine

        _ENGINE.append(TorchEngine)
    return _ENGINE[0]()


def _distributed() -> ember.distributed.Collectives:
    from ._distributed import TorchCollectives  # torch.distributed only when a job starts

    return TorchCollectives()


def create_backend() -> ember.Backend:
    return ember.Backend(
        name="torch",
        version=torch.__version__,
        kernels=kernels.MODULES,
        arrays=ember.NativeArrays(types=(torch.Tensor,), dtypes=DTYPES, to_numpy=_to_numpy),
        devices=ember.NativeDevices(names=_devices, default=_default_device, of=_device_of,
                                    to_native=_to_device),
        capabilities=ember.Capabilities(
            dtypes={"cpu": _ALL, "cuda": _ALL, "mps": _NO_F64}, notes=NOTES
        ),
        hooks=ember.BackendHooks(
            basic_index=operator.getitem,
            to_bytes=_to_bytes,
            from_bytes=_from_bytes,
            memory_limit=_memory_limit,
            compiler=_compiler,
            matmul_precision=_settings.matmul_precision,
            memory_info=_settings.memory_info,
            reset_peak_memory=_settings.reset_peak_memory,
            set_memory_limit=_settings.set_memory_limit,
            tape_engine=_tape_engine,
            distributed=_distributed,
        ),
    )
