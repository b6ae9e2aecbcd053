"""Optimiser-update kernels: torch's fused kernels (``torch._fused_adam_``, ``_fused_adamw_``,
``_fused_sgd_``) where the device and dtype have them, else ``torch._foreach_*`` (torch.optim's
multi-tensor forms; RMSprop has no fused kernel). The kernels work in place, so the params (and
the slots, unless donated) are copied first: ember tensors are never changed in place.

The fused kernels walk a param, its gradient and its slots in memory order, as torch.optim can
(autograd lays a ``.grad`` out like its param). An ember gradient need not be: a weight used
through its transpose (CfC's backbone) gets a transposed view. Before a fused kernel runs, each
gradient or slot laid out unlike its param is copied into the param's layout (``_as_params``);
the foreach forms read strides and need no copy."""

from __future__ import annotations

from typing import Any

import ember
import torch
from ember.ops._optimizers import adam_scalars

from ._util import Tensor

__all__ = ["nn_adam_update", "nn_rmsprop_update", "nn_sgd_update"]

_FUSED_DEVICES = frozenset({"cpu", "cuda", "mps", "xpu"})
_FUSED_DTYPES = frozenset({torch.float16, torch.bfloat16, torch.float32, torch.float64})

TL = list[Tensor] | tuple[Tensor, ...]  # torch's _foreach ops take either, return tuples


def _fused(params: TL) -> bool:
    """Whether torch's fused kernel runs: not while ember.compile traces (the fused ops have no
    fake-tensor implementation; the foreach form compiles, and inductor fuses it anyway)."""
    return bool(params) and params[0].device.type in _FUSED_DEVICES and (
        params[0].dtype in _FUSED_DTYPES) and not ember.compiling()


def _as_params(ps: TL, xs: TL) -> list[Tensor]:
    """Each of ``xs`` in the memory layout (strides) of its param in ``ps``: itself where it
    has it, else a copy (the fused kernels read a param and its gradient or slot in memory
    order, so a transposed gradient would be read scrambled)."""
    return [x if x.stride() == p.stride() else
            torch.empty_strided(x.shape, p.stride(), dtype=x.dtype, device=x.device).copy_(x)
            for p, x in zip(ps, xs, strict=True)]


def _copies(xs: TL | None, donate: bool = False) -> Any:
    """``xs`` themselves when donated, else copies, made by one ``_foreach_copy_`` (on a GPU a
    few multi-tensor launches for the whole group, where a clone each is a launch each)."""
    if xs is None:
        return None
    if donate:
        return list(xs)
    out = [torch.empty_like(x, memory_format=torch.preserve_format) for x in xs]
    if out:  # (the callers run under no_grad: nothing records the copy)
        torch._foreach_copy_(out, xs)
    return out


def _lr(lr: Any, like: Tensor) -> Any:
    """A tensor lr on the params' device (torch's tensor_lr overloads need it there), float64
    for float64 params (the fused kernels derive the step size in lr's dtype)."""
    if not isinstance(lr, Tensor):
        return lr
    return lr.to(like.device, torch.float64 if like.dtype == torch.float64 else torch.float32)


@torch.no_grad()
def nn_sgd_update(params: TL, grads: TL, bufs: list[Tensor | None] | None, lr: Any,
                  weight_decay: float, momentum: float, dampening: float, nesterov: bool,
                  donate: bool) -> tuple[TL, TL | None]:
    ps = _copies(params)
    if not ps:
        return ps, None if bufs is None else []
    grads = [g.detach() for g in grads]
    if bufs is None:
        groups: list[tuple[list[int], bool]] = [(list(range(len(ps))), False)]
        new: list[Any] = []
    else:
        new = [None if b is None else (b if donate else b.detach().clone()) for b in bufs]
        first = [i for i, b in enumerate(new) if b is None]
        later = [i for i, b in enumerate(new) if b is not None]
        for i in first:
            new[i] = torch.empty_like(ps[i])
        groups = [(ix, f) for ix, f in ((first, True), (later, False)) if ix]
    for ix, first_step in groups:
        p, g = [ps[i] for i in ix], [grads[i] for i in ix]
        b = [] if bufs is None else [new[i] for i in ix]
        if _fused(ps):
            g = _as_params(p, g)
            if b:
                b = _as_params(p, b)
                for i, buf in zip(ix, b, strict=True):
                    new[i] = buf
            torch._fused_sgd_(p, g, b, weight_decay=weight_decay, momentum=momentum,
                              lr=_lr(lr, p[0]), dampening=dampening, nesterov=nesterov,
                              maximize=False, is_first_step=first_step)
        else:
            _foreach_sgd(p, g, b, lr, weight_decay, momentum, dampening, nesterov, first_step)
    return ps, None if bufs is None else new


