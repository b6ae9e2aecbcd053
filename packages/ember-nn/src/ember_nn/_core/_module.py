"""``Module``: the base of every layer and model.

A module's variables are the ``ember.Variable`` objects found in its attributes, directly or
inside nested modules, lists, tuples and dicts: a module's own first (in attribute order), then
each nested module's, depth first (torch's order). Their dotted paths
(``"layers.0.weight"``) name them in ``state_dict()``, checkpoints and optimiser state.
Each module records the arguments it was built with, so ``get_config()`` /
``from_config()`` rebuild it (nested modules included) without any pickling (the JSON form and
its checks are in ``_serialize``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import ember

from ._errors import ConfigError, StateError
from ._names import config_name
from ._serialize import _REGISTRY, _decode, _encode, deserialize, registered, serialize

__all__ = ["Module", "castable", "deserialize", "registered", "serialize"]


def _count(n: int) -> str:
    return f"{n:,}"


class Module:
    """Base class: subclasses build their variables in ``__init__`` and compute in ``forward``.

    >>> class Affine(ember_nn.Module):
    ...     def __init__(self, n: int) -> None:
    ...         super().__init__()
    ...         self.scale = ember.Variable(ember.ones((n,)))
    ...     def forward(self, x):
    ...         return x * self.scale
    >>> m = Affine(3)
    >>> [name for name, _ in m.named_variables()], m.num_parameters()
    (['scale'], 3)
    """

    # the cached walk lives in a slot, outside ``__dict__``, so it is never one of the
    # module's attributes (nor copied into a new tree by code that copies attributes)
    __slots__ = ("__dict__", "__weakref__", "_walk_cache")
    training: bool
    _config: dict[str, Any]
    _walk_cache: _Walk | None
    config_name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        private = cls.__dict__.get("config_name", cls.__name__).startswith("_")  # _Conv, ...
        name = cls.config_name = config_name(_REGISTRY, cls)
        if not private:  # bases like _Conv are not built from configs
            _REGISTRY[name] = cls
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        sig = inspect.signature(init)

        @functools.wraps(init)
        def __init__(self: Module, *args: Any, **kw: Any) -> None:
            outer = "_config" not in self.__dict__
            if outer:  # only the class actually built records its arguments
                try:
                    bound = sig.bind(self, *args, **kw)
                except TypeError as e:
                    raise ConfigError(f"{type(self).__name__}: {e}") from None
                bound.apply_defaults()
                cfg = dict(bound.arguments)
                cfg.pop(next(iter(sig.parameters)))
                for p in sig.parameters.values():
                    if p.kind is p.VAR_KEYWORD and p.name in cfg:
                        cfg.update(cfg.pop(p.name))
                    elif p.kind is p.VAR_POSITIONAL and p.name in cfg:
                        cfg[p.name] = list(cfg[p.name])
                object.__setattr__(self, "_config", cfg)
                object.__setattr__(self, "training", True)
                object.__setattr__(self, "_walk_cache", None)
            init(self, *args, **kw)

        cls.__init__ = __init__  # type: ignore[method-assign]

    def __init__(self) -> None:
        if "_config" not in self.__dict__:
            object.__setattr__(self, "_config", {})
        if "training" not in self.__dict__:
            object.__setattr__(self, "training", True)
        object.__setattr__(self, "_walk_cache", None)

    # -- computing -----------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- structure -----------------------------------------------------------------------------
    def _attributes(self) -> Iterator[tuple[str, Any]]:
        for k, v in self.__dict__.items():
            if k not in ("_config", "training"):
                yield k, v

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module inside it, with dotted paths ("" for this one)."""
        yield prefix, self
        for path, leaf in _walk(self._attributes(), prefix):
            if isinstance(leaf, Module):
                yield from leaf.named_modules(path)

    def children(self) -> list[Module]:
        """The modules directly inside this one."""
        return [leaf for _, leaf in _walk(self._attributes(), "") if isinstance(leaf, Module)]

    def named_variables(self, prefix: str = "") -> Iterator[tuple[str, ember.Variable]]:
        """Every variable with its dotted path (own ones first, then nested modules', depth
        first); each variable once.

        The walk is cached on the module and checked before each use (see :class:`_Walk`): any
        change to the tree (an attribute set or deleted, a list or dict inside edited, a
        variable replaced, ``to(...)``) is seen at the next call, however it was made."""
        if prefix:
            return iter(_named_variables(self, prefix))
        return iter(self._walked().named)

    def _walked(self) -> _Walk:
        try:
            walk = self._walk_cache
        except AttributeError:  # built without Module.__init__ (cls.__new__)
            walk = None
        if walk is None or walk.root is not self or not walk.valid():
            walk = _Walk(self)
            self._walk_cache = walk
        return walk

    @property
    def variables(self) -> list[ember.Variable]:
        return list(self._walked().variables)

    @property
    def trainable_variables(self) -> list[ember.Variable]:
        return list(self._walked().trainable.values())

    @property
    def non_trainable_variables(self) -> list[ember.Variable]:
        return [v for v in self._walked().variables if not v.trainable]

    def named_trainable_variables(self) -> dict[str, ember.Variable]:
        return dict(self._walked().trainable)

    def num_parameters(self, trainable_only: bool = False) -> int:
        vs = self.trainable_variables if trainable_only else self.variables
        return sum(v.size for v in vs)

    # -- modes ---------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch statistics used) for this module and all inside."""
        for _, m in self.named_modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Inference mode: ``train(False)``."""
        return self.train(False)

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, ember.Tensor]:
        """Every variable's current value by path (plain tensors, not recorded by tapes)."""
        return {k: ember.stop_gradient(v) for k, v in self.named_variables()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> Module:
        """Assign values by path (tensors, NumPy/torch arrays, nested lists); values on another
        backend or device are moved. With ``strict`` every path must match both ways; shapes
        must always match. Dtypes must match or cast without losing what the values are (see
        :func:`castable`): int8 into int32, uint8 into float32, float64 into float32 (rounded,
        as torch's ``load_state_dict`` does) are cast; int64 values for a float32 variable,
        floats for an int variable, complex for real are refused. Nothing is assigned unless
        every entry fits.

        Raises ``StateError`` naming the missing, unexpected, mis-shaped and mis-typed entries.
        """
        mine = dict(self.named_variables())
        missing = [k for k in mine if k not in state]
        unexpected = [k for k in state if k not in mine]
        given = {k: _as_tensor(state[k], k, type(self).__name__) for k in mine if k in state}
        shapes = {k: (t.shape, mine[k].shape) for k, t in given.items()
                  if t.shape != mine[k].shape}
        dtypes = {k: (t.dtype, mine[k].dtype) for k, t in given.items()
                  if not castable(t.dtype, mine[k].dtype)}
        problems = []
        if strict and missing:
            problems.append(f"missing: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected: {unexpected}")
        if shapes:
            problems.append("mis-shaped: " + ", ".join(
                f"{k} (given {g}, model has {m})" for k, (g, m) in shapes.items()))
        if dtypes:
            problems.append("dtypes that would lose information: " + ", ".join(
                f"{k} (given {g.name}, model has {m.name})" for k, (g, m) in dtypes.items())
                + "; cast the values with ember.astype first if that is intended")
        if problems:
            raise StateError(
                f"{type(self).__name__}.load_state_dict: " + "; ".join(problems)
                + ("; pass strict=False to load the matching entries only"
                   if not (shapes or dtypes) else ""))
        for k, t in given.items():
            v = mine[k]
            v.assign(_on(t, v))
        return self

    def to(self, backend: str | None = None, *, device: str | None = None,
           dtype: Any = None) -> Module:
        """Move every variable to another backend/device and/or cast floating ones; in place."""
        for m in [m for _, m in self.named_modules()]:
            for k, v in list(m._attributes()):
                object.__setattr__(m, k, _moved(v, backend, device, dtype))
        return self

    # -- configuration -------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON-able values (nested modules serialised)."""
        return {k: _encode(v, f"{type(self).__name__}.{k}") for k, v in self._config.items()}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Module:
        """A new module built from ``get_config()``'s output (fresh variables)."""
        if not isinstance(config, Mapping) or not all(isinstance(k, str) for k in config):
            raise ConfigError(f"{cls.__name__}.from_config: the config must be a dict of "
                              f"argument names to values, got {config!r:.80}")
        args = {k: _decode(v) for k, v in config.items()}
        var = [p for p in inspect.signature(cls.__init__).parameters.values()
               if p.kind is p.VAR_POSITIONAL]
        pos = args.pop(var[0].name, []) if var else []
        if not isinstance(pos, list):
            raise ConfigError(f"{cls.__name__}.from_config: {var[0].name!r} (the *{var[0].name}"
                              f" arguments) must be a list, got {pos!r:.80}")
        try:
            return cls(*pos, **args)
        except TypeError as e:
            raise ConfigError(f"{cls.__name__}.from_config: {e}") from None

    # -- display -------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        parts = []
        for k, v in self._config.items():
            if isinstance(v, Module) or (isinstance(v, list | tuple) and v
                                         and all(isinstance(x, Module) for x in v)):
                continue
            parts.append(f"{k}={_short(v)}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return self._repr("")

    def _repr(self, indent: str) -> str:
        kids = [(p, m) for p, m in _walk(self._attributes(), "") if isinstance(m, Module)]
        n = self.num_parameters()
        lines = [f"{type(self).__name__}({self.extra_repr()})"
                 + (f"  # {_count(n)} parameters" if n else "")]
        inner = indent + "  "
        for p, m in kids:
            lines.append(f"{inner}({p}): {m._repr(inner)}")
        return "\n".join(lines)


# -- the cached walk -----------------------------------------------------------------------------
def _named_variables(root: Module, prefix: str) -> list[tuple[str, ember.Variable]]:
    seen: set[int] = set()
    out = []
    for mpath, m in root.named_modules(prefix):
        for path, leaf in _walk(m._attributes(), mpath):
            if isinstance(leaf, ember.Variable) and id(leaf) not in seen:
                seen.add(id(leaf))
                out.append((path, leaf))
    return out


def _nodes(root: Module) -> list[Any]:
    """Every module and mutable container (list, dict) in the tree, each once."""
    out: list[Any] = []
    seen: set[int] = set()

    def visit(obj: Any) -> None:
        if isinstance(obj, Module):
            if id(obj) in seen:
                return
            seen.add(id(obj))
            out.append(obj)
            for _, v in obj._attributes():
                visit(v)
        elif isinstance(obj, list | tuple | dict):
            if id(obj) in seen:
                return
            seen.add(id(obj))
            if not isinstance(obj, tuple):
                out.append(obj)
            for v in (obj.values() if isinstance(obj, dict) else obj):
                visit(v)

    visit(root)
    return out


class _Walk:
    """A module tree's variables, walked once, with what is needed to tell cheaply whether the
    tree is still the one walked: for every module and list/dict in it, the identities of what
    it held (and a module's or dict's keys). ``valid()`` compares those (a few C-level list
    comparisons per node, no paths built) instead of walking again, so it also sees changes
    made behind ``Module``'s back (``object.__setattr__``, ``model.layers.append``,
    ``model.blocks["k"] = ...``). The held values keep every id it compares alive, so an id
    cannot be reused by a new object."""

    __slots__ = ("held", "named", "root", "snapshot", "trainable", "variables")

    def __init__(self, root: Module) -> None:
        self.root = root
        self.named = _named_variables(root, "")
        self.variables = [v for _, v in self.named]
        self.trainable = {k: v for k, v in self.named if v.trainable}
        snapshot: list[tuple[Any, list[Any] | None, list[int]]] = []
        held: list[list[Any]] = []
        for node in _nodes(root):
            if isinstance(node, list):
                snapshot.append((node, None, list(map(id, node))))
                held.append(list(node))
            else:
                d = node.__dict__ if isinstance(node, Module) else node
                snapshot.append((d, list(d), list(map(id, d.values()))))
                held.append(list(d.values()))
        self.snapshot = snapshot
        self.held = held

    def valid(self) -> bool:
        for node, keys, ids in self.snapshot:
            if keys is None:
                if list(map(id, node)) != ids:
                    return False
            elif list(map(id, node.values())) != ids or list(node) != keys:
                return False
        return True


# -- helpers -------------------------------------------------------------------------------------
def _walk(items: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    for k, v in items:
        path = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, list | tuple):
            yield from _walk(enumerate(v), path)
        elif isinstance(v, dict):
            yield from _walk(((kk, vv) for kk, vv in v.items()), path)
        else:
            yield path, v


#: significand bits of the inexact dtypes: the widest integers they hold exactly
_DIGITS = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53, "complex64": 24,
           "complex128": 53}


def castable(given: ember.DType, want: ember.DType) -> bool:
    """Whether a ``given`` value may be stored in a ``want`` variable without losing what it
    is (``load_state_dict``'s rule): the same dtype; bool into anything; an integer into a
    wider integer that holds its range, or into a floating/complex dtype whose significand
    holds every value (uint8 into float16, int16 into float32, int32 into float64); a
    floating value into any floating or complex dtype and complex into complex (rounding to
    the nearest value, as torch's and ``Variable.assign``'s float casts do). Never an integer
    too wide for the float (int64 into float32), a float into an integer, complex into real,
    anything into bool, or signed into unsigned."""
    if given is want or given is ember.bool:
        return True
    gk, wk = given.kind, want.kind
    if gk in "fc":
        return wk == "c" or (wk == "f" and gk == "f")
    if gk not in "iu":
        return False
    if wk in "iu":
        if gk == wk:
            return want.bits >= given.bits
        return gk == "u" and wk == "i" and want.bits > given.bits
    if wk in "fc":
        return given.bits - (gk == "i") <= _DIGITS[want.name]
    return False


def _as_tensor(value: Any, key: str, owner: str) -> ember.Tensor:
    if isinstance(value, ember.Tensor):
        return value
    try:
        return ember.asarray(value)
    except ember.EmberError as exc:
        raise StateError(f"{owner}.load_state_dict: {key!r}: {exc}") from exc


def _on(t: ember.Tensor, v: ember.Variable) -> ember.Tensor:
    if t.backend != v.backend or t.device != v.device:
        t = t.to(v.backend, device=v.device)
    if t.dtype != v.dtype:
        t = ember.astype(t, v.dtype)
    return t


def _moved(obj: Any, backend: str | None, device: str | None, dtype: Any) -> Any:
    if isinstance(obj, ember.Variable):
        t: ember.Tensor = ember.stop_gradient(obj)
        if backend is not None or device is not None:
            t = t.to(backend, device=device)
        if dtype is not None and t.dtype.is_floating:
            t = ember.astype(t, dtype)
        return ember.Variable(t, trainable=obj.trainable, name=obj.name)
    if isinstance(obj, list):
        return [_moved(x, backend, device, dtype) for x in obj]
    if isinstance(obj, tuple):
        return tuple(_moved(x, backend, device, dtype) for x in obj)
    if isinstance(obj, dict):
        return {k: _moved(x, backend, device, dtype) for k, x in obj.items()}
    return obj


def _short(v: Any) -> str:
    if isinstance(v, ember.DType):
        return v.name
    if callable(v) and not isinstance(v, type):
        return getattr(v, "__name__", repr(v))
    return repr(v)

