"""Auxiliary losses (``ember_nn.add_loss`` / ``collect_losses``) and how they reach training:
``value_and_grad``, ``compile_step``, ``MixedPrecision.step`` and the ``Trainer`` differentiate
the loss plus the layers' auxiliary losses; the history logs them apart as ``"aux_loss"``.

torch's compiled step (inductor, ~30-60 s per program on a CPU) runs in ``nox -s slow``
(EMBER_SLOW=1), as in test_compile_step.py."""

from __future__ import annotations

import doctest
import os
import warnings
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn._core import _aux_losses
from ember_nn.mixers.channel import MoE


class _Penalised(ember_nn.Module):
    """A Dense layer that adds ``0.5 * sum(weight ** 2)`` as an auxiliary loss."""

    def __init__(self, key: int = 0) -> None:
        super().__init__()
        self.dense = ember_nn.Dense(3, 1, key=key)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        ember_nn.add_loss(0.5 * ember.sum(self.dense.weight ** 2), "l2")
        return self.dense(x)


def _data() -> tuple[ember.Tensor, ember.Tensor]:
    rng = np.random.default_rng(0)
    return (ember.asarray(rng.standard_normal((8, 3)).astype(np.float32)),
            ember.asarray(rng.standard_normal((8, 1)).astype(np.float32)))


def test_collectors_receive_what_layers_add_innermost_first() -> None:
    ember_nn.add_loss(ember.asarray(1.0), "nowhere")  # no collector: nothing, no error
    with ember_nn.collect_losses() as outer:
        ember_nn.add_loss(ember.asarray(1.0), "a")
        with ember_nn.collect_losses() as inner:
            ember_nn.add_loss(ember.asarray([2.0]), "b")  # one element: kept as a scalar
        ember_nn.add_loss(ember.asarray(3.0))
    assert [(n, v.item()) for n, v in outer] == [("a", 1.0), ("aux_loss", 3.0)]
    assert [(n, v.item(), v.shape) for n, v in inner] == [("b", 2.0, ())]
    total = _aux_losses.sum_losses(outer)
    assert total is not None and total.item() == 4.0 and _aux_losses.sum_losses([]) is None
    with ember_nn.collect_losses() as after:
        pass
    assert after == []


def test_bad_losses_are_errors() -> None:
    with pytest.raises(ember.ShapeError, match=r"add_loss\('x'\): value must be a scalar tensor "
                                               r"\(one element\), got Tensor of shape \(2,\)"):
        ember_nn.add_loss(ember.ones((2,)), "x")
    with pytest.raises(ember.ShapeError, match=r"got float of shape None"):
        ember_nn.add_loss(1.0, "x")
    with pytest.raises(ember.ArgumentError, match=r"name must be a non-empty str, got 3"):
        ember_nn.add_loss(ember.asarray(1.0), 3)  # type: ignore[arg-type]


def test_value_and_grad_differentiates_the_loss_plus_the_auxiliary_losses(backend: str) -> None:
    model = _Penalised()
    x, y = _data()
    w = model.dense.weight.numpy()

    def task() -> ember.Tensor:
        return ember.mean((model(x) - y) ** 2)

    def task_alone() -> ember.Tensor:  # a collector inside fn keeps the terms from the step
        with ember_nn.collect_losses() as parts:
            loss = task()
        assert [name for name, _ in parts] == ["l2"]
        return loss

    plain, plain_grads = ember_nn.value_and_grad(model, task_alone)()
    total, grads = ember_nn.value_and_grad(model, task)()
    np.testing.assert_allclose(total.item(), plain.item() + 0.5 * np.sum(w ** 2), rtol=1e-6)
    np.testing.assert_allclose(grads["dense.weight"].numpy(),
                               plain_grads["dense.weight"].numpy() + w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grads["dense.bias"].numpy(), plain_grads["dense.bias"].numpy(),
                               rtol=1e-6)
    (loss, aux), _ = ember_nn.value_and_grad(model, lambda: (task(), "aux"), has_aux=True)()
    assert aux == "aux" and loss.item() == pytest.approx(total.item(), rel=1e-6)


def test_the_trainer_logs_the_loss_and_the_aux_loss_apart(backend: str) -> None:
    x, y = _data()
    model = _Penalised()
    w = model.dense.weight.numpy()
    task = float(ember.mean((model(x) - y) ** 2))
    trainer = ember_nn.Trainer(model, ember_nn.SGD(0.0), progress=False)
    history = trainer.fit(x, y, epochs=2, batch_size=8, shuffle=False, validation_data=(x, y))
    assert sorted(history) == ["aux_loss", "loss", "val_loss"]
    # lr 0: the weights do not move; "loss" is the mse alone (as val_loss), aux_loss the rest
    assert history["loss"] == pytest.approx([task, task], rel=1e-5)
    assert history["val_loss"][0] == pytest.approx(task, rel=1e-5)
    assert history["aux_loss"] == pytest.approx([0.5 * np.sum(w ** 2)] * 2, rel=1e-5)
    loss, pred = trainer.train_step(x, y)
    assert loss.item() == pytest.approx(task, rel=1e-5) and pred.shape == (8, 1)
    # a model that adds none logs none
    plain = ember_nn.Trainer(ember_nn.Dense(3, 1, key=0), ember_nn.SGD(0.1), progress=False)
    assert "aux_loss" not in plain.fit(x, y, epochs=1, batch_size=4)


