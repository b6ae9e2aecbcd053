"""What fit / evaluate / predict refuse before any step (with errors naming the values), the
History mapping, and TerminateOnNaN: the silent failures a new user's programs hit."""

from __future__ import annotations

import math
import warnings

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError


def _data(n: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)


def _trainer(lr: float = 0.1, **kw) -> ember_nn.Trainer:  # type: ignore[no-untyped-def]
    return ember_nn.Trainer(ember_nn.Dense(3, 1, key=0), ember_nn.SGD(lr), progress=False, **kw)


def _weights(t: ember_nn.Trainer) -> dict[str, np.ndarray]:
    return {k: v.numpy().copy() for k, v in t.model.state_dict().items()}


def test_drop_last_with_fewer_samples_than_a_batch_is_an_error(backend: str) -> None:
    # it ran zero steps, logged a loss of 0.0 and left the weights unchanged, silently
    x, y = _data(10)
    t = _trainer()
    before = _weights(t)
    with pytest.raises(ConfigError, match=r"fit: 10 training samples make no full batch of "
                                          r"batch_size=16 with drop_last=True.*batch_size <= 10 "
                                          r"or drop_last=False"):
        t.fit(x, y, batch_size=16, drop_last=True)
    for k, v in _weights(t).items():
        np.testing.assert_array_equal(v, before[k])
    x, y = _data(20)  # the held-out part leaves 10 to train on
    with pytest.raises(ConfigError, match=r"10 training samples \(after holding out "
                                          r"validation_split=0.5 of 20\)"):
        t.fit(x, y, batch_size=16, drop_last=True, validation_split=0.5)
    h = t.fit(x, y, batch_size=16, drop_last=True)  # 20 samples: one full batch, one step
    assert h.epochs == 1 and math.isfinite(h["loss"][0]) and h["loss"][0] > 0.0
    assert any(not np.array_equal(v, before[k]) for k, v in _weights(t).items())


@pytest.mark.parametrize("bad", [0, -4, 2.5, True, "8", None])
def test_batch_size_must_be_a_positive_int_everywhere(backend: str, bad: object) -> None:
    # batch_size=0 raised a raw ZeroDivisionError
    x, y = _data(10)
    t = _trainer()
    pattern = rf"batch_size must be a positive int \(samples per step\), got {bad!r}"
    for call in (lambda: t.fit(x, y, batch_size=bad), lambda: t.evaluate(x, y, batch_size=bad),
                 lambda: t.predict(x, batch_size=bad),
                 lambda: ember_nn.ArrayData([ember.asarray(x)]).num_batches(bad),
                 lambda: next(ember_nn.ArrayData([ember.asarray(x)]).batches(bad))):
        with pytest.raises(ConfigError, match=pattern):
            call()


def test_mismatched_and_empty_data_are_errors(backend: str) -> None:
    x, y = _data(10)
    t = _trainer()
    with pytest.raises(ember.ShapeError, match=r"fit: the training inputs have 10 samples "
                                               r"\(shape \(10, 3\)\) but the targets have 8"):
        t.fit(x, y[:8])
    with pytest.raises(ember.ShapeError, match=r"evaluate: the evaluation inputs have 9 samples"):
        t.evaluate(x[:9], y)
    with pytest.raises(ember.ShapeError, match=r"fit: the validation inputs have 4 samples .* "
                                               r"targets have 3"):
        t.fit(x, y, validation_data=(x[:4], y[:3]))
    for call, what in ((lambda: t.fit(x[:0], y[:0]), "fit: no training"),
                       (lambda: t.evaluate(x[:0], y[:0]), "evaluate: no evaluation"),
                       (lambda: t.predict(x[:0]), "predict: no prediction")):
        with pytest.raises(ember.ShapeError, match=rf"{what} samples \(inputs of shape \(0, 3\)\)"):
            call()
    with pytest.raises(ember.ShapeError, match=r"training inputs are a scalar"):
        t.fit(1.0, 2.0)


