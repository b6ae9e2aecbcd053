"""ember-nn's errors: subclasses of ``ember.EmberError`` naming the values involved."""

from __future__ import annotations

import ember

__all__ = ["CheckpointError", "ConfigError", "StateError", "TrainingError"]


class ConfigError(ember.EmberError, ValueError):
    """A module, optimiser or training configuration that cannot be built or written."""


class StateError(ember.EmberError, KeyError):
    """A state dict that does not match the model (missing, unexpected or mis-shaped entries)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CheckpointError(ember.EmberError, OSError):
    """A checkpoint file that is missing, truncated, corrupted or for another model."""


class TrainingError(ember.EmberError, RuntimeError):
    """Training that cannot usefully go on: a NaN or infinite loss (``TerminateOnNaN``)."""
