"""``Optimizer``: the base of ember-nn's optimisers (updates, slots, state dicts, configs).

An optimiser keeps, per variable path, a few *slots* (Adam's moments, SGD's momentum buffer):
tensors in the variable's dtype on its backend and device, created at the variable's first
update. ``update(model, grads)`` checks every gradient first (so a bad one changes nothing),
clips them when ``clip_norm`` is set, evaluates the learning-rate schedule at ``step`` (the
first update uses ``schedule(0)``) and assigns each new value with ``Variable.assign``.

The arithmetic is ember ops on the variables' own backend: no value is read back to the host.
The scalars of the formulas are 0-d tensors in each variable's dtype, made once per
configuration (``beta1``, ``1 - beta1`` ...) or once per update (bias corrections, the rate)
for each (backend, device, dtype) group, never per variable. From their second update on,
the small variables of a group are updated together as one flat tensor (``_pack``),
which gives the same numbers with a fraction of the kernel calls.

Hyperparameters are plain attributes and may be changed between updates, as torch allows for
``param_groups`` (``opt.momentum = 0.8``); they are checked again when they change. The step
count used for Adam's bias correction is the optimiser's ``step`` (Keras and Optax): a variable
whose first gradient arrives late is corrected as if it had had zero gradients before, where
torch would count its own steps.
"""

from __future__ import annotations

import abc
import inspect
import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import ember

from .._core._errors import ConfigError, StateError
from .._core._module import Module
from .._core._names import config_name
from ._checks import _rate, _real, _representable
from ._clip import check_max_norm, clip_list
from ._pack import Entry, Key, Packs, flat, limits
from ._schedules import Constant, Schedule
from ._schedules import deserialize as deserialize_schedule
from ._schedules import serialize as serialize_schedule
from ._state import checked_state

__all__ = ["Optimizer", "registry"]

_REGISTRY: dict[str, type[Optimizer]] = {}  # read through registry()
_Key = Key  # (backend, device, dtype) of a variable


def registry() -> dict[str, type[Optimizer]]:
    """The Optimizer subclasses by config name (the live table)."""
    return _REGISTRY


