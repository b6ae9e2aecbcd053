"""The on-disk cache of backend probes, so that ``ember.backends()`` starts no child process
when nothing has changed since the last probe.

One JSON file, ``$XDG_CACHE_HOME/ember/backend-probes.json`` (``~/.cache/ember/`` when the
variable is unset). Each backend's entry holds the probe's result and the key it was probed
under: the Python interpreter and machine, ember-core's version, the backend plugin's
distribution and version, its native library's distribution and version, and the environment
variables that change which devices are visible. An editable install (``pip install -e``,
``uv sync`` in a workspace) has a version that does not change while its code does, so its key
also holds the newest modification time of its ``.py`` files.

Only successful probes are stored (a backend that fails to load is probed again on every call,
so a fix is seen at once). ``EMBER_NO_PROBE_CACHE=1`` turns the cache off. A cache file that is
missing, unreadable, corrupt or unwritable is ignored: it never makes ``ember.backends()`` fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["cache_path", "lookup", "probe_key", "store"]

FILE_NAME = "backend-probes.json"
FORMAT = 1
DEVICE_ENV = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
              "MLX_METAL_DEVICE")
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "loads": bool, "devices": list, "default_device": str, "error": str, "ops": int,
}


def cache_path() -> Path | None:
    """The cache file, or None when ``EMBER_NO_PROBE_CACHE`` is set (to anything but 0)."""
    if os.environ.get("EMBER_NO_PROBE_CACHE", "0") not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ember" / FILE_NAME


def _newest_py(root: Path) -> int:
    newest = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"]
        for f in filenames:
            if f.endswith(".py"):
                with contextlib.suppress(OSError):
                    newest = max(newest, os.stat(os.path.join(dirpath, f)).st_mtime_ns)
    return newest


def _stamp(dist: str) -> list[Any]:
    """A distribution's name, version and, for an editable install, its newest .py mtime."""
    if not dist:
        return []
    import importlib.metadata as md

    try:
        d = md.distribution(dist)
    except md.PackageNotFoundError:
        return [dist, None]
    stamp: list[Any] = [dist, d.version]
    try:
        direct = json.loads(d.read_text("direct_url.json") or "{}")
    except ValueError:
        direct = {}
    if not isinstance(direct, dict):
        direct = {}
    url, dir_info = direct.get("url"), direct.get("dir_info")
    if (isinstance(dir_info, dict) and dir_info.get("editable") and isinstance(url, str)
            and url.startswith("file://")):
        from urllib.parse import unquote, urlparse

        stamp.append(_newest_py(Path(unquote(urlparse(url).path))))
    return stamp


def probe_key(factory: str, distribution: str, native: str) -> str:
    """What a backend's probe result depends on, as one string."""
    import platform

    return json.dumps({
        "python": [sys.executable, sys.version, sys.platform, platform.machine(),
                   platform.node()],
        "core": _stamp("ember-core"),
        "backend": [factory, *_stamp(distribution)],
        "native": _stamp(native),
        "env": {k: os.environ[k] for k in DEVICE_ENV if k in os.environ},
    }, sort_keys=True)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _valid(info: object) -> bool:
    return (isinstance(info, dict) and set(info) == set(_FIELDS)
            and all(isinstance(info[k], t) for k, t in _FIELDS.items())
            and all(isinstance(d, str) for d in info["devices"]))


def lookup(keys: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The cached probe results of the backends whose key (``keys[name]``) is unchanged."""
    path = cache_path()
    if path is None:
        return {}
    entries = _read(path)
    found = {}
    for name, key in keys.items():
        entry = entries.get(name)
        if isinstance(entry, dict) and entry.get("key") == key and _valid(entry.get("info")):
            found[name] = dict(entry["info"])
    return found


def store(results: dict[str, dict[str, Any]], keys: dict[str, str]) -> None:
    """Add the successful probes among ``results`` to the cache (written atomically; any error
    writing it is ignored)."""
    path = cache_path()
    good = {n: r for n, r in results.items() if n in keys and _valid(r) and r["loads"] is True}
    if path is None or not good:
        return
    try:
        entries = _read(path)
        entries.update({n: {"key": keys[n], "info": r} for n, r in good.items()})
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".probes-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"format": FORMAT, "entries": entries}, f)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
