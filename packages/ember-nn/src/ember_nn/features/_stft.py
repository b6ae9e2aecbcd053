"""``stft`` and ``istft``: the short-time Fourier transform and its inverse, in ember ops
(framing, a window, ``ember.fft.rfft``/``irfft``, overlap-add), differentiable on every backend.

Conventions: ``torch.stft``/``torch.istft``'s arguments and output layout ``(..., n_freqs,
n_frames)`` (librosa's too), with two defaults taken from librosa instead: ``window="hann"``
(torch's default is a rectangular window: pass ``window="rectangular"`` or ``None``) and
``pad_mode="constant"`` (librosa >= 0.10; torch pads ``"reflect"``: pass ``pad_mode="reflect"``).
``istft`` divides by the summed squared window as ``torch.istft`` does, and like it refuses a
window whose envelope vanishes inside the output (librosa leaves those samples unnormalised).

MLX computes FFTs in complex64 only: float64 signals raise ``ember.UnsupportedError`` there
(cast to float32).
"""

from __future__ import annotations

from typing import Any

import ember

from .._core._errors import ConfigError
from ._frames import PAD_MODES, frame, overlap_add, pad
from ._support import positive_int, signal
from ._windows import get_window

__all__ = ["istft", "stft"]

#: torch.istft's smallest window envelope (NOLA check)
_TINY_ENVELOPE = 1e-11


def _sizes(fn: str, n_fft: int, hop_length: int | None, win_length: int | None
           ) -> tuple[int, int, int]:
    n_fft = positive_int(fn, "n_fft", n_fft)
    hop = n_fft // 4 if hop_length is None else positive_int(fn, "hop_length", hop_length)
    if hop < 1:
        raise ConfigError(f"{fn}: n_fft={n_fft} is too small for the default hop_length "
                          f"n_fft // 4; pass hop_length")
    win = n_fft if win_length is None else positive_int(fn, "win_length", win_length)
    if win > n_fft:
        raise ConfigError(f"{fn}: win_length={win} must be at most n_fft={n_fft}")
    return n_fft, hop, win


def _window(fn: str, window: Any, win: int, n_fft: int, like: ember.Tensor) -> ember.Tensor:
    """The analysis window as a length-``n_fft`` tensor: a name, ``None`` (rectangular) or a
    1-d tensor of ``win`` samples, zero-padded on both sides when shorter than ``n_fft``."""
    dtype = like.dtype
    if window is None:
        window = "rectangular"
    if isinstance(window, str):
        w = get_window(window, win, dtype=dtype, backend=like.backend, device=like.device)
    else:
        w = window if isinstance(window, ember.Tensor) else ember.asarray(
            window, backend=like.backend, device=like.device)
        if w.ndim != 1 or w.shape[0] != win:
            raise ember.ShapeError(f"{fn}: window must be 1-d with win_length={win} samples, "
                                   f"got shape {w.shape}")
        if w.dtype != dtype:
            w = w.astype(dtype)
    left = (n_fft - win) // 2
    return pad(w, left, n_fft - win - left) if win < n_fft else w


