"""Audio features, part 3: resampling against torchaudio, audio files through soundfile, and
the module shells (shapes, configs, errors) on every backend."""

from __future__ import annotations

import doctest
import importlib
import json
import sys
from pathlib import Path

import ember
import ember_nn
import numpy as np
import pytest
import soundfile
import torch
import torchaudio
from audio_support import check_finite_differences, signal, tape_gradient
from ember_nn._core._errors import ConfigError
from ember_nn.features import (
    MFCC,
    LogMel,
    MelSpectrogram,
    Resample,
    Spectrogram,
    log_mel_spectrogram,
    mfcc,
    read_audio,
    resample,
    spectrogram,
    write_audio,
)


def close(a: object, b: object, atol: float = 1e-5, rtol: float = 1e-5) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol, rtol=rtol)


# -- resampling --------------------------------------------------------------------------------
@pytest.mark.parametrize(("orig", "new"), [(44100, 16000), (16000, 44100), (16000, 8000),
                                           (8000, 16000), (48000, 44100), (3, 7)])
def test_resample_matches_torchaudio(backend: str, orig: int, new: int) -> None:
    x = signal((2, 3, 1237))
    got = resample(x, orig, new).numpy()
    ref = torchaudio.functional.resample(torch.tensor(x), orig, new).numpy()
    assert got.shape == ref.shape
    close(got, ref, atol=2e-6)


@pytest.mark.parametrize(("width", "rolloff"), [(16, 0.9), (3, 1.0)])
def test_resample_filter_settings_match_torchaudio(backend: str, width: int, rolloff: float
                                                   ) -> None:
    x = signal((500,))
    got = resample(x, 16000, 22050, lowpass_filter_width=width, rolloff=rolloff).numpy()
    ref = torchaudio.functional.resample(torch.tensor(x), 16000, 22050,
                                         lowpass_filter_width=width, rolloff=rolloff).numpy()
    close(got, ref, atol=2e-6)


def test_resample_float64_and_identity(backend: str) -> None:
    x = signal((300,), dtype=np.float64)
    if backend != "mlx":
        got = resample(x, 32000, 24000)
        assert got.dtype == ember.float64
        close(got.numpy(), torchaudio.functional.resample(torch.tensor(x), 32000, 24000),
              atol=1e-12)
    y = ember.asarray(signal((10,)))
    assert resample(y, 8000, 8000) is y


def test_resample_gradient(backend: str) -> None:
    if backend == "mlx":  # float32 there: agree with numpy's gradient instead
        x = signal((2, 200))
        w = np.random.default_rng(0).standard_normal((2, 134)).astype(np.float32)
        got = tape_gradient(lambda z: resample(z, 3000, 2000), x, w)
        with ember.use_backend("numpy"):
            want = tape_gradient(lambda z: resample(z, 3000, 2000), x, w)
        close(got, want, atol=1e-5)
        return
    check_finite_differences(lambda z: resample(z, 3000, 2000), signal((2, 200), dtype=np.float64))
    check_finite_differences(lambda z: resample(z, 2000, 4410), signal((150,), dtype=np.float64))


def test_resample_errors() -> None:
    x = np.zeros(100, np.float32)
    with pytest.raises(ConfigError, match=r"orig_freq must be a positive int, got 44100\.5"):
        resample(x, 44100.5, 16000)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"rolloff must be in \(0, 1\], got 1.5"):
        resample(x, 2, 1, rolloff=1.5)
    with pytest.raises(ConfigError, match="lowpass_filter_width must be a positive int"):
        resample(x, 2, 1, lowpass_filter_width=0)


# -- audio files -------------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [1, 2])
def test_read_audio_matches_soundfile(backend: str, tmp_path: Path, channels: int) -> None:
    data = (0.5 * signal((1000, channels))).clip(-1, 1)
    path = tmp_path / "x.wav"
    soundfile.write(path, data, 16000, subtype="FLOAT")
    x, sr = read_audio(path)
    assert sr == 16000 and x.dtype == ember.float32 and x.backend == backend
    want = data[:, 0] if channels == 1 else data.T
    assert x.shape == want.shape
    close(x.numpy(), want, atol=0)
    x2, _ = read_audio(str(path), always_2d=True)
    assert x2.shape == (channels, 1000)


def test_write_then_read_round_trips(backend: str, tmp_path: Path) -> None:
    x = ember.asarray(0.5 * signal((2, 800)))
    write_audio(tmp_path / "a.flac", x, 8000)
    y, sr = read_audio(tmp_path / "a.flac")
    assert sr == 8000 and y.shape == (2, 800)
    close(y.numpy(), x.numpy(), atol=1.0 / 2 ** 15)  # 16-bit PCM
    write_audio(tmp_path / "b.wav", x[0], 8000, subtype="FLOAT")
    z, _ = read_audio(tmp_path / "b.wav")
    close(z.numpy(), x[0].numpy(), atol=0)
    assert soundfile.info(str(tmp_path / "b.wav")).channels == 1


