"""The checks and defaults of a MAD run's options (``train``'s and ``benchmark``'s), and the
atomic JSON write their result files go through."""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ember_nn

from ._errors import MADError

__all__ = ["DEFAULT_LAYERS", "SCHEDULES", "check_layers", "check_positive", "check_schedule",
           "check_weight_decay", "package_versions", "resolve_auto", "write_json"]

#: the layer list the paper's transformer uses (and ``train``'s default)
DEFAULT_LAYERS: tuple[str, ...] = ("mh-attention", "swiglu", "mh-attention", "swiglu")
#: the learning-rate schedules: the paper's cosine, or the constant rate MAD-Lab's code runs at
#: (its ``configure_optimizers`` returns the scheduler under the key ``"scheduler"``, which
#: Lightning ignores with a warning: "Found unsupported keys in the optimizer configuration")
SCHEDULES = ("cosine", "constant")


def check_schedule(schedule: Any) -> str:
    """``schedule`` if it is one of ``SCHEDULES``, else a :class:`MADError`."""
    if schedule not in SCHEDULES:
        raise MADError(f"schedule must be one of {list(SCHEDULES)} (cosine: the paper's; "
                       f"constant: MAD-Lab's code as it runs), got {schedule!r}")
    return str(schedule)


def check_layers(layers: Any) -> tuple[str, ...]:
    """A layer list as a tuple of names ``ember_nn.blocks`` knows (a comma-separated string is
    split), else a :class:`MADError` naming the bad entry and the known names."""
    from ember_nn.blocks import layer_names

    if isinstance(layers, str):
        layers = [p.strip() for p in layers.split(",") if p.strip()]
    if not isinstance(layers, Sequence) or not layers:
        raise MADError(f"layers must be a non-empty list of layer names (e.g. "
                       f"{','.join(DEFAULT_LAYERS)}), got {layers!r}")
    known = layer_names()
    for name in layers:
        if not isinstance(name, str) or name not in known:
            raise MADError(f"unknown layer {name!r} in layers: the layer names are "
                           f"{', '.join(known)}")
    return tuple(layers)


def check_positive(name: str, value: Any, kind: type = int) -> Any:
    bad = isinstance(value, bool) or not isinstance(
        value, numbers.Integral if kind is int else numbers.Real)
    if bad or not (value > 0) or (kind is float and not math.isfinite(value)):
        what = "an integer >= 1" if kind is int else "a finite number > 0"
        raise MADError(f"{name} must be {what}, got {value!r}")
    return kind(value)


def check_weight_decay(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(float(value)) or float(value) < 0:
        raise MADError(f"weight_decay must be a finite number >= 0, got {value!r}")
    return float(value)


def resolve_auto(backend: str, device: str, precision: str, compile: Any) -> tuple[str, bool]:
    """``precision`` and ``compile`` with ``"auto"`` resolved for this backend and device."""
    accelerated = device.split(":")[0] not in ("cpu", "")
    if precision == "auto":
        precision = "bf16-mixed" if backend in ("torch", "mlx") and accelerated else "32"
    elif precision not in ember_nn.PRECISION_MODES:
        raise MADError(f"precision must be 'auto' or one of {sorted(ember_nn.PRECISION_MODES)}, "
                       f"got {precision!r}")
    if compile == "auto":
        compile = backend == "mlx" or (backend == "torch" and accelerated)
    elif not isinstance(compile, bool):
        raise MADError(f"compile must be 'auto', True or False, got {compile!r}")
    return precision, compile


def package_versions(backend: str) -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for dist in ("ember-core", "ember-nn", "ember-mad", f"ember-{backend}", backend):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def write_json(path: Path, data: Any) -> None:
    """``data`` to ``path`` atomically (a temporary file beside it, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
