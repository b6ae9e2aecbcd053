"""Checkpoints: a directory with ``model.safetensors`` and ``config.json``, written atomically.

``model.safetensors`` holds the model's ``state_dict()`` and, under ``optimizer/<variable
path>/<slot>``, the optimiser's slot tensors. ``config.json`` holds what rebuilds them without
code or pickles::

    {"format": "ember-checkpoint", "version": 1, "ember_nn": "0.1.0",
     "model": ember_nn.serialize(model), "optimizer": {"class", "config", "step"} or null,
     "backend": "torch", "dtypes": {tensor name: dtype name}, "extra": user JSON,
     "sha256": sha256 of model.safetensors}

A checkpoint is built in a temporary sibling directory, fsynced, then renamed into place (an
existing checkpoint is renamed aside first and deleted after), so a failure while saving
leaves the previous checkpoint as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ember

from . import _safetensors as st
from ._errors import CheckpointError, ConfigError, StateError
from ._module import Module, deserialize, serialize
from ._random import seeded

__all__ = ["Checkpoint", "load", "load_checkpoint", "load_weights", "read_extra", "save"]

FORMAT = "ember-checkpoint"
VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
OPTIMIZER_PREFIX = "optimizer/"


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns: the rebuilt model and optimiser and the saved extras.

    Attributes:
        model: the model, built from its config with the saved weights.
        optimizer: the optimiser with its state (slots and step), or None if none was saved.
        extra: the ``extra`` JSON given to ``save`` (None if none).
        step: the optimiser's step count when saved (None without an optimiser).
        backend_saved: the name of the backend the model was on when saved.

    >>> ck = ember_nn.load_checkpoint("runs/ckpt")
    >>> ck.model, ck.step, ck.extra["epoch"]
    """

    model: Module
    optimizer: Any
    extra: Any
    step: int | None
    backend_saved: str


# -- saving ----------------------------------------------------------------------------------
def save(model: Module, path: str | os.PathLike[str], *, optimizer: Any = None,
         extra: Any = None) -> Path:
    """Save ``model`` (config and weights) and optionally ``optimizer`` and ``extra`` JSON
    (training history, metrics, ...) as a checkpoint directory at ``path``.

    The write is atomic: on any failure an existing checkpoint at ``path`` is left intact.
    ``path`` may be an existing checkpoint (replaced) or a new directory (its parents are
    created); a directory holding anything else is refused.

    Returns the checkpoint's path.

    >>> model = ember_nn.Dense(3, 2)
    >>> ember_nn.save(model, "ckpt", extra={"epoch": 5})
    PosixPath('ckpt')
    """
    if not isinstance(model, Module):
        raise ember.ArgumentError(f"save: expected an ember_nn.Module, got {type(model).__name__}")
    target = Path(path)
    model_config = serialize(model)
    _check_json(model_config, "the model's config")
    _check_json(extra, "extra")
    tensors: dict[str, ember.Tensor] = dict(model.state_dict())
    opt_config = None
    if optimizer is not None:
        opt_config = _optimizer_state(optimizer, tensors)
    variables = model.variables
    config = {
        "format": FORMAT, "version": VERSION, "ember_nn": _version(),
        "model": model_config, "optimizer": opt_config,
        "backend": variables[0].backend if variables else ember.get_backend(),
        "dtypes": {k: t.dtype.name for k, t in tensors.items()},
        "extra": extra, "sha256": "",
    }
    _check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        os.chmod(tmp, st.default_mode(directory=True))
        config["sha256"] = st.write_file(tensors, tmp / WEIGHTS, {"format": FORMAT})
        text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
        st.atomic_write(tmp / CONFIG, lambda f: f.write(text.encode()))
        st.fsync_dir(tmp)
        _swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _optimizer_state(optimizer: Any, tensors: dict[str, ember.Tensor]) -> dict[str, Any]:
    from . import _optimizers

    described = _optimizers.serialize(optimizer)
    state = optimizer.state_dict()
    _check_json(described, "the optimizer's config")
    for path, slots in state["slots"].items():
        for slot, value in slots.items():
            if "/" in slot:
                raise ConfigError(f"save: optimizer slot name {slot!r} (of {path!r}) contains "
                                  f"'/', which checkpoint keys use as a separator")
            key = f"{OPTIMIZER_PREFIX}{path}/{slot}"
            if key in tensors:
                raise ConfigError(f"save: the model has a variable named {key!r}, which "
                                  f"clashes with the optimizer's slots; rename the attribute")
            tensors[key] = ember.stop_gradient(value)
    return {"class": described["class"], "config": described["config"],
            "step": int(state["step"])}


