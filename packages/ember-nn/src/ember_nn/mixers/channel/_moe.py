"""``MoE``: a mixture of GLU experts with top-k routing and a load-balancing auxiliary loss
(MAD-Lab's ``moe-mlp``)."""

from __future__ import annotations

from typing import Any

import ember

from ... import init
from ..._core._activation_names import get as get_activation
from ..._core._aux_losses import add_loss, collecting
from ..._core._errors import ConfigError
from ..._core._random import next_key
from ...layers._dense import Dense
from ...layers._dropout import Dropout
from ...layers._support import brief_repr, layer_dtype, new_variable, positive_int
from .._base import ChannelMixer
from ._glu import check_bool, check_features, check_rate

__all__ = ["MoE", "top_k_mask"]


def top_k_mask(scores: ember.Tensor, k: int) -> ember.Tensor:
    """Boolean mask of the ``k`` largest entries of each row of ``scores`` (last axis), exactly
    ``k`` per row: of equal scores the lower index wins. Computed by ranking (entry ``i``'s rank
    is the number of entries ahead of it), ``O(E^2)`` comparisons a row, with no sort and no
    data-dependent shape, so it compiles on every backend."""
    e = scores.shape[-1]
    s_i, s_j = ember.expand_dims(scores, axis=-1), ember.expand_dims(scores, axis=-2)
    idx = ember.arange(e, device=scores.device)
    earlier = ember.expand_dims(idx, axis=0) < ember.expand_dims(idx, axis=1)  # [i, j]: j < i
    ahead = ember.logical_or(s_j > s_i, ember.logical_and(s_j == s_i, earlier))
    rank = ember.sum(ember.astype(ahead, ember.int32), axis=-1)
    return rank < k


def _stacked(fn: Any, experts: int, axis: int) -> Any:
    """An initialiser drawing each expert's matrix with ``fn`` (its own fans) and stacking them
    on ``axis``."""
    def draw(key: Any, shape: tuple[int, ...], dtype: ember.DType) -> ember.Tensor:
        one = shape[:axis] + shape[axis + 1:]
        return ember.stack([fn(ember.random.fold_in(key, e), one, dtype) for e in range(experts)],
                           axis=axis)
    return draw


