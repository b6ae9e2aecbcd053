"""Cases of ``ember.nn``: activations, softmax family, one-hot, convolution, pooling,
normalisation, attention, cross-entropy and associative scans. (``nn.dropout`` is random: see
``_random_cases``.)"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._cases import call, case

E = ember
NNF = (E.float16, E.float32, E.float64)
NN = (E.float32, E.float64)


def _nn(name: str) -> Any:
    def fn(*args: Any, **kwargs: Any) -> Any:
        return getattr(E.nn, name)(*args, **kwargs)

    return fn


for _name in ("relu", "sigmoid", "silu", "softplus"):
    @case(f"nn.{_name}", "shape", NNF, bf16=True, tol=2)
    def _act(data: Any, d: Any) -> Any:
        return call(S.arr(data, d, S.shape(data)))

    @case(f"nn.{_name}", "large", NN)
    def _act_large(data: Any, d: Any) -> Any:
        return call(S.arr(data, d, S.shape(data, 1), -100, 100))


@case("nn.gelu", "approximate", NNF, bf16=True, tol=2)
def _gelu(data: Any, d: Any) -> Any:
    return call(S.arr(data, d, S.shape(data), -6, 6),
                approximate=data.draw(st.sampled_from(["none", "tanh"])))


for _name in ("softmax", "log_softmax"):
    @case(f"nn.{_name}", "axis", NNF, bf16=True, tol=4)
    def _softmax(data: Any, d: Any) -> Any:
        x = S.arr(data, d, S.shape(data, 1))
        return call(x, axis=data.draw(st.integers(-x.ndim, x.ndim - 1)))

    @case(f"nn.{_name}", "large-logits", NN, tol=4)
    def _softmax_large(data: Any, d: Any) -> Any:
        x = S.arr(data, d, S.shape(data, 1, 2, 1), 500, 1000)
        return call(x, axis=-1)


@case("nn.logsumexp", "axes", NNF, bf16=True, tol=4)
def _lse(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 0, 3, 1))
    if data.draw(st.booleans()) and d is E.float64:
        x = np.asarray(x + 800.0, x.dtype)
    return call(x, axis=S.axes_arg(data, x.ndim), keepdims=data.draw(st.booleans()))


@case("nn.one_hot", "classes", (E.int32, E.int64, E.uint8))
def _one_hot(data: Any, d: Any) -> Any:
    n = data.draw(st.integers(1, 5))
    idx = S.arr(data, d, S.shape(data), 0, n - 1)
    return call(idx, n, dtype=data.draw(st.sampled_from([None, E.float64, E.int32, E.bool])))


@case("nn.conv", "via-conv1d", (E.float32,), tol=10)
@case("nn.conv1d", "params", NNF, bf16=True, tol=10)
def _conv1d(data: Any, d: Any) -> Any:
    g = data.draw(st.sampled_from([1, 1, 2]))
    cin, cout = g * data.draw(st.integers(1, 2)), g * data.draw(st.integers(1, 2))
    k, dil, stride = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    pad = data.draw(st.sampled_from([0, 1, "valid", "same", "causal", ((2, 0),)]))
    length = data.draw(st.integers(dil * (k - 1) + 1, 8))
    x = S.arr(data, d, (data.draw(st.integers(1, 2)), length, cin), -1, 1)
    w = S.arr(data, d, (cout, k, cin // g), -1, 1)
    b = S.arr(data, d, (cout,), -1, 1) if data.draw(st.booleans()) else None
    return call(x, w, b, stride=stride, padding=pad, dilation=dil, groups=g, fn=_nn("conv1d"))


@case("nn.conv2d", "params", NN, tol=10)
def _conv2d(data: Any, d: Any) -> Any:
    g = data.draw(st.sampled_from([1, 1, 2]))
    cin, cout = g * data.draw(st.integers(1, 2)), g * data.draw(st.integers(1, 2))
    kh, kw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    stride = data.draw(st.sampled_from([1, 2, (1, 2)]))
    dil = data.draw(st.sampled_from([1, (2, 1)]))
    pad = data.draw(st.sampled_from([0, 1, "valid", "same", ((1, 0), (0, 2))]))
    x = S.arr(data, d, (1, data.draw(st.integers(5, 7)), data.draw(st.integers(3, 6)), cin), -1, 1)
    w = S.arr(data, d, (cout, kh, kw, cin // g), -1, 1)
    return call(x, w, S.arr(data, d, (cout,), -1, 1), stride=stride, padding=pad, dilation=dil,
                groups=g, fn=_nn("conv2d"))


for _name in ("max_pool", "avg_pool"):
    @case(f"nn.{_name}", "window", NNF, bf16=True, tol=4)
    def _pool(data: Any, d: Any, _name: str = _name) -> Any:
        nd = data.draw(st.integers(1, 2))
        window = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
        stride = data.draw(st.one_of(st.none(), st.just(tuple(data.draw(st.integers(1, 2)) for _ in range(nd)))))
        pads = tuple((data.draw(st.integers(0, w - 1)), data.draw(st.integers(0, w - 1))) for w in window)
        spatial = tuple(data.draw(st.integers(w, 6)) for w in window)
        x = S.arr(data, d, (data.draw(st.integers(1, 2)), *spatial, data.draw(st.integers(1, 3))))
        kw = {"count_include_pad": data.draw(st.booleans())} if _name == "avg_pool" else {}
        return call(x, window, stride, pads, **kw)

    @case(f"nn.{_name}", "int-padding", NN)
    def _pool_int(data: Any, d: Any) -> Any:
        x = S.arr(data, d, (1, data.draw(st.integers(2, 7)), 2))
        return call(x, 2, 1, data.draw(st.sampled_from([0, 1, "same", "valid"])))


@case("nn.layer_norm", "affine", NNF, bf16=True, tol=20)
def _layer_norm(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1, 3, 2), -5, 5)
    k = data.draw(st.integers(1, x.ndim))
    axis: Any = -1 if k == 1 and data.draw(st.booleans()) else tuple(range(-k, 0))
    w = S.arr(data, d, x.shape[-k:], 0.5, 2) if data.draw(st.booleans()) else None
    b = S.arr(data, d, x.shape[-k:], -1, 1) if data.draw(st.booleans()) else None
    return call(x, w, b, axis=axis, eps=data.draw(st.sampled_from([1e-5, 1e-3])))


@case("nn.rms_norm", "affine", NNF, bf16=True, tol=20)
def _rms_norm(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1, 3, 1), -5, 5)
    w = S.arr(data, d, x.shape[-1:], 0.5, 2) if data.draw(st.booleans()) else None
    return call(x, w, axis=-1, eps=1e-5)


@case("nn.scaled_dot_product_attention", "masks", NNF, bf16=True, tol=20)
def _sdpa(data: Any, d: Any) -> Any:
    batch = S.shape(data, 0, 2, 1, 2)
    L, Sk, D, Dv = (data.draw(st.integers(1, 5)) for _ in range(4))
    if data.draw(st.booleans()):
        Sk = L
    q = S.arr(data, d, (*batch, L, D), -2, 2)
    k = S.arr(data, d, (*batch, Sk, D), -2, 2)
    v = S.arr(data, d, (*batch, Sk, Dv), -2, 2)
    kind = data.draw(st.sampled_from(["none", "bool", "additive"]))
    mask = None
    if kind == "bool":
        mask = S.arr(data, E.bool, (L, Sk))
        mask[:, 0] = True  # every query sees a key
    elif kind == "additive":
        mask = S.arr(data, d, (L, Sk), -3, 0)
    return call(q, k, v, mask=mask, is_causal=data.draw(st.booleans()) and Sk >= L,
                scale=data.draw(st.sampled_from([None, 0.5])),
                window=data.draw(st.sampled_from([None, None, 2])))


@case("nn.scaled_dot_product_attention", "queries-that-see-no-key", NN, tol=20)
def _sdpa_no_key(data: Any, d: Any) -> Any:
    """Every combination of mask kind and shape, causal rule (also L > S, aligned at the end)
    and window, with whole rows hidden: those queries see no key and give NaN."""
    batch = S.shape(data, 0, 2, 1, 2)
    L, Sk, D, Dv = (data.draw(st.integers(1, 5)) for _ in range(4))
    q = S.arr(data, d, (*batch, L, D), -2, 2)
    k = S.arr(data, d, (*batch, Sk, D), -2, 2)
    v = S.arr(data, d, (*batch, Sk, Dv), -2, 2)
    kind = data.draw(st.sampled_from(["none", "bool", "additive"]))
    shape = data.draw(st.sampled_from([(L, Sk), (1, Sk), (*batch, L, Sk), (*batch[:1], 1, L, Sk)]))
    mask: Any = None
    if kind != "none":
        mask = S.arr(data, E.bool, shape) if kind == "bool" else S.arr(data, d, shape, -3, 0)
        row = data.draw(st.integers(0, shape[-2] - 1))
        mask[..., row, :] = False if kind == "bool" else -np.inf  # this query sees no key
    return call(q, k, v, mask=mask, is_causal=data.draw(st.booleans()),
                window=data.draw(st.sampled_from([None, 1, 2, 6])))


@case("nn.scaled_dot_product_attention", "additive-mask-of-another-dtype", (E.float16, E.float32))
def _sdpa_mask_dtype(data: Any, d: Any) -> Any:
    """An additive mask is added in the queries' dtype, whatever its own (float64, int32):
    the result has q's dtype on every backend (NumPy's composite promoted it to float64)."""
    L, Sk = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    q, k, v = (S.arr(data, d, (2, n, 3), -2, 2) for n in (L, Sk, Sk))
    md = data.draw(st.sampled_from([E.float64, E.int32]))
    return call(q, k, v, mask=S.arr(data, md, (L, Sk), -3, 0),
                is_causal=data.draw(st.booleans()) and Sk >= L)


@case("nn.scaled_dot_product_attention", "empty", NN, examples=20)
def _sdpa_empty(data: Any, d: Any) -> Any:
    """No queries, no keys or an empty batch: no key to attend gives zeros (an empty sum), with
    a mask too (torch's fused kernel gave NaN for S = 0 with a mask)."""
    batch = data.draw(st.sampled_from([(), (2,), (0,)]))
    L, Sk = data.draw(st.sampled_from([(0, 3), (3, 0), (0, 0), (2, 3)] if batch == (0,) else
                                      [(0, 3), (3, 0), (0, 0)]))
    q, k, v = (S.arr(data, d, (*batch, n, 2)) for n in (L, Sk, Sk))
    kind = data.draw(st.sampled_from(["none", "bool", "additive"]))
    mask = None if kind == "none" else S.arr(data, E.bool if kind == "bool" else d, (L, Sk))
    return call(q, k, v, mask=mask, is_causal=data.draw(st.booleans()))


@case("nn.cross_entropy", "targets", NN, tol=10)
def _cross_entropy(data: Any, d: Any) -> Any:
    batch = S.shape(data, 1, 2, 1, 4)
    c = data.draw(st.integers(2, 5))
    logits = S.arr(data, d, (*batch, c), -5, 5)
    if data.draw(st.booleans()):
        t = S.arr(data, E.int64, batch, 0, c - 1)
        ignore = data.draw(st.sampled_from([None, 0]))
        if ignore is not None:
            t.flat[0] = 1  # at least one target counts
    else:
        p = np.abs(S.arr(data, d, (*batch, c), 0.1, 1))
        t, ignore = (p / p.sum(-1, keepdims=True)).astype(p.dtype), None
    return call(logits, t, ignore_index=ignore,
                label_smoothing=data.draw(st.sampled_from([0.0, 0.1])),
                reduction=data.draw(st.sampled_from(["mean", "sum", "none"])))


@case("nn.cross_entropy", "class-axis", (E.float32,), tol=10)
def _cross_entropy_axis(data: Any, d: Any) -> Any:
    logits = S.arr(data, d, (3, 4, 2), -5, 5)
    return call(logits, S.arr(data, E.int32, (4, 2), 0, 2), axis=0)


@case("nn.associative_scan", "add-max", (E.int32, E.float32, E.float64), tol=10)
def _scan(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1, 3), -5, 5)
    fn = data.draw(st.sampled_from([E.add, E.maximum]))
    return call(fn, x, axis=data.draw(st.integers(-x.ndim, x.ndim - 1)),
                reverse=data.draw(st.booleans()))


def _linrec(p: Any, q: Any) -> Any:
    return (E.multiply(p[0], q[0]), E.add(E.multiply(q[0], p[1]), q[1]))


@case("nn.associative_scan", "linear-recurrence", NN, tol=10)
def _scan_rec(data: Any, d: Any) -> Any:
    shp = S.shape(data, 1, 2, 1, 6)
    return call(_linrec, (S.arr(data, d, shp, -1, 1), S.arr(data, d, shp, -1, 1)))
