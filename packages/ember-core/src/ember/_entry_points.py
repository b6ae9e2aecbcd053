"""Entry points of one group, read from the installed distributions without ``importlib.metadata``.

``importlib.metadata`` costs ~20 ms to import (email, zipfile, csv ...), and the first op of a
process pays it when it discovers the backends. This reader does what
``importlib.metadata.entry_points(group=...)`` does for the common layouts: every
``*.dist-info`` and ``*.egg-info`` folder directly on ``sys.path``, the first distribution of a
(normalised) name winning, each ``entry_points.txt`` parsed as the INI text the packaging spec
describes. Anything else (zip imports, custom finders) is left to ``importlib.metadata``:
``find`` returns None when it sees a ``sys.path`` entry it cannot list as a folder, and the
caller falls back.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["EntryPoint", "find"]


@dataclass(frozen=True)
class EntryPoint:
    """``name = value`` of a group; ``value`` is ``module`` or ``module:attribute``."""

    name: str
    value: str
    distribution: str

    def load(self) -> Any:
        module, _, attr = self.value.partition(":")
        obj: Any = importlib.import_module(module.strip())
        for part in filter(None, attr.strip().split(".")):
            obj = getattr(obj, part)
        return obj


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _section(text: str, group: str) -> list[tuple[str, str]]:
    found, inside = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == group
        elif inside and "=" in line:
            name, _, value = line.partition("=")
            found.append((name.strip(), value.strip()))
    return found


def find(group: str) -> list[EntryPoint] | None:
    """The entry points of ``group``, or None where ``sys.path`` holds something this reader
    cannot list (a zip file, a missing folder is fine): use ``importlib.metadata`` then."""
    seen: set[str] = set()
    out: list[EntryPoint] = []
    for entry in sys.path:
        folder = entry or "."
        try:
            names = sorted(os.listdir(folder))
        except FileNotFoundError:
            continue
        except OSError:  # NotADirectoryError: a zip import; PermissionError ...
            return None
        for n in names:
            stem, dot, suffix = n.rpartition(".")
            if not dot or suffix not in ("dist-info", "egg-info"):
                continue
            dist = _normalise(stem.split("-")[0])
            if dist in seen:
                continue
            seen.add(dist)
            try:
                with open(os.path.join(folder, n, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            out.extend(EntryPoint(k, v, dist) for k, v in _section(text, group))
    return out
