"""``Hyena`` and ``MultiHeadHyena``: Hyena's long-convolution sequence mixers (Poli et al. 2023),
with MAD-Lab's arguments and defaults (``hyena``, ``mh-hyena``); ``_HyenaCore`` holds what
they and ``HyenaExperts`` share (short filter, implicit long filter, the order recurrence)."""

from __future__ import annotations

import math
from typing import Any

import ember

from ..._core._errors import ConfigError
from ..._core._random import next_key
from ...layers._dense import Dense
from ...layers._dropout import Dropout
from ...layers._support import brief_repr, layer_dtype, new_variable, positive_int
from .._base import SequenceMixer, check_sequence, check_step
from .._torch_init import torch_linear, uniform_init
from ._fft_conv import causal_conv_last, fft_conv
from ._hyena_filter import HyenaFilter, parse_long_conv_cfg

__all__ = ["Hyena", "MultiHeadHyena"]

IDENTITY = ("id", "identity", "linear", None)


class _HyenaCore(SequenceMixer):
    """The parts of a Hyena operator (not a layer of its own): MAD-Lab's argument checks, the
    short causal depthwise filter, the implicit long filter with its skip ``bias``, and the
    order recurrence in full-sequence and one-position form."""

    causal = True
    #: MAD-Lab's ``filter_cfg`` default of each layer (configs/layers/*.yml)
    filter_order = 16
    #: how many times the streams read the input projection over (``Hyena``'s tying)
    proj_groups = 1
    in_proj: Dense

    def _check_options(self, *, num_blocks: Any, fused_bias_fc: Any, outer_mixing: Any,
                       post_order_ffn: Any, dropout: Any) -> None:
        name = type(self).__name__
        positive_int(name, "num_blocks", num_blocks)
        if num_blocks != 1:
            raise ConfigError(f"{name}: num_blocks={num_blocks} (MAD-Lab's blocked long "
                              f"convolution) is not built by ember; use 1 (the default)")
        notes = {"fused_bias_fc": "a CUDA kernel of flash-attn; False is the same math",
                 "outer_mixing": "not built by ember",
                 "post_order_ffn": "not built by ember (MAD-Lab's own code fails with it)"}
        for flag, value in (("fused_bias_fc", fused_bias_fc), ("outer_mixing", outer_mixing),
                            ("post_order_ffn", post_order_ffn)):
            if not isinstance(value, bool):
                raise ConfigError(f"{name}: {flag} must be True or False, got {value!r}")
            if value:
                raise ConfigError(f"{name}: {flag}=True is {notes[flag]}; use False (MAD-Lab's "
                                  f"default)")
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) or \
                not 0.0 <= dropout < 1.0:
            raise ConfigError(f"{name}: dropout must be a number in [0, 1), got {dropout!r}")

    def _build(self, *, dim: int, width: int, streams: int, order: int, filter_width: int,
               max_length: int, short_filter_order: int, long_conv_cfg: Any, dropout: float,
               dtype: Any, base: Any, num_heads: int | None = None) -> None:
        """The short filter over ``streams * width`` channels and the long filter of
        ``filter_width`` channels (Hyena's ``width * (order - 1)``: channel ``c`` is order
        ``c % (order - 1)`` of channel ``c // (order - 1)``)."""
        name = type(self).__name__
        self.dim = dim
        self.order = order
        self.max_length = positive_int(name, "max_length", max_length)
        self.short_filter_order = positive_int(name, "short_filter_order", short_filter_order)
        self.width = width
        d = layer_dtype(name, dtype)
        default = {"bias": True, "filter_cls": "implicit",
                   "filter_cfg": {"order": self.filter_order}}
        use_bias, filter_kwargs = parse_long_conv_cfg(name, long_conv_cfg, default,
                                                      num_heads=num_heads)
        channels, taps = streams * width, short_filter_order
        bound = 1.0 / math.sqrt(taps)  # torch's nn.Conv1d: fan_in = taps for a depthwise filter
        self.short_filter_weight = new_variable(name, uniform_init(bound), ember.random.fold_in(
            base, 10), (channels, taps, 1), d, "short_filter_weight")
        self.short_filter_bias = new_variable(name, uniform_init(bound), ember.random.fold_in(
            base, 11), (channels,), d, "short_filter_bias")
        self.filter = HyenaFilter(filter_width, seq_len=max_length, dtype=dtype,
                                  key=ember.random.fold_in(base, 12), **filter_kwargs)
        self.long_conv_bias = new_variable(
            name, lambda k, s, dt: ember.random.normal(k, s, dt), ember.random.fold_in(base, 13),
            (filter_width,), d, "long_conv_bias") if use_bias else None
        self.dropout = Dropout(dropout, key=ember.random.fold_in(base, 14)) if dropout else None

    # -- pieces --------------------------------------------------------------------------------
    def _project(self, x: ember.Tensor) -> ember.Tensor:
        p: ember.Tensor = self.in_proj(x)
        if self.proj_groups > 1:
            p = ember.tile(p, (1,) * (p.ndim - 1) + (self.proj_groups,))
        return p

    def _check_length(self, x: ember.Tensor) -> None:
        if x.shape[1] > self.max_length:
            raise ember.ShapeError(f"{type(self).__name__}: sequence of length {x.shape[1]} is "
                                   f"longer than max_length={self.max_length} (the long "
                                   f"filter's taps); build the layer with a larger max_length")

    def _short(self, p: ember.Tensor) -> ember.Tensor:
        """The causal depthwise convolution (``short_filter_order`` taps) of ``p`` ``(batch,
        length, channels)``."""
        return ember.nn.conv1d(p, self.short_filter_weight, self.short_filter_bias,
                               padding=((self.short_filter_order - 1, 0),),
                               groups=self.short_filter_weight.shape[0])

    def _short_step(self, window: ember.Tensor, p_t: ember.Tensor
                    ) -> tuple[ember.Tensor, ember.Tensor]:
        """One position of ``_short``: ``window`` holds the previous ``short_filter_order - 1``
        inputs ``(batch, taps - 1, channels)``."""
        full = ember.concat([window, p_t[:, None, :]], axis=1)
        w = ember.permute_dims(self.short_filter_weight[..., 0], (1, 0))
        return ember.sum(full * w, axis=1) + self.short_filter_bias, full[:, 1:]

    def _split(self, u: ember.Tensor, count: int) -> list[ember.Tensor]:
        n = self.width
        return [u[..., i * n:(i + 1) * n] for i in range(count)]

    def _long_taps(self, length: int) -> tuple[ember.Tensor, ember.Tensor | None]:
        """The long filter ``(length, width, order - 1)`` and its bias ``(width, order - 1)``."""
        k = ember.reshape(self.filter(length), (length, self.width, self.order - 1))
        b = self.long_conv_bias
        return k, None if b is None else ember.reshape(b, (self.width, self.order - 1))

    def _recurrence(self, gates: list[ember.Tensor], v: ember.Tensor) -> ember.Tensor:
        """``gates`` x_0..x_{N-1} and ``v`` ``(batch, length, width)`` -> ``x_0 . z_N``."""
        k, b = self._long_taps(v.shape[1])
        n = self.order
        for o in range(n - 1):
            v = v * gates[n - 1 - o]
            if self.dropout is not None:
                v = self.dropout(v)
            v = fft_conv(v, k[..., o], None if b is None else b[:, o])
        return v * gates[0]

    def _recurrence_step(self, gates: list[ember.Tensor], v: ember.Tensor,
                         state: dict[str, Any]) -> tuple[ember.Tensor, tuple[ember.Tensor, ...]]:
        """One position of ``_recurrence`` from the inputs each long convolution has seen."""
        k, bias = state["filter"], self.long_conv_bias
        b = None if bias is None else ember.reshape(bias, (self.width, self.order - 1))
        seen = []
        n = self.order
        for o in range(n - 1):
            inputs = ember.concat([state["inputs"][o], (v * gates[n - 1 - o])[:, None, :]],
                                  axis=1)
            seen.append(inputs)
            v = causal_conv_last(inputs, k[:inputs.shape[1], :, o],
                                 None if b is None else b[:, o])
        return v * gates[0], tuple(seen)

    def _order_state(self, batch: int, dtype: Any) -> dict[str, Any]:
        window = self._window(batch, dtype)
        return {"window": window, "filter": self._long_taps(self.max_length)[0],
                "inputs": tuple(self._zeros((window.shape[0], 0, self.width), dtype)
                                for _ in range(self.order - 1))}

    def _order_step(self, x_t: ember.Tensor, state: Any
                    ) -> tuple[ember.Tensor, dict[str, Any]]:
        """One position of the projection, short filter and recurrence: ``x_0 . z_N`` at it
        and the state after it."""
        self._position(state, x_t.shape[0], ("inputs",))
        u, window = self._short_step(state["window"], self._project(x_t))
        *gates, v = self._split(u, self.order + 1)
        y, seen = self._recurrence_step(gates, v, state)
        return y, {"window": window, "filter": state["filter"], "inputs": seen}

    def _position(self, state: Any, batch: int, keys: tuple[str, ...]) -> int:
        """The position the next ``step`` decodes: the length of ``state[keys[0]]`` (a
        ShapeError for a foreign state)."""
        name = type(self).__name__
        if not isinstance(state, dict) or set(state) != {"window", "filter", *keys}:
            raise ember.ShapeError(f"{name}.step: state must be the dict init_state returns, "
                                   f"got {type(state).__name__}")
        window = state["window"]
        want = (batch, self.short_filter_order - 1, self.short_filter_weight.shape[0])
        if window.shape != want:
            raise ember.ShapeError(f"{name}.step: the state's window has shape {window.shape}, "
                                   f"need {want} (init_state({batch}))")
        seen = state[keys[0]]
        t = int((seen[0] if isinstance(seen, tuple) else seen).shape[1])
        if t >= self.max_length:
            raise ember.ShapeError(f"{name}.step: position {t} is past max_length="
                                   f"{self.max_length} (the long filter's taps)")
        return t

    def _zeros(self, shape: tuple[int, ...], dtype: Any) -> ember.Tensor:
        like = self.short_filter_bias  # its dtype, backend and device follow Module.to
        return ember.zeros(shape, dtype=like.dtype if dtype is None else dtype,
                           backend=like.backend, device=like.device)

    def _window(self, batch: int, dtype: Any) -> ember.Tensor:
        batch = positive_int(f"{type(self).__name__}.init_state", "batch", batch)
        channels = self.short_filter_weight.shape[0]
        return self._zeros((batch, self.short_filter_order - 1, channels), dtype)

    def extra_repr(self) -> str:
        return brief_repr(self)


def _identity_only(name: str, activation: Any) -> None:
    if activation not in IDENTITY:
        raise ConfigError(f"{name}: activation={activation!r} is accepted but never applied by "
                          f"MAD-Lab's operator; use 'id' (only HyenaExperts applies one)")


class Hyena(_HyenaCore):
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
        _identity_only(name, activation)
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


class MultiHeadHyena(_HyenaCore):
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
        _identity_only(name, activation)
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
