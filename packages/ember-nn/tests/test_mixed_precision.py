"""Mixed precision: ``Trainer(precision=...)``, ``MixedPrecision`` and ``LossScaler`` on every
backend: float32 masters and optimiser state, low-precision activations, a bf16 run that tracks
the float32 one, float16 loss scaling against ``torch.amp.GradScaler``, checkpoints of the
masters, the config file's ``precision`` key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn.pipelines._run import read_config, train_from_config

MIXED = ["bf16-mixed", "fp16-mixed"]
LOW = {"bf16-mixed": "bfloat16", "fp16-mixed": "float16"}


def _has(backend: str, dtype: str) -> bool:
    return getattr(ember, dtype) in ember.load_backend(backend).to_native_dtype


def _skip_without(backend: str, precision: str) -> None:
    if not _has(backend, LOW[precision]):
        pytest.skip(f"{backend} has no {LOW[precision]} (test_numpy_has_no_bf16_mixed)")


def _f32(t: ember.Tensor) -> np.ndarray:
    """NumPy float32 values of any float tensor (NumPy has no bfloat16)."""
    return ember.astype(ember.stop_gradient(t), ember.float32).numpy()


def _available(backend: str) -> str:
    """bf16-mixed where the backend has bfloat16, else fp16-mixed (NumPy)."""
    return "bf16-mixed" if _has(backend, "bfloat16") else "fp16-mixed"


def _regression(n: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = np.stack([np.sin(x[:, 0]) + x[:, 1] * x[:, 2], x[:, 3] ** 2 - 0.5], 1)
    return x, y.astype(np.float32)


class _ActivationSpy(ember_nn.Module):  # a leading _ keeps it out of the config registry
    """Identity that records the dtype of what flows through it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        self.seen.append(x.dtype.name)
        return x


def _spied_model(seed: int = 0) -> ember_nn.Sequential:
    with ember_nn.seeded(seed):
        return ember_nn.Sequential(ember_nn.Dense(4, 32, activation="gelu"), _ActivationSpy(),
                                   ember_nn.Dense(32, 2))


def _mlp(seed: int = 0) -> ember_nn.Module:
    with ember_nn.seeded(seed):
        return ember_nn.MLP(4, [32], 2, activation="gelu")


# -- what lives and computes in which precision --------------------------------------------------
@pytest.mark.parametrize("precision", MIXED)
def test_masters_and_optimiser_state_stay_float32_while_activations_are_low(
        backend: str, precision: str) -> None:
    _skip_without(backend, precision)
    low = LOW[precision]
    x, y = _regression()
    model, opt = _spied_model(), ember_nn.Adam(1e-2)
    trainer = ember_nn.Trainer(model, opt, precision=precision, progress=False)
    before = {k: v.numpy().copy() for k, v in model.named_variables()}
    h = trainer.fit(x, y, epochs=2, batch_size=32)
    mp = trainer.mixed_precision
    assert mp is not None and trainer.precision == precision
    assert {v.dtype.name for v in model.variables} == {"float32"}        # the masters
    assert {v.dtype.name for v in mp.compute_model.variables} == {low}   # the compute copy
    slots = opt.state_dict()["slots"]
    assert slots and {t.dtype.name for s in slots.values() for t in s.values()} == {"float32"}
    skipped = mp.skipped_steps  # float16: the first steps at 2**16 may overflow, as in torch
    assert opt.step + skipped == 8  # 128 / 32 * 2 epochs
    # the forward passes ran on the low-precision copy: its spy saw low activations, the
    # master model's spy saw none
    spy = mp.compute_model.layers[1]
    assert set(spy.seen) == {low} and len(spy.seen) == 8 and model.layers[1].seen == []
    assert trainer.predict(x).dtype.name == low
    # the masters moved, and the compute copy is exactly their cast
    assert any(not np.array_equal(before[k], v.numpy()) for k, v in model.named_variables())
    for (_, m), (_, c) in zip(model.named_variables(), mp.compute_model.named_variables(),
                              strict=True):
        np.testing.assert_array_equal(_f32(ember.astype(ember.stop_gradient(m),
                                                        getattr(ember, low))), _f32(c))
    if precision == "fp16-mixed":
        assert sum(h["skipped_steps"]) == skipped < 4
        assert h["loss_scale"][-1] == 65536.0 / 2 ** skipped
    else:
        assert "skipped_steps" not in h and mp.scaler is None and mp.loss_scale is None


