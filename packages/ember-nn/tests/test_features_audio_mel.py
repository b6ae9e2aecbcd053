"""Audio features, part 2: mel scales and filter banks, mel and log-mel spectrograms, the DCT
and MFCCs, against librosa, torchaudio and scipy on every backend; gradients against finite
differences."""

from __future__ import annotations

import doctest
import importlib

import ember
import ember_nn
import librosa
import numpy as np
import pytest
import scipy.fft
import torch
import torchaudio
from audio_support import check_finite_differences, signal, tape_gradient
from ember_nn._core._errors import ConfigError
from ember_nn.features import (
    dct,
    hz_to_mel,
    log_mel_spectrogram,
    mel_filterbank,
    mel_spectrogram,
    mel_to_hz,
    mfcc,
)


def close(a: object, b: object, atol: float = 1e-5, rtol: float = 1e-5) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol, rtol=rtol)


# -- mel scales and filter banks ---------------------------------------------------------------
@pytest.mark.parametrize("scale", ["slaney", "htk"])
def test_mel_scales_match_librosa_and_invert(scale: str) -> None:
    for f in (0.0, 100.0, 999.0, 1000.0, 1234.5, 8000.0, 22050.0):
        m = hz_to_mel(f, scale)
        assert m == pytest.approx(float(librosa.hz_to_mel(f, htk=scale == "htk")), rel=1e-12)
        assert mel_to_hz(m, scale) == pytest.approx(f, abs=1e-9)
    with pytest.raises(ConfigError, match="mel_scale must be one of"):
        hz_to_mel(1.0, "bark")


@pytest.mark.parametrize("scale", ["slaney", "htk"])
@pytest.mark.parametrize("norm", ["slaney", None])
@pytest.mark.parametrize(("sr", "n_fft", "n_mels", "f_min", "f_max"),
                         [(16000, 512, 40, 0.0, None), (22050, 2048, 128, 20.0, 8000.0),
                          (8000, 256, 23, 100.0, 3800.0)])
