"""value_and_grad(model, fn), Trainer.fit / evaluate / predict, callbacks, precision options."""

from __future__ import annotations

import csv
import math
import os

import ember
import ember_nn
import numpy as np
import pytest


def _blobs(n: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]], np.float32)
    x = centres[y] + 0.4 * rng.standard_normal((n, 2)).astype(np.float32)
    return x.astype(np.float32), y.astype(np.int64)


def _model(seed: int = 0) -> ember_nn.Module:
    with ember_nn.seeded(seed):
        return ember_nn.MLP(2, [16], 3)


def test_value_and_grad_matches_the_analytic_gradient(backend: str) -> None:
    model = ember_nn.Dense(3, 2, key=0)
    x = ember.asarray(np.arange(12, dtype=np.float32).reshape(4, 3) / 10)
    step = ember_nn.value_and_grad(model, lambda x: ember.sum(model(x) ** 2))
    loss, grads = step(x)
    w, b = model.weight.numpy(), model.bias.numpy()
    y = x.numpy() @ w + b
    assert sorted(grads) == ["bias", "weight"]
    np.testing.assert_allclose(loss.item(), (y ** 2).sum(), rtol=1e-5)
    np.testing.assert_allclose(grads["weight"].numpy(), x.numpy().T @ (2 * y), rtol=1e-5)
    np.testing.assert_allclose(grads["bias"].numpy(), (2 * y).sum(0), rtol=1e-5)


def test_value_and_grad_gives_none_for_unused_variables_and_checks_the_loss(backend: str) -> None:
    class Two(ember_nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used, self.unused = ember_nn.Dense(2, 1, key=0), ember_nn.Dense(2, 1, key=1)

    m = Two()
    (_loss, aux), grads = ember_nn.value_and_grad(
        m, lambda x: (ember.sum(m.used(x)), "aux"), has_aux=True)(ember.ones((1, 2)))
    assert aux == "aux" and grads["unused.weight"] is None and grads["used.bias"].tolist() == [1.0]
    with pytest.raises(ember.ShapeError, match="scalar loss"):
        ember_nn.value_and_grad(m, lambda x: m.used(x))(ember.ones((3, 2)))
    with pytest.raises(ember.ArgumentError, match=r"ember_nn\.Module"):
        ember_nn.value_and_grad(lambda x: x, lambda x: x)  # type: ignore[arg-type]


def test_fit_learns_and_is_repeatable_with_a_seed(backend: str) -> None:
    x, y = _blobs()
    runs = []
    for _ in range(2):
        model = _model()
        trainer = ember_nn.Trainer(model, ember_nn.Adam(0.05), metrics=["accuracy"],
                                   loss="sparse_categorical_cross_entropy", seed=3,
                                   progress=False)
        h = trainer.fit(x, y, epochs=8, batch_size=16, validation_split=0.25)
        runs.append(h.history)
    h = runs[0]
    assert set(h) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h["loss"][-1] < 0.3 * h["loss"][0]
    assert h["val_accuracy"][-1] >= 0.95
    np.testing.assert_allclose(runs[0]["loss"], runs[1]["loss"], rtol=1e-6)


def test_evaluate_and_predict_agree_with_the_model_in_eval_mode(backend: str) -> None:
    x, y = _blobs(40)
    model = ember_nn.Sequential(ember_nn.Dense(2, 8, activation="tanh", key=0),
                                ember_nn.Dropout(0.5, key=1), ember_nn.Dense(8, 3, key=2))
    trainer = ember_nn.Trainer(model, ember_nn.SGD(0.1), metrics=["accuracy"],
                               loss="sparse_categorical_cross_entropy", progress=False)
    out = trainer.predict(x, batch_size=7)  # several batches, dropout off
    model.eval()
    ref = model(ember.asarray(x))
    model.train()
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)
    res = trainer.evaluate(x, y, batch_size=9)
    logp = ref.numpy() - np.log(np.exp(ref.numpy()).sum(-1, keepdims=True))
    np.testing.assert_allclose(res["loss"], -logp[np.arange(40), y].mean(), rtol=1e-5)
    assert res["accuracy"] == pytest.approx((ref.numpy().argmax(-1) == y).mean())
    assert model.training  # evaluate/predict restore the mode


def test_train_step_updates_the_weights_like_a_hand_written_sgd_step(backend: str) -> None:
    model = ember_nn.Dense(2, 1, key=0)
    w0, b0 = model.weight.numpy().copy(), model.bias.numpy().copy()
    trainer = ember_nn.Trainer(model, ember_nn.SGD(0.1), loss="mse", progress=False)
    x = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
    y = np.array([[1.0], [0.0]], np.float32)
    trainer.train_step(x, y)
    err = x @ w0 + b0 - y
    np.testing.assert_allclose(model.weight.numpy(), w0 - 0.1 * x.T @ (2 * err / 2), rtol=1e-5)
    np.testing.assert_allclose(model.bias.numpy(), b0 - 0.1 * (2 * err / 2).sum(0), rtol=1e-5)


