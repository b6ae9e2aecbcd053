"""Learning-rate schedules: objects called as ``schedule(step) -> float``, written to JSON.

An optimiser evaluates its schedule at ``optimizer.step``, the number of updates done so far,
*before* the update: the first update uses ``schedule(0)``, the k-th (counting from 1) uses
``schedule(k - 1)`` -- the convention of ``torch.optim.lr_scheduler.LambdaLR`` stepped once per
update, of Keras and of Optax. The value is computed in Python on the host from an integer,
so a schedule costs no device work and no synchronisation.

Subclass :class:`Schedule` for your own: define ``__call__`` and keep the constructor
arguments JSON-able and stored under their own names (``get_config`` reads them back).
"""

from __future__ import annotations

import abc
import inspect
import math
import numbers
from collections.abc import Mapping
from typing import Any, ClassVar

import ember

from .._core._errors import ConfigError
from .._core._names import config_name

__all__ = ["Constant", "CosineAnnealing", "CosineDecay", "Schedule", "StepDecay", "as_schedule", "deserialize",
           "registered", "serialize"]

_REGISTRY: dict[str, type[Schedule]] = {}


def registered() -> dict[str, type[Schedule]]:
    """Every Schedule subclass by the name ``serialize`` writes (a copy)."""
    return dict(_REGISTRY)


class Schedule(abc.ABC):
    """Base class of learning-rate schedules: ``schedule(step)`` is the rate for ``step``.

    >>> class Halving(Schedule):
    ...     def __init__(self, initial: float) -> None:
    ...         self.initial = initial
    ...     def __call__(self, step: int) -> float:
    ...         return self.initial * 0.5 ** step
    >>> Halving(1.0)(3), Halving(1.0).get_config()
    (0.125, {'initial': 1.0})
    """

    config_name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.config_name = config_name(_REGISTRY, cls)
        _REGISTRY[name] = cls

    @abc.abstractmethod
    def __call__(self, step: int) -> float:
        """The learning rate for ``step`` (the first update uses step 0)."""

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (read from attributes of the same names), JSON-able."""
        out = {}
        for name in _arguments(type(self)):
            if not hasattr(self, name):
                raise ConfigError(
                    f"{type(self).__name__}.get_config: no attribute {name!r}; store each "
                    f"constructor argument under its own name or override get_config")
            value = getattr(self, name)
            if not _jsonable(value):
                raise ConfigError(f"{type(self).__name__}.{name}: {type(value).__name__} value "
                                  f"{value!r:.60} cannot be written to a JSON config")
            out[name] = value
        return out

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Schedule:
        """A schedule built from ``get_config()``'s output."""
        if not isinstance(config, Mapping):
            raise ConfigError(f"{cls.__name__}.from_config: expected a mapping, got "
                              f"{type(config).__name__}")
        try:
            return cls(**config)
        except TypeError as e:
            raise ConfigError(f"{cls.__name__}.from_config: {e}") from None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    __hash__ = object.__hash__


class Constant(Schedule):
    """The same rate at every step.

    >>> Constant(0.1)(0), Constant(0.1)(1000)
    (0.1, 0.1)
    """

    def __init__(self, value: float) -> None:
        self.value = _number(self, "value", value)

    def __call__(self, step: int) -> float:
        _check_step(self, step)
        return self.value


