"""Audio features, part 1: windows, framing, padding, STFT/iSTFT, spectrograms and decibels,
against torch, librosa and numpy on every backend; gradients against finite differences."""

from __future__ import annotations

import doctest
import importlib

import ember
import ember_nn
import librosa
import numpy as np
import pytest
import scipy.signal
import torch
import torchaudio
from audio_support import check_finite_differences, signal, tape_gradient
from ember_nn._core._errors import ConfigError
from ember_nn.features import (
    amplitude_to_db,
    frame,
    get_window,
    istft,
    overlap_add,
    pad,
    power_to_db,
    spectrogram,
    stft,
)

pytestmark = pytest.mark.filterwarnings("ignore:A window was not provided",
                                        "ignore:The length of signal is shorter")
ATOL = 2e-5  # float32 FFT round-off on signals of unit size, n_fft <= 512


def close(a: object, b: object, atol: float = ATOL, rtol: float = 1e-5) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol, rtol=rtol)


# -- windows -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["hann", "hamming", "blackman"])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("n", [1, 2, 7, 400])
def test_windows_match_torch_and_scipy(backend: str, name: str, periodic: bool, n: int) -> None:
    w = get_window(name, n, periodic=periodic).numpy()
    ref = getattr(torch, f"{name}_window")(n, periodic=periodic, dtype=torch.float64).numpy()
    close(w, ref, atol=1e-7)
    close(w, scipy.signal.get_window(name, n, fftbins=periodic), atol=1e-7)
    assert w.dtype == np.float32


def test_window_aliases_dtype_and_errors(backend: str) -> None:
    close(get_window("boxcar", 3).numpy(), [1, 1, 1])
    w64 = get_window("hanning", 8, dtype=ember.float64).numpy()
    assert w64.dtype == np.float64
    close(w64, scipy.signal.get_window("hann", 8), atol=1e-15)
    with pytest.raises(ConfigError, match="unknown window 'kaiser'"):
        get_window("kaiser", 8)
    with pytest.raises(ConfigError, match="length must be a positive int, got 0"):
        get_window("hann", 0)
    with pytest.raises(ConfigError, match="dtype must be a real floating"):
        get_window("hann", 4, dtype=ember.int32)


# -- framing and padding -----------------------------------------------------------------------
@pytest.mark.parametrize(("n", "hop"), [(8, 2), (8, 8), (5, 7), (40, 1), (9, 4)])
def test_frame_matches_unfold_and_librosa(backend: str, n: int, hop: int) -> None:
    x = signal((2, 3, 50))
    got = frame(x, n, hop).numpy()
    close(got, torch.tensor(x).unfold(-1, n, hop).numpy(), atol=0)
    close(np.swapaxes(got, -1, -2), librosa.util.frame(x, frame_length=n, hop_length=hop),
          atol=0)


@pytest.mark.parametrize(("n", "hop"), [(8, 2), (8, 3), (5, 7), (6, 6), (4, 1)])
def test_overlap_add_matches_a_loop_and_fold(backend: str, n: int, hop: int) -> None:
    frames = signal((2, 6, n))
    want = np.zeros((2, 5 * hop + n), np.float32)
    for j in range(6):
        want[:, j * hop:j * hop + n] += frames[:, j]
    close(overlap_add(frames, hop).numpy(), want, atol=1e-6)
    folded = torch.nn.functional.fold(torch.tensor(frames).transpose(1, 2), (1, 5 * hop + n),
                                      (1, n), stride=(1, hop))
    close(overlap_add(frames, hop).numpy(), folded.reshape(2, -1).numpy(), atol=1e-6)


@pytest.mark.parametrize("mode", ["constant", "reflect"])
def test_pad_matches_numpy(backend: str, mode: str) -> None:
    x = signal((2, 10))
    close(pad(x, 4, 9, mode).numpy(), np.pad(x, ((0, 0), (4, 9)), mode=mode), atol=0)
    close(pad(x, 0, 3, mode).numpy(), np.pad(x, ((0, 0), (0, 3)), mode=mode), atol=0)


