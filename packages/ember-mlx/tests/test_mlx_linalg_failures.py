"""MLX linear algebra where the checks cannot run (compile and vmap traces): a failed
evaluation must raise when read, never read as numbers (docs/semantics.md)."""

import ember
import numpy as np
import pytest

SINGULAR = [[1.0, 2.0], [2.0, 4.0]]


def test_failed_inv_under_compile_raises_when_read():
    with ember.use_backend("mlx"):
        f = ember.compile(lambda a: ember.linalg.inv(a) * 2.0)
        np.testing.assert_allclose(f(ember.asarray([[2.0, 0.0], [0.0, 1.0]])).numpy(),
                                   [[1.0, 0.0], [0.0, 2.0]])
        out = f(ember.asarray(SINGULAR))
        with pytest.raises(ember.EmberError, match="MLX failed to compute"):
            out.numpy()


def test_failed_inv_under_vmap_raises_when_read():
    with ember.use_backend("mlx"):
        out = ember.vmap(ember.linalg.inv)(ember.asarray([[[1.0, 0.0], [0.0, 1.0]], SINGULAR]))
        with pytest.raises(ember.EmberError, match="MLX failed to compute"):
            out.numpy()


def test_checked_inv_outside_traces_names_the_matrix():
    with ember.use_backend("mlx"), pytest.raises(ember.LinAlgError, match=r"batch index \(1,\)"):
        ember.linalg.inv(ember.asarray([[[1.0, 0.0], [0.0, 1.0]], SINGULAR]))


@pytest.mark.parametrize("how", ["plain", "compile", "vmap"])
def test_qr_of_nonfinite_matrix_is_nan_in_traces_too(how):
    # outside traces the factors are evaluated with a flag; inside, the NaNs are put elementwise
    nan, inf = float("nan"), float("inf")
    x = [[[3.0, 1.0], [4.0, 2.0]], [[nan, 0.0], [0.0, 1.0]], [[1.0, 0.0], [inf, 1.0]]]
    fn = lambda a: tuple(ember.linalg.qr(a))  # noqa: E731
    with ember.use_backend("mlx"):
        f = {"plain": fn, "compile": ember.compile(fn), "vmap": ember.vmap(fn)}[how]
        q, r = (t.numpy() for t in f(ember.asarray(x)))
    assert np.isnan(q[1:]).all() and np.isnan(r[1:][:, [0, 0, 1], [0, 1, 1]]).all()
    assert (r[1:, 1, 0] == 0).all()
    np.testing.assert_allclose(q[0] @ r[0], x[0], rtol=1e-6)
