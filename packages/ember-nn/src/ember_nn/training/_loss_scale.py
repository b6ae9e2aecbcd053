"""``LossScaler``: dynamic loss scaling for float16 training, with ``torch.amp.GradScaler``'s
rule.

float16 holds magnitudes from about 6e-8 (subnormal) to 65504, so small gradients of a float16
forward and backward pass round to zero. The loss is multiplied by ``scale`` before the
backward pass (its gradients grow by the same factor) and the float32 gradients are divided by
it before the update. A step whose scaled gradients overflowed (any inf or NaN) is skipped and
the scale halves; after ``growth_interval`` good steps in a row it doubles. The scale is kept
as a float32 value, as torch keeps it, so any factors give torch's sequence exactly.

>>> scaler = ember_nn.LossScaler(growth_interval=2)
>>> for overflow in [False, True, False, False]:
...     scaler.update(found_inf=overflow)
>>> scaler.scale, scaler.skipped_steps
(65536.0, 1)
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from typing import Any

from .._core._errors import ConfigError, StateError

__all__ = ["LossScaler"]

def _f32(x: float) -> float:
    """``x`` rounded to float32 (inf beyond its range), as torch's scale tensor holds it."""
    try:
        return float(struct.unpack("f", struct.pack("f", x))[0])
    except OverflowError:
        return math.copysign(math.inf, x)


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value > 0):
        raise ConfigError(f"LossScaler: {name} must be a finite number > 0, got {value!r}")
    return float(value)


class LossScaler:
    """Dynamic loss scale for float16 mixed precision (``MixedPrecision``, ``Trainer(precision=
    "fp16-mixed")``): torch.amp.GradScaler's rule and defaults.

    Arguments:
        init_scale: the first scale (``2**16``).
        growth_factor: the scale is multiplied by this (``2``) after ``growth_interval`` steps
            in a row whose gradients were all finite (``2000``).
        backoff_factor: the scale is multiplied by this (``0.5``) at a step whose gradients
            held an inf or NaN; that step is skipped (no update) and the count starts again.

    ``scale`` is the current scale; ``skipped_steps`` counts the skipped steps so far.
    """

    def __init__(self, *, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000) -> None:
        self._scale = _f32(_positive("init_scale", init_scale))
        self.growth_factor = _positive("growth_factor", growth_factor)
        self.backoff_factor = _positive("backoff_factor", backoff_factor)
        if self.growth_factor <= 1.0:
            raise ConfigError(f"LossScaler: growth_factor must be > 1, got {growth_factor!r}")
        if self.backoff_factor >= 1.0:
            raise ConfigError(f"LossScaler: backoff_factor must be < 1, got {backoff_factor!r}")
        if isinstance(growth_interval, bool) or not isinstance(growth_interval, int) \
                or growth_interval < 1:
            raise ConfigError(f"LossScaler: growth_interval must be a positive int, got "
                              f"{growth_interval!r}")
        self.growth_interval = growth_interval
        self._good = 0  # finite steps in a row since the last change (torch's growth tracker)
        self.skipped_steps = 0

    @property
    def scale(self) -> float:
        """The factor the next step's loss is multiplied by."""
        return self._scale

    def update(self, *, found_inf: bool) -> None:
        """After a step: back off (and count a skipped step) if its gradients overflowed, else
        count a good step and grow the scale after ``growth_interval`` of them (unless the
        grown scale would overflow float32)."""
        if found_inf:
            self._scale = _f32(self._scale * self.backoff_factor)
            self._good = 0
            self.skipped_steps += 1
            return
        self._good += 1
        if self._good == self.growth_interval:
            grown = _f32(self._scale * self.growth_factor)
            if math.isfinite(grown):
                self._scale = grown
            self._good = 0

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-able state (torch's keys, plus ``skipped_steps``)."""
        return {"scale": self._scale, "growth_factor": self.growth_factor,
                "backoff_factor": self.backoff_factor, "growth_interval": self.growth_interval,
                "growth_tracker": self._good, "skipped_steps": self.skipped_steps}

    def load_state_dict(self, state: Mapping[str, Any]) -> LossScaler:
        """Take ``state_dict()``'s output (checked first: nothing changes if it is bad)."""
        keys = {"scale", "growth_factor", "backoff_factor", "growth_interval",
                "growth_tracker", "skipped_steps"}
        if not isinstance(state, Mapping) or set(state) != keys:
            got = sorted(state) if isinstance(state, Mapping) else type(state).__name__
            raise StateError(f"LossScaler.load_state_dict: expected the keys {sorted(keys)}, "
                             f"got {got}")
        try:
            fresh = LossScaler(init_scale=state["scale"], growth_factor=state["growth_factor"],
                               backoff_factor=state["backoff_factor"],
                               growth_interval=state["growth_interval"])
        except ConfigError as e:
            raise StateError(f"LossScaler.load_state_dict: {e}") from None
        for name in ("growth_tracker", "skipped_steps"):
            v = state[name]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise StateError(f"LossScaler.load_state_dict: {name} must be an int >= 0, "
                                 f"got {v!r}")
        self.__dict__.update(fresh.__dict__)
        self._good, self.skipped_steps = state["growth_tracker"], state["skipped_steps"]
        return self

    def __repr__(self) -> str:
        return (f"LossScaler(scale={self._scale!r}, growth_factor={self.growth_factor!r}, "
                f"backoff_factor={self.backoff_factor!r}, "
                f"growth_interval={self.growth_interval!r}, skipped_steps={self.skipped_steps})")
