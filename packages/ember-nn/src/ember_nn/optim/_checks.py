"""Checks of optimiser hyperparameters: learning rates, real ranges, and constants that must not
round to 0 in a variable's dtype."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import ember

from .._core._errors import ConfigError
from ._schedules import Schedule, as_schedule

if TYPE_CHECKING:
    from ._base import Optimizer

__all__ = ["_rate", "_real", "_representable"]


def _rate(owner: Optimizer, value: Any) -> Schedule:
    where = f"{type(owner).__name__}: learning_rate"
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and not (
            math.isfinite(value) and float(value) >= 0):
        raise ConfigError(f"{where} must be a finite number >= 0, got {value!r}")
    return as_schedule(value, where)


def _real(owner: Optimizer, name: str, value: Any, *, hi: float | None = None,
          hi_open: bool = True) -> float:
    """``value`` as a float in [0, hi) (or [0, hi]); ConfigError naming it otherwise."""
    where = f"{type(owner).__name__}: {name}"
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r:.60}")
    value = float(value)
    if value < 0 or (hi is not None and (value >= hi if hi_open else value > hi)):
        rng = f"[0, {hi})" if hi_open else f"[0, {hi}]"
        raise ConfigError(f"{where} must be in {rng if hi is not None else '[0, inf)'}, "
                          f"got {value!r}")
    return value


def _representable(owner: Optimizer, values: Mapping[str, float], dtype: ember.DType) -> None:
    """ConfigError for a nonzero constant that rounds to 0 in ``dtype``."""
    info = ember.finfo(dtype)
    half_subnormal = info.smallest_normal * info.eps / 2
    zero = {k: v for k, v in values.items() if v != 0 and abs(v) <= half_subnormal}
    if zero:
        shown = ", ".join(f"{k} = {v!r}" for k, v in zero.items())
        raise ConfigError(
            f"{type(owner).__name__}: {shown} is 0 in {dtype.name} (its smallest positive value "
            f"is {2 * half_subnormal:.3g}), so the update would not be the one configured (a "
            f"zero eps gives 0/0 for a zero gradient); choose a larger value (eps=1e-4 is usual "
            f"for float16) or keep the variables in float32")
