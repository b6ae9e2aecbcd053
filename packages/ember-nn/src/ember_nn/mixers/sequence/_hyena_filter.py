"""Hyena's implicit long filter (``HyenaFilter``) and the parsing of MAD-Lab's
``long_conv_cfg``, which configures it."""

from __future__ import annotations

import itertools
import math
from typing import Any

import ember

from ..._core._errors import ConfigError
from ..._core._module import Module
from ..._core._random import next_key
from ...layers._support import brief_repr, layer_dtype, new_variable, positive_int
from .._torch_init import torch_linear

__all__ = ["HyenaFilter", "parse_long_conv_cfg", "positional_features"]


def positional_features(seq_len: int, emb_dim: int, length: int,
                        dtype: ember.DType = ember.float32) -> ember.Tensor:
    """The first ``length`` rows ``(length, emb_dim)`` of MAD-Lab's complex exponential
    features for filters of ``seq_len`` taps: ``[t_j, cos(f_b w_j)..., -sin(f_b w_j)...]``,
    with ``t_j = j / (seq_len - 1)``, ``w_j = 2 pi j / seq_len`` and ``B = (emb_dim - 1) / 2``
    frequencies ``f_b`` evenly spaced in ``[1e-4, B - 1]`` (``[1e-4]`` for ``B = 1``): the
    real and imaginary parts of ``exp(-i f_b w_j)`` beside the normalised time."""
    bands = (emb_dim - 1) // 2
    step = 0.0 if bands == 1 else (bands - 1 - 1e-4) / (bands - 1)
    freqs = ember.asarray([1e-4 + b * step for b in range(bands)], dtype=dtype)
    j = ember.arange(length, dtype=dtype)
    t = j / max(seq_len - 1, 1)
    fw = (j * (2 * math.pi / seq_len))[:, None] * freqs[None, :]
    return ember.concat([t[:, None], ember.cos(fw), -ember.sin(fw)], axis=1)


