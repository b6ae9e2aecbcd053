"""Training runs described by a config file (TOML or JSON): what ``ember train`` executes.

A config has the tables ``data``, ``model``, ``optimizer``, ``training`` and ``output``, plus
top-level ``backend``, ``device``, ``seed`` and ``imports``; ``docs/nn.md`` describes every
key. Unknown keys are errors, so a typo never goes unnoticed.
"""

from __future__ import annotations

import json
import math
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ember

from .._core._errors import ConfigError, TrainingError
from .._core._module import Module, deserialize
from .._core._random import seeded
from ..io._checkpoint import save
from ..optim import _optimizers, _schedules
from ..training._callbacks import Callback, CSVLogger, EarlyStopping, TerminateOnNaN
from ..training._precision import PRECISION_MODES
from ..training._trainer import History, Trainer
from ._datasets import Dataset, load_dataset
from ._imports import import_user_code, loader_import
from ._pipeline import FeaturePipeline
from ._sequences import (
    check_gap_scaling,
    check_generates,
    generate_samples,
    generation_options,
    run_tokenizer,
    trajectory_options,
)
from ._serve_run import serve_options

__all__ = ["RunResult", "build_model", "build_optimizer", "import_code", "model_from_layers",
           "read_config", "recorded_imports", "run_features", "train_from_config"]

KEYS = {
    "": {"backend", "device", "seed", "imports", "data", "model", "optimizer", "training",
         "output", "pipeline", "serve"},
    "training": {"epochs", "batch_size", "loss", "metrics", "validation_split", "dtype",
                 "precision", "compile", "early_stopping", "shuffle", "terminate_on_nan"},
    "output": {"dir", "plot", "checkpoint", "trajectory", "wiring", "tokenizer", "generate"},
    "data": {"source", "name", "path", "label", "loader", "test_size", "seed", "scale", "dtype"},
}


def read_config(path: str | Path) -> dict[str, Any]:
    """The config at ``path`` (``.toml`` or ``.json``), checked for unknown keys."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} does not exist")
    try:
        cfg = tomllib.loads(p.read_text()) if p.suffix == ".toml" else json.loads(p.read_text())
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{p}: not valid {p.suffix[1:].upper()}: {e}") from None
    check_keys(cfg, str(p))
    return cfg


def check_keys(cfg: Mapping[str, Any], where: str) -> None:
    for section, allowed in KEYS.items():
        table = cfg if not section else cfg.get(section, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: [{section}] must be a table")
        bad = sorted(set(table) - allowed)
        if bad:
            name = f"[{section}]" if section else "the top level"
            raise ConfigError(f"{where}: unknown keys {bad} in {name}; allowed: {sorted(allowed)}")
    for section in ("data", "model", "optimizer"):
        if section not in cfg:
            raise ConfigError(f"{where}: the config needs a [{section}] table")


def run_features(cfg: Mapping[str, Any]) -> FeaturePipeline | None:
    """The run's ``[pipeline]`` table as a :class:`FeaturePipeline` (each loaded sample to the
    model's input), or None without one. Raises ConfigError for a bad table."""
    table = cfg.get("pipeline")
    if table is None:
        return None
    try:
        return FeaturePipeline.from_config(table)
    except ConfigError as e:
        raise ConfigError(f"[pipeline]: {e}") from None


def import_code(cfg: Mapping[str, Any], base_dir: str | Path) -> list[str]:
    """Import the config's ``imports`` (``.py`` files relative to ``base_dir``, or modules);
    returns them as recorded in a checkpoint (absolute paths, module names)."""
    specs = cfg.get("imports", [])
    if not isinstance(specs, list) or not all(isinstance(v, str) for v in specs):
        raise ConfigError(f"imports must be a list of .py files or module names, got {specs!r}")
    return [import_user_code(v, base_dir)[0] for v in specs]


def recorded_imports(cfg: Mapping[str, Any], base_dir: str | Path) -> list[str]:
    """What a run imported, for its checkpoint: the data loader's file or module, then
    ``imports``, resolved (what ``ember evaluate``/``predict --import`` need for its classes)."""
    out = [v for v in [loader_import(cfg.get("data"), base_dir)] if v]
    for v in cfg.get("imports", []):
        p = Path(v)
        v = str((p if p.is_absolute() else Path(base_dir) / p).resolve()) if v.endswith(".py") \
            else v
        if v not in out:
            out.append(v)
    return out


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, so it is valid JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _class_table(table: Mapping[str, Any], what: str) -> dict[str, Any]:
    if "class" not in table:
        raise ConfigError(f"[{what}] needs a 'class' key (e.g. class = \"MLP\")")
    rest = {k: v for k, v in table.items() if k != "class"}
    return {"class": table["class"], "config": rest}


def build_model(table: Mapping[str, Any]) -> Module:
    """The model a ``[model]`` table names (``class`` plus that class's arguments); with
    ``layers = [...]``, built by that class's ``from_layers`` (see ``model_from_layers``)."""
    if "layers" in table:
        return model_from_layers(table)
    return deserialize(_class_table(table, "model"))


