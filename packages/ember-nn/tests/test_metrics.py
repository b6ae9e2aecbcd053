"""Metrics: batch functions against NumPy (and sklearn where installed), streaming metrics over
batches equal to the whole-data result, names and errors."""

from __future__ import annotations

import math
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn.metrics import (
    Accuracy,
    BinaryAccuracy,
    MacroAccuracy,
    Mean,
    accuracy,
    binary_accuracy,
    confusion_matrix,
    get,
    macro_accuracy,
    streaming,
)

RNG = np.random.default_rng(1)
N, C = 103, 5
SCORES = RNG.normal(size=(N, C))
LABELS = RNG.choice(C, size=N, p=[0.5, 0.2, 0.15, 0.15, 0.0])  # class 4 never a label
PREDS = np.where(RNG.random(N) < 0.6, LABELS, RNG.integers(0, C, size=N))  # mostly right
BATCHES = [slice(0, 7), slice(7, 40), slice(40, 41), slice(41, 90), slice(90, N)]


def _t(a: Any, dtype: Any = None) -> ember.Tensor:
    return ember.asarray(np.asarray(a), dtype=dtype)


def _np_macro(pred: np.ndarray, labels: np.ndarray) -> float:
    classes = np.unique(labels)
    return float(np.mean([(pred[labels == c] == c).mean() for c in classes]))


def _np_confusion(pred: np.ndarray, labels: np.ndarray, c: int) -> np.ndarray:
    m = np.zeros((c, c), np.int64)
    np.add.at(m, (labels, pred), 1)
    return m


# -- batch metrics ---------------------------------------------------------------------------------
def test_accuracy_from_scores_and_from_class_indices(backend: str) -> None:
    want = float((SCORES.argmax(-1) == LABELS).mean())
    got = accuracy(_t(SCORES, ember.float32), _t(LABELS))
    assert got.dtype is ember.float32 and got.shape == ()
    assert float(got) == pytest.approx(want, rel=1e-6)
    assert float(accuracy(_t(PREDS), _t(LABELS))) == pytest.approx((PREDS == LABELS).mean(), rel=1e-6)
    s3, y3 = SCORES[:100].reshape(10, 10, C), LABELS[:100].reshape(10, 10)
    assert float(accuracy(_t(s3, ember.float32), _t(y3))) == pytest.approx(
        (s3.argmax(-1) == y3).mean(), rel=1e-6)
    assert float(accuracy(_t(PREDS.astype(np.int32)), _t(LABELS))) == pytest.approx(
        (PREDS == LABELS).mean(), rel=1e-6)


def test_binary_accuracy_thresholds_logits_and_probabilities(backend: str) -> None:
    logits = SCORES[:, 0]
    targets = (RNG.random(N) > 0.4).astype(np.float64)
    want = float(((logits > 0) == (targets > 0.5)).mean())
    assert float(binary_accuracy(_t(logits, ember.float32), _t(targets, ember.float32))) == \
        pytest.approx(want, rel=1e-6)
    probs = 1 / (1 + np.exp(-logits))
    got = binary_accuracy(_t(probs, ember.float32), _t(targets > 0.5), threshold=0.5)
    assert float(got) == pytest.approx(want, rel=1e-6)
    want7 = float(((logits > 0.7) == (targets > 0.5)).mean())
    got7 = binary_accuracy(_t(logits, ember.float32), _t(targets.astype(np.int64)), threshold=0.7)
    assert float(got7) == pytest.approx(want7, rel=1e-6)


def test_macro_accuracy_is_the_mean_recall_of_the_classes_present(backend: str) -> None:
    want = _np_macro(PREDS, LABELS)
    assert float(macro_accuracy(_t(PREDS), _t(LABELS))) == pytest.approx(want, rel=1e-6)
    assert float(macro_accuracy(_t(PREDS), _t(LABELS), num_classes=8)) == pytest.approx(want, rel=1e-6)
    want_s = _np_macro(SCORES.argmax(-1), LABELS)
    assert float(macro_accuracy(_t(SCORES, ember.float32), _t(LABELS))) == pytest.approx(want_s, rel=1e-6)
    # balanced: one big class all right, one small class all wrong
    assert float(macro_accuracy(_t([0, 0, 0, 0, 0, 1]), _t([0, 0, 0, 0, 0, 2]))) == 0.5


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_macro_accuracy_and_confusion_matrix_match_sklearn(backend: str) -> None:
    sk = pytest.importorskip("sklearn.metrics")
    got = macro_accuracy(_t(PREDS), _t(LABELS))
    assert float(got) == pytest.approx(sk.balanced_accuracy_score(LABELS, PREDS), rel=1e-6)
    cm = confusion_matrix(_t(PREDS), _t(LABELS), C)
    np.testing.assert_array_equal(cm.numpy(), sk.confusion_matrix(LABELS, PREDS, labels=range(C)))