def test_mel_filterbank_matches_librosa(backend: str, scale: str, norm: str | None, sr: int,
                                        n_fft: int, n_mels: int, f_min: float,
                                        f_max: float | None) -> None:
    got = mel_filterbank(sr, n_fft, n_mels=n_mels, f_min=f_min, f_max=f_max, mel_scale=scale,
                         norm=norm)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max,
                              htk=scale == "htk", norm=norm)
    assert got.shape == ref.shape and got.dtype == ember.float32
    close(got.numpy(), ref, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("scale", ["slaney", "htk"])
@pytest.mark.parametrize("norm", ["slaney", None])
def test_mel_filterbank_is_torchaudios_transposed(backend: str, scale: str,
                                                  norm: str | None) -> None:
    got = mel_filterbank(16000, 400, n_mels=64, f_min=50.0, mel_scale=scale, norm=norm,
                         dtype=ember.float64 if backend != "mlx" else None).numpy()
    ref = torchaudio.functional.melscale_fbanks(201, 50.0, 8000.0, 64, 16000, norm, scale)
    # torchaudio builds its filters in float32 (mel points near 8 kHz off by ~5e-4 Hz)
    close(got.T, ref.numpy(), atol=1e-5 if norm is None else 1e-7, rtol=1e-5)


def test_mel_filterbank_errors() -> None:
    with pytest.raises(ConfigError, match=r"f_max <= sample_rate / 2 = 8000\.0"):
        mel_filterbank(16000, 512, f_max=9000.0)
    with pytest.raises(ConfigError, match="norm must be None or 'slaney'"):
        mel_filterbank(16000, 512, norm="l2")
    with pytest.raises(ConfigError, match="sample_rate must be a positive number"):
        mel_filterbank(0, 512)


# -- mel and log-mel spectrograms --------------------------------------------------------------
def test_mel_spectrogram_matches_librosa(backend: str) -> None:
    x = signal((2, 4000))
    for kw in ({"n_fft": 512, "hop_length": 160, "n_mels": 40},
               {"n_fft": 256, "hop_length": 100, "n_mels": 32, "power": 1.0, "f_min": 30.0,
                "pad_mode": "reflect", "mel_scale": "htk", "norm": None}):
        got = mel_spectrogram(x, 16000, **kw).numpy()
        lib_kw = {k: v for k, v in kw.items() if k not in ("mel_scale", "f_min")}
        ref = librosa.feature.melspectrogram(y=x, sr=16000, fmin=kw.get("f_min", 0.0),
                                             htk=kw.get("mel_scale") == "htk", **lib_kw)
        close(got, ref, atol=1e-4, rtol=1e-4)


def test_mel_spectrogram_matches_torchaudio(backend: str) -> None:
    x = signal((3, 4000))
    ta = torchaudio.transforms.MelSpectrogram(16000, n_fft=400, n_mels=64)  # its defaults
    got = mel_spectrogram(x, 16000, n_fft=400, hop_length=200, n_mels=64, pad_mode="reflect",
                          mel_scale="htk", norm=None).numpy()
    close(got, ta(torch.tensor(x)).numpy(), atol=1e-4, rtol=1e-4)


def test_log_mel_matches_librosa_per_item(backend: str) -> None:
    x = signal((2, 4000))
    x[1] *= 1e-3  # 60 dB quieter: top_db must clip each item at its own maximum
    got = log_mel_spectrogram(x, 16000, n_fft=512, hop_length=128, n_mels=40).numpy()
    for i in range(2):
        ref = librosa.power_to_db(librosa.feature.melspectrogram(
            y=x[i], sr=16000, n_fft=512, hop_length=128, n_mels=40))
        close(got[i], ref, atol=2e-4, rtol=1e-5)


# -- DCT and MFCC ------------------------------------------------------------------------------
@pytest.mark.parametrize("norm", ["ortho", None])
def test_dct_matches_scipy_and_torchaudio(backend: str, norm: str | None) -> None:
    x = signal((3, 40, 7))
    close(dct(x, axis=-2, norm=norm).numpy(), scipy.fft.dct(x, type=2, norm=norm, axis=-2),
          atol=1e-4)
    close(dct(x, n_out=5, norm=norm).numpy(),
          scipy.fft.dct(x, type=2, norm=norm, axis=-1)[..., :5], atol=1e-4)
    if norm == "ortho":
        m = torchaudio.functional.create_dct(13, 40, "ortho").numpy()  # (n_mels, n_mfcc)
        close(dct(np.swapaxes(x, -1, -2), n_out=13).numpy(), np.swapaxes(x, -1, -2) @ m,
              atol=1e-5)
    with pytest.raises(ConfigError, match="n_out=50 is more than the 7 inputs"):
        dct(x, n_out=50)
    with pytest.raises(ConfigError, match="norm must be 'ortho' or None"):
        dct(x, norm="forward")


@pytest.mark.parametrize("lifter", [0.0, 22.0])
def test_mfcc_matches_librosa(backend: str, lifter: float) -> None:
    x = signal((4000,))
    got = mfcc(x, 16000, n_mfcc=13, lifter=lifter, n_fft=512, hop_length=160, n_mels=40)
    ref = librosa.feature.mfcc(y=x, sr=16000, n_mfcc=13, lifter=lifter, n_fft=512,
                               hop_length=160, n_mels=40)
    assert got.shape == ref.shape == (13, 26)
    close(got.numpy(), ref, atol=2e-3, rtol=1e-5)  # dB values ~ 1e2 to 1e3: float32


def test_mfcc_matches_torchaudio(backend: str) -> None:
    x = signal((2, 4000))
    ta = torchaudio.transforms.MFCC(16000, n_mfcc=20, melkwargs={"n_fft": 400, "n_mels": 64})
    got = mfcc(x, 16000, n_mfcc=20, n_fft=400, hop_length=200, n_mels=64, pad_mode="reflect",
               mel_scale="htk", norm=None).numpy()
    for i in range(2):  # torchaudio's top_db maximum spans the batch axis of a 2-d input
        close(got[i], ta(torch.tensor(x[i])).numpy(), atol=2e-3, rtol=1e-5)


def test_batched_features_equal_one_at_a_time(backend: str) -> None:
    x = signal((2, 3, 2000))
    got = mfcc(x, 16000, n_mfcc=13, n_fft=256, n_mels=32).numpy()
    assert got.shape == (2, 3, 13, 32)
    for i in range(2):
        for j in range(3):
            close(got[i, j], mfcc(x[i, j], 16000, n_mfcc=13, n_fft=256, n_mels=32).numpy(),
                  atol=1e-4)


def test_mfcc_errors() -> None:
    with pytest.raises(ConfigError, match="n_mfcc=50 must be at most n_mels=40"):
        mfcc(np.zeros(4000, np.float32), 16000, n_mfcc=50, n_mels=40)
    with pytest.raises(ConfigError, match="lifter must be a number >= 0"):
        mfcc(np.zeros(4000, np.float32), 16000, lifter=-1)


# -- gradients ---------------------------------------------------------------------------------
def test_mel_and_mfcc_gradients_match_finite_differences(backend: str) -> None:
    if backend == "mlx":
        pytest.skip("MLX's FFT is complex64 only: its float32 gradients are checked against "
                    "numpy's below")
    x = signal((2, 400), dtype=np.float64)
    check_finite_differences(lambda z: mel_spectrogram(z, 8000, n_fft=128, hop_length=50,
                                                        n_mels=16), x)
    check_finite_differences(lambda z: mfcc(z, 8000, n_mfcc=8, n_fft=128, hop_length=50,
                                            n_mels=16, lifter=10.0, top_db=None), x)


def test_log_mel_float32_gradients_agree_with_numpy(backend: str) -> None:
    x = signal((2, 800))

    def fn(z: ember.Tensor) -> ember.Tensor:
        return log_mel_spectrogram(z, 8000, n_fft=128, hop_length=64, n_mels=20, top_db=None)

    weights = np.random.default_rng(0).standard_normal((2, 20, 13)).astype(np.float32)
    got = tape_gradient(fn, x, weights)
    with ember.use_backend("numpy"):
        want = tape_gradient(fn, x, weights)
    close(got, want, atol=1e-4 * np.abs(want).max(), rtol=1e-3)


@pytest.mark.parametrize("name", ["_mel", "_mfcc"])
def test_docstring_examples(backend: str, name: str) -> None:
    module = importlib.import_module(f"ember_nn.features.{name}")
    result = doctest.testmod(module, extraglobs={"ember": ember, "ember_nn": ember_nn})
    assert result.attempted and not result.failed
