"""Trainer.fit/evaluate/predict (and ember_nn.fit) on data pipelines and iterables of
batches: the same numbers as on arrays given the same batches, loss falling on a streaming
pipeline, and clear errors for options that belong to the pipeline."""

from __future__ import annotations

import io

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError
from ember_nn.data import DataError, Dataset, from_iterable
from ember_nn.training._progress import ProgressBar


def problem(n: int = 48) -> tuple[ember.Tensor, ember.Tensor]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)
    return ember.asarray(x), ember.asarray(y)


def trainer(**kw: object) -> ember_nn.Trainer:
    model = ember_nn.Sequential(ember_nn.Dense(4, 1, key=0))
    return ember_nn.Trainer(model, ember_nn.SGD(0.05), progress=False, **kw)  # type: ignore


def test_fit_on_a_pipeline_equals_fit_on_the_same_arrays(backend: str) -> None:
    x, y = problem()
    ref = trainer().fit(x, y, epochs=3, batch_size=16, shuffle=False)
    t = trainer()
    got = t.fit(Dataset.from_arrays(x, y).batch(16).prefetch(2), epochs=3)
    np.testing.assert_allclose(got["loss"], ref["loss"], rtol=1e-6)
    assert got["loss"][-1] < got["loss"][0] / 2
    sample_wise = trainer().fit(Dataset.from_arrays(x, y).map(lambda a, b: (a, b)).batch(16),
                                epochs=3)
    np.testing.assert_allclose(sample_wise["loss"], ref["loss"], rtol=1e-6)


def test_fit_from_a_generator_function_and_the_functional_fit(backend: str) -> None:
    x, y = problem()
    xs, ys = x.numpy(), y.numpy()

    def batches():  # host data, converted by the trainer
        for i in range(0, 48, 12):
            yield xs[i:i + 12].tolist(), ys[i:i + 12].tolist()

    model = ember_nn.Sequential(ember_nn.Dense(4, 1, key=0))
    h = ember_nn.fit(model, ember_nn.SGD(0.05), batches, epochs=4, progress=False)
    ref = trainer().fit(x, y, epochs=4, batch_size=12, shuffle=False)
    np.testing.assert_allclose(h["loss"], ref["loss"], rtol=1e-5)


def test_a_shuffled_pipeline_trains_and_uses_the_epoch_order(backend: str) -> None:
    x, y = problem(64)
    ds = Dataset.from_arrays(x, y).shuffle(64, seed=1).batch(8)
    h = trainer().fit(ds, epochs=5, validation_data=Dataset.from_arrays(x, y).batch(32))
    assert h["loss"][-1] < h["loss"][0] / 10 and "val_loss" in h
    again = trainer().fit(ds, epochs=5, validation_data=(x, y))
    np.testing.assert_allclose(again["loss"], h["loss"], rtol=1e-6)
    np.testing.assert_allclose(again["val_loss"], h["val_loss"], rtol=1e-5)


def test_steps_per_epoch_goes_on_through_an_endless_pipeline(backend: str) -> None:
    x, y = problem(48)
    ds = Dataset.from_arrays(x, y).batch(16).repeat()
    t = trainer()
    h = t.fit(ds, epochs=3, steps_per_epoch=2)  # batches 0 1 | 2 0 | 1 2
    ref = trainer()
    ref.fit(Dataset.from_arrays(x, y).batch(16).repeat(2), epochs=1)  # the same six steps
    assert h.epochs == 3
    np.testing.assert_allclose(t.predict(x).numpy(), ref.predict(x).numpy(), rtol=1e-5)
    with pytest.raises(ConfigError, match=r"never ends; pass steps_per_epoch"):
        trainer().fit(ds, epochs=1)
    bounded = trainer().fit(Dataset.from_arrays(x, y).batch(16), epochs=3, steps_per_epoch=2)
    assert bounded.epochs == 3  # a pass of 3 batches spans epochs; a new pass starts at the end


def test_evaluate_and_predict_take_pipelines(backend: str) -> None:
    x, y = problem()
    t = trainer()
    t.fit(x, y, epochs=2, batch_size=16)
    ev = t.evaluate(Dataset.from_arrays(x, y).batch(10))
    np.testing.assert_allclose(ev["loss"], t.evaluate(x, y)["loss"], rtol=1e-5)
    pred = t.predict(Dataset.from_arrays(x).batch(20))
    np.testing.assert_allclose(pred.numpy(), t.predict(x).numpy(), rtol=1e-6)
    pairs = t.predict(Dataset.from_arrays(x, y).batch(20))
    assert pairs.shape == (48, 1)


def test_pipeline_options_and_shapes_are_checked() -> None:
    x, y = problem()
    ds = Dataset.from_arrays(x, y).batch(8)
    with pytest.raises(ConfigError, match=r"y must be omitted"):
        trainer().fit(ds, y)
    with pytest.raises(ConfigError, match=r"batch_size=8 is for array data.*dataset.batch\(8\)"):
        trainer().fit(ds, batch_size=8)
    with pytest.raises(ConfigError, match=r"shuffle=True is for array data.*dataset.shuffle"):
        trainer().fit(ds, shuffle=True)
    with pytest.raises(ConfigError, match=r"validation_split=0.2 is for array data"):
        trainer().fit(ds, validation_split=0.2)
    with pytest.raises(ConfigError, match=r"yields single samples, not batches.*batch\(32\)"):
        trainer().fit(Dataset.from_arrays(x, y))
    with pytest.raises(ConfigError, match=r"batch 0 of the training data is a tensor of shape "
                                          r"\(8, 4\); the dataset must yield \(inputs, targets\)"):
        trainer().fit(Dataset.from_arrays(x).batch(8))
    with pytest.raises(ConfigError, match=r"no samples in epoch 0"):
        trainer().fit(from_iterable([]))
    with pytest.raises(ConfigError, match=r"array inputs need their targets y"):
        trainer().fit(x)
    with pytest.raises(ConfigError, match=r"steps_per_epoch is for datasets"):
        trainer().fit(x, y, steps_per_epoch=2)


def test_a_one_shot_generator_trains_one_epoch_then_says_what_to_pass() -> None:
    x, y = problem()
    gen = ((x[i:i + 16], y[i:i + 16]) for i in range(0, 48, 16))
    assert trainer().fit(gen, epochs=1).epochs == 1
    gen = ((x[i:i + 16], y[i:i + 16]) for i in range(0, 48, 16))
    with pytest.raises(DataError, match="one-shot iterator"):
        trainer().fit(gen, epochs=2)


def test_a_stage_error_during_fit_names_the_stage_and_sample() -> None:
    x, y = problem()

    def bad(a: ember.Tensor, b: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor]:
        if float(b) > 5:
            raise ValueError("label out of range")
        return a, b

    ds = Dataset.from_arrays(x, y).map(bad, name="check_label").batch(8).prefetch(2)
    first = int(np.argmax(y.numpy()[:, 0] > 5))
    with pytest.raises(DataError, match=rf"map\(check_label\) failed on sample {first} "):
        trainer().fit(ds, epochs=1)


def test_the_progress_bar_copes_without_a_length() -> None:
    out = io.StringIO()
    bar = ProgressBar(2, None, stream=out)
    bar.start(0)
    for i in range(5):
        bar.update(i + 1, {"loss": 0.5})
    bar.finish({"loss": 0.5})
    assert out.getvalue().startswith("epoch 1/2 5/? ")
    x, y = problem()
    t = trainer()
    t.progress = True
    t.fit(from_iterable(lambda: ((x[i:i + 16], y[i:i + 16]) for i in range(0, 48, 16))),
          epochs=1)