def test_confusion_matrix(backend: str) -> None:
    cm = confusion_matrix(_t(PREDS), _t(LABELS), C)
    assert cm.dtype is ember.int64 and cm.shape == (C, C)
    np.testing.assert_array_equal(cm.numpy(), _np_confusion(PREDS, LABELS, C))
    from_scores = confusion_matrix(_t(SCORES, ember.float32), _t(LABELS))
    np.testing.assert_array_equal(from_scores.numpy(), _np_confusion(SCORES.argmax(-1), LABELS, C))
    assert int(ember.sum(cm)) == N
    inferred = confusion_matrix(_t([0, 3]), _t([1, 1]))
    assert inferred.tolist() == [[0] * 4, [1, 0, 0, 1], [0] * 4, [0] * 4]


# -- streaming -------------------------------------------------------------------------------------
def test_streaming_metrics_over_batches_equal_the_whole_data(backend: str) -> None:
    scores, labels, preds = _t(SCORES, ember.float32), _t(LABELS), _t(PREDS)
    logits = scores[:, 0]
    targets = _t((RNG.random(N) > 0.5).astype(np.float32))
    acc, acc_i, macro, macro_s, bacc = Accuracy(), Accuracy(), MacroAccuracy(), MacroAccuracy(C), BinaryAccuracy()
    loss = Mean("loss")
    per_example = _t(RNG.random(N), ember.float32)
    for b in BATCHES:
        acc.update(scores[b], labels[b])
        acc_i.update(preds[b], labels[b])
        macro.update(preds[b], labels[b])  # class count grows with the labels seen
        macro_s.update(scores[b], labels[b])
        bacc.update(logits[b], targets[b])
        n = b.stop - b.start
        loss.update(ember.mean(per_example[b]), weight=n)  # batch means weighted by batch size
    assert acc.result() == pytest.approx(float(accuracy(scores, labels)), rel=1e-6)
    assert acc_i.result() == pytest.approx(float((PREDS == LABELS).mean()), rel=1e-12)
    assert macro.result() == pytest.approx(_np_macro(PREDS, LABELS), rel=1e-12)
    assert macro_s.result() == pytest.approx(float(macro_accuracy(scores, labels)), rel=1e-6)
    assert bacc.result() == pytest.approx(float(binary_accuracy(logits, targets)), rel=1e-6)
    assert loss.result() == pytest.approx(float(np.mean(per_example.numpy(), dtype=np.float64)), rel=1e-6)
    per_class = macro.per_class()
    assert len(per_class) == C and math.isnan(per_class[4])  # class 4 predicted, never a label
    for m in (acc, macro, bacc, loss):
        m.reset()
        assert math.isnan(m.result())


def test_mean_weights_and_numbers(backend: str) -> None:
    m = Mean()
    m.update(_t([1.0, 2.0, 3.0], ember.float32), weight=_t([1.0, 0.0, 3.0], ember.float32))
    m.update(4.0, weight=2)
    m.update(_t([2, 4]))  # integers are averaged exactly
    assert m.result() == pytest.approx((1 + 9 + 8 + 6) / (1 + 3 + 2 + 2))
    with pytest.raises(ember.ShapeError, match=r"weight of shape \(2,\) does not broadcast to values of shape \(3,\)"):
        m.update(_t([1.0, 2.0, 3.0]), weight=_t([1.0, 2.0]))


# -- names and errors ------------------------------------------------------------------------------
def test_get_and_streaming_names() -> None:
    assert get("accuracy") is accuracy and get("macro_accuracy") is macro_accuracy
    assert get("binary_accuracy") is binary_accuracy and get(accuracy) is accuracy
    assert type(streaming("accuracy")) is Accuracy
    assert streaming("macro_accuracy", num_classes=3).num_classes == 3
    assert streaming("binary_accuracy", threshold=0.5).threshold == 0.5
    with pytest.raises(ember_nn.ConfigError, match=r"unknown metric 'acc'; known: \['accuracy'"):
        get("acc")
    with pytest.raises(ember_nn.ConfigError, match="unknown streaming metric 'f1'"):
        streaming("f1")


def test_errors_name_the_values(backend: str) -> None:
    scores = _t(SCORES, ember.float32)
    with pytest.raises(ember.DTypeError, match=r"labels must be integer class indices, got ember\.float32"):
        accuracy(scores, _t(LABELS, ember.float32))
    with pytest.raises(ember.DTypeError, match=r"predictions of the labels' shape \(103,\) must be integer.*got ember.float32"):
        accuracy(scores[:, 0], _t(LABELS))
    with pytest.raises(ember.ShapeError, match=r"predictions of shape \(103, 5\) do not fit labels of shape \(100,\)"):
        accuracy(scores, _t(LABELS[:100]))
    with pytest.raises(ember.ShapeError, match=r"logits of shape \(103,\) and targets of shape \(5,\)"):
        binary_accuracy(scores[:, 0], scores[0])
    with pytest.raises(ember.OutOfBoundsError, match=r"labels must be class indices in \[0, 3\); found 3$"):
        macro_accuracy(_t(PREDS), _t(LABELS), num_classes=3)
    with pytest.raises(ember.OutOfBoundsError, match=r"predictions must be class indices in \[0, 2\)"):
        confusion_matrix(_t([0, 2]), _t([0, 1]), 2)
    with pytest.raises(ember.ShapeError, match="num_classes=4 but the predictions have 5 class scores"):
        MacroAccuracy(4).update(scores, _t(LABELS))
    with pytest.raises(ember.ArgumentError, match="num_classes must be a positive int or None, got 0"):
        MacroAccuracy(0)
