"""Fused optimiser updates: ``nn.sgd_update``, ``nn.adam_update``, ``nn.rmsprop_update``.

One call updates a whole group of variables (lists of tensors of one backend, device and
dtype) with ``torch.optim``'s formulas (its single-tensor implementation). The composite below,
written once in ember ops, is the reference and what a backend without a kernel runs; torch runs
its fused kernels (``torch._fused_adam_``/``_fused_adamw_``/``_fused_sgd_``, else
``torch._foreach_*``), MLX one ``mx.compile``d function per hyperparameter structure.

The ops are functional: they return new lists and never change a tensor passed to them, except
that with ``donate=True`` the caller gives up the tensors of the *slot* lists (moments, momentum
buffers, averages: every list but ``params`` and ``grads``): a backend may overwrite their
arrays and return them as the new slots, so the caller must not read those tensors again.
``params`` and ``grads`` are never overwritten.

``lr`` and ``step`` (and the other real hyperparameters) may be Python numbers or 0-d real
tensors of the same backend: a schedule then changes a tensor's value, not a compiled
program's constants. With numbers, the per-step scalars (bias corrections) are computed in
float64 on the host, as torch.optim does; with tensors, on the device in float32 (float64 for
float64 variables). A hyperparameter given as a tensor is always applied (``weight_decay``,
``momentum``, ``dampening`` of a tensor 0 give the same values as the number 0, through the
longer formula); torch's fused kernels take tensors for ``lr`` and ``step`` only, so another
tensor hyperparameter runs the composite there.

The updates are not differentiable: an input a gradient tape is recording (tracking) is an
error; compute the update outside the tape or on ``ember.stop_gradient`` values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from .. import _dtypes as dt
from .._dispatch import backend_of
from .._errors import ArgumentError, DTypeError, EmberError, ShapeError
from .._tensor import Tensor
from . import _elementwise as ew
from ._dtypes import astype

__all__ = ["adam_update", "rmsprop_update", "sgd_update"]

T = Tensor
Scalar = Any  # a Python real number or a 0-d real Tensor
_HALF = (dt.float16, dt.bfloat16)


def sgd_update(params: Sequence[Tensor], grads: Sequence[Tensor],
               momentum_buffers: Sequence[Tensor | None] | None = None, *, lr: Scalar,
               momentum: Scalar = 0.0, dampening: Scalar = 0.0, nesterov: bool = False,
               weight_decay: Scalar = 0.0, donate: bool = False,
               ) -> tuple[list[Tensor], list[Tensor] | None]:
    """One ``torch.optim.SGD`` step of a group: with ``g = grad + weight_decay * p``,
    ``buf = g`` where a variable has no buffer yet (its entry None) and
    ``buf = momentum * buf + (1 - dampening) * g`` after, ``g = g + momentum * buf``
    (``nesterov``) or ``buf``, and ``p -= lr * g``.

    ``momentum_buffers`` is None (or all None) without momentum; with momentum it is a list
    of the params' length. Returns ``(new params, new buffers)``, the buffers None without
    momentum.

    >>> p, bufs = ember.nn.sgd_update([ember.tensor([1.0])], [ember.tensor([1.0])], [None],
    ...                               lr=0.1, momentum=0.9)
    >>> round(p[0].item(), 4), bufs[0].tolist()
    (0.9, [1.0])
    """
    op = "nn.sgd_update"
    use_momentum = isinstance(momentum, T) or momentum != 0
    if not isinstance(nesterov, bool):
        raise ArgumentError(f"{op}: nesterov must be True or False, got {nesterov!r}")
    if not use_momentum:
        if momentum_buffers is not None and any(b is not None for b in momentum_buffers):
            raise ArgumentError(f"{op}: momentum is 0, so momentum_buffers must be None")
        momentum_buffers = None
    elif momentum_buffers is None:
        momentum_buffers = [None] * len(params)
    b, lists = _group(op, {"params": params, "grads": grads,
                           "momentum_buffers": momentum_buffers}, optional=("momentum_buffers",))
    scalars = _scalars(op, b, params, lr=lr, momentum=momentum, dampening=dampening,
                       weight_decay=weight_decay)
    f = b.kernels.nn_sgd_update
    k = None if f is None else _fusable(scalars, ("lr",))
    if k is not None:
        ps, bufs = f(*lists, k["lr"], k["weight_decay"], k["momentum"], k["dampening"],
                     nesterov, bool(donate))
        return [T(n, b) for n in ps], None if bufs is None else [T(n, b) for n in bufs]
    c = _composite_scalars(scalars, params, lambda s: {
        **s, "1 - dampening": 1.0 - s["dampening"]})
    new_p: list[Tensor] = []
    new_b: list[Tensor] = []
    decay = isinstance(weight_decay, T) or weight_decay != 0
    damp = isinstance(dampening, T) or dampening != 0
    for i, (p, g) in enumerate(zip(params, grads)):
        p, g = _value(p), _value(g)
        if decay:
            g = g + p * c["weight_decay"]
        if use_momentum:
            buf = momentum_buffers[i]  # type: ignore[index]
            if buf is None:
                buf = g * 1.0  # a copy: the caller may donate the buffers later
            elif damp:
                buf = _value(buf) * c["momentum"] + g * c["1 - dampening"]
            else:
                buf = _value(buf) * c["momentum"] + g
            g = g + buf * c["momentum"] if nesterov else buf
            new_b.append(buf)
        new_p.append(p - g * c["lr"])
    return new_p, new_b if use_momentum else None


def adam_update(params: Sequence[Tensor], grads: Sequence[Tensor], exp_avgs: Sequence[Tensor],
                exp_avg_sqs: Sequence[Tensor], *, lr: Scalar, step: Scalar, beta1: Scalar = 0.9,
                beta2: Scalar = 0.999, eps: Scalar = 1e-8, weight_decay: Scalar = 0.0,
                decoupled_weight_decay: bool = False, donate: bool = False,
                ) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
    """One ``torch.optim.Adam`` step of a group (``torch.optim.AdamW`` with
    ``decoupled_weight_decay=True``); ``step`` is this update's number (1 for the first).

    ``m = beta1 * m + (1 - beta1) * g``, ``v = beta2 * v + (1 - beta2) * g * g``,
    ``p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)`` with ``bc = 1 - beta**step``; L2
    weight decay adds ``weight_decay * p`` to ``g``, decoupled decay multiplies ``p`` by
    ``1 - lr * weight_decay`` first. float32/float64 variables use the same update multiplied
    through by ``sqrt(bc2)`` (one op fewer); float16/bfloat16 use torch's form, where
    ``eps * sqrt(bc2)`` would lose its precision. Returns ``(params, exp_avgs, exp_avg_sqs)``.

    >>> z = [ember.zeros((1,))]
    >>> p, m, v = ember.nn.adam_update([ember.tensor([1.0])], [ember.tensor([0.5])], z, z,
    ...                                lr=0.1, step=1)
    >>> round(p[0].item(), 4), round(m[0].item(), 4)
    (0.9, 0.05)
    """
    op = "nn.adam_update"
    if not isinstance(decoupled_weight_decay, bool):
        raise ArgumentError(f"{op}: decoupled_weight_decay must be True or False, got "
                            f"{decoupled_weight_decay!r}")
    b, lists = _group(op, {"params": params, "grads": grads, "exp_avgs": exp_avgs,
                           "exp_avg_sqs": exp_avg_sqs})
    scalars = _scalars(op, b, params, lr=lr, step=step, beta1=beta1, beta2=beta2, eps=eps,
                       weight_decay=weight_decay)
    f = b.kernels.nn_adam_update
    k = None if f is None else _fusable(scalars, ("lr", "step"))
    if k is not None:
        ps, ms, vs = f(*lists, k["lr"], k["beta1"], k["beta2"], k["eps"], k["weight_decay"],
                       k["step"], decoupled_weight_decay, bool(donate))
        return [T(n, b) for n in ps], [T(n, b) for n in ms], [T(n, b) for n in vs]
    c = _composite_scalars(scalars, params, _adam_derive)
    decay = isinstance(weight_decay, T) or weight_decay != 0
    half = bool(params) and params[0].dtype in _HALF
    out: tuple[list[Tensor], list[Tensor], list[Tensor]] = ([], [], [])
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        p, g, m, v = _value(p), _value(g), _value(m), _value(v)
        if decay and not decoupled_weight_decay:
            g = g + p * c["weight_decay"]
        if decay and decoupled_weight_decay:
            p = p * c["1 - lr * weight_decay"]
        m = m + (g - m) * c["1 - beta1"]  # torch's lerp(m, g, 1 - beta1)
        v = v * c["beta2"] + g * g * c["1 - beta2"]
        if half:
            p = p - m * c["lr / bc1"] / (ew.sqrt(v) * c["1 / sqrt(bc2)"] + c["eps"])
        else:
            p = p - m * c["step_size"] / (ew.sqrt(v) + c["eps_hat"])
        for lst, x in zip(out, (p, m, v)):
            lst.append(x)
    return out


def rmsprop_update(params: Sequence[Tensor], grads: Sequence[Tensor],
                   square_avgs: Sequence[Tensor], momentum_buffers: Sequence[Tensor] | None = None,
                   grad_avgs: Sequence[Tensor] | None = None, *, lr: Scalar,
                   alpha: Scalar = 0.99, eps: Scalar = 1e-8, weight_decay: Scalar = 0.0,
                   momentum: Scalar = 0.0, centered: bool = False, donate: bool = False,
                   ) -> tuple[list[Tensor], list[Tensor], list[Tensor] | None,
                              list[Tensor] | None]:
    """One ``torch.optim.RMSprop`` step of a group: with ``g = grad + weight_decay * p``,
    ``sq = alpha * sq + (1 - alpha) * g * g``; centred, ``ga = alpha * ga + (1 - alpha) * g``
    and ``avg = sqrt(sq - ga * ga) + eps``, else ``avg = sqrt(sq) + eps``; with momentum
    ``buf = momentum * buf + g / avg`` and ``p -= lr * buf``, else ``p -= lr * g / avg``.

    ``momentum_buffers`` (with momentum) and ``grad_avgs`` (centred) are lists of the params'
    length, zeros before the first update, else None. Returns ``(params, square_avgs,
    momentum_buffers, grad_avgs)`` (None for the unused ones).

    >>> z = [ember.zeros((1,))]
    >>> p, sq, _, _ = ember.nn.rmsprop_update([ember.tensor([1.0])], [ember.tensor([2.0])], z,
    ...                                       lr=0.01, alpha=0.9)
    >>> round(p[0].item(), 4)
    0.9684
    """
    op = "nn.rmsprop_update"
    if not isinstance(centered, bool):
        raise ArgumentError(f"{op}: centered must be True or False, got {centered!r}")
    use_momentum = isinstance(momentum, T) or momentum != 0
    for name, lst, used in (("momentum_buffers", momentum_buffers, use_momentum),
                            ("grad_avgs", grad_avgs, centered)):
        if (lst is not None) != used:
            why = "momentum is 0" if name == "momentum_buffers" else "centered is False"
            raise ArgumentError(
                f"{op}: {name} must be " + (f"None when {why}" if not used else
                                             "a list of tensors (zeros before the first update)"))
    b, lists = _group(op, {"params": params, "grads": grads, "square_avgs": square_avgs,
                           "momentum_buffers": momentum_buffers, "grad_avgs": grad_avgs})
    scalars = _scalars(op, b, params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                       momentum=momentum)
    f = b.kernels.nn_rmsprop_update
    k = None if f is None else _fusable(scalars, ("lr",))
    if k is not None:
        ps, sqs, bufs, gas = f(*lists, k["lr"], k["alpha"], k["eps"], k["weight_decay"],
                               k["momentum"], centered, bool(donate))
        return ([T(n, b) for n in ps], [T(n, b) for n in sqs],
                None if bufs is None else [T(n, b) for n in bufs],
                None if gas is None else [T(n, b) for n in gas])
    c = _composite_scalars(scalars, params, lambda s: {**s, "1 - alpha": 1.0 - s["alpha"]})
    decay = isinstance(weight_decay, T) or weight_decay != 0
    new_p: list[Tensor] = []
    new_sq: list[Tensor] = []
    new_buf: list[Tensor] = []
    new_ga: list[Tensor] = []
    for i, (p, g, sq) in enumerate(zip(params, grads, square_avgs)):
        p, g = _value(p), _value(g)
        if decay:
            g = g + p * c["weight_decay"]
        sq = _value(sq) * c["alpha"] + g * g * c["1 - alpha"]
        new_sq.append(sq)
        if centered:
            ga = _value(grad_avgs[i])  # type: ignore[index]
            ga = ga + (g - ga) * c["1 - alpha"]  # torch's lerp(ga, g, 1 - alpha)
            new_ga.append(ga)
            avg = ew.sqrt(sq - ga * ga) + c["eps"]
        else:
            avg = ew.sqrt(sq) + c["eps"]
        if use_momentum:
            buf = _value(momentum_buffers[i]) * c["momentum"] + g / avg  # type: ignore[index]
            new_buf.append(buf)
            new_p.append(p - buf * c["lr"])
        else:
            new_p.append(p - g / avg * c["lr"])
    return (new_p, new_sq, new_buf if use_momentum else None, new_ga if centered else None)


# -- per-step scalars ------------------------------------------------------------------------
def adam_scalars(s: dict[str, Any], expm1: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Adam's per-step scalars from ``lr, step, beta1, beta2, eps, weight_decay``: numbers
    (``1 - beta**step`` in float64, as torch.optim), or arrays that support Python's operators
    with their ``expm1`` (``1 - beta**step = -expm1(step * log(beta))``, accurate in float32
    where ``1 - 0.999**1`` loses 1e-5 of its value). Backends' kernels use this too."""
    if expm1 is None:
        bc1 = 1.0 - s["beta1"] ** s["step"]
        root_bc2 = (1.0 - s["beta2"] ** s["step"]) ** 0.5
    else:
        bc1 = -expm1(s["step"] * _log(s["beta1"]))
        root_bc2 = (-expm1(s["step"] * _log(s["beta2"]))) ** 0.5
    lr = s["lr"]
    return {**s, "1 - beta1": 1.0 - s["beta1"], "1 - beta2": 1.0 - s["beta2"],
            "step_size": lr * root_bc2 / bc1, "eps_hat": s["eps"] * root_bc2,
            "lr / bc1": lr / bc1, "1 / sqrt(bc2)": 1.0 / root_bc2,
            "1 - lr * weight_decay": 1.0 - lr * s["weight_decay"]}


