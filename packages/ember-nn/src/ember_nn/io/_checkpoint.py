"""Checkpoints: a model's config and weights (and optimiser state), saved so nothing is lost.

On disk a checkpoint is a directory of versions (``_checkpoint_store`` has the layout, the
crash guarantees and why)::

    ckpt/v000007/model.safetensors   the model's state_dict() and, under
                                     optimizer/<variable path>/<slot>, the optimiser's slots
    ckpt/v000007/config.json         {"format": "ember-checkpoint", "version": 2, "ember_nn",
                                      "model": ember_nn.serialize(model),
                                      "optimizer": {"class", "config", "step"} or null,
                                      "backend": the model's backend, "extra": user JSON}
    ckpt/v000007/SHA256SUMS          the sha256 of both files

Loading checks, before any weight is read: the weights file's header (opened first, so a save
that replaces the version meanwhile cannot pull it away); the checksum of config.json, its JSON
(size, nesting, duplicate keys) and entries; then it builds the model under ``deferred_init``
(no initialiser runs, no weight memory is taken) and checks its variables' names, shapes and
dtypes against the header. Only then are the weights copied out of the file, hashed on the way,
and placed in the model. Every problem with the files is a ``CheckpointError`` naming the file
and the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ember

from .._core._errors import CheckpointError, ConfigError, StateError
from .._core._module import Module
from .._core._serialize import serialize
from .._core._version import __version__
from ..optim import _optimizers
from . import _bounded_json
from . import _checkpoint_store as store
from . import _safetensors as st
from ._checkpoint_read import (
    CONFIG,
    FORMAT,
    MAX_CONFIG_BYTES,
    MAX_CONFIG_DEPTH,
    OPTIMIZER_PREFIX,
    SUMS,
    VERSION,
    WEIGHTS,
    _build,
    _check_fits,
    _install,
    _load_slots,
    _model_part,
    _optimizer,
    _read_config,
    _verified,
)

__all__ = ["Checkpoint", "load", "load_checkpoint", "load_weights", "read_extra", "save"]

_ATTEMPTS = 10  # a load restarts when a save replaces the version it was reading


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

    Nothing is lost: until the new version is complete on disk the previous checkpoint stays
    the one at ``path``, and a save killed at any point leaves the old or the new one loadable
    (its leftovers are deleted by the next save). ``path`` may be an existing checkpoint
    (replaced) or a new directory (its parents are created); a directory holding anything
    else is refused. Two saves to one path run one after the other.

    Returns the checkpoint's path.

    >>> model = ember_nn.Dense(3, 2)
    >>> ember_nn.save(model, "ckpt", extra={"epoch": 5})
    PosixPath('ckpt')
    """
    if not isinstance(model, Module):
        raise ember.ArgumentError(f"save: expected an ember_nn.Module, got {type(model).__name__}")
    target = Path(path)
    tensors: dict[str, ember.Tensor] = dict(model.state_dict())
    opt_config = _optimizer_state(optimizer, tensors) if optimizer is not None else None
    variables = model.variables
    config = {
        "format": FORMAT, "version": VERSION, "ember_nn": __version__,
        "model": serialize(model), "optimizer": opt_config,
        "backend": variables[0].backend if variables else ember.get_backend(),
        "extra": extra,
    }
    text = _config_bytes(config)
    header = st._header(tensors, {"format": FORMAT})
    store.check_target(target)

    def write(directory: Path) -> None:
        weights = store.write_file(
            directory / WEIGHTS, lambda f: st.write_stream(f, tensors, header, directory / WEIGHTS))
        store.write_file(directory / CONFIG, lambda f: f.write(text))
        sums = {WEIGHTS: str(weights), CONFIG: hashlib.sha256(text).hexdigest()}
        store.write_file(directory / SUMS, lambda f: f.write(store.sums_text(sums)))

    store.commit(target, write)
    return target


def _config_bytes(config: dict[str, Any]) -> bytes:
    """config.json's bytes, refusing what would not load back (checked without recursion)."""
    deep = _bounded_json.depth(config)
    if deep > MAX_CONFIG_DEPTH:
        raise ConfigError(f"save: the config (model description and extra) nests {deep} levels "
                          f"deep, over the limit of {MAX_CONFIG_DEPTH}; flatten extra")
    _check_json(config["extra"], "extra")
    text = (json.dumps(config, indent=2, ensure_ascii=False) + "\n").encode()
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"save: config.json would be {len(text):,} bytes, over the "
                          f"{MAX_CONFIG_BYTES:,}-byte limit; keep large data in its own file "
                          f"rather than in extra")
    return text


def _optimizer_state(optimizer: Any, tensors: dict[str, ember.Tensor]) -> dict[str, Any]:
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


