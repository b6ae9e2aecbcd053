"""``ember_nn.optim.CosineAnnealing`` against ``torch.optim.lr_scheduler.CosineAnnealingLR``
stepped once per epoch (MAD-Lab's schedule), and its place in an optimiser."""

from __future__ import annotations

import math

import ember
import ember_nn
import pytest
from ember_nn.optim import CosineAnnealing
from ember_nn.optim._schedules import deserialize, serialize

torch = pytest.importorskip("torch")


def _torch_rates(lr: float, t_max: int, eta_min: float, epochs: int) -> list[float]:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize(("lr", "t_max", "eta_min"),
                         [(5e-4, 200, 1e-6), (1e-3, 7, 0.0), (1e-4, 3, 1e-6)])
def test_epoch_rates_equal_torch(lr: float, t_max: int, eta_min: float) -> None:
    ours = CosineAnnealing(lr, t_max=t_max, eta_min=eta_min, steps_per_epoch=5)
    want = _torch_rates(lr, t_max, eta_min, t_max + 1)
    for epoch, w in enumerate(want):
        for k in range(5):  # every update of the epoch has the epoch's rate
            assert math.isclose(ours(epoch * 5 + k), w, rel_tol=1e-12, abs_tol=1e-15)


def test_optimizer_uses_the_epoch_rate() -> None:
    sched = CosineAnnealing(1.0, t_max=2, eta_min=0.0, steps_per_epoch=2)
    opt = ember_nn.SGD(sched)
    w = ember.Variable([0.0])
    seen = []
    for _ in range(4):
        seen.append(opt.learning_rate)
        opt.apply([("w", w, ember.tensor([1.0]))])
    assert seen == pytest.approx([1.0, 1.0, 0.5, 0.5])


def test_json_and_errors() -> None:
    s = CosineAnnealing(0.1, t_max=10, eta_min=1e-6, steps_per_epoch=3)
    assert deserialize(serialize(s)) == s
    with pytest.raises(ember_nn.ConfigError, match="t_max must be an integer >= 1"):
        CosineAnnealing(0.1, t_max=0)
    with pytest.raises(ember_nn.ConfigError, match="steps_per_epoch"):
        CosineAnnealing(0.1, t_max=3, steps_per_epoch=0)
    with pytest.raises(ember.ArgumentError, match="step must be an integer >= 0"):
        s(-1)
