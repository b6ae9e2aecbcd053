"""Optimiser state: slots, state dicts across steps and backends, packed updates, half
precision."""

from __future__ import annotations

import json
from typing import Any

import ember
import numpy as np
import pytest
from ember.testing import loadable_backends
from ember_nn import ConfigError, Module, StateError
from ember_nn.optim._optimizers import SGD, Adam, RMSprop, deserialize
from optim_support import P0, Quad, make, reference_run, run, tape_grads, values

# -- slots, state dicts --------------------------------------------------------------------------
STATE_CASES = [
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"learning_rate": 0.05, "weight_decay": 0.1, "clip_norm": 2.0}),
    ("AdamW", {"learning_rate": 0.05}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.9}),
]


def test_slots_are_made_at_the_first_update_in_the_variable_dtype(backend: str) -> None:
    model = Quad(dtype=ember.float64)
    opt = RMSprop(0.01, centered=True, momentum=0.5)
    assert opt.state_dict()["slots"] == {}
    opt.update(model, {"w": tape_grads(model)["w"], "b": None})  # b has no gradient yet
    slots = opt.state_dict()["slots"]
    assert list(slots) == ["w"]
    assert sorted(slots["w"]) == ["grad_avg", "momentum_buffer", "square_avg"]
    for t in slots["w"].values():
        assert (t.dtype, t.backend, t.shape) == (ember.float64, backend, (2, 3))
    np.testing.assert_array_equal(model.b.numpy(), P0["b"])
    opt.update(model, tape_grads(model))
    assert sorted(opt.state_dict()["slots"]) == ["b", "w"] and opt.step == 2


@pytest.mark.parametrize(("name", "cfg"), STATE_CASES, ids=[n for n, _ in STATE_CASES])
def test_state_dict_round_trip_continues_like_an_uninterrupted_run(
        backend: str, name: str, cfg: dict[str, Any]) -> None:
    straight, opt = Quad(), make(name, cfg)
    run(opt, straight, 5)

    model, first = Quad(), make(name, cfg)
    run(first, model, 3)
    state = first.state_dict()
    assert state["step"] == 3 and json.loads(json.dumps(state["config"])) == state["config"]
    resumed = Quad()
    resumed.load_state_dict(model.state_dict())
    second = deserialize({"class": name, "config": state["config"]})
    second.load_state_dict(state)
    assert second.step == 3
    assert sorted(second.state_dict()["slots"]) == ["b", "w"]  # kept while not yet placed
    run(second, resumed, 2)
    assert second.step == 5
    for k, v in values(resumed).items():
        np.testing.assert_allclose(v, values(straight)[k], rtol=1e-6, atol=1e-7, err_msg=k)
    for k, slots in opt.state_dict()["slots"].items():
        for s, t in slots.items():
            np.testing.assert_allclose(second.state_dict()["slots"][k][s].numpy(), t.numpy(),
                                       rtol=1e-6, atol=1e-7, err_msg=f"{k}.{s}")


@pytest.mark.parametrize("source", loadable_backends())
def test_slots_saved_on_another_backend_are_moved_and_cast(backend: str, source: str) -> None:
    if source == backend:
        pytest.skip("needs two different backends")
    cfg = {"learning_rate": 0.05, "weight_decay": 0.1}
    with ember.use_backend(source):
        src_model, src_opt = Quad(dtype=ember.float64), Adam(**cfg)
        run(src_opt, src_model, 3)
        state = src_opt.state_dict()
        params = src_model.state_dict()
    assert state["slots"]["w"]["exp_avg"].backend == source
    model, opt = Quad(), Adam(**cfg)  # float32, on `backend`
    model.load_state_dict(params)
    opt.load_state_dict(state)
    run(opt, model, 2)
    for slots in opt.state_dict()["slots"].values():
        for t in slots.values():
            assert (t.backend, t.dtype) == (backend, ember.float32)
    ref = reference_run("Adam", cfg, 5)
    for k, v in values(model).items():
        np.testing.assert_allclose(v, ref[k], rtol=2e-5, atol=2e-6, err_msg=k)


def test_a_model_moved_to_another_backend_keeps_its_slots(backend: str) -> None:
    others = [b for b in loadable_backends() if b != backend]
    if not others:
        pytest.skip("needs two different backends")
    cfg = {"learning_rate": 0.1, "momentum": 0.9}
    model, opt = Quad(), SGD(**cfg)
    run(opt, model, 2)
    model.to(others[0])
    with ember.use_backend(others[0]):
        run(opt, model, 3)
    assert opt.state_dict()["slots"]["w"]["momentum_buffer"].backend == others[0]
    ref = reference_run("SGD", cfg, 5)
    for k, v in values(model).items():
        np.testing.assert_allclose(v, ref[k], rtol=2e-5, atol=2e-6, err_msg=k)


