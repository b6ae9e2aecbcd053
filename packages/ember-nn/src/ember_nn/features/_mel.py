"""Mel scales, mel filter banks, mel spectrograms and log-mel spectrograms.

Defaults are librosa's (``librosa.filters.mel``, ``librosa.feature.melspectrogram``): the
Slaney mel scale, Slaney (area) normalisation, ``n_fft=2048``, ``n_mels=128``, zero padding.
torchaudio's ``melscale_fbanks``/``MelSpectrogram`` default to ``mel_scale="htk"``,
``norm=None``, ``n_fft=400`` and reflect padding: pass those to get its numbers. Filter banks
are ``(n_mels, n_freqs)`` as librosa's; torchaudio's are the transpose. One difference
remains: torchaudio places the FFT bins at ``linspace(0, sample_rate // 2, n_freqs)`` (an
integer Nyquist); here, as librosa, at ``k * sample_rate / n_fft`` (the same for an even rate).
"""

from __future__ import annotations

import math
from typing import Any

import ember

from .._core._errors import ConfigError
from ._spectrogram import power_to_db, spectrogram
from ._support import constant, float_dtype, nonnegative_float, positive_int

__all__ = ["MEL_SCALES", "hz_to_mel", "log_mel_spectrogram", "mel_filterbank",
           "mel_spectrogram", "mel_to_hz"]

#: the mel scales: "slaney" (Auditory Toolbox, librosa's default) and "htk"
MEL_SCALES = ("slaney", "htk")
_F_SP = 200.0 / 3  # Slaney: Hz per mel below 1 kHz
_MIN_LOG_HZ, _MIN_LOG_MEL = 1000.0, 15.0
_LOGSTEP = math.log(6.4) / 27.0


def _scale(fn: str, mel_scale: str) -> str:
    if mel_scale not in MEL_SCALES:
        raise ConfigError(f"{fn}: mel_scale must be one of {MEL_SCALES}, got {mel_scale!r}")
    return mel_scale


def hz_to_mel(freq: float, mel_scale: str = "slaney") -> float:
    """A frequency in Hz on the mel scale: ``"htk"`` ``2595 log10(1 + f / 700)``; ``"slaney"``
    linear below 1 kHz (``3 f / 200``), logarithmic above (``librosa.hz_to_mel``,
    ``torchaudio.functional.functional._hz_to_mel``).

    >>> ember_nn.features.hz_to_mel(1000.0), round(ember_nn.features.hz_to_mel(1000.0, "htk"), 3)
    (15.0, 999.986)
    """
    f = float(freq)
    if _scale("hz_to_mel", mel_scale) == "htk":
        return 2595.0 * math.log10(1.0 + f / 700.0)
    if f >= _MIN_LOG_HZ:
        return _MIN_LOG_MEL + math.log(f / _MIN_LOG_HZ) / _LOGSTEP
    return f / _F_SP


def mel_to_hz(mel: float, mel_scale: str = "slaney") -> float:
    """The inverse of ``hz_to_mel``.

    >>> ember_nn.features.mel_to_hz(15.0)
    1000.0
    """
    m = float(mel)
    if _scale("mel_to_hz", mel_scale) == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    if m >= _MIN_LOG_MEL:
        return _MIN_LOG_HZ * math.exp(_LOGSTEP * (m - _MIN_LOG_MEL))
    return _F_SP * m


def _filterbank(sample_rate: float, n_fft: int, n_mels: int, f_min: float, f_max: float,
                mel_scale: str, norm: str | None) -> list[float]:
    """librosa.filters.mel's weights, row-major (n_mels, n_fft // 2 + 1), in float64."""
    n_freqs = n_fft // 2 + 1
    fft_freqs = [k * sample_rate / n_fft for k in range(n_freqs)]
    lo, hi = hz_to_mel(f_min, mel_scale), hz_to_mel(f_max, mel_scale)
    step = (hi - lo) / (n_mels + 1)
    mel_f = [mel_to_hz(lo + i * step if i <= n_mels else hi, mel_scale)
             for i in range(n_mels + 2)]
    out: list[float] = []
    for i in range(n_mels):
        left, centre, right = mel_f[i], mel_f[i + 1], mel_f[i + 2]
        down, up = centre - left, right - centre
        scale = 2.0 / (right - left) if norm == "slaney" else 1.0
        for f in fft_freqs:
            w = min((f - left) / down, (right - f) / up)
            out.append(scale * w if w > 0.0 else 0.0)
    return out