def _log(x: Any) -> Any:
    return math.log(x) if not isinstance(x, T) else ew.log(x)


def _adam_derive(s: dict[str, Any]) -> dict[str, Any]:
    return adam_scalars(s, ew.expm1 if isinstance(s["step"], T) else None)


def _composite_scalars(scalars: dict[str, Any], params: Sequence[Tensor],
                       derive: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """The scalars the composite multiplies by: Python floats (rounded to the variables' dtype
    by each op, as a 0-d tensor of that dtype would be), or, when any input scalar is a tensor,
    0-d tensors computed in float32 (float64 for float64 variables) and cast to the dtype."""
    if not any(isinstance(v, T) for v in scalars.values()):
        return derive({k: float(v) for k, v in scalars.items()})
    dtype = params[0].dtype if params else dt.float32
    wide = dt.float64 if dtype is dt.float64 else dt.float32
    out = derive({k: astype(v, wide) if isinstance(v, T) else float(v)
                  for k, v in scalars.items()})
    return {k: astype(v, dtype) if isinstance(v, T) else v for k, v in out.items()}


def _fusable(scalars: dict[str, Any], tensor_ok: tuple[str, ...]) -> dict[str, Any] | None:
    """The scalars as a backend kernel takes them (numbers, or natives of the tensors it takes
    in place of numbers: ``tensor_ok``), or None when one is a tensor it does not take."""
    out = {}
    for k, v in scalars.items():
        if isinstance(v, T):
            if k not in tensor_ok:
                return None
            v = v._n
        out[k] = v
    return out


def _value(t: Tensor) -> Tensor:
    """A tensor's value on its root backend (no tape records the update)."""
    b = t._b
    return t if type(t) is T and b is b.root else T(t._n, b.root)


# -- checks ----------------------------------------------------------------------------------
def _group(op: str, lists: dict[str, Sequence[Any] | None],
           optional: tuple[str, ...] = ()) -> tuple[Any, list[Any]]:
    """The group's root backend and its lists as natives (None where a list is None; None
    entries kept where ``optional`` allows them), after checking that every list has the
    params' length and every tensor the param's backend, device, dtype and shape."""
    params = lists["params"]
    if not isinstance(params, (list, tuple)):
        raise ArgumentError(f"{op}: params must be a list of tensors, got "
                            f"{type(params).__name__}")
    n = len(params)
    for name, lst in lists.items():
        if lst is None:
            continue
        if not isinstance(lst, (list, tuple)):
            raise ArgumentError(f"{op}: {name} must be a list of tensors, got "
                                f"{type(lst).__name__}")
        if len(lst) != n:
            raise ArgumentError(f"{op}: {name} has {len(lst)} entries but params has {n}; "
                                f"give one per variable")
        for i, t in enumerate(lst):
            if t is None and name in optional:
                continue
            if not isinstance(t, T):
                raise ArgumentError(f"{op}: {name}[{i}] is a {type(t).__name__}, not an "
                                    f"ember.Tensor")
    flat = [t for lst in lists.values() if lst is not None for t in lst if t is not None]
    b = backend_of(op, *flat).root
    if n:
        p0 = params[0]
        dtype, device = p0.dtype, p0.device
        if not dtype.is_floating:
            raise DTypeError(f"{op}: params[0] is {dtype.name}; the updates take real "
                             f"floating-point variables")
        for name, lst in lists.items():
            for i, t in enumerate(lst or ()):
                if t is None:
                    continue
                p = params[i]
                if t.dtype is not dtype:
                    raise DTypeError(f"{op}: {name}[{i}] is {t.dtype.name} but params[0] is "
                                     f"{dtype.name}; one call updates variables of one dtype "
                                     f"(group them, or cast with ember.astype)")
                if t.shape != p.shape:
                    raise ShapeError(f"{op}: {name}[{i}] has shape {t.shape} but params[{i}] "
                                     f"has shape {p.shape}")
                if t.device != device:
                    raise EmberError(f"{op}: {name}[{i}] is on device {t.device!r} but "
                                     f"params[0] on {device!r}; one call updates variables of "
                                     f"one device (move with .to(device=...))")
    _not_tracked(op, lists)
    return b, [None if lst is None else [None if t is None else t._n for t in lst]
               for lst in lists.values()]


def _scalars(op: str, b: Any, params: Sequence[Tensor], **values: Any) -> dict[str, Any]:
    """Check the real hyperparameters: finite Python numbers (not bool) or 0-d real tensors of
    the group's backend."""
    device = params[0].device if params else None
    for k, v in values.items():
        if isinstance(v, T):
            if v.ndim != 0 or not (v.dtype.is_floating or v.dtype.kind in "iu"):
                raise ArgumentError(f"{op}: {k} must be a number or a 0-d real tensor, got a "
                                    f"{v.dtype.name} tensor of shape {v.shape}")
            if v._b.root is not b:
                raise ArgumentError(f"{op}: {k} is a tensor of backend {v._b.name!r} but the "
                                    f"variables are on {b.name!r}; move it with .to({b.name!r})")
            if device is not None and v.device != device:
                raise ArgumentError(f"{op}: {k} is on device {v.device!r} but the variables "
                                    f"on {device!r}")
            values[k] = _value(v)
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ArgumentError(f"{op}: {k} must be a finite real number or a 0-d tensor, got "
                                f"{v!r}")
    return values


def _not_tracked(op: str, lists: dict[str, Sequence[Any] | None]) -> None:
    """Refuse tensors that a recording gradient tape tracks: the updates have no gradient."""
    from ..autodiff._record import RECORDING

    trackers = RECORDING.get()
    if not trackers:
        return
    for name, lst in lists.items():
        for i, t in enumerate(lst or ()):
            if t is not None and (t._b is not t._b.root  # a result of recorded ops
                                  or any(tr.find(t._n) is not None for tr in trackers)):
                raise EmberError(
                    f"{op} is not differentiable, but {name}[{i}] is a tensor a recording "
                    f"GradientTape tracks; run the update outside the tape, or pass "
                    f"ember.stop_gradient({name}[{i}])")
