"""Backend discovery (entry points, never on the op path; pluggy on request) and backend loading."""

from __future__ import annotations

import importlib
import os
import sys
import threading
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ._backend import DEFAULT_ORDER, Backend, current_backend
from ._errors import BackendError, BackendNotFoundError

if TYPE_CHECKING:  # pluggy, importlib.metadata and the probe are imported on first use only:
    import pluggy  # `import ember` stays fast (importlib.metadata alone costs ~20 ms)

__all__ = ["BackendInfo", "backends", "installed_names", "load_backend", "plugin_manager"]

ENTRY_POINT_GROUP = "ember.backends"
KNOWN_PACKAGES = {"numpy": "ember-numpy", "torch": "ember-torch", "mlx": "ember-mlx"}


@dataclass
class _Registration:
    name: str
    factory: str
    distribution: str = ""
    native: str = ""
    plugin: str = ""


@dataclass
class BackendInfo:
    """What ``ember.backends()`` reports about one backend."""

    name: str
    version: str
    native: str  # e.g. "numpy 2.4.6"
    loads: bool | None  # None: not probed
    devices: list[str] = field(default_factory=list)
    default_device: str = ""
    error: str = ""
    ops: int = 0  # ops available (catalogue size minus unsupported)
    is_default: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_lock = threading.RLock()
_pm: pluggy.PluginManager | None = None
_plugins: dict[str, object] = {}  # entry-point (or register_plugin) name -> plugin
_discovered = False
_registrations: dict[str, _Registration] = {}
_plugin_errors: dict[str, str] = {}
_loaded: dict[str, Backend] = {}
_load_errors: dict[str, str] = {}
_probe_cache: dict[str, dict[str, Any]] = {}


def _discover() -> dict[str, object]:
    """The plugins (entry-point name -> module or object), found on first use from the
    ``ember.backends`` entry points, and their backend registrations (``_collect``).

    ``EMBER_PLUGINS`` (comma-separated entry-point names) limits which plugins load. Neither
    pluggy nor ``importlib.metadata`` is imported here (the first op of a process pays for this):
    ember calls each plugin's ``ember_register_backends`` itself; ``plugin_manager()`` builds
    pluggy's manager over the same plugins when asked.
    """
    global _discovered
    if _discovered:
        return _plugins
    with _lock:
        if not _discovered:
            from . import _entry_points

            allowed = {p.strip() for p in os.environ.get("EMBER_PLUGINS", "").split(",") if p.strip()}
            found: Any = _entry_points.find(ENTRY_POINT_GROUP)
            if found is None:  # a sys.path entry the light reader cannot list
                import importlib.metadata as md

                found = md.entry_points(group=ENTRY_POINT_GROUP)
            for ep in found:
                if (allowed and ep.name not in allowed) or ep.name in _plugins:
                    continue
                try:
                    _plugins[ep.name] = ep.load()
                except Exception as exc:  # a broken plugin must not break the others
                    _plugin_errors[ep.name] = f"{type(exc).__name__}: {exc}"
            _collect()
            _discovered = True
        return _plugins


def plugin_manager() -> pluggy.PluginManager:
    """pluggy's plugin manager over the discovered plugins (built on first use)."""
    global _pm
    _discover()
    with _lock:
        if _pm is None:
            import pluggy

            from . import hookspecs

            hookspecs.hookspec.apply()
            hookspecs.hookimpl.apply()
            pm = pluggy.PluginManager(hookspecs.PROJECT)
            pm.add_hookspecs(hookspecs)
            for name, plugin in _plugins.items():
                try:
                    pm.register(plugin, name=name)
                except Exception as exc:
                    _plugin_errors[name] = f"{type(exc).__name__}: {exc}"
            _pm = pm
        return _pm


def register_plugin(plugin: object, name: str | None = None) -> None:
    """Register a plugin object or module in-process (tests, notebooks). Loading stays lazy.
    pluggy checks its hooks here (``PluginValidationError`` for a malformed one)."""
    from . import hookspecs

    pm = plugin_manager()
    with _lock:
        hookspecs.hookimpl.apply()
        registered = pm.register(plugin, name=name)
        _plugins[registered or pm.get_canonical_name(plugin)] = plugin
        _collect()


def unregister_plugin(name: str) -> None:
    pm = plugin_manager()
    with _lock:
        pm.unregister(name=name)
        _plugins.pop(name, None)
        regs = [n for n, r in _registrations.items() if r.plugin == name]
        for n in regs:
            _registrations.pop(n, None)
            _loaded.pop(n, None)
            _load_errors.pop(n, None)
        _collect()


def _collect() -> None:
    for plugin_name, plugin in list(_plugins.items()):

        def register(
            name: str, factory: str, *, distribution: str = "", native: str = "",
            _plugin: str = plugin_name,
        ) -> None:
            if ":" not in factory:
                raise BackendError(f"backend {name!r}: factory must be 'module:function', got {factory!r}")
            existing = _registrations.get(name)
            if existing is not None and existing.plugin != _plugin:
                _plugin_errors[_plugin] = (
                    f"backend name {name!r} is already registered by plugin {existing.plugin!r}"
                )
                return
            _registrations[name] = _Registration(name, factory, distribution, native, _plugin)

        impl = getattr(plugin, "ember_register_backends", None)
        if impl is None:
            continue
        try:
            impl(register=register)
        except Exception as exc:
            _plugin_errors[plugin_name] = f"{type(exc).__name__}: {exc}"


