"""Results too large for memory: ``ember.OutOfMemoryError`` on every backend, before allocating.

A backend may give ``BackendHooks(memory_limit=...)``: ``memory_limit(device)`` is the most
bytes one array can take on ``device`` (its native device object, or None for the default
device), or None when it cannot tell. ember-core then checks every creation kernel (``zeros``, ``full``,
``eye``, ``arange``, ``linspace``, ``*_like``, random draws, ``fft.*freq``) *before* calling
it, and turns an allocator's own failure (NumPy's MemoryError, torch's "can't allocate
memory" and CUDA out-of-memory) into the same error. A lazy backend can check every kernel's
result before it is evaluated (ember-mlx does: MLX crashes the process when an allocation
fails). See ``docs/semantics.md``, "Results too large for memory".
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._errors import OutOfMemoryError

if TYPE_CHECKING:
    from ._backend import Backend

__all__ = ["creation_params", "format_bytes", "guard_creation", "host_memory", "is_oom",
           "out_of_memory", "renamed"]


@functools.cache
def host_memory() -> int | None:
    """The most bytes one array can take in host memory: physical memory plus swap, or a
    smaller cgroup (container) limit; None where the system does not say."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None
    total += _meminfo_kb("SwapTotal") * 1024
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
        break
    return total


def _meminfo_kb(key: str) -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def format_bytes(n: int) -> str:
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def out_of_memory(op: str, shape: Sequence[int], dtype: Any, nbytes: int, device: str,
                  backend: str, limit: int | None = None, cause: BaseException | None = None
                  ) -> OutOfMemoryError:
    """The error for a result of ``op`` that does not fit: over ``limit`` (checked before
    allocating) or refused by the allocator (``cause``)."""
    facts = (shape, dtype, nbytes, device, backend, limit, cause)
    kind = "an array" if dtype is None else f"a {str(dtype).rsplit('.', 1)[-1]} array"
    what = (f"{op}: {kind} of shape {tuple(shape)} needs "
            f"{nbytes:,} bytes ({format_bytes(nbytes)})")
    where = f"device {device!r} of backend {backend!r}"
    if limit is not None and nbytes > limit:
        head = f"{what}, more than the {format_bytes(limit)} of memory of {where}"
    else:
        head = f"{what}, which {where} could not allocate" + (
            f" ({type(cause).__name__}: {str(cause)[:200]})" if cause is not None else "")
    err = OutOfMemoryError(head + "; allocate less (smaller shapes or batches, a narrower "
                                  "dtype) or use a device with more memory")
    err.facts = facts  # type: ignore[attr-defined]
    return err


def renamed(exc: OutOfMemoryError, op: str) -> OutOfMemoryError:
    """``exc`` naming ``op`` (the op called: ``zeros``) instead of the kernel (``full``)."""
    facts = getattr(exc, "facts", None)
    return exc if facts is None else out_of_memory(op, *facts)


_OOM_WORDS = ("out of memory", "can't allocate memory", "cannot allocate memory",
              "unable to allocate")


def is_oom(exc: BaseException) -> bool:
    """Whether a library's exception says an allocation failed (NumPy's MemoryError, torch's
    CPU allocator and CUDA out-of-memory errors)."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    if isinstance(exc, RuntimeError):
        msg = str(exc).lower()
        return any(w in msg for w in _OOM_WORDS)
    return False


# -- creation kernels ---------------------------------------------------------------------------
_NOT_CREATION = frozenset({"asarray", "from_dlpack"})  # their data exists already


def creation_params(kname: str, signature: str) -> list[str] | None:
    """The parameters of a kernel that allocates a new array from a size and a device (its
    catalogue signature, e.g. "(shape, dtype, device)"), or None for other kernels."""
    params = [p.strip() for p in signature.strip("()").split(",") if p.strip()]
    if "device" not in params or kname in _NOT_CREATION:
        return None
    return params


def _count(name: str, params: list[str], args: tuple[Any, ...]) -> int | None:
    """How many elements the creation kernel ``name`` makes from ``args`` (None: not known)."""
    a = dict(zip(params, args))
    if "shape" in a:
        return math.prod(int(s) for s in a["shape"])
    if name == "eye":
        rows = int(a["n_rows"])
        return rows * int(a["n_cols"] if a.get("n_cols") is not None else rows)
    if "num" in a:
        return int(a["num"])
    if name == "arange":
        start, stop, step = a["start"], a["stop"], a["step"]
        if stop is None:
            start, stop = 0, start
        try:
            return max(math.ceil((stop - start) / step), 0) if step else 0
        except (TypeError, ValueError, OverflowError):
            return None
    if name in ("fft_fftfreq", "fft_rfftfreq"):
        n = int(a["n"])
        return n if name == "fft_fftfreq" else n // 2 + 1
    x = a.get("x")
    if x is not None and name.endswith("_like"):
        return math.prod(int(s) for s in x.shape)
    return None


def guard_creation(b: Backend, name: str, params: list[str], fn: Callable[..., Any]
                   ) -> Callable[..., Any]:
    """The creation kernel ``fn`` checked against ``b.hooks.memory_limit`` before it allocates,
    its allocator's failure reported as OutOfMemoryError."""
    pd = params.index("dtype") if "dtype" in params else -1
    pdev = params.index("device") if "device" in params else -1
    op = name.replace("random_", "random.").replace("fft_", "fft.")

    def facts(args: tuple[Any, ...]) -> tuple[int, tuple[int, ...], Any, Any]:
        count = _count(name, params, args) or 0
        native = args[pd] if 0 <= pd < len(args) else None
        if native is None and params and params[0] == "x":
            native = args[0].dtype
        d = b.from_native_dtype.get(native)
        size = d.itemsize if d is not None else 8
        if "shape" in params:
            shape = tuple(args[params.index("shape")])
        elif name == "eye":
            shape = (int(args[0]), count // max(int(args[0]), 1))
        else:
            shape = (count,)
        device = args[pdev] if 0 <= pdev < len(args) else None
        return count * size, shape, d if d is not None else native, device

    def kernel(*args: Any) -> Any:
        limit_of = b.hooks.memory_limit  # read per call: it may be replaced (a smaller budget)
        if limit_of is not None:
            nbytes, shape, d, device = facts(args)
            limit = limit_of(device)
            if limit is not None and nbytes > limit:
                raise out_of_memory(op, shape, d, nbytes, b.device_name(device), b.name, limit)
        try:
            return fn(*args)
        except Exception as exc:
            if not is_oom(exc):
                raise
            nbytes, shape, d, device = facts(args)
            raise out_of_memory(op, shape, d, nbytes, b.device_name(device), b.name,
                                cause=exc) from exc

    kernel.__name__ = kernel.__qualname__ = getattr(fn, "__name__", name)
    kernel.__wrapped__ = fn  # type: ignore[attr-defined]
    return kernel