def test_early_stopping_stops_and_restores_the_best_weights(backend: str) -> None:
    x, y = _blobs(48)
    model = _model()
    scores = [3.0, 2.0, 1.0, 1.5, 0.99, 1.2, 1.1, 0.5]  # best at epoch 2 (min_delta 0.05)
    snapshots = []

    class Score(ember_nn.Callback):  # a monitored value the test controls, and weight snapshots
        def on_epoch_end(self, trainer, epoch, logs):  # type: ignore[no-untyped-def]
            logs["score"] = scores[epoch]
            snapshots.append(model.state_dict())

    stop = ember_nn.EarlyStopping("score", patience=2, min_delta=0.05)
    trainer = ember_nn.Trainer(model, ember_nn.SGD(0.5), loss="sparse_categorical_cross_entropy",
                               callbacks=[Score(), stop], progress=False)
    h = trainer.fit(x, y, epochs=8, batch_size=16)
    assert h.epochs == 5 and stop.best_epoch == 2 and stop.stopped_epoch == 4  # 2 without gain
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), snapshots[2][k].numpy())
    assert not np.array_equal(snapshots[2]["layers.0.weight"].numpy(),
                              snapshots[4]["layers.0.weight"].numpy())


def test_csv_logger_and_model_checkpoint(backend: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    x, y = _blobs(32)
    model = _model()
    log = tmp_path / "log.csv"
    ckpt = ember_nn.ModelCheckpoint(tmp_path / "ck-{epoch}", monitor="loss", save_best_only=True)
    trainer = ember_nn.Trainer(model, ember_nn.Adam(0.01), loss="sparse_categorical_cross_entropy",
                               metrics=["accuracy"], callbacks=[ember_nn.CSVLogger(log), ckpt],
                               progress=False)
    h = trainer.fit(x, y, epochs=3, batch_size=8)
    rows = list(csv.DictReader(log.open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    np.testing.assert_allclose([float(r["loss"]) for r in rows], h["loss"], rtol=1e-6)
    assert ckpt.saved and ckpt.saved[-1].name == "ck-3"  # the loss falls every epoch here
    loaded = ember_nn.load(ckpt.saved[-1])
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[k].numpy(), v.numpy())


def test_monitoring_an_absent_value_is_a_clear_error(backend: str) -> None:
    x, y = _blobs(16)
    trainer = ember_nn.Trainer(_model(), ember_nn.SGD(0.1), loss="sparse_categorical_cross_entropy",
                               callbacks=[ember_nn.EarlyStopping("val_loss")], progress=False)
    with pytest.raises(ember_nn.ConfigError, match="'val_loss' is not in the epoch's logs"):
        trainer.fit(x, y, epochs=1)


def test_bad_options_are_errors() -> None:
    model = _model()
    with pytest.raises(ember_nn.ConfigError, match="dtype must be one of"):
        ember_nn.Trainer(model, ember_nn.SGD(0.1), dtype="float8")
    with pytest.raises(ember_nn.ConfigError, match="'acc'"):
        ember_nn.Trainer(model, ember_nn.SGD(0.1), metrics=["acc"])
    with pytest.raises(ember_nn.ConfigError, match="'mean'"):  # not a (predictions, labels) metric
        ember_nn.Trainer(model, ember_nn.SGD(0.1), metrics=["mean"])
    trainer = ember_nn.Trainer(model, ember_nn.SGD(0.1), progress=False)
    with pytest.raises(ember_nn.ConfigError, match="epochs must be a positive int"):
        trainer.fit(np.zeros((4, 2), np.float32), np.zeros((4, 3), np.float32), epochs=0)
    with pytest.raises(ember.ShapeError, match=r"inputs have 4 samples .* targets have 5"):
        trainer.fit(np.zeros((4, 2), np.float32), np.zeros((5, 3), np.float32))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_training_keeps_its_dtype_and_learns(backend: str, dtype: str) -> None:
    if getattr(ember, dtype) not in ember.load_backend(backend).to_native_dtype:
        pytest.skip(f"{backend} has no {dtype}")
    x, y = _blobs()
    model = _model()
    trainer = ember_nn.Trainer(model, ember_nn.Adam(0.05, eps=1e-4), metrics=["accuracy"],
                               loss="sparse_categorical_cross_entropy", dtype=dtype,
                               progress=False)
    try:
        h = trainer.fit(x, y, epochs=6, batch_size=16)
    except ember.UnsupportedError as e:
        pytest.skip(f"{backend}: {e}")
    assert {v.dtype.name for v in model.variables} == {dtype}
    assert trainer.predict(x).dtype.name == dtype
    assert math.isfinite(h["loss"][-1]) and h["accuracy"][-1] > 0.9


def test_compile_gives_the_same_training_run(backend: str) -> None:
    if backend == "torch" and not os.environ.get("EMBER_SLOW"):
        pytest.skip("torch.compile takes ~30 s on a CPU: runs in `nox -s slow` (EMBER_SLOW=1)")
    x, y = _blobs(48)
    hist = []
    for compile in (False, True):
        trainer = ember_nn.Trainer(_model(), ember_nn.Adam(0.05), compile=compile,
                                   loss="sparse_categorical_cross_entropy", progress=False)
        hist.append(trainer.fit(x, y, epochs=3, batch_size=16).history["loss"])
    np.testing.assert_allclose(hist[0], hist[1], rtol=1e-5)


def test_fit_without_shuffling_sees_the_batches_in_order(backend: str) -> None:
    x, y = _blobs(32)
    seen = []

    class Spy(ember_nn.Callback):
        def on_batch_end(self, trainer, step, logs):  # type: ignore[no-untyped-def]
            seen.append(step)

    runs = []
    for _ in range(2):
        h = ember_nn.fit(_model(), ember_nn.SGD(0.1), x, y, epochs=2, batch_size=10,
                         loss="sparse_categorical_cross_entropy", shuffle=False,
                         drop_last=True, callbacks=[Spy()], seed=_, progress=False)
        runs.append(h["loss"])
    assert seen == [0, 1, 2] * 4  # drop_last: 3 full batches of 10 from 32
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-6)  # no shuffling: the seed is moot
