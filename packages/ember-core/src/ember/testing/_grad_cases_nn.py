"""Gradient cases of the neural-network ops (``ember.nn``): activations away from their
kinks, softmax family, convolution (every padding form, stride, dilation, groups, bias, 3-d
through the kernel), pooling without ties, normalisation, dropout with a fixed key,
attention with every kind of mask, cross-entropy and associative scans.

``nn.cumulative_sum`` and ``nn.cumulative_prod`` are ``ember.cumulative_*`` re-exported (not
catalogue ops of their own): their cases are in ``_grad_cases_arrays``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import ember
from ember._dispatch import backend_of

from . import _strategies as S
from ._grad_cases import GradCall, grad_case, on

E = ember
F64 = E.float64
N = E.nn


def _shape(data: Any, min_dims: int = 0, max_dims: int = 3) -> tuple[int, ...]:
    return S.shape(data, min_dims, max_dims, 1, 3)


def _x(data: Any, shape: tuple[int, ...], lo: float = -3, hi: float = 3, **kw: Any) -> np.ndarray:
    return S.arr(data, F64, shape, lo, hi, **kw)


def _distinct(data: Any, shape: tuple[int, ...], scale: float = 0.1) -> np.ndarray:
    """Distinct values at least ``scale`` apart (no ties in max pooling, spread-out layers)."""
    size = int(np.prod(shape, dtype=np.int64))
    perm = np.array(data.draw(st.permutations(range(size)), label="order"), dtype=np.float64)
    return ((perm - size / 2) * scale).reshape(shape)


# -- element-wise activations (second derivatives too) -----------------------------------------
def _activation(op: str, fn: Any, lo: float, hi: float, variant: str = "", **kw: Any) -> None:
    @grad_case(op, variant, second=True)
    def build(data: Any) -> GradCall:
        return GradCall(fn, (_x(data, _shape(data), lo, hi, **kw),))


_activation("nn.relu", N.relu, -3, 3, nonzero=True)  # |x| >= 0.25: away from the kink
# the composites (built on abs, whose derivative at 0 is 0) are exact only for x != 0
_activation("nn.sigmoid", N.sigmoid, -5, 5, nonzero=True)
_activation("nn.silu", N.silu, -5, 5, nonzero=True)
_activation("nn.gelu", N.gelu, -4, 4, "none")
_activation("nn.gelu", lambda t: N.gelu(t, approximate="tanh"), -4, 4, "tanh")
_activation("nn.softplus", N.softplus, -5, 5, nonzero=True)


# -- softmax family ----------------------------------------------------------------------------
@grad_case("nn.softmax", second=True)
def _softmax(data: Any) -> GradCall:
    x = _x(data, _shape(data, 1))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    return GradCall(lambda t: N.softmax(t, axis=axis), (x,), note=f"axis={axis}")


@grad_case("nn.log_softmax", second=True)
def _log_softmax(data: Any) -> GradCall:
    x = _x(data, _shape(data, 1))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    return GradCall(lambda t: N.log_softmax(t, axis=axis), (x,), note=f"axis={axis}")


@grad_case("nn.logsumexp", "axes", second=True)
def _logsumexp(data: Any) -> GradCall:
    x = _x(data, _shape(data))
    axes = S.axes_arg(data, x.ndim)
    keep = data.draw(st.booleans(), label="keepdims")
    return GradCall(lambda t: N.logsumexp(t, axis=axes, keepdims=keep), (x,),
                    note=f"axis={axes} keepdims={keep}")


# -- convolution -------------------------------------------------------------------------------
def _conv_call(fn: Any, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, note: str,
               **kw: Any) -> GradCall:
    if b is None:
        return GradCall(lambda t, u: fn(t, u, **kw), (x, w), note=note)
    return GradCall(lambda t, u, v: fn(t, u, v, **kw), (x, w, b), note=note + " bias")


@grad_case("nn.conv1d", "params")
def _conv1d(data: Any) -> GradCall:
    groups = data.draw(st.sampled_from([1, 1, 2, 3]), label="groups")
    cig = data.draw(st.integers(1, 2), label="C_in/groups") if groups < 3 else 1
    cout = groups * data.draw(st.integers(1, 2), label="C_out/groups")
    k, dil, stride = (data.draw(st.integers(1, n), label=lbl)
                      for n, lbl in ((3, "kernel"), (2, "dilation"), (2, "stride")))
    pad = data.draw(st.sampled_from([0, 1, "valid", "same", "causal", ((2, 0),), ((0, 3),)]),
                    label="padding")
    length = data.draw(st.integers(dil * (k - 1) + 1, 6), label="length")
    x = _x(data, (data.draw(st.integers(1, 2), label="N"), length, groups * cig), -1, 1)
    w = _x(data, (cout, k, cig), -1, 1)
    b = _x(data, (cout,), -1, 1) if data.draw(st.booleans(), label="bias") else None
    return _conv_call(N.conv1d, x, w, b, f"stride={stride} padding={pad!r} dilation={dil} "
                      f"groups={groups}", stride=stride, padding=pad, dilation=dil, groups=groups)


@grad_case("nn.conv2d", "params")
def _conv2d(data: Any) -> GradCall:
    groups = data.draw(st.sampled_from([1, 1, 2]), label="groups")
    cig = data.draw(st.integers(1, 2), label="C_in/groups") if groups == 1 else 1
    cout = groups * data.draw(st.integers(1, 2), label="C_out/groups")
    kh, kw = data.draw(st.integers(1, 3), label="KH"), data.draw(st.integers(1, 2), label="KW")
    stride = data.draw(st.sampled_from([1, 2, (1, 2), (2, 1)]), label="stride")
    dil = data.draw(st.sampled_from([1, (2, 1), (1, 2)]), label="dilation")
    pad = data.draw(st.sampled_from([0, 1, (1, 0), "valid", "same", ((1, 0), (0, 2)),
                                     ((0, 2), (1, 1))]), label="padding")
    x = _x(data, (1, data.draw(st.integers(5, 6), label="H"), data.draw(st.integers(3, 4), label="W"),
                  groups * cig), -1, 1)
    w = _x(data, (cout, kh, kw, cig), -1, 1)
    b = _x(data, (cout,), -1, 1) if data.draw(st.booleans(), label="bias") else None
    return _conv_call(N.conv2d, x, w, b, f"stride={stride} padding={pad!r} dilation={dil} "
                      f"groups={groups}", stride=stride, padding=pad, dilation=dil, groups=groups)


@grad_case("nn.conv", "depthwise")
def _conv_depthwise(data: Any) -> GradCall:
    """groups == C_in (one filter bank per channel), asymmetric padding, stride 2."""
    c = data.draw(st.integers(2, 3), label="channels")
    x = _x(data, (2, 5, c), -1, 1)
    w = _x(data, (2 * c, 3, 1), -1, 1)
    return GradCall(lambda t, u: N.conv1d(t, u, stride=2, padding=((2, 1),), groups=c), (x, w))


def _conv_kernel(x: Any, w: Any, stride: tuple[int, ...], padding: Any,
                 dilation: tuple[int, ...], groups: int) -> ember.Tensor:
    """The nn_conv kernel itself (any number of spatial axes; no public 3-d op exists)."""
    b = backend_of("nn.conv", x, w)  # the recording twin when a tape tracks either
    return ember.Tensor(b.kernels.nn_conv(x._n, w._n, stride, padding, dilation, groups), b)


@grad_case("nn.conv", "3-d kernel")
def _conv3d(data: Any) -> GradCall:
    stride = data.draw(st.sampled_from([(1, 1, 1), (2, 1, 2)]), label="stride")
    dil = data.draw(st.sampled_from([(1, 1, 1), (1, 2, 1)]), label="dilation")
    pads = data.draw(st.sampled_from([((0, 0),) * 3, ((1, 0), (0, 1), (1, 1))]), label="padding")
    x = _x(data, (1, 3, 4, 3, 1), -1, 1)
    w = _x(data, (2, 2, 2, 2, 1), -1, 1)
    return GradCall(lambda t, u: _conv_kernel(t, u, stride, pads, dil, 1), (x, w),
                    note=f"stride={stride} padding={pads} dilation={dil}")


# -- pooling -----------------------------------------------------------------------------------
def _pool_params(data: Any, nd: int) -> tuple[Any, Any, Any]:
    window = tuple(data.draw(st.integers(1, 3), label="window") for _ in range(nd))
    stride = data.draw(st.sampled_from([None, 1, 2]), label="stride")
    kind = data.draw(st.sampled_from(["none", "int", "pairs"]), label="padding")
    if kind == "none":
        pad: Any = 0
    elif kind == "int":
        pad = 1 if min(window) > 1 else 0
    else:
        pad = tuple((data.draw(st.integers(0, k - 1)), data.draw(st.integers(0, k - 1))) for k in window)
    return window, stride, pad


def _pool_input(data: Any, nd: int) -> np.ndarray:
    spatial = (data.draw(st.integers(3, 6), label="L"),) if nd == 1 else (
        data.draw(st.integers(3, 5), label="H"), data.draw(st.integers(3, 4), label="W"))
    return _distinct(data, (data.draw(st.integers(1, 2), label="N"), *spatial,
                            data.draw(st.integers(1, 2), label="C")))


@grad_case("nn.max_pool", "window")
def _max_pool(data: Any) -> GradCall:
    nd = data.draw(st.integers(1, 2), label="spatial axes")
    x = _pool_input(data, nd)
    window, stride, pad = _pool_params(data, nd)
    return GradCall(lambda t: N.max_pool(t, window, stride, pad), (x,),
                    note=f"window={window} stride={stride} padding={pad}")


@grad_case("nn.avg_pool", "window")
def _avg_pool(data: Any) -> GradCall:
    nd = data.draw(st.integers(1, 2), label="spatial axes")
    x = _x(data, _pool_input(data, nd).shape)
    window, stride, pad = _pool_params(data, nd)
    cip = data.draw(st.booleans(), label="count_include_pad")
    return GradCall(lambda t: N.avg_pool(t, window, stride, pad, count_include_pad=cip), (x,),
                    note=f"window={window} stride={stride} padding={pad} count_include_pad={cip}")


# -- normalisation -----------------------------------------------------------------------------
@grad_case("nn.layer_norm", "affine")
def _layer_norm(data: Any) -> GradCall:
    shape = S.shape(data, 1, 3, 2, 3)
    k = data.draw(st.integers(1, len(shape)), label="normalised axes")
    axis: Any = -1 if k == 1 and data.draw(st.booleans(), label="int axis") else tuple(range(-k, 0))
    eps = data.draw(st.sampled_from([1e-5, 1e-2]), label="eps")
    x = _distinct(data, shape, 0.25)
    args = [x]
    has_w, has_b = data.draw(st.booleans(), label="weight"), data.draw(st.booleans(), label="bias")
    if has_w:
        args.append(_x(data, shape[-k:], 0.5, 2))
    if has_b:
        args.append(_x(data, shape[-k:], -1, 1))

    def fn(t: Any, *wb: Any) -> Any:
        w = wb[0] if has_w else None
        b = wb[-1] if has_b else None
        return N.layer_norm(t, w, b, axis=axis, eps=eps)

    return GradCall(fn, tuple(args), note=f"axis={axis} weight={has_w} bias={has_b} eps={eps}")


@grad_case("nn.layer_norm", "x only", second=True)
def _layer_norm_x(data: Any) -> GradCall:
    x = _distinct(data, (2, data.draw(st.integers(2, 4), label="D")), 0.25)
    return GradCall(lambda t: N.layer_norm(t), (x,))


@grad_case("nn.rms_norm", "affine")
def _rms_norm(data: Any) -> GradCall:
    shape = S.shape(data, 1, 3, 1, 3)
    k = data.draw(st.integers(1, len(shape)), label="normalised axes")
    axis: Any = -1 if k == 1 else tuple(range(-k, 0))
    x = _x(data, shape, nonzero=True)
    if data.draw(st.booleans(), label="weight"):
        return GradCall(lambda t, w: N.rms_norm(t, w, axis=axis, eps=1e-5),
                        (x, _x(data, shape[-k:], 0.5, 2)), note=f"axis={axis} weight")
    return GradCall(lambda t: N.rms_norm(t, axis=axis, eps=1e-5), (x,), note=f"axis={axis}")


@grad_case("nn.rms_norm", "x only", second=True)
def _rms_norm_x(data: Any) -> GradCall:
    return GradCall(lambda t: N.rms_norm(t), (_x(data, (2, 3), nonzero=True),))


@grad_case("nn.dropout", "fixed key")
def _dropout(data: Any) -> GradCall:
    """With a fixed key the mask is fixed: the gradient is mask / (1 - rate)."""
    seed = data.draw(st.integers(0, 2**16), label="key")
    rate = data.draw(st.sampled_from([0.0, 0.25, 0.5, 1.0]), label="rate")
    x = _x(data, _shape(data, 1))
    return GradCall(lambda t: N.dropout(t, rate, E.random.key(seed)), (x,),
                    note=f"rate={rate} key={seed}")


# -- attention ---------------------------------------------------------------------------------
def _qkv(data: Any, batch: tuple[int, ...], L: int, S_: int) -> tuple[np.ndarray, ...]:
    D, Dv = data.draw(st.integers(1, 3), label="D"), data.draw(st.integers(1, 3), label="Dv")
    return (_x(data, (*batch, L, D), -2, 2), _x(data, (*batch, S_, D), -2, 2),
            _x(data, (*batch, S_, Dv), -2, 2))


def _lengths(data: Any) -> tuple[int, int]:
    L = data.draw(st.integers(1, 4), label="L")
    return L, data.draw(st.integers(L, 4), label="S")  # S >= L: every causal query sees a key


@grad_case("nn.scaled_dot_product_attention", "plain")
def _sdpa(data: Any) -> GradCall:
    L, S_ = _lengths(data)
    q, k, v = _qkv(data, S.shape(data, 0, 2, 1, 2), L, S_)
    scale = data.draw(st.sampled_from([None, 0.5]), label="scale")
    return GradCall(lambda a, b, c: N.scaled_dot_product_attention(a, b, c, scale=scale), (q, k, v),
                    note=f"scale={scale}")


@grad_case("nn.scaled_dot_product_attention", "broadcast batch")
def _sdpa_broadcast(data: Any) -> GradCall:
    """q (2, 1, L, D) against k, v (3, S, D): batch axes broadcast (their cotangents sum)."""
    L, S_ = _lengths(data)
    D = data.draw(st.integers(1, 2), label="D")
    q = _x(data, (2, 1, L, D), -2, 2)
    k, v = _x(data, (3, S_, D), -2, 2), _x(data, (3, S_, 2), -2, 2)
    return GradCall(N.scaled_dot_product_attention, (q, k, v))


@grad_case("nn.scaled_dot_product_attention", "boolean mask")
def _sdpa_bool(data: Any) -> GradCall:
    L, S_ = _lengths(data)
    q, k, v = _qkv(data, (2,), L, S_)
    mask = S.arr(data, E.bool, (L, S_))
    mask[:, -1] = True  # every query sees a key
    return GradCall(lambda a, b, c: N.scaled_dot_product_attention(a, b, c, mask=on(a, mask)),
                    (q, k, v))


@grad_case("nn.scaled_dot_product_attention", "additive mask")
def _sdpa_additive(data: Any) -> GradCall:
    """A float mask is an input like q, k and v (broadcast over the batch: its cotangent sums)."""
    L, S_ = _lengths(data)
    q, k, v = _qkv(data, (2,), L, S_)
    mask = _x(data, (L, S_), -2, 0)
    causal = data.draw(st.booleans(), label="is_causal")
    return GradCall(lambda a, b, c, m: N.scaled_dot_product_attention(a, b, c, mask=m, is_causal=causal),
                    (q, k, v, mask), note=f"is_causal={causal}")


@grad_case("nn.scaled_dot_product_attention", "causal")
def _sdpa_causal(data: Any) -> GradCall:
    """is_causal with L != S: queries aligned at the end of the keys."""
    L = data.draw(st.integers(1, 3), label="L")
    S_ = data.draw(st.integers(L + 1, 5), label="S")
    q, k, v = _qkv(data, (), L, S_)
    return GradCall(lambda a, b, c: N.scaled_dot_product_attention(a, b, c, is_causal=True), (q, k, v))


@grad_case("nn.scaled_dot_product_attention", "window")
def _sdpa_window(data: Any) -> GradCall:
    L, S_ = _lengths(data)
    q, k, v = _qkv(data, (2,), L, S_)
    window = data.draw(st.integers(1, 3), label="window")
    causal = data.draw(st.booleans(), label="is_causal")
    return GradCall(lambda a, b, c: N.scaled_dot_product_attention(a, b, c, is_causal=causal,
                                                                   window=window),
                    (q, k, v), note=f"window={window} is_causal={causal}")


# -- cross-entropy -----------------------------------------------------------------------------
@grad_case("nn.cross_entropy", "integer targets")
def _cross_entropy_int(data: Any) -> GradCall:
    batch = S.shape(data, 1, 2, 1, 3)
    c = data.draw(st.integers(2, 4), label="classes")
    logits = _x(data, (*batch, c), -4, 4)
    t = S.arr(data, E.int64, batch, 0, c - 1)
    ignore = data.draw(st.sampled_from([None, 0, -100]), label="ignore_index")
    if ignore is not None:
        t.flat[0] = 1  # at least one target counts (else the mean is 0 / 0)
        if ignore == -100 and t.size > 1:
            t.flat[-1] = -100
    smooth = data.draw(st.sampled_from([0.0, 0.1]), label="label_smoothing")
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")
    return GradCall(lambda z: N.cross_entropy(z, on(z, t), ignore_index=ignore,
                                              label_smoothing=smooth, reduction=reduction),
                    (logits,), note=f"ignore_index={ignore} label_smoothing={smooth} {reduction}")


@grad_case("nn.cross_entropy", "probability targets")
def _cross_entropy_probs(data: Any) -> GradCall:
    """Both the logits and the target probabilities are differentiated; class axis 0 or -1."""
    batch = S.shape(data, 1, 2, 1, 3)
    c = data.draw(st.integers(2, 4), label="classes")
    p = _x(data, (*batch, c), 0.1, 1)
    p = p / p.sum(-1, keepdims=True)
    logits = _x(data, (*batch, c), -4, 4)
    if data.draw(st.booleans(), label="class axis first"):
        logits, p, axis = np.moveaxis(logits, -1, 0), np.moveaxis(p, -1, 0), 0
    else:
        axis = -1
    smooth = data.draw(st.sampled_from([0.0, 0.2]), label="label_smoothing")
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")
    return GradCall(lambda z, q: N.cross_entropy(z, q, axis=axis, label_smoothing=smooth,
                                                 reduction=reduction),
                    (logits, p), note=f"axis={axis} label_smoothing={smooth} {reduction}")


# -- associative scan --------------------------------------------------------------------------
def _linear(p: Any, q: Any) -> Any:
    """(a1, b1) then (a2, b2): h = a2 (a1 h + b1) + b2."""
    return (E.multiply(p[0], q[0]), E.add(E.multiply(q[0], p[1]), q[1]))


@grad_case("nn.associative_scan", "linear recurrence")
def _scan_linear(data: Any) -> GradCall:
    shape = S.shape(data, 1, 2, 1, 7)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    reverse = data.draw(st.booleans(), label="reverse")
    a, b = _x(data, shape, -1.5, 1.5), _x(data, shape, -2, 2)
    return GradCall(lambda u, w: tuple(N.associative_scan(_linear, (u, w), axis=axis, reverse=reverse)),
                    (a, b), note=f"axis={axis} reverse={reverse}")


@grad_case("nn.associative_scan", "product")
def _scan_product(data: Any) -> GradCall:
    x = _x(data, (data.draw(st.integers(1, 8), label="length"),), -2, 2)
    return GradCall(lambda t: N.associative_scan(E.multiply, t), (x,))
