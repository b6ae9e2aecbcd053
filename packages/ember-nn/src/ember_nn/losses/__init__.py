"""Losses: plain functions ``(predictions, targets, *, reduction=...)`` and thin Module shells;
``get`` resolves a loss by name, ``name_of`` gives the name of one."""

from ._cross_entropy import BinaryCrossEntropyLoss as BinaryCrossEntropyLoss
from ._cross_entropy import CategoricalCrossEntropyLoss as CategoricalCrossEntropyLoss
from ._cross_entropy import SparseCategoricalCrossEntropyLoss as SparseCategoricalCrossEntropyLoss
from ._cross_entropy import binary_cross_entropy as binary_cross_entropy
from ._cross_entropy import categorical_cross_entropy as categorical_cross_entropy
from ._cross_entropy import sparse_categorical_cross_entropy as sparse_categorical_cross_entropy
from ._names import get as get
from ._names import name_of as name_of
from ._regression import HuberLoss as HuberLoss
from ._regression import MAELoss as MAELoss
from ._regression import MSELoss as MSELoss
from ._regression import huber as huber
from ._regression import mae as mae
from ._regression import mse as mse

__all__ = ["BinaryCrossEntropyLoss", "CategoricalCrossEntropyLoss", "HuberLoss", "MAELoss",
           "MSELoss", "SparseCategoricalCrossEntropyLoss", "binary_cross_entropy",
           "categorical_cross_entropy", "get", "huber", "mae", "mse", "name_of",
           "sparse_categorical_cross_entropy"]
