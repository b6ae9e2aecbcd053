"""Ember's exception types. Every error ember raises derives from :class:`EmberError`."""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "BackendError",
    "BackendMismatchError",
    "BackendNotFoundError",
    "CopyError",
    "DTypeError",
    "EmberError",
    "LinAlgError",
    "OutOfBoundsError",
    "OutOfMemoryError",
    "ShapeError",
    "TapeError",
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


class CopyError(EmberError, BufferError):
    """``copy=False`` asked for an import or move that needs a copy (``from_dlpack`` across
    devices or into MLX's memory). A ``BufferError``, as the Array API's DLPack rules say."""


class DTypeError(EmberError, TypeError):
    """A dtype the operation cannot take, or dtypes that cannot be combined."""


class UnsupportedError(EmberError, NotImplementedError):
    """The backend (or one of its devices) cannot do this; the message says what can."""


class TapeError(EmberError, RuntimeError):
    """A GradientTape used out of order: a second ``gradient`` on a non-persistent tape,
    entering a tape that is already recording, ``reset``/``stop_recording`` when not recording."""


class ArgumentError(EmberError, ValueError, TypeError):
    """An argument of the wrong kind or value (``watch`` of a non-tensor, ``target=None``,
    an unknown ``unconnected_gradients`` value). Both a ValueError and a TypeError, as
    TensorFlow raises one or the other for these."""


class LinAlgError(EmberError, ValueError):
    """A linear-algebra op got a matrix it cannot handle: singular for ``inv``/``solve``, not
    positive definite for ``cholesky``, NaN or infinite entries for a factorisation. The
    message names the op, the problem and, in a batch, which matrices. A ValueError, as
    NumPy's ``LinAlgError`` is."""


class OutOfMemoryError(EmberError, MemoryError):
    """An op's result would not fit in the memory of its device. The message names the op, the
    shape, the dtype, the bytes requested and the device."""
