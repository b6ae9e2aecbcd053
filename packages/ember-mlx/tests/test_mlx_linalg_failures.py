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


_ITERATIVE = {
    "svdvals": (lambda a: ember.linalg.svdvals(a), lambda a: (np.linalg.svd(a, compute_uv=False),)),
    "eigvalsh": (lambda a: ember.linalg.eigvalsh(a), lambda a: (np.linalg.eigvalsh(a),)),
    "matrix_norm-2": (lambda a: ember.linalg.matrix_norm(a, ord=2),
                      lambda a: (np.linalg.norm(a, ord=2),)),
    "svd": (lambda a: tuple(ember.linalg.svd(a)), lambda a: tuple(np.linalg.svd(a))),
    "eigh": (lambda a: tuple(ember.linalg.eigh(a)), lambda a: tuple(np.linalg.eigh(a))),
}


@pytest.mark.parametrize("how", ["compile", "vmap"])
@pytest.mark.parametrize("op", sorted(_ITERATIVE))
def test_iterative_factorisations_of_nonfinite_matrices_are_nan_in_traces(op, how):
    # LAPACK never sees the NaN/inf matrices (it may iterate forever on them); inside traces,
    # where nothing is checked, their results are NaN and the finite matrix's are exact
    nan, inf = float("nan"), float("inf")
    good = [[2.0, 1.0], [1.0, 3.0]]
    x = [good, [[nan, 0.0], [0.0, 1.0]], [[1.0, inf], [inf, 1.0]]]
    fn, ref = _ITERATIVE[op]

    def wrap(a):
        out = fn(a)
        return out if isinstance(out, tuple) else (out,)

    with ember.use_backend("mlx"):
        outs = [t.numpy() for t in {"compile": ember.compile, "vmap": ember.vmap}[how](wrap)(
            ember.asarray(x))]
    for got, want in zip(outs, ref(np.array(good)), strict=True):
        assert np.isnan(got[1:]).all()
        if got.ndim == 3 and op in ("svd", "eigh"):  # vectors up to sign
            got, want = np.abs(got[0]), np.abs(want)
        else:
            got = got[0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", sorted(_ITERATIVE))
def test_iterative_factorisations_name_the_nonfinite_matrix(op):
    x = [[[2.0, 1.0], [1.0, 3.0]], [[float("nan"), 0.0], [0.0, 1.0]]]
    with ember.use_backend("mlx"), pytest.raises(ember.LinAlgError,
                                                 match=r"NaN or infinite.*batch index \(1,\)"):
        _ITERATIVE[op][0](ember.asarray(x))
