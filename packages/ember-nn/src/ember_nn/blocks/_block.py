"""``Block``: a residual block around a sequence mixer and (optionally) a channel mixer, the unit
MAD stacks (Poli et al. 2024); its named forms ``TransformerBlock``, ``MambaBlock``,
``HyenaBlock`` and ``MLPBlock``."""

from __future__ import annotations

from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ..layers._dense import Dense
from ..layers._dropout import Dropout
from ..layers._mlp import MLP
from ..layers._norm import LayerNorm, RMSNorm
from ..layers._support import brief_repr
from ..mixers._base import ChannelMixer, SequenceMixer, check_sequence, check_step

__all__ = ["NORMS", "Block", "make_norm", "mixer_step"]

NORMS = ("rms", "layer")
#: modules a block steps one position at a time without a state of their own
_PER_POSITION = (ChannelMixer, MLP, Dense)


def make_norm(layer: str, norm: Any, dim: int) -> Module:
    """The normalisation ``norm`` names over ``dim`` features: ``"rms"`` (RMSNorm, eps 1e-5 as
    MAD-Lab's) or ``"layer"`` (LayerNorm, eps 1e-5)."""
    if norm == "rms":
        return RMSNorm(dim, eps=1e-5)
    if norm == "layer":
        return LayerNorm(dim, eps=1e-5)
    raise ConfigError(f"{layer}: norm must be one of {list(NORMS)}, got {norm!r}")


def _check_mixer(layer: str, what: str, mixer: Any) -> Module:
    if isinstance(mixer, (SequenceMixer, *_PER_POSITION)):
        return mixer
    raise ConfigError(f"{layer}: {what} must be a sequence mixer, a channel mixer "
                      f"(ember_nn.mixers), an MLP or a Dense layer, got {type(mixer).__name__}; "
                      f"wrap other layers in a SequenceMixer or ChannelMixer subclass")


def _dim_of(mixer: Module) -> int | None:
    """The width of a mixer: its ``dim``; a Dense's or an MLP's, where its input and output
    widths agree (None otherwise)."""
    if isinstance(mixer, MLP):
        first, last = mixer.layers[0], mixer.layers[-1]
        return first.in_features if first.in_features == last.out_features else None
    if isinstance(mixer, Dense):
        return mixer.in_features if mixer.in_features == mixer.out_features else None
    value = getattr(mixer, "dim", None)
    return value if isinstance(value, int) else None


def mixer_step(mixer: Module, x_t: ember.Tensor, state: Any) -> tuple[ember.Tensor, Any]:
    """One position through a mixer: its ``step``, or a per-position layer called as it is."""
    if isinstance(mixer, SequenceMixer | ChannelMixer):
        return mixer.step(x_t, state)
    return mixer(x_t), state


def _init_state(mixer: Module | None, batch: int, dtype: Any) -> Any:
    if isinstance(mixer, SequenceMixer | ChannelMixer):
        return mixer.init_state(batch, dtype)
    return None


