"""``InferencePipeline``: a model with its preprocessing and postprocessing, batched prediction,
and dynamic batching of concurrent async requests.

On disk (``save(dir)``)::

    dir/checkpoint/      the model (ember_nn.save: safetensors + JSON)
    dir/inference.json   {"format": "ember-inference", "version": 1, "checkpoint": "checkpoint",
                          "preprocess": {...} or null, "postprocess": {...} or null,
                          "batch_size": 256}

``InferencePipeline.load`` reads that directory, or a bare checkpoint (what ``ember train``
writes): then the preprocessing is the run's saved feature scaling and there is no
postprocessing (the model's raw outputs).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from ..training._data import as_tensor
from ._pipeline import FeaturePipeline, Pipeline
from ._serving import BatchServer, Failure
from ._stages import Cast, Normalize
from ._threads import is_lazy, materialise

__all__ = ["InferencePipeline", "locate", "run_preprocess", "scaling_preprocess", "write_spec"]

INFERENCE = "inference.json"
FORMAT = "ember-inference"


def _pipeline(p: Any, what: str) -> Pipeline | None:
    if p is None or isinstance(p, Pipeline):
        return p
    if isinstance(p, Mapping | list):
        return Pipeline(p)
    raise ConfigError(f"InferencePipeline: {what} must be a Pipeline, a list of (name, stage) "
                      f"pairs or None, got {type(p).__name__}")


def _pipeline_config(p: Pipeline | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"class": type(p).__name__, **p.get_config()}


def _pipeline_from(config: Any, what: str) -> Pipeline | None:
    if config is None:
        return None
    kinds: dict[Any, type[Pipeline]] = {"Pipeline": Pipeline, "FeaturePipeline": FeaturePipeline}
    cls = kinds.get(config.get("class", "Pipeline") if isinstance(config, Mapping) else None)
    if cls is None:
        raise ConfigError(f"{INFERENCE}: {what} must be a Pipeline or FeaturePipeline config, "
                          f"got {config!r}")
    return cls.from_config(config)


def _rows(x: Any) -> int:
    if isinstance(x, ember.Tensor):
        if x.ndim == 0:
            raise ember.ShapeError("predict: inputs need a first (batch) axis, got a scalar")
        return int(x.shape[0])
    return len(x)


def _join(parts: list[Any]) -> Any:
    if all(isinstance(p, ember.Tensor) for p in parts):
        return parts[0] if len(parts) == 1 else ember.concat(parts, axis=0)
    if all(isinstance(p, list) for p in parts):
        return [row for p in parts for row in p]
    raise ember.ArgumentError(f"predict: the postprocessing returned "
                              f"{sorted({type(p).__name__ for p in parts})}; batches join only "
                              f"as tensors or lists")


class _BatchRows:
    """One batch's outputs, taken apart by request in the event loop's thread."""

    def __init__(self, n: int, out: Any, rows: list[int], failures: dict[int, Failure]) -> None:
        self.n, self.out, self.failures = n, out, failures
        self.pos = {i: j for j, i in enumerate(rows)}

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        return self.failures[i] if i in self.failures else self.out[self.pos[i]]


class InferencePipeline:
    """A model between its preprocessing and postprocessing: ``predict`` runs a batch of inputs
    through them in chunks of ``batch_size``; ``predict_async`` / ``serve_async`` gather
    concurrent single requests into dynamic batches.

    Arguments:
        model: an ``ember_nn.Module`` (put in eval mode) or any callable on a batch.
        preprocess: a :class:`Pipeline` run on each batch of inputs, a
            :class:`FeaturePipeline` run on each input (then stacked), or None.
        postprocess: a Pipeline run on each batch of model outputs, or None.
        batch_size: the most inputs a model call in ``predict`` takes.
        backend: where to compute (default: the model's backend, else the current one).

    Raises ConfigError for a preprocess/postprocess that is not a pipeline, ArgumentError for
    a bad batch size or a model that is not callable.

    >>> model = ember_nn.Dense(2, 3, key=0)
    >>> pipe = InferencePipeline(model, postprocess=Pipeline([("label", Argmax())]))
    >>> pipe.predict([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]).tolist()
    [0, 1, 2]
    """

    def __init__(self, model: Any, preprocess: Any = None, postprocess: Any = None, *,
                 batch_size: int = 256, backend: str | None = None) -> None:
        if not callable(model):
            raise ember.ArgumentError(f"InferencePipeline: the model must be callable, got "
                                      f"{type(model).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ember.ArgumentError(f"InferencePipeline: batch_size must be a positive "
                                      f"integer, got {batch_size!r}")
        self.model = model
        self.preprocess = _pipeline(preprocess, "preprocess")
        self.postprocess = _pipeline(postprocess, "postprocess")
        self.batch_size = batch_size
        variables = model.variables if isinstance(model, Module) else []
        self.backend = backend or (variables[0].backend if variables else ember.get_backend())
        self.device = variables[0].device if variables and variables[0].backend == self.backend \
            else None
        if isinstance(model, Module):
            model.eval()
            if variables and is_lazy(ember.stop_gradient(variables[0])):
                for v in variables:  # computed here, so that worker threads can read them
                    v.numpy()
        self._server: BatchServer | None = None

    # -- prediction -----------------------------------------------------------------------
    def _placed(self, x: Any) -> ember.Tensor:
        """``x`` as a tensor on the model's backend and device."""
        return as_tensor(x, backend=self.backend, device=self.device, what="inputs")

    def _forward(self, x: Any) -> Any:
        """A batch already through the per-sample features (if any): the rest of the way."""
        if self.preprocess is not None and not isinstance(self.preprocess, FeaturePipeline):
            x = self.preprocess.run(x)
        y = self.model(x)
        return self.postprocess.run(y) if self.postprocess is not None else y

    def predict(self, inputs: Any) -> Any:
        """The outputs for a batch of inputs (a tensor or array-like with the samples on the
        first axis, or a list of raw samples for a FeaturePipeline), computed ``batch_size``
        at a time and joined (a tensor, or a list if the postprocessing returns lists).

        Raises StageError naming the stage and sample when a pre/postprocessing stage fails.
        """
        with ember.use_backend(self.backend):
            if not isinstance(self.preprocess, FeaturePipeline):
                inputs = self._placed(inputs)
            n = _rows(inputs)
            if n == 0:
                raise ember.ArgumentError("predict: no inputs (the batch is empty)")
            parts = []
            for start in range(0, n, self.batch_size):
                stop = min(n, start + self.batch_size)
                if isinstance(self.preprocess, FeaturePipeline) and self.preprocess.batchable \
                        and isinstance(inputs, ember.Tensor):
                    x = self._placed(self.preprocess.run_batch(inputs[start:stop]))
                elif isinstance(self.preprocess, FeaturePipeline):
                    feats = [self.preprocess.run(inputs[i], index=i) for i in range(start, stop)]
                    x = self._placed(ember.stack(_same_shapes(feats, start), axis=0))
                else:
                    x = inputs[start:stop]
                parts.append(self._forward(x))
            return _join(parts)

    def _predict_samples(self, samples: list[Any]) -> _BatchRows:
        """One result (or Failure) per sample; runs in the server's worker thread."""
        with ember.use_backend(self.backend):
            if not isinstance(self.preprocess, FeaturePipeline):
                try:  # the common case first: one conversion for the whole batch
                    x = self._placed(samples)
                except Exception:
                    pass
                else:
                    if x.ndim >= 1 and x.shape[0] == len(samples):
                        return _BatchRows(len(samples), materialise(self._forward(x)),
                                          list(range(len(samples))), {})
            made: dict[int, ember.Tensor] = {}
            failures: dict[int, Failure] = {}
            for i, s in enumerate(samples):
                try:
                    made[i] = self.preprocess.run(s, index=i) if isinstance(
                        self.preprocess, FeaturePipeline) else ember.asarray(s)
                except Exception as e:
                    failures[i] = Failure(e)
            shapes = Counter(f.shape for f in made.values())
            common = max(shapes, key=lambda k: shapes[k]) if shapes else None  # first of ties
            for i, f in made.items():
                if f.shape != common:
                    failures[i] = Failure(ember.ShapeError(
                        f"this request's input has shape {f.shape}, the others in its batch "
                        f"{common}"))
            rows = [i for i in made if i not in failures]
            feats = [made[i] for i in rows]
            out = materialise(self._forward(self._placed(ember.stack(feats, axis=0)))) \
                if feats else None
            return _BatchRows(len(samples), out, rows, failures)

    def serve_async(self, max_batch_size: int = 32, max_wait_ms: float = 5.0) -> BatchServer:
        """A :class:`BatchServer` that batches concurrent ``await server.predict(x)`` calls
        (``x`` one sample) into model calls of up to ``max_batch_size`` samples, waiting at
        most ``max_wait_ms`` for a batch to fill; the model runs on a worker thread.

        >>> pipe = InferencePipeline(ember_nn.Dense(2, 3, key=0))
        >>> async def main(pipe):
        ...     async with pipe.serve_async(max_batch_size=8) as server:
        ...         ys = await asyncio.gather(*(server.predict([1.0, 0.0]) for _ in range(20)))
        ...     return len(ys), server.stats.batches
        >>> asyncio.run(main(pipe))
        (20, 3)
        """
        return BatchServer(self._predict_samples, max_batch_size=max_batch_size,
                           max_wait_ms=max_wait_ms)

    async def predict_async(self, x: Any) -> Any:
        """The output for one sample, batched with concurrent calls (a server with
        ``max_batch_size = batch_size`` and ``max_wait_ms = 5``, started on first use; close it
        with :meth:`aclose`)."""
        if self._server is None:
            self._server = self.serve_async(max_batch_size=self.batch_size)
        return await self._server.predict(x)

    async def aclose(self) -> None:
        """Close the server ``predict_async`` started (if any)."""
        server, self._server = self._server, None
        if server is not None:
            await server.aclose()

    # -- saving ---------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The pre/postprocessing and batch size as JSON (what ``save`` writes beside the
        checkpoint). Raises ConfigError naming a stage that has no config."""
        return {"preprocess": _pipeline_config(self.preprocess),
                "postprocess": _pipeline_config(self.postprocess),
                "batch_size": self.batch_size}

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``directory/checkpoint`` (the model) and ``directory/inference.json``;
        returns ``directory``. Raises ArgumentError if the model is not an ember_nn Module."""
        from ..io._checkpoint import save

        if not isinstance(self.model, Module):
            raise ember.ArgumentError(f"InferencePipeline.save: the model must be an "
                                      f"ember_nn.Module to save, got {type(self.model).__name__}")
        config = self.get_config()  # before writing anything: every stage has a config
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        save(self.model, d / "checkpoint")
        write_spec(d, "checkpoint", config)
        return d

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, backend: str | None = None,
             device: str | None = None) -> InferencePipeline:
        """The pipeline ``save`` wrote to ``path``, or one around the checkpoint at ``path``
        (``ember train``'s: its feature scaling becomes the preprocessing, float32 inputs).

        Raises CheckpointError for a missing or damaged checkpoint, ConfigError for a bad
        ``inference.json``.

        >>> import tempfile
        >>> pipe = InferencePipeline(ember_nn.Dense(2, 3, key=0), Pipeline([("cast", Cast())]),
        ...                          Pipeline([("label", Argmax())]))
        >>> served = InferencePipeline.load(pipe.save(tempfile.mkdtemp()))
        >>> served.postprocess.names, served.predict([[1, 0], [0, 1]]).tolist()
        (['label'], [0, 1])
        """
        from ..io._checkpoint import load_checkpoint

        spec, ckpt = locate(path)
        with ember.use_backend(backend or ember.get_backend()):
            ck = load_checkpoint(ckpt, backend=backend, device=device)
            return cls.from_checkpoint(ck, spec, backend=backend)

    @classmethod
    def from_checkpoint(cls, checkpoint: Any, spec: Mapping[str, Any] | None = None, *,
                        backend: str | None = None) -> InferencePipeline:
        """The pipeline around an already loaded ``ember_nn.load_checkpoint`` result: with
        ``spec`` (an ``inference.json``'s content, from :func:`locate`) its pre/postprocessing,
        else the run's saved scaling."""
        if spec is not None:
            return cls(checkpoint.model, _pipeline_from(spec.get("preprocess"), "preprocess"),
                       _pipeline_from(spec.get("postprocess"), "postprocess"),
                       batch_size=spec.get("batch_size", 256), backend=backend)
        return cls(checkpoint.model, run_preprocess(checkpoint.extra), None, backend=backend)


