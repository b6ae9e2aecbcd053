"""Band-limited sinc resampling, as ``torchaudio.functional.resample`` (``"sinc_interp_hann"``).

The rates are reduced by their gcd to ``orig`` and ``new``; output sample ``j`` of every
block of ``new`` is a windowed-sinc filter of ``2 * width + orig`` input samples, the filters
stepping ``orig`` samples per block (polyphase): here framing and one matrix product, where
torchaudio runs a strided ``conv1d``. The filters are torchaudio's, computed in the signal's
dtype as it does: cutoff ``rolloff * min(orig, new)``, ``lowpass_filter_width`` zero crossings
each side, a ``cos**2`` (hann) taper. The Kaiser-windowed variant
(``resampling_method="sinc_interp_kaiser"``) is not provided.
"""

from __future__ import annotations

import math
from typing import Any

import ember

from .._core._errors import ConfigError
from ._frames import frame, pad
from ._support import positive_int, signal

__all__ = ["check_resample", "resample"]


def _kernel(orig: int, new: int, lowpass_filter_width: int, rolloff: float,
            like: ember.Tensor) -> tuple[ember.Tensor, int]:
    """torchaudio's ``_get_sinc_resample_kernel``: ``(new, 2 * width + orig)`` and width."""
    base = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base)
    kw: dict[str, Any] = {"dtype": like.dtype, "backend": like.backend, "device": like.device}
    idx = ember.arange(-width, width + orig, **kw) / orig
    t = ember.reshape(ember.arange(0, -new, -1, **kw), (new, 1)) / new + idx
    t = ember.clip(t * base, -lowpass_filter_width, lowpass_filter_width)
    window = ember.cos(t * (math.pi / lowpass_filter_width / 2)) ** 2
    t = t * math.pi
    safe = ember.where(t == 0, ember.ones_like(t), t)
    kernel = ember.where(t == 0, ember.ones_like(t), ember.sin(safe) / safe)
    return kernel * window * (base / orig), width


def check_resample(fn: str, orig_freq: Any, new_freq: Any, lowpass_filter_width: Any,
                   rolloff: Any) -> tuple[int, int]:
    """The rates as ints after checking every argument of ``resample`` (ConfigError)."""
    orig = positive_int(fn, "orig_freq", orig_freq)
    new = positive_int(fn, "new_freq", new_freq)
    positive_int(fn, "lowpass_filter_width", lowpass_filter_width)
    if isinstance(rolloff, bool) or not isinstance(rolloff, int | float) or \
            not 0 < rolloff <= 1:
        raise ConfigError(f"{fn}: rolloff must be in (0, 1], got {rolloff!r}")
    return orig, new


def resample(x: Any, orig_freq: int, new_freq: int, *, lowpass_filter_width: int = 6,
             rolloff: float = 0.99) -> ember.Tensor:
    """Signals ``(..., samples)`` at ``orig_freq`` resampled to ``new_freq``:
    ``ceil(samples * new_freq / orig_freq)`` samples, as ``torchaudio.functional.resample(x,
    orig_freq, new_freq, lowpass_filter_width, rolloff)``. Differentiable in ``x``.

    Arguments:
        x: a real floating tensor ``(..., samples)``.
        orig_freq, new_freq: the rates, positive ints (their ratio is what matters:
            44100 -> 16000 runs as 441 -> 160).
        lowpass_filter_width: zero crossings of the sinc kept on each side (sharper filter,
            more work).
        rolloff: the cutoff as a fraction of the lower Nyquist rate, in (0, 1].

    Raises ConfigError for rates or filter settings out of range.

    >>> y = ember_nn.features.resample(ember.ones((2, 441)), 44100, 16000)
    >>> y.shape, round(float(y[0, 80]), 3)
    ((2, 160), 1.0)
    """
    x = signal("resample", x)
    orig, new = check_resample("resample", orig_freq, new_freq, lowpass_filter_width, rolloff)
    if orig == new:
        return x
    g = math.gcd(orig, new)
    orig, new = orig // g, new // g
    kernel, width = _kernel(orig, new, lowpass_filter_width, float(rolloff), x)
    length = x.shape[-1]
    frames = frame(pad(x, width, width + orig), 2 * width + orig, orig)  # (..., blocks, taps)
    y = ember.matmul(frames, ember.matrix_transpose(kernel))  # (..., blocks, new)
    y = ember.reshape(y, (*x.shape[:-1], y.shape[-2] * new))
    return y[..., :-(-new * length // orig)]
