"""Rotary position embeddings (Su et al. 2021, "RoFormer: Enhanced Transformer with Rotary
Position Embedding"), on the first ``rotary_dim`` features of each head.

Position ``p`` turns each pair of features ``(x_a, x_b)`` by the angle ``p * theta_i``, with
``theta_i = base ** (-2 i / rotary_dim)`` for ``i < rotary_dim / 2``::

    x_a' = x_a cos(p theta_i) - x_b sin(p theta_i)
    x_b' = x_b cos(p theta_i) + x_a sin(p theta_i)

so that ``<R(p) q, R(s) k>`` depends on ``p - s`` only. Which features pair up is a
convention: the default (``interleaved=False``, GPT-NeoX's and flash-attn's
``RotaryEmbedding`` default, hence MAD-Lab's) pairs feature ``i`` with ``i + rotary_dim / 2``
(the first half with the second half); ``interleaved=True`` (GPT-J's, the RoFormer paper's)
pairs ``2 i`` with ``2 i + 1``. Features from ``rotary_dim`` on pass unchanged (partial
rotary). The angles are computed in float32 (float64 for float64 inputs) and the tables
cast to the input's dtype, as flash-attn does.
"""

from __future__ import annotations

from typing import Any

import ember

__all__ = ["apply_rotary", "rotary_tables"]


#: the tables built outside compiled programs, by (backend, device, dtype, length, rotary dim,
#: offset, base): a layer reuses them every step (a trace builds its own: they are values of it)
_TABLES: dict[tuple[Any, ...], tuple[ember.Tensor, ember.Tensor]] = {}
_TABLES_LIMIT = 64


def rotary_tables(length: int, rotary_dim: int, *, offset: int = 0, base: float = 10000.0,
                  like: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor]:
    """``(cos, sin)``, each ``(length, rotary_dim // 2)``: ``cos(p theta_i)`` and
    ``sin(p theta_i)`` for the positions ``p = offset .. offset + length - 1``, on the backend
    and device of ``like`` and in its dtype (computed in float32, or float64 for float64)."""
    if ember.compiling():
        return _tables(length, rotary_dim, offset, base, like)
    key = (like.backend, str(like.device), like.dtype, length, rotary_dim, offset, base)
    found = _TABLES.get(key)
    if found is None:
        if len(_TABLES) >= _TABLES_LIMIT:
            _TABLES.clear()
        found = _TABLES[key] = _tables(length, rotary_dim, offset, base, like)
    return found


def _tables(length: int, rotary_dim: int, offset: int, base: float, like: ember.Tensor
            ) -> tuple[ember.Tensor, ember.Tensor]:
    work = ember.float64 if like.dtype is ember.float64 else ember.float32
    half = rotary_dim // 2
    inv_freq = ember.asarray([base ** (-2.0 * i / rotary_dim) for i in range(half)],
                             dtype=work, backend=like.backend, device=like.device)
    pos = ember.arange(offset, offset + length, dtype=work, backend=like.backend,
                       device=like.device)
    angles = ember.reshape(pos, (length, 1)) * inv_freq
    cos, sin = ember.cos(angles), ember.sin(angles)
    if work is not like.dtype:
        cos, sin = ember.astype(cos, like.dtype), ember.astype(sin, like.dtype)
    return cos, sin


def apply_rotary(x: Any, rotary_dim: int, *, offset: int = 0, base: float = 10000.0,
                 interleaved: bool = False) -> ember.Tensor:
    """``x`` ``(..., length, head_dim)`` with its first ``rotary_dim`` features rotated by
    the positions ``offset .. offset + length - 1`` (axis -2); the others unchanged.

    ``rotary_dim`` is even and at most ``head_dim`` (0 returns ``x``); ``offset`` is the
    position of the first row (the number of positions already decoded, for a KV cache).

    >>> from ember_nn.mixers.sequence._rotary import apply_rotary
    >>> x = ember.ones((1, 3, 4))
    >>> [round(v, 4) for v in apply_rotary(x, 2)[0, 1].tolist()]
    [-0.3012, 1.3818, 1.0, 1.0]
    >>> [round(v, 4) for v in apply_rotary(x[:, 1:2], 2, offset=1)[0, 0].tolist()]
    [-0.3012, 1.3818, 1.0, 1.0]
    """
    x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
    if isinstance(rotary_dim, bool) or not isinstance(rotary_dim, int) or rotary_dim < 0 \
            or rotary_dim % 2 or x.ndim < 2 or rotary_dim > x.shape[-1]:
        raise ember.ArgumentError(
            f"apply_rotary: rotary_dim must be an even int in [0, head_dim], got {rotary_dim!r} "
            f"for input of shape {x.shape} (head_dim is the last axis)")
    if rotary_dim == 0:
        return x
    cos, sin = rotary_tables(x.shape[-2], rotary_dim, offset=offset, base=base, like=x)
    half, lead = rotary_dim // 2, x.shape[:-1]
    rot = x[..., :rotary_dim]
    if interleaved:  # pairs (2i, 2i + 1)
        pairs = ember.reshape(rot, (*lead, half, 2))
        a, b = pairs[..., 0], pairs[..., 1]
    else:  # pairs (i, i + rotary_dim / 2)
        a, b = rot[..., :half], rot[..., half:]
    a2, b2 = a * cos - b * sin, b * cos + a * sin
    if interleaved:
        out = ember.reshape(ember.stack([a2, b2], axis=-1), (*lead, rotary_dim))
    else:
        out = ember.concat([a2, b2], axis=-1)
    if rotary_dim == x.shape[-1]:
        return out
    return ember.concat([out, x[..., rotary_dim:]], axis=-1)
