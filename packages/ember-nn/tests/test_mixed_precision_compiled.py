"""bf16-mixed as one compiled program (``compile_step(..., mixed_precision=mp)``, which
``Trainer(compile=True, precision="bf16-mixed")`` uses): the same steps as the eager
``MixedPrecision.step`` (float32 masters and optimiser state; forward and backward on the
bfloat16 copy, which the program casts from the masters), BatchNorm statistics included, the
eager fallback, and the refusals (fp16-mixed, another model's helper)."""

from __future__ import annotations

import warnings

import ember
import ember_nn
import numpy as np
import pytest

TOL = {"torch": 5e-3, "mlx": 1e-5}  # inductor fuses bfloat16 arithmetic in float32


def _skip_without_bf16(backend: str) -> None:
    if ember.bfloat16 not in ember.load_backend(backend).to_native_dtype:
        pytest.skip(f"{backend} has no bfloat16")


def _data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 6)).astype(np.float32), rng.integers(0, 3, n)


def _model(norm: bool = False) -> ember_nn.Module:
    with ember_nn.seeded(0):
        if norm:
            return ember_nn.Sequential(ember_nn.Dense(6, 16), ember_nn.BatchNorm(16),
                                       ember_nn.Dense(16, 3))
        return ember_nn.MLP(6, [16], 3, activation="gelu")


def _loss(model: ember_nn.Module):  # type: ignore[no-untyped-def]
    def loss(x: ember.Tensor, y: ember.Tensor) -> ember.Tensor:
        logits = ember.astype(model(x), ember.float32)
        return ember.nn.cross_entropy(logits, y)
    return loss


def _state(m: ember_nn.Module) -> dict[str, np.ndarray]:
    return {k: ember.astype(v, ember.float32).numpy() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("norm", [False, True], ids=["mlp", "batchnorm"])
def test_compiled_bf16_mixed_steps_are_the_eager_ones(backend: str, norm: bool) -> None:
    _skip_without_bf16(backend)
    x, y = _data()
    runs = []
    for compiled in (False, True):
        model = _model(norm)
        # SGD with BatchNorm: the bias before it has a gradient of zero plus bfloat16 noise,
        # which Adam would turn into full-size steps of either sign
        opt = ember_nn.SGD(0.05) if norm else ember_nn.Adam(1e-2)
        mp = ember_nn.MixedPrecision(model, opt, "bf16-mixed")
        loss = _loss(mp.compute_model)
        step = ember_nn.compile_step(model, loss, opt, mixed_precision=mp) if compiled else None
        losses = []
        for i in range(0, 64, 16):
            xb = ember.astype(ember.asarray(x[i:i + 16]), ember.bfloat16)
            yb = ember.asarray(y[i:i + 16])
            out = step(xb, yb) if step is not None else mp.step(
                lambda _m, a, b, loss=loss: loss(a, b), xb, yb)
            losses.append(float(out))
        runs.append((_state(model), losses, model, mp, step))
    (want, want_losses, *_), (got, got_losses, model, mp, step) = runs
    assert step.stats.traces == 1 and step.stats.fallback is None
    assert all(v.dtype is ember.float32 for v in model.variables)  # the masters
    assert all(v.dtype is ember.bfloat16 for v in mp.compute_model.variables
               if v.dtype.is_floating)
    np.testing.assert_allclose(got_losses, want_losses, rtol=TOL[backend], atol=TOL[backend])
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=10 * TOL[backend],
                                   atol=10 * TOL[backend], err_msg=k)
    # the compute copy holds the masters cast down after every step
    for (_, master), (_, comp) in zip(model.named_variables(),
                                      mp.compute_model.named_variables(), strict=True):
        np.testing.assert_array_equal(ember.astype(comp, ember.float32).numpy(),
                                      ember.astype(ember.astype(master, comp.dtype),
                                                   ember.float32).numpy())


def test_trainer_compiles_the_whole_bf16_mixed_step(backend: str) -> None:
    _skip_without_bf16(backend)
    x, y = _data()
    histories = []
    for compiled in (False, True):
        trainer = ember_nn.Trainer(_model(), ember_nn.Adam(1e-2), precision="bf16-mixed",
                                   loss="sparse_categorical_cross_entropy", compile=compiled,
                                   progress=False)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ember.CompileWarning)
            histories.append(trainer.fit(x, y, epochs=3, batch_size=16, shuffle=False)["loss"])
    assert trainer.compiled_step is not None and trainer.compiled_step.mixed is not None
    assert trainer.compiled_step.stats.traces == 1
    np.testing.assert_allclose(histories[1], histories[0], rtol=TOL[backend])


def test_the_eager_fallback_is_the_mixed_step(backend: str) -> None:
    """A Dropout layer in training mode cannot be compiled: the step runs MixedPrecision.step
    (bfloat16 forward) and says so once."""
    _skip_without_bf16(backend)
    with ember_nn.seeded(0):
        model = ember_nn.Sequential(ember_nn.Dense(6, 8), ember_nn.Dropout(0.5),
                                    ember_nn.Dense(8, 3))
    opt = ember_nn.SGD(0.1)
    mp = ember_nn.MixedPrecision(model, opt, "bf16-mixed")
    step = ember_nn.compile_step(model, _loss(mp.compute_model), opt, mixed_precision=mp)
    x, y = _data(8)
    before = _state(model)["layers.0.weight"]
    with pytest.warns(ember.CompileWarning, match="Dropout"):
        step(ember.astype(ember.asarray(x), ember.bfloat16), ember.asarray(y))
    assert not np.array_equal(_state(model)["layers.0.weight"], before)
    assert opt.step == 1


def test_refusals(backend: str) -> None:
    model, other = _model(), _model()
    opt = ember_nn.SGD(0.1)
    mp_other = ember_nn.MixedPrecision(other, opt, "fp16-mixed" if backend == "numpy"
                                       else "bf16-mixed")
    with pytest.raises(ember.ArgumentError, match="the MixedPrecision of this model"):
        ember_nn.compile_step(model, _loss(model), opt, mixed_precision=mp_other)
    if ember.float16 in ember.load_backend(backend).to_native_dtype:
        mp16 = ember_nn.MixedPrecision(model, opt, "fp16-mixed")
        with pytest.raises(ember_nn.ConfigError, match="fp16-mixed's dynamic loss scaling"):
            ember_nn.compile_step(model, _loss(mp16.compute_model), opt, mixed_precision=mp16)