def model_from_layers(table: Mapping[str, Any]) -> Module:
    """``[model] class = "LanguageModel"``, ``layers = ["mh-attention", "swiglu", ...]`` and
    the rest of ``from_layers``' arguments (``vocab_size``, ``dim``, ``max_length``, ...): the
    class's ``from_layers`` builds one block per MAD-Lab layer name (an entry may be a table
    ``{name = "mh-attention", num_heads = 4}``). For the classes that have ``from_layers``
    (``LanguageModel``, ``AutoEncoder``)."""
    from .._core._serialize import registered

    name = table.get("class")
    classes = registered()
    cls = classes.get(name) if isinstance(name, str) else None
    if cls is None or not callable(getattr(cls, "from_layers", None)):
        have = sorted(n for n, c in classes.items() if callable(getattr(c, "from_layers", None)))
        raise ConfigError(f"[model] layers = [...] builds the model with its class's "
                          f"from_layers; class = {name!r} has none (classes that do: {have})")
    args = {k: v for k, v in table.items() if k != "class"}
    try:
        model: Module = cls.from_layers(**args)  # type: ignore[attr-defined]
    except TypeError as e:
        raise ConfigError(f"[model] {name}.from_layers: {e}") from None
    return model


def build_optimizer(table: Mapping[str, Any]) -> Any:
    """The optimiser a ``[optimizer]`` table names; ``learning_rate`` may be a schedule table."""
    spec = _class_table(table, "optimizer")
    lr = spec["config"].get("learning_rate")
    if isinstance(lr, Mapping):
        spec["config"]["learning_rate"] = _schedules.deserialize(_class_table(lr, "schedule"))
    return _optimizers.deserialize(spec)


def _precision(tr: Mapping[str, Any]) -> str | None:
    """``[training] precision``, checked in the config's terms."""
    precision = tr.get("precision")
    if precision is None:
        return None
    if precision not in PRECISION_MODES:
        raise ConfigError(
            f"[training] precision must be one of {sorted(PRECISION_MODES)}, got {precision!r}: "
            f"\"bf16-mixed\" and \"fp16-mixed\" train float32 master weights with a bfloat16 or "
            f"float16 forward and backward pass, \"32\" trains as built")
    if tr.get("dtype") is not None:
        raise ConfigError(
            f"[training] has both dtype = {tr['dtype']!r} (the whole model in that dtype) and "
            f"precision = {precision!r} (mixed: float32 masters); keep one")
    return str(precision)


def _join(cfg: Mapping[str, Any], backend: str, timeout: float | None) -> bool:
    """Join the launched job (NCCL for a torch run on CUDA, else the engine's default) and
    check that every rank has the same config; whether this is rank 0."""
    from ..training._data_parallel import check_same

    device = cfg.get("device")
    cuda = backend == "torch" and isinstance(device, str) and device.startswith("cuda")
    ember.distributed.init("nccl" if cuda else None, timeout=timeout)
    check_same(json.dumps(cfg, sort_keys=True, default=str), "the config (ember train's)",
               device=device if cuda else None)
    return ember.distributed.rank() == 0


@dataclass
class RunResult:
    """What a run produced: the trained model, its history, test metrics and the files."""

    model: Module
    history: History
    test: dict[str, float]
    data: Dataset
    output_dir: Path
    checkpoint: Path
    plot: Path | None
    seconds: float
    trajectory: Path | None = None
    wiring: Path | None = None
    samples: Path | None = None
    serving: Path | None = None


