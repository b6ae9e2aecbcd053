"""Public functions the catalogue names that had none before the topic map (issue 10):
``ember.nn.conv`` (N-d convolution, the ``nn.conv`` kernel) and ``ember.getitem``."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest


def _conv_reference(x: np.ndarray, w: np.ndarray, stride: tuple[int, ...],
                    pads: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Channels-last N-d cross-correlation, groups 1, dilation 1, by loops."""
    xp = np.pad(x, ((0, 0), *pads, (0, 0)))
    k = w.shape[1:-1]
    out_sp = tuple((xp.shape[1 + i] - k[i]) // stride[i] + 1 for i in range(len(k)))
    out = np.zeros((x.shape[0], *out_sp, w.shape[0]), np.float64)
    for pos in itertools.product(*(range(n) for n in out_sp)):
        win = xp[(slice(None), *(slice(p * s, p * s + kk) for p, s, kk in zip(pos, stride, k)))]
        out[(slice(None), *pos)] = np.tensordot(win, w, axes=(tuple(range(1, win.ndim)),
                                                               tuple(range(1, w.ndim))))
    return out


def test_nn_conv_3d_matches_reference(backend: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 5, 3, 2)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 2, 2)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    with ember.use_backend(backend):
        got = ember.nn.conv(ember.asarray(x), ember.asarray(w), ember.asarray(b), stride=(1, 2, 1),
                            padding=((1, 0), (1, 1), (0, 1)))
        want = _conv_reference(x, w, (1, 2, 1), ((1, 0), (1, 1), (0, 1))) + b
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-4)


def test_nn_conv_is_conv1d_and_conv2d(backend: str) -> None:
    rng = np.random.default_rng(1)
    with ember.use_backend(backend):
        x1 = ember.asarray(rng.standard_normal((2, 7, 3)).astype(np.float32))
        w1 = ember.asarray(rng.standard_normal((4, 3, 3)).astype(np.float32))
        np.testing.assert_allclose(ember.nn.conv(x1, w1, padding="causal").numpy(),
                                   ember.nn.conv1d(x1, w1, padding="causal").numpy(), rtol=1e-6)
        x2 = ember.asarray(rng.standard_normal((1, 5, 6, 2)).astype(np.float32))
        w2 = ember.asarray(rng.standard_normal((4, 3, 3, 1)).astype(np.float32))
        np.testing.assert_allclose(ember.nn.conv(x2, w2, padding="same", groups=2).numpy(),
                                   ember.nn.conv2d(x2, w2, padding="same", groups=2).numpy(),
                                   rtol=1e-6)


def test_nn_conv_needs_a_spatial_axis(backend: str) -> None:
    with ember.use_backend(backend), pytest.raises(ember.ShapeError, match="at least one spatial"):
        ember.nn.conv(ember.ones((2, 3)), ember.ones((4, 3)))


def test_getitem_is_indexing(backend: str) -> None:
    a = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    with ember.use_backend(backend):
        x = ember.asarray(a)
        key = (slice(None), ember.asarray([2, 0]), 1)
        np.testing.assert_array_equal(ember.getitem(x, key).numpy(), a[:, [2, 0], 1])
        np.testing.assert_array_equal(ember.getitem(x, (Ellipsis, -1)).numpy(), a[..., -1])
