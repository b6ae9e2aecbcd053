"""``MultiHeadHyena``: multi-head Hyena (``mh-hyena``), MAD-Lab's ``MultiHeadHyenaOperator``
with its arguments and defaults."""

from __future__ import annotations

from typing import Any

import ember

from ..._core._errors import ConfigError
from ..._core._random import next_key
from ...layers._support import positive_int
from .._base import check_sequence, check_step
from .._torch_init import torch_linear
from ._fft_conv import causal_conv_last, fft_conv
from ._hyena_core import HyenaCore, identity_only

__all__ = ["MultiHeadHyena"]


class MultiHeadHyena(HyenaCore):
    """Multi-head Hyena, as MAD-Lab's ``MultiHeadHyenaOperator`` (``mh-hyena``; Massaroli et
    al. 2023, "Laughing Hyena Distillery", after Poli et al. 2023), on ``(batch, length,
    dim)``; causal; order 2 only. With ``D = inner_factor * dim``, ``H = num_heads`` and ``P =
    D / H`` groups (channel ``c = g H + i`` is entry ``i`` of group ``g``)::

        q, k, v = split(shortconv(tile(x W_in + b_in, proj_groups)))  (MAD-Lab's x1, x2, v)
        S[t, g, i, j] = sum_{s<=t} h_g[t-s] v[s,g,i] k[s,g,j] + bias_g v[t,g,i] k[t,g,j]
        y[t, g, j] = sum_i q[t, g, i] S[t, g, i, j]
        out = y W_out + b_out

    Each group carries an ``H x H`` outer-product state, filtered in time by its own long
    filter ``h_g`` (``P`` channels of one ``HyenaFilter``), then read out by ``q``: linear
    attention with a long convolution in place of the running sum. Note MAD-Lab's naming:
    ``num_heads`` is the size ``H`` of each outer product, and there are ``P = D / H`` filters
    (``mh-hyena``'s 16 heads at dim 128 give 8 groups of 16 x 16).

    Arguments (MAD-Lab's ``mh-hyena`` defaults): ``dim``; ``max_length=1280``; ``order=2``
    (only 2); ``num_heads=16`` (must divide ``D``); ``inner_factor=1``; ``proj_groups=4`` (the
    HyenaOperator default MAD-Lab's multi-head operator inherits); ``num_blocks=1`` (only 1);
    ``short_filter_order=3``; ``long_conv_cfg`` (None: ``{"num_heads": num_heads, "bias":
    True, "filter_cls": "implicit", "filter_cfg": {"order": 2}}``; see ``Hyena``);
    ``dropout=0.0`` (only 0: MAD-Lab's multi-head operator never applies it);
    ``activation='id'`` (only the identity, as in ``Hyena``); ``fused_bias_fc``,
    ``outer_mixing``, ``post_order_ffn`` (False only); ``dtype``; ``key``.

    Variables: as ``Hyena``'s, with a long filter and ``long_conv_bias`` of ``P`` channels.

    Cost: O(B L D H log L) time and O(B L D H) memory for the filtered outer products (as
    MAD-Lab's ``fftconv_heads``); sub-quadratic in L. Where ``fft_conv``'s ``method="auto"``
    rule finds its ``H`` filters shared widely enough (``B H²`` signals each; every MAD
    setting), it takes the Toeplitz product instead, O(B L² D H) in one dense matrix product
    per filter: 0.56x MAD-Lab's FFT formulation at L = 256 on the CPU, 0.57x of the FFTs on an
    H100 (docs/benchmarks.md). ``step`` decodes position ``t`` in O(t D) from the short filter's
    window and the ``v`` and ``k`` seen so far (the state grows by ``2 B D`` values per
    position), using ``sum_i q_i S_ij = sum_s h[t-s] (q_t . v_s) k_s[j]``.

    >>> mixer = MultiHeadHyena(8, num_heads=4, max_length=16, key=0)
    >>> y = mixer(ember.ones((2, 5, 8)))
    >>> y.shape, round(float(y[0, -1, 0]), 4)
    ((2, 5, 8), 0.0184)
    >>> y_t, state = mixer.step(ember.ones((2, 8)), mixer.init_state(2))
    >>> float(ember.max(ember.abs(y_t - y[:, 0]))) < 1e-6, state["v"].shape
    (True, (2, 1, 8))
    """

    filter_order = 2

    def __init__(self, dim: int, *, max_length: int = 1280, order: int = 2,
                 num_heads: int = 16, inner_factor: int = 1, proj_groups: int = 4,
                 num_blocks: int = 1, short_filter_order: int = 3,
                 long_conv_cfg: dict[str, Any] | None = None, dropout: float = 0.0,
                 activation: str | None = "id", fused_bias_fc: bool = False,
                 outer_mixing: bool = False, post_order_ffn: bool = False,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        name = "MultiHeadHyena"
        dim = positive_int(name, "dim", dim)
        if positive_int(name, "order", order) != 2:
            raise ConfigError(f"{name}: order must be 2 (MAD-Lab's multi-head operator splits "
                              f"three streams), got {order}; use Hyena for other orders")
        heads = positive_int(name, "num_heads", num_heads)
        inner = positive_int(name, "inner_factor", inner_factor) * dim
        if inner % heads:
            raise ConfigError(f"{name}: num_heads={heads} must divide inner_factor * dim = "
                              f"{inner}")
        self.num_heads, self.groups = heads, inner // heads
        self.proj_groups = positive_int(name, "proj_groups", proj_groups)
        if 3 * inner % proj_groups:
            raise ConfigError(f"{name}: proj_groups={proj_groups} must divide 3 * inner_factor "
                              f"* dim = {3 * inner}")
        self._check_options(num_blocks=num_blocks, fused_bias_fc=fused_bias_fc,
                            outer_mixing=outer_mixing, post_order_ffn=post_order_ffn,
                            dropout=dropout)
        if dropout:
            raise ConfigError(f"{name}: dropout={dropout} is never applied by MAD-Lab's "
                              f"multi-head operator; use 0")
        identity_only(name, activation)
        base = next_key(key)
        # one long filter channel per group
        self._build(dim=dim, width=inner, streams=3, order=2, filter_width=self.groups,
                    max_length=max_length, short_filter_order=short_filter_order,
                    long_conv_cfg=long_conv_cfg, dropout=0.0, dtype=dtype, base=base,
                    num_heads=heads)
        self.in_proj = torch_linear(dim, 3 * inner // proj_groups, bias=True, dtype=dtype,
                                   key=ember.random.fold_in(base, 0))
        self.out_proj = torch_linear(inner, dim, bias=True, dtype=dtype,
                                    key=ember.random.fold_in(base, 1))

    def forward(self, x: Any) -> ember.Tensor:
        x = check_sequence("MultiHeadHyena", x, self.dim)
        self._check_length(x)
        q, k, v = self._split(self._short(self._project(x)), 3)
        b, n = x.shape[:2]
        p, h = self.groups, self.num_heads

        def heads(a: ember.Tensor) -> ember.Tensor:  # (b, n, D) -> (b, p, h, n), time last
            return ember.moveaxis(ember.reshape(a, (b, n, p, h)), 1, -1)

        kv = heads(v)[:, :, :, None, :] * heads(k)[:, :, None, :, :]   # (b, p, i, j, n)
        taps = ember.permute_dims(self.filter(n), (1, 0))[:, None, None, :]
        bias = None if self.long_conv_bias is None else \
            ember.reshape(self.long_conv_bias, (p, 1, 1, 1))
        s = fft_conv(kv, taps, bias, axis=-1)
        y = ember.sum(s * heads(q)[:, :, :, None, :], axis=2)             # (b, p, j, n)
        return self.out_proj(ember.reshape(ember.moveaxis(y, -1, 1), (b, n, p * h)))

    def init_state(self, batch: int, dtype: Any = None) -> dict[str, Any]:
        """``{"window"``: the last projected inputs ``(batch, short_filter_order - 1, 3 D)``,
        ``"v"``, ``"k"``: the streams seen so far, empty ``(batch, 0, D)``, ``"filter"``: the
        long filter ``(max_length, P)``}."""
        window = self._window(batch, dtype)
        empty = self._zeros((window.shape[0], 0, self.width), dtype)
        return {"window": window, "filter": self.filter(self.max_length), "v": empty,
                "k": empty}

    def step(self, x_t: Any, state: Any) -> tuple[ember.Tensor, dict[str, Any]]:
        x_t = check_step("MultiHeadHyena", x_t, self.dim)
        self._position(state, x_t.shape[0], ("v", "k"))
        u, window = self._short_step(state["window"], self._project(x_t))
        q, k, v = self._split(u, 3)
        vs = ember.concat([state["v"], v[:, None, :]], axis=1)
        ks = ember.concat([state["k"], k[:, None, :]], axis=1)
        b, n = vs.shape[:2]
        p, h = self.groups, self.num_heads
        qv = ember.sum(ember.reshape(q, (b, 1, p, h)) * ember.reshape(vs, (b, n, p, h)),
                       axis=-1, keepdims=True)                   # (b, n, p, 1): q_t . v_s
        bias = None if self.long_conv_bias is None else self.long_conv_bias[:, None]
        y = causal_conv_last(qv * ember.reshape(ks, (b, n, p, h)),
                             state["filter"][:n, :, None], bias, axis=-3)
        out = self.out_proj(ember.reshape(y, (b, p * h)))
        return out, {"window": window, "filter": state["filter"], "v": vs, "k": ks}
