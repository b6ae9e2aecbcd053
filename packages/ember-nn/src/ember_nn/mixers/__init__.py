"""MAD's layers (Poli et al. 2024): sequence mixers (``ember_nn.mixers.sequence``) and channel
mixers (``ember_nn.mixers.channel``), both ``(batch, length, dim) -> (batch, length, dim)``;
``ember_nn.blocks`` combines them into residual blocks and models."""

from __future__ import annotations

import sys

from . import channel as channel
from . import sequence as sequence
from ._base import ChannelMixer as ChannelMixer
from ._base import SequenceMixer as SequenceMixer
from ._lazy import lazy_exports

_TABLE = {**{n: ".sequence" for n in sequence._TABLE}, **{n: ".channel" for n in channel._TABLE}}
__getattr__, __dir__ = lazy_exports(__name__, _TABLE)


def import_all() -> None:
    """Import every mixer module, so that configs can name any mixer class (``deserialize``)."""
    for name in _TABLE:
        getattr(sys.modules[__name__], name)


__all__ = ["ChannelMixer", "SequenceMixer", "channel", "sequence", *_TABLE]