def stft(x: Any, n_fft: int, *, hop_length: int | None = None, win_length: int | None = None,
         window: Any = "hann", center: bool = True, pad_mode: str = "constant",
         normalized: bool = False, onesided: bool = True) -> ember.Tensor:
    """The short-time Fourier transform of real signals ``(..., samples)``: a complex tensor
    ``(..., n_freqs, n_frames)``, ``n_freqs = n_fft // 2 + 1`` (``onesided``) or ``n_fft``.

    Frame ``t`` starts at ``t * hop_length`` of the signal padded by ``n_fft // 2`` on both
    sides (``center=True``) or of the signal itself, is multiplied by the window and
    transformed: ``torch.stft(x, n_fft, hop_length, win_length, window, center, pad_mode,
    normalized, onesided, return_complex=True)`` and ``librosa.stft(x, n_fft=...,
    hop_length=..., win_length=..., window=..., center=..., pad_mode=...)``.

    Arguments:
        x: a real floating tensor ``(..., samples)``.
        n_fft: the FFT size (frame length).
        hop_length: samples between frames (default ``n_fft // 4``).
        win_length: window length, at most ``n_fft`` (default ``n_fft``); a shorter window is
            zero-padded on both sides to ``n_fft``, as torch and librosa do.
        window: a name of ``WINDOWS`` (periodic), a 1-d tensor of ``win_length`` samples (it
            may be a variable: gradients reach it) or ``None`` for a rectangular window
            (torch's default). Default ``"hann"`` (librosa's).
        center: pad ``n_fft // 2`` samples on both sides so frame ``t`` is centred on sample
            ``t * hop_length``.
        pad_mode: ``"constant"`` (zeros; librosa's default) or ``"reflect"`` (torch's).
        normalized: multiply by ``n_fft ** -0.5`` (torch's ``normalized=True``).
        onesided: keep the ``n_fft // 2 + 1`` non-negative frequencies (default).

    Raises ConfigError for bad sizes or modes, ShapeError for a signal shorter than a frame
    (or than the reflect padding), ember.UnsupportedError for float64 on MLX (complex64 FFTs
    only: cast to float32).

    >>> spec = ember_nn.features.stft(ember.ones((2, 1000)), 256, hop_length=128)
    >>> spec.shape, spec.dtype
    ((2, 129, 8), ember.complex64)
    """
    x = signal("stft", x)
    n_fft, hop, win = _sizes("stft", n_fft, hop_length, win_length)
    if pad_mode not in PAD_MODES:
        raise ConfigError(f"stft: pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
    w = _window("stft", window, win, n_fft, x)
    if center:
        x = pad(x, n_fft // 2, n_fft // 2, pad_mode)
    if x.shape[-1] < n_fft:
        raise ember.ShapeError(f"stft: {x.shape[-1]} samples (after padding) are fewer than "
                               f"n_fft={n_fft}; use a shorter n_fft or center=True")
    frames = frame(x, n_fft, hop) * w
    spec = ember.fft.rfft(frames, axis=-1) if onesided else ember.fft.fft(frames, axis=-1)
    if normalized:
        spec = spec * (n_fft ** -0.5)
    return ember.matrix_transpose(spec)


def istft(spec: Any, n_fft: int, *, hop_length: int | None = None,
          win_length: int | None = None, window: Any = "hann", center: bool = True,
          normalized: bool = False, onesided: bool = True, length: int | None = None
          ) -> ember.Tensor:
    """The inverse of ``stft``: complex ``(..., n_freqs, n_frames)`` to real signals
    ``(..., samples)``, by inverse FFT of each frame, the window, overlap-add and division by
    the overlap-added squared window (the least-squares inverse of Griffin and Lim), as
    ``torch.istft(spec, n_fft, hop_length, win_length, window, center, normalized, onesided,
    length)``; ``librosa.istft`` agrees wherever the window envelope is not vanishing.

    Arguments are ``stft``'s (use the same ones to invert it), plus ``length``: the number of
    samples to return (cut, or zero-padded past the frames' reach; default: all the frames
    reach, less the ``center`` padding).

    Raises ShapeError when ``spec`` has not ``n_fft // 2 + 1`` (``onesided``) or ``n_fft``
    frequencies, and ember.ArgumentError when the window envelope falls below 1e-11 inside
    the output (torch's NOLA check: e.g. a hann window with ``center=False`` at the edges;
    use ``center=True`` or a window that overlaps itself).

    >>> x = ember.sin(ember.arange(1000.0) * 0.1)
    >>> y = ember_nn.features.istft(ember_nn.features.stft(x, 256), 256, length=1000)
    >>> float(ember.max(ember.abs(x - y))) < 1e-5
    True
    """
    spec = spec if isinstance(spec, ember.Tensor) else ember.asarray(spec)
    if spec.ndim < 2:
        raise ember.ShapeError(f"istft: spec must be (..., n_freqs, n_frames), got shape "
                               f"{spec.shape}")
    n_fft, hop, win = _sizes("istft", n_fft, hop_length, win_length)
    want = n_fft // 2 + 1 if onesided else n_fft
    if spec.shape[-2] != want:
        raise ember.ShapeError(f"istft: spec has {spec.shape[-2]} frequencies, but n_fft={n_fft}"
                               f" with onesided={onesided} gives {want}; pass the n_fft the "
                               f"spectrogram was made with")
    if length is not None:
        positive_int("istft", "length", length)
    if not spec.dtype.is_complex:
        spec = spec.astype(ember.complex128 if spec.dtype == ember.float64 else ember.complex64)
    if normalized:
        spec = spec * (n_fft ** 0.5)
    cols = ember.matrix_transpose(spec)  # (..., n_frames, n_freqs)
    if onesided:
        frames = ember.fft.irfft(cols, n=n_fft, axis=-1)
    else:
        frames = ember.real(ember.fft.ifft(cols, axis=-1))
    w = _window("istft", window, win, n_fft, frames)
    count = frames.shape[-2]
    y = overlap_add(frames * w, hop)
    envelope = overlap_add(ember.broadcast_to(w * w, (count, n_fft)), hop)
    full = (count - 1) * hop + n_fft
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = full - n_fft // 2 if center else full
    stop = min(end, full)
    y, envelope = y[..., start:stop], envelope[start:stop]
    low = float(ember.min(ember.abs(ember.stop_gradient(envelope)))) if stop > start else 1.0
    if low < _TINY_ENVELOPE:
        raise ember.ArgumentError(f"istft: the window envelope falls to {low:.3g} inside the "
                                  f"output, so the signal cannot be recovered there (NOLA); "
                                  f"use center=True, a smaller hop_length or another window")
    y = y / envelope
    if end > full:
        y = pad(y, 0, end - full)
    return y
