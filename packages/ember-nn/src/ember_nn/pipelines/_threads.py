"""Tensors handed between threads. A lazy backend (MLX) records work on the stream of the
thread that asked for it, and another thread cannot evaluate it; so what one thread passes to
another is computed first (its values copied once through the host)."""

from __future__ import annotations

from typing import Any

import ember

__all__ = ["is_lazy", "materialise"]


def is_lazy(x: Any) -> bool:
    """Whether ``x`` is a tensor of a backend that computes on demand."""
    if not isinstance(x, ember.Tensor):
        return False
    caps = getattr(ember.load_backend(x.backend), "capabilities", None)
    return bool(getattr(caps, "lazy", False))


def materialise(x: Any) -> Any:
    """``x`` with every tensor of a lazy backend computed (lists, tuples and dicts walked)."""
    if isinstance(x, ember.Tensor):
        if not is_lazy(x):
            return x
        return ember.asarray(x.numpy(), dtype=x.dtype, backend=x.backend, device=x.device)
    if isinstance(x, list | tuple):
        out = [materialise(v) for v in x]
        if isinstance(x, list):
            return out
        return type(x)(*out) if hasattr(x, "_fields") else tuple(out)
    if isinstance(x, dict):
        return {k: materialise(v) for k, v in x.items()}
    return x