def installed_names() -> list[str]:
    """Names of the registered backends (nothing is imported but the plugin modules)."""
    _discover()
    return sorted(_registrations)


def _not_found(name: str) -> BackendNotFoundError:
    names = installed_names()
    have = ", ".join(names) if names else "none"
    pkg = KNOWN_PACKAGES.get(name, f"a package that provides the {name!r} backend")
    return BackendNotFoundError(
        f"unknown backend {name!r}; installed backends: {have}. "
        f"To use {name!r}, install {pkg} (e.g. `pip install {pkg}`)"
        if name in KNOWN_PACKAGES
        else f"unknown backend {name!r}; installed backends: {have}. "
        f"Install {pkg}, or pick one of the installed backends"
    )


def load_backend(name: str | Backend) -> Backend:
    """Import and build the backend called ``name`` (once per process)."""
    if isinstance(name, Backend):
        return name
    b = _loaded.get(name)
    if b is not None:
        return b
    with _lock:
        b = _loaded.get(name)
        if b is not None:
            return b
        _discover()
        reg = _registrations.get(name)
        if reg is None:
            raise _not_found(name)
        module_name, _, func = reg.factory.partition(":")
        try:
            backend = getattr(importlib.import_module(module_name), func)()
        except BackendError:
            raise
        except Exception as exc:
            msg = f"{type(exc).__name__}: {exc}"
            _load_errors[name] = msg
            raise BackendError(
                f"backend {name!r} is installed but failed to load: {msg}. "
                f"Reinstall {reg.distribution or 'its package'} or pick another backend"
            ) from exc
        if not isinstance(backend, Backend) or backend.name != name:
            raise BackendError(f"{reg.factory} did not return an ember.Backend named {name!r}")
        _loaded[name] = backend
        from ._settings import backend_loaded

        backend_loaded(backend)  # the matmul precision ember set, if any
        return backend


def _version(dist: str) -> str:
    if not dist:
        return ""
    import importlib.metadata as md

    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return ""


def _live_info(b: Backend) -> dict[str, Any]:
    from ._backend import UNSUPPORTED

    return {
        "loads": True,
        "devices": list(b.devices.names()),
        "default_device": b.devices.default(),
        "error": "",
        "ops": sum(1 for s in b.status.values() if s.status != UNSUPPORTED),
    }


def _probe(names: list[str]) -> dict[str, dict[str, Any]]:
    """Load backends in a child process, so that this one imports no array library."""
    import json
    import subprocess

    code = "import sys, ember._plugins as p; p._probe_main(sys.argv[1:])"
    try:
        out = subprocess.run(
            [sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=300
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    except Exception as exc:
        return {n: {"loads": False, "error": f"probe failed: {exc}"} for n in names}


def _probe_cached(names: list[str]) -> dict[str, dict[str, Any]]:
    """``_probe(names)``, answered from the on-disk cache for the backends whose versions have
    not changed since their last successful probe."""
    from . import _probe_cache

    if _probe_cache.cache_path() is None:
        return _probe(names)
    keys = {}
    for n in names:
        reg = _registrations[n]
        keys[n] = _probe_cache.probe_key(reg.factory, reg.distribution, reg.native)
    found = _probe_cache.lookup(keys)
    todo = [n for n in names if n not in found]
    if todo:
        probed = _probe(todo)
        _probe_cache.store(probed, keys)
        found.update(probed)
    return found


def _probe_main(names: list[str]) -> None:
    result: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            result[name] = _live_info(load_backend(name))
        except Exception as exc:
            cause = exc.__cause__ or exc
            result[name] = {"loads": False, "error": f"{type(cause).__name__}: {cause}"}
    import json

    print(json.dumps(result))


def backends(probe: bool = True) -> list[BackendInfo]:
    """Every installed backend: name, versions, whether it loads, devices, load error.

    Backends not yet used in this process are loaded in a child process (``probe=True``), so
    calling this never imports torch or mlx here. The child's findings are cached on disk,
    keyed by the installed versions (``ember/_probe_cache.py``; ``EMBER_NO_PROBE_CACHE=1``
    turns the cache off), so a second call starts no child process while nothing changed.
    ``probe=False`` reports metadata only.

    >>> [b.name for b in ember.backends(probe=False)]  # doctest: +SKIP
    ['mlx', 'numpy', 'torch']
    """
    names = installed_names()
    if probe:
        todo = [n for n in names if n not in _loaded and n not in _probe_cache]
        if todo:
            _probe_cache.update(_probe_cached(todo))
    try:
        default = current_backend().name if (_loaded or os.environ.get("EMBER_BACKEND")) else None
    except BackendError:
        default = None
    if default is None:
        default = next((n for n in DEFAULT_ORDER if n in names), names[0] if names else "")
    infos = []
    for name in names:
        reg = _registrations[name]
        if name in _loaded:
            live = _live_info(_loaded[name])
        elif name in _load_errors:
            live = {"loads": False, "error": _load_errors[name]}
        else:
            live = _probe_cache.get(name, {"loads": None})
        native_v = _version(reg.native)
        infos.append(
            BackendInfo(
                name=name,
                version=_version(reg.distribution),
                native=f"{reg.native} {native_v}".strip() if reg.native else "",
                is_default=name == default,
                **live,
            )
        )
    for plugin, err in sorted(_plugin_errors.items()):
        if plugin not in names:
            infos.append(BackendInfo(name=plugin, version="", native="", loads=False, error=err))
    return infos
