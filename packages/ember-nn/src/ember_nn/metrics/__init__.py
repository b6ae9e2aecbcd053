"""Metrics: functions of a batch and streaming objects that accumulate exact counts over
batches; ``get`` and ``streaming`` resolve them by name."""

from ._batch import accuracy as accuracy
from ._batch import binary_accuracy as binary_accuracy
from ._batch import confusion_matrix as confusion_matrix
from ._batch import macro_accuracy as macro_accuracy
from ._names import get as get
from ._names import streaming as streaming
from ._streaming import Accuracy as Accuracy
from ._streaming import BinaryAccuracy as BinaryAccuracy
from ._streaming import MacroAccuracy as MacroAccuracy
from ._streaming import Mean as Mean

__all__ = ["Accuracy", "BinaryAccuracy", "MacroAccuracy", "Mean", "accuracy", "binary_accuracy",
           "confusion_matrix", "get", "macro_accuracy", "streaming"]
