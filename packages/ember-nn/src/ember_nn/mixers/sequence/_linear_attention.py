"""``LinearAttention``: causal multi-head linear attention (Katharopoulos et al. 2020,
"Transformers are RNNs: Fast Autoregressive Transformers with Linear Attention"), MAD-Lab's
``linear-attention`` and ``mh-linear-attention`` layers, with its feature maps."""

from __future__ import annotations

import math
from typing import Any

import ember

from ..._core._errors import ConfigError
from ..._core._module import Module
from ..._core._random import next_key
from ...layers._activations import elu
from ...layers._dense import Dense
from ...layers._support import brief_repr, positive_int
from .._base import SequenceMixer, check_sequence, check_step
from ._attention import TORCH_LINEAR

__all__ = ["FEATURE_MAPS", "LinearAttention", "linear_attention"]

#: MAD-Lab's feature maps (all of them): name -> features out per head_dim features in
FEATURE_MAPS = ("elementwise_product", "elu", "relu", "identity", "t2r", "hedgehog", "dpfp",
                "taylor")
_IMPLEMENTATIONS = ("quadratic", "linear")


def _feature_dim(kind: str, d: int) -> int:
    return {"hedgehog": 2 * d, "dpfp": 8 * d, "taylor": 1 + 2 * d + d * (d - 1) // 2}.get(kind, d)


class _FeatureMap(Module):
    """``phi`` of one of MAD-Lab's feature maps on ``(..., head_dim)`` (shared by the heads).

    elementwise_product (MAD-Lab's default, its ``HadamardFeatureMap``): ``(x W1 + b1) * (x
    W2 + b2)``; t2r: ``relu(x W + b)``; hedgehog: ``softmax([2 (x W + b), -2 (x W + b)])``
    (``W`` starts as the identity); elu: ``elu(x) + 1``; relu; identity; dpfp (nu = 4):
    ``concat_j r * roll(r, j)`` over ``j = 1..4`` with ``r = [relu(x), -relu(x)]``, exactly as
    MAD-Lab (and flash-linear-attention) write it (the paper has ``relu(-x)``); taylor:
    ``[1, x / d^(1/4), x_i^2 / sqrt(2 d), x_i x_j / sqrt(d) (i < j)]``, whose dot products are
    ``1 + s + s^2 / 2``, ``s = q.k / sqrt(d)``. Biases start at zero (MAD-Lab's models zero
    every nn.Linear bias), weights at torch's default."""

    def __init__(self, kind: str, head_dim: int, *, dtype: Any = None, key: Any = None) -> None:
        super().__init__()
        self.kind, self.head_dim = kind, head_dim
        k1, k2 = ember.random.split(next_key(key))
        self.layers: list[Dense] = []
        if kind in ("elementwise_product", "t2r", "hedgehog"):
            w_init = _eye if kind == "hedgehog" else TORCH_LINEAR
            for k in ((k1, k2) if kind == "elementwise_product" else (k1,)):
                self.layers.append(Dense(head_dim, head_dim, kernel_init=w_init, dtype=dtype,
                                         key=k))
        if kind == "taylor":
            d = head_dim
            self.upper = [i * d + j for i in range(d) for j in range(i + 1, d)]
            self.diagonal = [i * d + i for i in range(d)]

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        kind = self.kind
        if kind == "elementwise_product":
            return self.layers[0](x) * self.layers[1](x)
        if kind == "t2r":
            return ember.nn.relu(self.layers[0](x))
        if kind == "hedgehog":
            y = self.layers[0](x)
            return ember.nn.softmax(ember.concat([2 * y, -2 * y], axis=-1), axis=-1)
        if kind == "elu":
            return elu(x) + 1
        if kind == "relu":
            return ember.nn.relu(x)
        if kind == "dpfp":
            r = ember.nn.relu(x)
            r = ember.concat([r, -r], axis=-1)
            rolled = ember.concat([ember.roll(r, j, axis=-1) for j in range(1, 5)], axis=-1)
            return ember.concat([r] * 4, axis=-1) * rolled
        if kind == "taylor":
            d = self.head_dim
            outer = ember.reshape(ember.expand_dims(x, axis=-1) * ember.expand_dims(x, axis=-2),
                                  (*x.shape[:-1], d * d))
            rd = math.sqrt(d)
            squares = ember.take(outer, self._index(self.diagonal, x), axis=-1)
            parts = [ember.ones_like(x[..., :1]), x / math.sqrt(rd), squares / (rd * math.sqrt(2))]
            if self.upper:
                parts.append(ember.take(outer, self._index(self.upper, x), axis=-1) / rd)
            return ember.concat(parts, axis=-1)
        return x  # identity

    def extra_repr(self) -> str:
        return f"{self.kind!r}, head_dim={self.head_dim}"

    @staticmethod
    def _index(idx: list[int], like: ember.Tensor) -> ember.Tensor:
        return ember.asarray(idx, dtype=ember.int64, backend=like.backend, device=like.device)


def _eye(key: Any, shape: tuple[int, ...], dtype: Any = ember.float32) -> ember.Tensor:
    return ember.eye(shape[0], shape[1], dtype=dtype)


def linear_attention(q: ember.Tensor, k: ember.Tensor, v: ember.Tensor, *, eps: float = 1e-12,
                     chunk_size: int | None = None) -> ember.Tensor:
    """Causal linear attention of featurised queries and keys ``(..., L, F)`` and values
    ``(..., L, Dv)``: ``y_t = sum_{s<=t} (q_t . k_s) v_s / (q_t . sum_{s<=t} k_s + eps)``.

    ``chunk_size=None`` computes the masked ``(L, L)`` score matrix (MAD-Lab's "quadratic"
    form: ``O(L^2 (F + Dv))`` time, ``O(L^2)`` memory); an int ``C`` the chunked form: the
    state ``sum k_s v_s^T`` at the start of each chunk by a cumulative sum over chunks, the
    chunk's own keys by a masked ``(C, C)`` product (``O(L (C + F) Dv)`` time, ``O(L (C + F
    Dv / C))`` memory), the same numbers up to rounding.
    """
    if chunk_size is None:
        scores = ember.tril(ember.matmul(q, ember.matrix_transpose(k)))
        z = ember.sum(q * ember.cumulative_sum(k, axis=-2), axis=-1, keepdims=True)
        return ember.matmul(scores, v) / (z + eps)
    L, C = q.shape[-2], chunk_size
    n = -(-L // C)
    lead = q.shape[:-2]

    def chunks(t: ember.Tensor) -> ember.Tensor:
        if n * C != L:
            pad = ember.zeros((*lead, n * C - L, t.shape[-1]), dtype=t.dtype, backend=t.backend,
                              device=t.device)
            t = ember.concat([t, pad], axis=-2)
        return ember.reshape(t, (*lead, n, C, t.shape[-1]))

    qc, kc, vc = chunks(q), chunks(k), chunks(v)
    r = len(lead)  # the chunk axis
    kv = ember.matmul(ember.matrix_transpose(kc), vc)  # (..., n, F, Dv)
    ks = ember.sum(kc, axis=-2)  # (..., n, F)
    # the state before each chunk: an exclusive cumulative sum over the chunks
    kv_before = ember.cumulative_sum(kv, axis=r, include_initial=True)
    ks_before = ember.cumulative_sum(ks, axis=r, include_initial=True)
    kv_before = ember.take(kv_before, ember.arange(n, backend=q.backend, device=q.device), axis=r)
    ks_before = ember.take(ks_before, ember.arange(n, backend=q.backend, device=q.device), axis=r)
    scores = ember.tril(ember.matmul(qc, ember.matrix_transpose(kc)))  # (..., n, C, C)
    y = ember.matmul(qc, kv_before) + ember.matmul(scores, vc)
    z = ember.matmul(qc, ember.expand_dims(ks_before, axis=-1)) \
        + ember.sum(scores, axis=-1, keepdims=True)
    y = y / (z + eps)
    y = ember.reshape(y, (*lead, n * C, y.shape[-1]))
    return y if n * C == L else y[..., :L, :]


class LinearAttention(SequenceMixer):
    """Causal multi-head linear attention, MAD-Lab's ``linear-attention`` (one head) and
    ``mh-linear-attention`` layers:

    ``q_h = phi_q(x W_q^h), k_h = phi_k(x W_k^h), v_h = x W_v^h``;
    ``o_t^h = sum_{s<=t} (q_t^h . k_s^h) v_s^h / (q_t^h . sum_{s<=t} k_s^h + eps)``;
    ``y = concat_h(o^h) W_o`` (no biases, no ``1/sqrt(d)`` scale), which is the recurrence
    ``S_t = S_{t-1} + k_t v_t^T, z_t = z_{t-1} + k_t, o_t = q_t S_t / (q_t . z_t + eps)``.

    Katharopoulos et al. 2020, "Transformers are RNNs: Fast Autoregressive Transformers with
    Linear Attention".

    Arguments:
        dim: features in and out.
        feature_map: ``phi``, one of MAD-Lab's: "elementwise_product" (its default: ``(x W1 +
            b1) * (x W2 + b2)``, learnt, per head_dim and shared by the heads; not positive,
            so the normaliser may cross zero, as in MAD-Lab), "elu" (``elu + 1``), "relu",
            "identity", "t2r", "hedgehog", "dpfp", "taylor" (see ``_FeatureMap``).
        expand_k, expand_v: query/key and value widths, ``dim * expand``.
        tie_feature_map_qk: one learnt feature map for queries and keys.
        num_heads: heads (divides both widths; default 16, MAD-Lab's).
        eps: added to the normaliser.
        parallel_implementation: the full-sequence form: "quadratic" (MAD-Lab's default: the
            masked ``(L, L)`` scores, fastest at short lengths) or "linear" (chunks of
            ``chunk_size``: linear time and memory in L, for long sequences; MAD-Lab's name
            for its CUDA kernel's form). Both compute the same numbers.
        norm_q, norm_k: divide the featurised queries/keys by their sum (+ 1e-4).

    Weights start as torch's nn.Linear default, U(+-1/sqrt(fan_in)); biases at zero.
    ``step`` runs the recurrence (state ``(S, z)``, ``(batch, heads, F, Dv)`` and ``(batch,
    heads, F)``). Cost: "quadratic" ``O(L^2 heads (F + Dv))``, "linear" ``O(L dim (C + F))``
    time; a step ``O(heads F Dv)``; ``O(dim^2)`` parameters.

    >>> from ember_nn.mixers.sequence import LinearAttention
    >>> layer = LinearAttention(8, num_heads=2, key=0)
    >>> x = ember.reshape(ember.arange(2 * 6 * 8, dtype=ember.float32), (2, 6, 8)) / 50
    >>> y = layer(x)
    >>> y.shape, [round(v, 4) for v in y[0, -1, :3].tolist()]
    ((2, 6, 8), [-0.1422, -0.0004, -0.3088])
    >>> state = layer.init_state(2)
    >>> for t in range(6):
    ...     y_t, state = layer.step(x[:, t], state)
    >>> [round(v, 4) for v in y_t[0, :3].tolist()]
    [-0.1422, -0.0004, -0.3088]
    """

    def __init__(self, dim: int, feature_map: str = "elementwise_product", *,
                 expand_k: float = 1, expand_v: float = 1, tie_feature_map_qk: bool = False,
                 num_heads: int = 16, eps: float = 1e-12, parallel_implementation: str =
                 "quadratic", norm_q: bool = False, norm_k: bool = False, chunk_size: int = 64,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        name = "LinearAttention"
        self.dim = positive_int(name, "dim", dim)
        self.num_heads = positive_int(name, "num_heads", num_heads)
        if feature_map not in FEATURE_MAPS:
            raise ConfigError(f"LinearAttention: feature_map must be one of {FEATURE_MAPS}, "
                              f"got {feature_map!r}")
        if parallel_implementation not in _IMPLEMENTATIONS:
            raise ConfigError(f"LinearAttention: parallel_implementation must be 'quadratic' "
                              f"or 'linear', got {parallel_implementation!r}")
        widths = []
        for arg, expand in (("expand_k", expand_k), ("expand_v", expand_v)):
            if isinstance(expand, bool) or not isinstance(expand, int | float) or \
                    not expand > 0:
                raise ConfigError(f"LinearAttention: {arg} must be a positive number, got "
                                  f"{expand!r}")
            width = int(dim * expand)
            if width < num_heads or width % num_heads:
                raise ConfigError(f"LinearAttention: dim * {arg} = {width} is not divisible "
                                  f"by num_heads {num_heads}")
            widths.append(width)
        for flag, value in (("tie_feature_map_qk", tie_feature_map_qk), ("norm_q", norm_q),
                            ("norm_k", norm_k)):
            if not isinstance(value, bool):
                raise ConfigError(f"LinearAttention: {flag} must be True or False, got "
                                  f"{value!r}")
        if isinstance(eps, bool) or not isinstance(eps, int | float) or eps < 0:
            raise ConfigError(f"LinearAttention: eps must be a non-negative number, got {eps!r}")
        self.chunk_size = positive_int(name, "chunk_size", chunk_size)
        self.key_dim, self.value_dim = widths
        self.head_qk_dim, self.head_v_dim = self.key_dim // num_heads, self.value_dim // num_heads
        self.feature_dim = _feature_dim(feature_map, self.head_qk_dim)
        self.feature_map, self.eps = feature_map, float(eps)
        self.parallel_implementation = parallel_implementation
        self.norm_q, self.norm_k = norm_q, norm_k
        self.causal = True
        keys = ember.random.split(next_key(key), 6)
        lin: dict[str, Any] = {"use_bias": False, "kernel_init": TORCH_LINEAR, "dtype": dtype}
        self.proj_q = Dense(dim, self.key_dim, key=keys[0], **lin)
        self.proj_k = Dense(dim, self.key_dim, key=keys[1], **lin)
        self.proj_v = Dense(dim, self.value_dim, key=keys[2], **lin)
        self.out_proj = Dense(self.value_dim, dim, key=keys[3], **lin)
        self.feature_map_q = _FeatureMap(feature_map, self.head_qk_dim, dtype=dtype, key=keys[4])
        self.feature_map_k = self.feature_map_q if tie_feature_map_qk else \
            _FeatureMap(feature_map, self.head_qk_dim, dtype=dtype, key=keys[5])

    def _features(self, x: ember.Tensor
                  ) -> tuple[ember.Tensor, ember.Tensor, ember.Tensor]:
        """``(batch, heads, L, F)`` featurised queries and keys, ``(batch, heads, L, Dv)``
        values of ``x`` ``(batch, L, dim)``."""
        def heads(y: ember.Tensor, d: int) -> ember.Tensor:
            return ember.moveaxis(ember.reshape(y, (*y.shape[:-1], self.num_heads, d)), -2, -3)

        q = self.feature_map_q(heads(self.proj_q(x), self.head_qk_dim))
        k = self.feature_map_k(heads(self.proj_k(x), self.head_qk_dim))
        if self.norm_q:
            q = q / (ember.sum(q, axis=-1, keepdims=True) + 1e-4)
        if self.norm_k:
            k = k / (ember.sum(k, axis=-1, keepdims=True) + 1e-4)
        return q, k, heads(self.proj_v(x), self.head_v_dim)

    def _out(self, o: ember.Tensor) -> ember.Tensor:
        o = ember.moveaxis(o, -3, -2)  # (batch, L, heads, Dv)
        return self.out_proj(ember.reshape(o, (*o.shape[:-2], self.value_dim)))

    def forward(self, x: Any) -> ember.Tensor:
        x = check_sequence("LinearAttention", x, self.dim)
        q, k, v = self._features(x)
        chunk = self.chunk_size if self.parallel_implementation == "linear" else None
        return self._out(linear_attention(q, k, v, eps=self.eps, chunk_size=chunk))

    def init_state(self, batch: int, dtype: Any = None) -> tuple[ember.Tensor, ember.Tensor]:
        """Zero ``(S, z)``: ``(batch, heads, F, Dv)`` and ``(batch, heads, F)``."""
        batch = positive_int("LinearAttention.init_state", "batch", batch)
        w = self.proj_q.weight
        kw: dict[str, Any] = {"dtype": w.dtype if dtype is None else dtype, "backend": w.backend,
              "device": w.device}
        h, f = self.num_heads, self.feature_dim
        return (ember.zeros((batch, h, f, self.head_v_dim), **kw),
                ember.zeros((batch, h, f), **kw))

    def step(self, x_t: Any, state: tuple[ember.Tensor, ember.Tensor]
             ) -> tuple[ember.Tensor, tuple[ember.Tensor, ember.Tensor]]:
        """One position ``(batch, dim)``: ``S += k v^T, z += k, o = q S / (q . z + eps)``."""
        x_t = check_step("LinearAttention", x_t, self.dim)
        s, z = state
        if s.shape[0] != x_t.shape[0]:
            raise ember.ShapeError(f"LinearAttention.step: input of shape {x_t.shape} does not "
                                   f"fit a state for batch {s.shape[0]}")
        q, k, v = self._features(ember.expand_dims(x_t, axis=1))  # (batch, heads, 1, .)
        s = s + ember.matmul(ember.matrix_transpose(k), v)
        z = z + k[..., 0, :]
        num = ember.matmul(q, s)  # (batch, heads, 1, Dv)
        den = ember.matmul(q, ember.expand_dims(z, axis=-1))  # (batch, heads, 1, 1)
        return self._out(num / (den + self.eps))[:, 0], (s, z)

    def extra_repr(self) -> str:
        return brief_repr(self)
