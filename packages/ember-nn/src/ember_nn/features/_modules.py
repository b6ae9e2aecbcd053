"""Module shells over the feature functions, for models and pipelines: no variables, their
configs round-trip (``get_config``/``from_config``, ``ember_nn.serialize``)."""

from __future__ import annotations

import inspect
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from ._mel import log_mel_spectrogram, mel_filterbank, mel_spectrogram
from ._mfcc import mfcc
from ._resample import check_resample, resample
from ._spectrogram import spectrogram
from ._stft import _sizes
from ._windows import WINDOWS

__all__ = ["MFCC", "LogMel", "MelSpectrogram", "Resample", "Spectrogram"]


def _check_common(name: str, n_fft: int, hop_length: int | None, win_length: int | None,
                  window: Any, channels_last: Any) -> None:
    """Fail at construction, not at the first batch: sizes, a window name, the layout flag."""
    _sizes(name, n_fft, hop_length, win_length)
    if window is not None and (not isinstance(window, str) or window.lower() not in WINDOWS):
        raise ConfigError(f"{name}: window must be one of {WINDOWS} or None in a module (a "
                          f"config holds names, not tensors), got {window!r}")
    if not isinstance(channels_last, bool):
        raise ConfigError(f"{name}: channels_last must be True or False, got "
                          f"{channels_last!r}")


def _layout(y: ember.Tensor, channels_last: bool) -> ember.Tensor:
    return ember.matrix_transpose(y) if channels_last else y


class _Feature(Module):
    channels_last: bool

    def extra_repr(self) -> str:
        """Positional arguments, and keyword ones that differ from their defaults."""
        params = list(inspect.signature(type(self).__init__).parameters.values())[1:]
        return ", ".join(f"{p.name}={self._config[p.name]!r}" for p in params
                         if p.name in self._config and (p.kind is not p.KEYWORD_ONLY
                                                        or self._config[p.name] != p.default))


class Spectrogram(_Feature):
    """``spectrogram`` as a module: ``(..., samples)`` to ``(..., n_freqs, n_frames)``, or
    ``(..., n_frames, n_freqs)`` with ``channels_last=True`` (the ``(N, L, C)`` layout of
    ember_nn's Conv1d and recurrent layers).

    >>> ember_nn.features.Spectrogram(256, hop_length=128)(ember.ones((2, 1000))).shape
    (2, 129, 8)
    """

    def __init__(self, n_fft: int = 2048, *, hop_length: int | None = None,
                 win_length: int | None = None, window: str | None = "hann",
                 center: bool = True, pad_mode: str = "constant", power: float = 2.0,
                 channels_last: bool = False) -> None:
        super().__init__()
        _check_common("Spectrogram", n_fft, hop_length, win_length, window, channels_last)
        self.kwargs: dict[str, Any] = {"hop_length": hop_length, "win_length": win_length, "window": window,
                       "center": center, "pad_mode": pad_mode, "power": power}
        self.n_fft, self.channels_last = n_fft, channels_last

    def forward(self, x: Any) -> ember.Tensor:
        return _layout(spectrogram(x, self.n_fft, **self.kwargs), self.channels_last)


class MelSpectrogram(_Feature):
    """``mel_spectrogram`` as a module (librosa's defaults; ``channels_last`` as
    ``Spectrogram``'s). The mel filters are built on first use per backend and cached.

    >>> m = ember_nn.features.MelSpectrogram(16000, 512, 160, 40)
    >>> m(ember.zeros((3, 16000))).shape
    (3, 40, 101)
    """

    def __init__(self, sample_rate: float, n_fft: int = 2048, hop_length: int | None = None,
                 n_mels: int = 128, *, win_length: int | None = None,
                 window: str | None = "hann", center: bool = True, pad_mode: str = "constant",
                 power: float = 2.0, f_min: float = 0.0, f_max: float | None = None,
                 mel_scale: str = "slaney", norm: str | None = "slaney",
                 channels_last: bool = False) -> None:
        super().__init__()
        _check_common(type(self).__name__, n_fft, hop_length, win_length, window,
                      channels_last)
        mel_filterbank(sample_rate, n_fft, n_mels=n_mels, f_min=f_min, f_max=f_max,
                       mel_scale=mel_scale, norm=norm)  # checks the filter arguments
        self.sample_rate, self.channels_last = sample_rate, channels_last
        self.kwargs: dict[str, Any] = {
            "n_fft": n_fft, "hop_length": hop_length, "win_length": win_length,
            "window": window, "center": center, "pad_mode": pad_mode, "n_mels": n_mels,
            "f_min": f_min, "f_max": f_max, "mel_scale": mel_scale, "norm": norm}
        self.power = power

    def forward(self, x: Any) -> ember.Tensor:
        y = mel_spectrogram(x, self.sample_rate, power=self.power, **self.kwargs)
        return _layout(y, self.channels_last)