def locate(path: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, Path]:
    """``(inference.json's content or None, the checkpoint's path)`` for ``path``: a directory
    ``save`` wrote, a checkpoint with an ``inference.json`` naming it beside it, or a bare
    checkpoint. Raises ConfigError for an inference.json that is not valid."""
    p = Path(path)
    for candidate in (p / INFERENCE, p.parent / INFERENCE):
        if candidate.is_file():
            found = _read_spec(candidate)
            target = candidate.parent / str(found.get("checkpoint", "checkpoint"))
            if candidate.parent == p or target == p:
                return found, target
    return None, p


def scaling_preprocess(scaling: Mapping[str, Any] | None,
                       features: Mapping[str, Any] | None = None) -> Pipeline:
    """The preprocessing of an ``ember train`` run: its ``[pipeline]`` feature stages (a
    config, if the run has one: then the result is a :class:`FeaturePipeline`, run on each raw
    sample), float32, then its saved feature scaling (``{"mean": [...], "std": [...]}``; none if
    empty).

    >>> scaling_preprocess({"mean": [1.0], "std": [2.0]}).names
    ['float32', 'scale']
    """
    stages: list[tuple[str, Any]] = [("float32", Cast("float32"))]
    if scaling:
        stages.append(("scale", Normalize(mean=list(scaling["mean"]), std=list(scaling["std"]))))
    if features is None:
        return Pipeline(stages)
    own = FeaturePipeline.from_config(features).stages
    taken = {n for n, _ in own}
    return FeaturePipeline([*own, *((n if n not in taken else f"run_{n}", s) for n, s in stages)])


