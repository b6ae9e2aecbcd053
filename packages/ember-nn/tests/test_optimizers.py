"""Optimisers and gradient clipping: values against NumPy (and torch.optim where installed),
state dicts, configs, errors."""

from __future__ import annotations

import json
from typing import Any

import ember
import numpy as np
import pytest
from ember_nn import ConfigError, StateError
from ember_nn.optim import clip_by_global_norm
from ember_nn.optim._optimizers import SGD, Adam, AdamW, RMSprop, deserialize, serialize
from optim_support import (
    CASES,
    IDS,
    P0,
    H,
    Quad,
    T,
    make,
    reference_clip,
    reference_run,
    run,
    tape_grads,
    values,
)


@pytest.mark.parametrize(("name", "cfg"), CASES, ids=IDS)
def test_steps_match_numpy(backend: str, name: str, cfg: dict[str, Any]) -> None:
    model, opt = Quad(), make(name, cfg)
    run(opt, model, 6)
    ref = reference_run(name, cfg, 6)
    got = values(model)
    for k in ("w", "b"):
        np.testing.assert_allclose(got[k], ref[k], rtol=2e-5, atol=2e-6, err_msg=k)
    assert opt.step == 6
    assert model.count.tolist() == 0  # non-trainable variables are left alone


def test_minimises_a_quadratic(backend: str) -> None:
    for opt, steps in ((Adam(0.1), 400), (SGD(0.1, momentum=0.9, nesterov=True), 300)):
        model = Quad()
        run(opt, model, steps)
        for k, v in values(model).items():
            np.testing.assert_allclose(v, T[k], atol=1e-3, err_msg=f"{type(opt).__name__} {k}")


# -- against torch.optim, with the same gradients ------------------------------------------------
TORCH_CASES = [
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.5, "dampening": 0.2}),
    ("Adam", {"learning_rate": 0.02, "beta1": 0.85, "weight_decay": 0.05}),
    ("AdamW", {"learning_rate": 0.02, "weight_decay": 0.2}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.9}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "weight_decay": 0.1}),
    ("Adam", {"learning_rate": 0.02, "clip_norm": 0.7}),
]


def torch_kwargs(name: str, cfg: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in cfg.items() if k not in ("learning_rate", "beta1", "beta2",
                                                      "clip_norm")}
    out["lr"] = cfg["learning_rate"]
    if name in ("Adam", "AdamW"):
        out["betas"] = (cfg.get("beta1", 0.9), cfg.get("beta2", 0.999))
    if name in ("SGD", "Adam", "AdamW", "RMSprop"):
        out["foreach"] = False
    return out


