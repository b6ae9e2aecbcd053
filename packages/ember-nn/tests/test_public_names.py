"""What users import and what checkpoints name stays valid across ember-nn's folder layout:
``ember_nn``'s public names, each folder's re-exports, the registered config names of modules,
optimisers and schedules, and a checkpoint written before the layout (by commit 63c4552)."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn.optim._base import registry as optimizer_registry
from ember_nn.optim._schedules import registered as schedule_registry

#: ``ember_nn.__all__`` before the folders (commit 63c4552): every name must stay importable
PUBLIC_BEFORE = {
    "Accuracy", "Adam", "AdamW", "ArrayData", "AvgPool1d", "AvgPool2d", "BatchNorm",
    "BinaryAccuracy", "BinaryCrossEntropyLoss", "CSVLogger", "Callback",
    "CategoricalCrossEntropyLoss", "Checkpoint", "CheckpointError", "ConfigError", "Constant",
    "Conv1d", "Conv2d", "CosineDecay", "Dataset", "Dense", "Dropout", "ELU", "EarlyStopping",
    "Embedding", "Flatten", "GELU", "GlobalAvgPool", "GlobalMaxPool", "History", "HuberLoss",
    "Identity", "LayerNorm", "LeCunTanh", "LeakyReLU", "MAELoss", "MLP", "MSELoss",
    "MacroAccuracy", "MaxPool1d", "MaxPool2d", "Mean", "ModelCheckpoint", "Module", "Optimizer",
    "PRECISIONS", "RMSNorm", "RMSprop", "ReLU", "Residual", "SGD", "Schedule", "Sequential",
    "SiLU", "Sigmoid", "Softmax", "Softplus", "SparseCategoricalCrossEntropyLoss", "StateError",
    "StepDecay", "Tanh", "TerminateOnNaN", "Trainer", "TrainingError", "__version__", "accuracy",
    "binary_accuracy", "binary_cross_entropy", "categorical_cross_entropy",
    "clip_by_global_norm", "confusion_matrix", "deserialize", "elu", "fit", "gelu", "get_loss",
    "get_metric", "global_norm", "huber", "identity", "init", "leaky_relu", "lecun_tanh", "load",
    "load_checkpoint", "load_dataset", "load_file", "load_weights", "loss_name_of",
    "macro_accuracy", "mae", "manual_seed", "mse", "read_metadata", "registered", "relu", "save",
    "save_file", "seeded", "serialize", "sigmoid", "silu", "softmax", "softplus",
    "sparse_categorical_cross_entropy", "streaming_metric", "tanh", "value_and_grad",
}
#: the class names configs and checkpoints store (``{"class": name, ...}``): never renamed
MODULE_NAMES = {
    "AvgPool1d", "AvgPool2d", "BatchNorm", "BinaryCrossEntropyLoss",
    "CategoricalCrossEntropyLoss", "Conv1d", "Conv2d", "Dense", "Dropout", "ELU", "Embedding",
    "Flatten", "GELU", "GlobalAvgPool", "GlobalMaxPool", "HuberLoss", "Identity", "LayerNorm",
    "LeCunTanh", "LeakyReLU", "MAELoss", "MLP", "MSELoss", "MaxPool1d", "MaxPool2d", "RMSNorm",
    "ReLU", "Residual", "Sequential", "SiLU", "Sigmoid", "Softmax", "Softplus",
    "SparseCategoricalCrossEntropyLoss", "Tanh",
}
FOLDERS = ["_core", "layers", "losses", "metrics", "optim", "io", "training", "pipelines"]
FIXTURE = Path(__file__).parent / "fixtures" / "pre_layout_checkpoint"


def test_every_name_users_imported_before_the_folders_is_still_there() -> None:
    assert set(ember_nn.__all__) >= PUBLIC_BEFORE
    assert [n for n in ember_nn.__all__ if not hasattr(ember_nn, n)] == []
    assert ember_nn.init.__name__ == "ember_nn.init"  # a public module now (was _init)
    assert [n for n in ember_nn.init.__all__ if not hasattr(ember_nn.init, n)] == []


@pytest.mark.parametrize("folder", FOLDERS)
def test_each_folder_re_exports_its_names_explicitly(folder: str) -> None:
    package = importlib.import_module(f"ember_nn.{folder}")
    names = package.__all__
    assert names and [n for n in names if not hasattr(package, n)] == []
    # a name both a folder and ember_nn export is one object
    assert [n for n in names if n in ember_nn.__all__
            and getattr(ember_nn, n) is not getattr(package, n)] == []


def test_config_names_stay_the_class_names() -> None:
    modules = ember_nn.registered()
    assert {n: modules[n].__name__ for n in MODULE_NAMES if n in modules} == {
        n: n for n in MODULE_NAMES}
    assert all(modules[n].__module__.startswith("ember_nn.") for n in MODULE_NAMES)
    assert {"SGD", "Adam", "AdamW", "RMSprop"} <= set(optimizer_registry())
    assert {"Constant", "StepDecay", "CosineDecay"} <= set(schedule_registry())


def test_a_checkpoint_written_before_the_folders_loads(backend: str, tmp_path: Path) -> None:
    """Saved by ember-nn at 63c4552 (Dense with activation "gelu", GELU(approximate=True) and
    (False) as that version wrote them, a Residual, LayerNorm, MLP, Softmax, and Adam with a
    CosineDecay after one update); its extra holds an input and the model's output then."""
    path = tmp_path / "ckpt"
    shutil.copytree(FIXTURE, path)
    ck = ember_nn.load_checkpoint(path, backend=backend)
    assert ck.extra["written_by"] == "63c4552"
    x = ember.asarray(np.array(ck.extra["input"], dtype=np.float32))
    np.testing.assert_allclose(ck.model(x).numpy(), np.array(ck.extra["output"]), rtol=1e-5,
                               atol=1e-6)
    gelus = [m for _, m in ck.model.named_modules() if isinstance(m, ember_nn.GELU)]
    assert [m.approximate for m in gelus] == ["tanh", "none"]
    assert isinstance(ck.optimizer, ember_nn.Adam) and ck.step == 1
    assert isinstance(ck.optimizer.schedule, ember_nn.CosineDecay)
