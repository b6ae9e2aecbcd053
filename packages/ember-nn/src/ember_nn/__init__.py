"""ember-nn: backend-agnostic neural-network modules for Ember.

Written against ``ember`` only: it never imports NumPy, PyTorch or MLX, so the same model
builds, trains and checkpoints on every backend.

>>> model = ember_nn.Sequential(ember_nn.Dense(4, 8, activation="relu", key=0),
...                             ember_nn.Dense(8, 2, key=1))
>>> model(ember.ones((3, 4))).shape
(3, 2)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import init as init
from ._core import (
    CheckpointError,
    ConfigError,
    Module,
    StateError,
    TrainingError,
    __version__,
    _serialize,
    add_loss,
    collect_losses,
    deserialize,
    manual_seed,
    registered,
    seeded,
    serialize,
)
from .layers import (
    ELU,
    GELU,
    MLP,
    AvgPool1d,
    AvgPool2d,
    BatchNorm,
    Conv1d,
    Conv2d,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    Identity,
    LayerNorm,
    LeakyReLU,
    LeCunTanh,
    MaxPool1d,
    MaxPool2d,
    MultiHeadAttention,
    ReLU,
    Residual,
    RMSNorm,
    Sequential,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    TransformerEncoder,
    TransformerEncoderLayer,
    elu,
    gelu,
    identity,
    leaky_relu,
    lecun_tanh,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from .losses import (
    BinaryCrossEntropyLoss,
    CategoricalCrossEntropyLoss,
    HuberLoss,
    MAELoss,
    MSELoss,
    SparseCategoricalCrossEntropyLoss,
    binary_cross_entropy,
    categorical_cross_entropy,
    huber,
    mae,
    mse,
    sparse_categorical_cross_entropy,
)
from .losses import get as get_loss
from .losses import name_of as loss_name_of
from .metrics import (
    Accuracy,
    BinaryAccuracy,
    MacroAccuracy,
    Mean,
    accuracy,
    binary_accuracy,
    confusion_matrix,
    macro_accuracy,
)
from .metrics import get as get_metric
from .metrics import streaming as streaming_metric
from .optim import (
    SGD,
    Adam,
    AdamW,
    Constant,
    CosineDecay,
    Optimizer,
    RMSprop,
    Schedule,
    StepDecay,
    clip_by_global_norm,
    global_norm,
)

if TYPE_CHECKING:  # imported on first use, through __getattr__ below
    from . import data as data
    from . import wirings as wirings
    from .blocks import SequenceRegressor
    from .data import DataError
    from .features import MFCC, LogMel, MelSpectrogram, Resample, Spectrogram, Tokenizer
    from .io import (
        Checkpoint,
        from_ncps,
        from_torch,
        load,
        load_checkpoint,
        load_file,
        load_weights,
        read_metadata,
        save,
        save_file,
    )
    from .pipelines import (
        AsyncPipeline,
        Dataset,
        FeaturePipeline,
        InferencePipeline,
        Pipeline,
        StageError,
        TrainingPipeline,
        load_dataset,
    )
    from .recurrent import (
        GRU,
        LSTM,
        LTC,
        RNN,
        Bidirectional,
        CfC,
        CfCCell,
        GRUCell,
        LSTMCell,
        LTCCell,
        SimpleRNN,
        SimpleRNNCell,
        WiredCfCCell,
    )
    from .training import (
        PRECISION_MODES,
        PRECISIONS,
        ArrayData,
        Callback,
        CompiledStep,
        CSVLogger,
        DataParallel,
        EarlyStopping,
        History,
        LossScaler,
        MixedPrecision,
        ModelCheckpoint,
        TerminateOnNaN,
        Trainer,
        compile_step,
        fit,
        value_and_grad,
    )
    from .wirings import NCP, AutoNCP, FullyConnected, Wiring

#: the public names of the folders imported on first use: checkpoints (hashlib, threads,
#: tempfile), training and config-driven runs cost ~40% of ``import ember_nn`` and are not
#: needed to build a model, so ``import ember_nn`` leaves them until a name is used; so do the
#: recurrent layers, wirings and blocks (~25% more), whose classes a config may name: they are
#: imported before ``deserialize`` calls a class name unknown (``_serialize.LOADERS``).
_LAZY = {
    **dict.fromkeys(["GRU", "LSTM", "LTC", "RNN", "Bidirectional", "CfC", "CfCCell", "GRUCell",
                     "LSTMCell", "LTCCell", "SimpleRNN", "SimpleRNNCell", "WiredCfCCell"],
                    "recurrent"),
    **dict.fromkeys(["NCP", "AutoNCP", "FullyConnected", "Wiring"], "wirings"),
    **dict.fromkeys(["SequenceRegressor"], "blocks"),
    **dict.fromkeys(["Checkpoint", "load", "load_checkpoint", "load_file", "load_weights",
                     "read_metadata", "save", "save_file", "from_ncps", "from_torch"], "io"),
    **dict.fromkeys(["Dataset", "load_dataset", "Pipeline", "FeaturePipeline", "StageError",
                     "InferencePipeline", "AsyncPipeline", "TrainingPipeline"], "pipelines"),
    **dict.fromkeys(["DataError"], "data"),
    **dict.fromkeys(["LogMel", "MelSpectrogram", "MFCC", "Spectrogram", "Resample", "Tokenizer"],
                    "features"),
    **dict.fromkeys(["PRECISIONS", "ArrayData", "Callback", "CSVLogger", "EarlyStopping",
                     "History", "ModelCheckpoint", "TerminateOnNaN", "Trainer", "fit",
                     "value_and_grad", "MixedPrecision", "LossScaler", "PRECISION_MODES",
                     "compile_step", "CompiledStep", "DataParallel"],
                    "training"),
}
_LAZY_FOLDERS = ("io", "pipelines", "training", "recurrent", "wirings", "mixers", "blocks",
                 "data", "features")


def _import_model_folders() -> None:
    """The folders whose Module classes a config may name (deserialize, registered)."""
    for folder in ("wirings", "recurrent", "blocks", "features"):
        importlib.import_module(f"{__name__}.{folder}")
    importlib.import_module(f"{__name__}.mixers").import_all()


_serialize.LOADERS.append(_import_model_folders)


def __getattr__(name: str) -> Any:
    """Import a lazily exported name's folder (or the folder itself) on first use."""
    if name in _LAZY_FOLDERS:
        return importlib.import_module(f"{__name__}.{name}")
    folder = _LAZY.get(name)
    if folder is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{folder}"), name)
    globals()[name] = value  # the next lookup is an ordinary one
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_LAZY_FOLDERS})


