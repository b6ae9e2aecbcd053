"""``Optimizer``: the base of ember-nn's optimisers (updates, slots, state dicts, configs).

An optimiser keeps, per variable path, a few *slots* (Adam's moments, SGD's momentum buffer):
tensors in the variable's dtype on its backend and device, created at the variable's first
update. ``update(model, grads)`` checks every gradient first (so a bad one changes nothing),
clips them when ``clip_norm`` is set, evaluates the learning-rate schedule at ``step`` (the
first update uses ``schedule(0)``) and assigns each new value with ``Variable.assign``.

The arithmetic is one fused optimiser-update op per (backend, device, dtype) group of variables
(``ember.nn.sgd_update``, ``adam_update``, ``rmsprop_update``: torch's fused or foreach kernels,
one compiled MLX function, the composite on NumPy), so no value is read back to the host and a
group costs one dispatch, whatever its number of variables. The optimiser owns its slot tensors
(``state_dict`` gives copies, loaded ones are copied in), so it lets the ops overwrite them
(``donate=True``); the variables' arrays are never overwritten (``Variable.assign`` gets new
ones). ``functional_update`` is the same update as a pure function of (params, grads, slots,
step) for compiled training steps.

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
from ._entry import Entry, Key
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
    ``__init__``, and define the hooks ``_validate``, ``_fixed_scalars``, ``_slot_names``,
    ``_new_slots`` (``_missing_slot``) and ``_group_update`` (one fused ``ember.nn.*_update``
    call: see SGD).

    >>> model = ember_nn.Dense(2, 1, key=0)
    >>> opt = ember_nn.SGD(0.1)
    >>> grads = {k: ember.ones_like(v) for k, v in model.named_variables()}
    >>> opt.update(model, grads)
    >>> opt.step, opt.learning_rate
    (1, 0.1)
    """

    config_name: ClassVar[str]
    _names: ClassVar[tuple[str, ...]]  # constructor arguments besides learning_rate

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
        self._hyper: tuple[Any, ...] | None = None  # the hyperparameters last validated
        self._fixed_values: dict[str, float] = {}
        self._checked: set[ember.DType] = set()  # dtypes the hyperparameters were checked for
        self._compile = False
        self._update_fn: Any = None  # _group_update, or ember.compile of it (compile_updates)

    # -- hooks for subclasses ------------------------------------------------------------------
    def _validate(self) -> None:
        """Raise ConfigError for a hyperparameter out of range (called when they change)."""
        _real(self, "weight_decay", self.weight_decay)
        if self.clip_norm is not None:
            check_max_norm(self.clip_norm, f"{type(self).__name__}: clip_norm", ConfigError)

    def _fixed_scalars(self) -> dict[str, float]:
        """The hyperparameters that must not round to 0 in a variable's dtype (checked once
        per dtype)."""
        return {}

    def _slot_names(self) -> tuple[str, ...]:
        """The slots each variable has after an update, with the current hyperparameters."""
        return ()

    def _new_slots(self, p: ember.Tensor) -> dict[str, ember.Tensor]:
        """The slots of a variable (value ``p``) before its first update."""
        return {}

    def _missing_slot(self, name: str, p: ember.Tensor) -> ember.Tensor | None:
        """A slot a variable lacks (a hyperparameter turned it on after its first update)."""
        return ember.zeros_like(p)

    @abc.abstractmethod
    def _group_update(self, params: list[ember.Tensor], grads: list[ember.Tensor],
                      slots: dict[str, list[Any]], lr: Any, step: Any,
                      ) -> tuple[list[ember.Tensor], dict[str, list[ember.Tensor]]]:
        """``(new params, new slots)`` of one group (one backend, device and dtype) at rate
        ``lr`` for update number ``step`` (1 for the first); numbers or 0-d tensors. Pure: one
        fused ``ember.nn.*_update`` call (slots donated: see the module docstring)."""

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
        if self.clip_norm is not None and items:
            clipped, _ = clip_list([g for _, _, g in items], float(self.clip_norm),
                                   [k for k, _, _ in items])
            items = [(k, v, g) for (k, v, _), g in zip(items, clipped)]
        for dtype in {v.dtype for _, v, _ in items} - self._checked:  # may refuse a dtype
            _representable(self, self._fixed_values, dtype)
            self._checked.add(dtype)
        entries = self._entries
        groups: dict[_Key, list[tuple[Entry, ember.Variable, ember.Tensor]]] = {}
        for path, var, g in items:
            e = entries.get(path)
            if e is None or e.ref() is not var:
                e = self._attach(path, var)
            groups.setdefault(e.key, []).append((e, var, g))
        names = self._slot_names()
        step = self._step + 1
        for key, members in groups.items():
            params = [ember.stop_gradient(v) for _, v, _ in members]
            slots = {n: [self._slot(e, n, p) for (e, _, _), p in zip(members, params)]
                     for n in names}
            rate: Any = lr
            count: Any = step
            if self._compile:  # inputs of the compiled update, not constants (one compilation)
                rate, count = (ember.asarray(v, dtype=ember.float32, backend=key[0],
                                             device=key[1]) for v in (lr, step))
            new_p, new_slots = self._update_fn(params, [g for _, _, g in members], slots, rate,
                                               count)
            for i, (e, var, _) in enumerate(members):
                var.assign(new_p[i])
                e.slots = {n: new_slots[n][i] for n in names}
        self._step = step

    def _slot(self, e: Entry, name: str, p: ember.Tensor) -> Any:
        s = e.slots.get(name)
        return s if s is not None else self._missing_slot(name, p)

    # -- the update as a pure function (compiled training steps) -------------------------------
    def functional_update(self, params: list[ember.Tensor], grads: list[ember.Tensor],
                          slots: list[Any], step: Any, lr: Any = None,
                          ) -> tuple[list[ember.Tensor], list[Any]]:
        """One update as a pure function: ``(new params, new slots)`` from the variables'
        values, their gradients and their slots as the flat list ``read_slots`` gives (slot name
        by slot name, each with one entry per variable, in ``slot_names()`` order). ``step``
        is this update's number (1 for the first) and ``lr`` the rate (None: the schedule at
        ``step - 1``, which needs a Python ``step``); either may be a 0-d tensor, so that a
        compiled step does not recompile when they change. The variables must share one
        backend, device and dtype (group them otherwise); clipping (``clip_norm``) is not
        applied here. Nothing of the optimiser changes: write the results back with
        ``write_slots`` and assign the params.

        >>> w = ember.Variable([1.0, 2.0])
        >>> opt = ember_nn.Adam(0.1)
        >>> slots = opt.read_slots([("w", w)])
        >>> p, slots = opt.functional_update([w], [ember.tensor([1.0, -1.0])], slots, step=1)
        >>> [round(x, 4) for x in p[0].tolist()], len(slots)
        ([0.9, 2.1], 2)
        """
        self._refresh()
        if lr is None:
            lr = float(self._schedule(int(step) - 1))
        names = self._slot_names()
        n = len(params)
        if len(slots) != n * len(names):
            raise ember.ArgumentError(
                f"{type(self).__name__}.functional_update: expected {n * len(names)} slots "
                f"({n} variables x {list(names)}), got {len(slots)}; use read_slots()")
        grouped = {k: list(slots[i * n:(i + 1) * n]) for i, k in enumerate(names)}
        new_p, new_slots = self._group_update(list(params), list(grads), grouped, lr, step)
        return new_p, [t for k in names for t in new_slots[k]]

    def slot_names(self) -> tuple[str, ...]:
        """The slot names of ``read_slots``' layout, with the current hyperparameters."""
        self._refresh()
        return self._slot_names()

    def read_slots(self, pairs: Iterable[tuple[str, ember.Variable]]) -> list[Any]:
        """The slots of ``(path, variable)`` pairs as one flat list (``functional_update``'s
        layout), created (zeros, or None for SGD's buffers before their first update) for
        variables the optimiser has not updated yet."""
        self._refresh()
        pairs = list(pairs)
        entries = []
        for path, var in pairs:
            e = self._entries.get(path)
            if e is None or e.ref() is not var:
                self._check_new(path, var, e)
                e = self._attach(path, var)
            entries.append(e)
        values = [ember.stop_gradient(v) for _, v in pairs]
        return [self._slot(e, n, p) for n in self._slot_names()
                for e, p in zip(entries, values)]

    def write_slots(self, pairs: Iterable[tuple[str, ember.Variable]], slots: list[Any], *,
                    step: int) -> None:
        """Keep ``slots`` (``functional_update``'s result, in ``read_slots``' layout) as the
        slots of ``(path, variable)`` pairs and set ``step`` (the updates done so far)."""
        pairs = list(pairs)
        names = self._slot_names()
        n = len(pairs)
        if len(slots) != n * len(names):
            raise ember.ArgumentError(
                f"{type(self).__name__}.write_slots: expected {n * len(names)} slots "
                f"({n} variables x {list(names)}), got {len(slots)}")
        for i, (path, var) in enumerate(pairs):
            e = self._entries.get(path)
            if e is None or e.ref() is not var:
                e = self._attach(path, var)
            e.slots = {k: slots[j * n + i] for j, k in enumerate(names)}
        self._step = int(step)

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
        if pending is not None:  # copies: the slots are donated to the update ops
            slots = {k: _copy(_moved(t, key)) for k, t in pending.items()}
        elif old is not None and old.slots is not None:  # the variable was replaced
            slots = {k: _moved(t, key) for k, t in old.slots.items()}  # (model.to(...))
        else:
            slots = self._new_slots(ember.stop_gradient(var))
        e = self._entries[path] = Entry(var, key, slots)
        return e

    def compile_updates(self, flag: bool = True) -> Optimizer:
        """Run each group's update through ``ember.compile`` (``mx.compile``, ``torch.compile``;
        NumPy runs it as it is). ``Trainer(compile=True)`` calls this. The update ops are fused
        already (MLX's is compiled), so this mostly matters inside a larger compiled step."""
        self._compile = bool(flag)
        self._update_fn = None
        return self

    def _refresh(self) -> None:
        hyper = tuple(getattr(self, n) for n in self._names)
        if self._update_fn is None or hyper != self._hyper:  # Python branches on them compile in
            self._update_fn = (ember.compile(self._group_update) if self._compile
                               else self._group_update)
        if hyper != self._hyper:
            self._validate()
            self._fixed_values = self._fixed_scalars()
            self._checked.clear()
            self._hyper = hyper

    # -- state dicts ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"config": get_config(), "step": int, "slots": {path: {slot: tensor}}}``.

        The slot tensors are copies of the optimiser's own (which later updates may
        overwrite: they are donated to the update ops).
        """
        slots = {k: {n: _copy(t) for n, t in e.slots.items() if t is not None}
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
        self._entries, self._pending, self._step = {}, loaded, int(step)
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
def _copy(t: ember.Tensor) -> ember.Tensor:
    return ember.asarray(t, copy=True)


def _moved(t: ember.Tensor, key: _Key) -> ember.Tensor:
    backend, device, dtype = key
    if t.backend != backend or t.device != device:
        t = t.to(backend, device=device)
    if t.dtype is not dtype:
        t = ember.astype(t, dtype)
    return t
