"""``Attention``: MAD-Lab's multi-head attention mixer (``attention``, ``mh-attention``,
``sliding-attention``), with rotary embeddings, grouped-query heads, cross attention and a
KV cache, on ``ember.nn.scaled_dot_product_attention`` (torch's and MLX's fused kernels)."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import ember

from ..._core._errors import ConfigError
from ..._core._random import next_key
from ...layers._attention import dropout_rate
from ...layers._dense import Dense
from ...layers._dropout import Dropout
from ...layers._support import brief_repr, positive_int
from .._base import SequenceMixer, check_sequence, check_step
from ._rotary import apply_rotary

__all__ = ["Attention", "KVCache"]

#: torch's nn.Linear weights, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (flash-attn's MHA keeps them)
TORCH_LINEAR = {"name": "variance_scaling", "scale": 1 / 3, "mode": "fan_in",
                "distribution": "uniform"}


class KVCache(NamedTuple):
    """``Attention``'s decoding state: the rotated keys and the values of the positions seen
    so far (the last ``window_size[0] + 1`` only, with a sliding window), each ``(batch,
    num_kv_heads, cached, head_dim)``, and the number of positions seen."""

    keys: ember.Tensor
    values: ember.Tensor
    position: int


def _window(value: Any) -> tuple[int, int]:
    ok = isinstance(value, list | tuple) and len(value) == 2 and all(
        isinstance(w, int) and not isinstance(w, bool) and w >= -1 for w in value)
    if not ok:
        raise ConfigError(f"Attention: window_size must be two ints [left, right], each -1 "
                          f"(unlimited) or >= 0, got {value!r}; [-1, -1] attends everywhere, "
                          f"[w, w] is a sliding window of w keys back (and w ahead unless "
                          f"causal)")
    return int(value[0]), int(value[1])


def _band(L: int, S: int, causal: bool, left: int, right: int, like: ember.Tensor
          ) -> ember.Tensor:
    """Bool ``(L, S)``: query ``i`` (at key position ``p = i + S - L``) sees key ``j`` when
    ``p - left <= j`` (``left >= 0``), ``j <= p + right`` (``right >= 0``) and ``j <= p``
    (causal): flash-attn's rule."""
    i = ember.reshape(ember.arange(L, backend=like.backend, device=like.device), (L, 1))
    j = ember.arange(S, backend=like.backend, device=like.device)
    p = i + (S - L)
    keep = ember.ones((L, S), dtype=ember.bool, backend=like.backend, device=like.device)
    if left >= 0:
        keep = keep & (j >= p - left)
    if causal:
        keep = keep & (j <= p)
    elif right >= 0:
        keep = keep & (j <= p + right)
    return keep


