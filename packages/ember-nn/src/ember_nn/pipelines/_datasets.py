"""Datasets named in a training config: scikit-learn's bundled sets, CSV files, or a Python
function. The split into train and test is drawn in Python from the seed, so every backend
trains and tests on exactly the same samples.

``sklearn`` is imported only when a config asks for one of its datasets (it is an optional
dependency: ``pip install scikit-learn``); it is not an array backend, and the arrays it gives
become ember tensors at once.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import random
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ember

from .._core._errors import ConfigError

__all__ = ["Dataset", "load_dataset"]

SKLEARN = {"digits": "load_digits", "iris": "load_iris", "wine": "load_wine",
           "breast_cancer": "load_breast_cancer"}


@dataclass
class Dataset:
    """Train and test arrays on the current backend, plus how the inputs were scaled."""

    name: str
    x_train: ember.Tensor
    y_train: ember.Tensor
    x_test: ember.Tensor
    y_test: ember.Tensor
    scaling: dict[str, list[float]] = field(default_factory=dict)
    raw_test: Any = None  # the test inputs as loaded (before features and scaling)

    @property
    def num_features(self) -> int:
        return int(self.x_train.shape[-1])

    @property
    def num_classes(self) -> int:
        return int(ember.max(ember.concat([self.y_train, self.y_test]))) + 1


def _sklearn(spec: Mapping[str, Any]) -> tuple[Any, Any, str]:
    name = spec.get("name")
    if name not in SKLEARN:
        raise ConfigError(f"data: sklearn dataset {name!r} is not one of {sorted(SKLEARN)}")
    try:
        datasets = importlib.import_module("sklearn.datasets")
    except ImportError:
        raise ConfigError(
            f"data: the {name!r} dataset comes with scikit-learn, which is not installed; "
            "pip install scikit-learn") from None
    bunch = getattr(datasets, SKLEARN[name])()
    return bunch.data.tolist(), bunch.target.tolist(), f"sklearn:{name}"


def _csv(spec: Mapping[str, Any], base: Path) -> tuple[Any, Any, str]:
    path = Path(spec.get("path", ""))
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ConfigError(f"data: CSV file {str(path)!r} does not exist")
    with path.open(newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    label = spec.get("label", -1)
    header = None
    try:
        [float(c) for c in rows[0]]
    except ValueError:
        header, rows = rows[0], rows[1:]
    if isinstance(label, str):
        if header is None or label not in header:
            raise ConfigError(f"data: label column {label!r} is not in the header of {path}")
        label = header.index(label)
    try:
        ys = [int(float(r[label])) for r in rows]
        xs = [[float(c) for i, c in enumerate(r) if i != label % len(r)] for r in rows]
    except (ValueError, IndexError) as e:
        raise ConfigError(f"data: {path}: every row needs numbers and a label column: {e}") \
            from None
    return xs, ys, path.name


def _python(spec: Mapping[str, Any], base: Path) -> tuple[Any, Any, str]:
    target = str(spec.get("loader", ""))
    where, _, fn_name = target.rpartition(":")
    if not where or not fn_name:
        raise ConfigError(f"data: loader must be 'module:function' or 'file.py:function', "
                          f"got {target!r}")
    if where.endswith(".py"):
        path = Path(where) if Path(where).is_absolute() else base / where
        if not path.is_file():
            raise ConfigError(f"data: loader file {str(path)!r} does not exist")
        mod_spec = importlib.util.spec_from_file_location(f"_ember_data_{path.stem}", path)
        assert mod_spec is not None and mod_spec.loader is not None
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[mod_spec.name] = module
        mod_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    out = getattr(module, fn_name)()
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ConfigError(f"data: {target} must return a pair (inputs, labels)")
    return out[0], out[1], target


def load_dataset(spec: Mapping[str, Any], *, base_dir: str | Path = ".",
                 features: Any = None) -> Dataset:
    """The dataset a config's ``[data]`` table describes, split and scaled.

    Keys: ``source`` ("sklearn" with ``name``; "csv" with ``path`` and ``label``; "python"
    with ``loader = "file.py:function"``), ``test_size`` (0.2), ``seed`` (0), ``scale``
    ("standard": zero mean and unit variance from the training split; "none"; or a number to
    divide by), ``dtype`` of the inputs ("float32").

    ``features`` (a ``FeaturePipeline``, a run's ``[pipeline]``) turns each loaded sample
    into the model's input before the split is scaled; ``raw_test`` keeps the test inputs as
    loaded (what a served model receives).
    """
    source = spec.get("source")
    base = Path(base_dir)
    if source == "sklearn":
        xs, ys, name = _sklearn(spec)
    elif source == "csv":
        xs, ys, name = _csv(spec, base)
    elif source == "python":
        xs, ys, name = _python(spec, base)
    else:
        raise ConfigError(f"data: source must be 'sklearn', 'csv' or 'python', got {source!r}")
    raw = ember.asarray(xs, dtype=spec.get("dtype", "float32"))
    y = ember.asarray(ys)
    x = raw if features is None else _features(features, raw, name)
    if x.ndim < 2 or y.ndim < 1 or x.shape[0] != y.shape[0]:
        raise ConfigError(f"data: {name} gave inputs of shape {x.shape} and labels of shape "
                          f"{y.shape}; they need the same number of samples")
    if y.dtype.is_integer:
        y = ember.astype(y, ember.int64)
    test_size = float(spec.get("test_size", 0.2))
    if not 0.0 < test_size < 1.0:
        raise ConfigError(f"data: test_size must be in (0, 1), got {test_size}")
    n = x.shape[0]
    order = list(range(n))
    random.Random(int(spec.get("seed", 0))).shuffle(order)
    n_test = max(1, round(n * test_size))
    test = ember.asarray(order[:n_test], dtype=ember.int64)
    train = ember.asarray(order[n_test:], dtype=ember.int64)
    x_train, x_test = ember.take(x, train, axis=0), ember.take(x, test, axis=0)
    y_train, y_test = ember.take(y, train, axis=0), ember.take(y, test, axis=0)
    scaling = _scaling(spec.get("scale", "standard"), x_train)
    return Dataset(name, apply_scaling(x_train, scaling), y_train,
                   apply_scaling(x_test, scaling), y_test, scaling,
                   raw_test=ember.take(raw, test, axis=0) if raw.ndim else raw)


def _features(features: Any, raw: ember.Tensor, name: str) -> ember.Tensor:
    """Each sample of ``raw`` through the run's feature pipeline, stacked (float32)."""
    if raw.ndim < 1 or raw.shape[0] == 0:
        raise ConfigError(f"data: {name} gave no samples for the [pipeline] to compute")
    out = features.run_batch(raw)
    return ember.astype(out, ember.float32) if out.dtype != ember.float32 else out


def _scaling(scale: Any, x: ember.Tensor) -> dict[str, list[float]]:
    if scale in (None, "none"):
        return {}
    if isinstance(scale, int | float) and not isinstance(scale, bool):
        return {"mean": [0.0] * x.shape[-1], "std": [float(scale)] * x.shape[-1]}
    if scale != "standard":
        raise ConfigError(f"data: scale must be 'standard', 'none' or a number, got {scale!r}")
    flat = ember.reshape(x, (-1, x.shape[-1]))
    std = ember.std(flat, axis=0)
    std = ember.where(std > 1e-8, std, ember.ones_like(std))
    return {"mean": ember.mean(flat, axis=0).tolist(), "std": std.tolist()}


def apply_scaling(x: ember.Tensor, scaling: Mapping[str, list[float]]) -> ember.Tensor:
    """``(x - mean) / std`` with the statistics ``load_dataset`` stored (nothing if empty)."""
    if not scaling:
        return x
    if len(scaling["mean"]) != x.shape[-1]:
        raise ember.ShapeError(f"inputs have {x.shape[-1]} features, the model was trained on "
                               f"{len(scaling['mean'])}")
    mean = ember.asarray(scaling["mean"], dtype=x.dtype, backend=x.backend, device=x.device)
    std = ember.asarray(scaling["std"], dtype=x.dtype, backend=x.backend, device=x.device)
    return (x - mean) / std
