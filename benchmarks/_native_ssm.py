"""Native torch counterparts of ember's state space and RWKV mixers for benchmarks/mixers.py.

``NATIVE[name](layer)`` builds a plain torch module (torch only) computing what the ember layer
``layer`` computes, with its weights copied from the layer's variables (float32, trainable):

- ``mamba`` (ember's ``Mamba``, MAD-Lab's ``mamba`` without its CUDA kernels): ``in_proj``,
  the causal depthwise ``nn.Conv1d`` (padding ``d_conv - 1``, the tail cut), ``x_proj`` split
  into dt/B/C, ``softplus(dt_proj(dt))``, then the selective scan ``h_t = exp(dt_t A) h_{t-1}
  + dt_t B_t x_t`` as a log-depth associative scan over the length (the odd/even recursion
  ember's ``associative_scan`` runs, autograd through it), ``y = (C_t . h_t + D x) *
  silu(z)``, ``out_proj``.
- ``mamba-loop``: the same module with the scan as MAD-Lab's ``selective_scan_ref``, a Python
  loop over time (what MAD-Lab runs without the CUDA kernel). Not in the harness's
  ``NATIVE_MODULES``: timed by hand (see the module's ``__main__``).
- ``rwkv6-time-mixer`` (ember's ``RWKV6TimeMix``): RWKV-6's data-dependent token shift (the
  five low-rank mixes by one ``bmm``, as RWKV's code), the decay ``-exp(w)`` in log space, the
  WKV recurrence exactly in chunks (ember's algorithm: within a chunk the pairwise decays as
  ``exp`` of masked differences of cumulative log decays, every exponent <= 0; the states at
  chunk ends by the same log-depth associative scan over chunks), ``F.group_norm`` per head,
  the silu gate and ``output``.
- ``rwkv6-time-mixer-loop``: the same module with the WKV as RWKV's reference loop over time
  (the state ``S`` updated position by position). Timed by hand as ``mamba-loop``.
- ``rwkv6-channel-mixer`` (ember's ``RWKV6ChannelMix``): token shift by ``F.pad``,
  ``sigmoid(receptance(x_r)) * value(relu(key(x_k)) ** 2)``.

    uv run python benchmarks/_native_ssm.py [--lengths 64,256] [--batch 2] [--repeats 3]

times the loop variants against the scans and ember-torch (forward + backward, one thread).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from _native_common import associative_scan
from _native_common import dense as _linear
from _native_common import expect as _expect
from _native_common import param as _param
from _native_common import variables as _variables
from torch import nn


def _shift(x: torch.Tensor) -> torch.Tensor:
    """RWKV's token shift: position t holds x[t - 1], position 0 zeros."""
    return F.pad(x, (0, 0, 1, -1))


