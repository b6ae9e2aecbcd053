"""The DCT-II and mel-frequency cepstral coefficients.

``mfcc`` follows ``librosa.feature.mfcc``: the DCT-II (orthonormal) of the log-mel spectrogram
in decibels (``power_to_db`` with ``top_db=80``), first ``n_mfcc`` coefficients, optional
liftering. ``torchaudio.transforms.MFCC`` computes the same from its own defaults: pass
``n_mfcc=40, n_fft=400, pad_mode="reflect", mel_scale="htk", norm=None`` (and its
``melkwargs``) to match it; its ``log_mels=True`` (natural log of mel + 1e-6) is
``dct(ember.log(mel_spectrogram(...) + 1e-6), axis=-2)``.
"""

from __future__ import annotations

import math
from typing import Any

import ember

from .._core._errors import ConfigError
from ._mel import log_mel_spectrogram
from ._support import constant, positive_int

__all__ = ["dct", "mfcc"]

_NORMS = ("ortho", None)


def _dct_matrix(n_in: int, n_out: int, norm: str | None) -> list[float]:
    """The (n_in, n_out) DCT-II matrix, row-major: x @ M is scipy.fft.dct(x, norm=norm)."""
    out = []
    for i in range(n_in):
        for k in range(n_out):
            v = math.cos(math.pi * k * (2 * i + 1) / (2 * n_in))
            if norm == "ortho":
                v *= math.sqrt((1.0 if k == 0 else 2.0) / n_in)
            else:
                v *= 2.0
            out.append(v)
    return out


def dct(x: Any, *, n_out: int | None = None, axis: int = -1, norm: str | None = "ortho"
        ) -> ember.Tensor:
    """The type-II discrete cosine transform along ``axis``, its first ``n_out`` coefficients
    (default: all): ``y_k = s_k sum_n x_n cos(pi k (2n + 1) / 2N)`` as
    ``scipy.fft.dct(x, type=2, norm=norm, axis=axis)[..., :n_out]``; ``norm="ortho"``
    (``s_0 = sqrt(1/N)``, else ``sqrt(2/N)``: torchaudio's ``create_dct(n_out, N, "ortho")``)
    or ``None`` (``s_k = 2``, scipy's default). A matrix product, so it differentiates.

    >>> [round(v, 4) for v in ember_nn.features.dct(ember.asarray([1.0, 2.0, 3.0])).tolist()]
    [3.4641, -1.4142, 0.0]
    """
    x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
    if not x.dtype.is_floating or x.dtype.is_complex:
        raise ember.DTypeError(f"dct: x must be a real floating tensor, got {x.dtype}")
    if x.ndim == 0:
        raise ember.ShapeError("dct: x needs at least one axis")
    if norm not in _NORMS:
        raise ConfigError(f"dct: norm must be 'ortho' or None, got {norm!r}")
    if isinstance(axis, bool) or not isinstance(axis, int) or not -x.ndim <= axis < x.ndim:
        raise ConfigError(f"dct: axis must be an int in [-{x.ndim}, {x.ndim}), got {axis!r}")
    n_in = x.shape[axis]
    n_out = n_in if n_out is None else positive_int("dct", "n_out", n_out)
    if n_out > n_in:
        raise ConfigError(f"dct: n_out={n_out} is more than the {n_in} inputs on axis {axis}")
    m = constant(_dct_matrix, (n_in, n_out, norm), (n_in, n_out), x.dtype, x.backend, x.device)
    moved = axis not in (-1, x.ndim - 1)
    y = ember.matmul(ember.moveaxis(x, axis, -1) if moved else x, m)
    return ember.moveaxis(y, -1, axis) if moved else y


def mfcc(x: Any, sample_rate: float, *, n_mfcc: int = 20, lifter: float = 0.0,
         dct_norm: str | None = "ortho", n_fft: int = 2048, hop_length: int | None = None,
         win_length: int | None = None, window: Any = "hann", center: bool = True,
         pad_mode: str = "constant", n_mels: int = 128, f_min: float = 0.0,
         f_max: float | None = None, mel_scale: str = "slaney", norm: str | None = "slaney",
         top_db: float | None = 80.0) -> ember.Tensor:
    """Mel-frequency cepstral coefficients ``(..., n_mfcc, n_frames)`` of signals
    ``(..., samples)``: ``dct(log_mel_spectrogram(x, ...), axis=-2)[..., :n_mfcc, :]``, then
    with ``lifter > 0`` coefficient ``k`` times ``1 + lifter / 2 sin(pi (k + 1) / lifter)``;
    ``librosa.feature.mfcc(y=x, sr=sample_rate, n_mfcc=..., lifter=..., n_fft=..., ...)``.

    Arguments: ``n_mfcc`` coefficients (at most ``n_mels``), ``lifter`` (0: none),
    ``dct_norm`` (``dct``'s norm); the rest are ``log_mel_spectrogram``'s (``ref=1``,
    ``amin=1e-10`` as librosa's and torchaudio's).

    >>> x = ember.sin(ember.arange(16000.0) * 0.2)
    >>> ember_nn.features.mfcc(x, 16000, n_mfcc=13, n_fft=512, hop_length=160,
    ...                        n_mels=40).shape
    (13, 101)
    """
    positive_int("mfcc", "n_mfcc", n_mfcc)
    if isinstance(lifter, bool) or not isinstance(lifter, int | float) or lifter < 0:
        raise ConfigError(f"mfcc: lifter must be a number >= 0 (0: no liftering), "
                          f"got {lifter!r}")
    if n_mfcc > n_mels:
        raise ConfigError(f"mfcc: n_mfcc={n_mfcc} must be at most n_mels={n_mels}")
    db = log_mel_spectrogram(x, sample_rate, n_fft=n_fft, hop_length=hop_length,
                             win_length=win_length, window=window, center=center,
                             pad_mode=pad_mode, n_mels=n_mels, f_min=f_min, f_max=f_max,
                             mel_scale=mel_scale, norm=norm, top_db=top_db)
    out = dct(db, n_out=n_mfcc, axis=-2, norm=dct_norm)
    if lifter > 0:
        lift = [1.0 + lifter / 2.0 * math.sin(math.pi * (k + 1) / lifter) for k in range(n_mfcc)]
        out = out * ember.asarray([[v] for v in lift], dtype=out.dtype, backend=out.backend,
                                  device=out.device)
    return out
