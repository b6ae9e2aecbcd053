"""Blocks and models: ``Block`` (a residual block around a sequence mixer and a channel mixer)
and its named forms, MAD-Lab's layer names (``build_layer``), the ``LanguageModel`` and
``AutoEncoder`` backbones built from layer-name lists, and ``SequenceRegressor`` (a recurrent
layer and a Dense head, the elapsed time between steps optionally read from the last input
feature)."""

from ._auto_encoder import AutoEncoder as AutoEncoder
from ._block import Block as Block
from ._language_model import LanguageModel as LanguageModel
from ._named import HyenaBlock as HyenaBlock
from ._named import MambaBlock as MambaBlock
from ._named import MLPBlock as MLPBlock
from ._named import TransformerBlock as TransformerBlock
from ._registry import build_layer as build_layer
from ._registry import layer_names as layer_names
from ._sequence import SequenceRegressor as SequenceRegressor

__all__ = ["AutoEncoder", "Block", "HyenaBlock", "LanguageModel", "MLPBlock", "MambaBlock",
           "SequenceRegressor", "TransformerBlock", "build_layer", "layer_names"]