# -- Mamba ----------------------------------------------------------------------------------------
def selective_scan(u: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                   C: torch.Tensor, D: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """``y_t = (C_t . h_t + D u_t) * silu(z_t)``, ``h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t``,
    for ``u``, ``dt``, ``z`` ``(batch, L, d)``, ``A`` ``(d, n)``, ``B``, ``C`` ``(batch, L, n)``;
    the recurrence by a log-depth associative scan over L."""
    dA = torch.exp(dt.unsqueeze(-1) * A)  # (batch, L, d, n)
    dBu = (dt * u).unsqueeze(-1) * B.unsqueeze(2)
    _, h = associative_scan(dA.transpose(0, 1), dBu.transpose(0, 1))  # (L, batch, d, n)
    y = (h.transpose(0, 1) @ C.unsqueeze(-1)).squeeze(-1)
    return (y + u * D) * F.silu(z)


def selective_scan_loop(u: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                        C: torch.Tensor, D: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """:func:`selective_scan` as MAD-Lab's ``selective_scan_ref``: a loop over time (the
    positions taken by ``unbind``, whose backward is one ``stack``: indexing ``dA[:, t]`` as
    ``selective_scan_ref`` does makes a full-size zero gradient per position, O(L^2))."""
    dA = torch.exp(dt.unsqueeze(-1) * A)
    dBu = (dt * u).unsqueeze(-1) * B.unsqueeze(2)
    h = u.new_zeros(dA.shape[0], *A.shape)
    hs = []
    for a_t, b_t in zip(dA.unbind(1), dBu.unbind(1), strict=True):
        h = a_t * h + b_t
        hs.append(h)
    y = (torch.stack(hs, 1) @ C.unsqueeze(-1)).squeeze(-1)
    return (y + u * D) * F.silu(z)


class Mamba(nn.Module):
    """Mamba's selective state space mixer (Gu & Dao 2023) without CUDA kernels."""

    def __init__(self, layer: Any, loop: bool = False) -> None:
        super().__init__()
        v = _variables(layer)
        names = {"in_proj.weight", "conv1d_weight", "x_proj.weight", "dt_proj.weight",
                 "dt_proj.bias", "A_log", "D", "out_proj.weight"}
        if layer.in_proj.bias is not None:
            names |= {"in_proj.bias", "out_proj.bias"}
        if layer.conv1d_bias is not None:
            names.add("conv1d_bias")
        _expect("mamba", v, names)
        self.d_inner, self.d_state, self.dt_rank = layer.d_inner, layer.d_state, layer.dt_rank
        self.scan = selective_scan_loop if loop else selective_scan
        di, k = layer.d_inner, layer.d_conv
        self.in_proj = _linear(v, "in_proj")
        self.conv1d = nn.Conv1d(di, di, k, groups=di, padding=k - 1, bias="conv1d_bias" in v)
        self.conv1d.weight = _param(v["conv1d_weight"].transpose(0, 2, 1))  # (di, 1, k)
        if "conv1d_bias" in v:
            self.conv1d.bias = _param(v["conv1d_bias"])
        self.x_proj = _linear(v, "x_proj")
        self.dt_proj = _linear(v, "dt_proj")
        self.A_log, self.D = _param(v["A_log"]), _param(v["D"])
        self.out_proj = _linear(v, "out_proj")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        L = x.shape[1]
        u, z = self.in_proj(x).chunk(2, dim=-1)
        u = F.silu(self.conv1d(u.transpose(1, 2))[..., :L].transpose(1, 2))
        dt, B, C = torch.split(self.x_proj(u), [self.dt_rank, self.d_state, self.d_state], -1)
        dt = F.softplus(self.dt_proj(dt))
        y = self.scan(u, dt, -torch.exp(self.A_log), B, C, self.D, z)
        return self.out_proj(y)


# -- RWKV-6 time mixing ---------------------------------------------------------------------------
def chunked_wkv(r: torch.Tensor, k: torch.Tensor, v: torch.Tensor, lw: torch.Tensor,
                u: torch.Tensor, chunk: int) -> torch.Tensor:
    """``y_t = r_t (S_{t-1} + diag(u) k_t^T v_t)``, ``S_t = diag(exp(lw_t)) S_{t-1} + k_t^T
    v_t``, for ``(B, T, H, N)`` inputs and ``u`` ``(H, N)``, exactly in chunks."""
    b, T, H, N = r.shape
    C = max(1, min(chunk, T))
    n = -(-T // C)
    pad = n * C - T

    def chunks(t: torch.Tensor) -> torch.Tensor:  # (b, T, H, N) -> (b, H, n, C, N)
        if pad:  # zero keys and unit decays after the end change nothing before it
            t = F.pad(t, (0, 0, 0, 0, 0, pad))
        return t.view(b, n, C, H, N).permute(0, 3, 1, 2, 4)

    r, k, v, lw = chunks(r), chunks(k), chunks(v), chunks(lw)
    lam = lw.cumsum(-2)  # log of w_0 .. w_t inside the chunk
    lam_ex = lam - lw  # .. up to w_{t-1}
    # within a chunk: att[t, s] = sum_i r_t[i] k_s[i] prod_{s<j<t} w_j[i] for s < t
    earlier = torch.ones(C, C, dtype=torch.bool, device=r.device).tril(-1)[..., None]
    decay = torch.exp((lam_ex.unsqueeze(-2) - lam.unsqueeze(-3)).masked_fill(~earlier,
                                                                           -math.inf))
    att = (r.unsqueeze(-2) * k.unsqueeze(-3) * decay).sum(-1)  # (b, H, n, C, C)
    y = att @ v + (r * u.view(H, 1, 1, N) * k).sum(-1, keepdim=True) * v
    # across chunks: S_c = diag(a_c) S_{c-1} + U_c, by an associative scan over the chunks
    last = lam[..., -1:, :]  # (b, H, n, 1, N)
    update = (k * torch.exp(last - lam)).transpose(-1, -2) @ v  # (b, H, n, N, N)
    if n > 1:
        a = torch.exp(last).transpose(-1, -2)  # (b, H, n, N, 1)
        _, states = associative_scan(a.movedim(2, 0), update.movedim(2, 0))
        before = F.pad(states[:-1], (0, 0, 0, 0, 0, 0, 0, 0, 1, 0)).movedim(0, 2)
        y = y + (r * torch.exp(lam_ex)) @ before
    y = y.permute(0, 2, 3, 1, 4).reshape(b, n * C, H, N)
    return y[:, :T] if pad else y


def loop_wkv(r: torch.Tensor, k: torch.Tensor, v: torch.Tensor, lw: torch.Tensor,
             u: torch.Tensor, chunk: int) -> torch.Tensor:
    """:func:`chunked_wkv` as RWKV's reference loop over time (``chunk`` unused; the
    positions taken by ``unbind``)."""
    b, _, H, N = r.shape
    kv = k.unsqueeze(-1) * v.unsqueeze(-2)  # (b, T, H, N, N)
    w = torch.exp(lw).unsqueeze(-1)
    S = r.new_zeros(b, H, N, N)
    ys = []
    for r_t, kv_t, w_t in zip(r.unbind(1), kv.unbind(1), w.unbind(1), strict=True):
        ys.append((r_t.unsqueeze(-2) @ (S + u.unsqueeze(-1) * kv_t)).squeeze(-2))
        S = w_t * S + kv_t
    return torch.stack(ys, 1)


class RWKV6TimeMix(nn.Module):
    """RWKV-6 (Finch) time mixing, the WKV in exact chunks."""

    MAA = ("w", "k", "v", "r", "g")

    def __init__(self, layer: Any, loop: bool = False) -> None:
        super().__init__()
        v = _variables(layer)
        _expect("rwkv6 time mixer", v, {
            "time_faaaa", "ln_x_weight", "ln_x_bias", "time_maa_x",
            *(f"time_maa_{m}" for m in self.MAA), "time_maa_w1", "time_maa_w2", "time_decay",
            "time_decay_w1", "time_decay_w2", *(f"{p}.weight" for p in (
                "receptance", "key", "value", "gate", "output"))})
        self.heads, self.head_dim, self.chunk = layer.num_heads, layer.head_dim, \
            layer.chunk_size
        self.eps = layer._eps
        self.wkv = loop_wkv if loop else chunked_wkv
        for name in ("time_faaaa", "time_maa_x", *(f"time_maa_{m}" for m in self.MAA),
                     "time_maa_w1", "time_maa_w2", "time_decay", "time_decay_w1",
                     "time_decay_w2", "ln_x_weight", "ln_x_bias"):
            setattr(self, name, _param(v[name]))
        self.receptance, self.key = _linear(v, "receptance"), _linear(v, "key")
        self.value, self.gate = _linear(v, "value"), _linear(v, "gate")
        self.output = _linear(v, "output")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, dim = x.shape
        H, N = self.heads, self.head_dim
        xx = _shift(x) - x
        xxx = torch.tanh((x + xx * self.time_maa_x) @ self.time_maa_w1)
        xxx = torch.bmm(xxx.view(B * T, 5, -1).transpose(0, 1), self.time_maa_w2)
        mw, mk, mv, mr, mg = xxx.view(5, B, T, dim).unbind(0)
        xw = x + xx * (self.time_maa_w + mw)
        xk = x + xx * (self.time_maa_k + mk)
        xv = x + xx * (self.time_maa_v + mv)
        xr = x + xx * (self.time_maa_r + mr)
        xg = x + xx * (self.time_maa_g + mg)
        r, k, v = self.receptance(xr), self.key(xk), self.value(xv)
        g = F.silu(self.gate(xg))
        w = self.time_decay + torch.tanh(xw @ self.time_decay_w1) @ self.time_decay_w2
        y = self.wkv(r.view(B, T, H, N), k.view(B, T, H, N), v.view(B, T, H, N),
                     -torch.exp(w).view(B, T, H, N), self.time_faaaa, self.chunk)
        y = F.group_norm(y.reshape(B * T, H * N), H, self.ln_x_weight, self.ln_x_bias,
                         eps=self.eps).view(B, T, H * N)
        return self.output(y * g)


# -- RWKV-6 channel mixing ------------------------------------------------------------------------
class RWKV6ChannelMix(nn.Module):
    """``sigmoid(receptance(x_r)) * value(relu(key(x_k)) ** 2)`` on the token-shifted mixes."""

    def __init__(self, layer: Any) -> None:
        super().__init__()
        v = _variables(layer)
        _expect("rwkv6 channel mixer", v, {"time_maa_k", "time_maa_r", "key.weight",
                                           "receptance.weight", "value.weight"})
        self.time_maa_k, self.time_maa_r = _param(v["time_maa_k"]), _param(v["time_maa_r"])
        self.key, self.receptance = _linear(v, "key"), _linear(v, "receptance")
        self.value = _linear(v, "value")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xx = _shift(x) - x
        k = torch.relu(self.key(x + xx * self.time_maa_k)).square()
        return torch.sigmoid(self.receptance(x + xx * self.time_maa_r)) * self.value(k)


NATIVE: dict[str, Callable[[Any], nn.Module]] = {
    "mamba": Mamba,
    "mamba-loop": lambda layer: Mamba(layer, loop=True),
    "rwkv6-time-mixer": RWKV6TimeMix,
    "rwkv6-time-mixer-loop": lambda layer: RWKV6TimeMix(layer, loop=True),
    "rwkv6-channel-mixer": RWKV6ChannelMix,
}


def _loops(lengths: list[int], batch: int, dim: int, repeats: int) -> None:
    """The loop variants against the scans and ember-torch, forward + backward, one thread."""
    import mixers
    from _timing import median_pair, prepare

    prepare("torch", "cpu")
    print("| mixer | length | native scan ms | native loop ms | ember-torch ms | "
          "ember / scan | ember / loop |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in ("mamba", "rwkv6-time-mixer"):
        for length in lengths:
            x, g = mixers._inputs(batch, length, dim)
            e_step, e_out, layer = mixers.ember_step("torch", name, x, g, length)
            s_step, s_out = mixers.native_step(name, layer, x, g)
            l_step, l_out = _step(NATIVE[f"{name}-loop"](layer), x, g)
            want = e_out()
            mixers.check(name, length, want, s_out())
            mixers.check(f"{name}-loop", length, want, l_out())
            ts, tl = median_pair(s_step, l_step, repeats)
            te = median_pair(e_step, e_step, repeats)[0]
            print(f"| {name} | {length} | {ts * 1e3:.1f} | {tl * 1e3:.1f} | {te * 1e3:.1f} | "
                  f"{te / ts:.2f} | {te / tl:.2f} |", flush=True)


def _step(module: nn.Module, x: np.ndarray, g: np.ndarray
          ) -> tuple[Callable[[], Any], Callable[[], np.ndarray]]:
    params = [p for p in module.parameters() if p.requires_grad]
    xt = torch.tensor(x, requires_grad=True)
    gt = torch.tensor(g)

    def step() -> Any:
        return torch.autograd.grad((module(xt) * gt).sum(), [xt, *params])

    def out() -> np.ndarray:
        with torch.no_grad():
            return module(xt).numpy()

    return step, out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="the loop variants of mamba and rwkv6-time-mixer")
    ap.add_argument("--lengths", default="64,256")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    _loops([int(s) for s in a.lengths.split(",")], a.batch, a.dim, a.repeats)
