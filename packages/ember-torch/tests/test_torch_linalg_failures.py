"""torch linear algebra where no host read is possible: inside torch.func.vmap torch's own
checks run and still raise ember.LinAlgError; under torch.compile the check runs outside the
graph (docs/semantics.md, "Linear algebra failures")."""

import ember
import numpy as np
import pytest

SINGULAR = [[1.0, 2.0], [2.0, 4.0]]
I2 = [[1.0, 0.0], [0.0, 1.0]]
INDEFINITE = [[1.0, 2.0], [2.0, 1.0]]


@pytest.mark.parametrize("op, bad", [("inv", SINGULAR), ("cholesky", INDEFINITE)])
def test_vmap_still_raises_linalg_error(op, bad):
    with ember.use_backend("torch"), pytest.raises(ember.LinAlgError, match=rf"linalg\.{op}"):
        ember.vmap(getattr(ember.linalg, op))(ember.asarray([I2, bad]))


def test_vmap_solve_still_raises_linalg_error():
    with ember.use_backend("torch"), pytest.raises(ember.LinAlgError, match=r"linalg\.solve"):
        ember.vmap(ember.linalg.solve)(ember.asarray([I2, SINGULAR]), ember.ones((2, 2)))


def test_compiled_inv_raises_linalg_error():
    with ember.use_backend("torch"):
        f = ember.compile(lambda a: ember.linalg.inv(a) * 2.0)
        assert f(ember.asarray([[2.0, 0.0], [0.0, 1.0]])).tolist() == [[1.0, 0.0], [0.0, 2.0]]
        with pytest.raises(ember.LinAlgError, match=r"batch index \(1,\)"):
            f(ember.asarray([I2, SINGULAR]))


@pytest.mark.parametrize("how", ["plain", "compile", "vmap"])
def test_qr_of_nonfinite_matrix_is_nan_without_host_read(how):
    # the elementwise path (vmap, compile; CUDA) and the CPU host-read path give the same
    nan, inf = float("nan"), float("inf")
    x = [[[3.0, 1.0], [4.0, 2.0]], [[nan, 0.0], [0.0, 1.0]], [[1.0, 0.0], [inf, 1.0]]]
    fn = lambda a: tuple(ember.linalg.qr(a))  # noqa: E731
    with ember.use_backend("torch"):
        f = {"plain": fn, "compile": ember.compile(fn), "vmap": ember.vmap(fn)}[how]
        q, r = (t.numpy() for t in f(ember.asarray(x)))
    assert np.isnan(q[1:]).all() and np.isnan(r[1:][:, [0, 0, 1], [0, 1, 1]]).all()
    assert (r[1:, 1, 0] == 0).all()
    np.testing.assert_allclose(q[0] @ r[0], x[0], rtol=1e-6)
