"""``ember.memory_info``, ``ember.reset_peak_memory`` and ``ember.set_memory_limit``: how much
memory a backend's device uses, from the library where it keeps count (torch's CUDA allocator,
MLX's allocator), else the process's resident memory (NumPy, torch on the CPU).

>>> info = ember.memory_info(backend="numpy")
>>> info.current > 0 and info.peak >= info.current
True

See ``docs/semantics.md``, "Settings".
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._errors import ArgumentError, UnsupportedError
from ._memory import format_bytes, host_memory

if TYPE_CHECKING:
    from ._backend import Backend

__all__ = ["MemoryInfo", "memory_info", "process_memory", "reset_peak_memory",
           "set_memory_limit"]


@dataclass(frozen=True)
class MemoryInfo:
    """Memory of one device of one backend, in bytes; None where the library does not say.

    Arguments:
        current: bytes in use now (torch CUDA: allocated by tensors; MLX: active; the CPU: the
            process's resident memory).
        peak: the most ``current`` has been since the start or ``reset_peak_memory``.
        limit: the most that can be used (torch CUDA: the card's memory, or the fraction
            ``set_memory_limit`` set; MLX: its memory limit; the CPU: host memory).
        cache: bytes the allocator holds for reuse beyond ``current`` (torch CUDA: reserved
            minus allocated; MLX: its cache); None for the process.
        device, backend: what the numbers are about.
    """

    current: int | None
    peak: int | None
    limit: int | None
    cache: int | None
    device: str
    backend: str

    def __str__(self) -> str:
        def fmt(n: int | None) -> str:
            return "unknown" if n is None else format_bytes(n)

        text = f"current {fmt(self.current)}, peak {fmt(self.peak)}, limit {fmt(self.limit)}"
        return text + (f", cache {fmt(self.cache)}" if self.cache is not None else "")


# -- the process (the CPU of NumPy and torch) ---------------------------------------------------
def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def process_memory() -> tuple[int | None, int | None, int | None]:
    """(current, peak, limit) of this process: resident memory (``/proc/self/status`` VmRSS and
    VmHWM on Linux; ``getrusage`` elsewhere, which gives the peak only) and host memory."""
    current = _status_kb("VmRSS")
    peak = _status_kb("VmHWM")
    if peak is None:
        try:
            import resource  # POSIX only
        except ImportError:
            resource = None  # type: ignore[assignment]
        if resource is not None:
            ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            peak = ru if sys.platform == "darwin" else ru * 1024  # bytes on macOS, else KiB
    if current is not None and peak is not None:
        peak = max(peak, current)
    return current, peak, host_memory()


def _reset_process_peak() -> None:
    try:  # Linux >= 4.0: "5" resets the peak resident set size (VmHWM)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError as exc:
        raise UnsupportedError(
            f"reset_peak_memory: this system cannot reset the process's peak memory ({exc}); "
            f"compare memory_info().current before and after instead") from exc


# -- the public functions -----------------------------------------------------------------------
def _where(device: Any, backend: Any) -> tuple[Backend, str, Any]:
    from ._backend import current_backend
    from ._plugins import load_backend
    from ._settings import default_device_name

    b = (current_backend() if backend is None else load_backend(backend)).root
    if device is None:
        name = default_device_name(b)
    elif isinstance(device, str):
        name = device
    else:
        raise ArgumentError(f"device must be a device name such as 'cpu', 'cuda:0' or 'gpu', "
                            f"got {device!r}")
    native = b.native_device(name)  # UnsupportedError naming the backend's devices
    return b, b.device_name(native), native


def memory_info(device: str | None = None, *, backend: Any = None) -> MemoryInfo:
    """Current, peak and limit of memory in bytes on ``device`` (default: the default device)
    of ``backend`` (default: the backend in effect). torch CUDA: its allocator's statistics;
    MLX: ``mx.get_active_memory``/``get_peak_memory``/``get_memory_limit``/``get_cache_memory``
    (one pool for its CPU and GPU); NumPy and torch's CPU: the process's resident memory.

    >>> ember.memory_info(backend="numpy").device
    'cpu'
    """
    b, name, native = _where(device, backend)
    hook = b.hooks.memory_info
    numbers = hook(native) if hook is not None else None
    if numbers is None:
        current, peak, limit = process_memory()
        return MemoryInfo(current, peak, limit, None, name, b.name)
    current, peak, limit, cache = numbers
    if peak is not None and current is not None:
        peak = max(peak, current)  # MLX's reset sets the peak to 0 until the next allocation
    return MemoryInfo(current, peak, limit, cache, name, b.name)


def reset_peak_memory(device: str | None = None, *, backend: Any = None) -> None:
    """Start ``memory_info(device).peak`` again from the current use (torch CUDA:
    ``reset_peak_memory_stats``; MLX: ``mx.reset_peak_memory``; the process: Linux's
    ``clear_refs``, an :class:`ember.UnsupportedError` where the system has none)."""
    b, _, native = _where(device, backend)
    hook = b.hooks.reset_peak_memory
    if hook is None or not hook(native):
        _reset_process_peak()


def set_memory_limit(nbytes: int, device: str | None = None, *, backend: Any = None) -> int | None:
    """Limit the memory ``backend``'s allocator may use on ``device`` to ``nbytes``; returns the
    previous limit (pass it back to restore). MLX: ``mx.set_memory_limit`` (a guideline: MLX
    frees its cache and waits for memory before going past it); torch CUDA:
    ``torch.cuda.set_per_process_memory_fraction`` (allocations past it fail). Backends without
    one (NumPy, torch's CPU) raise :class:`ember.UnsupportedError`.
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes <= 0:
        raise ArgumentError(f"set_memory_limit: the limit must be a positive number of bytes "
                            f"(an int), got {nbytes!r}")
    b, name, native = _where(device, backend)
    hook = b.hooks.set_memory_limit
    previous = hook(nbytes, native) if hook is not None else NotImplemented
    if previous is NotImplemented:
        raise UnsupportedError(
            f"set_memory_limit: backend {b.name!r} has no memory limit to set on device "
            f"{name!r} (only MLX, and torch on CUDA, have one); limit the process instead "
            f"(ulimit -v, a container's memory limit)")
    return previous