def _check_target(target: Path) -> None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise CheckpointError(f"save: {target} exists and is not a directory; refusing to "
                              f"replace it; choose another path")
    if target.is_dir():
        other = sorted(p.name for p in target.iterdir() if p.name not in (WEIGHTS, CONFIG))
        if other:
            raise CheckpointError(
                f"save: {target} is a directory holding other files ({', '.join(other[:5])}"
                f"{', ...' if len(other) > 5 else ''}), not a checkpoint; refusing to replace "
                f"it; choose another path or empty it")


def _swap_in(tmp: Path, target: Path) -> None:
    """Rename the finished ``tmp`` to ``target``; an existing ``target`` goes aside first and
    is deleted once the new one is in place (or is put back if the rename fails)."""
    aside = None
    if target.exists():
        aside = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.replace(target, aside / "old")
    try:
        os.replace(tmp, target)
    except BaseException:
        if aside is not None:
            os.replace(aside / "old", target)
            shutil.rmtree(aside, ignore_errors=True)
        raise
    st.fsync_dir(target.parent)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _check_json(value: Any, where: str) -> None:
    """Only what JSON holds as is: None, bool, int, float, str, lists/tuples, str-keyed dicts."""
    if value is None or isinstance(value, bool | int | float | str):
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_json(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"save: {where} has the key {k!r} ({type(k).__name__}); "
                                  f"JSON keys must be strings")
            _check_json(v, f"{where}[{k!r}]")
        return
    hint = " (use .tolist() or .item())" if isinstance(value, ember.Tensor) else ""
    raise ConfigError(f"save: {where} is a {type(value).__name__}, which JSON cannot hold"
                      f"{hint}; use numbers, strings, lists and dicts")


def _version() -> str:
    import ember_nn

    return str(ember_nn.__version__)


# -- loading ---------------------------------------------------------------------------------
def load(path: str | os.PathLike[str], *, backend: str | None = None,
         device: str | None = None) -> Module:
    """The model of a checkpoint, built from its config on ``backend`` (default: the current
    one) and ``device``, with the saved weights (their dtypes included).

    >>> model = ember_nn.load("ckpt", backend="torch")
    """
    return _load(Path(path), backend, device, with_optimizer=False).model


def load_checkpoint(path: str | os.PathLike[str], *, backend: str | None = None,
                    device: str | None = None) -> Checkpoint:
    """Everything a checkpoint holds: the model, the optimiser with its state (or None), the
    ``extra`` JSON, the step and the backend it was saved on. See :func:`load`.

    >>> ck = ember_nn.load_checkpoint("ckpt")
    >>> ck.extra
    {'epoch': 5}
    """
    return _load(Path(path), backend, device, with_optimizer=True)


def read_extra(path: str | os.PathLike[str]) -> Any:
    """The ``extra`` JSON a checkpoint holds, read without building the model or reading the
    weights (``ember evaluate`` and ``ember predict`` look at the saved run there first).

    >>> ember_nn.save(ember_nn.Dense(3, 2), "ckpt", extra={"epoch": 5})
    >>> read_extra("ckpt")
    {'epoch': 5}
    """
    return _read_config(Path(path))["extra"]


