"""MAD-Lab's backbone initialisation. Its ``LanguageModel`` and ``AutoEncoder`` end their
constructors with ``self.apply(self._init_weights)``, which reaches every ``nn.Linear`` of the
model, the mixers' included:

- ``LanguageModel``: every Linear bias to zero (Mamba's ``dt_proj`` bias, marked
  ``_no_reinit``, keeps its own init); the weights keep their layer's init.
- ``AutoEncoder``: every Linear weight N(0, 0.02) and every bias zero, ``dt_proj``'s too.

ember's ``Dense`` is MAD-Lab's ``nn.Linear``; a ``Dense`` with ``keep_bias_init`` set (Mamba's
``dt_proj``) is the ``_no_reinit`` one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ember

from .. import init
from .._core._module import Module
from ..layers._dense import Dense
from ..layers._support import new_variable

__all__ = ["LINEAR_INIT_STD", "mad_autoencoder_init", "mad_language_model_init"]

#: MAD-Lab's ``initializer_range``: the std of its auto-encoder's Linear weights
LINEAR_INIT_STD = 0.02


def _dense_layers(modules: Sequence[Module]) -> list[Dense]:
    found: dict[int, Dense] = {}
    for module in modules:
        for _, m in module.named_modules():
            if isinstance(m, Dense):
                found.setdefault(id(m), m)
    return list(found.values())


def _zero_bias(layer: Dense) -> None:
    if layer.bias is not None:
        layer.bias = new_variable("Dense", init.zeros, None, layer.bias.shape, layer.bias.dtype,
                                  "bias")


def mad_language_model_init(blocks: Sequence[Module]) -> None:
    """Zero the bias of every ``Dense`` in ``blocks`` but those with ``keep_bias_init``."""
    for layer in _dense_layers(blocks):
        if not layer.keep_bias_init:
            _zero_bias(layer)


def mad_autoencoder_init(blocks: Sequence[Module], key: Any) -> None:
    """Draw the weight of every ``Dense`` in ``blocks`` from N(0, 0.02) (one key each, folded
    from ``key`` in module order) and zero every bias."""
    for i, layer in enumerate(_dense_layers(blocks)):
        w = layer.weight
        layer.weight = new_variable(
            "Dense", lambda k, s, d: init.normal(k, s, d, stddev=LINEAR_INIT_STD),
            ember.random.fold_in(key, i), w.shape, w.dtype, "weight")
        _zero_bias(layer)
