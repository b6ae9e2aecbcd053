"""Learning-rate schedules: values, JSON round trips, errors, and how optimisers use them."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import ember
import numpy as np
import pytest
from ember_nn import ConfigError
from ember_nn.optim._optimizers import SGD, Adam, deserialize
from ember_nn.optim._schedules import (
    Constant,
    CosineDecay,
    Schedule,
    StepDecay,
    as_schedule,
    registered,
)
from ember_nn.optim._schedules import deserialize as deserialize_schedule
from ember_nn.optim._schedules import serialize as serialize_schedule


def test_constant() -> None:
    s = Constant(0.25)
    assert [s(t) for t in (0, 1, 10**6)] == [0.25, 0.25, 0.25]
    assert as_schedule(0.25) == s and as_schedule(s) is s and as_schedule(1) == Constant(1.0)


def test_step_decay_matches_torch_steplr_values() -> None:
    s = StepDecay(0.5, step_size=3, gamma=0.1)
    got = [s(t) for t in range(8)]
    want = [0.5, 0.5, 0.5, 0.05, 0.05, 0.05, 0.005, 0.005]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_cosine_decay_warmup_midpoint_and_final() -> None:
    s = CosineDecay(1.0, decay_steps=100, warmup_steps=10, final=0.1, warmup_start=0.2)
    assert s(0) == 0.2  # warmup starts at warmup_start
    assert s(5) == pytest.approx(0.6)  # half way up the linear warmup
    assert s(10) == 1.0  # the warmup ends at the peak
    assert s(35) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4)))
    assert s(60) == pytest.approx(0.55)  # the cosine's midpoint: (initial + final) / 2
    assert s(110) == pytest.approx(0.1) and s(5000) == 0.1  # final from the end on
    values = [s(t) for t in range(10, 111)]
    assert all(a >= b for a, b in itertools.pairwise(values))  # decays monotonically
    plain = CosineDecay(2.0, decay_steps=4)
    np.testing.assert_allclose([plain(t) for t in range(6)],
                               [2.0, 2 * (0.5 + 0.5 * math.cos(math.pi / 4)), 1.0,
                                2 * (0.5 - 0.5 * math.cos(math.pi / 4)), 0.0, 0.0], atol=1e-15)


@pytest.mark.parametrize("schedule", [
    Constant(0.1), StepDecay(0.1, step_size=7, gamma=0.5),
    CosineDecay(0.3, decay_steps=50, warmup_steps=5, final=0.01, warmup_start=0.001)],
    ids=lambda s: type(s).__name__)
def test_schedules_round_trip_through_json(schedule: Schedule) -> None:
    data = json.loads(json.dumps(serialize_schedule(schedule)))
    assert data["class"] == type(schedule).__name__
    again = deserialize_schedule(data)
    assert again == schedule and [again(t) for t in range(60)] == [schedule(t) for t in range(60)]
    assert type(schedule).from_config(schedule.get_config()) == schedule
    assert "StepDecay" in registered() and repr(again).startswith(type(schedule).__name__ + "(")


class Linear(Schedule):
    def __init__(self, start: float, *, slope: float) -> None:
        self.start = start
        self.slope = slope

    def __call__(self, step: int) -> float:
        return self.start + self.slope * step


def test_a_user_schedule_is_serialised_from_its_attributes() -> None:
    s = Linear(1.0, slope=-0.1)
    assert serialize_schedule(s) == {"class": "Linear", "config": {"start": 1.0, "slope": -0.1}}
    assert deserialize_schedule(serialize_schedule(s))(3) == pytest.approx(0.7)


@pytest.mark.parametrize(("build", "match"), [
    (lambda: Constant(-1.0), r"Constant: value must be >= 0, got -1.0"),
    (lambda: Constant(float("inf")), r"value must be a finite number, got inf"),
    (lambda: StepDecay(0.1, step_size=0), r"step_size must be an integer >= 1, got 0"),
    (lambda: StepDecay(0.1, step_size=2.5), r"step_size must be an integer >= 1, got 2.5"),
    (lambda: CosineDecay(0.1, decay_steps=0), r"decay_steps must be an integer >= 1, got 0"),
    (lambda: CosineDecay(0.1, decay_steps=5, warmup_steps=-1), r"warmup_steps .* got -1"),
    (lambda: CosineDecay(0.1, decay_steps=5, final=True), r"final must be a finite number"),
    (lambda: deserialize_schedule({"class": "Cyclic", "config": {}}),
     r"no schedule class named 'Cyclic'"),
    (lambda: deserialize_schedule({"class": "Constant", "config": {"v": 1}}), r"'v'"),
    (lambda: serialize_schedule(0.1), r"expected an ember_nn.Schedule, got float"),
    (lambda: as_schedule(lambda step: 0.1), r"plain callable"),
])
def test_schedule_errors_name_the_value(build: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build()


def test_steps_must_be_non_negative_integers() -> None:
    with pytest.raises(ember.ArgumentError, match=r"step must be an integer >= 0, got -1"):
        Constant(0.1)(-1)
    with pytest.raises(ember.ArgumentError, match=r"got 1.5"):
        StepDecay(0.1, step_size=2)(1.5)  # type: ignore[arg-type]


# -- optimisers with schedules -------------------------------------------------------------------
def test_the_first_update_uses_schedule_at_step_0(backend: str) -> None:
    w = ember.Variable([1.0, 2.0])
    opt = SGD(StepDecay(1.0, step_size=1, gamma=0.5))
    seen = []
    for _ in range(3):
        seen.append(opt.learning_rate)
        before = np.asarray(w.numpy())
        opt.apply([("w", w, ember.tensor([1.0, 1.0]))])
        np.testing.assert_allclose(before - np.asarray(w.numpy()), [seen[-1]] * 2, rtol=1e-6)
    assert seen == [1.0, 0.5, 0.25] and opt.learning_rate == 0.125 and opt.step == 3


def test_scheduled_sgd_matches_torch_lambdalr(backend: str) -> None:
    torch = pytest.importorskip("torch")
    sched = CosineDecay(0.1, decay_steps=4, warmup_steps=2, final=0.01)
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(4).astype(np.float32) for _ in range(7)]
    start = np.array([0.5, -1.0, 2.0, 0.0], dtype=np.float32)
    tp = torch.tensor(start, requires_grad=True)
    topt = torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    tsched = torch.optim.lr_scheduler.LambdaLR(topt, lambda step: sched(step) / 0.1)
    w = ember.Variable(start)
    opt = SGD(sched, momentum=0.9)
    for g in grads:
        assert opt.learning_rate == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)
        tp.grad = torch.tensor(g)
        topt.step()
        tsched.step()
        opt.apply([("w", w, ember.asarray(g))])
    np.testing.assert_allclose(w.numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-7)


def test_an_optimiser_config_holds_its_schedule() -> None:
    opt = Adam(CosineDecay(0.01, decay_steps=10, warmup_steps=2), clip_norm=1.0)
    cfg = opt.get_config()
    assert cfg["learning_rate"] == {"class": "CosineDecay", "config": {
        "initial": 0.01, "decay_steps": 10, "warmup_steps": 2, "final": 0.0,
        "warmup_start": 0.0}}
    again = deserialize(json.loads(json.dumps({"class": "Adam", "config": cfg})))
    assert again.schedule == opt.schedule and again.get_config() == cfg
    # a config whose schedule is already built (as a run config produces) works too
    built = Adam.from_config({**cfg, "learning_rate": StepDecay(0.1, step_size=2)})
    assert built.learning_rate == 0.1
    assert Adam(0.5).get_config()["learning_rate"] == 0.5  # a number stays a number


def test_a_schedule_going_negative_is_refused_at_the_update(backend: str) -> None:
    w = ember.Variable([1.0])
    opt = SGD(Linear(0.1, slope=-0.1))
    opt.apply([("w", w, ember.tensor([1.0]))])
    with pytest.raises(ConfigError, match=r"learning rate at step 2 is -0.1"):
        opt.apply([("w", w, ember.tensor([1.0]))])
        opt.apply([("w", w, ember.tensor([1.0]))])
    assert opt.step == 2