class MoE(ChannelMixer):
    """Mixture of experts: ``num_experts`` GLU experts, each token processed by the
    ``active_experts`` (k) of them its router scores highest, their outputs summed with
    softmax gate weights; a load-balancing loss goes to the trainer.

        logits = W_r x + b_r,   p = softmax(logits),   T = the k largest logits' experts
        g_e = p_e / sum_{j in T} p_j  for e in T, 0 elsewhere
        y = sum_{e in T} g_e * W3_e (act(W1_e x + b1_e) * (W2_e x + b2_e)) + b3_e

    Shazeer et al. (2017), "Outrageously Large Neural Networks: The Sparsely-Gated
    Mixture-of-Experts Layer"; the auxiliary loss of Fedus, Zoph and Shazeer (2021), "Switch
    Transformers: Scaling to Trillion Parameter Models with Simple and Efficient Sparsity".

    Gates: renormalised over the top k (a softmax over the selected logits, as Mixtral does).
    MAD-Lab's ``MoeMlp`` means the same but sets the other experts' *logits* to 0 before a
    softmax over all of them, which leaves every unselected expert a weight ``exp(0) / Z``; here
    they get exactly 0. MAD-Lab's experts also share one dense down-projection
    (``Linear(E * dim_inner, E * dim)``); here each expert has its own ``W3_e``, so the layer
    is a true mixture. Of equal logits the lower expert index is chosen, so exactly k experts
    serve every token.

    No capacity limit: every token is processed by exactly its top-k experts; no token is ever
    dropped or passed through unprocessed.

    Load balancing (Switch Transformer): ``aux = aux_loss_weight * E * sum_i f_i * P_i``, with
    ``f_i`` the fraction of the (token, slot) assignments routed to expert ``i`` (so
    ``sum_i f_i = 1``) and ``P_i`` the mean router probability ``p_i`` over the tokens; it is 1
    (times the weight) when routing is uniform and reaches E when one expert takes everything.
    A forward pass inside a loss collector hands it to ``ember_nn.add_loss(aux,
    "moe_load_balancing")``: ``value_and_grad``, ``compile_step`` and the ``Trainer`` add it
    to the loss they differentiate (history key ``"aux_loss"``); outside them it is not
    computed. Its gradient reaches
    the router through ``P`` (``f`` counts, which have none).

    Arguments:
        dim: the width of the input and output (last axis).
        num_experts: E (8).
        active_experts: k, experts per token (2).
        dim_inner: each expert's hidden width (None: ``dim``, as MAD-Lab; its config sets 16).
        activation: the experts' gate activation (``"gelu_tanh"``: MAD-Lab's
            ``GELU(approximate="tanh")``).
        bias: biases in the experts' projections (False, as MAD-Lab's ``moe-mlp`` config); the
            router always has one, as MAD-Lab's.
        drop_rate: dropout on ``act(W1 x)``, ``W2 x`` and the output (training mode).
        aux_loss_weight: the load-balancing loss's weight (0.01; 0 adds none).
        dtype: the parameters' dtype (float32).
        key: seed or key of the initialisation (and dropout masks).

    Variables: ``router`` (a ``Dense(dim, E)``), ``w1``, ``w2`` of shape ``(dim, E,
    dim_inner)`` (expert ``e``'s matrix is ``w1[:, e, :]``), ``w3`` of shape ``(E, dim_inner,
    dim)``, and with ``bias`` ``b1``, ``b2`` ``(E, dim_inner)`` and ``b3`` ``(E, dim)``.

    Computation and cost: exact and the same program on every backend (no gather, scatter or
    data-dependent shape, so it compiles): all E experts' up-projections run as one matmul
    ``(N, dim) @ (dim, E * dim_inner)`` twice, the gates (zero outside the top k) scale the
    hidden units, and one matmul ``(N, E * dim_inner) @ (E * dim_inner, dim)`` sums the
    experts' outputs. That is ``3 * N * dim * dim_inner * E`` multiply-adds, E/k times (4x at
    8/2) what a dispatch to the k chosen experts would cost, and ``N * E * dim_inner`` hidden
    activations; the router adds ``N * dim * E``, the top-k ranking ``N * E^2`` comparisons.
    Parameters: ``E * (3 * dim * dim_inner) + dim * E + E`` (+ expert biases).

    >>> from ember_nn.mixers.channel import MoE
    >>> moe = MoE(16, dim_inner=16, key=0)
    >>> x = ember.random.normal(ember.random.key(1), (2, 5, 16))
    >>> with ember_nn.collect_losses() as losses:
    ...     y = moe(x)
    >>> y.shape, [name for name, _ in losses], moe.num_parameters()
    ((2, 5, 16), ['moe_load_balancing'], 6280)
    >>> round(losses[0][1].item(), 4)  # 0.01 * (1 when balanced ... 8 when collapsed)
    0.0113
    """

    def __init__(self, dim: int, *, num_experts: int = 8, active_experts: int = 2,
                 dim_inner: int | None = None, activation: Any = "gelu_tanh",
                 bias: bool = False, drop_rate: float = 0.0, aux_loss_weight: float = 0.01,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        self.dim = positive_int("MoE", "dim", dim)
        self.num_experts = positive_int("MoE", "num_experts", num_experts)
        self.active_experts = positive_int("MoE", "active_experts", active_experts)
        if active_experts > num_experts:
            raise ConfigError(f"MoE: active_experts ({active_experts}) must be at most "
                              f"num_experts ({num_experts}): each token picks that many experts")
        self.dim_inner = dim if dim_inner is None else positive_int("MoE", "dim_inner", dim_inner)
        self.activation = get_activation(activation)
        self.bias = check_bool("MoE", "bias", bias)
        self.drop_rate = check_rate("MoE", drop_rate)
        if isinstance(aux_loss_weight, bool) or not isinstance(aux_loss_weight, int | float) \
                or not aux_loss_weight >= 0.0 or aux_loss_weight == float("inf"):
            raise ConfigError(f"MoE: aux_loss_weight must be a finite number >= 0, got "
                              f"{aux_loss_weight!r} (0.01 is the usual weight; 0 adds no loss)")
        self.aux_loss_weight = float(aux_loss_weight)
        d = layer_dtype("MoE", dtype)
        e, f = num_experts, self.dim_inner
        base = next_key(key)
        k = [ember.random.fold_in(base, i) for i in range(10)]
        self.router = Dense(dim, e, dtype=dtype, key=k[0])
        glorot = init.glorot_uniform
        self.w1 = new_variable("MoE", _stacked(glorot, e, 1), k[1], (dim, e, f), d, "w1")
        self.w2 = new_variable("MoE", _stacked(glorot, e, 1), k[2], (dim, e, f), d, "w2")
        self.w3 = new_variable("MoE", _stacked(glorot, e, 0), k[3], (e, f, dim), d, "w3")
        self.b1 = self.b2 = self.b3 = None
        if bias:
            self.b1 = new_variable("MoE", init.zeros, k[4], (e, f), d, "b1")
            self.b2 = new_variable("MoE", init.zeros, k[5], (e, f), d, "b2")
            self.b3 = new_variable("MoE", init.zeros, k[6], (e, dim), d, "b3")
        self.drops = [Dropout(self.drop_rate, key=k[i]) for i in (7, 8, 9)] \
            if self.drop_rate else None

    def route(self, x: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor, ember.Tensor]:
        """``(p, chosen, g)`` for tokens ``x`` ``(..., dim)``: the router's probabilities, the
        boolean mask of each token's top-k experts (by logit) and the gates (``p`` renormalised
        over the chosen experts, 0 elsewhere), each ``(..., num_experts)``."""
        logits = self.router(x)
        probs = ember.nn.softmax(logits, axis=-1)
        chosen = top_k_mask(logits, self.active_experts)
        kept = ember.where(chosen, probs, 0.0)
        return probs, chosen, kept / ember.sum(kept, axis=-1, keepdims=True)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = check_features("MoE", x, self.dim)
        lead, dim, e, f = x.shape[:-1], self.dim, self.num_experts, self.dim_inner
        xf = ember.reshape(x, (-1, dim))
        probs, chosen, gates = self.route(xf)
        h1 = ember.matmul(xf, ember.reshape(self.w1, (dim, e * f)))
        h2 = ember.matmul(xf, ember.reshape(self.w2, (dim, e * f)))
        if self.b1 is not None and self.b2 is not None:
            h1 = h1 + ember.reshape(self.b1, (e * f,))
            h2 = h2 + ember.reshape(self.b2, (e * f,))
        gate, value = self.activation(h1), h2
        if self.drops is not None:
            gate, value = self.drops[0](gate), self.drops[1](value)
        h = ember.reshape(gate * value, (-1, e, f)) * ember.expand_dims(gates, axis=-1)
        y = ember.matmul(ember.reshape(h, (-1, e * f)), ember.reshape(self.w3, (e * f, dim)))
        if self.b3 is not None:
            y = y + ember.matmul(gates, self.b3)
        if self.drops is not None:
            y = self.drops[2](y)
        if self.aux_loss_weight and collecting():
            add_loss(self.aux_loss_weight * self.balance_loss(probs, chosen),
                     "moe_load_balancing")
        return ember.reshape(y, (*lead, dim))

    def balance_loss(self, probs: ember.Tensor, chosen: ember.Tensor) -> ember.Tensor:
        """Switch Transformer's ``E * sum_i f_i * P_i`` (unweighted) from ``route``'s ``p`` and
        ``chosen`` for ``(tokens, E)``."""
        fraction = ember.mean(ember.astype(chosen, probs.dtype), axis=0) / self.active_experts
        return self.num_experts * ember.sum(fraction * ember.mean(probs, axis=0))

    def extra_repr(self) -> str:
        return brief_repr(self)
