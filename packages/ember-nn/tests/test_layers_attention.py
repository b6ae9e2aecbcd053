"""MultiHeadAttention against torch.nn.MultiheadAttention(batch_first=True) with the same
weights: forward values and gradients (inputs and every variable) for self- and
cross-attention, causal and boolean/additive masks, float64; attention dropout against a NumPy
reference with the same dropout mask; configs and errors."""

from __future__ import annotations

import json
import math

import ember
import ember_nn
import numpy as np
import pytest
from attention_support import (
    _np,
    assert_same,
    copy_attention,
    ember_forward_backward,
    torch_forward_backward,
)
from ember_nn import ConfigError
from ember_nn.layers import MultiHeadAttention

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(11)
B, L, S, E, H = 2, 5, 7, 16, 4


def _randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _pair(bias: bool = True, dtype: object = None) -> tuple[MultiHeadAttention, object]:
    mha = MultiHeadAttention(E, H, bias=bias, dtype=dtype, key=3)
    if bias:  # non-zero biases, so that their gradients and values are checked
        mha.in_proj.bias.assign(ember.astype(ember.tensor(_randn(3 * E)), mha.in_proj.weight.dtype))
        mha.out_proj.bias.assign(ember.astype(ember.tensor(_randn(E)), mha.in_proj.weight.dtype))
    t = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=True)
    if dtype is ember.float64:
        t = t.double()
    copy_attention(mha, t, torch)
    return mha, t


def _torch_mask(allowed: np.ndarray) -> object:
    """ember's boolean mask (True attends, broadcasting to (B, H, L, S)) as torch's
    attn_mask ((B * H, L, S), True hides)."""
    full = np.broadcast_to(allowed, (B, H, *allowed.shape[-2:]))
    return torch.tensor(~full.reshape(B * H, *allowed.shape[-2:]))


@pytest.mark.parametrize("kind", ["self", "cross", "cross_kv"])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_forward_and_gradients(backend: str, kind: str, bias: bool) -> None:
    mha, t = _pair(bias)
    q, k, v = _randn(B, L, E), _randn(B, S, E), _randn(B, S, E)
    inputs = {"self": [q], "cross": [q, k], "cross_kv": [q, k, v]}[kind]
    g = _randn(B, L, E)

    def theirs(m: object, *xs: object) -> object:
        qq, kk, vv = (xs * 3)[:3] if len(xs) == 1 else (xs[0], xs[1], xs[-1])
        return m(qq, kk, vv, need_weights=False)[0]

    ours = ember_forward_backward(mha, inputs, g, lambda m, *xs: m(*xs))
    assert_same(ours, torch_forward_backward(t, inputs, g, theirs, torch))


@pytest.mark.parametrize("case", ["causal", "causal_cross", "bool", "additive", "bool_causal"])
def test_masks_match_torch(backend: str, case: str) -> None:
    mha, t = _pair()
    s = L if case == "causal" else S
    q, kv, g = _randn(B, L, E), _randn(B, s, E), _randn(B, L, E)
    band = np.arange(s)[None, :] <= np.arange(L)[:, None] + (s - L)  # causal, aligned at the end
    keep = RNG.random((B, 1, L, s)) > 0.3
    keep[..., -1] = True  # every query sees a key
    additive = np.where(RNG.random((L, s)) > 0.3, 0.0, -1e9).astype(np.float32) + _randn(L, s)
    if case in ("causal", "causal_cross"):
        kw, t_mask = {"causal": True}, _torch_mask(band)
    elif case == "bool":
        kw, t_mask = {"mask": ember.tensor(keep)}, _torch_mask(keep)
    elif case == "additive":
        kw, t_mask = {"mask": additive}, torch.tensor(additive)
    else:
        kw, t_mask = {"mask": ember.tensor(keep), "causal": True}, _torch_mask(keep & band)
    ours = ember_forward_backward(mha, [q, kv], g, lambda m, a, b: m(a, b, **kw))
    theirs = torch_forward_backward(
        t, [q, kv], g, lambda m, a, b: m(a, b, b, attn_mask=t_mask, need_weights=False)[0],
        torch)
    assert_same(ours, theirs)


def test_float64_matches_torch_closely_and_keeps_its_dtype(backend: str) -> None:
    mha, t = _pair(dtype=ember.float64)
    x, g = _randn(B, L, E), _randn(B, L, E)
    ours = ember_forward_backward(mha, [x], g, lambda m, a: m(a, causal=True), ember.float64)
    theirs = torch_forward_backward(
        t, [x], g, lambda m, a: m(a, a, a, attn_mask=_torch_mask(np.tril(np.ones((L, L),
                                                                                bool))),
                                  need_weights=False)[0], torch, torch.float64)
    assert_same(ours, theirs, rtol=1e-10, atol=1e-12)
    assert mha(ember.tensor(x, dtype=ember.float64)).dtype is ember.float64
    assert mha.in_proj.weight.dtype is ember.float64


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # NumPy's softmax of -infs
def test_a_query_that_sees_no_key_gives_nan(backend: str) -> None:
    mha, _ = _pair()
    keep = np.ones((L, L), bool)
    keep[2] = False
    out = _np(mha(ember.tensor(_randn(B, L, E)), mask=ember.tensor(keep)))
    assert np.isnan(out[:, 2]).all() and np.isfinite(np.delete(out, 2, axis=1)).all()


