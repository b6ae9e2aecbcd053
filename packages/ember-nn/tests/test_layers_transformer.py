"""TransformerEncoderLayer and TransformerEncoder against torch.nn.TransformerEncoderLayer(
activation="gelu", batch_first=True) and torch.nn.TransformerEncoder with the same weights:
forward values and gradients (input and every variable), pre- and post-norm, masks, float64,
dropout placement, configs and errors."""

from __future__ import annotations

import json

import ember
import ember_nn
import numpy as np
import pytest
from attention_support import (
    _np,
    assert_same,
    copy_encoder_layer,
    ember_forward_backward,
    torch_forward_backward,
)
from ember_nn import ConfigError
from ember_nn.layers import TransformerEncoder, TransformerEncoderLayer

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(12)
B, L, E, H = 2, 6, 16, 4


def _randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _perturb(module: ember_nn.Module) -> None:
    """Non-trivial LayerNorm weights and biases (they start at ones and zeros)."""
    for name, v in module.named_variables():
        if ".norm" in f".{name}" or name.endswith("bias"):
            v.assign(ember.astype(ember.tensor(_randn(*v.shape)) * 0.3 + (
                1.0 if name.endswith("weight") else 0.0), v.dtype))


def _torch_layer(norm_first: bool, dtype: object = None, bias: bool = True) -> object:
    t = torch.nn.TransformerEncoderLayer(E, H, dim_feedforward=2 * E, dropout=0.0,
                                         activation="gelu", batch_first=True,
                                         norm_first=norm_first, bias=bias)
    return t.double() if dtype is ember.float64 else t


@pytest.mark.parametrize("norm_first", [True, False])
def test_layer_matches_torch_forward_and_gradients(backend: str, norm_first: bool) -> None:
    layer = TransformerEncoderLayer(E, H, mlp_ratio=2, norm_first=norm_first, key=1)
    _perturb(layer)
    t = _torch_layer(norm_first)
    copy_encoder_layer(layer, t, torch)
    x, g = _randn(B, L, E), _randn(B, L, E)
    ours = ember_forward_backward(layer, [x], g, lambda m, a: m(a))
    assert_same(ours, torch_forward_backward(t, [x], g, lambda m, a: m(a), torch))


def test_layer_without_bias_and_with_a_mask_matches_torch(backend: str) -> None:
    layer = TransformerEncoderLayer(E, H, mlp_ratio=2, bias=False, key=2)
    _perturb(layer)
    t = _torch_layer(True, bias=False)
    # torch's bias=False also drops the LayerNorms' biases: ember keeps them, zero here
    for n in (layer.norm1, layer.norm2):
        n.bias.assign(ember.zeros_like(n.bias))
    copy_encoder_layer(layer, t, torch)
    keep = RNG.random((B, 1, L, L)) > 0.4
    keep[..., 0] = True
    t_mask = torch.tensor(~np.broadcast_to(keep, (B, H, L, L)).reshape(B * H, L, L))
    x, g = _randn(B, L, E), _randn(B, L, E)
    ours = ember_forward_backward(layer, [x], g, lambda m, a: m(a, mask=ember.tensor(keep)))
    theirs = torch_forward_backward(t, [x], g, lambda m, a: m(a, src_mask=t_mask), torch)
    ours[2].pop("norm1.bias"), ours[2].pop("norm2.bias")
    assert_same(ours, theirs)


def test_encoder_stack_matches_torch_with_a_causal_mask(backend: str) -> None:
    enc = TransformerEncoder(3, E, H, mlp_ratio=2, key=3)
    _perturb(enc)
    t = torch.nn.TransformerEncoder(_torch_layer(True), 3, norm=torch.nn.LayerNorm(E),
                                    enable_nested_tensor=False)
    for ours, theirs in zip(enc.layers, t.layers, strict=True):
        copy_encoder_layer(ours, theirs, torch)
    with torch.no_grad():
        t.norm.weight.copy_(torch.tensor(enc.norm.weight.numpy()))
        t.norm.bias.copy_(torch.tensor(enc.norm.bias.numpy()))
    causal = torch.nn.Transformer.generate_square_subsequent_mask(L)
    x, g = _randn(B, L, E), _randn(B, L, E)
    ours = ember_forward_backward(enc, [x], g, lambda m, a: m(a, causal=True))
    theirs = torch_forward_backward(t, [x], g, lambda m, a: m(a, mask=causal, is_causal=True),
                                    torch)
    assert_same(ours, theirs)
    assert TransformerEncoder(2, E, H, final_norm=False).norm is None


def test_float64_layer_matches_torch_closely(backend: str) -> None:
    layer = TransformerEncoderLayer(E, H, mlp_ratio=2, dtype=ember.float64, key=4)
    _perturb(layer)
    t = _torch_layer(True, ember.float64)
    copy_encoder_layer(layer, t, torch)
    x, g = _randn(B, L, E), _randn(B, L, E)
    ours = ember_forward_backward(layer, [x], g, lambda m, a: m(a), ember.float64)
    theirs = torch_forward_backward(t, [x], g, lambda m, a: m(a), torch, torch.float64)
    assert_same(ours, theirs, rtol=1e-9, atol=1e-11)
    assert all(v.dtype is ember.float64 for v in layer.variables)