def test_bf16_mixed_loss_tracks_the_float32_run(backend: str) -> None:
    _skip_without(backend, "bf16-mixed")
    x, y = _regression(256)
    runs = {}
    for precision in ("32", "bf16-mixed"):
        trainer = ember_nn.Trainer(_mlp(), ember_nn.Adam(1e-2), precision=precision, seed=3,
                                   progress=False)
        runs[precision] = np.array(trainer.fit(x, y, epochs=8, batch_size=32)["loss"])
    ref, mixed = runs["32"], runs["bf16-mixed"]
    assert ref[-1] < 0.5 * ref[0]  # it learns
    # bfloat16 keeps ~3 significant digits: each epoch's loss within 5% of float32's
    np.testing.assert_allclose(mixed, ref, rtol=0.05)


def test_fp16_mixed_loss_tracks_the_float32_run(backend: str) -> None:
    x, y = _regression(256)
    runs = {}
    for precision in ("32", "fp16-mixed"):
        trainer = ember_nn.Trainer(_mlp(), ember_nn.Adam(1e-2), precision=precision, seed=3,
                                   progress=False)
        runs[precision] = np.array(trainer.fit(x, y, epochs=8, batch_size=32)["loss"])
    np.testing.assert_allclose(runs["fp16-mixed"], runs["32"], rtol=0.01)


def test_batchnorm_running_statistics_reach_the_float32_model(backend: str) -> None:
    precision = _available(backend)
    x, y = _regression()
    with ember_nn.seeded(0):
        model = ember_nn.Sequential(ember_nn.Dense(4, 8), ember_nn.BatchNorm(8),
                                    ember_nn.Dense(8, 2))
    trainer = ember_nn.Trainer(model, ember_nn.SGD(0.05), precision=precision, progress=False)
    trainer.fit(x, y, epochs=1, batch_size=64)
    bn_master = model.layers[1]
    bn_compute = trainer.mixed_precision.compute_model.layers[1]  # type: ignore[union-attr]
    assert bn_master.running_mean.dtype is ember.float32
    mean = bn_master.running_mean.numpy()
    assert np.abs(mean).max() > 0  # updated from zeros by the compute copy's forward passes
    np.testing.assert_array_equal(mean, _f32(bn_compute.running_mean))


# -- float16 loss scaling ------------------------------------------------------------------------
def _overflowing_loss(factor: float):  # type: ignore[no-untyped-def]
    """A float32 loss whose gradients overflow float16 when factor is huge (1e30) and fit it
    at the scale 2**16 when it is small (1e-3)."""
    def loss_fn(m: ember_nn.Module, x: ember.Tensor) -> ember.Tensor:
        return ember.mean(ember.astype(m(x), ember.float32) ** 2) * factor
    return loss_fn


def _fp16_helper(growth_interval: int = 2000) -> tuple[ember_nn.Module, Any, Any, ember.Tensor]:
    model = ember_nn.Dense(3, 2, key=0)
    opt = ember_nn.SGD(0.1)
    mp = ember_nn.MixedPrecision(model, opt, "fp16-mixed",
                                 scaler=ember_nn.LossScaler(growth_interval=growth_interval))
    x = ember.astype(ember.reshape(ember.arange(12.0), (4, 3)) / 10, ember.float16)
    return model, opt, mp, x


def test_an_overflow_skips_the_step_halves_the_scale_and_keeps_the_masters(backend: str) -> None:
    model, opt, mp, x = _fp16_helper()
    before = {k: v.numpy().copy() for k, v in model.named_variables()}
    compute_before = {k: v.numpy().copy() for k, v in mp.compute_model.named_variables()}
    loss = mp.step(_overflowing_loss(1e30), x)
    assert np.isfinite(float(loss))  # the float32 loss itself is finite; its fp16 grads are not
    assert mp.last_step_skipped and mp.skipped_steps == 1
    assert mp.loss_scale == 32768.0 and opt.step == 0
    for k, v in model.named_variables():
        np.testing.assert_array_equal(v.numpy(), before[k])
    for k, v in mp.compute_model.named_variables():
        np.testing.assert_array_equal(v.numpy(), compute_before[k])
    mp.step(_overflowing_loss(1e-3), x)  # an ordinary step updates
    assert not mp.last_step_skipped and opt.step == 1 and mp.loss_scale == 32768.0
    assert not np.array_equal(model.weight.numpy(), before["weight"])


