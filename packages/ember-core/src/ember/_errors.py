"""Ember's exception types. Every error ember raises derives from :class:`EmberError`."""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendMismatchError",
    "BackendNotFoundError",
    "DTypeError",
    "EmberError",
    "OutOfBoundsError",
    "ShapeError",
    "UnsupportedError",
]


class EmberError(Exception):
    """Base class of every error raised by ember."""


class BackendError(EmberError):
    """A backend failed to load or misbehaved."""


class BackendNotFoundError(BackendError, LookupError):
    """An unknown backend name was requested."""


class BackendMismatchError(EmberError, TypeError):
    """Tensors of two different backends met in one operation."""


class ShapeError(EmberError, ValueError):
    """Shapes that do not fit the operation (broadcasting, axes, ranks)."""


class OutOfBoundsError(ShapeError, IndexError):
    """An index outside the axis it indexes."""


class DTypeError(EmberError, TypeError):
    """A dtype the operation cannot take, or dtypes that cannot be combined."""


class UnsupportedError(EmberError, NotImplementedError):
    """The backend (or one of its devices) cannot do this; the message says what can."""