@pytest.mark.parametrize("case", ["plain", "causal_cross", "bool", "additive"])
def test_attention_dropout_drops_the_weights(backend: str, case: str) -> None:
    rate = 0.4
    mha = MultiHeadAttention(E, H, dropout=rate, key=5)
    s = L if case == "plain" else S
    q, kv = _randn(B, L, E), _randn(B, s, E)
    keep = RNG.random((B, 1, L, s)) > 0.3
    keep[..., -1] = True
    additive = _randn(L, s)
    kw = {"causal_cross": {"causal": True}, "bool": {"mask": ember.tensor(keep)},
          "additive": {"mask": ember.tensor(additive)}, "plain": {}}[case]
    out = _np(mha(ember.tensor(q), ember.tensor(kv), **kw))
    # the mask this call drew: call 0 of the layer's Dropout
    drop = _np(ember.nn.dropout(ember.ones((B, H, L, s)), rate,
                                ember.random.fold_in(mha.dropout.key, 0)))
    assert set(np.unique(drop)) == {0.0, float(np.float32(1 / (1 - rate)))}
    w_in, b_in = _np(mha.in_proj.weight), _np(mha.in_proj.bias)
    heads = [(x @ w_in[:, i * E:(i + 1) * E] + b_in[i * E:(i + 1) * E])
             .reshape(B, -1, H, E // H).transpose(0, 2, 1, 3)
             for i, x in enumerate((q, kv, kv))]
    scores = heads[0] @ heads[1].transpose(0, 1, 3, 2) / math.sqrt(E // H)
    if case == "causal_cross":
        scores = np.where(np.arange(s) <= np.arange(L)[:, None] + s - L, scores, -np.inf)
    elif case == "bool":
        scores = np.where(keep, scores, -np.inf)
    elif case == "additive":
        scores = scores + additive
    w = np.exp(scores - scores.max(-1, keepdims=True))
    w = w / w.sum(-1, keepdims=True)
    att = (w * drop) @ heads[2]
    ref = att.transpose(0, 2, 1, 3).reshape(B, L, E) @ _np(mha.out_proj.weight) \
        + _np(mha.out_proj.bias)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    # eval mode: no dropout, the fused attention
    mha.eval()
    ref_eval = (w @ heads[2]).transpose(0, 2, 1, 3).reshape(B, L, E) \
        @ _np(mha.out_proj.weight) + _np(mha.out_proj.bias)
    np.testing.assert_allclose(_np(mha(ember.tensor(q), ember.tensor(kv), **kw)), ref_eval,
                               rtol=1e-4, atol=1e-5)


def test_config_round_trip_and_repr(backend: str) -> None:
    mha = MultiHeadAttention(8, 2, bias=False, dropout=0.1, key=0)
    m2 = ember_nn.deserialize(json.loads(json.dumps(ember_nn.serialize(mha))))
    assert type(m2) is MultiHeadAttention and m2.get_config() == mha.get_config()
    assert [k for k, _ in m2.named_variables()] == ["in_proj.weight", "out_proj.weight"]
    assert repr(mha).splitlines()[0] == \
        "MultiHeadAttention(8, 2, bias=False, dropout=0.1)  # 256 parameters"
    same = MultiHeadAttention(8, 2, bias=False, dropout=0.1, key=0)
    assert same.in_proj.weight.tolist() == mha.in_proj.weight.tolist()


def test_errors_name_the_values(backend: str) -> None:
    with pytest.raises(ConfigError, match=r"dim 10 is not divisible by num_heads 4"):
        MultiHeadAttention(10, 4)
    with pytest.raises(ConfigError, match=r"num_heads must be a positive int, got 0"):
        MultiHeadAttention(8, 0)
    with pytest.raises(ConfigError, match=r"dropout must be a number in \[0, 1\), got 1.0"):
        MultiHeadAttention(8, 2, dropout=1.0)
    with pytest.raises(ConfigError, match=r"bias must be True or False, got 'yes'"):
        MultiHeadAttention(8, 2, bias="yes")  # type: ignore[arg-type]
    mha = MultiHeadAttention(8, 2, key=0)
    with pytest.raises(ember.ShapeError, match=r"query of shape \(2, 3, 6\) must be "
                                               r"\(\.\.\., seq, 8\)"):
        mha(ember.ones((2, 3, 6)))
    with pytest.raises(ember.ShapeError, match=r"query of shape \(8,\) must be"):
        mha(ember.ones((8,)))
    with pytest.raises(ember.ShapeError, match=r"keys of shape \(2, 4, 5\) must be"):
        mha(ember.ones((2, 3, 8)), ember.ones((2, 4, 5)))
    with pytest.raises(ember.ShapeError, match=r"different sequence lengths \(4 and 5\)"):
        mha(ember.ones((2, 3, 8)), ember.ones((2, 4, 8)), ember.ones((2, 5, 8)))
    with pytest.raises(ember.ArgumentError, match=r"values given without keys"):
        mha(ember.ones((2, 3, 8)), values=ember.ones((2, 3, 8)))
    with pytest.raises(ember.DTypeError, match=r"query must be floating point, got "
                                               r"ember\.int32"):
        mha(ember.ones((2, 3, 8), dtype=ember.int32))
    with pytest.raises(ember.ArgumentError, match=r"causal must be True or False, got 1"):
        mha(ember.ones((2, 3, 8)), causal=1)  # type: ignore[arg-type]
    with pytest.raises(ember.ShapeError):  # the catalogue op names the shapes
        mha(ember.ones((2, 3, 8)), mask=ember.ones((4, 4), dtype=ember.bool))