def test_the_update_uses_the_unscaled_gradient(backend: str) -> None:
    """One SGD step of fp16-mixed moves the weights as the float32 step does, to float16's
    precision: the scale (2**16) is divided out before the update."""
    model, _, mp, x = _fp16_helper()
    mp.optimizer.learning_rate = 100.0
    ref = ember_nn.Dense(3, 2, key=0)
    before = {k: v.numpy().copy() for k, v in ref.named_variables()}
    _, grads = ember_nn.value_and_grad(ref, lambda: _overflowing_loss(1e-3)(
        ref, ember.astype(x, ember.float32)))()
    ember_nn.SGD(100.0).update(ref, grads)
    mp.step(_overflowing_loss(1e-3), x)
    assert not mp.last_step_skipped
    for (k, a), (_, b) in zip(model.named_variables(), ref.named_variables(), strict=True):
        moved, want = a.numpy() - before[k], b.numpy() - before[k]
        assert np.abs(want).max() > 1e-2
        np.testing.assert_allclose(moved, want, rtol=1e-2, atol=2e-3 * np.abs(want).max())


def test_the_scale_grows_after_growth_interval_good_steps(backend: str) -> None:
    _, opt, mp, x = _fp16_helper(growth_interval=3)
    scales = []
    for factor in [1e-3, 1e-3, 1e-3, 1e30, 1e-3, 1e-3, 1e-3, 1e-3]:
        mp.step(_overflowing_loss(factor), x)
        scales.append(mp.loss_scale)
    s = 65536.0
    assert scales == [s, s, 2 * s, s, s, s, 2 * s, 2 * s]
    assert mp.skipped_steps == 1 and opt.step == 7


def test_the_scale_sequence_matches_torch_grad_scaler(backend: str) -> None:
    torch = pytest.importorskip("torch")
    pattern = [False, False, True, False, False, False, True, True, False, False, False, False,
               False, True, False, False, False]
    _, opt, mp, x = _fp16_helper(growth_interval=3)
    ours = []
    for overflow in pattern:
        mp.step(_overflowing_loss(1e30 if overflow else 1e-3), x)
        ours.append(mp.loss_scale)
    p = torch.nn.Parameter(torch.ones(3))
    topt = torch.optim.SGD([p], lr=0.1)
    scaler = torch.amp.GradScaler("cpu", growth_interval=3)
    theirs = []
    for overflow in pattern:
        topt.zero_grad()
        loss = (p * (1e35 if overflow else 1.0)).sum()  # x 2**16: inf in float32
        scaler.scale(loss).backward()
        scaler.step(topt)
        scaler.update()
        theirs.append(scaler.get_scale())
    assert ours == theirs
    assert mp.skipped_steps == sum(pattern) and opt.step == len(pattern) - sum(pattern)


def test_trainer_counts_skipped_steps_in_the_history(backend: str) -> None:
    x, y = _regression(64)
    trainer = ember_nn.Trainer(_mlp(), ember_nn.SGD(0.01), precision="fp16-mixed",
                               loss=lambda p, t: ember.mean((p - t) ** 2) * 1e30,
                               progress=False)
    h = trainer.fit(x, y, epochs=2, batch_size=32)
    # every step overflows: two skipped steps an epoch, the scale halving each time
    assert h["skipped_steps"] == [2.0, 2.0] and h["loss_scale"] == [16384.0, 4096.0]
    assert trainer.optimizer.step == 0


