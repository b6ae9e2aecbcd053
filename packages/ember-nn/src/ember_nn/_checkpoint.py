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

Loading checks, in this order, before the weights are read: the checksum of config.json; its
JSON (size, nesting, duplicate keys) and entries; the weights file's header; then it builds
the model under ``deferred_init`` (no initialiser runs, no weight memory is taken) and checks
its variables' names, shapes and dtypes against the header. Only then are the weights copied
out of the file, hashed on the way, and placed in the model. Every problem with the files is a
``CheckpointError`` naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ember

from . import _bounded_json
from . import _checkpoint_store as store
from . import _safetensors as st
from ._deferred import deferred_init
from ._errors import CheckpointError, ConfigError, StateError
from ._module import Module, castable
from ._random import seeded
from ._serialize import MAX_DEPTH, deserialize, serialize

__all__ = ["Checkpoint", "load", "load_checkpoint", "load_weights", "read_extra", "save"]

FORMAT = "ember-checkpoint"
VERSION = 2
WEIGHTS, CONFIG, SUMS = store.WEIGHTS, store.CONFIG, store.SUMS
OPTIMIZER_PREFIX = "optimizer/"
MAX_CONFIG_BYTES = 32 << 20
#: JSON nesting a config.json may have: room for MAX_DEPTH nested modules (4 levels each) and
#: for user JSON in "extra"
MAX_CONFIG_DEPTH = 4 * MAX_DEPTH + 64
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
        "format": FORMAT, "version": VERSION, "ember_nn": _version(),
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
            with st.Reader(snap.dir / WEIGHTS) as reader:  # open first: see _load
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
    with st.Reader(weights) as reader:
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


def _read_config(snap: store.Snapshot) -> dict[str, Any]:
    """config.json, its checksum verified (version 2), parsed with limits, entries checked."""
    where = snap.dir / CONFIG
    raw = snap.read(CONFIG, MAX_CONFIG_BYTES)
    if snap.layout == 2:
        want = snap.sums()[CONFIG]
        got = hashlib.sha256(raw).hexdigest()
        if got != want:
            raise CheckpointError(
                f"{where}: corrupted or edited: its sha256 is {got}, but {SUMS} records {want};"
                f" config.json changed after saving (an edit changes what the model does): "
                f"restore it or save the checkpoint again")
    config = _bounded_json.loads(raw, str(where), max_bytes=MAX_CONFIG_BYTES,
                                 max_depth=MAX_CONFIG_DEPTH)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        got_format = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise CheckpointError(f"{where}: not an ember checkpoint (format {got_format!r:.60}, "
                              f"expected {FORMAT!r})")
    version = config.get("version")
    if version != snap.layout:
        newer = isinstance(version, int) and not isinstance(version, bool) and version > VERSION
        hint = "upgrade ember-nn to read it" if newer else "it was not written by ember_nn.save"
        raise CheckpointError(f"{where}: checkpoint version {version!r:.20} is not one this "
                              f"ember-nn reads here (version {snap.layout} in this layout); "
                              f"{hint}")
    kinds: dict[str, Any] = {"model": dict, "optimizer": (dict, type(None)), "backend": str,
                             "extra": object}
    if snap.layout == 1:
        kinds.update(sha256=str, dtypes=dict)
    wrong = [k for k, t in kinds.items() if k not in config or not isinstance(config[k], t)]
    if not wrong and not isinstance(config["model"].get("class"), str):
        wrong.append("model.class")
    opt = config.get("optimizer")
    if not wrong and opt is not None and (
            set(opt) != {"class", "config", "step"} or not isinstance(opt["step"], int)
            or isinstance(opt["step"], bool)):
        wrong.append("optimizer")
    if wrong:
        raise CheckpointError(f"{where}: missing or malformed entries {wrong}: corrupted; save "
                              f"the checkpoint again")
    return config


def _build(snap: store.Snapshot, description: Any, backend: str) -> Module:
    """The model config.json describes, with placeholder variables (no initialiser runs)."""
    with ember.use_backend(backend), seeded(0), deferred_init():
        try:
            return deserialize(description)
        except ConfigError as exc:
            problem = str(exc)
        except Exception as exc:  # a registered class refused the arguments some other way
            problem = f"{type(exc).__name__}: {exc}"
    raise CheckpointError(f"{snap.dir / CONFIG}: cannot rebuild the model: {problem:.1000}")