class Optimizer(abc.ABC):
    """Base class. Subclasses set their hyperparameters as attributes of the constructor
    arguments' names, call ``self._refresh()`` (which validates them) at the end of
    ``__init__``, and define the hooks ``_validate``, ``_fixed_scalars``, ``_step_scalars``,
    ``_slot_names``, ``_new_slots`` and ``_update`` (element-wise: see SGD).

    >>> model = ember_nn.Dense(2, 1, key=0)
    >>> opt = ember_nn.SGD(0.1)
    >>> grads = {k: ember.ones_like(v) for k, v in model.named_variables()}
    >>> opt.update(model, grads)
    >>> opt.step, opt.learning_rate
    (1, 0.1)
    """

    config_name: ClassVar[str]
    _names: ClassVar[tuple[str, ...]]  # constructor arguments besides learning_rate
    #: variables of at most this many elements are updated in packs (0: each on its own), in
    #: packs of at most ``pack_max_total`` elements; None: by device (``_pack.limits``)
    pack_max_size: int | None = None
    pack_max_total: int | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.config_name = config_name(_REGISTRY, cls)
        _REGISTRY[name] = cls
        params = inspect.signature(cls.__init__).parameters.values()
        cls._names = tuple(p.name for p in params if p.name not in ("self", "learning_rate")
                           and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def __init__(self, learning_rate: float | Schedule, *, weight_decay: float = 0.0,
                 clip_norm: float | None = None) -> None:
        self._schedule = _rate(self, learning_rate)
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self._step = 0
        self._entries: dict[str, Entry] = {}
        self._pending: dict[str, dict[str, ember.Tensor]] = {}  # loaded, not yet placed
        self._packs = Packs()
        self._hyper: tuple[Any, ...] | None = None  # the hyperparameters the caches are for
        self._fixed_values: dict[str, float] = {}
        self._fixed: dict[_Key, dict[str, ember.Tensor]] = {}
        self._compile = False
        self._update_fn: Any = None  # _update, or ember.compile(_update) (see compile_updates)

    # -- hooks for subclasses ------------------------------------------------------------------
    def _validate(self) -> None:
        """Raise ConfigError for a hyperparameter out of range (called when they change)."""
        _real(self, "weight_decay", self.weight_decay)
        if self.clip_norm is not None:
            check_max_norm(self.clip_norm, f"{type(self).__name__}: clip_norm", ConfigError)

    def _fixed_scalars(self) -> dict[str, float]:
        """Scalars that depend only on the hyperparameters (made into tensors once)."""
        return {}

    def _step_scalars(self, lr: float, t: int) -> dict[str, float]:
        """Scalars for update number ``t`` (1 for the first) at rate ``lr``."""
        return {"lr": lr}

    def _slot_names(self) -> tuple[str, ...]:
        """The slots each variable has after an update, with the current hyperparameters."""
        return ()

    def _new_slots(self, p: ember.Tensor) -> dict[str, ember.Tensor]:
        """The slots of a variable (value ``p``) before its first update."""
        return {}

    @abc.abstractmethod
    def _update(self, p: ember.Tensor, g: ember.Tensor, slots: dict[str, ember.Tensor],
                c: dict[str, ember.Tensor]) -> tuple[ember.Tensor, dict[str, ember.Tensor]]:
        """``(new value, new slots)`` from value ``p``, gradient ``g`` and the scalars ``c``."""

    # -- state ---------------------------------------------------------------------------------
    @property
    def step(self) -> int:
        """The number of updates done (``update``/``apply`` calls)."""
        return self._step

    @property
    def learning_rate(self) -> float:
        """The rate the next update uses: the schedule at ``step``."""
        return float(self._schedule(self._step))

    @learning_rate.setter
    def learning_rate(self, value: float | Schedule) -> None:
        self._schedule = _rate(self, value)

    @property
    def schedule(self) -> Schedule:
        """The learning-rate schedule (``Constant`` for a number)."""
        return self._schedule

    # -- updating ------------------------------------------------------------------------------
    def update(self, model: Module, grads: Mapping[str, ember.Tensor | None]) -> None:
        """One update of ``model``'s trainable variables from ``grads``, keyed by the paths of
        ``model.named_variables()``; ``None`` gradients are skipped.

        Raises ``StateError`` naming keys that are not trainable variables of the model,
        ``ember.ShapeError``/``DTypeError``/``BackendMismatchError`` for a gradient that does
        not fit its variable; nothing is updated then.
        """
        name = type(self).__name__
        if not isinstance(model, Module):
            raise ember.ArgumentError(f"{name}.update: expected an ember_nn.Module, got "
                                      f"{type(model).__name__}; use apply() for bare variables")
        if not isinstance(grads, Mapping):
            raise ember.ArgumentError(f"{name}.update: grads must be a mapping of variable "
                                      f"paths to tensors, got {type(grads).__name__}")
        variables = dict(model.named_variables())
        unknown = [k for k in grads if k not in variables]
        frozen = [k for k in grads if k in variables and not variables[k].trainable]
        if unknown or frozen:
            parts = ([f"not variables of the model: {unknown}"] if unknown else []) + (
                [f"not trainable: {frozen}"] if frozen else [])
            trainable = [k for k, v in variables.items() if v.trainable]
            raise StateError(f"{name}.update: gradients for paths that are not trainable "
                             f"variables of {type(model).__name__} ({'; '.join(parts)}); its "
                             f"trainable paths are {trainable[:10]}"
                             + (" ..." if len(trainable) > 10 else ""))
        self.apply([(k, variables[k], g) for k, g in grads.items()])

    def apply(self, pairs: Iterable[tuple[str, ember.Variable, ember.Tensor | None]]) -> None:
        """One update from ``(path, variable, gradient)`` triples (``update`` calls this);
        ``None`` gradients are skipped and ``step`` advances by one."""
        items = self._check(pairs)
        lr = self.learning_rate
        if not (math.isfinite(lr) and lr >= 0):
            raise ConfigError(f"{type(self).__name__}: the learning rate at step {self._step} is "
                              f"{lr!r}; a rate must be a finite number >= 0")
        self._refresh()
        packs, singles = self._packs.plan(self._entries, items, set(self._slot_names()),
                                          self._pack_limits)
        pack_grads = [flat([g for _, _, g in members]) for _, members in packs]
        if self.clip_norm is not None and (packs or singles):
            names = [members[0][0] for _, members in packs] + [k for k, _, _ in singles]
            clipped, _ = clip_list(pack_grads + [g for _, _, g in singles],
                                   float(self.clip_norm), names)
            pack_grads = clipped[:len(packs)]
            singles = [(k, v, g) for (k, v, _), g in zip(singles, clipped[len(packs):])]
        entries = self._entries
        for path, var, _ in singles:
            e = entries.get(path)
            if e is None or e.ref() is not var:
                self._attach(path, var)
        per_step = self._step_scalars(lr, self._step + 1)
        keys = {pack.key for pack, _ in packs} | {entries[k].key for k, _, _ in singles}
        groups = {key: self._constants(key, per_step) for key in keys}  # may refuse a dtype
        for (pack, members), g in zip(packs, pack_grads):
            c = groups[pack.key]
            variables = [v for _, v, _ in members]
            p, pack.slots = self._update_fn(pack.values(variables), ember.stop_gradient(g),
                                            pack.slots, c)
            pack.assign(p, variables)
        for path, var, g in singles:
            e = entries[path]
            assert e.slots is not None  # plan() dissolved any pack holding them
            p, e.slots = self._update_fn(ember.stop_gradient(var), ember.stop_gradient(g),
                                         e.slots, groups[e.key])
            var.assign(p)
        self._step += 1

    def _pack_limits(self, device: str) -> tuple[int, int]:
        auto = limits(device)
        size, total = self.pack_max_size, self.pack_max_total
        return (auto[0] if size is None else size, auto[1] if total is None else total)

    def _check(self, pairs: Iterable[Any]) -> list[tuple[str, ember.Variable, ember.Tensor]]:
        name = type(self).__name__
        items, seen = [], set()
        for item in pairs:
            if not (isinstance(item, tuple | list) and len(item) == 3):
                raise ember.ArgumentError(f"{name}.apply: expected (path, variable, gradient) "
                                          f"triples, got {item!r:.80}")
            path, var, g = item
            if g is None:
                continue
            if path in seen:
                raise ember.ArgumentError(f"{name}.apply: path {path!r} appears twice")
            seen.add(path)
            if not isinstance(var, ember.Variable):
                raise ember.ArgumentError(f"{name}.apply: {path!r} is a {type(var).__name__}, "
                                          f"not an ember.Variable")
            if not var.trainable:
                raise StateError(f"{name}.apply: variable {path!r} is not trainable")
            if not isinstance(g, ember.Tensor):
                raise ember.ArgumentError(f"{name}.apply: the gradient for {path!r} is a "
                                          f"{type(g).__name__}, not an ember.Tensor")
            e = self._entries.get(path)
            if e is not None and e.ref() is var:
                shape = e.shape
            else:
                shape = var.shape
                self._check_new(path, var, e)
            if g.shape != shape:
                raise ember.ShapeError(f"{name}: the gradient for {path!r} has shape {g.shape} "
                                       f"but the variable has shape {shape}")
            if g.dtype is not var.dtype:
                raise ember.DTypeError(f"{name}: the gradient for {path!r} is {g.dtype.name} but "
                                       f"the variable is {var.dtype.name}; cast it with "
                                       f"ember.astype")
            if g.backend != var.backend:
                raise ember.BackendMismatchError(
                    f"{name}: the gradient for {path!r} is on {g.backend!r} but the variable on "
                    f"{var.backend!r}; move it with .to({var.backend!r})")
            items.append((path, var, g))
        return items

    def _check_new(self, path: str, var: ember.Variable, old: Entry | None) -> None:
        """Checks for a variable this optimiser has no slots for yet (or a replaced one)."""
        name = type(self).__name__
        if not var.dtype.is_floating:
            raise ember.DTypeError(f"{name}: variable {path!r} is {var.dtype.name}; optimisers "
                                   f"update real floating-point variables only")
        pending = self._pending.get(path)
        shapes = ({k: t.shape for k, t in pending.items()} if pending is not None
                  else {"all": old.shape} if old is not None else {})
        bad = {k: s for k, s in shapes.items() if s != var.shape}
        if bad:
            raise StateError(f"{name}: the slots kept for {path!r} have shapes {bad} but the "
                             f"variable has shape {var.shape}; use a fresh optimiser for a "
                             f"different model")

    def _attach(self, path: str, var: ember.Variable) -> Entry:
        key: _Key = (var.backend, var.device, var.dtype)
        pending = self._pending.pop(path, None)
        old = self._entries.get(path)
        if old is not None and old.slots is None:
            self._packs.dissolve(old.key, self._entries)
        if pending is not None:
            slots = {k: _moved(t, key) for k, t in pending.items()}
        elif old is not None and old.slots is not None:  # the variable was replaced
            slots = {k: _moved(t, key) for k, t in old.slots.items()}  # (model.to(...))
        else:
            slots = self._new_slots(ember.stop_gradient(var))
        e = self._entries[path] = Entry(var, key, slots)
        return e

    def compile_updates(self, flag: bool = True) -> Optimizer:
        """Run the update arithmetic through ``ember.compile`` (``mx.compile``,
        ``torch.compile``; NumPy runs it as it is). ``Trainer(compile=True)`` calls this. The
        first update of each variable or pack shape pays the compilation."""
        self._compile = bool(flag)
        self._update_fn = None
        return self

    def _refresh(self) -> None:
        hyper = tuple(getattr(self, n) for n in self._names)
        if self._update_fn is None or hyper != self._hyper:  # Python branches on them compile in
            self._update_fn = ember.compile(self._update) if self._compile else self._update
        if hyper != self._hyper:
            self._validate()
            self._fixed_values = self._fixed_scalars()
            self._fixed.clear()
            self._hyper = hyper

    def _constants(self, key: _Key, per_step: Mapping[str, float]) -> dict[str, ember.Tensor]:
        fixed = self._fixed.get(key)
        if fixed is None:
            _representable(self, self._fixed_values, key[2])
            fixed = self._fixed[key] = {k: _scalar(v, key) for k, v in self._fixed_values.items()}
        c = dict(fixed)
        for k, v in per_step.items():
            c[k] = _scalar(v, key)
        return c

    # -- state dicts ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"config": get_config(), "step": int, "slots": {path: {slot: tensor}}}``.

        The slot tensors are the optimiser's own values (ember tensors are never changed in
        place, so later updates do not alter them).
        """
        packed = self._packs.unpacked()
        slots = {k: dict(e.slots) if e.slots is not None else packed[k]
                 for k, e in self._entries.items()}
        slots.update({k: dict(s) for k, s in self._pending.items()})
        return {"config": self.get_config(), "step": self._step, "slots": slots}

    def load_state_dict(self, state: Mapping[str, Any]) -> Optimizer:
        """Replace the step count and slots with ``state_dict()``'s output.

        Slot tensors may be on another backend, device or float dtype: each is moved and cast
        to its variable's at the variable's next update. ``state["config"]`` is not applied
        (this optimiser keeps its hyperparameters; rebuild one with ``from_config`` or
        ``deserialize`` to get the saved ones). Raises ``StateError`` naming the bad entries.
        """
        known = {k: e.shape for k, e in self._entries.items() if e.ref() is not None}
        loaded, step = checked_state(f"{type(self).__name__}.load_state_dict", state,
                                     set(self._slot_names()), known)
        self._entries, self._packs, self._pending, self._step = {}, Packs(), loaded, int(step)
        return self

    # -- configuration -------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as JSON-able values (a schedule as ``{"class", "config"}``)."""
        s = self._schedule
        lr: Any = s.value if type(s) is Constant else serialize_schedule(s)
        return {"learning_rate": lr, **{n: getattr(self, n) for n in self._names}}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Optimizer:
        """A new optimiser (no slots, step 0) built from ``get_config()``'s output."""
        if not isinstance(config, Mapping):
            raise ConfigError(f"{cls.__name__}.from_config: expected a mapping, got "
                              f"{type(config).__name__}")
        args = dict(config)
        if isinstance(args.get("learning_rate"), Mapping):
            args["learning_rate"] = deserialize_schedule(args["learning_rate"])
        try:
            return cls(**args)
        except TypeError as e:
            raise ConfigError(f"{cls.__name__}.from_config: {e}") from None

    def __repr__(self) -> str:
        cfg = self.get_config()
        lr = cfg.pop("learning_rate")
        lr_text = repr(lr) if not isinstance(lr, dict) else repr(self._schedule)
        rest = ", ".join(f"{k}={v!r}" for k, v in cfg.items())
        return f"{type(self).__name__}({lr_text}, {rest}, step={self._step})"


# -- helpers -------------------------------------------------------------------------------------
def _scalar(value: float, key: _Key) -> ember.Tensor:
    backend, device, dtype = key
    return ember.full((), value, dtype=dtype, device=device, backend=backend)


def _moved(t: ember.Tensor, key: _Key) -> ember.Tensor:
    backend, device, dtype = key
    if t.backend != backend or t.device != device:
        t = t.to(backend, device=device)
    if t.dtype is not dtype:
        t = ember.astype(t, dtype)
    return t