def test_empty_validation_data_fails_before_training(backend: str) -> None:
    x, y = _data(10)
    t = _trainer()
    before = _weights(t)
    with pytest.raises(ember.ShapeError, match=r"fit: no validation samples"):
        t.fit(x, y, epochs=3, validation_data=(x[:0], y[:0]))
    for k, v in _weights(t).items():  # not one step (it used to fail after the first epoch)
        np.testing.assert_array_equal(v, before[k])
    with pytest.raises(ConfigError, match=r"validation_data must be a pair \(inputs, targets\), "
                                          r"got tuple of 3"):
        t.fit(x, y, validation_data=(x, y, y))


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, True, "0.2"])
def test_validation_split_must_be_a_fraction(backend: str, bad: object) -> None:
    x, y = _data(10)
    with pytest.raises(ConfigError, match=rf"validation_split must be a number in \[0, 1\) "
                                          rf"\(0 for none\), got {bad!r}"):
        _trainer().fit(x, y, validation_split=bad)


def test_a_validation_split_leaving_no_training_data_is_an_error(backend: str) -> None:
    x, y = _data(1)
    with pytest.raises(ConfigError, match=r"holding out 0.1 of 1 samples \(at least one\) leaves "
                                          r"nothing to train on"):
        _trainer().fit(x, y, validation_split=0.1)
    x, y = _data(10)  # 0.01 of 10 rounds to 0: one sample is still held out, never an empty split
    h = _trainer().fit(x, y, validation_split=0.01, batch_size=4)
    assert math.isfinite(h["val_loss"][0])


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_epochs_must_be_a_positive_int(backend: str, bad: object) -> None:
    x, y = _data(4)
    with pytest.raises(ConfigError, match=rf"fit: epochs must be a positive int, got {bad!r}"):
        _trainer().fit(x, y, epochs=bad)


def test_other_options_are_checked(backend: str) -> None:
    x, y = _data(4)
    with pytest.raises(ConfigError, match=r"shuffle must be True or False, got 'no'"):
        _trainer().fit(x, y, shuffle="no")
    with pytest.raises(ConfigError, match=r"drop_last must be True or False, got 1"):
        _trainer().fit(x, y, drop_last=1)
    t = ember_nn.Trainer(ember_nn.Dense(3, 1, key=0), None, progress=False)
    with pytest.raises(ConfigError, match=r"fit: this trainer has no optimizer"):
        t.fit(x, y)
    assert t.predict(x).shape == (4, 1)  # evaluate and predict need none


def test_callbacks_are_checked(backend: str) -> None:
    with pytest.raises(ConfigError, match=r"callbacks must be ember_nn.Callback objects, got the "
                                          r"class EarlyStopping; instantiate it, e.g. "
                                          r"EarlyStopping\(\)"):
        _trainer(callbacks=[ember_nn.EarlyStopping])
    with pytest.raises(ConfigError, match=r"Callback objects, got function"):
        _trainer(callbacks=[lambda *a: None])
    with pytest.raises(ConfigError, match=r"patience must be an int >= 0, got '3'"):
        ember_nn.EarlyStopping(patience="3")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"min_delta must be a number >= 0, got -0.1"):
        ember_nn.EarlyStopping(min_delta=-0.1)
    with pytest.raises(ConfigError, match=r"monitor must be a log name"):
        ember_nn.ModelCheckpoint("ck", monitor=None)  # type: ignore[arg-type]


