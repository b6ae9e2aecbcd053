"""Optimiser-update kernels: each update of a whole list of arrays is one ``mx.compile``d function,
cached per hyperparameter structure (which terms exist: weight decay, momentum, Nesterov,
centring, half-precision form). Every real scalar goes in as a float32 array, so a new learning
rate or step count reuses the compiled function; the per-step scalars (bias corrections) are
computed on the host in float64 when lr and step are numbers (as the composite does), in the
function (float32) when they are arrays. The formulas are the composite's (ember/ops/
_optimizers.py), written in mx ops; MLX arrays are immutable, so ``donate`` changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mlx.core as mx
from ember.ops._optimizers import adam_scalars

__all__ = ["nn_adam_update", "nn_rmsprop_update", "nn_sgd_update"]

A = mx.array
AL = list[mx.array]
_HALF = (mx.float16, mx.bfloat16)
_CACHE: dict[tuple[Any, ...], Callable[..., Any]] = {}


def _compiled(key: tuple[Any, ...], build: Callable[[], Callable[..., Any]]) -> Callable[..., Any]:
    fn = _CACHE.get(key)
    if fn is None:
        fn = _CACHE[key] = mx.compile(build())
    return fn


def _arr(x: Any, wide: Any = mx.float32) -> A:
    """A scalar as an array of ``wide``: float32, or float64 for float64 variables."""
    return x.astype(wide) if isinstance(x, A) else mx.array(x, dtype=wide)


def _wide(params: AL) -> Any:
    return mx.float64 if params[0].dtype == mx.float64 else mx.float32


def nn_sgd_update(params: AL, grads: AL, bufs: list[A | None] | None, lr: Any,
                  weight_decay: float, momentum: float, dampening: float, nesterov: bool,
                  donate: bool) -> tuple[AL, AL | None]:
    if not params:
        return [], None if bufs is None else []
    first = None if bufs is None else tuple(b is None for b in bufs)
    key = ("sgd", weight_decay != 0, first, dampening != 0, nesterov)

    def build() -> Callable[..., Any]:
        def update(ps: AL, gs: AL, bs: AL, c: dict[str, A]) -> tuple[AL, AL]:
            new_p, new_b = [], []
            for i, (p, g) in enumerate(zip(ps, gs)):
                k = {n: v.astype(p.dtype) for n, v in c.items()}
                if weight_decay != 0:
                    g = g + p * k["weight_decay"]
                if first is not None:
                    if first[i]:
                        buf = g
                    elif dampening != 0:
                        buf = bs[i] * k["momentum"] + g * k["1 - dampening"]
                    else:
                        buf = bs[i] * k["momentum"] + g
                    g = g + buf * k["momentum"] if nesterov else buf
                    new_b.append(buf)
                new_p.append(p - g * k["lr"])
            return new_p, new_b
        return update

    w = _wide(params)
    c = {"lr": _arr(lr, w), "weight_decay": _arr(weight_decay, w), "momentum": _arr(momentum, w),
         "1 - dampening": _arr(1.0 - dampening, w)}
    bs = [] if bufs is None else [mx.zeros((0,)) if b is None else b for b in bufs]
    ps, new_b = _compiled(key, build)(params, grads, bs, c)
    return ps, None if bufs is None else new_b


def nn_adam_update(params: AL, grads: AL, exp_avgs: AL, exp_avg_sqs: AL, lr: Any, beta1: float,
                   beta2: float, eps: float, weight_decay: float, step: Any, decoupled: bool,
                   donate: bool) -> tuple[AL, AL, AL]:
    if not params:
        return [], [], []
    arrays = isinstance(lr, A) or isinstance(step, A)
    half = params[0].dtype in _HALF
    fixed = {"beta1": beta1, "beta2": beta2, "eps": eps, "weight_decay": weight_decay}
    # with array lr or step the scalars are derived in the function: the others are constants
    key = ("adam", weight_decay != 0, decoupled, half, *(fixed.values() if arrays else ()))
    names: tuple[str, ...] = ("weight_decay", "1 - beta1", "beta2", "1 - beta2", "eps", "1 - lr * weight_decay")
    names += ("lr / bc1", "1 / sqrt(bc2)") if half else ("step_size", "eps_hat")

    def build() -> Callable[..., Any]:
        def update(ps: AL, gs: AL, ms: AL, vs: AL, c: dict[str, A]) -> tuple[AL, AL, AL]:
            if arrays:
                derived = adam_scalars({**fixed, **c}, mx.expm1)
                c = {k: _arr(derived[k], c["lr"].dtype) for k in names}
            out: tuple[AL, AL, AL] = ([], [], [])
            for p, g, m, v in zip(ps, gs, ms, vs):
                k = {n: x.astype(p.dtype) for n, x in c.items()}
                if weight_decay != 0 and not decoupled:
                    g = g + p * k["weight_decay"]
                if weight_decay != 0 and decoupled:
                    p = p * k["1 - lr * weight_decay"]
                m = m + (g - m) * k["1 - beta1"]
                v = v * k["beta2"] + g * g * k["1 - beta2"]
                if half:
                    p = p - m * k["lr / bc1"] / (mx.sqrt(v) * k["1 / sqrt(bc2)"] + k["eps"])
                else:
                    p = p - m * k["step_size"] / (mx.sqrt(v) + k["eps_hat"])
                for lst, x in zip(out, (p, m, v)):
                    lst.append(x)
            return out
        return update

    s = {"lr": lr, "step": step, "beta1": beta1, "beta2": beta2, "eps": eps,
         "weight_decay": weight_decay}
    w = _wide(params)
    if arrays:
        c = {"lr": _arr(lr, w), "step": _arr(step, w)}
    else:
        derived = adam_scalars({k: float(v) for k, v in s.items()})
        c = {k: _arr(derived[k], w) for k in names}
    ps, ms, vs = _compiled(key, build)(params, grads, exp_avgs, exp_avg_sqs, c)
    return ps, ms, vs


def nn_rmsprop_update(params: AL, grads: AL, square_avgs: AL, bufs: AL | None,
                      grad_avgs: AL | None, lr: Any, alpha: float, eps: float,
                      weight_decay: float, momentum: float, centered: bool, donate: bool,
                      ) -> tuple[AL, AL, AL | None, AL | None]:
    if not params:
        return [], [], None if bufs is None else [], None if grad_avgs is None else []
    use_momentum = bufs is not None
    key = ("rmsprop", weight_decay != 0, use_momentum, centered)

    def build() -> Callable[..., Any]:
        def update(ps: AL, gs: AL, sqs: AL, bs: AL, gas: AL, c: dict[str, A]) -> tuple[AL, ...]:
            new_p, new_sq, new_b, new_ga = [], [], [], []
            for i, (p, g, sq) in enumerate(zip(ps, gs, sqs)):
                k = {n: x.astype(p.dtype) for n, x in c.items()}
                if weight_decay != 0:
                    g = g + p * k["weight_decay"]
                sq = sq * k["alpha"] + g * g * k["1 - alpha"]
                new_sq.append(sq)
                if centered:
                    ga = gas[i] + (g - gas[i]) * k["1 - alpha"]
                    new_ga.append(ga)
                    avg = mx.sqrt(sq - ga * ga) + k["eps"]
                else:
                    avg = mx.sqrt(sq) + k["eps"]
                if use_momentum:
                    buf = bs[i] * k["momentum"] + g / avg
                    new_b.append(buf)
                    new_p.append(p - buf * k["lr"])
                else:
                    new_p.append(p - g / avg * k["lr"])
            return new_p, new_sq, new_b, new_ga
        return update

    w = _wide(params)
    c = {k: _arr(v, w) for k, v in (("lr", lr), ("alpha", alpha), ("1 - alpha", 1.0 - alpha),
                                    ("eps", eps), ("weight_decay", weight_decay),
                                    ("momentum", momentum))}
    ps, sqs, bs, gas = _compiled(key, build)(params, grads, square_avgs, bufs or [],
                                             grad_avgs or [], c)
    return ps, sqs, bs if use_momentum else None, gas if centered else None
