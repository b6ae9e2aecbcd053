"""What the attention and transformer tests share: copying ember-nn's weights into the torch
modules they are compared with, and running both sides forward and backward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember
import numpy as np

RTOL, ATOL = 2e-4, 2e-5  # float32 (attention sums over softmax weights of 4 to 12 keys)


def _np(t: Any) -> np.ndarray:
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t, dtype=np.float64)


def copy_attention(mha: Any, t_mha: Any, torch: Any) -> None:
    """ember MultiHeadAttention -> torch.nn.MultiheadAttention (torch holds (out, in))."""
    with torch.no_grad():
        dt = t_mha.out_proj.weight.dtype
        t_mha.in_proj_weight.copy_(torch.tensor(mha.in_proj.weight.numpy().T, dtype=dt))
        t_mha.out_proj.weight.copy_(torch.tensor(mha.out_proj.weight.numpy().T, dtype=dt))
        if mha.in_proj.bias is not None:
            t_mha.in_proj_bias.copy_(torch.tensor(mha.in_proj.bias.numpy(), dtype=dt))
            t_mha.out_proj.bias.copy_(torch.tensor(mha.out_proj.bias.numpy(), dtype=dt))


def copy_encoder_layer(layer: Any, t_layer: Any, torch: Any) -> None:
    """ember TransformerEncoderLayer -> torch.nn.TransformerEncoderLayer."""
    copy_attention(layer.attention, t_layer.self_attn, torch)
    with torch.no_grad():
        dt = t_layer.linear1.weight.dtype
        for ours, theirs in ((layer.linear1, t_layer.linear1), (layer.linear2, t_layer.linear2)):
            theirs.weight.copy_(torch.tensor(ours.weight.numpy().T, dtype=dt))
            if ours.bias is not None:
                theirs.bias.copy_(torch.tensor(ours.bias.numpy(), dtype=dt))
        for ours, theirs in ((layer.norm1, t_layer.norm1), (layer.norm2, t_layer.norm2)):
            theirs.weight.copy_(torch.tensor(ours.weight.numpy(), dtype=dt))
            if theirs.bias is not None:  # (torch's bias=False drops the LayerNorms' biases)
                theirs.bias.copy_(torch.tensor(ours.bias.numpy(), dtype=dt))


def torch_grads(t_module: Any) -> dict[str, np.ndarray]:
    """torch's parameter gradients by ember's names and layout ((in, out) weights)."""
    out = {}
    for name, p in t_module.named_parameters():
        g = _np(p.grad)
        name = name.replace("self_attn.", "attention.")
        if name.endswith("in_proj_weight"):
            out[name.replace("in_proj_weight", "in_proj.weight")] = g.T
        elif name.endswith("in_proj_bias"):
            out[name.replace("in_proj_bias", "in_proj.bias")] = g
        else:
            out[name] = g.T if g.ndim == 2 else g
    return out


def ember_forward_backward(module: Any, inputs: list[np.ndarray], upstream: np.ndarray,
                           call: Callable[..., Any], dtype: Any = None
                           ) -> tuple[np.ndarray, list[np.ndarray], dict[str, np.ndarray]]:
    """``call(module, *inputs)``, and the gradients of ``sum(out * upstream)`` with respect to
    the inputs and to every trainable variable (by name)."""
    xs = [ember.tensor(x) if dtype is None else ember.tensor(x, dtype=dtype) for x in inputs]
    names = list(module.named_trainable_variables())
    with ember.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        out = call(module, *xs)
        loss = ember.sum(out * ember.tensor(upstream, dtype=out.dtype))
    grads = tape.gradient(loss, [*xs, *module.trainable_variables])
    gx, gv = grads[:len(xs)], grads[len(xs):]
    return _np(out), [_np(g) for g in gx], {n: _np(g) for n, g in zip(names, gv, strict=True)}


def torch_forward_backward(t_module: Any, inputs: list[np.ndarray], upstream: np.ndarray,
                           call: Callable[..., Any], torch: Any, dtype: Any = None
                           ) -> tuple[np.ndarray, list[np.ndarray], dict[str, np.ndarray]]:
    """The torch side of ``ember_forward_backward``."""
    dtype = dtype or torch.float32
    xs = [torch.tensor(x, dtype=dtype, requires_grad=True) for x in inputs]
    t_module.zero_grad(set_to_none=True)
    out = call(t_module, *xs)
    (out * torch.tensor(upstream, dtype=dtype)).sum().backward()
    return _np(out), [_np(x.grad) for x in xs], torch_grads(t_module)


def assert_same(ours: tuple[Any, ...], theirs: tuple[Any, ...], rtol: float = RTOL,
                atol: float = ATOL) -> None:
    """Outputs, input gradients and variable gradients agree (every variable compared)."""
    np.testing.assert_allclose(ours[0], theirs[0], rtol=rtol, atol=atol)
    for a, b in zip(ours[1], theirs[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    assert sorted(ours[2]) == sorted(theirs[2])
    for name, g in ours[2].items():
        np.testing.assert_allclose(g, theirs[2][name], rtol=rtol, atol=atol, err_msg=name)