class Block(Module):
    """A residual block: ``x + mixer(norm(x))``, then ``+ channel_mixer(norm(.))`` if given.

    With ``prenorm=True`` (the default, as MAD-Lab and most modern models)::

        h = x + dropout(mixer(norm_1(x)))
        y = h + dropout(channel_mixer(norm_2(h)))

    and with ``prenorm=False`` (the original Transformer's post-norm)::

        h = norm_1(x + dropout(mixer(x)))
        y = norm_2(h + dropout(channel_mixer(h)))

    Arguments:
        mixer: a sequence mixer (``ember_nn.mixers.sequence``), or a channel mixer / MLP /
            Dense when the block holds a channel mixer only (MAD-Lab makes one residual block
            of every layer in its layer list, sequence and channel mixers alike).
        channel_mixer: the optional second sub-block: a channel mixer, MLP or Dense.
        norm: ``"rms"`` (RMSNorm, MAD-Lab's) or ``"layer"`` (LayerNorm).
        prenorm: normalise before each sub-block (True) or after the residual sum (False).
        dropout: the residual dropout rate after each sub-block (training mode only).

    Input and output are ``(batch, length, dim)``. ``init_state(batch)``/``step(x_t,
    state)`` run one position ``(batch, dim)`` when the mixer has a recurrent form.

    >>> from ember_nn.mixers import SwiGLU
    >>> block = ember_nn.blocks.Block(ember_nn.MLP(8, [16], 8, key=0), SwiGLU(8, key=1))
    >>> block(ember.ones((2, 5, 8))).shape
    (2, 5, 8)
    """

    def __init__(self, mixer: Module, channel_mixer: Module | None = None, *,
                 norm: str = "rms", prenorm: bool = True, dropout: float = 0.0,
                 key: Any = None) -> None:
        super().__init__()
        self.mixer = _check_mixer("Block", "mixer", mixer)
        self.channel_mixer = (None if channel_mixer is None else
                              _check_mixer("Block", "channel_mixer", channel_mixer))
        dim = _dim_of(self.mixer)
        if dim is None:
            raise ConfigError(f"Block: the mixer {type(mixer).__name__} must map a width to "
                              f"itself (a mixer's `dim`, or an MLP/Dense with equal input and "
                              f"output features)")
        other = None if self.channel_mixer is None else _dim_of(self.channel_mixer)
        if self.channel_mixer is not None and other != dim:
            raise ConfigError(f"Block: the mixer is {dim} wide but the channel mixer "
                              f"{type(channel_mixer).__name__} is {other} wide; they must match")
        self.dim = dim
        self.prenorm = bool(prenorm)
        self.norm_1 = make_norm("Block", norm, dim)
        self.norm_2 = None if self.channel_mixer is None else make_norm("Block", norm, dim)
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) \
                or not 0.0 <= dropout < 1.0:
            raise ConfigError(f"Block: dropout must be a number in [0, 1), got {dropout!r}")
        self.dropout = Dropout(dropout, key=next_key(key)) if dropout else None

    @property
    def causal(self) -> bool:
        """Whether the block's output at ``t`` reads inputs ``<= t`` only."""
        return not isinstance(self.mixer, SequenceMixer) or self.mixer.causal

    @property
    def has_step(self) -> bool:
        """Whether the block has a recurrent form (its sequence mixer's ``step``)."""
        return not isinstance(self.mixer, SequenceMixer) or self.mixer.has_step

    def _sub(self, x: ember.Tensor, norm: Module, f: Any) -> ember.Tensor:
        if self.prenorm:
            y = f(norm(x))
            return x + (y if self.dropout is None else self.dropout(y))
        y = f(x)
        return norm(x + (y if self.dropout is None else self.dropout(y)))

    def forward(self, x: Any) -> ember.Tensor:
        x = check_sequence("Block", x, self.dim)
        x = self._sub(x, self.norm_1, self.mixer)
        if self.channel_mixer is not None and self.norm_2 is not None:
            x = self._sub(x, self.norm_2, self.channel_mixer)
        return x

    def init_state(self, batch: int, dtype: Any = None) -> tuple[Any, Any]:
        """The state before the first position: the mixers' states."""
        if isinstance(self.mixer, SequenceMixer) and not self.mixer.has_step:
            self.mixer.init_state(batch, dtype)  # raises, naming the mixer
        return (_init_state(self.mixer, batch, dtype),
                _init_state(self.channel_mixer, batch, dtype))

    def step(self, x_t: Any, state: tuple[Any, Any]) -> tuple[ember.Tensor, tuple[Any, Any]]:
        """One position ``(batch, dim)`` through the block (as ``forward`` at that position)."""
        x_t = check_step("Block", x_t, self.dim)
        m_state, c_state = state
        new: dict[str, Any] = {}

        def mix(h: ember.Tensor) -> ember.Tensor:
            y, new["mixer"] = mixer_step(self.mixer, h, m_state)
            return y

        def channel_mix(h: ember.Tensor) -> ember.Tensor:
            assert self.channel_mixer is not None
            y, new["channel"] = mixer_step(self.channel_mixer, h, c_state)
            return y

        x = self._sub(x_t, self.norm_1, mix)
        if self.channel_mixer is not None and self.norm_2 is not None:
            x = self._sub(x, self.norm_2, channel_mix)
        return x, (new["mixer"], new.get("channel", c_state))

    def extra_repr(self) -> str:
        return brief_repr(self)
