"""Framing and overlap-add along the last axis, and the edge padding ``stft`` uses; written
in slices, concatenations and reshapes (no gathers), so gradients flow on every backend.

Layout: ``frame`` returns ``(..., n_frames, frame_length)``, as ``torch.Tensor.unfold(-1,
frame_length, hop_length)``; ``librosa.util.frame(x, frame_length=..., hop_length=...)`` returns
the transpose, ``(..., frame_length, n_frames)`` (``ember.matrix_transpose`` converts).
``overlap_add`` is its adjoint: frames summed back at multiples of ``hop_length`` (what
``torch.nn.functional.fold`` does for one channel).
"""

from __future__ import annotations

from typing import Any

import ember

from .._core._errors import ConfigError
from ._support import positive_int, signal

__all__ = ["PAD_MODES", "frame", "overlap_add", "pad"]

#: the edge paddings ``pad`` (and ``stft``'s ``pad_mode``) know
PAD_MODES = ("constant", "reflect")
#: above this many hop-sized pieces per frame, framing gathers with ``ember.take`` instead
_MAX_PIECES = 16


def _zeros_like_axis(x: ember.Tensor, axis: int, size: int) -> ember.Tensor:
    shape = list(x.shape)
    shape[axis] = size
    return ember.zeros(tuple(shape), dtype=x.dtype, backend=x.backend, device=x.device)


def _fit_last(x: ember.Tensor, size: int) -> ember.Tensor:
    """``x`` cut or zero-padded at the end of its last axis to ``size`` samples."""
    n = x.shape[-1]
    if n == size:
        return x
    if n > size:
        return x[..., :size]
    return ember.concat([x, _zeros_like_axis(x, -1, size - n)], axis=-1)


def frame(x: Any, frame_length: int, hop_length: int) -> ember.Tensor:
    """Overlapping frames of the last axis: ``(..., samples)`` to ``(..., n_frames,
    frame_length)``, frame ``j`` being ``x[..., j * hop_length : j * hop_length +
    frame_length]`` and ``n_frames = 1 + (samples - frame_length) // hop_length``
    (a trailing partial frame is left out, as ``torch.Tensor.unfold`` and
    ``librosa.util.frame`` do).

    Raises ShapeError when the signal is shorter than one frame, ConfigError for a length or
    hop that is not a positive int.

    >>> ember_nn.features.frame(ember.arange(6.0), 3, 2).tolist()
    [[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]]
    """
    x = signal("frame", x)
    n = positive_int("frame", "frame_length", frame_length)
    hop = positive_int("frame", "hop_length", hop_length)
    length = x.shape[-1]
    if length < n:
        raise ember.ShapeError(f"frame: the signal has {length} samples, fewer than one frame "
                               f"of frame_length={n}; pad it or use a shorter frame")
    count = 1 + (length - n) // hop
    pieces = -(-n // hop)  # hop-sized pieces a frame spans
    lead = x.shape[:-1]
    if pieces > _MAX_PIECES:  # a small hop: one gather beats many slices
        idx = [j * hop + k for j in range(count) for k in range(n)]
        taken = ember.take(x, ember.asarray(idx, dtype=ember.int64, backend=x.backend,
                                            device=x.device), axis=-1)
        return ember.reshape(taken, (*lead, count, n))
    chunks = ember.reshape(_fit_last(x, (count + pieces - 1) * hop),
                           (*lead, count + pieces - 1, hop))
    if pieces == 1:
        out = chunks
    else:
        out = ember.concat([chunks[..., k:k + count, :] for k in range(pieces)], axis=-1)
    return out if out.shape[-1] == n else out[..., :n]


def overlap_add(frames: Any, hop_length: int) -> ember.Tensor:
    """Sum frames ``(..., n_frames, frame_length)`` back into a signal of
    ``(n_frames - 1) * hop_length + frame_length`` samples, frame ``j`` added at
    ``j * hop_length`` (the adjoint of ``frame``; ``torch.nn.functional.fold`` for one
    channel). No normalisation: ``istft`` divides by the window envelope itself.

    >>> ember_nn.features.overlap_add(ember.ones((3, 4)), 2).tolist()
    [1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0]
    """
    frames = signal("overlap_add", frames, min_ndim=2)
    hop = positive_int("overlap_add", "hop_length", hop_length)
    *lead, count, n = frames.shape
    pieces = -(-n // hop)
    parts = ember.reshape(_fit_last(frames, pieces * hop), (*lead, count, pieces, hop))
    total = None
    for k in range(pieces):
        part = parts[..., k, :]  # (..., count, hop): piece k of every frame
        padded = [part]
        if k:
            padded.insert(0, _zeros_like_axis(part, -2, k))
        if pieces - 1 - k:
            padded.append(_zeros_like_axis(part, -2, pieces - 1 - k))
        part = ember.concat(padded, axis=-2) if len(padded) > 1 else part
        total = part if total is None else total + part
    assert total is not None
    out = ember.reshape(total, (*lead, (count + pieces - 1) * hop))
    return out[..., :(count - 1) * hop + n]


def pad(x: Any, left: int, right: int, mode: str = "constant") -> ember.Tensor:
    """``x`` padded on its last axis by ``left`` and ``right`` samples: ``"constant"`` (zeros,
    ``numpy.pad``'s default and librosa >= 0.10's ``stft`` default) or ``"reflect"``
    (mirrored without repeating the edge sample, as ``numpy.pad(mode="reflect")`` and
    ``torch.nn.functional.pad(mode="reflect")``; each side must be shorter than the signal).

    >>> ember_nn.features.pad(ember.arange(1.0, 4.0), 2, 1, "reflect").tolist()
    [3.0, 2.0, 1.0, 2.0, 3.0, 2.0]
    """
    x = signal("pad", x)
    if isinstance(left, bool) or not isinstance(left, int) or left < 0 or \
            isinstance(right, bool) or not isinstance(right, int) or right < 0:
        raise ConfigError(f"pad: left and right must be ints >= 0, got {left!r} and {right!r}")
    if mode not in PAD_MODES:
        raise ConfigError(f"pad: mode must be one of {PAD_MODES}, got {mode!r}")
    if not left and not right:
        return x
    n = x.shape[-1]
    if mode == "constant":
        parts = [_zeros_like_axis(x, -1, left), x, _zeros_like_axis(x, -1, right)]
    else:
        if left >= n or right >= n:
            raise ember.ShapeError(f"pad: reflect padding of {left} and {right} samples needs a "
                                   f"signal longer than each, got {n} samples; use "
                                   f"mode='constant' or a longer signal")
        parts = [ember.flip(x[..., 1:left + 1], axis=-1), x,
                 ember.flip(x[..., n - 1 - right:n - 1], axis=-1)]
    return ember.concat([p for p in parts if p.shape[-1]], axis=-1)
