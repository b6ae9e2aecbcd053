"""Sequence mixers (MAD's token mixers): attention (multi-head, sliding window, rotary,
grouped-query, cross, KV cache), linear and gated linear attention, Hyena (and its multi-head
and experts forms), Mamba, RWKV time mixing, and the recurrent and liquid layers as mixers.
Each module is imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._base import SequenceMixer as SequenceMixer
from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._attention import Attention as Attention
    from ._gated_linear_attention import GatedLinearAttention as GatedLinearAttention
    from ._hyena import Hyena as Hyena
    from ._hyena_experts import HyenaExperts as HyenaExperts
    from ._linear_attention import LinearAttention as LinearAttention
    from ._mamba import Mamba as Mamba
    from ._multihead_hyena import MultiHeadHyena as MultiHeadHyena
    from ._recurrent import RecurrentMixer as RecurrentMixer
    from ._rwkv import RWKV5TimeMix as RWKV5TimeMix
    from ._rwkv import RWKV6TimeMix as RWKV6TimeMix

_TABLE = {
    "Attention": "._attention",
    "LinearAttention": "._linear_attention",
    "GatedLinearAttention": "._gated_linear_attention",
    "Hyena": "._hyena",
    "MultiHeadHyena": "._multihead_hyena",
    "HyenaExperts": "._hyena_experts",
    "Mamba": "._mamba",
    "RWKV6TimeMix": "._rwkv",
    "RWKV5TimeMix": "._rwkv",
    "RecurrentMixer": "._recurrent",
}
__getattr__, __dir__ = lazy_exports(__name__, _TABLE)
__all__ = ["SequenceMixer", *_TABLE]