class Attention(SequenceMixer):
    """Multi-head attention as a sequence mixer, MAD-Lab's ``attention`` (one head),
    ``mh-attention`` and ``sliding-attention`` layers (flash-attn's ``MHA``):

    ``q_h = R(x W_q^h), k_g = R(c W_k^g), v_g = c W_v^g`` (``c = x``, or ``context`` for cross
    attention; ``R`` the rotary embedding of the first ``rotary_emb_dim`` features of each
    head, non-interleaved (GPT-NeoX's, flash-attn's default), self-attention only);
    ``o_h = softmax(q_h k_g^T * scale + mask) v_g`` with ``g = h // (num_heads /
    num_kv_heads)`` (grouped-query attention: each key/value head serves a group of query
    heads) and ``scale = 1 / sqrt(head_dim)``; ``y = concat_h(o_h) W_o + b_o``.

    Vaswani et al. 2017, "Attention Is All You Need"; Su et al. 2021, "RoFormer"; Ainslie et
    al. 2023, "GQA: Training Generalized Multi-Query Transformer Models from Multi-Head
    Checkpoints"; Beltagy et al. 2020, "Longformer" (sliding windows).

    Arguments:
        dim: features in and out; ``head_dim = dim / num_heads``.
        num_heads: query heads (MAD-Lab's ``n_heads``, also accepted; default 16, MAD-Lab's).
        causal: query ``i`` sees keys ``j <= i`` (cross attention: ``j <= i + S - L``, the
            queries aligned with the end of the context, as flash-attn does).
        rotary_emb_dim: features of each head that rotary embeddings turn (even, ``<=
            head_dim``; 0 for none), at positions ``0 .. L - 1`` (``rotary_emb_base``,
            ``rotary_emb_interleaved`` as in flash-attn).
        dropout: attention-weight dropout in training mode (then the weights are computed in
            ember ops rather than by a fused kernel).
        window_size: ``[left, right]``, flash-attn's convention: query ``i`` sees keys ``i -
            left .. i + right`` (-1: unlimited; ``right`` is ignored when causal, so ``[w,
            w]`` causal sees ``w + 1`` keys, ``i - w .. i``); ``[-1, -1]`` attends everywhere.
        num_kv_heads: key/value heads (divides ``num_heads``; None: ``num_heads``; 1:
            multi-query attention).
        bias: biases on the projections (zero-initialised, as MAD-Lab's models re-initialise
            every nn.Linear bias; weights are torch's default U(+-1/sqrt(fan_in))).
        softmax_scale: None for ``1 / sqrt(head_dim)``.
        use_flash_attn: accepted for MAD-Lab's configs and ignored: ember's attention op runs
            the backend's fused kernel wherever it has one.

    Variables: ``in_proj`` ``(dim, (num_heads + 2 num_kv_heads) head_dim)`` (query, key and
    value projections side by side, as flash-attn's ``Wqkv`` transposed), ``out_proj``.

    ``forward(x, context=None, *, mask=None)``: ``mask`` (boolean, True attends, or additive)
    broadcasts to ``(batch, num_heads, L, S)`` and combines with ``causal`` and the window.
    ``init_state``/``step`` decode one position at a time with a KV cache (causal self
    attention only); the rotary positions advance with it and a sliding window keeps only
    the ``left + 1`` newest keys. A query that sees no key gives NaN.

    Cost: ``O(L S dim)`` time, ``O(L S heads)`` memory where no fused kernel runs (a window
    of ``w`` only masks: still ``O(L S)``), ``O(dim^2)`` parameters; a decoding step is
    ``O(cached dim)``.

    >>> from ember_nn.mixers.sequence import Attention
    >>> layer = Attention(16, num_heads=4, rotary_emb_dim=4, window_size=[2, 2], key=0)
    >>> x = ember.reshape(ember.arange(2 * 5 * 16, dtype=ember.float32), (2, 5, 16)) / 100
    >>> y = layer(x)
    >>> y.shape, [round(v, 4) for v in y[0, -1, :3].tolist()]
    ((2, 5, 16), [-0.1354, 0.0587, -0.3441])
    >>> state = layer.init_state(2)
    >>> for t in range(5):
    ...     y_t, state = layer.step(x[:, t], state)
    >>> [round(v, 4) for v in y_t[0, :3].tolist()], state.keys.shape, state.position
    ([-0.1354, 0.0587, -0.3441], (2, 4, 3, 4), 5)
    """

    def __init__(self, dim: int, num_heads: int | None = None, *, causal: bool = True,
                 rotary_emb_dim: int = 0, dropout: float = 0.0,
                 window_size: Any = (-1, -1), num_kv_heads: int | None = None,
                 bias: bool = True, softmax_scale: float | None = None,
                 rotary_emb_base: float = 10000.0, rotary_emb_interleaved: bool = False,
                 n_heads: int | None = None, use_flash_attn: bool = True,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        name = "Attention"
        self.dim = positive_int(name, "dim", dim)
        if num_heads is not None and n_heads is not None and num_heads != n_heads:
            raise ConfigError(f"Attention: num_heads={num_heads!r} and n_heads={n_heads!r} "
                              f"disagree; n_heads is MAD-Lab's name for num_heads, give one")
        heads = positive_int(name, "num_heads", num_heads if num_heads is not None else
                             n_heads if n_heads is not None else 16)
        self._config.update(num_heads=heads, n_heads=None)  # one spelling in the config
        if dim % heads:
            raise ConfigError(f"Attention: dim {dim} is not divisible by num_heads {heads}; "
                              f"each head takes dim / num_heads features")
        kv = positive_int(name, "num_kv_heads", heads if num_kv_heads is None else num_kv_heads)
        if heads % kv:
            raise ConfigError(f"Attention: num_heads {heads} is not divisible by num_kv_heads "
                              f"{kv}; each key/value head serves num_heads / num_kv_heads "
                              f"query heads")
        self.num_heads, self.num_kv_heads, self.head_dim = heads, kv, dim // heads
        for flag, value in (("causal", causal), ("bias", bias), ("use_flash_attn", use_flash_attn),
                            ("rotary_emb_interleaved", rotary_emb_interleaved)):
            if not isinstance(value, bool):
                raise ConfigError(f"Attention: {flag} must be True or False, got {value!r}")
        self.causal = causal
        r = rotary_emb_dim
        if isinstance(r, bool) or not isinstance(r, int) or r < 0 or r % 2 or r > self.head_dim:
            raise ConfigError(f"Attention: rotary_emb_dim must be an even int in [0, head_dim="
                              f"{self.head_dim}] (dim / num_heads), got {r!r}")
        if isinstance(rotary_emb_base, bool) or not isinstance(rotary_emb_base, int | float) \
                or not rotary_emb_base > 0:
            raise ConfigError(f"Attention: rotary_emb_base must be a positive number, got "
                              f"{rotary_emb_base!r}")
        self.rotary_emb_dim, self.rotary_emb_base = r, float(rotary_emb_base)
        self.rotary_emb_interleaved = rotary_emb_interleaved
        self.window_size = _window(window_size)
        self._config["window_size"] = self.window_size  # (a list from JSON: the same)
        if softmax_scale is not None and (isinstance(softmax_scale, bool) or not isinstance(
                softmax_scale, int | float) or not softmax_scale > 0):
            raise ConfigError(f"Attention: softmax_scale must be None (1/sqrt(head_dim)) or a "
                              f"positive number, got {softmax_scale!r}")
        self.scale = 1.0 / math.sqrt(self.head_dim) if softmax_scale is None \
            else float(softmax_scale)
        rate = dropout_rate(name, dropout)
        k_in, k_out, k_drop = ember.random.split(next_key(key), 3)
        width = (heads + 2 * kv) * self.head_dim
        self.in_proj = Dense(dim, width, use_bias=bias, kernel_init=TORCH_LINEAR, dtype=dtype,
                             key=k_in)
        self.out_proj = Dense(dim, dim, use_bias=bias, kernel_init=TORCH_LINEAR, dtype=dtype,
                              key=k_out)
        self.dropout = Dropout(rate, key=k_drop) if rate else None

    @property
    def has_step(self) -> bool:
        """Whether the layer decodes step by step: when it is causal."""
        return self.causal

    # -- projections ------------------------------------------------------------------------
    def _project(self, x: ember.Tensor, start: int, stop: int) -> ember.Tensor:
        """``x`` through the columns ``start:stop`` of in_proj."""
        w, b = self.in_proj.weight, self.in_proj.bias
        y = ember.matmul(x, w[:, start:stop])
        return y if b is None else y + b[start:stop]

    def _heads(self, y: ember.Tensor, n: int) -> ember.Tensor:
        """``(batch, L, n * head_dim)`` -> ``(batch, n, L, head_dim)``."""
        y = ember.reshape(y, (*y.shape[:-1], n, self.head_dim))
        return ember.moveaxis(y, -2, -3)

    def _qkv(self, x: ember.Tensor, context: ember.Tensor | None, offset: int
             ) -> tuple[ember.Tensor, ember.Tensor, ember.Tensor]:
        dq, dk = self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        if context is None and self.num_kv_heads == self.num_heads:
            # q, k and v as one (batch, 3, heads, L, head_dim) tensor: q and k turn in one
            # rotary call (half the small ops of rotating them apart; the same numbers)
            y = self.in_proj(x)
            y = ember.moveaxis(ember.reshape(y, (*y.shape[:-1], 3, self.num_heads,
                                                 self.head_dim)), -4, -2)
            qk = y[:, :2]
            if self.rotary_emb_dim:
                qk = apply_rotary(qk, self.rotary_emb_dim, offset=offset,
                                  base=self.rotary_emb_base,
                                  interleaved=self.rotary_emb_interleaved)
            return qk[:, 0], qk[:, 1], y[:, 2]
        if context is None:
            y = self.in_proj(x)
            q, k, v = y[..., :dq], y[..., dq:dq + dk], y[..., dq + dk:]
        else:
            q = self._project(x, 0, dq)
            kv = self._project(context, dq, dq + 2 * dk)
            k, v = kv[..., :dk], kv[..., dk:]
        q = self._heads(q, self.num_heads)
        k = self._heads(k, self.num_kv_heads)
        v = self._heads(v, self.num_kv_heads)
        if self.rotary_emb_dim and context is None:
            rot: dict[str, Any] = {"offset": offset, "base": self.rotary_emb_base,
                   "interleaved": self.rotary_emb_interleaved}
            q = apply_rotary(q, self.rotary_emb_dim, **rot)
            k = apply_rotary(k, self.rotary_emb_dim, **rot)
        return q, k, v

    # -- attention ---------------------------------------------------------------------------
    def _attend(self, q: ember.Tensor, k: ember.Tensor, v: ember.Tensor, mask: Any,
                causal: bool) -> ember.Tensor:
        """``(batch, heads, L, head_dim)`` outputs of the queries over the keys and values
        (``num_kv_heads`` heads, repeated to serve their groups)."""
        group = self.num_heads // self.num_kv_heads
        if group > 1:
            k, v = ember.repeat(k, group, axis=-3), ember.repeat(v, group, axis=-3)
        left, right = self.window_size
        L, S = q.shape[-2], k.shape[-2]
        if mask is not None and not isinstance(mask, ember.Tensor):
            mask = ember.asarray(mask, backend=q.backend, device=q.device)
        dropping = self.dropout is not None and self.training
        if dropping or (not causal and (left >= 0 or right >= 0)):
            band = _band(L, S, causal, left, right, q)  # (flash-attn's window, both sides)
            if mask is None:
                mask = band
            elif mask.dtype is ember.bool:
                mask = mask & band
            else:
                mask = ember.where(band, ember.astype(mask, q.dtype), -math.inf)
            causal, window = False, None
        else:
            window = left + 1 if left >= 0 else None
        if not dropping:
            return ember.nn.scaled_dot_product_attention(q, k, v, mask=mask, is_causal=causal,
                                                         window=window, scale=self.scale)
        scores = ember.matmul(q, ember.matrix_transpose(k)) * self.scale
        scores = ember.where(mask, scores, -math.inf) if mask.dtype is ember.bool \
            else scores + mask
        assert self.dropout is not None
        return ember.matmul(self.dropout(ember.nn.softmax(scores, axis=-1)), v)

    def _out(self, o: ember.Tensor) -> ember.Tensor:
        o = ember.moveaxis(o, -3, -2)  # (batch, L, heads, head_dim)
        return self.out_proj(ember.reshape(o, (*o.shape[:-2], self.dim)))

    def forward(self, x: Any, context: Any = None, *, mask: Any = None) -> ember.Tensor:
        x = check_sequence("Attention", x, self.dim)
        if context is not None:
            context = check_sequence("Attention (context)", context, self.dim)
            if context.shape[0] != x.shape[0]:
                raise ember.ShapeError(f"Attention: context of shape {context.shape} and input "
                                       f"of shape {x.shape} have different batch sizes")
        q, k, v = self._qkv(x, context, 0)
        return self._out(self._attend(q, k, v, mask, self.causal))

    # -- decoding ----------------------------------------------------------------------------
    def init_state(self, batch: int, dtype: Any = None) -> KVCache:
        """An empty KV cache for ``batch`` sequences (keys and values ``(batch, num_kv_heads,
        0, head_dim)``, in ``dtype`` or the layer's)."""
        if not self.causal:
            raise ember.UnsupportedError("Attention: a non-causal layer has no step form (each "
                                         "output reads later positions); build it with "
                                         "causal=True to decode step by step")
        batch = positive_int("Attention.init_state", "batch", batch)
        w = self.in_proj.weight
        d = w.dtype if dtype is None else dtype
        empty = ember.zeros((batch, self.num_kv_heads, 0, self.head_dim), dtype=d,
                            backend=w.backend, device=w.device)
        return KVCache(empty, empty, 0)

    def step(self, x_t: Any, state: KVCache) -> tuple[ember.Tensor, KVCache]:
        """One position ``(batch, dim)`` and the cache before it -> its output and the cache
        with its key and value appended (equal to ``forward`` on the whole sequence)."""
        if not self.causal:
            self.init_state(1)  # raises
        x_t = check_step("Attention", x_t, self.dim)
        keys, values, position = state
        if keys.shape[0] != x_t.shape[0]:
            raise ember.ShapeError(f"Attention.step: input of shape {x_t.shape} does not fit "
                                   f"a cache for batch {keys.shape[0]}")
        q, k, v = self._qkv(ember.expand_dims(x_t, axis=1), None, position)
        keys = ember.concat([keys, ember.astype(k, keys.dtype)], axis=-2)
        values = ember.concat([values, ember.astype(v, values.dtype)], axis=-2)
        left = self.window_size[0]
        if 0 <= left < keys.shape[-2] - 1:  # the newest left + 1 are all a query sees
            keys, values = keys[..., -(left + 1):, :], values[..., -(left + 1):, :]
        o = self._attend(q, keys, values, None, True)
        return self._out(o)[:, 0], KVCache(keys, values, position + 1)

    def extra_repr(self) -> str:
        return brief_repr(self)