def test_dropout_sits_where_torch_puts_it(backend: str) -> None:
    layer = TransformerEncoderLayer(E, H, dropout=0.25, attention_dropout=0.5, key=5)
    assert (layer.dropout1.rate, layer.dropout.rate, layer.dropout2.rate,
            layer.attention.dropout.rate) == (0.25, 0.25, 0.25, 0.5)
    x = ember.tensor(_randn(B, L, E))
    a, b = _np(layer(x)), _np(layer(x))
    assert not np.allclose(a, b)  # fresh masks per call in training mode
    layer.eval()
    want = _np(TransformerEncoderLayer(E, H, key=5).eval()(x))  # same weights, no dropout
    np.testing.assert_allclose(_np(layer(x)), want, rtol=1e-6, atol=1e-6)
    assert TransformerEncoderLayer(E, H).dropout is None


def test_config_round_trip_and_names(backend: str) -> None:
    enc = TransformerEncoder(2, 8, 2, mlp_ratio=1.5, dropout=0.1, activation="relu",
                             norm_first=False, key=0)
    m2 = ember_nn.deserialize(json.loads(json.dumps(ember_nn.serialize(enc))))
    assert type(m2) is TransformerEncoder and m2.get_config() == enc.get_config()
    assert [k for k, _ in m2.named_variables()] == [k for k, _ in enc.named_variables()]
    assert [k for k, _ in enc.layers[0].named_variables()] == [
        "attention.in_proj.weight", "attention.in_proj.bias", "attention.out_proj.weight",
        "attention.out_proj.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
        "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"]
    assert enc.layers[0].linear1.weight.shape == (8, 12)
    assert repr(enc.layers[0]).splitlines()[0].startswith(
        "TransformerEncoderLayer(8, 2, mlp_ratio=1.5, dropout=0.1, activation='relu', "
        "norm_first=False)")
    # the same key gives the same weights; layers of a stack differ
    again = TransformerEncoder(2, 8, 2, mlp_ratio=1.5, key=0)
    assert again.layers[1].linear2.weight.tolist() == enc.layers[1].linear2.weight.tolist()
    assert enc.layers[0].linear2.weight.tolist() != enc.layers[1].linear2.weight.tolist()


def test_errors_name_the_values(backend: str) -> None:
    with pytest.raises(ConfigError, match=r"mlp_ratio must be a positive number making dim \* "
                                          r"mlp_ratio a whole number.*mlp_ratio=1.3 with dim=8"):
        TransformerEncoderLayer(8, 2, mlp_ratio=1.3)
    with pytest.raises(ConfigError, match=r"mlp_ratio=0"):
        TransformerEncoderLayer(8, 2, mlp_ratio=0)
    with pytest.raises(ConfigError, match=r"attention_dropout must be a number in \[0, 1\), "
                                          r"got -0.1"):
        TransformerEncoderLayer(8, 2, attention_dropout=-0.1)
    with pytest.raises(ConfigError, match=r"dim 8 is not divisible by num_heads 3"):
        TransformerEncoderLayer(8, 3)
    with pytest.raises(ConfigError, match=r"num_layers must be a positive int, got 0"):
        TransformerEncoder(0, 8, 2)
    with pytest.raises(ConfigError, match=r"norm_first must be True or False, got 'yes'"):
        TransformerEncoderLayer(8, 2, norm_first="yes")  # type: ignore[arg-type]
    layer = TransformerEncoderLayer(8, 2)
    with pytest.raises(ember.ShapeError, match=r"TransformerEncoderLayer: input of shape "
                                               r"\(2, 3, 4\) must be \(\.\.\., seq, 8\)"):
        layer(ember.ones((2, 3, 4)))
    with pytest.raises(ember.DTypeError, match=r"input must be floating point, got "
                                               r"ember\.int64"):
        layer(ember.ones((2, 3, 8), dtype=ember.int64))


@pytest.mark.parametrize(("name", "tol"), [("float16", 1e-2), ("bfloat16", 6e-2)])
def test_low_precision_layers_keep_their_dtype_and_track_float32(backend: str, name: str,
                                                                   tol: float) -> None:
    dt = getattr(ember, name)
    if backend == "numpy" and name == "bfloat16":
        with pytest.raises(ember.UnsupportedError, match=r"NumPy has no bfloat16"):
            TransformerEncoderLayer(E, H, dtype=dt, key=6)
        return
    full = TransformerEncoderLayer(E, H, key=6)
    low = TransformerEncoderLayer(E, H, dtype=dt, key=6)
    assert all(v.dtype is dt for v in low.variables)
    x = _randn(B, L, E)
    y = low(ember.astype(ember.tensor(x), dt))
    assert y.dtype is dt
    np.testing.assert_allclose(_np(ember.astype(y, ember.float32)), _np(full(ember.tensor(x))),
                               rtol=tol, atol=tol)
