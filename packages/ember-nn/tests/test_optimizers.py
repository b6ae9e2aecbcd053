"""Optimisers and gradient clipping: values against NumPy (and torch.optim where installed),
state dicts, configs, errors."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import ember
import numpy as np
import pytest
from ember_nn._clip import clip_by_global_norm
from ember_nn._errors import ConfigError, StateError
from ember_nn._module import Module
from ember_nn._optimizers import SGD, Adam, AdamW, Optimizer, RMSprop, deserialize, serialize

CLASSES = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW, "RMSprop": RMSprop}

# 0.5 * sum(H * (p - T)**2) per variable: the gradient is H * (p - T)
H = {"w": np.array([[0.5, 1.0, 2.0], [1.5, 0.8, 1.2]]), "b": np.array([1.0, 3.0, 0.7])}
T = {"w": np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]), "b": np.array([0.5, -0.5, 2.0])}
P0 = {"w": np.array([[0.3, 0.1, -0.4], [0.9, -0.2, 0.6]]), "b": np.array([-1.0, 0.2, 0.1])}


class Quad(Module):
    def __init__(self, *, dtype: Any = ember.float32) -> None:
        super().__init__()
        self.w = ember.Variable(P0["w"], dtype=dtype)
        self.b = ember.Variable(P0["b"], dtype=dtype)
        self.count = ember.Variable(ember.zeros((), dtype=ember.int64), trainable=False)

    def forward(self) -> ember.Tensor:
        loss = ember.zeros((), dtype=self.w.dtype)
        for k in ("w", "b"):
            d = getattr(self, k) - ember.asarray(T[k], dtype=self.w.dtype)
            loss = loss + 0.5 * ember.sum(ember.asarray(H[k], dtype=self.w.dtype) * d * d)
        return loss


def tape_grads(model: Quad) -> dict[str, ember.Tensor]:
    with ember.GradientTape() as tape:
        loss = model()
    gw, gb = tape.gradient(loss, [model.w, model.b])
    return {"w": gw, "b": gb}


def values(model: Module) -> dict[str, np.ndarray]:
    return {k: np.asarray(v.numpy(), dtype=np.float64) for k, v in model.named_variables()
            if v.trainable}


# -- NumPy references (float64) of torch.optim's formulas ----------------------------------------
def reference_step(name: str, cfg: dict[str, Any], p: np.ndarray, g: np.ndarray,
                   st: dict[str, np.ndarray], t: int, lr: float) -> np.ndarray:
    wd = cfg.get("weight_decay", 0.01 if name == "AdamW" else 0.0)
    if name == "SGD":
        mom, damp = cfg.get("momentum", 0.0), cfg.get("dampening", 0.0)
        g = g + wd * p
        if mom:
            buf = g.copy() if "buf" not in st else mom * st["buf"] + (1 - damp) * g
            st["buf"] = buf
            g = g + mom * buf if cfg.get("nesterov", False) else buf
        return p - lr * g
    if name in ("Adam", "AdamW"):
        b1, b2, eps = cfg.get("beta1", 0.9), cfg.get("beta2", 0.999), cfg.get("eps", 1e-8)
        if name == "Adam":
            g = g + wd * p
        else:
            p = p * (1 - lr * wd)
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
        m_hat, v_hat = st["m"] / (1 - b1 ** t), st["v"] / (1 - b2 ** t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)
    alpha, eps, mom = cfg.get("alpha", 0.99), cfg.get("eps", 1e-8), cfg.get("momentum", 0.0)
    g = g + wd * p
    st["sq"] = alpha * st.get("sq", 0.0) + (1 - alpha) * g * g
    if cfg.get("centered", False):
        st["ga"] = alpha * st.get("ga", 0.0) + (1 - alpha) * g
        avg = np.sqrt(st["sq"] - st["ga"] ** 2) + eps
    else:
        avg = np.sqrt(st["sq"]) + eps
    if mom:
        st["buf"] = mom * st.get("buf", 0.0) + g / avg
        return p - lr * st["buf"]
    return p - lr * g / avg


def reference_clip(grads: dict[str, np.ndarray], max_norm: float) -> tuple[dict, float]:
    norm = float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads.values())))
    scale = min(1.0, max_norm / (norm + 1e-6))
    return {k: g * scale for k, g in grads.items()}, norm


def reference_run(name: str, cfg: dict[str, Any], steps: int,
                  lr_at: Any = None) -> dict[str, np.ndarray]:
    p = {k: v.astype(np.float64) for k, v in P0.items()}
    states: dict[str, dict[str, np.ndarray]] = {k: {} for k in p}
    for t in range(1, steps + 1):
        lr = cfg["learning_rate"] if lr_at is None else lr_at(t - 1)
        g = {k: H[k] * (p[k] - T[k]) for k in p}
        if cfg.get("clip_norm") is not None:
            g, _ = reference_clip(g, cfg["clip_norm"])
        p = {k: reference_step(name, cfg, p[k], g[k], states[k], t, lr) for k in p}
    return p


CASES = [
    ("SGD", {"learning_rate": 0.1}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.01}),
    ("Adam", {"learning_rate": 0.05}),
    ("Adam", {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-3,
              "weight_decay": 0.1}),
    ("AdamW", {"learning_rate": 0.05}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.3, "beta2": 0.9}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.01, "alpha": 0.9, "momentum": 0.5}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.9,
                 "weight_decay": 0.05}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "clip_norm": 0.5}),
    ("Adam", {"learning_rate": 0.05, "clip_norm": 1.0}),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in c.items() if k != 'learning_rate') or 'plain'}"
       for n, c in CASES]


def make(name: str, cfg: dict[str, Any]) -> Optimizer:
    return CLASSES[name](**cfg)


def run(opt: Optimizer, model: Quad, steps: int) -> None:
    for _ in range(steps):
        opt.update(model, tape_grads(model))


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


def _loaded_backends() -> list[str]:
    names = []
    for info in ember.backends():
        with contextlib.suppress(ember.EmberError):
            ember.load_backend(info.name)
            names.append(info.name)
    return names


@pytest.mark.parametrize("source", _loaded_backends())
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
    others = [b for b in _loaded_backends() if b != backend]
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


# -- packs: small variables updated as one flat tensor ------------------------------------------
MANY = {"s": (), "v": (3,), "m": (2, 3), "big": (4, 4), "u": (2,), "x": (2,)}


class Many(Module):
    def __init__(self) -> None:
        super().__init__()
        rng = np.random.default_rng(5)
        for k, shape in MANY.items():
            setattr(self, k, ember.Variable(rng.standard_normal(shape).astype(np.float32)))


@pytest.mark.parametrize(("name", "cfg"), STATE_CASES, ids=[n for n, _ in STATE_CASES])
def test_packed_updates_equal_one_at_a_time_updates(backend: str, name: str,
                                                    cfg: dict[str, Any]) -> None:
    rng = np.random.default_rng(11)
    seq = [{k: rng.standard_normal(s).astype(np.float32) for k, s in MANY.items()}
           for _ in range(7)]
    seq[3]["v"] = None  # a member without a gradient: the pack is re-formed without it
    seq[4]["s"] = None
    runs = []
    # off; "big" (16 elements) on its own; all in one pack; packs of at most 9 elements
    for limit, total in ((0, 0), (8, 1000), (1000, 1000), (1000, 9)):
        model, opt = Many(), make(name, cfg)
        opt.pack_max_size, opt.pack_max_total = limit, total
        packed_sizes = []
        for t, g in enumerate(seq):
            if t == 5:  # assigned from outside: the pack must read the new value
                model.m.assign(ember.full((2, 3), 0.5))
            opt.update(model, {k: None if v is None else ember.asarray(v) for k, v in g.items()})
            packed_sizes.append(opt._packs.count())
            if t == 2:  # a state dict taken while packed, loaded back into the same optimiser
                state = opt.state_dict()
                assert {k: {n: t.shape for n, t in s.items()} for k, s in state["slots"].items()} \
                    == {k: dict.fromkeys(opt._slot_names(), MANY[k]) for k in MANY}
                opt.load_state_dict(json_round_trip(state))
        runs.append((values(model), opt.state_dict()["slots"], packed_sizes))
    assert runs[0][2] == [0] * 7
    assert [r[2][1] for r in runs] == [0, 5, 6, 4] and runs[2][2][-1] == 6
    assert [r[2][3] for r in runs] == [0, 0, 0, 0]  # just loaded: each on its own first
    for got, slots, _ in runs[1:]:
        for k, v in got.items():
            np.testing.assert_allclose(v, runs[0][0][k], rtol=1e-6, atol=1e-7, err_msg=k)
        for k, s in slots.items():
            for n, t in s.items():
                np.testing.assert_allclose(t.numpy(), runs[0][1][k][n].numpy(), rtol=1e-6,
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