def _check_fits(model: Module, reader: st.Reader, strict: bool, where: Path, *,
                adopt_floats: bool = False) -> None:
    """The file's header against the model's variables: names (both ways with ``strict``),
    shapes and dtypes (``load_state_dict``'s rule; with ``adopt_floats`` the same dtype or any
    floating one for a floating variable, as the model takes the saved dtype), before any
    weight is read."""
    file = {e.name: e for e in reader.entries if not e.name.startswith(OPTIMIZER_PREFIX)}
    mine = dict(model.named_variables())
    problems = []
    if strict:
        missing = [k for k in mine if k not in file]
        unexpected = [k for k in file if k not in mine]
        if missing:
            problems.append(f"missing: {missing[:20]}")
        if unexpected:
            problems.append(f"unexpected: {unexpected[:20]}")
    shapes = [f"{k} (file has {file[k].shape}, model has {v.shape})"
              for k, v in mine.items() if k in file and file[k].shape != v.shape]
    def fits(given: ember.DType, want: ember.DType) -> bool:
        if adopt_floats:
            return given is want or (given.is_floating and want.is_floating)
        return castable(given, want)

    dtypes = [f"{k} (file has {file[k].dtype.name}, model has {v.dtype.name})"
              for k, v in mine.items() if k in file and not fits(file[k].dtype, v.dtype)]
    if shapes:
        problems.append("mis-shaped: " + ", ".join(shapes[:20]))
    if dtypes:
        problems.append("dtypes that would lose information: " + ", ".join(dtypes[:20]))
    if problems:
        described = f" (as {CONFIG} describes it)" if adopt_floats else ""
        raise CheckpointError(f"{where}: the weights do not fit {type(model).__name__}"
                              f"{described}: " + "; ".join(problems))


def _verified(snap: store.Snapshot, config: Mapping[str, Any], reader: st.Reader,
              backend: str | None = None, device: str | None = None) -> dict[str, ember.Tensor]:
    """Every tensor of the weights file, whose sha256 must be the recorded one."""
    want = snap.sums()[WEIGHTS] if snap.layout == 2 else config["sha256"]
    tensors, got = reader.tensors(backend, device, sha256=True)
    if got != want:
        raise CheckpointError(
            f"{reader.path}: corrupted: its sha256 is {got}, but "
            f"{SUMS if snap.layout == 2 else CONFIG} records {want:.64}; the weights changed "
            f"after saving: restore a copy or save again")
    if snap.layout == 1 and {e.name: e.dtype.name for e in reader.entries} != config["dtypes"]:
        raise CheckpointError(f"{snap.dir}: {WEIGHTS} and {CONFIG} list different tensors or "
                              f"dtypes: corrupted; save the checkpoint again")
    return tensors


def _install(model: Module, state: Mapping[str, ember.Tensor]) -> None:
    """Put the loaded tensors in the model: each variable (a placeholder) is replaced by one
    holding its tensor, in the saved dtype, keeping its name and trainability."""
    new = {id(v): ember.Variable(state[path], trainable=v.trainable, name=v.name)
           for path, v in model.named_variables()}
    for _, m in list(model.named_modules()):
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


def _model_part(tensors: Mapping[str, ember.Tensor]) -> dict[str, ember.Tensor]:
    return {k: v for k, v in tensors.items() if not k.startswith(OPTIMIZER_PREFIX)}


def _optimizer(snap: store.Snapshot, opt: Mapping[str, Any]) -> Any:
    from . import _optimizers

    try:
        return _optimizers.deserialize({"class": opt["class"], "config": opt["config"]})
    except Exception as exc:  # ConfigError, or a class that refused the values otherwise
        raise CheckpointError(f"{snap.dir / CONFIG}: cannot rebuild the optimizer: "
                              f"{type(exc).__name__}: {exc}"[:1200]) from exc


def _load_slots(snap: store.Snapshot, optimizer: Any, opt: Mapping[str, Any],
                tensors: Mapping[str, ember.Tensor]) -> None:
    slots: dict[str, dict[str, ember.Tensor]] = {}
    for key, value in _optimizer_part(tensors):
        var_path, _, slot = key.rpartition("/")
        slots.setdefault(var_path, {})[slot] = value
    try:
        optimizer.load_state_dict({"config": opt["config"], "step": opt["step"],
                                   "slots": slots})
    except (ConfigError, StateError) as exc:
        raise CheckpointError(f"{snap.dir}: the optimizer state does not load: {exc}") from exc


def _optimizer_part(tensors: Mapping[str, ember.Tensor]) -> Iterator[tuple[str, ember.Tensor]]:
    for k, v in tensors.items():
        if k.startswith(OPTIMIZER_PREFIX):
            yield k[len(OPTIMIZER_PREFIX):], v