class HyenaFilter(Module):
    """Hyena's implicit long filter (Poli et al. 2023), as MAD-Lab's ``HyenaFilter``: ``d_model``
    channels of up to ``seq_len`` taps, each tap a function of its position::

        z_j = positional features of tap j                   (emb_dim: t_j, cos, -sin)
        a   = sin(freq * (z_j A_0 + b_0))                     (order wide)
        a   = sin(freq * (a A_i + b_i))                       i = 1 .. depth_implicit
        h_j = (a A_out) * (exp(-t_j |deltas|) + shift)        (d_model wide; no bias)

    ``freq`` is one vector shared by every sine (MAD-Lab's single ``Sin`` module), starting at
    ``w``; ``deltas`` spread evenly from ``ln(target) / slow_decay_pct`` to ``ln(target) /
    fast_decay_pct`` over the channels (each channel decays to ``target`` at its own point of
    the window); ``modulate=False`` leaves the decay out. ``z`` is a variable (``pos_emb``,
    ``(seq_len, emb_dim)``), trainable as in MAD-Lab, whose optimiser trains it with the global
    learning rate (``train_pos_emb=False`` keeps it fixed); ``deltas`` is fixed unless
    ``train_deltas`` (MAD-Lab: ``modulation_lr != 0``). Linear layers start as torch's.

    ``filter(length)`` returns the first ``length`` taps ``(length, d_model)``, ``length <=
    seq_len``; tap ``j`` does not depend on ``length``, so a prefix is the filter of a shorter
    sequence. Cost O(length · order · (order · depth_implicit + d_model)).

    >>> h = HyenaFilter(4, seq_len=16, order=8, key=0)
    >>> h(5).shape
    (5, 4)
    """

    def __init__(self, d_model: int, *, seq_len: int = 1024, emb_dim: int = 3, order: int = 16,
                 w: float = 1.0, depth_implicit: int = 2, modulate: bool = True,
                 fast_decay_pct: float = 0.3, slow_decay_pct: float = 1.5, target: float = 1e-2,
                 shift: float = 0.0, train_pos_emb: bool = True, train_deltas: bool = False,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        name = "HyenaFilter"
        self.d_model = positive_int(name, "d_model", d_model)
        self.seq_len = positive_int(name, "seq_len", seq_len)
        self.emb_dim = positive_int(name, "emb_dim", emb_dim)
        if emb_dim < 3 or emb_dim % 2 == 0:
            raise ConfigError(f"{name}: emb_dim must be odd and >= 3 (time, then cosines and "
                              f"sines of (emb_dim - 1) / 2 frequencies), got {emb_dim}")
        self.order = positive_int(name, "order", order)
        if isinstance(depth_implicit, bool) or not isinstance(depth_implicit, int) or \
                depth_implicit < 0:
            raise ConfigError(f"{name}: depth_implicit must be an int >= 0 (hidden layers of the "
                              f"filter's MLP), got {depth_implicit!r}")
        for flag, choice in (("modulate", modulate), ("train_pos_emb", train_pos_emb),
                             ("train_deltas", train_deltas)):
            if not isinstance(choice, bool):
                raise ConfigError(f"{name}: {flag} must be True or False, got {choice!r}")
        numbers = {"w": w, "fast_decay_pct": fast_decay_pct, "slow_decay_pct": slow_decay_pct,
                   "target": target, "shift": shift}
        for arg, value in numbers.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or \
                    not math.isfinite(value):
                raise ConfigError(f"{name}: {arg} must be a finite number, got {value!r}")
        for arg in ("fast_decay_pct", "slow_decay_pct", "target"):
            if not numbers[arg] > 0:
                raise ConfigError(f"{name}: {arg} must be > 0, got {numbers[arg]!r}")
        self.modulate, self.shift = modulate, float(shift)
        d = layer_dtype(name, dtype)
        base = next_key(key)
        sizes = [emb_dim] + [order] * (depth_implicit + 1)
        self.mlp = [torch_linear(a, b, bias=True, dtype=dtype, key=ember.random.fold_in(base, i))
                    for i, (a, b) in enumerate(itertools.pairwise(sizes))]
        self.mlp.append(torch_linear(order, d_model, bias=False, dtype=dtype,
                                    key=ember.random.fold_in(base, len(sizes))))
        self.freq = new_variable(name, lambda k, s, dt: ember.full(s, float(w), dtype=dt), None,
                                 (order,), d, "freq")
        self.pos_emb = new_variable(
            name, lambda k, s, dt: positional_features(seq_len, emb_dim, seq_len, dt), None,
            (seq_len, emb_dim), d, "pos_emb", trainable=train_pos_emb)
        lo, hi = math.log(target) / slow_decay_pct, math.log(target) / fast_decay_pct
        self.deltas = new_variable(name, lambda k, s, dt: ember.linspace(lo, hi, d_model, dtype=dt),
                                   None, (d_model,), d, "deltas", trainable=train_deltas)

    def forward(self, length: int) -> ember.Tensor:
        if isinstance(length, bool) or not isinstance(length, int) or \
                not 1 <= length <= self.seq_len:
            raise ember.ShapeError(f"HyenaFilter: length must be an int in [1, seq_len="
                                   f"{self.seq_len}], got {length!r}; build the layer with a "
                                   f"larger max_length for longer sequences")
        h = self.pos_emb[:length]
        for layer in self.mlp[:-1]:
            h = ember.sin(self.freq * layer(h))
        h = self.mlp[-1](h)
        if self.modulate:
            t = ember.arange(length, dtype=h.dtype, backend=h.backend, device=h.device)
            t = t / max(self.seq_len - 1, 1)
            h = h * (ember.exp(-t[:, None] * ember.abs(self.deltas)) + self.shift)
        return h

    def extra_repr(self) -> str:
        return brief_repr(self)


#: MAD-Lab's HyenaFilter arguments ember builds (the others of FILTER_IGNORED are optimiser
#: hints MAD-Lab's AdamW never reads)
_FILTER_ARGS = ("emb_dim", "order", "w", "depth_implicit", "modulate", "fast_decay_pct",
                "slow_decay_pct", "target", "shift")
_FILTER_IGNORED = ("lr", "wd")


def parse_long_conv_cfg(layer: str, cfg: Any, default: dict[str, Any], *,
                        num_heads: int | None = None) -> tuple[bool, dict[str, Any]]:
    """``(bias, HyenaFilter keyword arguments)`` from MAD-Lab's ``long_conv_cfg`` (``default``
    where None): ``{"bias": True, "filter_cls": "implicit", "filter_cfg": {...}}``, plus
    ``num_heads`` for the multi-head layer (which must equal the layer's). Unknown keys and
    what ember does not build (the ``rtf`` filter, ``nested`` or ``normalized`` filters) are a
    ConfigError naming them."""
    cfg = default if cfg is None else cfg
    if not isinstance(cfg, dict):
        raise ConfigError(f"{layer}: long_conv_cfg must be a dict like {default!r} or None, got "
                          f"{cfg!r}")
    known = {"bias", "filter_cls", "filter_cfg"} | ({"num_heads"} if num_heads else set())
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ConfigError(f"{layer}: unknown long_conv_cfg keys {unknown}; known: {sorted(known)}")
    bias = cfg.get("bias", True)
    if not isinstance(bias, bool):
        raise ConfigError(f"{layer}: long_conv_cfg['bias'] must be True or False, got {bias!r}")
    if num_heads is not None and cfg.get("num_heads", num_heads) != num_heads:
        raise ConfigError(f"{layer}: long_conv_cfg['num_heads'] {cfg['num_heads']!r} must equal "
                          f"num_heads {num_heads} (MAD-Lab's shapes only agree then)")
    if cfg.get("filter_cls", "implicit") != "implicit":
        raise ConfigError(f"{layer}: long_conv_cfg['filter_cls'] {cfg['filter_cls']!r} is not "
                          f"built by ember; use 'implicit' (Hyena's MLP filter)")
    fcfg = cfg.get("filter_cfg") or {}
    if not isinstance(fcfg, dict):
        raise ConfigError(f"{layer}: long_conv_cfg['filter_cfg'] must be a dict, got {fcfg!r}")
    for flag in ("nested", "normalized"):
        if fcfg.get(flag, False) is not False:
            raise ConfigError(f"{layer}: filter_cfg {flag}={fcfg[flag]!r} is not built by "
                              f"ember; leave it False (MAD-Lab's default)")
    placed = {"d_model", "seq_len"} & set(fcfg)
    if placed:
        raise ConfigError(f"{layer}: filter_cfg {sorted(placed)} are set by the layer (its "
                          f"width and max_length); leave them out")
    allowed = {*_FILTER_ARGS, *_FILTER_IGNORED, "nested", "normalized", "lr_pos_emb",
               "modulation_lr"}
    unknown = sorted(set(fcfg) - allowed)
    if unknown:
        raise ConfigError(f"{layer}: unknown filter_cfg keys {unknown}; known: {sorted(allowed)}")
    kwargs = {k: fcfg[k] for k in _FILTER_ARGS if k in fcfg}
    # MAD-Lab registers a tensor as a buffer when its learning rate is 0, else as a parameter
    kwargs["train_pos_emb"] = fcfg.get("lr_pos_emb", 1e-5) != 0
    kwargs["train_deltas"] = fcfg.get("modulation_lr", 0.0) != 0
    return bias, kwargs
