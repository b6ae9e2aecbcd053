"""The random topic: explicit keys and one generator (Philox4x32-10) written in ember ops, so
every backend draws the same numbers (``ember.random`` documents the guarantees), and
``nn.dropout`` built on it.

Modules: ``_keys`` (keys, split, fold_in), ``_philox`` (the generator in ember ops),
``_philox_numpy`` (the same generator in NumPy, for backends' fast kernels), ``_bits`` (raw
words and the unit-interval planes), ``_floats`` (uniform, normal, truncated_normal),
``_discrete`` (randint, bernoulli, categorical, permutation), ``_dropout``.
"""

from __future__ import annotations

from ._bits import bits
from ._discrete import bernoulli, categorical, permutation, randint
from ._dropout import dropout
from ._floats import normal, truncated_normal, uniform
from ._keys import Key, fold_in, key, split

__all__ = ["Key", "bernoulli", "bits", "categorical", "dropout", "fold_in", "key", "normal",
           "permutation", "randint", "split", "truncated_normal", "uniform"]
