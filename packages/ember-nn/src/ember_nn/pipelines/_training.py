"""``TrainingPipeline``: data + model + optimiser + callbacks, described by the run config that
``ember train`` reads (it runs ``train_from_config``), and the ``InferencePipeline`` of what it
trained, saved beside the checkpoint so ``InferencePipeline.load(output_dir)`` serves it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from ..training._callbacks import Callback
from ._inference import InferencePipeline, scaling_preprocess, write_spec
from ._pipeline import Pipeline
from ._run import (
    RunResult,
    build_model,
    build_optimizer,
    check_keys,
    read_config,
    train_from_config,
)

__all__ = ["TrainingPipeline"]


class TrainingPipeline:
    """A training run from a config (the tables of ``ember train``'s TOML: ``data``, ``model``,
    ``optimizer``, ``training``, ``output``), plus callbacks and the postprocessing to serve the
    trained model with.

    Arguments:
        config: the run config (a mapping, checked for unknown keys).
        base_dir: where the config's relative paths start (the TOML file's folder).
        callbacks: extra ``ember_nn`` callbacks for ``fit``.
        postprocess: a :class:`Pipeline` for the served model's outputs (e.g. an argmax),
            written into ``inference.json`` beside the checkpoint.

    Raises ConfigError for a config with unknown keys or missing tables.

    >>> run = TrainingPipeline.from_toml("examples/digits/digits.toml")
    >>> result = run.run(epochs=2, output_dir="runs/digits-2")  # doctest: +SKIP
    >>> InferencePipeline.load("runs/digits-2").predict(x[:3])  # doctest: +SKIP
    """

    def __init__(self, config: Mapping[str, Any], *, base_dir: str | os.PathLike[str] = ".",
                 callbacks: Sequence[Callback] = (), postprocess: Pipeline | None = None) -> None:
        if not isinstance(config, Mapping):
            raise ConfigError(f"TrainingPipeline: the config must be a mapping (the tables of "
                              f"a run's TOML), got {type(config).__name__}")
        check_keys(config, "TrainingPipeline config")
        if postprocess is not None and not isinstance(postprocess, Pipeline):
            raise ConfigError(f"TrainingPipeline: postprocess must be a Pipeline or None, got "
                              f"{type(postprocess).__name__}")
        self.config = dict(config)
        self.base_dir = Path(base_dir)
        self.callbacks = list(callbacks)
        self.postprocess = postprocess

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], **kwargs: Any) -> TrainingPipeline:
        """The run described by the config file at ``path`` (TOML or JSON), its relative paths
        starting at the file's folder."""
        return cls(read_config(Path(path)), base_dir=Path(path).parent, **kwargs)

    def get_config(self) -> dict[str, Any]:
        """The run config (what ``ember train`` reads)."""
        return dict(self.config)

    def build_model(self) -> Module:
        """A fresh, untrained model from the ``[model]`` table."""
        return build_model(self.config["model"])

    def build_optimizer(self) -> Any:
        """A fresh optimiser from the ``[optimizer]`` table."""
        return build_optimizer(self.config["optimizer"])

    def run(self, *, backend: str | None = None, output_dir: str | os.PathLike[str] | None = None,
            epochs: int | None = None, progress: bool = False, distributed: bool = False,
            timeout: float | None = 300.0) -> RunResult:
        """Train, test and save (checkpoint, history, metrics, plot), then write
        ``inference.json`` beside the checkpoint: the run's ``[pipeline]`` features and feature
        scaling as the preprocessing, ``postprocess`` after the model. Returns the run's result.
        ``ember train`` runs this. ``distributed``/``timeout``: one rank of a launched job
        (``train_from_config``'s); rank 0 alone writes."""
        result = train_from_config(self.config, base_dir=self.base_dir, backend=backend,
                                   output_dir=None if output_dir is None else Path(output_dir),
                                   epochs=epochs, progress=progress,
                                   callbacks=self.callbacks, distributed=distributed,
                                   timeout=timeout)
        if not distributed or ember.distributed.rank() == 0:
            serve = InferencePipeline(result.model, self._preprocess(result), self.postprocess,
                                      backend=backend)
            write_spec(result.checkpoint.parent, result.checkpoint.name, serve.get_config())
        return result

    def inference(self, result: RunResult) -> InferencePipeline:
        """The trained model of ``result`` with this run's pre- and postprocessing."""
        return InferencePipeline(result.model, self._preprocess(result), self.postprocess)

    def _preprocess(self, result: RunResult) -> Pipeline:
        """The run's ``[pipeline]`` features (if any), float32 and its feature scaling."""
        return scaling_preprocess(result.data.scaling, self.config.get("pipeline"))
