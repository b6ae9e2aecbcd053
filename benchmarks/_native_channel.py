"""Native torch counterparts of ember's channel mixers (MLP, SwiGLU, MoE) and recurrent sequence
mixers (LSTM, GRU, CfC) for benchmarks/mixers.py.

``NATIVE[name](layer)`` builds a plain torch module (torch only) computing what the ember layer
``layer`` computes, with its weights copied from the layer's variables (float32, trainable):

- ``mlp``: ``Linear(dim, 4 dim) -> GELU(tanh) -> Linear(4 dim, dim)``, no biases (ember's
  ``Dense`` weights are ``(in, out)``: torch's ``Linear.weight`` is their transpose).
- ``swiglu``: ``w3(silu(w1 x) * w2 x)`` with three bias-free ``Linear`` layers.
- ``moe-mlp``: the router (``Linear`` with bias), ``torch.topk`` of the logits, the gates a
  softmax over the k chosen logits (= the probabilities renormalised over the top k), and
  every expert computed in two batched up-projections ``(N, dim) @ (dim, E * f)`` and one
  down-projection ``(N, E * f) @ (E * f, dim)`` with the gates (zero outside the top k)
  scaling the hidden units: ember's algorithm. The load-balancing loss is not computed (the
  benchmark's ember side runs outside a loss collector, where it is dropped).
- ``lstm``/``gru``: ``torch.nn.LSTM``/``GRU(dim, dim, batch_first=True)`` (ember's cells
  hold torch's layouts: ``weight_ih`` ``(G * dim, dim)``, ``weight_hh``, ``bias_ih``,
  ``bias_hh``), returning the output sequence from a zero state.
- ``cfc``: ``ncps.torch.CfC(dim, dim)`` (ncps 1.0.1, what liquid-network users run: its
  defaults are the mixer's, one backbone layer of 128 ``lecun_tanh`` units, mode default, unit
  time steps), its cell's weights copied by ncps's names (ember's CfC cell keeps them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from _native_common import linear as _linear
from _native_common import param as _param
from _native_common import variables as _variables
from torch import nn


class MLP(nn.Module):
    """``fc2(gelu_tanh(fc1(x)))``: MAD-Lab's ``mlp`` (no biases)."""

    def __init__(self, layer: Any) -> None:
        super().__init__()
        v = _variables(layer)
        if set(v) != {"layers.0.weight", "layers.1.weight"}:
            raise ValueError(f"native mlp: expected a 2-layer bias-free MLP, got {sorted(v)}")
        self.fc1 = _linear(v["layers.0.weight"])
        self.fc2 = _linear(v["layers.1.weight"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class SwiGLU(nn.Module):
    """``w3(silu(w1 x) * w2 x)``: MAD-Lab's ``swiglu`` (no biases)."""

    def __init__(self, layer: Any) -> None:
        super().__init__()
        v = _variables(layer)
        if set(v) != {"w1.weight", "w2.weight", "w3.weight"}:
            raise ValueError(f"native swiglu: expected bias-free w1/w2/w3, got {sorted(v)}")
        self.w1, self.w2, self.w3 = (_linear(v[f"w{i}.weight"]) for i in (1, 2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w3(F.silu(self.w1(x)) * self.w2(x))


class MoE(nn.Module):
    """Top-k mixture of GLU experts (gelu-tanh gate), every expert in batched matmuls."""

    def __init__(self, layer: Any) -> None:
        super().__init__()
        v = _variables(layer)
        if layer.b1 is not None or layer.drop_rate:
            raise ValueError("native moe-mlp: expert biases and dropout are not mirrored")
        dim, e, f = layer.dim, layer.num_experts, layer.dim_inner
        self.k, self.e, self.f = layer.active_experts, e, f
        self.router = _linear(v["router.weight"], v["router.bias"])
        self.w1 = _param(v["w1"].reshape(dim, e * f))
        self.w2 = _param(v["w2"].reshape(dim, e * f))
        self.w3 = _param(v["w3"].reshape(e * f, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.reshape(-1, x.shape[-1])
        logits = self.router(xf)
        top, idx = torch.topk(logits, self.k, dim=-1)
        # softmax over the chosen logits == the probabilities renormalised over the top k
        gates = torch.zeros_like(logits).scatter(-1, idx, torch.softmax(top, dim=-1))
        h = F.gelu(xf @ self.w1, approximate="tanh") * (xf @ self.w2)
        h = (h.view(-1, self.e, self.f) * gates.unsqueeze(-1)).view(-1, self.e * self.f)
        return (h @ self.w3).view(x.shape)


class Recurrent(nn.Module):
    """``torch.nn.LSTM``/``GRU(dim, dim, batch_first=True)`` from a zero state, the outputs."""

    def __init__(self, layer: Any, kind: type[nn.LSTM] | type[nn.GRU]) -> None:
        super().__init__()
        v = _variables(layer)
        bias = "cell.bias_ih" in v
        self.rnn = kind(layer.dim, layer.dim, bias=bias, batch_first=True)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")[:4 if bias else 2]:
            ours = getattr(self.rnn, f"{name}_l0")
            theirs = v[f"cell.{name}"]
            if tuple(ours.shape) != theirs.shape:
                raise ValueError(f"native {kind.__name__}: {name} is {theirs.shape} in ember, "
                                 f"{tuple(ours.shape)} in torch")
            setattr(self.rnn, f"{name}_l0", _param(theirs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0]


class CfC(nn.Module):
    """``ncps.torch.CfC(dim, dim)`` from a zero state, the output sequence."""

    def __init__(self, layer: Any) -> None:
        super().__init__()
        from ncps.torch import CfC as NcpsCfC

        cell = layer.cell
        self.cfc = NcpsCfC(layer.dim, layer.dim, mode=cell.mode,
                           backbone_units=cell.ff1.weight.shape[1] if cell.backbone_layers
                           else None, backbone_layers=cell.backbone_layers)
        v = _variables(layer)
        for name, p in self.cfc.rnn_cell.named_parameters():
            if tuple(p.shape) != v[f"cell.{name}"].shape:
                raise ValueError(f"native CfC: {name} is {v[f'cell.{name}'].shape} in ember, "
                                 f"{tuple(p.shape)} in ncps")
            p.data = torch.from_numpy(v[f"cell.{name}"].copy())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cfc(x)[0]


NATIVE: dict[str, Callable[[Any], nn.Module]] = {
    "mlp": MLP,
    "swiglu": SwiGLU,
    "moe-mlp": MoE,
    "lstm": lambda layer: Recurrent(layer, nn.LSTM),
    "gru": lambda layer: Recurrent(layer, nn.GRU),
    "cfc": CfC,
}
