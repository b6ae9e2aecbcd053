"""Keys: 64-bit values derived with the SplitMix64 mixer, in Python (identical everywhere)."""

from __future__ import annotations

from typing import Any

from ..._errors import EmberError

__all__ = ["Key", "as_key", "fold_in", "key", "split"]

_MASK64 = (1 << 64) - 1


def _mix(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


class Key:
    """A random key. Make one with :func:`key`; derive more with :func:`split`.

    ``value`` is the 64-bit Philox4x32-10 key (low word first) every draw uses.
    """

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value & _MASK64

    def __repr__(self) -> str:
        return f"ember.random.Key({self.value:#018x})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("ember.Key", self.value))


def key(seed: int) -> Key:
    """A key from a non-negative integer seed."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise EmberError(f"random.key takes a non-negative int seed, got {seed!r}")
    return Key(_mix(seed & _MASK64) ^ _mix(seed >> 64))


def split(k: Key | int, num: int = 2) -> tuple[Key, ...]:
    """num new independent keys derived from k."""
    k = as_key(k)
    return tuple(Key(_mix(k.value ^ _mix(i + 1))) for i in range(num))


def fold_in(k: Key | int, data: int) -> Key:
    """A new key derived from k and an integer (a step number, a layer index)."""
    return Key(_mix(as_key(k).value ^ _mix(data & _MASK64) ^ 0x5851F42D4C957F2D))


def as_key(k: Any) -> Key:
    """``k`` itself, or ``key(k)`` for an int seed."""
    if isinstance(k, Key):
        return k
    if isinstance(k, int) and not isinstance(k, bool):
        return key(k)
    raise EmberError(f"expected an ember.random.Key or an int seed, got {type(k).__name__}")