def test_audio_file_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileNotFoundError, match="no audio file at"):
        read_audio(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"not audio at all")
    with pytest.raises(ConfigError, match="soundfile cannot decode"):
        read_audio(tmp_path / "junk.wav")
    with pytest.raises(ember.ShapeError, match=r"\(samples,\) or \(channels, samples\)"):
        write_audio(tmp_path / "c.wav", ember.zeros((1, 2, 3)), 8000)
    with pytest.raises(ConfigError, match="sample_rate must be a positive int"):
        write_audio(tmp_path / "c.wav", ember.zeros((3,)), 0)
    monkeypatch.setitem(sys.modules, "soundfile", None)  # as if it were not installed
    with pytest.raises(ConfigError, match=r"pip install ember-nn\[audio\]"):
        read_audio(tmp_path / "junk.wav")
    with pytest.raises(ConfigError, match=r"pip install ember-nn\[audio\]"):
        write_audio(tmp_path / "c.wav", ember.zeros((3,)), 8000)


# -- modules -----------------------------------------------------------------------------------
def test_modules_compute_their_functions(backend: str) -> None:
    x = signal((2, 4000))
    kw = {"n_fft": 256, "hop_length": 100, "n_mels": 32}
    close(LogMel(8000, 256, 100, 32)(x).numpy(), log_mel_spectrogram(x, 8000, **kw).numpy(),
          atol=0)
    close(MelSpectrogram(8000, 256, 100, 32, power=1.0)(x).numpy(),
          ember_nn.features.mel_spectrogram(x, 8000, power=1.0, **kw).numpy(), atol=0)
    close(MFCC(8000, 256, 100, 32, n_mfcc=13, lifter=22)(x).numpy(),
          mfcc(x, 8000, n_mfcc=13, lifter=22, **kw).numpy(), atol=0)
    close(Spectrogram(256, hop_length=100, power=1.0)(x).numpy(),
          spectrogram(x, 256, hop_length=100, power=1.0).numpy(), atol=0)
    close(Resample(8000, 16000)(x).numpy(), resample(x, 8000, 16000).numpy(), atol=0)
    last = LogMel(8000, 256, 100, 32, channels_last=True)(x)
    close(last.numpy(), np.swapaxes(log_mel_spectrogram(x, 8000, **kw).numpy(), -1, -2), atol=0)
    assert last.shape == (2, 41, 32)


@pytest.mark.parametrize("module", [
    LogMel(16000, 512, 160, 40, channels_last=True, top_db=None, mel_scale="htk", norm=None),
    MelSpectrogram(22050), MFCC(16000, 400, 200, 64, n_mfcc=20, pad_mode="reflect"),
    Spectrogram(128, window="hamming", center=False), Resample(44100, 16000, rolloff=0.95)])
def test_module_configs_round_trip(module: ember_nn.Module) -> None:
    data = json.loads(json.dumps(ember_nn.serialize(module)))
    again = ember_nn.deserialize(data)
    assert type(again) is type(module) and again.get_config() == module.get_config()
    assert type(module).from_config(module.get_config()).get_config() == module.get_config()
    assert module.num_parameters() == 0 and module.variables == []
    x = ember.asarray(signal((1, 2000)))
    close(again(x).numpy(), module(x).numpy(), atol=0)


def test_module_errors_at_construction() -> None:
    with pytest.raises(ConfigError, match="window must be one of"):
        LogMel(16000, window="kaiser")
    with pytest.raises(ConfigError, match="win_length=600 must be at most n_fft=512"):
        MelSpectrogram(16000, 512, win_length=600)
    with pytest.raises(ConfigError, match="f_max <= sample_rate / 2"):
        LogMel(16000, f_max=12000.0)
    with pytest.raises(ConfigError, match=r"n_mfcc must be an int in \[1, n_mels=40\]"):
        MFCC(16000, n_mels=40, n_mfcc=41)
    with pytest.raises(ConfigError, match="channels_last must be True or False"):
        Spectrogram(256, channels_last="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="new_freq must be a positive int"):
        Resample(16000, 0)


def test_log_mel_trains_a_model_gradient(backend: str) -> None:
    """A LogMel front end inside a model: gradients reach the layer after it."""
    feats = LogMel(8000, 256, 128, 16, channels_last=True, top_db=None)
    dense = ember_nn.Dense(16, 1, key=0)
    x = ember.asarray(signal((4, 2000)))
    with ember.GradientTape() as tape:
        loss = ember.mean(dense(feats(x)) ** 2)
    grads = tape.gradient(loss, dense.trainable_variables)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)


@pytest.mark.parametrize("name", ["_resample", "_audio_io", "_modules"])
def test_docstring_examples(backend: str, name: str) -> None:
    module = importlib.import_module(f"ember_nn.features.{name}")
    result = doctest.testmod(module, extraglobs={"ember": ember, "ember_nn": ember_nn})
    assert result.attempted and not result.failed