def _foreach_sgd(p: TL, g: TL, b: TL, lr: Any, weight_decay: float, momentum: float,
                 dampening: float, nesterov: bool, first_step: bool) -> None:
    """torch.optim's _multi_tensor_sgd (b: the buffers, written in place)."""
    if weight_decay != 0:
        g = torch._foreach_add(g, p, alpha=weight_decay)
    if b:
        if first_step:
            torch._foreach_copy_(b, g)
        else:
            torch._foreach_mul_(b, momentum)
            torch._foreach_add_(b, g, alpha=1 - dampening)
        g = torch._foreach_add(g, b, alpha=momentum) if nesterov else b
    if isinstance(lr, Tensor):
        torch._foreach_sub_(p, torch._foreach_mul(g, lr))
    else:
        torch._foreach_add_(p, g, alpha=-lr)


@torch.no_grad()
def nn_adam_update(params: TL, grads: TL, exp_avgs: TL, exp_avg_sqs: TL, lr: Any, beta1: float,
                   beta2: float, eps: float, weight_decay: float, step: Any, decoupled: bool,
                   donate: bool) -> tuple[TL, TL, TL]:
    ps, ms, vs = _copies(params), _copies(exp_avgs, donate), _copies(exp_avg_sqs, donate)
    if not ps:
        return ps, ms, vs
    grads = [g.detach() for g in grads]
    dev = ps[0].device
    if _fused(ps):
        grads, ms, vs = _as_params(ps, grads), _as_params(ps, ms), _as_params(ps, vs)
        if isinstance(step, Tensor):
            t = step.to(dev, torch.float32)
        else:
            t = torch.full((), float(step), dtype=torch.float32, device=dev)
        fn = torch._fused_adamw_ if decoupled else torch._fused_adam_
        fn(ps, grads, ms, vs, [], [t] * len(ps), lr=_lr(lr, ps[0]), beta1=beta1, beta2=beta2,
           weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False)
        return ps, ms, vs
    tensors = isinstance(lr, Tensor) or isinstance(step, Tensor)
    s = {"lr": lr, "step": step, "beta1": beta1, "beta2": beta2, "eps": eps,
         "weight_decay": weight_decay}
    if tensors:
        s = {k: (v.to(dev, torch.float32) if isinstance(v, Tensor) else v) for k, v in s.items()}
    c = adam_scalars(s, torch.expm1 if tensors else None)
    if weight_decay != 0:
        if decoupled:
            _scale(ps, c["1 - lr * weight_decay"])
        else:
            grads = torch._foreach_add(grads, ps, alpha=weight_decay)
    torch._foreach_lerp_(ms, grads, 1 - beta1)
    torch._foreach_mul_(vs, beta2)
    torch._foreach_addcmul_(vs, grads, grads, value=1 - beta2)
    denom = torch._foreach_sqrt(vs)
    _scale(denom, c["1 / sqrt(bc2)"])
    torch._foreach_add_(denom, eps)
    upd = torch._foreach_div(ms, denom)
    _scale(upd, c["lr / bc1"])
    torch._foreach_sub_(ps, upd)
    return ps, ms, vs


def _scale(xs: TL, c: Any) -> None:
    torch._foreach_mul_(xs, c.to(xs[0].dtype) if isinstance(c, Tensor) else c)


@torch.no_grad()
def nn_rmsprop_update(params: TL, grads: TL, square_avgs: TL, bufs: TL | None,
                      grad_avgs: TL | None, lr: Any, alpha: float, eps: float,
                      weight_decay: float, momentum: float, centered: bool, donate: bool,
                      ) -> tuple[TL, TL, TL | None, TL | None]:
    """torch.optim's _multi_tensor_rmsprop."""
    ps = _copies(params)
    sq, bs, ga = (_copies(x, donate) for x in (square_avgs, bufs, grad_avgs))
    if not ps:
        return ps, sq, bs, ga
    grads = [g.detach() for g in grads]
    if weight_decay != 0:
        grads = torch._foreach_add(grads, ps, alpha=weight_decay)
    torch._foreach_mul_(sq, alpha)
    torch._foreach_addcmul_(sq, grads, grads, value=1 - alpha)
    if centered:
        torch._foreach_lerp_(ga, grads, 1 - alpha)
        avg = torch._foreach_addcmul(sq, ga, ga, value=-1)
        torch._foreach_sqrt_(avg)
    else:
        avg = torch._foreach_sqrt(sq)
    torch._foreach_add_(avg, eps)
    if bs is not None:
        torch._foreach_mul_(bs, momentum)
        torch._foreach_addcdiv_(bs, grads, avg)
        step = bs
    else:
        step = torch._foreach_div(grads, avg)
    if isinstance(lr, Tensor):
        torch._foreach_sub_(ps, torch._foreach_mul(step, lr.to(ps[0].device, ps[0].dtype)))
    else:
        torch._foreach_add_(ps, step, alpha=-lr)
    return ps, sq, bs, ga
