"""The two kinds of MAD layer (Poli et al. 2024, "Mechanistic Design and Scaling of Hybrid
Architectures"): a ``SequenceMixer`` mixes information across the positions of a sequence, a
``ChannelMixer`` across the features of each position. Both map ``(batch, length, dim)`` to
``(batch, length, dim)``, so a block can stack any pair of them, and both have a recurrent
form, ``step(x_t, state) -> (y_t, state)`` on one position ``(batch, dim)``, wherever the layer
has one (a stateless channel mixer steps trivially), which is what decoding runs."""

from __future__ import annotations

from typing import Any

import ember

from .._core._module import Module

__all__ = ["ChannelMixer", "SequenceMixer", "check_sequence", "check_step"]


def check_sequence(layer: str, x: Any, dim: int) -> ember.Tensor:
    """``x`` as a tensor if it is a floating ``(batch, length, dim)`` sequence, else a
    ShapeError or DTypeError naming the layer and what it got."""
    x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
    if x.ndim != 3 or x.shape[-1] != dim:
        raise ember.ShapeError(f"{layer}: input of shape {x.shape} must be (batch, length, {dim}) "
                               f"(the layer's dim on the last axis)")
    if not x.dtype.is_floating:
        raise ember.DTypeError(f"{layer}: input must be floating point, got {x.dtype}; cast with "
                               f".astype(ember.float32)")
    return x


def check_step(layer: str, x_t: Any, dim: int) -> ember.Tensor:
    """``x_t`` as a tensor if it is one floating position ``(batch, dim)``, else an error."""
    x_t = x_t if isinstance(x_t, ember.Tensor) else ember.asarray(x_t)
    if x_t.ndim != 2 or x_t.shape[-1] != dim:
        raise ember.ShapeError(f"{layer}.step: input of shape {x_t.shape} must be one position "
                               f"(batch, {dim})")
    if not x_t.dtype.is_floating:
        raise ember.DTypeError(f"{layer}.step: input must be floating point, got {x_t.dtype}")
    return x_t


class SequenceMixer(Module):
    """Base of the sequence mixers: ``mixer(x)`` maps ``(batch, length, dim)`` to the same shape.

    Subclasses set ``self.dim`` and ``self.causal`` (output ``t`` reads inputs ``<= t`` only)
    and define ``forward``; a mixer with a recurrent form also defines ``init_state(batch,
    dtype=None)`` and ``step(x_t, state) -> (y_t, state)``, whose outputs, fed the sequence one
    position at a time from ``init_state``, equal ``forward``'s.
    """

    dim: int
    causal: bool = True

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    @property
    def has_step(self) -> bool:
        """Whether the mixer has a recurrent form (``step``)."""
        return type(self).step is not SequenceMixer.step

    def init_state(self, batch: int, dtype: Any = None) -> Any:
        """The state before the first position (``step``'s second argument)."""
        raise ember.UnsupportedError(f"{type(self).__name__} has no recurrent form (no step); "
                                     f"run it on whole sequences")

    def step(self, x_t: ember.Tensor, state: Any) -> tuple[ember.Tensor, Any]:
        """One position ``(batch, dim)`` and the state before it -> its output and the state
        after it."""
        raise ember.UnsupportedError(f"{type(self).__name__} has no recurrent form (no step); "
                                     f"run it on whole sequences")


class ChannelMixer(Module):
    """Base of the channel mixers: ``mixer(x)`` maps ``(..., dim)`` to ``(..., dim)``, each
    position on its own (unless a subclass says otherwise, as RWKV's channel mix, which also
    reads the previous position, does). ``step`` runs one position; a stateless mixer's state
    is None."""

    dim: int

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    has_step = True

    def init_state(self, batch: int, dtype: Any = None) -> Any:
        return None

    def step(self, x_t: ember.Tensor, state: Any) -> tuple[ember.Tensor, Any]:
        return self(x_t), state
