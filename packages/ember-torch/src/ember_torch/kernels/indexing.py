"""Indexing kernels: take, getitem, index_update."""

from __future__ import annotations

from typing import Any

import torch

from ._util import UNSIGNED_BITS, Tensor, bits, narrow, unbits, widen

__all__ = ["getitem", "index_update", "take"]

_REDUCE = {"multiply": "prod", "min": "amin", "max": "amax"}


def take(x: Tensor, indices: Tensor, axis: int) -> Tensor:
    # advanced indexing (not index_select) so that negative indices wrap, as in NumPy
    return unbits(bits(x)[(slice(None),) * axis + (indices,)], x.dtype)


def _ndim_consumed(k: Any) -> int:
    if k is None or k is Ellipsis:
        return 0
    return k.ndim if isinstance(k, Tensor) and k.dtype is torch.bool else 1


def _positive_steps(x: Tensor, key: tuple[Any, ...]) -> tuple[Tensor, tuple[Any, ...]]:
    """Apply the negative-step slices of ``key`` (torch has none) as slice + flip first.

    Returns the transformed ``x`` and the rest of the key, with those slices made ``:``.
    """
    consumed = sum(_ndim_consumed(k) for k in key)
    first: list[Any] = []
    rest: list[Any] = []
    flips: list[int] = []
    dim = 0
    for k in key:
        if k is Ellipsis:
            n = x.ndim - consumed
            first.extend([slice(None)] * n)
            dim += n
            rest.append(k)
        elif k is None:
            rest.append(k)
        elif isinstance(k, slice) and k.step is not None and k.step < 0:
            r = range(*k.indices(x.shape[dim]))
            if len(r):
                first.append(slice(r[-1], r[0] + 1, -k.step))
                flips.append(dim)
            else:
                first.append(slice(0, 0))
            rest.append(slice(None))
            dim += 1
        else:
            n = _ndim_consumed(k)
            first.extend([slice(None)] * n)
            rest.append(k)
            dim += n
    y = x[tuple(first)]
    if flips:
        y = torch.flip(y, flips)
    return y, tuple(rest)


def _empty_masks(x: Tensor, key: tuple[Any, ...]) -> tuple[Any, ...]:
    """A boolean mask with no elements selects nothing; NumPy accepts one whose axes each
    match x's or are 0 (ember-core has checked that), torch only x's: such a mask becomes
    empty integer arrays, one per axis it covers (NumPy's definition: ``mask.nonzero()``)."""
    out: list[Any] = []
    for k in key:
        if isinstance(k, Tensor) and k.dtype is torch.bool and k.ndim and not k.numel():
            out.extend([torch.zeros(0, dtype=torch.int64, device=k.device)] * k.ndim)
        else:
            out.append(k)
    return tuple(out)


def _has_negative_step(key: tuple[Any, ...]) -> bool:
    return any(type(k) is slice and k.step is not None and k.step < 0 for k in key)


def _ints_as_arrays(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """NumPy counts integers as advanced indices when an array index is present (that decides
    where the broadcast axes go when a slice separates them); torch treats them as basic."""
    if not any(type(k) is int for k in key) or not any(
        isinstance(k, Tensor) and k.ndim for k in key
    ):
        return key
    dev = next(k.device for k in key if isinstance(k, Tensor))
    return tuple(torch.tensor([k], device=dev) if type(k) is int else k for k in key)


def getitem(x: Tensor, key: tuple[Any, ...]) -> Tensor:
    simple = True  # only ints, slices with positive steps, None and Ellipsis: torch == NumPy
    for k in key:
        if type(k) is slice:
            if k.step is not None and k.step < 0:
                simple = False
                break
        elif isinstance(k, Tensor):
            simple = False
            break
    if simple:
        return x[key]
    key = _empty_masks(x, key)
    if _has_negative_step(key):
        x, key = _positive_steps(x, key)
    key = _ints_as_arrays(key)
    try:
        return x[key]
    except (RuntimeError, NotImplementedError):
        if x.dtype not in UNSIGNED_BITS:
            raise
        return bits(x)[key].view(x.dtype)


def _linear(x: Tensor, key: tuple[Any, ...]) -> Tensor:
    """Flat indices of ``x[key]`` in a contiguous copy of ``x``."""
    return getitem(torch.arange(x.numel(), device=x.device).reshape(x.shape), key)


def index_update(x: Tensor, key: tuple[Any, ...], values: Any, mode: str) -> Tensor:
    dt = x.dtype
    if not isinstance(values, Tensor):
        values = torch.tensor(values, dtype=dt, device=x.device)
    if (mode == "multiply" and torch.is_grad_enabled()
            and (x.requires_grad or values.requires_grad)):
        # ember's rule, not torch's derivative: torch's lacks a conj for complex, and computes
        # (grad * result) / x, which underflows to 0 for subnormal x (float32 x=1.4e-45, grad
        # 0.27: gradient 0 instead of 0.27)
        return _ruled_multiply(x, key, values, mode)
    if dt in UNSIGNED_BITS:  # compute on the bit view (set) or the wider type (arithmetic)
        if mode == "set":
            return unbits(index_update(bits(x), key, bits(values), mode), dt)
        order = mode in ("min", "max")
        return narrow(index_update(widen(x, order), key, widen(values, order), mode), dt, order)
    out = x.clone(memory_format=torch.contiguous_format)
    if mode == "set" and not _has_negative_step(key):
        out[_ints_as_arrays(key)] = values
        return out
    idx = _linear(x, key)
    flat = out.view(-1)
    vals = values.broadcast_to(idx.shape).reshape(-1)
    idx = idx.reshape(-1)
    if mode == "set":
        flat[idx] = vals
    elif mode == "add":
        flat.index_put_((idx,), vals, accumulate=True)
    else:
        reduce = _REDUCE.get(mode)
        if reduce is None:
            raise ValueError(f"index_update mode must be set/add/multiply/min/max, got {mode!r}")
        if dt is torch.bool:  # scatter_reduce has no bool kernels
            r = flat.to(torch.uint8).scatter_reduce_(0, idx, vals.to(torch.uint8), reduce)
            return r.to(torch.bool).view(x.shape)
        flat.scatter_reduce_(0, idx, vals, reduce, include_self=True)
    return out


def _ruled_multiply(x: Tensor, key: tuple[Any, ...], values: Tensor, mode: str) -> Tensor:
    from .._ruled import ruled

    global _RULED_UPDATE
    if _RULED_UPDATE is None:
        _RULED_UPDATE = ruled("index_update", index_update)
    return _RULED_UPDATE(x, key, values, mode)


_RULED_UPDATE: Any = None
