"""What the native torch mixers of benchmarks/mixers.py share: an ember layer's variables as
NumPy arrays, torch parameters and Linear layers made from them, and the log-depth scan of the
linear recurrence ``h = a h + b`` (the odd/even recursion ember's associative_scan runs)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

Pair = tuple[torch.Tensor, torch.Tensor]


def variables(layer: Any) -> dict[str, np.ndarray]:
    """The layer's variables by dotted name, as float32 arrays."""
    return {name: np.asarray(v.numpy(), dtype=np.float32) for name, v in layer.named_variables()}


def tensor(value: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.ascontiguousarray(value), dtype=torch.float32)


def param(value: np.ndarray) -> nn.Parameter:
    return nn.Parameter(tensor(value))


def linear(weight: np.ndarray, bias: np.ndarray | None = None) -> nn.Linear:
    """A torch Linear from an ember Dense's ``(in, out)`` weight (and bias)."""
    n_in, n_out = weight.shape
    lin = nn.Linear(n_in, n_out, bias=bias is not None)
    lin.weight = param(weight.T)
    if bias is not None:
        lin.bias = param(bias)
    return lin


def dense(v: dict[str, np.ndarray], name: str) -> nn.Linear:
    """A torch Linear from ember Dense ``name``'s weight (and bias, if any) in ``v``."""
    return linear(v[f"{name}.weight"], v.get(f"{name}.bias"))


def expect(kind: str, v: dict[str, np.ndarray], names: set[str]) -> None:
    """A ValueError unless the layer's variables are exactly ``names`` (settings the native
    module does not mirror add or drop variables)."""
    if set(v) != names:
        raise ValueError(f"native {kind}: expected the variables {sorted(names)}, got {sorted(v)}")


def _combine(first: Pair, second: Pair) -> Pair:
    """``h = a h + b``: (a1, b1) then (a2, b2)."""
    (a1, b1), (a2, b2) = first, second
    return a1 * a2, a2 * b1 + b2


def associative_scan(a: torch.Tensor, b: torch.Tensor) -> Pair:
    """Inclusive scan of ``h = a h + b`` along axis 0 in log depth (odd/even recursion)."""
    m = a.shape[0]
    if m < 2:
        return a, b
    odd_a, odd_b = associative_scan(*_combine((a[0:-1:2], b[0:-1:2]), (a[1::2], b[1::2])))
    if m % 2 == 0:
        even_a, even_b = _combine((odd_a[:-1], odd_b[:-1]), (a[2::2], b[2::2]))
    else:
        even_a, even_b = _combine((odd_a, odd_b), (a[2::2], b[2::2]))
    out = []
    for first, ev, od in ((a, even_a, odd_a), (b, even_b, odd_b)):
        ev = torch.cat([first[:1], ev])
        k = od.shape[0]
        pairs = torch.stack([ev[:k], od], 1).reshape(2 * k, *od.shape[1:])
        out.append(torch.cat([pairs, ev[k:]]) if ev.shape[0] > k else pairs)
    return out[0], out[1]