def test_non_finite_data_warns_naming_the_samples(backend: str) -> None:
    x, y = _data(8)
    x[[2, 5], 1] = np.nan
    x[5, 0] = np.inf
    with pytest.warns(RuntimeWarning) as caught:
        _trainer(callbacks=[ember_nn.TerminateOnNaN()]).fit(x, y, batch_size=4, shuffle=False)
    assert [str(w.message).split(";")[0] for w in caught] == [
        "fit: 2 of 8 input samples hold NaN or infinite values (the first is sample 2)",
        "TerminateOnNaN: the training loss became nan at epoch 1, batch 1"]
    assert {w.filename for w in caught} == {__file__}  # both point at the caller's line
    x, y = _data(8)
    y[7] = np.inf
    with pytest.warns(RuntimeWarning, match=r"1 of 3 validation target samples hold NaN or "
                                            r"infinite values \(the first is sample 2\)"):
        _trainer().fit(x[:5], y[:5], validation_data=(x[5:], y[5:]), batch_size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _trainer().fit(*_data(8), batch_size=4)  # clean data: no warning
        ember_nn.fit(ember_nn.Dense(3, 2, key=0), ember_nn.SGD(0.1), _data(8)[0],
                     np.arange(8) % 2, loss="sparse_categorical_cross_entropy", progress=False)


def test_history_is_a_mapping(backend: str) -> None:
    # `"loss" in history` raised KeyError: 0
    x, y = _data(12)
    h = _trainer(metrics=()).fit(x, y, epochs=2, batch_size=4, validation_split=0.25)
    assert "loss" in h and "val_loss" in h and "accuracy" not in h
    assert list(h) == ["loss", "val_loss"] and len(h) == 2 and h.epochs == 2
    assert dict(h.items()) == h.history and list(h.keys()) == list(h.history)
    assert h.get("accuracy") is None and h.get("loss") == h.history["loss"]
    assert all(len(v) == 2 for v in h.values())
    with pytest.raises(KeyError, match=r"'acc' is not in the history; it has \['loss', "
                                       r"'val_loss'\]"):
        h["acc"]


class _Spy(ember_nn.Callback):
    def __init__(self) -> None:
        self.batches: list[tuple[int, int]] = []
        self.epoch = 0

    def on_epoch_begin(self, trainer, epoch):  # type: ignore[no-untyped-def]
        self.epoch = epoch

    def on_batch_end(self, trainer, step, logs):  # type: ignore[no-untyped-def]
        self.batches.append((self.epoch, step))


def test_terminate_on_nan_stops_at_the_first_nan_batch(backend: str) -> None:
    x, y = _data(12)
    x[9, 0] = np.nan  # batch 3 of 4 (batch_size 3, no shuffling)
    guard, spy = ember_nn.TerminateOnNaN(), _Spy()
    t = _trainer(callbacks=[guard, spy])
    with pytest.warns(RuntimeWarning, match=r"TerminateOnNaN: the training loss became nan at "
                                            r"epoch 1, batch 4; training stopped there .*nothing "
                                            r"was restored"), \
            pytest.warns(RuntimeWarning, match="1 of 12 input samples hold NaN"):
        h = t.fit(x, y, epochs=5, batch_size=3, shuffle=False)
    assert guard.stopped is not None and guard.stopped[:2] == (1, 4)
    assert math.isnan(guard.stopped[2])
    assert spy.batches == [(0, 0), (0, 1), (0, 2), (0, 3)]  # no batch after the NaN one
    assert h.epochs == 1 and math.isnan(h["loss"][0])
    # without the guard the same run goes on for every epoch, silently NaN
    spy = _Spy()
    with pytest.warns(RuntimeWarning, match="input samples hold NaN"):
        h = _trainer(callbacks=[spy]).fit(x, y, epochs=5, batch_size=3, shuffle=False)
    assert h.epochs == 5 and len(spy.batches) == 20 and all(math.isnan(v) for v in h["loss"])


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # NumPy's own
def test_terminate_on_nan_catches_a_diverging_learning_rate(backend: str) -> None:
    x, y = _data(64)
    guard, csv = ember_nn.TerminateOnNaN(raise_error=True), _Spy()
    t = _trainer(lr=1e4, callbacks=[guard, csv])
    with pytest.raises(ember_nn.TrainingError, match=r"the training loss became (inf|nan) at "
                                                     r"epoch \d+, batch \d+"):
        t.fit(x, y, epochs=50, batch_size=8)
    epoch, batch, loss = guard.stopped  # type: ignore[misc]
    assert not math.isfinite(loss) and csv.batches[-1] == (epoch - 1, batch - 1)
    assert t.history.epochs == epoch and not math.isfinite(t.history["loss"][-1])
    assert all(math.isfinite(v) for v in t.history["loss"][:-1])
    with pytest.raises(ConfigError, match="raise_error must be True or False"):
        ember_nn.TerminateOnNaN(raise_error="yes")  # type: ignore[arg-type]