def train_from_config(cfg: Mapping[str, Any], *, base_dir: str | Path = ".",
                      backend: str | None = None, output_dir: str | Path | None = None,
                      epochs: int | None = None, progress: bool = True,
                      callbacks: list[Callback] | None = None, distributed: bool = False,
                      timeout: float | None = 300.0) -> RunResult:
    """Train, test, save a checkpoint, history CSV, metrics JSON and (optionally) a plot.

    ``distributed``: this process is one rank of a launched job (``ember train --nproc N``):
    it joins the job (``timeout``: seconds a rank waits for the others), every rank's config
    is checked to be the same, training is data-parallel (``Trainer(distributed=True)``) and
    rank 0 alone writes the outputs (the others return the same ``RunResult``, files unwritten).

    With ``[training] terminate_on_nan`` (the default) a NaN or infinite training loss stops
    the run with ``TrainingError`` (no checkpoint is written; history.csv holds the epochs so
    far).
    """
    check_keys(cfg, "config")
    name = backend or cfg.get("backend") or ember.get_backend()
    t0 = time.perf_counter()
    with ember.use_backend(name):
        rank0 = _join(cfg, name, timeout) if distributed else True
        seed = int(cfg.get("seed", 0))
        data = load_dataset(cfg["data"], base_dir=base_dir, features=run_features(cfg))
        import_code(cfg, base_dir)
        serving = serve_options(cfg.get("serve"))
        with seeded(seed):
            model = build_model(cfg["model"])
        check_gap_scaling(model, cfg["data"])
        optimizer = build_optimizer(cfg["optimizer"])
        tr = dict(cfg.get("training", {}))
        out = dict(cfg.get("output", {}))
        trajectory = trajectory_options(out.get("trajectory", False))
        generate = generation_options(out)
        tokenizer = run_tokenizer(out, model)  # the data loader wrote it
        if generate is not None:
            check_generates(model)
        if not isinstance(out.get("wiring", False), bool):
            raise ConfigError(f"[output] wiring must be true or false, got {out['wiring']!r}")
        out_dir = Path(output_dir or out.get("dir", "runs/ember"))
        if rank0:
            out_dir.mkdir(parents=True, exist_ok=True)
        wiring = None
        if out.get("wiring", False) and rank0:  # before training: a model without a wiring fails fast
            from ._sequences import draw_model_wiring

            wiring = draw_model_wiring(model, out_dir / "wiring.png")
        cbs: list[Callback] = [CSVLogger(out_dir / "history.csv"), *(callbacks or [])]
        if "early_stopping" in tr:
            try:
                cbs.append(EarlyStopping(**tr["early_stopping"]))
            except TypeError as e:
                raise ConfigError(f"[training] early_stopping: {e}; its keys are monitor, "
                                  f"patience, min_delta, mode, restore_best") from None
        guard = tr.get("terminate_on_nan", True)
        if not isinstance(guard, bool):
            raise ConfigError(f"[training] terminate_on_nan must be true or false, got {guard!r}")
        if guard:
            cbs.append(TerminateOnNaN(raise_error=True))  # last: the others see the end first
        metrics = list(tr.get("metrics", []))
        compile = tr.get("compile", False)
        if not isinstance(compile, bool):
            raise ConfigError(f"[training] compile must be true or false, got {compile!r}")
        precision = _precision(tr)
        trainer = Trainer(model, optimizer, loss=tr.get("loss", "mse"), metrics=metrics,
                          dtype=tr.get("dtype"), precision=precision, device=cfg.get("device"),
                          seed=seed, compile=compile, callbacks=cbs, progress=progress,
                          distributed=distributed)
        try:
            history = trainer.fit(
                data.x_train, data.y_train,
                epochs=epochs if epochs is not None else tr.get("epochs", 10),
                batch_size=tr.get("batch_size", 32),
                validation_split=tr.get("validation_split", 0.0),
                shuffle=tr.get("shuffle", True))
        except TrainingError as e:
            raise TrainingError(
                f"{e}; or set [training] terminate_on_nan = false to train on. No checkpoint "
                f"was written; the epochs so far are in {out_dir / 'history.csv'}") from None
        test = trainer.evaluate(data.x_test, data.y_test)
        extra = _finite({"run": dict(cfg), "base_dir": str(Path(base_dir).resolve()),
                         "imports": recorded_imports(cfg, base_dir), "scaling": data.scaling,
                         "history": history.history, "test": test,
                         "loss": tr.get("loss", "mse"), "metrics": metrics})
        if not rank0:  # rank 0 writes the outputs
            return RunResult(model, history, test, data, out_dir,
                             out_dir / out.get("checkpoint", "checkpoint"), None,
                             time.perf_counter() - t0)
        ckpt = save(model, out_dir / out.get("checkpoint", "checkpoint"), optimizer=optimizer,
                    extra=extra)
        if tokenizer is not None:  # the checkpoint's run dir holds what decodes its outputs
            tokenizer.save_beside(ckpt)
        seconds = time.perf_counter() - t0
        (out_dir / "metrics.json").write_text(json.dumps(_finite(
            {"backend": name, "dataset": data.name, "epochs": history.epochs,
             "seconds": round(seconds, 2), "test": test,
             "final": {k: v[-1] for k, v in history.history.items()}}), indent=2,
            allow_nan=False) + "\n")
        plot = None
        if out.get("plot", True):
            from ._plot import plot_history

            plot = plot_history(history.history, out_dir / "training.png",
                                title=f"{data.name} on {name}: test "
                                + ", ".join(f"{k} {v:.3f}" for k, v in test.items()))
        traj = None
        if trajectory is not None:
            from ._sequences import plot_trajectory

            traj = plot_trajectory(
                model, data, out_dir / "trajectory.png", samples=trajectory["samples"],
                names=trajectory["names"], title=f"{data.name} on {name}, test sequences: "
                + ", ".join(f"{k} {v:.4f}" for k, v in test.items()))
        samples = None
        if generate is not None:
            samples = out_dir / "samples.txt"
            generate_samples(model, tokenizer, generate, samples, seed=seed)
        served = None
        if serving is not None:
            from ._inference import run_preprocess
            from ._serve_run import serve_trained

            served = out_dir / "serving.json"
            serve_trained(model, data, run_preprocess(extra), tr.get("loss", "mse"), serving,
                          served)
    return RunResult(model, history, test, data, out_dir, ckpt, plot, seconds, traj, wiring,
                     samples, served)
