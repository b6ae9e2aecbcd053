"""Training: ``value_and_grad(model, fn)``, the ``Trainer`` and ``fit``, callbacks, in-memory
data batching, the progress bar, whole-step compilation (``compile_step``), mixed precision (``MixedPrecision``, ``LossScaler``) and data parallelism (``DataParallel``, ``Trainer(distributed=True)``)."""

from ._callbacks import Callback as Callback
from ._callbacks import CSVLogger as CSVLogger
from ._callbacks import EarlyStopping as EarlyStopping
from ._callbacks import ModelCheckpoint as ModelCheckpoint
from ._callbacks import TerminateOnNaN as TerminateOnNaN
from ._compile_step import CompiledStep as CompiledStep
from ._compile_step import compile_step as compile_step
from ._data import ArrayData as ArrayData
from ._data_parallel import DataParallel as DataParallel
from ._history import History as History
from ._loss_scale import LossScaler as LossScaler
from ._precision import PRECISION_MODES as PRECISION_MODES
from ._precision import MixedPrecision as MixedPrecision
from ._trainer import PRECISIONS as PRECISIONS
from ._trainer import Trainer as Trainer
from ._trainer import fit as fit
from ._value_and_grad import value_and_grad as value_and_grad

__all__ = ["ArrayData", "CSVLogger", "Callback", "CompiledStep", "compile_step", "DataParallel", "EarlyStopping", "History", "LossScaler",
           "MixedPrecision", "ModelCheckpoint", "PRECISIONS", "PRECISION_MODES", "TerminateOnNaN",
           "Trainer", "fit", "value_and_grad"]