def mel_filterbank(sample_rate: float, n_fft: int, *, n_mels: int = 128, f_min: float = 0.0,
                   f_max: float | None = None, mel_scale: str = "slaney",
                   norm: str | None = "slaney", dtype: Any = None, backend: Any = None,
                   device: str | None = None) -> ember.Tensor:
    """Triangular mel filters ``(n_mels, n_fft // 2 + 1)``: ``n_mels`` triangles whose edges
    sit at ``n_mels + 2`` points equally spaced on the mel scale from ``f_min`` to ``f_max``,
    weighting the FFT bins ``k * sample_rate / n_fft``; ``librosa.filters.mel(sr=sample_rate,
    n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max, htk=mel_scale == "htk", norm=norm)``.
    ``torchaudio.functional.melscale_fbanks(n_fft // 2 + 1, f_min, f_max, n_mels,
    sample_rate, norm, mel_scale)`` is its transpose (for an even ``sample_rate``).

    Arguments:
        sample_rate: samples per second (positive).
        n_fft: the FFT size the filters apply to.
        n_mels: the number of filters.
        f_min, f_max: the frequency range in Hz (``f_max`` default ``sample_rate / 2``).
        mel_scale: ``"slaney"`` (librosa's default) or ``"htk"`` (torchaudio's).
        norm: ``"slaney"`` divides each triangle by its width in Hz (constant energy per
            channel; librosa's default), ``None`` leaves peaks at 1 (torchaudio's default).
        dtype, backend, device: of the tensor (default float, current backend).

    Raises ConfigError for bad sizes, rates, ranges, scales or norms.

    >>> fb = ember_nn.features.mel_filterbank(16000, 512, n_mels=40)
    >>> fb.shape, round(float(ember.sum(fb[0])), 5)
    ((40, 257), 0.03128)
    """
    fn = "mel_filterbank"
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | float) or \
            not 0 < sample_rate < float("inf"):
        raise ConfigError(f"{fn}: sample_rate must be a positive number, got {sample_rate!r}")
    positive_int(fn, "n_fft", n_fft)
    positive_int(fn, "n_mels", n_mels)
    f_min = nonnegative_float(fn, "f_min", f_min)
    f_max = sample_rate / 2.0 if f_max is None else nonnegative_float(fn, "f_max", f_max)
    if not f_min < f_max <= sample_rate / 2.0:
        raise ConfigError(f"{fn}: need 0 <= f_min < f_max <= sample_rate / 2 = "
                          f"{sample_rate / 2.0}, got f_min={f_min}, f_max={f_max}")
    _scale(fn, mel_scale)
    if norm not in (None, "slaney"):
        raise ConfigError(f"{fn}: norm must be None or 'slaney', got {norm!r}")
    d = float_dtype(fn, dtype)
    args = (float(sample_rate), n_fft, n_mels, f_min, f_max, mel_scale, norm)
    return constant(_filterbank, args, (n_mels, n_fft // 2 + 1), d, backend, device)


def mel_spectrogram(x: Any, sample_rate: float, *, n_fft: int = 2048,
                    hop_length: int | None = None, win_length: int | None = None,
                    window: Any = "hann", center: bool = True, pad_mode: str = "constant",
                    power: float = 2.0, n_mels: int = 128, f_min: float = 0.0,
                    f_max: float | None = None, mel_scale: str = "slaney",
                    norm: str | None = "slaney") -> ember.Tensor:
    """Mel spectrograms ``(..., n_mels, n_frames)`` of signals ``(..., samples)``:
    ``mel_filterbank(...) @ spectrogram(x, ...)``; ``librosa.feature.melspectrogram(y=x,
    sr=sample_rate, n_fft=..., hop_length=..., ...)`` with the same arguments, and
    ``torchaudio.transforms.MelSpectrogram(sample_rate, n_fft, ..., pad_mode=...,
    norm=norm, mel_scale=mel_scale)`` when its ``pad_mode``, ``norm`` and ``mel_scale`` are
    given explicitly. Arguments are ``spectrogram``'s and ``mel_filterbank``'s.

    >>> x = ember.sin(ember.arange(16000.0) * 0.2)
    >>> ember_nn.features.mel_spectrogram(x, 16000, n_fft=512, hop_length=160,
    ...                                   n_mels=40).shape
    (40, 101)
    """
    spec = spectrogram(x, n_fft, hop_length=hop_length, win_length=win_length, window=window,
                       center=center, pad_mode=pad_mode, power=power)
    fb = mel_filterbank(sample_rate, n_fft, n_mels=n_mels, f_min=f_min, f_max=f_max,
                        mel_scale=mel_scale, norm=norm, dtype=spec.dtype, backend=spec.backend,
                        device=spec.device)
    return ember.matmul(fb, spec)


def log_mel_spectrogram(x: Any, sample_rate: float, *, n_fft: int = 2048,
                        hop_length: int | None = None, win_length: int | None = None,
                        window: Any = "hann", center: bool = True, pad_mode: str = "constant",
                        n_mels: int = 128, f_min: float = 0.0, f_max: float | None = None,
                        mel_scale: str = "slaney", norm: str | None = "slaney",
                        ref: float | str = 1.0, amin: float = 1e-10,
                        top_db: float | None = 80.0) -> ember.Tensor:
    """Log-mel spectrograms in decibels: ``power_to_db(mel_spectrogram(x, ...), ref=ref,
    amin=amin, top_db=top_db)`` of the power mel spectrogram, as
    ``librosa.power_to_db(librosa.feature.melspectrogram(...))`` for one signal (``top_db``
    clips each spectrogram at its own maximum, see ``power_to_db``). Natural-log features
    (``log(mel + eps)``) are ``ember.log(mel_spectrogram(...) + eps)``.

    >>> x = ember.sin(ember.arange(16000.0) * 0.2)
    >>> db = ember_nn.features.log_mel_spectrogram(x, 16000, n_fft=512, n_mels=40)
    >>> db.shape, round(float(ember.max(db) - ember.min(db)), 3)
    ((40, 126), 80.0)
    """
    mel = mel_spectrogram(x, sample_rate, n_fft=n_fft, hop_length=hop_length,
                          win_length=win_length, window=window, center=center,
                          pad_mode=pad_mode, n_mels=n_mels, f_min=f_min, f_max=f_max,
                          mel_scale=mel_scale, norm=norm)
    return power_to_db(mel, ref=ref, amin=amin, top_db=top_db)