def test_load_state_dict_errors_name_the_bad_entries(backend: str) -> None:
    model, opt = Quad(), Adam(0.1)
    run(opt, model, 1)
    good = opt.state_dict()
    fresh = Adam(0.1)
    with pytest.raises(StateError, match=r"missing keys \['step'\]"):
        fresh.load_state_dict({"slots": {}})
    with pytest.raises(StateError, match=r"'step' must be an integer >= 0, got -1"):
        fresh.load_state_dict({**good, "step": -1})
    with pytest.raises(StateError, match=r"'w': missing slots \['exp_avg_sq'\], unexpected "
                                         r"slots \['bogus'\]"):
        fresh.load_state_dict({**good, "slots": {"w": {"exp_avg": ember.zeros((2, 3)),
                                                       "bogus": ember.zeros((2, 3))}}})
    with pytest.raises(StateError, match=r"'b'.exp_avg: dtype int64"):
        fresh.load_state_dict({**good, "slots": {"b": {
            "exp_avg": ember.zeros((3,), dtype=ember.int64), "exp_avg_sq": ember.zeros((3,))}}})
    # a known variable's shape is checked at once
    with pytest.raises(StateError, match=r"'w': slot shapes .*the variable has shape \(2, 3\)"):
        opt.load_state_dict({**good, "slots": {"w": {"exp_avg": ember.zeros((3,)),
                                                     "exp_avg_sq": ember.zeros((3,))}}})
    assert fresh.step == 0 and opt.step == 1  # failed loads change nothing
    # a fresh optimiser checks shapes at the variable's first update, before changing anything
    fresh.load_state_dict({**good, "slots": {**good["slots"],
                                             "b": {"exp_avg": ember.zeros((4,)),
                                                   "exp_avg_sq": ember.zeros((4,))}}})
    before = values(model)
    with pytest.raises(StateError, match=r"slots kept for 'b' have shapes .*\(4,\).* shape \(3,\)"):
        fresh.update(model, tape_grads(model))
    assert fresh.step == 1 and all((values(model)[k] == v).all() for k, v in before.items())


def test_sgd_without_momentum_has_no_slots(backend: str) -> None:
    model, opt = Quad(), SGD(0.1)
    run(opt, model, 2)
    assert opt.state_dict()["slots"] == {"w": {}, "b": {}}
    with pytest.raises(StateError, match=r"unexpected slots \['momentum_buffer'\]"):
        SGD(0.1).load_state_dict({"step": 1, "slots": {"w": {"momentum_buffer": ember.ones((3,))}}})


# -- groups: one fused update call for all the variables of a (backend, device, dtype) ---------
MANY = {"s": (), "v": (3,), "m": (2, 3), "big": (4, 4), "u": (2,), "x": (2,)}


class Many(Module):
    def __init__(self, keys: tuple[str, ...] = tuple(MANY)) -> None:
        super().__init__()
        rng = np.random.default_rng(5)
        for k, shape in MANY.items():
            value = rng.standard_normal(shape).astype(np.float32)
            if k in keys:
                setattr(self, k, ember.Variable(value))


