"""ember_nn.mixers.sequence's long convolution (``fft_conv``) on every backend, by FFTs and by
the Toeplitz product ("direct"): against NumPy's convolution (values and gradients),
broadcasting, the automatic choice, errors, and MLX's complex64-only FFT."""

from __future__ import annotations

from typing import Any

import ember
import numpy as np
import pytest
from ember.testing import loadable_backends
from ember_nn.mixers.sequence import Hyena
from ember_nn.mixers.sequence._fft_conv import (
    DIRECT_MAX_LENGTH,
    _direct_pays,
    causal_conv_last,
    fft_conv,
)
from hyena_support import FFT64, _dtype, _np, _t, _tol, np_causal_conv

RNG = np.random.default_rng(15)
CPU_MAX = DIRECT_MAX_LENGTH["cpu"]
METHODS = ["fft", "direct", "auto"]


# -- fft_conv ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("taps", [1, 5, 7, 10])
def test_fft_conv_matches_direct_convolution(backend: str, taps: int, method: str) -> None:
    d, tol = _dtype(backend), _tol(backend)
    u, k, bias = RNG.standard_normal((2, 7, 3)), RNG.standard_normal((taps, 3)), \
        RNG.standard_normal(3)
    want = np_causal_conv(u, np.concatenate([k, np.zeros((7, 3))])[:7], bias)
    got = fft_conv(_t(u, d), _t(k, d), _t(bias, d), method=method)
    assert got.dtype is d and got.shape == u.shape
    np.testing.assert_allclose(_np(got), want, rtol=tol, atol=tol)
    np.testing.assert_allclose(_np(fft_conv(_t(u, d), _t(k, d), method=method)), want - bias * u,
                               rtol=tol, atol=tol)
    # the last position by the direct sum (what step runs)
    np.testing.assert_allclose(_np(causal_conv_last(_t(u, d), _t(k, d), _t(bias, d))),
                               want[:, -1], rtol=tol, atol=tol)


@pytest.mark.parametrize("method", METHODS)
def test_fft_conv_on_another_axis_broadcasts_the_filter(backend: str, method: str) -> None:
    d, tol = _dtype(backend), _tol(backend)
    u = RNG.standard_normal((2, 6, 3, 2, 2))
    k, bias = RNG.standard_normal((6, 3, 1, 1)), RNG.standard_normal((3, 1, 1))
    got = _np(fft_conv(_t(u, d), _t(k, d), _t(bias, d), axis=-4, method=method))
    flat = np.moveaxis(u, 1, -1).reshape(-1, 6)             # each (batch, g, i, j) signal
    taps = np.broadcast_to(np.moveaxis(k, 0, -1), (2, 3, 2, 2, 6)).reshape(-1, 6)
    want = np.stack([np.convolve(a, b)[:6] for a, b in zip(flat, taps, strict=True)])
    want = np.moveaxis(want.reshape(2, 3, 2, 2, 6), -1, 1) + u * bias
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("method", ["fft", "direct"])
def test_fft_conv_gradients(backend: str, method: str) -> None:
    """Through rfft/irfft (or the Toeplitz product's take and matmul) on the backend's tape:
    float64 finite differences where the FFT has float64, else the NumPy backend's
    (finite-difference checked) gradients."""
    u0, k0, b0 = RNG.standard_normal((2, 5, 2)), RNG.standard_normal((4, 2)), \
        RNG.standard_normal(2)
    g = RNG.standard_normal((2, 5, 2))

    def grads(d: Any) -> list[np.ndarray]:
        xs = [_t(a, d) for a in (u0, k0, b0)]
        with ember.GradientTape() as tape:
            for x in xs:
                tape.watch(x)
            loss = ember.sum(fft_conv(*xs, method=method) * _t(g, d))
        return [_np(a) for a in tape.gradient(loss, xs)]

    if backend in FFT64:
        got = grads(ember.float64)
        for i, a in enumerate((u0, k0, b0)):
            fd = np.zeros_like(a)
            for j in np.ndindex(a.shape):
                vals = []
                for h in (1e-6, -1e-6):
                    args = [u0, k0, b0]
                    args[i] = a.copy()
                    args[i][j] += h
                    k5 = np.concatenate([args[1], np.zeros((1, 2))])
                    vals.append(np.sum(np_causal_conv(args[0], k5, args[2]) * g))
                fd[j] = (vals[0] - vals[1]) / 2e-6
            np.testing.assert_allclose(got[i], fd, rtol=1e-6, atol=1e-8)
    else:
        got = grads(ember.float32)
        with ember.use_backend("numpy"):
            want = grads(ember.float64)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_fft_conv_errors(backend: str) -> None:
    u = ember.ones((1, 4, 2))
    with pytest.raises(ember.ArgumentError, match="axis must be a negative int"):
        fft_conv(u, ember.ones((4, 2)), axis=1)
    with pytest.raises(ember.ShapeError, match="axis -3 is outside"):
        fft_conv(u, ember.ones((4, 2)), axis=-3)
    with pytest.raises(ember.DTypeError, match="u must be real floating point"):
        fft_conv(ember.ones((1, 4, 2), dtype=ember.int32), ember.ones((4, 2)))
    with pytest.raises(ember.ShapeError, match="at least one position"):
        fft_conv(ember.ones((1, 0, 2)), ember.ones((4, 2)))
    with pytest.raises(ember.ArgumentError, match="method must be one of"):
        fft_conv(u, ember.ones((4, 2)), method="toeplitz")
    for method in ("fft", "direct"):
        with pytest.raises(ember.ShapeError, match=r"do not broadcast.*u \(3, 1\), k \(4, 1\)"):
            fft_conv(ember.ones((3, 1, 5)), ember.ones((4, 1, 5)), axis=-1, method=method)


