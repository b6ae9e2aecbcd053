"""torch's side of ``ember.set_matmul_precision`` and ``ember.memory_info`` (BackendHooks)."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["matmul_precision", "memory_info", "reset_peak_memory", "set_memory_limit"]


def matmul_precision(value: str | None) -> str:
    """``torch.set_float32_matmul_precision(value)`` (TF32 on CUDA for "high" and "medium");
    returns the precision in effect before."""
    before = torch.get_float32_matmul_precision()
    if value is not None:
        torch.set_float32_matmul_precision(value)
    return before


def _cuda(device: torch.device | None) -> int | None:
    """The CUDA device index of ``device`` (None: torch's default device), None for the CPU."""
    dev = torch.get_default_device() if device is None else device
    if dev.type != "cuda":
        return None
    return dev.index if dev.index is not None else torch.cuda.current_device()


_fractions: dict[int, float] = {}  # the fraction set per device (torch has no getter)


def memory_info(device: torch.device | None) -> tuple[Any, Any, Any, Any] | None:
    """CUDA: the caching allocator's allocated (current, peak) and reserved-but-free bytes, and
    the card's memory (times the fraction ``set_memory_limit`` set); None (the process's numbers)
    for the CPU and MPS."""
    index = _cuda(device)
    if index is None:
        return None
    stats = torch.cuda.memory_stats(index)
    current = int(stats.get("allocated_bytes.all.current", 0))
    peak = int(stats.get("allocated_bytes.all.peak", 0))
    reserved = int(stats.get("reserved_bytes.all.current", 0))
    total = int(torch.cuda.get_device_properties(index).total_memory)
    limit = int(total * _fractions.get(index, 1.0))
    return current, peak, limit, reserved - current


def reset_peak_memory(device: torch.device | None) -> bool:
    index = _cuda(device)
    if index is None:
        return False
    torch.cuda.reset_peak_memory_stats(index)
    return True


def set_memory_limit(nbytes: int, device: torch.device | None) -> Any:
    """CUDA: ``torch.cuda.set_per_process_memory_fraction(nbytes / card memory)``; returns the
    previous limit in bytes. NotImplemented for the CPU and MPS."""
    index = _cuda(device)
    if index is None:
        return NotImplemented
    total = int(torch.cuda.get_device_properties(index).total_memory)
    previous = int(total * _fractions.get(index, 1.0))
    fraction = min(nbytes / total, 1.0)
    torch.cuda.set_per_process_memory_fraction(fraction, index)
    _fractions[index] = fraction
    return previous