@pytest.mark.parametrize(("name", "cfg"), TORCH_CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(TORCH_CASES)])
def test_steps_match_torch_optim(backend: str, name: str, cfg: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    grads = [{k: rng.standard_normal(v.shape).astype(np.float32) for k, v in P0.items()}
             for _ in range(5)]
    tp = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True) for k, v in P0.items()}
    topt = getattr(torch.optim, name)(list(tp.values()), **torch_kwargs(name, cfg))
    model, opt = Quad(), make(name, cfg)
    for g in grads:
        for k, p in tp.items():
            p.grad = torch.tensor(g[k])
        if cfg.get("clip_norm") is not None:
            torch.nn.utils.clip_grad_norm_(list(tp.values()), cfg["clip_norm"])
        topt.step()
        opt.update(model, {k: ember.asarray(v) for k, v in g.items()})
    got = values(model)
    for k, p in tp.items():
        np.testing.assert_allclose(got[k], p.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    if name in ("Adam", "AdamW"):  # the slots are torch's, by name and value
        state = opt.state_dict()["slots"]["w"]
        tstate = topt.state[tp["w"]]
        for slot in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(state[slot].numpy(), tstate[slot].numpy(), rtol=1e-5,
                                       atol=1e-7)


# -- clipping ------------------------------------------------------------------------------------
def test_clip_by_global_norm_matches_numpy(backend: str) -> None:
    rng = np.random.default_rng(1)
    g = {"a": rng.standard_normal((3, 4)).astype(np.float32),
         "b": rng.standard_normal(5).astype(np.float32)}
    grads = {"a": ember.asarray(g["a"]), "none": None, "b": ember.asarray(g["b"])}
    clipped, norm = clip_by_global_norm(grads, 0.5)
    ref, ref_norm = reference_clip(g, 0.5)
    assert list(clipped) == ["a", "none", "b"] and clipped["none"] is None
    assert norm.shape == () and norm.dtype == ember.float32 and norm.backend == backend
    np.testing.assert_allclose(float(norm), ref_norm, rtol=1e-6)
    for k in ("a", "b"):
        assert clipped[k].dtype == ember.float32
        np.testing.assert_allclose(clipped[k].numpy(), ref[k], rtol=1e-6, err_msg=k)
    total = np.sqrt(sum(np.sum(clipped[k].numpy().astype(np.float64) ** 2) for k in ("a", "b")))
    assert abs(total - 0.5) < 1e-5


def test_clip_below_the_threshold_leaves_gradients_unchanged(backend: str) -> None:
    g = {"a": ember.tensor([[0.3, -0.4]]), "b": ember.tensor([0.0])}
    clipped, norm = clip_by_global_norm(g, 10.0)
    assert clipped["a"].tolist() == g["a"].tolist() and clipped["b"].tolist() == [0.0]
    np.testing.assert_allclose(float(norm), 0.5, rtol=1e-6)
    empty, zero = clip_by_global_norm({"x": None}, 1.0)
    assert empty == {"x": None} and float(zero) == 0.0


def test_clip_keeps_dtypes_and_measures_half_precision_in_float32(backend: str) -> None:
    g = {"h": ember.full((10_000,), 1000.0, dtype=ember.float16),
         "d": ember.tensor([3.0, 4.0], dtype=ember.float64)}
    clipped, norm = clip_by_global_norm(g, 1.0)
    assert norm.dtype == ember.float64  # the widest of float32 (half measured in it), float64
    np.testing.assert_allclose(float(norm), np.sqrt(1e10 + 25.0), rtol=2e-5)  # > float16 max
    assert clipped["h"].dtype == ember.float16 and clipped["d"].dtype == ember.float64
    np.testing.assert_allclose(clipped["d"].numpy(), np.array([3.0, 4.0]) / 1e5, rtol=2e-5)


def test_clip_errors(backend: str) -> None:
    with pytest.raises(ember.ArgumentError, match=r"max_norm must be a finite number > 0, got 0"):
        clip_by_global_norm({"a": ember.ones((2,))}, 0)
    with pytest.raises(ember.ArgumentError, match="mapping"):
        clip_by_global_norm([ember.ones((2,))], 1.0)  # type: ignore[arg-type]
    with pytest.raises(ember.ArgumentError, match=r"gradient 'a' is a list"):
        clip_by_global_norm({"a": [1.0]}, 1.0)  # type: ignore[dict-item]
    with pytest.raises(ember.DTypeError, match=r"'i' has dtype int64"):
        clip_by_global_norm({"i": ember.tensor([1, 2])}, 1.0)


# -- update() errors -----------------------------------------------------------------------------
def test_update_errors_change_nothing(backend: str) -> None:
    model, opt = Quad(), Adam(0.1)
    g = tape_grads(model)
    before = values(model)
    with pytest.raises(StateError, match=r"not variables of the model: \['bogus'\]"):
        opt.update(model, {**g, "bogus": ember.ones((1,))})
    with pytest.raises(StateError, match=r"not trainable: \['count'\]"):
        opt.update(model, {**g, "count": ember.zeros((), dtype=ember.int64)})
    with pytest.raises(ember.ShapeError, match=r"'b' has shape \(4,\) but the variable has shape "
                                               r"\(3,\)"):
        opt.update(model, {**g, "b": ember.ones((4,))})
    with pytest.raises(ember.DTypeError, match=r"'b' is float64 but the variable is float32"):
        opt.update(model, {**g, "b": ember.ones((3,), dtype=ember.float64)})
    with pytest.raises(ember.ArgumentError, match=r"gradient for 'b' is a list"):
        opt.update(model, {**g, "b": [1.0, 2.0, 3.0]})
    with pytest.raises(ember.ArgumentError, match="mapping"):
        opt.update(model, list(g.values()))  # type: ignore[arg-type]
    with pytest.raises(ember.ArgumentError, match="appears twice"):
        opt.apply([("w", model.w, g["w"]), ("w", model.w, g["w"])])
    assert opt.step == 0 and opt.state_dict()["slots"] == {}
    assert all((values(model)[k] == v).all() for k, v in before.items())
    opt.update(model, {"w": None, "b": None})  # nothing to do, but a step is counted
    assert opt.step == 1 and all((values(model)[k] == v).all() for k, v in before.items())


def test_update_inside_a_recording_tape(backend: str) -> None:
    model, opt = Quad(), SGD(0.1, momentum=0.9)
    plain, plain_opt = Quad(), SGD(0.1, momentum=0.9)
    for _ in range(2):
        with ember.GradientTape() as tape:
            loss = model()
            grads = dict(zip(("w", "b"), tape.gradient(loss, [model.w, model.b]), strict=True))
        with ember.GradientTape(persistent=True):
            _ = model() * 2.0  # the variables are read (watched) by a recording tape
            opt.update(model, grads)
        plain_opt.update(plain, tape_grads(plain))
    for k, v in values(model).items():
        np.testing.assert_allclose(v, values(plain)[k], rtol=1e-6, err_msg=k)
    g = tape_grads(model)  # the variables still differentiate normally afterwards
    np.testing.assert_allclose(g["b"].numpy(), H["b"] * (values(model)["b"] - T["b"]), rtol=1e-5)


# -- configuration -------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "cfg"), CASES, ids=IDS)
def test_config_round_trips_through_json(name: str, cfg: dict[str, Any]) -> None:
    opt = make(name, cfg)
    data = json.loads(json.dumps(serialize(opt)))
    again = deserialize(data)
    assert type(again) is type(opt) and again.get_config() == opt.get_config()
    assert all(opt.get_config()[k] == v for k, v in cfg.items())
    assert type(opt).from_config(opt.get_config()).get_config() == opt.get_config()


def test_defaults() -> None:
    assert Adam().get_config() == {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999,
                                   "eps": 1e-8, "weight_decay": 0.0, "clip_norm": None}
    assert AdamW().weight_decay == 0.01
    assert RMSprop(0.01).get_config()["alpha"] == 0.99
    assert "Adam(0.001, beta1=0.9" in repr(Adam())


@pytest.mark.parametrize(("build", "match"), [
    (lambda: SGD(-0.1), r"learning_rate must be a finite number >= 0, got -0.1"),
    (lambda: SGD(float("nan")), r"learning_rate must be a finite number >= 0, got nan"),
    (lambda: SGD("fast"), r"learning_rate: expected a float or an ember_nn.Schedule"),
    (lambda: SGD(lambda step: 0.1), r"plain callable.*subclass ember_nn.Schedule"),
    (lambda: SGD(0.1, nesterov=True), r"nesterov=True needs momentum > 0 and dampening == 0"),
    (lambda: SGD(0.1, momentum=0.9, nesterov=True, dampening=0.1), r"dampening=0.1"),
    (lambda: SGD(0.1, momentum=-0.5), r"SGD: momentum must be in \[0, inf\), got -0.5"),
    (lambda: SGD(0.1, dampening=1.5), r"dampening must be in \[0, 1.0\], got 1.5"),
    (lambda: SGD(0.1, nesterov=1), r"nesterov must be True or False, got 1"),
    (lambda: Adam(beta1=1.0), r"Adam: beta1 must be in \[0, 1.0\), got 1.0"),
    (lambda: Adam(beta2=-0.1), r"beta2 must be in \[0, 1.0\), got -0.1"),
    (lambda: Adam(eps=-1e-8), r"eps must be in \[0, inf\), got -1e-08"),
    (lambda: AdamW(weight_decay=-0.01), r"AdamW: weight_decay must be in \[0, inf\)"),
    (lambda: Adam(clip_norm=0.0), r"clip_norm: max_norm must be a finite number > 0, got 0.0"),
    (lambda: RMSprop(0.01, alpha=1.5), r"alpha must be in \[0, 1.0\], got 1.5"),
    (lambda: RMSprop(0.01, centered="yes"), r"centered must be True or False"),
    (lambda: Adam(beta1="0.9"), r"beta1 must be a finite number, got '0.9'"),
    (lambda: Adam.from_config({"learning_rate": 0.1, "betas": [0.9, 0.99]}), r"betas"),
    (lambda: deserialize({"class": "Lion", "config": {}}), r"no optimiser class named 'Lion'"),
    (lambda: deserialize({"config": {}}), r"expected \{'class'"),
    (lambda: serialize("Adam"),  # type: ignore[arg-type]
     r"expected an ember_nn optimiser, got str"),
])
def test_configuration_errors_name_the_value(build: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build()


def test_hyperparameters_may_change_between_updates_and_are_checked(backend: str) -> None:
    model, opt = Quad(), SGD(0.1)
    run(opt, model, 1)
    opt.momentum = 0.9  # turns the buffer on from now (torch lets param_groups change too)
    opt.learning_rate = 0.05
    run(opt, model, 1)
    assert sorted(opt.state_dict()["slots"]["w"]) == ["momentum_buffer"]
    p = {k: v.astype(np.float64) for k, v in P0.items()}
    p = {k: p[k] - 0.1 * H[k] * (p[k] - T[k]) for k in p}
    p = {k: p[k] - 0.05 * H[k] * (p[k] - T[k]) for k in p}  # buffer starts as the gradient
    for k, v in values(model).items():
        np.testing.assert_allclose(v, p[k], rtol=1e-5, err_msg=k)
    opt.momentum = -1.0
    with pytest.raises(ConfigError, match=r"momentum must be in \[0, inf\), got -1.0"):
        run(opt, model, 1)
    assert opt.step == 2