def test_loss_scaler_state_round_trip_and_checks() -> None:
    s = ember_nn.LossScaler(growth_interval=2)
    for overflow in [False, True, False]:
        s.update(found_inf=overflow)
    t = ember_nn.LossScaler().load_state_dict(json.loads(json.dumps(s.state_dict())))
    assert t.state_dict() == s.state_dict() == {
        "scale": 32768.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2,
        "growth_tracker": 1, "skipped_steps": 1}
    t.update(found_inf=False)
    assert t.scale == 65536.0
    for bad, match in [({"init_scale": 0.0}, "init_scale"), ({"growth_factor": 1.0}, "> 1"),
                       ({"backoff_factor": 1.5}, "< 1"), ({"growth_interval": 0}, "positive")]:
        with pytest.raises(ember_nn.ConfigError, match=match):
            ember_nn.LossScaler(**bad)
    with pytest.raises(ember_nn.StateError, match="expected the keys"):
        t.load_state_dict({"scale": 1.0})


# -- configuration errors ------------------------------------------------------------------------
def test_numpy_has_no_bf16_mixed() -> None:
    with ember.use_backend("numpy"):
        with pytest.raises(ember_nn.ConfigError,
                           match=r"bfloat16, which backend 'numpy' .*fp16-mixed.*torch and mlx"):
            ember_nn.Trainer(_mlp(), ember_nn.SGD(0.1), precision="bf16-mixed")
        trainer = ember_nn.Trainer(_mlp(), ember_nn.SGD(0.1), precision="fp16-mixed",
                                   progress=False)  # float16 works on NumPy
        assert trainer.mixed_precision.compute_model.layers[0].weight.dtype is ember.float16


def test_bad_precision_options_are_errors(backend: str) -> None:
    with pytest.raises(ember_nn.ConfigError, match=r"precision must be one of .*'bf16'"):
        ember_nn.Trainer(_mlp(), ember_nn.SGD(0.1), precision="bf16")
    with pytest.raises(ember_nn.ConfigError, match="not both"):
        ember_nn.Trainer(_mlp(), ember_nn.SGD(0.1), dtype="float16", precision="fp16-mixed")
    with pytest.raises(ember_nn.ConfigError, match="scaler is for precision='fp16-mixed'"):
        ember_nn.MixedPrecision(_mlp(), ember_nn.SGD(0.1), "32", scaler=ember_nn.LossScaler())
    half = _mlp().to(dtype=ember.float16)
    with pytest.raises(ember_nn.ConfigError, match=r"float32 master weights.*float16"):
        ember_nn.MixedPrecision(half, ember_nn.SGD(0.1), "fp16-mixed")
    with pytest.raises(ember_nn.ConfigError, match="no optimizer"):
        ember_nn.MixedPrecision(_mlp(), None, "fp16-mixed").step(
            lambda m: ember.sum(m.layers[0].weight))


def test_a_hand_written_loop_with_mixed_precision(backend: str) -> None:
    precision = _available(backend)
    x, y = _regression(64)
    model = _mlp()
    mp = ember_nn.MixedPrecision(model, ember_nn.Adam(1e-2), precision)
    xs, ys = ember.astype(ember.asarray(x), mp.compute_dtype), ember.asarray(y)

    def loss_fn(m: ember_nn.Module, xb: ember.Tensor, yb: ember.Tensor) -> Any:
        pred = ember.astype(m(xb), ember.float32)
        return ember_nn.mse(pred, yb), pred

    losses = []
    for _ in range(20):
        loss, pred = mp.step(loss_fn, xs, ys, has_aux=True)
        losses.append(float(loss))
    assert pred.dtype is ember.float32 and losses[-1] < 0.7 * losses[0]
    assert mp.optimizer.step == 20 and model.layers[0].weight.dtype is ember.float32