__all__ = [
    # modules and layers
    "Module", "serialize", "deserialize", "registered", "manual_seed", "seeded", "init",
    "Dense", "Embedding", "Dropout", "LayerNorm", "RMSNorm", "BatchNorm", "Conv1d", "Conv2d",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "GlobalAvgPool", "GlobalMaxPool",
    "Flatten", "Sequential", "Residual", "MLP", "MultiHeadAttention", "TransformerEncoderLayer",
    "TransformerEncoder",
    # activations
    "ELU", "GELU", "Identity", "LeCunTanh", "LeakyReLU", "ReLU", "SiLU", "Sigmoid", "Softmax",
    "Softplus", "Tanh", "elu", "gelu", "identity", "leaky_relu", "lecun_tanh", "relu",
    "sigmoid", "silu", "softmax", "softplus", "tanh",
    # losses and metrics
    "mse", "mae", "huber", "binary_cross_entropy", "categorical_cross_entropy",
    "sparse_categorical_cross_entropy", "MSELoss", "MAELoss", "HuberLoss",
    "BinaryCrossEntropyLoss", "CategoricalCrossEntropyLoss",
    "SparseCategoricalCrossEntropyLoss", "get_loss", "loss_name_of",
    "accuracy", "binary_accuracy", "macro_accuracy", "confusion_matrix", "Mean", "Accuracy",
    "BinaryAccuracy", "MacroAccuracy", "get_metric", "streaming_metric",
    # wirings (ember_nn.wirings has them all, Random and draw_graph too)
    "wirings", "Wiring", "FullyConnected", "NCP", "AutoNCP",
    # liquid networks (ncps's CfC and LTC)
    "CfC", "CfCCell", "WiredCfCCell", "LTC", "LTCCell", "from_ncps",
    # recurrent layers (torch.nn's RNN, LSTM, GRU and the driver)
    "RNN", "Bidirectional", "SimpleRNN", "SimpleRNNCell", "LSTM", "LSTMCell", "GRU", "GRUCell",
    "from_torch",
    # models assembled from layers
    "SequenceRegressor",
    # optimisation
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Schedule", "Constant", "StepDecay",
    "CosineDecay", "clip_by_global_norm", "global_norm",
    # training
    "value_and_grad", "Trainer", "fit", "History", "PRECISIONS", "Callback", "EarlyStopping",
    "ModelCheckpoint", "CSVLogger", "TerminateOnNaN", "ArrayData", "Dataset", "load_dataset",
    "MixedPrecision", "LossScaler", "PRECISION_MODES", "compile_step", "CompiledStep",
    "DataParallel", "add_loss", "collect_losses",
    # checkpoints
    "save", "load", "load_checkpoint", "load_weights", "Checkpoint", "save_file", "load_file",
    "read_metadata",
    # errors
    "CheckpointError", "ConfigError", "StateError", "TrainingError", "DataError",
    # data pipelines (ember_nn.data: sources and stages; ember_nn.Dataset is the named example
    # data sets of `ember train`, ember_nn.data.Dataset the streaming pipelines)
    "data",
    # features (ember_nn.features: audio ops and modules, tokenizers, packing)
    "features", "LogMel", "MelSpectrogram", "MFCC", "Spectrogram", "Resample", "Tokenizer",
    # pipelines (ember_nn.pipelines has the stages, BatchServer, AsyncStage, register_stage)
    "Pipeline", "FeaturePipeline", "StageError", "InferencePipeline", "AsyncPipeline",
    "TrainingPipeline",
    "__version__",
]
