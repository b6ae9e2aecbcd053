"""MLX's side of ``ember.memory_info`` and ``ember.set_memory_limit`` (BackendHooks). MLX
has one memory pool for its CPU and GPU, so the device does not change the numbers, and no
float32 matmul precision switch (``ember.set_matmul_precision`` is kept, not applied)."""

from __future__ import annotations

from typing import Any

import mlx.core as mx

__all__ = ["memory_info", "reset_peak_memory", "set_memory_limit"]


def memory_info(device: Any) -> tuple[int, int, int, int]:
    """(active, peak, memory limit, cache) from MLX's allocator."""
    return (int(mx.get_active_memory()), int(mx.get_peak_memory()),
            int(mx.get_memory_limit()), int(mx.get_cache_memory()))


def reset_peak_memory(device: Any) -> bool:
    mx.reset_peak_memory()
    return True


def set_memory_limit(nbytes: int, device: Any) -> int:
    """``mx.set_memory_limit(nbytes)``: returns the previous limit."""
    return int(mx.set_memory_limit(nbytes))
