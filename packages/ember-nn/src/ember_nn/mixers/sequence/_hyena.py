"""``Hyena``: Hyena's long-convolution sequence mixer (Poli et al. 2023), with MAD-Lab's
arguments and defaults (``hyena``)."""

from __future__ import annotations

from typing import Any

import ember

from ..._core._errors import ConfigError
from ..._core._random import next_key
from ...layers._support import positive_int
from .._base import check_sequence, check_step
from .._torch_init import torch_linear
from ._hyena_core import HyenaCore, identity_only

__all__ = ["Hyena"]


class Hyena(HyenaCore):
    """The Hyena operator (Poli et al. 2023, "Hyena Hierarchy: Towards Larger Convolutional
    Language Models"), as MAD-Lab's ``HyenaOperator`` (``hyena``), on ``(batch, length, dim)``;
    causal. With ``D = inner_factor * dim`` and ``N = order``::

        p = tile(x W_in + b_in, proj_groups)          ((N+1) D / proj_groups wide, tiled)
        x_0, ..., x_{N-1}, v = split(shortconv(p))    (causal depthwise, short_filter_order taps)
        z_1 = v
        z_{n+1} = h_n * (z_n . x_{N-n}) + bias_n . (z_n . x_{N-n})   n = 1 .. N-1
        y = (z_N . x_0) W_out + b_out

    ``h_n * u`` is a causal convolution as long as the sequence (``fft_conv``: FFTs of size
    2L, or the Toeplitz product where its ``method="auto"`` rule finds each filter shared
    widely enough); the filters ``h_n`` (``D`` channels each) come from one ``HyenaFilter``:
    positional features of each tap through a small MLP with sine activations, times an
    exponential decay; ``bias_n`` is a per-channel skip (MAD-Lab's ``long_conv.bias``, its fftconv's
    ``D``). ``proj_groups`` ties the projection: ``W_in`` computes ``(N+1) D / proj_groups``
    channels and the streams read them ``proj_groups`` times over (MAD-Lab's ``repeat``).
    ``order`` counts as in MAD-Lab's (and the reference safari-hyena) code, not as in the
    paper: ``N`` gates and ``N - 1`` long convolutions, the first gate applied to ``v`` before
    any convolution, where the paper's order-N recurrence ``z^{n+1} = x^n . (h^n * z^n)``
    convolves ``N`` times. Order 2, MAD-Lab's (whose HyenaOperator runs no other), is
    ``y = (x_0 . (h * (x_1 . v) + bias . x_1 . v)) W_out + b_out``.

    Arguments (MAD-Lab's ``hyena`` config and defaults): ``dim``; ``max_length=1280`` (the
    long filter's taps: the longest sequence; MAD-Lab's model default); ``order=2``;
    ``num_heads=1`` (only 1: MAD-Lab's HyenaOperator fails otherwise; see
    ``MultiHeadHyena``); ``inner_factor=4``; ``proj_groups=4``; ``num_blocks=1`` (only 1);
    ``short_filter_order=3``; ``long_conv_cfg`` (None: ``{"bias": True, "filter_cls":
    "implicit", "filter_cfg": {"order": 4}}``; ``filter_cfg`` takes HyenaFilter's arguments
    ``emb_dim``, ``order`` (the MLP's width), ``w``, ``depth_implicit``, ``modulate``,
    ``fast_decay_pct``, ``slow_decay_pct``, ``target``, ``shift``, and ``lr_pos_emb`` /
    ``modulation_lr`` (0 freezes the positional features / decay rates); ``lr`` and ``wd``
    are ignored, as MAD-Lab's optimiser ignores them); ``dropout=0.0`` (on each ``z_n .
    x_{N-n}`` while training); ``activation='id'`` (only the identity: MAD-Lab never applies
    it); ``nested=True`` (ignored, as MAD-Lab's HyenaConv ignores it); ``fused_bias_fc``,
    ``outer_mixing``, ``post_order_ffn`` (False only: a ConfigError otherwise); ``dtype``;
    ``key``. Weights start as MAD-Lab's (torch's ``nn.Linear``/``nn.Conv1d``; ``bias``
    standard normal).

    Variables: ``in_proj`` ``(dim, (N+1) D / proj_groups)``, ``short_filter_weight`` ``((N+1)
    D, short_filter_order, 1)`` (``ember.nn.conv1d``'s layout of torch's ``(C, 1, K)``),
    ``short_filter_bias``, ``filter`` (``pos_emb``, ``freq``, ``mlp.*``, ``deltas``; output
    channel ``c`` is order ``c % (N-1)`` of channel ``c // (N-1)``), ``long_conv_bias`` ``(D
    (N-1),)`` (same layout), ``out_proj`` ``(D, dim)``.

    Cost: O(B L D ((N+1) dim + (N-1) log L)) time, O(B L D N) memory: sub-quadratic in L.
    There is no fixed-size state, but ``step`` decodes causally by keeping every input of
    each long convolution: position ``t`` costs O(t D (N-1)) time and the state grows by
    ``B D (N-1)`` values per position (plus the filter, computed once by ``init_state``, and
    the last ``short_filter_order - 1`` projected inputs). ``step`` runs without dropout.

    >>> mixer = Hyena(8, max_length=16, key=0)
    >>> y = mixer(ember.ones((2, 5, 8)))
    >>> y.shape, round(float(y[0, -1, 0]), 4)
    ((2, 5, 8), -0.0298)
    >>> y_t, state = mixer.step(ember.ones((2, 8)), mixer.init_state(2))
    >>> float(ember.max(ember.abs(y_t - y[:, 0]))) < 1e-6, [h.shape for h in state["inputs"]]
    (True, [(2, 1, 32)])
    """

    filter_order = 4

    def __init__(self, dim: int, *, max_length: int = 1280, order: int = 2, num_heads: int = 1,
                 inner_factor: int = 4, proj_groups: int = 4, num_blocks: int = 1,
                 short_filter_order: int = 3, long_conv_cfg: dict[str, Any] | None = None,
                 dropout: float = 0.0, activation: str | None = "id", nested: bool = True,
                 fused_bias_fc: bool = False, outer_mixing: bool = False,
                 post_order_ffn: bool = False, dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        name = "Hyena"
        dim = positive_int(name, "dim", dim)
        order = positive_int(name, "order", order)
        if order < 2:
            raise ConfigError(f"{name}: order must be >= 2 (order + 1 streams, order - 1 long "
                              f"convolutions), got {order}")
        if positive_int(name, "num_heads", num_heads) != 1:
            raise ConfigError(f"{name}: num_heads must be 1 (MAD-Lab's HyenaOperator fails "
                              f"otherwise); use MultiHeadHyena for heads")
        inner = positive_int(name, "inner_factor", inner_factor) * dim
        self.proj_groups = positive_int(name, "proj_groups", proj_groups)
        if inner * (order + 1) % proj_groups:
            raise ConfigError(f"{name}: proj_groups={proj_groups} must divide (order + 1) * "
                              f"inner_factor * dim = {inner * (order + 1)}")
        if not isinstance(nested, bool):
            raise ConfigError(f"{name}: nested must be True or False, got {nested!r}")
        self._check_options(num_blocks=num_blocks, fused_bias_fc=fused_bias_fc,
                            outer_mixing=outer_mixing, post_order_ffn=post_order_ffn,
                            dropout=dropout)
        identity_only(name, activation)
        base = next_key(key)
        self._build(dim=dim, width=inner, streams=order + 1, order=order,
                    filter_width=inner * (order - 1), max_length=max_length,
                    short_filter_order=short_filter_order, long_conv_cfg=long_conv_cfg,
                    dropout=dropout, dtype=dtype, base=base)
        self.in_proj = torch_linear(dim, inner * (order + 1) // proj_groups, bias=True,
                                   dtype=dtype, key=ember.random.fold_in(base, 0))
        self.out_proj = torch_linear(inner, dim, bias=True, dtype=dtype,
                                    key=ember.random.fold_in(base, 1))

    def forward(self, x: Any) -> ember.Tensor:
        x = check_sequence("Hyena", x, self.dim)
        self._check_length(x)
        *gates, v = self._split(self._short(self._project(x)), self.order + 1)
        return self.out_proj(self._recurrence(gates, v))

    def init_state(self, batch: int, dtype: Any = None) -> dict[str, Any]:
        """``{"window": (batch, short_filter_order - 1, (N+1) D)`` zeros (the last projected
        inputs, oldest first), ``"inputs"``: N-1 empty ``(batch, 0, D)`` (each long
        convolution's inputs so far), ``"filter"``: the long filter ``(max_length, D, N-1)``}."""
        return self._order_state(batch, dtype)

    def step(self, x_t: Any, state: Any) -> tuple[ember.Tensor, dict[str, Any]]:
        x_t = check_step("Hyena", x_t, self.dim)
        y, state = self._order_step(x_t, state)
        return self.out_proj(y), state