def load_weights(model: Module, path: str | os.PathLike[str], strict: bool = True) -> Module:
    """Load a checkpoint's weights into an existing ``model`` (in place; returns it).

    The checkpoint must be for the same model class; with ``strict`` every variable path must
    match both ways. ``path`` may also be a bare ``.safetensors`` file of a state dict (no
    class check then). Values are moved to the model's backend and device and cast to its
    dtypes (as ``load_state_dict`` does).

    >>> model = ember_nn.Dense(3, 2)
    >>> ember_nn.load_weights(model, "ckpt")
    """
    if not isinstance(model, Module):
        raise ember.ArgumentError(
            f"load_weights: expected an ember_nn.Module, got {type(model).__name__}")
    p = Path(path)
    variables = model.variables
    where = ({"backend": variables[0].backend, "device": variables[0].device}
             if variables else {})
    if p.is_file():
        state = st.load_file(p, **where)
    else:
        config = _read_config(p)
        saved = config["model"].get("class") if isinstance(config["model"], dict) else None
        if saved != model.config_name:
            raise CheckpointError(
                f"{p}: the checkpoint holds a {saved!r} model, not {model.config_name!r}; "
                f"load it with ember_nn.load({str(p)!r}) or pass a {saved} model")
        state = _model_part(_read_weights(p, config, **where))
    _load_state(model, state, strict, p)
    return model


def _load(path: Path, backend: str | None, device: str | None,
          with_optimizer: bool) -> Checkpoint:
    config = _read_config(path)
    b = ember.load_backend(backend) if backend is not None else None
    name = b.name if b is not None else ember.get_backend()
    with ember.use_backend(name), seeded(0):  # building must not advance the caller's stream
        try:
            model = deserialize(config["model"])
        except ConfigError as exc:
            raise CheckpointError(f"{path}: cannot rebuild the model from {CONFIG}: {exc}") \
                from exc
    tensors = _read_weights(path, config, backend=name, device=device)
    state = _model_part(tensors)
    _match_dtypes(model, state)
    if device is not None:
        model.to(device=device)
    _load_state(model, state, True, path)
    optimizer, step = None, None
    opt = config["optimizer"]
    if opt is not None:
        step = opt.get("step") if isinstance(opt, dict) else None
        if with_optimizer:
            optimizer = _rebuild_optimizer(path, opt, tensors)
    return Checkpoint(model, optimizer, config["extra"], step, config["backend"])


def _read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise CheckpointError(f"{path}: no checkpoint here (the directory does not exist); "
                              f"check the path, or save one with ember_nn.save(model, path)")
    if not path.is_dir():
        raise CheckpointError(
            f"{path}: is a file, not a checkpoint directory (one holds {WEIGHTS} and {CONFIG}); "
            f"for a bare safetensors file use ember_nn.load_file or ember_nn.load_weights")
    for part in (CONFIG, WEIGHTS):
        if not (path / part).is_file():
            raise CheckpointError(f"{path}: incomplete checkpoint: {part} is missing; it was "
                                  f"not written by ember_nn.save or was damaged: save it again")
    try:
        config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{path / CONFIG}: not valid JSON ({exc}): corrupted; save the "
                              f"checkpoint again") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        got = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise CheckpointError(f"{path / CONFIG}: not an ember checkpoint (format {got!r}, "
                              f"expected {FORMAT!r})")
    version = config.get("version")
    if version != VERSION:
        hint = ("upgrade ember-nn to read it" if isinstance(version, int) and version > VERSION
                else "it was not written by ember_nn.save")
        raise CheckpointError(f"{path / CONFIG}: checkpoint version {version!r} is not one "
                              f"this ember-nn reads (version {VERSION}); {hint}")
    missing = [k for k in ("model", "optimizer", "backend", "dtypes", "extra", "sha256")
               if k not in config]
    if missing:
        raise CheckpointError(f"{path / CONFIG}: missing entries {missing}: corrupted; save "
                              f"the checkpoint again")
    return config