def test_framing_errors(backend: str) -> None:
    with pytest.raises(ember.ShapeError, match="fewer than one frame of frame_length=8"):
        frame(np.zeros(5, np.float32), 8, 2)
    with pytest.raises(ConfigError, match="hop_length must be a positive int, got 0"):
        frame(np.zeros(10, np.float32), 4, 0)
    with pytest.raises(ember.DTypeError, match=r"real floating tensor, got ember\.int32"):
        frame(ember.zeros((10,), dtype=ember.int32), 4, 2)
    with pytest.raises(ember.ShapeError, match="reflect padding of 10 and 10 samples"):
        pad(np.zeros(10, np.float32), 10, 10, "reflect")
    with pytest.raises(ConfigError, match="mode must be one of"):
        pad(np.zeros(10, np.float32), 1, 1, "edge")


# -- STFT --------------------------------------------------------------------------------------
STFT_CASES = [
    {"n_fft": 256, "hop_length": 64},
    {"n_fft": 200, "hop_length": 80, "win_length": 150},
    {"n_fft": 64, "hop_length": 3},
    {"n_fft": 128, "hop_length": 200},
    {"n_fft": 255},
]


@pytest.mark.parametrize("kw", STFT_CASES)
@pytest.mark.parametrize("pad_mode", ["constant", "reflect"])
@pytest.mark.parametrize("center", [True, False])
def test_stft_matches_torch_and_librosa(backend: str, kw: dict, pad_mode: str,
                                        center: bool) -> None:
    x = signal((2, 3, 1000))
    got = stft(x, **kw, pad_mode=pad_mode, center=center)
    assert got.dtype == ember.complex64 and got.shape[:2] == (2, 3)
    w = torch.hann_window(kw.get("win_length", kw["n_fft"]))
    ref = torch.stft(torch.tensor(x).reshape(6, -1), **kw, window=w, center=center,
                     pad_mode=pad_mode, return_complex=True).reshape(2, 3, *got.shape[2:])
    close(got.numpy(), ref.numpy())
    lib = librosa.stft(x, **kw, center=center, pad_mode=pad_mode)
    if center and pad_mode == "reflect" and kw.get("hop_length", 0) > kw["n_fft"]:
        # librosa >= 0.10 reflects the tail within its own last chunk when the hop passes
        # n_fft, so its last frame differs from reflecting the whole signal (torch, numpy.pad)
        got, lib = got[..., :-1], lib[..., :-1]
    close(got.numpy(), lib)


@pytest.mark.parametrize("window", [None, "hamming", "tensor"])
def test_stft_windows_normalized_and_twosided(backend: str, window: object) -> None:
    x = signal((1000,))
    tw = {None: None, "hamming": torch.hamming_window(100),
          "tensor": torch.tensor(np.linspace(0.1, 1.0, 100, dtype=np.float32))}[window]
    ours = np.linspace(0.1, 1.0, 100, dtype=np.float32) if window == "tensor" else window
    for normalized in (False, True):
        for onesided in (True, False):
            got = stft(x, 128, hop_length=32, win_length=100, window=ours,
                       normalized=normalized, onesided=onesided, pad_mode="reflect").numpy()
            ref = torch.stft(torch.tensor(x), 128, 32, 100, tw, normalized=normalized,
                             onesided=onesided, return_complex=True).numpy()
            close(got, ref)


def test_stft_errors(backend: str) -> None:
    x = np.zeros(1000, np.float32)
    with pytest.raises(ConfigError, match="win_length=300 must be at most n_fft=256"):
        stft(x, 256, win_length=300)
    with pytest.raises(ConfigError, match="pad_mode must be one of"):
        stft(x, 256, pad_mode="wrap")
    with pytest.raises(ember.ShapeError, match="window must be 1-d with win_length=256"):
        stft(x, 256, window=np.ones(100, np.float32))
    with pytest.raises(ember.ShapeError, match="fewer than n_fft=256"):
        stft(np.zeros(100, np.float32), 256, center=False)
    with pytest.raises(ConfigError, match="n_fft must be a positive int"):
        stft(x, 0)


def test_float64_stft_on_mlx_is_refused_elsewhere_exact(backend: str) -> None:
    x = signal((300,), dtype=np.float64)
    if backend == "mlx":
        with pytest.raises(ember.UnsupportedError, match="complex64 only"):
            stft(x, 64)
        return
    got = stft(x, 64, pad_mode="reflect")
    assert got.dtype == ember.complex128
    ref = torch.stft(torch.tensor(x), 64, window=torch.hann_window(64, dtype=torch.float64),
                     return_complex=True)
    close(got.numpy(), ref.numpy(), atol=1e-12)