def test_the_trainer_minimises_the_aux_loss_too(backend: str) -> None:
    x, y = _data()
    model = _Penalised()
    history = ember_nn.Trainer(model, ember_nn.SGD(0.1), progress=False).fit(
        x, y, epochs=10, batch_size=8)
    assert history["aux_loss"][-1] < 0.5 * history["aux_loss"][0]


def _moe_model(key: int = 0) -> ember_nn.Module:
    return ember_nn.Sequential(
        ember_nn.Dense(4, 6, key=key),
        MoE(6, num_experts=4, active_experts=2, dim_inner=5, aux_loss_weight=0.5, key=key + 1),
        ember_nn.Dense(6, 2, key=key + 2))


def _skip_slow_torch(backend: str) -> None:
    if backend == "torch" and not os.environ.get("EMBER_SLOW"):
        pytest.skip("inductor takes ~30-60 s per program on a CPU: runs in `nox -s slow`")


def test_compile_step_and_the_eager_step_give_the_same_losses_with_an_moe(backend: str) -> None:
    """The load-balancing loss is part of the compiled program: same total losses and weights
    as value_and_grad + Optimizer.update, which differ from the task loss alone."""
    _skip_slow_torch(backend)
    rng = np.random.default_rng(1)
    batches = [(ember.asarray(rng.standard_normal((6, 4)).astype(np.float32)),
                ember.asarray(rng.standard_normal((6, 2)).astype(np.float32))) for _ in range(3)]
    runs = []
    for compiled in (False, True):
        model, opt = _moe_model(), ember_nn.Adam(1e-2)

        def loss_fn(xb: Any, yb: Any, model: Any = model) -> Any:
            return ember.mean((model(xb) - yb) ** 2)

        if compiled:
            step = ember_nn.compile_step(model, loss_fn, opt)
            with warnings.catch_warnings():
                warnings.simplefilter("error", ember.CompileWarning)  # no eager fallback
                losses = [float(step(xb, yb)) for xb, yb in batches]
            if backend != "numpy":
                assert step.stats.traces == 1 and step.stats.fallback is None
        else:
            vg = ember_nn.value_and_grad(model, loss_fn)
            losses = []
            for xb, yb in batches:
                with ember_nn.collect_losses() as parts:
                    task = float(loss_fn(xb, yb))  # the task loss alone, for comparison
                assert len(parts) == 1
                loss, grads = vg(xb, yb)
                assert float(loss) > task + 0.4  # + 0.5 * balance loss (>= 1)
                opt.update(model, grads)
                losses.append(float(loss))
        runs.append((losses, [v.numpy() for v in model.variables]))
    (eager, w_eager), (comp, w_comp) = runs
    np.testing.assert_allclose(comp, eager, rtol=1e-5, atol=1e-6)
    for a, b in zip(w_eager, w_comp, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_a_compiled_trainer_logs_the_aux_loss_as_the_eager_one(backend: str) -> None:
    _skip_slow_torch(backend)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((12, 4)).astype(np.float32)
    y = rng.standard_normal((12, 2)).astype(np.float32)
    histories = []
    for compiled in (False, True):
        trainer = ember_nn.Trainer(_moe_model(), ember_nn.Adam(1e-2), compile=compiled,
                                   progress=False)
        histories.append(trainer.fit(x, y, epochs=2, batch_size=6, shuffle=False))
    eager, comp = histories
    assert sorted(comp) == ["aux_loss", "loss"]
    for key in ("loss", "aux_loss"):
        np.testing.assert_allclose(comp[key], eager[key], rtol=1e-5, atol=1e-6)
    assert all(v >= 0.5 * 0.999 for v in eager["aux_loss"])  # 0.5 * (a balance loss >= 1)


def test_mixed_precision_adds_the_aux_losses(backend: str) -> None:
    if backend == "numpy":
        pytest.skip("numpy has no bfloat16")
    x, y = _data()
    model = _Penalised()
    w = model.dense.weight.numpy()
    task = float(ember.mean((model(x) - y) ** 2))
    mixed = ember_nn.MixedPrecision(model, ember_nn.SGD(0.0), "bf16-mixed")
    loss = mixed.step(lambda m, xb, yb: ember.mean((ember.astype(m(xb), ember.float32) - yb)
                                                    ** 2), x, y)
    assert float(loss) == pytest.approx(task + 0.5 * np.sum(w ** 2), rel=2e-2)
    history = ember_nn.Trainer(_Penalised(), ember_nn.SGD(0.0), precision="bf16-mixed",
                               progress=False).fit(x, y, epochs=1, batch_size=8)
    assert history["loss"][0] == pytest.approx(task, rel=2e-2)
    assert history["aux_loss"][0] == pytest.approx(0.5 * np.sum(w ** 2), rel=2e-2)


def test_docstring_examples() -> None:
    result = doctest.testmod(_aux_losses, extraglobs={"ember": ember, "ember_nn": ember_nn})
    assert result.failed == 0 and result.attempted > 0
