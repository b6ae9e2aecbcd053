"""``HyenaExperts``: MAD-Lab's Hyena experts operator (``hyena-experts``), a Hyena whose output
channels form experts mixed per position by a router."""

from __future__ import annotations

from typing import Any

import ember

from ..._core._errors import ConfigError
from ..._core._random import next_key
from ...layers._support import positive_int
from .._base import check_sequence, check_step
from .._torch_init import torch_linear
from ._hyena_core import IDENTITY, HyenaCore

__all__ = ["HyenaExperts"]

#: the activations MAD-Lab's HyenaOperator names (its 'glu', nn.GLU(dim=dim), cannot run)
ACTIVATIONS = {"tanh": ember.tanh, "relu": ember.nn.relu, "gelu": ember.nn.gelu,
               "swish": ember.nn.silu, "silu": ember.nn.silu, "sigmoid": ember.nn.sigmoid,
               "softplus": ember.nn.softplus}


class HyenaExperts(HyenaCore):
    """MAD-Lab's Hyena experts (``HyenaExpertsOperator``, ``hyena-experts``; MAD: Poli et al.
    2024, "Mechanistic Design and Scaling of Hybrid Architectures"; Hyena: Poli et al. 2023),
    on ``(batch, length, dim)``; causal. With ``E = num_experts``, ``W = E * dim_inner`` and
    ``N = order``::

        x_0, ..., x_{N-1}, v = split(shortconv(x W_in + b_in))      (W wide each)
        u = act(x_0 . z_N)                                          (Hyena's recurrence, W wide)
        s = x W_r + b_r                                             (router logits, E)
        s'_e = s_e if s_e >= m else 0      m = the active_experts-th largest of s
        g = softmax(s')
        out[t] = (sum_e g[t, e] u[t, :, e]) W_out + b_out           (u read as (dim_inner, E))

    What MAD-Lab's code does, read closely: every expert is computed at every position (a
    ``W``-wide Hyena; expert ``e`` is channels ``e, e + E, e + 2E, ...``), and the "routing"
    only weighs the experts' outputs. The non-top-k logits are set to 0, not to -inf, before
    a softmax over all ``E`` experts, so they keep weight ``1 / Z`` (and a top-k logit below 0
    weighs less than they do); ties at the k-th value all count as top-k. There is no
    load-balancing loss and no capacity: nothing is dropped and nothing saved. ember keeps
    these semantics so that weights and results carry over. The recurrence is ``Hyena``'s
    (order ``N``: ``N - 1`` long convolutions with filters from one ``HyenaFilter``); the input
    projection is not tied (no ``proj_groups``).

    Arguments (MAD-Lab's ``hyena-experts`` defaults): ``dim``; ``dim_inner=16`` (each
    expert's width); ``num_experts=8``; ``active_experts=2``; ``max_length=1280``;
    ``order=2``; ``num_heads=1`` and ``inner_factor=1`` (only 1); ``num_blocks=1`` (only 1);
    ``short_filter_order=3``; ``long_conv_cfg`` (None: ``{"bias": True, "filter_cls":
    "implicit", "filter_cfg": {"order": 16}}``; see ``Hyena``); ``dropout=0.0``;
    ``activation='id'`` (or 'tanh', 'relu', 'gelu', 'silu'/'swish', 'sigmoid', 'softplus');
    ``fused_bias_fc``, ``outer_mixing``, ``post_order_ffn`` (False only); ``dtype``; ``key``.
    MAD-Lab's code runs only where ``dim_inner * num_experts == dim`` (its filter and split
    use ``dim``); ember takes any ``W`` and agrees with it there.

    Variables: ``in_proj`` ``(dim, (N+1) W)``, ``short_filter_weight``/``bias``, ``filter``,
    ``long_conv_bias`` (``W (N-1)``, Hyena's layout), ``out_proj`` ``(dim_inner, dim)``,
    ``router`` ``(dim, E)``.

    Cost: O(B L W ((N+1) dim + (N-1) log L) + B L E dim) time, O(B L W N) memory. ``step``
    decodes position ``t`` in O(t W (N-1)) from the inputs each long convolution has seen
    (see ``Hyena``).

    >>> mixer = HyenaExperts(8, dim_inner=4, num_experts=4, max_length=16, key=0)
    >>> y = mixer(ember.ones((2, 5, 8)))
    >>> y.shape, round(float(y[0, -1, 0]), 4)
    ((2, 5, 8), 0.0429)
    >>> y_t, state = mixer.step(ember.ones((2, 8)), mixer.init_state(2))
    >>> float(ember.max(ember.abs(y_t - y[:, 0]))) < 1e-6
    True
    """

    def __init__(self, dim: int, *, dim_inner: int = 16, num_experts: int = 8,
                 active_experts: int = 2, max_length: int = 1280, order: int = 2,
                 num_heads: int = 1, inner_factor: int = 1, num_blocks: int = 1,
                 short_filter_order: int = 3, long_conv_cfg: dict[str, Any] | None = None,
                 dropout: float = 0.0, activation: str | None = "id",
                 fused_bias_fc: bool = False, outer_mixing: bool = False,
                 post_order_ffn: bool = False, dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        name = "HyenaExperts"
        dim = positive_int(name, "dim", dim)
        self.dim_inner = positive_int(name, "dim_inner", dim_inner)
        self.num_experts = positive_int(name, "num_experts", num_experts)
        self.active_experts = positive_int(name, "active_experts", active_experts)
        if active_experts > num_experts:
            raise ConfigError(f"{name}: active_experts={active_experts} is more than "
                              f"num_experts={num_experts}")
        order = positive_int(name, "order", order)
        if order < 2:
            raise ConfigError(f"{name}: order must be >= 2, got {order}")
        for arg, value in (("num_heads", num_heads), ("inner_factor", inner_factor)):
            if positive_int(name, arg, value) != 1:
                raise ConfigError(f"{name}: {arg} must be 1 (MAD-Lab's experts operator fails "
                                  f"otherwise), got {value}")
        self._check_options(num_blocks=num_blocks, fused_bias_fc=fused_bias_fc,
                            outer_mixing=outer_mixing, post_order_ffn=post_order_ffn,
                            dropout=dropout)
        if activation in IDENTITY:
            self.activation = None
        elif isinstance(activation, str) and activation in ACTIVATIONS:
            self.activation = ACTIVATIONS[activation]
        else:
            raise ConfigError(f"{name}: activation must be one of {['id', *ACTIVATIONS]}, got "
                              f"{activation!r}")
        width = num_experts * dim_inner
        base = next_key(key)
        self._build(dim=dim, width=width, streams=order + 1, order=order,
                    filter_width=width * (order - 1), max_length=max_length,
                    short_filter_order=short_filter_order, long_conv_cfg=long_conv_cfg,
                    dropout=dropout, dtype=dtype, base=base)
        self.in_proj = torch_linear(dim, (order + 1) * width, bias=True, dtype=dtype,
                                   key=ember.random.fold_in(base, 0))
        self.out_proj = torch_linear(dim_inner, dim, bias=True, dtype=dtype,
                                    key=ember.random.fold_in(base, 1))
        self.router = torch_linear(dim, num_experts, bias=True, dtype=dtype,
                                  key=ember.random.fold_in(base, 2))

    def _route(self, u: ember.Tensor, x: ember.Tensor) -> ember.Tensor:
        """The experts' outputs ``u`` ``(..., W)`` weighed by the router on ``x`` ``(...,
        dim)`` -> ``(..., dim)``."""
        if self.activation is not None:
            u = self.activation(u)
        scores = self.router(x)
        kth = ember.sort(ember.stop_gradient(scores), axis=-1, descending=True)
        kth = kth[..., self.active_experts - 1:self.active_experts]
        scores = ember.where(scores < kth, ember.zeros_like(scores), scores)
        gates = ember.nn.softmax(scores, axis=-1)
        u = ember.reshape(u, (*u.shape[:-1], self.dim_inner, self.num_experts))
        return self.out_proj(ember.sum(u * ember.expand_dims(gates, axis=-2), axis=-1))

    def forward(self, x: Any) -> ember.Tensor:
        x = check_sequence("HyenaExperts", x, self.dim)
        self._check_length(x)
        *gates, v = self._split(self._short(self._project(x)), self.order + 1)
        return self._route(self._recurrence(gates, v), x)

    def init_state(self, batch: int, dtype: Any = None) -> dict[str, Any]:
        """As ``Hyena.init_state``: the short filter's window, the long filter, and each long
        convolution's inputs so far (empty)."""
        return self._order_state(batch, dtype)

    def step(self, x_t: Any, state: Any) -> tuple[ember.Tensor, dict[str, Any]]:
        x_t = check_step("HyenaExperts", x_t, self.dim)
        y, state = self._order_step(x_t, state)
        return self._route(y, x_t), state