# -- iSTFT -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{"n_fft": 256, "hop_length": 64},
                                {"n_fft": 200, "hop_length": 50, "win_length": 150},
                                {"n_fft": 128}])
@pytest.mark.parametrize("length", [None, 900, 1100])
def test_istft_matches_torch_and_inverts_stft(backend: str, kw: dict, length: int | None
                                              ) -> None:
    x = signal((2, 1000))
    spec = stft(x, **kw)
    w = torch.hann_window(kw.get("win_length", kw["n_fft"]))
    try:
        ref = torch.istft(torch.tensor(spec.numpy()), **kw, window=w, length=length).numpy()
    except RuntimeError:  # torch's NOLA check: the zero-padded window leaves a gap at the end
        with pytest.raises(ember.ArgumentError, match="NOLA"):
            istft(spec, **kw, length=length)
        return
    got = istft(spec, **kw, length=length).numpy()
    # past the signal's end (the padding) the window envelope falls towards 0 at the last
    # frame's edge, where dividing by it amplifies float32 round-off in torch's and ours alike
    ok = 1000 + kw["n_fft"] // 4
    close(got[..., :ok], ref[..., :ok])
    close(got[..., ok:], ref[..., ok:], atol=2e-3)
    n = min(1000, got.shape[-1])
    close(got[..., :n], x[..., :n], atol=1e-5)
    if length is not None:
        lib = librosa.istft(spec.numpy(), **kw, length=length)
        close(got[..., :ok], lib[..., :ok], atol=1e-5)


def test_istft_without_center_and_nola(backend: str) -> None:
    x = signal((1000,))
    spec = stft(x, 128, hop_length=32, window="hamming", center=False)
    got = istft(spec, 128, hop_length=32, window="hamming", center=False).numpy()
    ref = torch.istft(torch.tensor(spec.numpy()), 128, 32, window=torch.hamming_window(128),
                      center=False).numpy()
    close(got, ref)
    close(got, x[:got.shape[0]], atol=1e-5)
    spec = stft(x, 128, hop_length=32, center=False)
    with pytest.raises(ember.ArgumentError, match="window envelope falls to 0"):
        istft(spec, 128, hop_length=32, center=False)
    with pytest.raises(ember.ShapeError, match="spec has 65 frequencies, but n_fft=256"):
        istft(spec, 256)


def test_istft_two_sided_and_normalized(backend: str) -> None:
    x = signal((600,))
    spec = stft(x, 64, hop_length=16, normalized=True, onesided=False)
    got = istft(spec, 64, hop_length=16, normalized=True, onesided=False, length=600).numpy()
    close(got, x, atol=1e-5)


# -- spectrograms and decibels -----------------------------------------------------------------
@pytest.mark.parametrize("power", [1.0, 2.0, 1.5])
def test_spectrogram_matches_torchaudio_and_librosa(backend: str, power: float) -> None:
    x = signal((3, 800))
    got = spectrogram(x, 256, hop_length=100, power=power, pad_mode="reflect").numpy()
    ref = torchaudio.functional.spectrogram(
        torch.tensor(x), 0, torch.hann_window(256), 256, 100, 256, power, False,
        center=True, pad_mode="reflect").numpy()
    close(got, ref, rtol=2e-5, atol=1e-4)
    lib = np.abs(librosa.stft(x, n_fft=256, hop_length=100, pad_mode="reflect")) ** power
    close(got, lib, rtol=2e-5, atol=1e-4)
    assert got.dtype == np.float32
    with pytest.raises(ConfigError, match="power must be a positive number"):
        spectrogram(x, 256, power=0)


def test_power_and_amplitude_to_db_match_librosa(backend: str) -> None:
    s = np.abs(librosa.stft(signal((4000,)), n_fft=256)) ** 2
    s[3, :] = 0.0
    for kw in ({}, {"top_db": None}, {"top_db": 40.0, "amin": 1e-6}, {"ref": 2.5}):
        close(power_to_db(s, **kw).numpy(), librosa.power_to_db(s, **kw), atol=1e-4)
        close(amplitude_to_db(np.sqrt(s), **kw).numpy(),
              librosa.amplitude_to_db(np.sqrt(s), **kw), atol=1e-4)
    close(power_to_db(s, ref="max").numpy(), librosa.power_to_db(s, ref=np.max), atol=1e-4)
    close(amplitude_to_db(np.sqrt(s), ref="max").numpy(),
          librosa.amplitude_to_db(np.sqrt(s), ref=np.max), atol=1e-4)
    # torchaudio's AmplitudeToDB (top_db per item) on one spectrogram
    ta = torchaudio.transforms.AmplitudeToDB("power", top_db=80.0)(torch.tensor(s)).numpy()
    close(power_to_db(s).numpy(), ta, atol=1e-4)


