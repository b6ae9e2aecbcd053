"""Random kernels: a CPU ``torch.Generator`` seeded with ``seed``, results moved to ``device``,
so the same seed, shape and dtype give the same numbers on every run and every device."""

from __future__ import annotations

from typing import Any

import torch

from ._util import Tensor

__all__ = ["random_normal", "random_randint", "random_uniform"]

_NATIVE = (torch.float32, torch.float64)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_uniform(seed: int, shape: tuple[int, ...], dtype: torch.dtype, device: Any) -> Tensor:
    gen = torch.float64 if dtype is torch.float64 else torch.float32
    out = torch.rand(shape, generator=_gen(seed), dtype=gen)
    if dtype is not gen:  # rounding to a half type may reach 1: keep the interval half-open
        out = out.to(dtype)
        below_one = torch.nextafter(torch.ones((), dtype=dtype), torch.zeros((), dtype=dtype))
        out = torch.where(out >= 1, below_one, out)
    return out.to(device if device is not None else torch.get_default_device())


def random_normal(seed: int, shape: tuple[int, ...], dtype: torch.dtype, device: Any) -> Tensor:
    gen = torch.float64 if dtype is torch.float64 else torch.float32
    out = torch.randn(shape, generator=_gen(seed), dtype=gen)
    if dtype is not gen:
        out = out.to(dtype)
    return out.to(device if device is not None else torch.get_default_device())


def random_randint(
    seed: int, shape: tuple[int, ...], low: int, high: int, dtype: torch.dtype, device: Any
) -> Tensor:
    out = torch.randint(low, high, shape, generator=_gen(seed), dtype=torch.int64)
    if dtype is not torch.int64:
        out = out.to(dtype)
    return out.to(device if device is not None else torch.get_default_device())
