"""Power and magnitude spectrograms, and decibel scaling.

``spectrogram`` is ``|stft(x)| ** power`` (``librosa``'s ``_spectrogram`` and
``torchaudio.functional.spectrogram`` with ``normalized=False``); ``power=2`` is computed as
``re**2 + im**2`` so its gradient is finite everywhere.

``power_to_db``/``amplitude_to_db`` follow ``librosa.power_to_db``/``amplitude_to_db``:
``10 log10(max(S, amin)) - 10 log10(max(ref, amin))``, then, with ``top_db``, clipped from
below at the maximum minus ``top_db``. The maximum is taken per spectrogram (the last two axes):
librosa takes it over the whole array it is given and ``torchaudio.functional.amplitude_to_DB``
over each item's ``(channels, freq, time)``; for a single spectrogram all three agree (for
librosa's whole-array maximum over a batch, pass ``top_db=None`` and clip with the batch's
``ember.max``).
"""

from __future__ import annotations

import math
from typing import Any

import ember

from .._core._errors import ConfigError
from ._stft import stft

__all__ = ["amplitude_to_db", "power_to_db", "spectrogram"]


def spectrogram(x: Any, n_fft: int, *, hop_length: int | None = None,
                win_length: int | None = None, window: Any = "hann", center: bool = True,
                pad_mode: str = "constant", power: float = 2.0, normalized: bool = False,
                onesided: bool = True) -> ember.Tensor:
    """``|stft(x, ...)| ** power``: a real ``(..., n_freqs, n_frames)`` tensor; ``power=2``
    gives the power spectrogram, ``power=1`` the magnitude. The other arguments are
    ``stft``'s (``normalized`` is torch.stft's ``n_fft ** -0.5``; torchaudio's
    ``normalized=True`` divides by the window's L2 norm instead:
    ``spectrogram(...) / float(ember.sum(w * w)) ** (power / 2)``).

    Equals ``librosa.stft``'s ``np.abs(S) ** power`` and
    ``torchaudio.functional.spectrogram(x, 0, window, n_fft, hop, win, power, False, center,
    pad_mode, onesided)`` with ``pad_mode`` given explicitly.

    Raises ConfigError for a power that is not a positive number (and stft's errors).

    >>> ember_nn.features.spectrogram(ember.ones((1000,)), 256, hop_length=128).shape
    (129, 8)
    """
    if isinstance(power, bool) or not isinstance(power, int | float) or not power > 0:
        raise ConfigError(f"spectrogram: power must be a positive number (1: magnitude, "
                          f"2: power), got {power!r}")
    spec = stft(x, n_fft, hop_length=hop_length, win_length=win_length, window=window,
                center=center, pad_mode=pad_mode, normalized=normalized, onesided=onesided)
    re, im = ember.real(spec), ember.imag(spec)
    squared = re * re + im * im
    if power == 2:
        return squared
    if power == 1:
        return ember.abs(spec)
    return ember.abs(spec) ** float(power)


def _positive(fn: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{fn}: {name} must be a positive number, got {value!r}")
    return float(value)


def power_to_db(s: Any, *, ref: float | str = 1.0, amin: float = 1e-10,
                top_db: float | None = 80.0) -> ember.Tensor:
    """A power spectrogram in decibels: ``10 log10(max(s, amin)) - 10 log10(max(ref, amin))``,
    clipped below at ``max - top_db`` per spectrogram (the last two axes), as
    ``librosa.power_to_db(s, ref=ref, amin=amin, top_db=top_db)`` for one spectrogram.

    Arguments:
        s: a real tensor ``(..., freq, time)`` of non-negative powers (``(n,)`` too: then
            ``top_db`` uses the maximum of that axis).
        ref: the power of 0 dB: a positive number, or ``"max"`` for each spectrogram's
            maximum (librosa's ``ref=np.max``).
        amin: the smallest power (avoids ``log10(0)``); positive.
        top_db: the dynamic range kept below the maximum, or ``None`` for no clipping;
            torchaudio's ``AmplitudeToDB`` defaults to ``None``, librosa to 80.

    Raises ConfigError for a non-positive ``amin``/``ref``/``top_db`` or an unknown ``ref``.

    >>> ember_nn.features.power_to_db(ember.asarray([[1.0, 10.0, 1e-12]])).tolist()
    [[0.0, 10.0, -70.0]]
    """
    s = s if isinstance(s, ember.Tensor) else ember.asarray(s)
    amin = _positive("power_to_db", "amin", amin)
    if top_db is not None:
        top_db = _positive("power_to_db", "top_db", top_db)
    axes = (-2, -1) if s.ndim >= 2 else (-1,)
    db = 10.0 * ember.log10(ember.maximum(s, amin))
    if isinstance(ref, str):
        if ref != "max":
            raise ConfigError(f"power_to_db: ref must be a positive number or 'max', "
                              f"got {ref!r}")
        db = db - 10.0 * ember.log10(ember.maximum(ember.max(s, axis=axes, keepdims=True), amin))
    else:
        db = db - 10.0 * math.log10(max(_positive("power_to_db", "ref", ref), amin))
    if top_db is not None:
        db = ember.maximum(db, ember.max(db, axis=axes, keepdims=True) - top_db)
    return db


def amplitude_to_db(s: Any, *, ref: float | str = 1.0, amin: float = 1e-5,
                    top_db: float | None = 80.0) -> ember.Tensor:
    """A magnitude spectrogram in decibels: ``power_to_db(s ** 2, ref=ref ** 2,
    amin=amin ** 2, top_db=top_db)``, i.e. ``20 log10(max(s, amin)) - 20 log10(max(ref,
    amin))``, as ``librosa.amplitude_to_db`` (torchaudio's ``AmplitudeToDB("magnitude")``
    with ``top_db``).

    >>> [round(v, 4) for v in ember_nn.features.amplitude_to_db([1.0, 10.0, 1e-7]).tolist()]
    [0.0, 20.0, -60.0]
    """
    s = s if isinstance(s, ember.Tensor) else ember.asarray(s)
    amin = _positive("amplitude_to_db", "amin", amin)
    if isinstance(ref, str):
        r: float | str = ref
    else:
        r = _positive("amplitude_to_db", "ref", ref) ** 2
    return power_to_db(s * s, ref=r, amin=amin * amin, top_db=top_db)
