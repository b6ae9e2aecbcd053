"""The checks ``Trainer.fit``, ``evaluate`` and ``predict`` run on their arguments and data
before any step, so a mistake is an error naming the values, never a silent no-op.

Each check reads at most a few numbers on the host, once per call (not per batch).
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import ember

from .._core._errors import ConfigError
from ._data import ArrayData, check_batch_size

__all__ = ["aligned", "check_epochs", "check_flag", "check_steps", "check_validation",
           "user_stacklevel", "warn_non_finite"]

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning issued by the caller of this point at the first
    frame outside ember_nn (the user's ``fit`` call, whichever way it got there)."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def check_epochs(op: str, epochs: Any) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"{op}: epochs must be a positive int, got {epochs!r}")
    return epochs


def check_flag(op: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{op}: {name} must be True or False, got {value!r}")
    return value


def aligned(op: str, what: str, inputs: ember.Tensor,
            targets: ember.Tensor | None = None) -> ArrayData:
    """The arrays as ``ArrayData`` after checking they have a sample axis, the same number of
    samples, and at least one."""
    named = [("inputs", inputs)] + ([("targets", targets)] if targets is not None else [])
    for name, t in named:
        if t.ndim == 0:
            raise ember.ShapeError(f"{op}: the {what} {name} are a scalar; they need a first "
                                   f"(sample) axis, e.g. shape (num_samples, ...)")
    if targets is not None and inputs.shape[0] != targets.shape[0]:
        raise ember.ShapeError(
            f"{op}: the {what} inputs have {inputs.shape[0]} samples (shape {inputs.shape}) but "
            f"the targets have {targets.shape[0]} (shape {targets.shape}); they need the same "
            f"number along the first axis")
    if inputs.shape[0] == 0:
        raise ember.ShapeError(f"{op}: no {what} samples (inputs of shape {inputs.shape}); "
                               f"pass at least one")
    return ArrayData([t for _, t in named])


def check_steps(op: str, data: ArrayData, batch_size: int, drop_last: bool,
                held_out: str = "") -> int:
    """The number of steps an epoch takes; ConfigError if it is zero (``drop_last`` with fewer
    samples than one batch), since no step would run and nothing would be learned."""
    steps = data.num_batches(check_batch_size(batch_size, op), drop_last)
    if steps == 0:
        raise ConfigError(
            f"{op}: {len(data)} training samples{held_out} make no full batch of "
            f"batch_size={batch_size} with drop_last=True, so no step would run; use "
            f"batch_size <= {len(data)} or drop_last=False")
    return steps


def check_validation(op: str, validation_data: Any, validation_split: Any) -> float:
    """The validation fraction (0.0 for none) after checking the two options."""
    if isinstance(validation_split, bool) or not isinstance(validation_split, int | float) \
            or not 0.0 <= validation_split < 1.0:
        raise ConfigError(f"{op}: validation_split must be a number in [0, 1) (0 for none), "
                          f"got {validation_split!r}")
    if validation_data is not None:
        if validation_split:
            raise ConfigError(f"{op}: pass validation_data or validation_split, not both")
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            raise ConfigError(f"{op}: validation_data must be a pair (inputs, targets), got "
                              f"{type(validation_data).__name__}"
                              + (f" of {len(validation_data)}"
                                 if isinstance(validation_data, tuple | list) else ""))
    return float(validation_split)


def warn_non_finite(op: str, what: str, t: ember.Tensor) -> int:
    """Warn (RuntimeWarning) if floating ``t`` holds NaN or infinite values; returns how many
    samples (rows along the first axis) do. One pass over the data and one boolean read back
    when it is clean."""
    if not t.dtype.is_inexact or t.size == 0 or bool(ember.all(ember.isfinite(t))):
        return 0
    bad = ember.logical_not(ember.isfinite(t))
    if t.ndim > 1:
        bad = ember.any(ember.reshape(bad, (t.shape[0], -1)), axis=1)
    count = int(ember.count_nonzero(bad))
    if count:
        first = int(ember.argmax(ember.astype(bad, ember.int32)))
        warnings.warn(
            f"{op}: {count} of {t.shape[0]} {what} samples hold NaN or infinite values (the first "
            f"is sample {first}); the loss will not be finite: clean or impute them "
            f"(ember_nn.TerminateOnNaN stops training at the first non-finite loss)",
            RuntimeWarning, stacklevel=user_stacklevel())
    return count