def _check_json(value: Any, where: str) -> None:
    """Only what JSON holds as is: None, bool, int, float, str, lists/tuples, str-keyed dicts
    (an explicit stack: callers check the depth first)."""
    stack = [(value, where)]
    while stack:
        v, at = stack.pop()
        if v is None or isinstance(v, bool | int | float | str):
            continue
        if isinstance(v, list | tuple):
            stack.extend((x, f"{at}[{i}]") for i, x in enumerate(v))
        elif isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    raise ConfigError(f"save: {at} has the key {k!r} ({type(k).__name__}); "
                                      f"JSON keys must be strings")
                stack.append((x, f"{at}[{k!r}]"))
        else:
            hint = " (use .tolist() or .item())" if isinstance(v, ember.Tensor) else ""
            raise ConfigError(f"save: {at} is a {type(v).__name__}, which JSON cannot hold"
                              f"{hint}; use numbers, strings, lists and dicts")


# -- loading ---------------------------------------------------------------------------------
def load(path: str | os.PathLike[str], *, backend: str | None = None,
         device: str | None = None) -> Module:
    """The model of a checkpoint, built from its config on ``backend`` (default: the current
    one) and ``device``, with the saved weights (their dtypes included).

    >>> model = ember_nn.load("ckpt", backend="torch")
    """
    return _newest(Path(path), lambda snap: _load(snap, backend, device, False)).model


def load_checkpoint(path: str | os.PathLike[str], *, backend: str | None = None,
                    device: str | None = None) -> Checkpoint:
    """Everything a checkpoint holds: the model, the optimiser with its state (or None), the
    ``extra`` JSON, the step and the backend it was saved on. See :func:`load`.

    >>> ck = ember_nn.load_checkpoint("ckpt")
    >>> ck.extra
    {'epoch': 5}
    """
    return _newest(Path(path), lambda snap: _load(snap, backend, device, True))


def read_extra(path: str | os.PathLike[str]) -> Any:
    """The ``extra`` JSON a checkpoint holds, read without building the model or reading the
    weights (``ember evaluate`` and ``ember predict`` look at the saved run there first).

    >>> ember_nn.save(ember_nn.Dense(3, 2), "ckpt", extra={"epoch": 5})
    >>> read_extra("ckpt")
    {'epoch': 5}
    """
    return _newest(Path(path), _read_config)["extra"]


def load_weights(model: Module, path: str | os.PathLike[str], strict: bool = True) -> Module:
    """Load a checkpoint's weights into an existing ``model`` (in place; returns it).

    The checkpoint must be for the same model class; with ``strict`` every variable path must
    match both ways. ``path`` may also be a bare ``.safetensors`` file of a state dict (no
    class check then). Values are moved to the model's backend and device; dtypes follow
    ``load_state_dict``'s rule (a cast that would lose information is refused).

    >>> model = ember_nn.Dense(3, 2)
    >>> ember_nn.load_weights(model, "ckpt")
    """
    if not isinstance(model, Module):
        raise ember.ArgumentError(
            f"load_weights: expected an ember_nn.Module, got {type(model).__name__}")
    p = Path(path)
    variables = model.variables
    where: dict[str, Any] = ({"backend": variables[0].backend, "device": variables[0].device}
                             if variables else {})
    if p.is_file():
        with st.Reader(p) as reader:
            _check_fits(model, reader, strict, p)
            state = reader.tensors(**where)[0]
    else:
        def read(snap: store.Snapshot) -> dict[str, ember.Tensor]:
            with snap.weights() as reader:  # open first: see _load
                config = _read_config(snap)
                saved = config["model"]["class"]
                if saved != model.config_name:
                    raise CheckpointError(
                        f"{p}: the checkpoint holds a {saved!r:.100} model, not "
                        f"{model.config_name!r}; load it with ember_nn.load({str(p)!r}) or pass "
                        f"a {saved:.100} model")
                _check_fits(model, reader, strict, snap.dir / WEIGHTS)
                return _verified(snap, config, reader, **where)

        state = _model_part(_newest(p, read))
    try:
        model.load_state_dict(state, strict=strict)
    except StateError as exc:
        raise CheckpointError(f"{p}: the weights do not fit {type(model).__name__}: {exc}") \
            from exc
    return model


def _newest(path: Path, read: Any) -> Any:
    """``read(snapshot)`` of the newest version; again if a save replaced it meanwhile."""
    for attempt in range(_ATTEMPTS):
        snap = store.latest(path)
        try:
            return read(snap)
        except CheckpointError:
            if attempt + 1 < _ATTEMPTS and not snap.current():
                continue
            raise
    raise AssertionError("unreachable")


def _load(snap: store.Snapshot, backend: str | None, device: str | None,
          with_optimizer: bool) -> Checkpoint:
    name = ember.load_backend(backend).name if backend is not None else ember.get_backend()
    weights = snap.dir / WEIGHTS
    # the files are opened straight after the version is chosen: once open they stay readable
    # (on POSIX) even if a save deletes the version; before that, _newest starts again
    with snap.weights() as reader:
        config = _read_config(snap)
        model = _build(snap, config["model"], name)
        _check_fits(model, reader, True, weights, adopt_floats=True)
        opt = config["optimizer"]
        optimizer = _optimizer(snap, opt) if opt is not None and with_optimizer else None
        tensors = _verified(snap, config, reader, backend=name, device=device)
    _install(model, _model_part(tensors))
    if optimizer is not None:
        _load_slots(snap, optimizer, opt, tensors)
    step = opt["step"] if opt is not None else None
    return Checkpoint(model, optimizer, config["extra"], step, config["backend"])