class LogMel(MelSpectrogram):
    """``log_mel_spectrogram`` as a module: log-mel features in dB (``power_to_db`` with
    ``ref``, ``amin`` and ``top_db``; librosa's defaults), ``channels_last`` as
    ``Spectrogram``'s.

    >>> feats = ember_nn.features.LogMel(16000, 512, 160, 40, channels_last=True)
    >>> feats(ember.zeros((3, 16000))).shape
    (3, 101, 40)
    >>> ember_nn.deserialize(ember_nn.serialize(feats)).get_config() == feats.get_config()
    True
    """

    def __init__(self, sample_rate: float, n_fft: int = 2048, hop_length: int | None = None,
                 n_mels: int = 128, *, win_length: int | None = None,
                 window: str | None = "hann", center: bool = True, pad_mode: str = "constant",
                 f_min: float = 0.0, f_max: float | None = None, mel_scale: str = "slaney",
                 norm: str | None = "slaney", ref: float | str = 1.0, amin: float = 1e-10,
                 top_db: float | None = 80.0, channels_last: bool = False) -> None:
        super().__init__(sample_rate, n_fft, hop_length, n_mels, win_length=win_length,
                         window=window, center=center, pad_mode=pad_mode, f_min=f_min,
                         f_max=f_max, mel_scale=mel_scale, norm=norm,
                         channels_last=channels_last)
        self.db: dict[str, Any] = {"ref": ref, "amin": amin, "top_db": top_db}

    def forward(self, x: Any) -> ember.Tensor:
        y = log_mel_spectrogram(x, self.sample_rate, **self.kwargs, **self.db)
        return _layout(y, self.channels_last)


class MFCC(MelSpectrogram):
    """``mfcc`` as a module (librosa's defaults), ``channels_last`` as ``Spectrogram``'s.

    >>> ember_nn.features.MFCC(16000, 512, 160, 40, n_mfcc=13)(ember.zeros((16000,))).shape
    (13, 101)
    """

    def __init__(self, sample_rate: float, n_fft: int = 2048, hop_length: int | None = None,
                 n_mels: int = 128, *, n_mfcc: int = 20, lifter: float = 0.0,
                 win_length: int | None = None, window: str | None = "hann",
                 center: bool = True, pad_mode: str = "constant", f_min: float = 0.0,
                 f_max: float | None = None, mel_scale: str = "slaney",
                 norm: str | None = "slaney", top_db: float | None = 80.0,
                 channels_last: bool = False) -> None:
        super().__init__(sample_rate, n_fft, hop_length, n_mels, win_length=win_length,
                         window=window, center=center, pad_mode=pad_mode, f_min=f_min,
                         f_max=f_max, mel_scale=mel_scale, norm=norm,
                         channels_last=channels_last)
        if isinstance(n_mfcc, bool) or not isinstance(n_mfcc, int) or not 1 <= n_mfcc <= n_mels:
            raise ConfigError(f"MFCC: n_mfcc must be an int in [1, n_mels={n_mels}], "
                              f"got {n_mfcc!r}")
        self.extra: dict[str, Any] = {"n_mfcc": n_mfcc, "lifter": lifter, "top_db": top_db}

    def forward(self, x: Any) -> ember.Tensor:
        y = mfcc(x, self.sample_rate, **self.extra, **self.kwargs)
        return _layout(y, self.channels_last)


class Resample(_Feature):
    """``resample`` as a module: ``(..., samples)`` at ``orig_freq`` to ``new_freq``.

    >>> ember_nn.features.Resample(16000, 8000)(ember.zeros((2, 1600))).shape
    (2, 800)
    """

    def __init__(self, orig_freq: int, new_freq: int, *, lowpass_filter_width: int = 6,
                 rolloff: float = 0.99) -> None:
        super().__init__()
        check_resample("Resample", orig_freq, new_freq, lowpass_filter_width, rolloff)
        self.orig_freq, self.new_freq = orig_freq, new_freq
        self.lowpass_filter_width, self.rolloff = lowpass_filter_width, rolloff

    def forward(self, x: Any) -> ember.Tensor:
        return resample(x, self.orig_freq, self.new_freq,
                        lowpass_filter_width=self.lowpass_filter_width, rolloff=self.rolloff)
