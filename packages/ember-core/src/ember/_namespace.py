"""The Array API namespace of one backend: what ``x.__array_namespace__()`` returns.

``ember`` itself is one namespace over every backend: a function with no tensor argument
(``zeros``, ``arange``, ``asarray`` of a list, ``__array_namespace_info__``) works on the
backend in effect where it is called. Generic Array API code takes its namespace from its
input (``xp = x.__array_namespace__(); xp.zeros(x.shape)``) and expects what ``xp`` makes to
combine with ``x``, so a tensor answers with :func:`namespace` of its own backend: the same
functions, with the backend fixed to the tensor's.

>>> x = ember.ones((2,), backend="torch")
>>> with ember.use_backend("numpy"):
...     xp = x.__array_namespace__()
...     (xp.zeros(2) + x).backend
'torch'

Functions that take ``backend=`` get it as a default (an explicit ``backend=`` still wins);
``__array_namespace_info__`` describes the bound backend; every other function runs as it is
when its first argument is a tensor (the op dispatches on it, so the common call costs
nothing extra) and otherwise inside ``use_backend`` (``xp.add(1.0, 2.0)``).
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable
from typing import Any

from ._backend import Backend, use_backend

__all__ = ["namespace"]

_SUBMODULES = ("linalg", "fft", "nn", "random")
_AS_IS = frozenset({"set_backend", "use_backend", "get_backend"})  # about the default backend
_cache: dict[str, types.SimpleNamespace] = {}


def namespace(backend: str | Backend) -> types.SimpleNamespace:
    """The ember namespace bound to ``backend`` (a name or a Backend), built once per backend."""
    name = backend if isinstance(backend, str) else backend.root.name
    ns = _cache.get(name)
    if ns is None:
        import ember

        ns = _bind(ember, name, ember.__all__ if hasattr(ember, "__all__") else dir(ember))
        for sub in _SUBMODULES:
            module = getattr(ember, sub)
            setattr(ns, sub, _bind(module, name, getattr(module, "__all__", dir(module))))
        ns.__array_namespace_info__ = functools.partial(_info, name)
        _cache[name] = ns
    return ns


def _info(name: str) -> Any:
    from ._info import ArrayNamespaceInfo
    from ._plugins import load_backend

    return ArrayNamespaceInfo(load_backend(name))


def _bind(module: types.ModuleType, name: str, names: Any) -> types.SimpleNamespace:
    ns = types.SimpleNamespace(__name__=f"{module.__name__}[{name}]", __doc__=module.__doc__,
                               __array_api_version__=getattr(module, "__array_api_version__", None))
    for attr in names:
        if attr.startswith("_"):
            continue
        value = getattr(module, attr)
        if attr not in _AS_IS and inspect.isfunction(value):
            value = _bound(value, name)
        setattr(ns, attr, value)
    return ns


def _bound(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    try:
        takes_backend = "backend" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        takes_backend = False
    if takes_backend:
        @functools.wraps(fn)
        def with_backend(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("backend", name)
            return fn(*args, **kwargs)
        return with_backend

    from ._tensor import Tensor

    @functools.wraps(fn)
    def scoped(*args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], Tensor):
            return fn(*args, **kwargs)
        with use_backend(name):
            return fn(*args, **kwargs)
    return scoped