class StepDecay(Schedule):
    """``initial * gamma ** (step // step_size)`` (``torch.optim.lr_scheduler.StepLR``).

    >>> s = StepDecay(1.0, step_size=10, gamma=0.5)
    >>> s(0), s(9), s(10), s(25)
    (1.0, 1.0, 0.5, 0.25)
    """

    def __init__(self, initial: float, *, step_size: int, gamma: float = 0.1) -> None:
        self.initial = _number(self, "initial", initial)
        self.step_size = _count(self, "step_size", step_size, minimum=1)
        self.gamma = _number(self, "gamma", gamma)

    def __call__(self, step: int) -> float:
        _check_step(self, step)
        return self.initial * self.gamma ** (step // self.step_size)


class CosineDecay(Schedule):
    """A linear warmup from ``warmup_start`` to ``initial`` over ``warmup_steps`` steps, then a
    half cosine from ``initial`` to ``final`` over the next ``decay_steps`` steps, then ``final``.

    ``decay_steps`` counts the steps after the warmup (Keras' ``CosineDecay``): the rate is
    ``initial`` at step ``warmup_steps``, ``(initial + final) / 2`` at
    ``warmup_steps + decay_steps / 2`` and ``final`` from ``warmup_steps + decay_steps`` on.

    >>> s = CosineDecay(1.0, decay_steps=10, warmup_steps=5, final=0.1)
    >>> s(0), s(1), s(5), s(10), s(15), s(99)
    (0.0, 0.2, 1.0, 0.55, 0.1, 0.1)
    """

    def __init__(self, initial: float, *, decay_steps: int, warmup_steps: int = 0,
                 final: float = 0.0, warmup_start: float = 0.0) -> None:
        self.initial = _number(self, "initial", initial)
        self.decay_steps = _count(self, "decay_steps", decay_steps, minimum=1)
        self.warmup_steps = _count(self, "warmup_steps", warmup_steps, minimum=0)
        self.final = _number(self, "final", final)
        self.warmup_start = _number(self, "warmup_start", warmup_start)

    def __call__(self, step: int) -> float:
        _check_step(self, step)
        if step < self.warmup_steps:
            frac = step / self.warmup_steps
            return self.warmup_start + (self.initial - self.warmup_start) * frac
        t = step - self.warmup_steps
        if t >= self.decay_steps:
            return self.final
        cos = 0.5 * (1.0 + math.cos(math.pi * t / self.decay_steps))
        return self.final + (self.initial - self.final) * cos


class CosineAnnealing(Schedule):
    """``torch.optim.lr_scheduler.CosineAnnealingLR`` stepped once per epoch, given per update:
    ``eta_min + (initial - eta_min) * (1 + cos(pi * epoch / t_max)) / 2`` with
    ``epoch = step // steps_per_epoch`` (torch's closed form; like torch's, it rises again
    after ``t_max`` epochs). Every update of an epoch uses that epoch's rate, as a scheduler
    stepped after each epoch does (MAD-Lab's: ``T_max=epochs, eta_min=1e-6``).

    >>> s = CosineAnnealing(1.0, t_max=4, eta_min=0.0, steps_per_epoch=10)
    >>> s(0), s(9), s(10), s(20), s(39), s(40)
    (1.0, 1.0, 0.8535533905932737, 0.5, 0.14644660940672627, 0.0)
    """

    def __init__(self, initial: float, *, t_max: int, eta_min: float = 0.0,
                 steps_per_epoch: int = 1) -> None:
        self.initial = _number(self, "initial", initial)
        self.t_max = _count(self, "t_max", t_max, minimum=1)
        self.eta_min = _number(self, "eta_min", eta_min)
        self.steps_per_epoch = _count(self, "steps_per_epoch", steps_per_epoch, minimum=1)

    def __call__(self, step: int) -> float:
        _check_step(self, step)
        epoch = step // self.steps_per_epoch
        cos = 1.0 + math.cos(math.pi * epoch / self.t_max)
        return self.eta_min + (self.initial - self.eta_min) * cos / 2


# -- conversion and JSON ------------------------------------------------------------------------
def as_schedule(value: Any, where: str = "learning_rate") -> Schedule:
    """A Schedule for a learning-rate argument: a schedule itself, or a number (``Constant``).

    >>> as_schedule(0.01)
    Constant(value=0.01)
    """
    if isinstance(value, Schedule):
        return value
    if isinstance(value, Mapping):
        return deserialize(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return Constant(float(value))
    if callable(value):
        raise ConfigError(
            f"{where}: {value!r:.60} is a plain callable, which cannot be written to a config "
            f"or checkpoint; subclass ember_nn.Schedule (define __call__(step) -> float)")
    raise ConfigError(f"{where}: expected a float or an ember_nn.Schedule, got "
                      f"{type(value).__name__} {value!r:.60}")


def serialize(schedule: Schedule) -> dict[str, Any]:
    """``{"class": name, "config": schedule.get_config()}``: JSON-able, no code or pickles.

    >>> serialize(StepDecay(0.1, step_size=5))
    {'class': 'StepDecay', 'config': {'initial': 0.1, 'step_size': 5, 'gamma': 0.1}}
    """
    if not isinstance(schedule, Schedule):
        raise ConfigError(f"serialize: expected an ember_nn.Schedule, got "
                          f"{type(schedule).__name__}")
    return {"class": schedule.config_name, "config": schedule.get_config()}


def deserialize(data: Mapping[str, Any]) -> Schedule:
    """The schedule ``serialize`` described.

    >>> deserialize({"class": "Constant", "config": {"value": 0.5}})(7)
    0.5
    """
    if not isinstance(data, Mapping) or "class" not in data or "config" not in data:
        raise ConfigError(f"deserialize: expected {{'class': ..., 'config': {{...}}}} for a "
                          f"schedule, got {data!r:.80}")
    cls = _REGISTRY.get(data["class"])
    if cls is None:
        raise ConfigError(f"deserialize: no schedule class named {data['class']!r} is "
                          f"registered; import the module that defines it first (known: "
                          f"{sorted(_REGISTRY)})")
    return cls.from_config(data["config"])


# -- helpers -------------------------------------------------------------------------------------
def _arguments(cls: type) -> list[str]:
    params = inspect.signature(cls).parameters.values()
    return [p.name for p in params if p.name != "self"
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _jsonable(v: Any) -> bool:
    if v is None or isinstance(v, bool | int | float | str):
        return True
    if isinstance(v, list | tuple):
        return all(_jsonable(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _jsonable(x) for k, x in v.items())
    return False


def _number(owner: Schedule, name: str, value: Any) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ConfigError(f"{type(owner).__name__}: {name} must be a finite number, got "
                          f"{value!r:.60}")
    if value < 0:
        raise ConfigError(f"{type(owner).__name__}: {name} must be >= 0, got {value!r}")
    return float(value)


def _count(owner: Schedule, name: str, value: Any, *, minimum: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or int(value) < minimum:
        raise ConfigError(f"{type(owner).__name__}: {name} must be an integer >= {minimum}, "
                          f"got {value!r:.60}")
    return int(value)


def _check_step(owner: Schedule, step: Any) -> None:
    if not isinstance(step, numbers.Integral) or isinstance(step, bool) or int(step) < 0:
        raise ember.ArgumentError(f"{type(owner).__name__}(step): step must be an integer >= 0, "
                                  f"got {step!r:.60}")
