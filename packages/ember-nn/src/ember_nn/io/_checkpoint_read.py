"""Reading a checkpoint version: its config (checksum, limits, entries), the model it
describes built without initialisers, the weights file's header checked against that model,
the weights verified and placed in it, and the optimiser. ``_checkpoint`` has the public API
and the order these run in."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import ember

from .._core._deferred import deferred_init
from .._core._errors import CheckpointError, ConfigError, StateError
from .._core._module import Module, castable
from .._core._random import seeded
from .._core._serialize import MAX_DEPTH, deserialize
from ..optim import _optimizers
from . import _bounded_json
from . import _checkpoint_store as store
from . import _safetensors as st

FORMAT = "ember-checkpoint"
VERSION = 2
WEIGHTS, CONFIG, SUMS = store.WEIGHTS, store.CONFIG, store.SUMS
OPTIMIZER_PREFIX = "optimizer/"
MAX_CONFIG_BYTES = 32 << 20
#: JSON nesting a config.json may have: room for MAX_DEPTH nested modules (4 levels each) and
#: for user JSON in "extra"
MAX_CONFIG_DEPTH = 4 * MAX_DEPTH + 64


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
    except Exception as exc:  # slots of the wrong shape or dtype, as the optimiser found them
        raise CheckpointError(f"{snap.dir}: the optimizer state does not load: "
                              f"{type(exc).__name__}: {exc}") from exc


def _optimizer_part(tensors: Mapping[str, ember.Tensor]) -> Iterator[tuple[str, ember.Tensor]]:
    for k, v in tensors.items():
        if k.startswith(OPTIMIZER_PREFIX):
            yield k[len(OPTIMIZER_PREFIX):], v
