"""Channel mixers (MAD's state mixers): the GLU family (GLU, SwiGLU, GeGLU, ReGLU), mixture of
experts, and RWKV's channel mix; ``ember_nn.MLP`` is the plain one. Each module is imported on
first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._base import ChannelMixer as ChannelMixer
from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._glu import GLU as GLU
    from ._glu import GeGLU as GeGLU
    from ._glu import ReGLU as ReGLU
    from ._glu import SwiGLU as SwiGLU
    from ._moe import MoE as MoE
    from ._rwkv import RWKV5ChannelMix as RWKV5ChannelMix
    from ._rwkv import RWKV6ChannelMix as RWKV6ChannelMix

_TABLE = {
    "GLU": "._glu",
    "SwiGLU": "._glu",
    "GeGLU": "._glu",
    "ReGLU": "._glu",
    "MoE": "._moe",
    "RWKV6ChannelMix": "._rwkv",
    "RWKV5ChannelMix": "._rwkv",
}
__getattr__, __dir__ = lazy_exports(__name__, _TABLE)
__all__ = ["ChannelMixer", *_TABLE]