def _read_weights(path: Path, config: Mapping[str, Any], backend: str | None = None,
                  device: str | None = None) -> dict[str, ember.Tensor]:
    weights = path / WEIGHTS
    entries = st.read_entries(weights)  # header problems (truncation...) are named first
    digest = st.sha256_of(weights)
    if digest != config["sha256"]:
        raise CheckpointError(
            f"{weights}: corrupted: its sha256 is {digest}, but {CONFIG} records "
            f"{config['sha256']}; the weights changed after saving: restore a copy or save again")
    dtypes = {k: d.name for k, (d, _) in entries.items()}
    if dtypes != config["dtypes"]:
        raise CheckpointError(f"{path}: {WEIGHTS} and {CONFIG} list different tensors or "
                              f"dtypes: corrupted; save the checkpoint again")
    return st.load_file(weights, backend=backend, device=device)


def _model_part(tensors: Mapping[str, ember.Tensor]) -> dict[str, ember.Tensor]:
    return {k: v for k, v in tensors.items() if not k.startswith(OPTIMIZER_PREFIX)}


def _load_state(model: Module, state: Mapping[str, ember.Tensor], strict: bool,
                path: Path) -> None:
    try:
        model.load_state_dict(state, strict=strict)
    except StateError as exc:
        raise CheckpointError(f"{path}: the weights do not fit {type(model).__name__}: {exc}") \
            from exc


def _match_dtypes(model: Module, state: Mapping[str, ember.Tensor]) -> None:
    """Give the freshly built variables the saved dtypes (a model saved in bfloat16 loads in
    bfloat16), replacing only the variables whose dtype differs."""
    want = {path: state[path].dtype for path, v in model.named_variables()
            if path in state and state[path].dtype != v.dtype}
    if not want:
        return
    new: dict[int, ember.Variable] = {}
    for path, v in model.named_variables():
        if path in want:
            new[id(v)] = ember.Variable(ember.astype(ember.stop_gradient(v), want[path]),
                                        trainable=v.trainable, name=v.name)
    for _, m in model.named_modules():
        for k, value in list(m._attributes()):
            object.__setattr__(m, k, _replaced(value, new))


def _replaced(obj: Any, new: Mapping[int, ember.Variable]) -> Any:
    if isinstance(obj, ember.Variable):
        return new.get(id(obj), obj)
    if isinstance(obj, list):
        return [_replaced(x, new) for x in obj]
    if isinstance(obj, tuple):
        return tuple(_replaced(x, new) for x in obj)
    if isinstance(obj, dict):
        return {k: _replaced(x, new) for k, x in obj.items()}
    return obj


def _rebuild_optimizer(path: Path, opt: Any, tensors: Mapping[str, ember.Tensor]) -> Any:
    from . import _optimizers

    if not isinstance(opt, dict) or not {"class", "config", "step"} <= set(opt):
        raise CheckpointError(f"{path / CONFIG}: the optimizer entry must have class, config "
                              f"and step, got {opt!r:.100}: corrupted")
    try:
        optimizer = _optimizers.deserialize({"class": opt["class"], "config": opt["config"]})
    except ConfigError as exc:
        raise CheckpointError(f"{path}: cannot rebuild the optimizer from {CONFIG}: {exc}") \
            from exc
    slots: dict[str, dict[str, ember.Tensor]] = {}
    for key, value in _optimizer_part(tensors):
        var_path, _, slot = key.rpartition("/")
        slots.setdefault(var_path, {})[slot] = value
    try:
        optimizer.load_state_dict({"config": opt["config"], "step": opt["step"],
                                   "slots": slots})
    except (ConfigError, StateError) as exc:
        raise CheckpointError(f"{path}: the optimizer state does not load: {exc}") from exc
    return optimizer


def _optimizer_part(tensors: Mapping[str, ember.Tensor]) -> Iterator[tuple[str, ember.Tensor]]:
    for k, v in tensors.items():
        if k.startswith(OPTIMIZER_PREFIX):
            yield k[len(OPTIMIZER_PREFIX):], v