@pytest.mark.parametrize(("name", "cfg"), STATE_CASES, ids=[n for n, _ in STATE_CASES])
def test_group_updates_equal_one_variable_at_a_time(backend: str, name: str,
                                                     cfg: dict[str, Any]) -> None:
    rng = np.random.default_rng(11)
    seq = [{k: rng.standard_normal(s).astype(np.float32) for k, s in MANY.items()}
           for _ in range(7)]
    seq[3]["v"] = None  # a variable without a gradient this step
    seq[4]["s"] = None
    cfg = {k: v for k, v in cfg.items() if k != "clip_norm"}  # (clips by the group's norm)
    alone = {}
    for k in MANY:  # each variable with an optimiser of its own
        model, opt = Many((k,)), make(name, cfg)
        for t, g in enumerate(seq):
            if t == 5 and k == "m":  # assigned from outside
                model.m.assign(ember.full((2, 3), 0.5))
            opt.update(model, {} if g[k] is None else {k: ember.asarray(g[k])})
        alone[k] = (values(model)[k], opt.state_dict()["slots"][k])
    model, opt = Many(), make(name, cfg)
    for t, g in enumerate(seq):
        if t == 5:
            model.m.assign(ember.full((2, 3), 0.5))
        opt.update(model, {k: None if v is None else ember.asarray(v) for k, v in g.items()})
        if t == 2:  # a state dict taken and loaded back into the same optimiser
            state = opt.state_dict()
            assert {k: {n: t.shape for n, t in s.items()} for k, s in state["slots"].items()} \
                == {k: dict.fromkeys(opt._slot_names(), MANY[k]) for k in MANY}
            opt.load_state_dict(json_round_trip(state))
    got, slots = values(model), opt.state_dict()["slots"]
    for k in MANY:
        np.testing.assert_allclose(got[k], alone[k][0], rtol=1e-6, atol=1e-7, err_msg=k)
        for n, t in slots[k].items():
            np.testing.assert_allclose(t.numpy(), alone[k][1][n].numpy(), rtol=1e-6, atol=1e-7,
                                       err_msg=f"{k}.{n}")


@pytest.mark.parametrize(("name", "cfg"), STATE_CASES, ids=[n for n, _ in STATE_CASES])
def test_gradients_laid_out_unlike_their_variables(backend: str, name: str,
                                                   cfg: dict[str, Any]) -> None:
    """A weight used through its transpose gets its gradient as a transposed view (CfC's
    backbone does); the update must read it by its strides. torch's fused SGD/Adam kernels
    walk memory in order, and read such a gradient scrambled until the kernels copied it into
    the variable's layout."""
    rng = np.random.default_rng(3)
    seq = [{k: rng.standard_normal(s).astype(np.float32) for k, s in MANY.items()}
           for _ in range(4)]
    cfg = {k: v for k, v in cfg.items() if k != "clip_norm"}

    def transposed(g: np.ndarray) -> ember.Tensor:  # g's values, laid out column-major
        return ember.matrix_transpose(ember.asarray(np.ascontiguousarray(g.T))) \
            if g.ndim == 2 else ember.asarray(g)

    got = []
    for lay_out in (ember.asarray, transposed):
        model, opt = Many(), make(name, cfg)
        for g in seq:
            opt.update(model, {k: lay_out(v) for k, v in g.items()})
        got.append((values(model), opt.state_dict()["slots"]))
    (want, want_slots), (have, have_slots) = got
    for k in MANY:
        np.testing.assert_allclose(have[k], want[k], rtol=1e-6, atol=1e-7, err_msg=k)
        for n, t in have_slots[k].items():
            np.testing.assert_allclose(t.numpy(), want_slots[k][n].numpy(), rtol=1e-6,
                                       atol=1e-7, err_msg=f"{k}.{n}")


def json_round_trip(state: dict[str, Any]) -> dict[str, Any]:
    """The state with its config through JSON and its slots through NumPy (as a file would)."""
    return {"config": json.loads(json.dumps(state["config"])), "step": state["step"],
            "slots": {k: {n: np.asarray(t.numpy()) for n, t in s.items()}
                      for k, s in state["slots"].items()}}


def test_half_precision_variables(backend: str) -> None:
    model = Quad(dtype=ember.float16)
    before = values(model)
    with pytest.raises(ConfigError, match=r"Adam: eps = 1e-08 is 0 in float16 .*eps=1e-4"):
        Adam(0.05).update(model, tape_grads(model))  # 0/0 for a zero gradient otherwise
    assert all((values(model)[k] == v).all() for k, v in before.items())
    cfg = {"learning_rate": 0.05, "eps": 1e-4}
    opt = Adam(**cfg)
    run(opt, model, 5)
    ref = reference_run("Adam", cfg, 5)
    for k, v in values(model).items():
        np.testing.assert_allclose(v, ref[k], rtol=1e-2, atol=1e-2, err_msg=k)
    assert {t.dtype for s in opt.state_dict()["slots"].values() for t in s.values()} == {
        ember.float16}
    w = ember.Variable(ember.zeros((3,), dtype=ember.float16))
    for o in (Adam(0.1, eps=1e-4), RMSprop(0.1, eps=1e-4, centered=True)):
        for _ in range(2):
            o.apply([("w", w, ember.tensor([0.0, 1.0, -1.0], dtype=ember.float16))])
        assert np.isfinite(w.numpy()).all() and w.numpy()[0] == 0.0