# -- checkpoints ---------------------------------------------------------------------------------
def test_checkpoints_hold_the_float32_masters_and_resume(backend: str, tmp_path: Path) -> None:
    precision = _available(backend)
    x, y = _regression(96)

    def trainer(model: ember_nn.Module, opt: Any, callbacks: Any = ()) -> Any:
        return ember_nn.Trainer(model, opt, precision=precision, callbacks=list(callbacks),
                                progress=False)

    full = trainer(_mlp(), ember_nn.Adam(1e-2))
    h_full = full.fit(x, y, epochs=3, batch_size=32, shuffle=False)

    ck_path = tmp_path / "ckpt"
    first = trainer(_mlp(), ember_nn.Adam(1e-2), [ember_nn.ModelCheckpoint(ck_path)])
    first.fit(x, y, epochs=2, batch_size=32, shuffle=False)
    ck = ember_nn.load_checkpoint(ck_path)
    # float32 weights equal to the masters, and optimiser slots in float32
    assert {v.dtype.name for v in ck.model.variables} == {"float32"}
    for (k, a), (_, b) in zip(ck.model.named_variables(), first.model.named_variables(),
                              strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert ck.step == first.optimizer.step and ck.extra["mixed_precision"]["precision"] == precision
    slots = ck.optimizer.state_dict()["slots"]
    assert {t.dtype.name for s in slots.values() for t in s.values()} == {"float32"}
    # it loads into a float32 model and evaluates as the masters do
    plain = ember_nn.Trainer(_mlp(seed=9), None, progress=False)
    ember_nn.load_weights(plain.model, ck_path)
    assert plain.evaluate(x, y) == ember_nn.Trainer(first.model, None, progress=False).evaluate(x, y)
    np.testing.assert_allclose(plain.evaluate(x, y)["loss"], first.evaluate(x, y)["loss"],
                               rtol=0.05)  # the mixed trainer evaluates in the low precision
    # resuming continues the run: the third epoch as in the uninterrupted one
    resumed = trainer(ck.model, ck.optimizer)
    resumed.mixed_precision.load_state_dict(ck.extra["mixed_precision"])
    h_rest = resumed.fit(x, y, epochs=1, batch_size=32, shuffle=False)
    np.testing.assert_allclose(h_rest["loss"], h_full["loss"][2:], rtol=1e-5)
    for (k, a), (_, b) in zip(resumed.model.named_variables(), full.model.named_variables(),
                              strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


def test_sync_after_loading_weights_into_the_master_model(backend: str, tmp_path: Path) -> None:
    precision = _available(backend)
    x, y = _regression(32)
    other = _mlp(seed=5)
    ember_nn.save(other, tmp_path / "w")
    trainer = ember_nn.Trainer(_mlp(), ember_nn.SGD(0.1), precision=precision, progress=False)
    ember_nn.load_weights(trainer.model, tmp_path / "w")
    # evaluate casts the new masters into the compute copy first
    ref = ember_nn.Trainer(other, None, precision=precision, progress=False)
    assert trainer.evaluate(x, y) == ref.evaluate(x, y)


# -- the config file -----------------------------------------------------------------------------
def _run_config(tmp_path: Path, training: dict[str, Any]) -> dict[str, Any]:
    (tmp_path / "make.py").write_text(
        "def load():\n"
        "    xs = [[float(i % 2), 1.0 - (i % 2)] for i in range(40)]\n"
        "    return xs, [i % 2 for i in range(40)]\n")
    return {"data": {"source": "python", "loader": "make.py:load", "scale": "none"},
            "model": {"class": "MLP", "in_features": 2, "hidden": [8], "out_features": 2},
            "optimizer": {"class": "Adam", "learning_rate": 0.05},
            "training": {"epochs": 15, "batch_size": 8, "metrics": ["accuracy"],
                         "loss": "sparse_categorical_cross_entropy", **training},
            "output": {"dir": str(tmp_path / "o"), "plot": False}}


def test_config_precision_trains_float32_masters(backend: str, tmp_path: Path) -> None:
    precision = _available(backend)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_run_config(tmp_path, {"precision": precision})))
    result = train_from_config(read_config(path), base_dir=tmp_path, backend=backend,
                               progress=False)
    assert result.test["accuracy"] == 1.0
    assert {v.dtype.name for v in result.model.variables} == {"float32"}
    loaded = ember_nn.load(result.checkpoint, backend=backend)
    assert {v.dtype.name for v in loaded.variables} == {"float32"}


@pytest.mark.parametrize(("training", "match"), [
    ({"precision": "bf16"}, r"\[training\] precision must be one of \['32', 'bf16-mixed', "
                            r"'fp16-mixed'\], got 'bf16'"),
    ({"precision": "fp16-mixed", "dtype": "float16"}, r"both dtype = 'float16'.*keep one"),
])
def test_config_precision_errors(tmp_path: Path, training: dict[str, Any], match: str) -> None:
    with pytest.raises(ember_nn.ConfigError, match=match):
        train_from_config(_run_config(tmp_path, training), base_dir=tmp_path, backend="numpy",
                          progress=False)
