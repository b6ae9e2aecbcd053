"""Pipeline stages that a config can name: the stage registry and the built-in kinds.

A *stage kind* is a class registered with ``@register_stage("kind")``: built from its keyword
arguments, called on one value, and written back with ``get_config()`` (JSON values only). A
plain function registered the same way becomes a function the ``"call"`` kind names (and a
kind of its own whose arguments are the function's keyword arguments)::

    [[pipeline.stages]]
    name = "scale"
    kind = "normalize"
    mean = 8.0
    std = 4.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import ember

from .._core._errors import ConfigError

__all__ = ["Argmax", "Call", "Cast", "Normalize", "OneHot", "Reshape", "Softmax", "Stage",
           "build_stage", "register_stage", "registered_stages", "stage_config"]

_KINDS: dict[str, Any] = {}  # kind -> a Stage subclass or a registered function
RESERVED = ("name", "kind")


def register_stage(name: str) -> Callable[[Any], Any]:
    """Register a stage kind (a :class:`Stage` subclass) or a function under ``name``, so that
    configs can name it (``kind = "name"``; a function also as ``kind = "call"``,
    ``fn = "name"``). Returns the decorated object unchanged.

    Raises ConfigError if ``name`` is not a non-empty string or is already taken by another
    object (registering the same object again is allowed).

    >>> @register_stage("double")
    ... def double(x, times=2):
    ...     return x * times
    >>> build_stage({"kind": "call", "fn": "double", "times": 3})(2)
    6
    """
    if not isinstance(name, str) or not name or name == "call":
        raise ConfigError(f"register_stage: the name must be a non-empty string other than "
                          f"'call', got {name!r}")

    def decorate(obj: Any) -> Any:
        if isinstance(obj, type) and not issubclass(obj, Stage):
            raise ConfigError(f"register_stage({name!r}): {obj.__name__} is a class but not an "
                              f"ember_nn Stage subclass; subclass Stage (or register a function)")
        if not callable(obj):
            raise ConfigError(f"register_stage({name!r}): expected a Stage subclass or a "
                              f"function, got {type(obj).__name__}")
        old = _KINDS.get(name)
        if old is not None and old is not obj and getattr(old, "__qualname__", None) != \
                getattr(obj, "__qualname__", ""):
            raise ConfigError(f"register_stage: the name {name!r} is already taken by "
                              f"{getattr(old, '__qualname__', old)!r}; pick another name")
        _KINDS[name] = obj
        if isinstance(obj, type):
            setattr(obj, "kind", name)  # noqa: B010
        return obj

    return decorate


def registered_stages() -> dict[str, Any]:
    """Every registered stage kind and function by name (a copy).

    >>> sorted(k for k in registered_stages() if k in ("cast", "normalize"))
    ['cast', 'normalize']
    """
    return dict(_KINDS)


class Stage:
    """Base class of configurable stages: ``__call__(x)`` transforms one value and
    ``get_config()`` returns the keyword arguments that rebuild the stage (JSON values)."""

    kind: str = ""

    def __call__(self, x: Any) -> Any:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stage) and type(self) is type(other) \
            and self.get_config() == other.get_config()

    __hash__ = None  # type: ignore[assignment]


def _tensor(x: Any) -> ember.Tensor:
    return x if isinstance(x, ember.Tensor) else ember.asarray(x)


def _numbers(value: Any, what: str) -> float | list[float]:
    """``value`` as a float or a (flat) list of floats, checked finite."""
    vals = value if isinstance(value, list | tuple) else [value]
    out = []
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ConfigError(f"{what} must be a finite number or a list of them, got {value!r}")
        out.append(float(v))
    return out if isinstance(value, list | tuple) else out[0]


@register_stage("cast")
class Cast(Stage):
    """Convert to a tensor of ``dtype`` (a name such as ``"float32"``).

    >>> Cast("float32")([1, 2])
    ember.Tensor([1.0, 2.0], dtype=float32, backend=numpy)
    """

    batched = True

    def __init__(self, dtype: str = "float32") -> None:
        if not isinstance(dtype, str) or not isinstance(getattr(ember, dtype, None), ember.DType):
            raise ConfigError(f"cast: dtype must be a dtype name such as 'float32', 'int64', "
                              f"got {dtype!r}")
        self.dtype = dtype

    def __call__(self, x: Any) -> ember.Tensor:
        return ember.astype(_tensor(x), self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {"dtype": self.dtype}


@register_stage("normalize")
class Normalize(Stage):
    """``(x - mean) / std`` over the last axis (scalars or one value a feature); integer
    inputs become float32 first.

    Raises ConfigError for a ``std`` that is zero or negative, ShapeError when the input's last
    axis does not match the number of means.

    >>> Normalize(mean=[1.0, 2.0], std=[2.0, 4.0])([3.0, 6.0])
    ember.Tensor([1.0, 1.0], dtype=float32, backend=numpy)
    """

    batched = True

    def __init__(self, mean: float | list[float] = 0.0, std: float | list[float] = 1.0) -> None:
        self.mean = _numbers(mean, "normalize: mean")
        self.std = _numbers(std, "normalize: std")
        stds = self.std if isinstance(self.std, list) else [self.std]
        if any(s <= 0 for s in stds):
            raise ConfigError(f"normalize: std must be positive, got {std!r}")
        if isinstance(self.mean, list) and isinstance(self.std, list) \
                and len(self.mean) != len(self.std):
            raise ConfigError(f"normalize: mean has {len(self.mean)} values and std "
                              f"{len(self.std)}; give one a feature each, or scalars")

    def __call__(self, x: Any) -> ember.Tensor:
        x = _tensor(x)
        if not ember.isdtype(x.dtype, "real floating"):
            x = ember.astype(x, ember.float32)
        n = max(len(v) if isinstance(v, list) else 1 for v in (self.mean, self.std))
        if n > 1 and (x.ndim == 0 or x.shape[-1] != n):
            raise ember.ShapeError(f"normalize: the input's last axis has "
                                   f"{x.shape[-1] if x.ndim else 'no'} features, mean/std have "
                                   f"{n} (input shape {x.shape})")
        mean = ember.asarray(self.mean, dtype=x.dtype, backend=x.backend, device=x.device)
        std = ember.asarray(self.std, dtype=x.dtype, backend=x.backend, device=x.device)
        return (x - mean) / std

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std}


@register_stage("reshape")
class Reshape(Stage):
    """Reshape to ``shape`` (one entry may be -1).

    >>> Reshape([2, -1])(ember.arange(6)).shape
    (2, 3)
    """

    def __init__(self, shape: list[int]) -> None:
        if not isinstance(shape, list | tuple) or not all(
                isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1)
                for d in shape) or sum(d == -1 for d in shape) > 1:
            raise ConfigError(f"reshape: shape must be a list of positive sizes with at most "
                              f"one -1, got {shape!r}")
        self.shape = list(shape)

    def __call__(self, x: Any) -> ember.Tensor:
        return ember.reshape(_tensor(x), tuple(self.shape))

    def get_config(self) -> dict[str, Any]:
        return {"shape": list(self.shape)}


@register_stage("one_hot")
class OneHot(Stage):
    """Integer class ids to one-hot vectors of ``num_classes`` (float32 unless ``dtype``).

    >>> OneHot(3)([0, 2]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """

    def __init__(self, num_classes: int, dtype: str = "float32") -> None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ConfigError(f"one_hot: num_classes must be a positive integer, got "
                              f"{num_classes!r}")
        Cast(dtype)  # checks the name
        self.num_classes, self.dtype = num_classes, dtype

    def __call__(self, x: Any) -> ember.Tensor:
        return ember.nn.one_hot(_tensor(x), self.num_classes, dtype=getattr(ember, self.dtype))

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "dtype": self.dtype}


class _AxisStage(Stage):
    def __init__(self, axis: int = -1) -> None:
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ConfigError(f"{self.kind}: axis must be an integer, got {axis!r}")
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


@register_stage("argmax")
class Argmax(_AxisStage):
    """The index of the largest value along ``axis`` (class ids from scores).

    >>> Argmax()([[0.1, 0.7, 0.2], [0.9, 0.0, 0.1]]).tolist()
    [1, 0]
    """

    def __call__(self, x: Any) -> ember.Tensor:
        return ember.argmax(_tensor(x), axis=self.axis)


@register_stage("softmax")
class Softmax(_AxisStage):
    """Softmax along ``axis`` (probabilities from logits).

    >>> Softmax()([0.0, 0.0]).tolist()
    [0.5, 0.5]
    """

    def __call__(self, x: Any) -> ember.Tensor:
        x = _tensor(x)
        if not ember.isdtype(x.dtype, "real floating"):
            x = ember.astype(x, ember.float32)
        return ember.nn.softmax(x, axis=self.axis)


class Call(Stage):
    """Call the function registered as ``fn`` (``@register_stage``) with the value and the
    other arguments as keywords: ``kind = "call"``, ``fn = "name"``.

    Raises ConfigError when no function is registered under ``fn`` or an argument is not JSON.

    >>> @register_stage("add")
    ... def add(x, amount=1):
    ...     return x + amount
    >>> Call("add", amount=5)(1)
    6
    """

    kind = "call"

    def __init__(self, fn: str, **kwargs: Any) -> None:
        target = _KINDS.get(fn) if isinstance(fn, str) else None
        if target is None or isinstance(target, type):
            known = sorted(k for k, v in _KINDS.items() if not isinstance(v, type))
            raise ConfigError(f"call: no function registered as {fn!r}; registered functions: "
                              f"{known}; decorate yours with @ember_nn.register_stage(name)")
        self.fn, self.kwargs, self._target = fn, dict(kwargs), target

    def __call__(self, x: Any) -> Any:
        return self._target(x, **self.kwargs)

    def get_config(self) -> dict[str, Any]:
        return {"fn": self.fn, **self.kwargs}


def build_stage(spec: Mapping[str, Any], where: str = "stage") -> Any:
    """The stage a config table describes: ``kind`` plus that kind's arguments (``name`` is
    ignored here: the pipeline keeps it).

    Raises ConfigError naming ``where`` for a missing or unknown kind or bad arguments.

    >>> build_stage({"kind": "argmax", "axis": 0})
    Argmax(axis=0)
    """
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: a stage must be a table with a 'kind', got {spec!r}")
    kind = spec.get("kind")
    args = {k: v for k, v in spec.items() if k not in RESERVED}
    if kind == "call":
        cls: Any = Call
    else:
        cls = _KINDS.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise ConfigError(f"{where}: unknown stage kind {kind!r}; known kinds: "
                              f"{sorted([*_KINDS, 'call'])} (register yours with "
                              f"@ember_nn.register_stage)")
        if not isinstance(cls, type):
            cls, args = Call, {"fn": kind, **args}
    try:
        return cls(**args)
    except TypeError as e:
        raise ConfigError(f"{where} (kind {kind!r}): {e}") from None
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def stage_config(stage: Any, where: str) -> dict[str, Any]:
    """``{"kind": ..., **arguments}`` for a stage object or a registered function; a
    ConfigError naming ``where`` for anything else (a lambda, an unregistered function)."""
    if isinstance(stage, Stage):
        if not stage.kind:
            raise ConfigError(f"{where}: {type(stage).__name__} is not registered; decorate it "
                              f"with @ember_nn.register_stage(name)")
        return {"kind": stage.kind, **stage.get_config()}
    for name, obj in _KINDS.items():
        if obj is stage and not isinstance(obj, type):
            return {"kind": "call", "fn": name}
    what = getattr(stage, "__qualname__", type(stage).__name__)
    raise ConfigError(f"{where} is {what!r}, which has no config: register the function with "
                      f"@ember_nn.register_stage(name) or use a built-in kind "
                      f"({', '.join(sorted(_KINDS))})")