def test_db_clips_each_spectrogram_at_its_own_maximum(backend: str) -> None:
    s = np.abs(librosa.stft(signal((2, 4000)), n_fft=256)) ** 2
    s[1] *= 1e-6  # 60 dB quieter: a batch-wide maximum would clip it all
    got = power_to_db(s).numpy()
    for i in range(2):
        close(got[i], librosa.power_to_db(s[i]), atol=1e-4)
    with pytest.raises(ConfigError, match="ref must be a positive number or 'max'"):
        power_to_db(s, ref="mean")
    with pytest.raises(ConfigError, match="amin must be a positive number, got 0"):
        power_to_db(s, amin=0)


# -- gradients ---------------------------------------------------------------------------------
def _float64(backend: str) -> None:
    if backend == "mlx":
        pytest.skip("MLX's FFT is complex64 only: float64 gradients are checked on numpy and "
                    "torch, MLX's float32 gradients against numpy's below")


def test_stft_gradient_matches_finite_differences(backend: str) -> None:
    _float64(backend)
    x = signal((2, 300), dtype=np.float64)

    def power(z: ember.Tensor) -> ember.Tensor:
        return spectrogram(z, 64, hop_length=24, pad_mode="reflect")

    check_finite_differences(power, x)
    check_finite_differences(lambda z: ember.real(stft(z, 50, win_length=40)), x)
    check_finite_differences(lambda z: spectrogram(z, 64, power=1.0), x)


def test_istft_gradient_matches_finite_differences(backend: str) -> None:
    _float64(backend)
    spec = librosa.stft(signal((300,), dtype=np.float64), n_fft=64, hop_length=16)
    re = np.stack([spec.real, spec.imag])

    def inverse(z: ember.Tensor) -> ember.Tensor:
        cplx = z[0].astype(ember.complex128) + z[1].astype(ember.complex128) * 1j
        return istft(cplx, 64, hop_length=16, length=290)

    check_finite_differences(inverse, re)


def test_db_gradient_matches_finite_differences(backend: str) -> None:
    _float64(backend)
    x = signal((2, 300), dtype=np.float64)
    check_finite_differences(lambda z: power_to_db(spectrogram(z, 64), top_db=200.0), x)


def test_window_gradient_reaches_a_variable_window(backend: str) -> None:
    x = ember.asarray(signal((400,)))
    w = ember.Variable(ember.asarray(np.hanning(64).astype(np.float32)))
    with ember.GradientTape() as tape:
        loss = ember.sum(spectrogram(x, 64, window=w))
    g = tape.gradient(loss, w)
    assert g is not None and g.shape == (64,) and float(ember.sum(ember.abs(g))) > 0


def test_float32_gradients_agree_with_numpy(backend: str) -> None:
    x = signal((2, 400))
    rng = np.random.default_rng(3)

    def fn(z: ember.Tensor) -> ember.Tensor:
        return amplitude_to_db(spectrogram(z, 128, hop_length=50, power=1.0), top_db=None)

    weights = rng.standard_normal((2, 65, 9)).astype(np.float32)
    got = tape_gradient(fn, x, weights)
    with ember.use_backend("numpy"):
        want = tape_gradient(fn, x, weights)
    # dB gradients scale as 1/|S|: compare to float32 round-off of the largest entry
    close(got, want, atol=1e-4 * np.abs(want).max(), rtol=1e-3)


@pytest.mark.parametrize("name", ["_windows", "_frames", "_stft", "_spectrogram"])
def test_docstring_examples(backend: str, name: str) -> None:
    module = importlib.import_module(f"ember_nn.features.{name}")
    result = doctest.testmod(module, extraglobs={"ember": ember, "ember_nn": ember_nn})
    assert result.attempted and not result.failed
