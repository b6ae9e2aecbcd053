"""The NumPy backend: ember's reference implementation of every primitive op."""

from __future__ import annotations

import operator
from typing import Any

import ember
import numpy as np
from ember._memory import host_memory

from . import kernels

__all__ = ["create_backend"]

#: Every ember dtype NumPy has (all but bfloat16).
DTYPES: dict[ember.DType, np.dtype] = {
    ember.bool: np.dtype(np.bool_),
    ember.int8: np.dtype(np.int8),
    ember.int16: np.dtype(np.int16),
    ember.int32: np.dtype(np.int32),
    ember.int64: np.dtype(np.int64),
    ember.uint8: np.dtype(np.uint8),
    ember.uint16: np.dtype(np.uint16),
    ember.uint32: np.dtype(np.uint32),
    ember.uint64: np.dtype(np.uint64),
    ember.float16: np.dtype(np.float16),
    ember.float32: np.dtype(np.float32),
    ember.float64: np.dtype(np.float64),
    ember.complex64: np.dtype(np.complex64),
    ember.complex128: np.dtype(np.complex128),
}

_DEVICES = ["cpu"]


def _devices() -> list[str]:
    return _DEVICES


def _default_device() -> str:
    return "cpu"


def _device_of(x: Any) -> str:
    return "cpu"


def _to_device(name: str) -> None:
    if name not in ("cpu", "cpu:0"):
        raise ValueError(f"the numpy backend has only the 'cpu' device, not {name!r}")
    return None


def _memory_limit(device: Any) -> int | None:
    return host_memory()  # NumPy arrays live in host memory


def _to_numpy(x: Any) -> np.ndarray:
    return x if type(x) is np.ndarray else np.asarray(x)


_BY_NAME = {d.name: n for d, n in DTYPES.items()}


def _to_bytes(x: Any) -> bytes:
    x = np.asarray(x)
    return x.astype(x.dtype.newbyteorder("<"), copy=False).tobytes(order="C")


def _from_bytes(data: Any, dtype_name: str, shape: tuple[int, ...], device: Any) -> np.ndarray:
    native = _BY_NAME[dtype_name]
    flat = np.frombuffer(data, dtype=native.newbyteorder("<"))
    return flat.astype(native, copy=True).reshape(shape)


def create_backend() -> ember.Backend:
    """Build the NumPy backend (called by ember's plugin loader)."""
    return ember.Backend(
        name="numpy",
        version=np.__version__,
        kernels=kernels.MODULES,
        arrays=ember.NativeArrays(types=(np.ndarray, np.generic), dtypes=DTYPES,
                                  to_numpy=_to_numpy),
        devices=ember.NativeDevices(names=_devices, default=_default_device, of=_device_of,
                                    to_native=_to_device),
        capabilities=ember.Capabilities(
            dtypes={"cpu": frozenset(DTYPES)},
            notes={"bfloat16": "NumPy has no bfloat16 dtype"},
            max_dimensions=64,  # NumPy 2's NPY_MAXDIMS
        ),
        hooks=ember.BackendHooks(
            basic_index=operator.getitem,
            to_bytes=_to_bytes,
            from_bytes=_from_bytes,
            memory_limit=_memory_limit,
        ),
    )
