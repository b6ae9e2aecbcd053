"""``ember.random``: explicit keys, and the same numbers for the same key on every backend.

A :class:`Key` is a 64-bit value; :func:`split` and :func:`fold_in` derive new keys with the
SplitMix64 mixer (in Python). Numbers come from one generator, Philox4x32-10, written once in
ember ops on integer tensors (``ember/ops/_random/_philox.py``), so NumPy, PyTorch, MLX and any
plugin backend compute the same stream, on every device, run after run:

- **bit-identical on every backend:** :func:`bits`, :func:`uniform`, :func:`randint`,
  :func:`bernoulli`, :func:`permutation`, and what is built on them (``ember.nn.dropout``
  masks, ``ember_nn``'s uniform initialisers, the Trainer's shuffling). Floats are built from
  bits exactly (float32: 24 bits times 2**-24; float64: 53 bits; float16/bfloat16: the
  float32 draw rounded, kept below 1) and comparisons are exact.
- **identical to a few units in the last place:** :func:`normal` (Box-Muller, through
  ``log``, ``cos`` and ``sin``) and :func:`truncated_normal` (inverse CDF, through ``erfinv``),
  whose implementations differ that much between backends; :func:`categorical` (Gumbel-max,
  through ``log``) agrees except on near-ties.

Element i of a draw of n elements takes word i of each *plane* it needs (plane p: words
``p*n .. p*n + n - 1`` of the key's stream): float32, bits and bernoulli one plane, float64 and
permutation two, randint two (ranges up to 2**32) or three, complex dtypes twice their real
dtype's; normal draws take one uniform pair per two elements. So a float32 uniform draw is the
start of a longer one, and is the float64 draw with its low bits cut off; for independent
draws use :func:`split`.

>>> k1, k2 = ember.random.split(ember.random.key(0))
>>> ember.random.uniform(k1, (2,)).shape
(2,)
"""

from __future__ import annotations

from ..ops._random import (
    Key,
    bernoulli,
    bits,
    categorical,
    fold_in,
    key,
    normal,
    permutation,
    randint,
    split,
    truncated_normal,
    uniform,
)

__all__ = ["Key", "bernoulli", "bits", "categorical", "fold_in", "key", "normal", "permutation",
           "randint", "split", "truncated_normal", "uniform"]