def run_preprocess(extra: Any) -> Pipeline:
    """:func:`scaling_preprocess` of the run a checkpoint's ``extra`` records."""
    extra = extra if isinstance(extra, Mapping) else {}
    run = extra.get("run") if isinstance(extra.get("run"), Mapping) else {}
    return scaling_preprocess(extra.get("scaling"), run.get("pipeline"))


def write_spec(directory: Path, checkpoint: str, config: Mapping[str, Any]) -> Path:
    """Write ``directory/inference.json`` (atomically) for the checkpoint ``checkpoint`` beside
    it, from an ``InferencePipeline.get_config()``."""
    spec = {"format": FORMAT, "version": 1, "checkpoint": checkpoint, **config}
    text = json.dumps(spec, indent=2, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".inference-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, directory / INFERENCE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return directory / INFERENCE


def _read_spec(path: Path) -> dict[str, Any]:
    try:
        spec = json.loads(path.read_text())
    except ValueError as e:
        raise ConfigError(f"{path}: not valid JSON: {e}") from None
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise ConfigError(f"{path}: not an {FORMAT} file (its 'format' must be {FORMAT!r})")
    extra = sorted(set(spec) - {"format", "version", "checkpoint", "preprocess", "postprocess",
                                "batch_size"})
    if extra:
        raise ConfigError(f"{path}: unknown keys {extra}")
    return spec


def _same_shapes(feats: Sequence[ember.Tensor], start: int) -> list[ember.Tensor]:
    for j, f in enumerate(feats):
        if f.shape != feats[0].shape:
            raise ember.ShapeError(f"predict: sample {start + j} has features of shape "
                                   f"{f.shape}, sample {start} {feats[0].shape}; a batch needs "
                                   f"one shape (pad or crop in the FeaturePipeline)")
    return list(feats)
