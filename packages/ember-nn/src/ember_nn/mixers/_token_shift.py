"""What the RWKV mixers share: RWKV's token shift (each position sees the one before it) and
the init ramps of RWKV's mixing coefficients."""

from __future__ import annotations

from typing import Any

import ember

from .._core._errors import ConfigError
from ..layers._support import new_variable, positive_int

__all__ = ["check_layer_position", "constant_variable", "ramp", "token_shift"]


def token_shift(x: ember.Tensor, prev: ember.Tensor | None = None) -> ember.Tensor:
    """``x`` ``(batch, length, dim)`` moved one position later: position ``t`` holds
    ``x[:, t - 1]``, position 0 ``prev`` ``(batch, dim)`` (zeros when None: the start of a
    sequence), as RWKV's ``nn.ZeroPad2d((0, 0, 1, -1))``."""
    first = ember.zeros((x.shape[0], 1, x.shape[2]), dtype=x.dtype, backend=x.backend,
                        device=x.device) if prev is None else prev[:, None, :]
    return ember.concat([first, x[:, :-1]], axis=1)


def check_layer_position(layer: str, n_layer: Any, layer_id: Any) -> tuple[int, int]:
    """``(n_layer, layer_id)`` if ``0 <= layer_id < n_layer``, else a ConfigError."""
    n_layer = positive_int(layer, "n_layer", n_layer)
    if isinstance(layer_id, bool) or not isinstance(layer_id, int) or \
            not 0 <= layer_id < n_layer:
        raise ConfigError(f"{layer}: layer_id must be an int in [0, n_layer) = [0, {n_layer}), "
                          f"got {layer_id!r}")
    return n_layer, layer_id


def ramp(n: int, power: float, denominator: int | None = None) -> list[float]:
    """``(i / denominator) ** power`` for ``i < n`` (denominator ``n`` by default): RWKV's
    ``ddd`` ramps, from which its mixing and decay coefficients start."""
    den = n if denominator is None else max(denominator, 1)
    return [(i / den) ** power for i in range(n)]


def constant_variable(layer: str, values: list[float], shape: tuple[int, ...],
                      dtype: ember.DType, name: str) -> ember.Variable:
    """A variable holding ``values`` (row-major, ``shape``), a placeholder under deferred
    init."""
    def fn(key: Any, s: tuple[int, ...], d: ember.DType) -> ember.Tensor:
        return ember.reshape(ember.asarray(values, dtype=d), s)
    return new_variable(layer, fn, None, shape, dtype, name)