@pytest.mark.parametrize(("signals", "length", "direct"), [
    ((4, 2), 8, True), ((2, 2), 8, False), ((CPU_MAX // 8, 8), CPU_MAX, True),
    ((CPU_MAX // 4, 8), 2 * CPU_MAX, False)])
def test_auto_takes_the_product_where_filters_are_shared_widely(
        signals: tuple[int, int], length: int, direct: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``auto``: the Toeplitz product when each filter has at least ``length`` signals and
    ``length <= DIRECT_MAX_LENGTH["cpu"]`` on a CPU (here 3 filters on axis 1, ``4 * 2`` or
    ``2 * 2`` signals each), else the FFTs; both give the same values."""
    from ember_nn.mixers.sequence import _fft_conv

    calls: list[str] = []
    real = _fft_conv._direct
    monkeypatch.setattr(_fft_conv, "_direct", lambda *a: calls.append("direct") or real(*a))
    u = RNG.standard_normal((signals[0], 3, signals[1], length)).astype(np.float32)
    k = RNG.standard_normal((3, 1, length)).astype(np.float32)
    with ember.use_backend("numpy"):
        got = _np(fft_conv(u, k, axis=-1))
        want = _np(fft_conv(u, k, axis=-1, method="fft"))
    assert calls == (["direct"] if direct else [])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.sqrt(length))
    if "mlx" in loadable_backends() and direct:   # MLX's CPU matmul is slow: the FFTs there
        with ember.use_backend("mlx"):
            np.testing.assert_allclose(_np(fft_conv(u, k, axis=-1)), want, rtol=1e-4,
                                       atol=1e-4 * np.sqrt(length))
        assert calls == ["direct"]


@pytest.mark.skipif("mlx" not in loadable_backends(), reason="MLX does not load here")
def test_float64_on_mlx_is_refused_by_its_fft() -> None:
    """The known gap: MLX has no complex128, so float64 Hyena layers cannot run there."""
    with ember.use_backend("mlx"), pytest.raises(ember.UnsupportedError, match="complex64"):
        Hyena(4, max_length=8, dtype=ember.float64, key=0)(ember.ones((1, 3, 4),
                                                                      dtype=ember.float64))


@pytest.mark.parametrize("method", ["fft", "direct"])
def test_tensors_of_another_backend_than_the_current_one(method: str) -> None:
    """Both methods make their constants (the zero taps, the Toeplitz index) on the inputs'
    backend, not the current one: torch tensors convolve under ``use_backend("numpy")``."""
    if "torch" not in loadable_backends():
        pytest.skip("needs ember-torch")
    u = RNG.standard_normal((2, 3, 6)).astype(np.float32)
    k = RNG.standard_normal((3, 4)).astype(np.float32)   # 4 taps: zero-extended to 6
    with ember.use_backend("torch"):
        ut, kt = ember.asarray(u), ember.asarray(k)
    with ember.use_backend("numpy"):
        y = fft_conv(ut, kt, axis=-1, method=method)
    assert y.backend == "torch"
    want = np.moveaxis(np_causal_conv(np.moveaxis(u, -1, 1), k.T), 1, -1)
    np.testing.assert_allclose(_np(y), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("backend", "device", "length", "signals", "direct"), [
    # a CPU: up to 1,024 taps, at least L signals a filter; never MLX's CPU
    ("torch", "cpu", 1024, 1024, True), ("torch", "cpu", 2048, 1 << 20, False),
    ("torch", "cpu", 256, 255, False), ("mlx", "cpu", 256, 1 << 20, False),
    # a GPU (benchmarks/fft_conv.py on an H100): up to 512 taps, at least 8 L signals a filter
    ("torch", "cuda:0", 256, 32768, True), ("torch", "cuda:0", 512, 4096, True),
    ("torch", "cuda:0", 1024, 32768, False), ("torch", "cuda:0", 128, 128, False),
    ("torch", "cuda:0", 256, 2047, False), ("mlx", "gpu", 256, 4096, True)])
def test_auto_rule_per_device(backend: str, device: str, length: int, signals: int,
                              direct: bool) -> None:
    """The measured crossover: a GPU's FFTs are cheap enough that the L² product pays only for
    shorter filters shared by more signals than on a CPU."""
    assert _direct_pays(backend, device, length, signals) is direct
