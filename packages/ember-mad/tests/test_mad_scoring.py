"""macro_accuracy against torchmetrics' MulticlassAccuracy(average="macro", ignore_index=-100)
(values recorded once with torchmetrics 1.9.0, and live where torchmetrics is installed), hand
cases, MAD-Lab's per-batch epoch mean, the aggregation and the paper's table."""

from __future__ import annotations

from collections.abc import Iterator

import ember
import ember_mad
import numpy as np
import pytest
from ember_mad import macro_accuracy
from mad_support import backends


@pytest.fixture(params=backends())
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The name of the backend the test runs on (the default inside the test)."""
    with ember.use_backend(request.param):
        yield request.param

# (seed, batch, length, classes, ignored fraction, torchmetrics on the whole set,
#  MAD-Lab's epoch value with batches of 5: torchmetrics per batch, mean weighted by batch size)
RECORDED = [
    (0, 4, 9, 5, 0.3, 0.30119049549102783, 0.30119049549102783),
    (1, 16, 33, 16, 0.8, 0.3479301631450653, 0.2845052173361182),
    (2, 3, 7, 10, 0.0, 0.3499999940395355, 0.3499999940395355),
    (3, 128, 31, 256, 0.5, 0.24293801188468933, 0.15881961554987356),
    (4, 37, 11, 4, 0.95, 0.3958333432674408, 0.34159159438835607),
]


def case(seed: int, b: int, n: int, c: int, frac: float) -> tuple[np.ndarray, np.ndarray]:
    r = np.random.default_rng(seed)
    logits = r.standard_normal((b, n, c)).astype(np.float32)
    targets = r.integers(0, c, size=(b, n))
    right = r.random((b, n)) < 0.4
    logits[right, targets[right]] += 3.0
    targets[r.random((b, n)) < frac] = -100
    return logits, targets


@pytest.mark.parametrize(("seed", "b", "n", "c", "frac", "whole", "epoch"), RECORDED)
def test_recorded_torchmetrics(seed, b, n, c, frac, whole, epoch) -> None:
    logits, targets = case(seed, b, n, c, frac)
    assert macro_accuracy(logits, targets, num_classes=c) == pytest.approx(whole, abs=1e-6)
    assert macro_accuracy(logits.argmax(-1), targets, num_classes=c) == \
        pytest.approx(whole, abs=1e-6)
    assert macro_accuracy(logits, targets, num_classes=c, batch_size=5) == \
        pytest.approx(epoch, abs=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_live_torchmetrics(seed: int) -> None:
    torch = pytest.importorskip("torch")
    classification = pytest.importorskip("torchmetrics.classification")
    r = np.random.default_rng(100 + seed)
    c = int(r.integers(2, 40))
    logits, targets = case(seed + 10, int(r.integers(1, 20)), int(r.integers(1, 30)), c,
                           float(r.random()))
    metric = classification.MulticlassAccuracy(num_classes=c, average="macro", ignore_index=-100)
    ref = metric(torch.tensor(logits).view(-1, c).argmax(-1), torch.tensor(targets).view(-1))
    assert macro_accuracy(logits, targets, num_classes=c) == pytest.approx(ref.item(), abs=1e-6)


@pytest.mark.parametrize(("preds", "targets", "c", "expected"), [
    ([0, 1, 1, 2], [0, 1, 2, -100], 3, 2 / 3),  # classes 0, 1 right, 2 wrong; last ignored
    ([0, 0, 0, 1], [0, 0, 0, 2], 3, 1 / 3),  # class 1 predicted, never a target: counts as 0
    ([0, 1], [-100, -100], 3, 0.0),  # nothing kept
    ([2, 2, 2], [2, 2, 2], 3, 1.0),  # classes neither predicted nor targets are left out
    ([1, 0], [0, 1], 4, 0.0),
    ([0, 0, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1], 2, (1.0 + 0.8) / 2),  # balanced, not 5/6
    ([[3, 3], [1, 2]], [[3, -100], [1, 1]], 4, (1.0 + 0.5 + 0.0) / 3),
])
def test_hand_cases(preds, targets, c, expected) -> None:
    assert macro_accuracy(preds, targets, num_classes=c) == pytest.approx(expected)


def test_batched_by_hand() -> None:
    preds = [[0, 1], [1, 1], [0, 0]]
    targets = [[0, 1], [0, 0], [-100, 0]]
    # batches of 2 sequences: the first two, then the last one (kept: one right 0)
    first = macro_accuracy(preds[:2], targets[:2], num_classes=2)  # class 0: 1/3, class 1: 1
    assert first == pytest.approx((1 / 3 + 1) / 2)
    assert macro_accuracy(preds, targets, num_classes=2, batch_size=2) == \
        pytest.approx((first * 2 + 1.0 * 1) / 3)


def test_ember_tensors(backend: str) -> None:
    logits, targets = case(1, 16, 33, 16, 0.8)
    whole = RECORDED[1][5]
    got = macro_accuracy(ember.asarray(logits), ember.asarray(targets), num_classes=16)
    assert got == pytest.approx(whole, abs=1e-6)
    ids = ember.argmax(ember.asarray(logits), axis=-1)
    assert ids.backend == backend
    assert macro_accuracy(ids, targets, num_classes=16) == pytest.approx(whole, abs=1e-6)


def test_errors() -> None:
    with pytest.raises(ember_mad.MADError, match="do not match targets of shape"):
        macro_accuracy([0, 1, 2], [0, 1], num_classes=3)
    with pytest.raises(ember_mad.MADError, match=r"targets hold 5, outside \[0, 3\)"):
        macro_accuracy([0, 1], [0, 5], num_classes=3)
    with pytest.raises(ember_mad.MADError, match=r"predictions hold -1"):
        macro_accuracy([0, -1], [0, 1], num_classes=3)
    with pytest.raises(ember_mad.MADError, match="num_classes must be an integer >= 1"):
        macro_accuracy([0], [0], num_classes=0)
    with pytest.raises(ember_mad.MADError, match="predictions must be integer class ids"):
        macro_accuracy([0.0, 1.0], [0, 1], num_classes=3)
    with pytest.raises(ember_mad.MADError, match="batch_size must be an integer >= 1"):
        macro_accuracy([0], [0], num_classes=1, batch_size=0)


def test_aggregation() -> None:
    runs = {(1e-4, 0.0): 0.5, (5e-4, 0.0): 0.9, (1e-3, 0.1): 0.7}
    assert ember_mad.run_result([0.1, 0.95, 0.9]) == 0.95
    assert ember_mad.setting_result(runs) == 0.9
    assert ember_mad.setting_result([0.2, 0.4]) == 0.4
    assert ember_mad.task_score([0.9, 0.6, 0.3]) == pytest.approx(0.6)
    scores = dict(zip(ember_mad.TASKS, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]))
    assert ember_mad.mad_score(scores) == pytest.approx(0.35)
    with pytest.raises(ember_mad.MADError, match=r"\(0.01, 0.0\) is not an \(lr, weight_decay\)"):
        ember_mad.setting_result({(0.01, 0.0): 0.5})
    with pytest.raises(ember_mad.MADError, match="unknown MAD task 'copying'"):
        ember_mad.mad_score({"copying": 0.5})
    with pytest.raises(ember_mad.MADError, match="is empty"):
        ember_mad.task_score([])
    with pytest.raises(ember_mad.MADError, match="must be numbers"):
        ember_mad.run_result([0.5, float("nan")])


def test_paper_scores() -> None:
    paper = ember_mad.PAPER_SCORES
    transformer = paper[("mh-attention", "swiglu", "mh-attention", "swiglu")]
    assert transformer["in-context-recall"] == 94.1 and transformer["mean"] == 74.5
    assert paper[("mh-hyena", "swiglu", "mh-hyena", "swiglu")]["fuzzy-in-context-recall"] == 14.4
    assert paper[("mamba", "swiglu", "mamba", "swiglu")]["compression"] == 52.7
    for row in paper.values():
        assert set(row) == {*ember_mad.TASKS, "mean"}
        tasks = {t: v for t, v in row.items() if t != "mean"}
        assert round(ember_mad.mad_score(tasks), 1) == row["mean"]  # the printed mean
