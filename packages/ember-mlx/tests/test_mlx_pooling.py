"""MLX pooling's reshape path (windows that do not overlap) against the strided-view path it
replaces, values and gradients, on shapes that do not divide into whole windows."""

from __future__ import annotations

import mlx.core as mx
import numpy as np
import pytest
from ember_mlx.kernels import pooling
from ember_mlx.kernels._windows import pad, windows


def _strided(kind, x, window, stride, padding):  # type: ignore[no-untyped-def]
    d = len(window)
    axes = tuple(range(1 + d, 1 + 2 * d))
    if kind == "max":
        return mx.max(windows(pad(x, padding, -np.inf), window, stride), axis=axes)
    return mx.mean(windows(pad(x, padding, 0), window, stride), axis=axes)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(("shape", "window", "padding"), [
    ((2, 7, 3), (2,), ((0, 0),)),
    ((2, 9, 6, 3), (3, 2), ((0, 0), (0, 0))),
    ((1, 5, 5, 2), (2, 2), ((1, 0), (0, 1))),
    ((2, 4, 5, 6, 1), (2, 2, 3), ((0, 0), (0, 0), (0, 0))),
])
def test_reshape_windows_match_the_strided_view(kind, shape, window, padding) -> None:  # type: ignore[no-untyped-def]
    x = mx.array(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    if kind == "max":
        def ours(a):  # type: ignore[no-untyped-def]
            return pooling.nn_max_pool(a, window, window, padding)
    else:
        def ours(a):  # type: ignore[no-untyped-def]
            return pooling.nn_avg_pool(a, window, window, padding, None)

    def theirs(a):  # type: ignore[no-untyped-def]
        return _strided(kind, a, window, window, padding)

    np.testing.assert_allclose(np.array(ours(x)), np.array(theirs(x)), rtol=1e-6)
    g_ours = mx.grad(lambda a: mx.sum(ours(a) ** 2))(x)
    g_theirs = mx.grad(lambda a: mx.sum(theirs(a) ** 2))(x)
    np.testing.assert_allclose(np.array(g_ours), np.array(g_theirs), rtol=1e-6, atol=1e-7)
