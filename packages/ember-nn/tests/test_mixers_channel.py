"""Channel mixers (``ember_nn.mixers.channel``): the GLU family against torch with the same
weights, ``MoE`` against a per-token NumPy reference (routing, gates, the load-balancing loss)
and finite differences, ``MLP(bias=False)`` (MAD-Lab's ``mlp``) against torch; configs, errors,
the docstring examples and a few training steps, on every backend."""

from __future__ import annotations

import doctest
import math
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn.mixers.channel import GLU, GeGLU, MoE, ReGLU, SwiGLU, _glu, _moe
from ember_nn.mixers.channel._glu import glu_inner_width
from ember_nn.mixers.channel._moe import top_k_mask

torch = pytest.importorskip("torch")
F = torch.nn.functional

GLUS = {"GLU": (GLU, "sigmoid"), "SwiGLU": (SwiGLU, "silu"), "GeGLU": (GeGLU, "gelu"),
        "ReGLU": (ReGLU, "relu")}
TORCH_ACT = {"sigmoid": torch.sigmoid, "silu": F.silu, "gelu": F.gelu, "relu": F.relu,
             "gelu_tanh": lambda t: F.gelu(t, approximate="tanh")}


def _np_act(name: str, x: np.ndarray) -> np.ndarray:
    if name == "gelu_tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    return TORCH_ACT[name](torch.tensor(x)).numpy()


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _grads(module: ember_nn.Module, x: np.ndarray, upstream: np.ndarray,
           dtype: ember.DType = ember.float64) -> tuple[np.ndarray, np.ndarray, dict]:
    """Output, d/dx and d/dvariable of ``sum(module(x) * upstream)`` (plus the auxiliary
    losses the module adds)."""
    xt = ember.asarray(x, dtype=dtype)
    names = list(module.named_trainable_variables())
    with ember.GradientTape() as tape:
        tape.watch(xt)
        with ember_nn.collect_losses() as extra:
            y = module(xt)
        loss = ember.sum(y * ember.asarray(upstream, dtype=dtype))
        for _, value in extra:
            loss = loss + value
    g = tape.gradient(loss, [xt, *module.trainable_variables])
    return y.numpy(), g[0].numpy(), {n: v.numpy() for n, v in zip(names, g[1:], strict=True)}


# -- GLU family -------------------------------------------------------------------------------
def test_inner_width_is_mad_labs() -> None:
    # int(2 * dim * 4 / 3) rounded up to a multiple of 16, as mad/model/layers/mlp.py's GLU
    for dim in (1, 3, 8, 64, 96, 100, 128, 256, 1000):
        mad = int(2 * dim * 4 / 3)
        assert glu_inner_width(dim) == 16 * ((mad + 15) // 16)
    assert glu_inner_width(128) == 352 and glu_inner_width(64, multiple_of=8) == 176
    assert SwiGLU(128, key=0).dim_inner == 352 and SwiGLU(8, dim_inner=5, key=0).dim_inner == 5


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("name", list(GLUS))
def test_glu_family_matches_torch_with_the_same_weights(backend: str, name: str,
                                                        bias: bool) -> None:
    cls, act = GLUS[name]
    layer = cls(6, dim_inner=10, bias=bias, dtype=ember.float64, key=3)
    if bias:  # non-zero biases, so their gradients and values are checked
        for v in (layer.w1.bias, layer.w2.bias, layer.w3.bias):
            v.assign(ember.asarray(_rng(7).standard_normal(v.shape)))
    x, up = _rng(1).standard_normal((2, 4, 6)), _rng(2).standard_normal((2, 4, 6))
    y, gx, gv = _grads(layer, x, up)

    lin = {}
    for n in ("w1", "w2", "w3"):
        dense = getattr(layer, n)
        t = torch.nn.Linear(dense.in_features, dense.out_features, bias=bias,
                            dtype=torch.float64)
        with torch.no_grad():
            t.weight.copy_(torch.tensor(dense.weight.numpy().T))
            if bias:
                t.bias.copy_(torch.tensor(dense.bias.numpy()))
        lin[n] = t
    xt = torch.tensor(x, requires_grad=True)
    yt = lin["w3"](TORCH_ACT[act](lin["w1"](xt)) * lin["w2"](xt))
    (yt * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for n, t in lin.items():
        np.testing.assert_allclose(gv[f"{n}.weight"], t.weight.grad.numpy().T, rtol=1e-10,
                                   atol=1e-12)
        if bias:
            np.testing.assert_allclose(gv[f"{n}.bias"], t.bias.grad.numpy(), rtol=1e-10,
                                       atol=1e-12)


def test_glu_dropout_is_mad_labs_in_training_and_off_in_eval(backend: str) -> None:
    layer = SwiGLU(8, drop_rate=0.5, key=0)
    x = ember.asarray(_rng().standard_normal((3, 8)).astype(np.float32))
    plain = SwiGLU(8, key=0)  # same weights (same key), no dropout
    a, b = layer(x).numpy(), layer(x).numpy()
    assert not np.allclose(a, b)  # a new mask each call
    layer.eval()
    np.testing.assert_allclose(layer(x).numpy(), plain(x).numpy(), rtol=1e-6)
    assert [n for n, _ in layer.named_modules() if n.startswith("drops")] == \
        ["drops.0", "drops.1", "drops.2"]


def test_mlp_without_bias_is_mad_labs_mlp(backend: str) -> None:
    """MAD-Lab's ``mlp``: Linear(dim, 4 dim, bias=False), GELU(approximate='tanh'), Linear
    back; ``MLP(dim, [4 * dim], dim, activation="gelu_tanh", bias=False)``."""
    dim = 5
    mlp = ember_nn.MLP(dim, [4 * dim], dim, activation="gelu_tanh", bias=False,
                       dtype=ember.float64, key=0)
    assert [n for n, _ in mlp.named_variables()] == ["layers.0.weight", "layers.1.weight"]
    x, up = _rng(1).standard_normal((3, 2, dim)), _rng(2).standard_normal((3, 2, dim))
    y, gx, gv = _grads(mlp, x, up)
    fc = torch.nn.Linear(dim, 4 * dim, bias=False, dtype=torch.float64)
    proj = torch.nn.Linear(4 * dim, dim, bias=False, dtype=torch.float64)
    with torch.no_grad():
        fc.weight.copy_(torch.tensor(mlp.layers[0].weight.numpy().T))
        proj.weight.copy_(torch.tensor(mlp.layers[1].weight.numpy().T))
    xt = torch.tensor(x, requires_grad=True)
    yt = proj(torch.nn.GELU(approximate="tanh")(fc(xt)))
    (yt * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gv["layers.0.weight"], fc.weight.grad.numpy().T, rtol=1e-10)
    np.testing.assert_allclose(gv["layers.1.weight"], proj.weight.grad.numpy().T, rtol=1e-10)
    again: Any = ember_nn.deserialize(ember_nn.serialize(mlp))
    assert again.get_config()["bias"] is False and again.layers[0].bias is None
    assert ember_nn.MLP(2, [3], 1, key=0).layers[0].bias is not None  # bias=True by default
    with pytest.raises(ember_nn.ConfigError, match=r"MLP: bias must be True or False, got 1"):
        ember_nn.MLP(2, [3], 1, bias=1)  # type: ignore[arg-type]


def test_gelu_tanh_is_a_config_name(backend: str) -> None:
    get = ember_nn._core._activation_names.get
    x = np.linspace(-4, 4, 17)
    np.testing.assert_allclose(get("gelu_tanh")(ember.asarray(x)).numpy(),
                               _np_act("gelu_tanh", x), rtol=1e-12, atol=1e-14)
    assert ember_nn._core._activation_names.name_of(get("gelu_tanh")) == "gelu_tanh"


# -- MoE ----------------------------------------------------------------------------------------
def _moe_reference(moe: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Token by token: the k largest logits (lower index first among equals), a softmax over
    them, the sum of those experts' GLU outputs; and Switch's E * sum_i f_i P_i."""
    e, k = moe.num_experts, moe.active_experts
    wr, br = moe.router.weight.numpy(), moe.router.bias.numpy()
    w1, w2, w3 = moe.w1.numpy(), moe.w2.numpy(), moe.w3.numpy()
    zeros = np.zeros
    b1 = moe.b1.numpy() if moe.b1 is not None else zeros((e, moe.dim_inner))
    b2 = moe.b2.numpy() if moe.b2 is not None else zeros((e, moe.dim_inner))
    b3 = moe.b3.numpy() if moe.b3 is not None else zeros((e, moe.dim))
    act = moe.get_config()["activation"]
    tokens = x.reshape(-1, x.shape[-1])
    out, gates = np.zeros_like(tokens), np.zeros((len(tokens), e))
    counts, probs_sum = np.zeros(e), np.zeros(e)
    for n, t in enumerate(tokens):
        logits = t @ wr + br
        p = np.exp(logits - logits.max())
        p /= p.sum()
        top = sorted(range(e), key=lambda i: (-logits[i], i))[:k]
        g = np.exp(logits[top] - logits[top].max())
        g /= g.sum()
        for gate, i in zip(g, top, strict=True):
            hidden = _np_act(act, t @ w1[:, i, :] + b1[i]) * (t @ w2[:, i, :] + b2[i])
            out[n] += gate * (hidden @ w3[i] + b3[i])
            gates[n, i] = gate
            counts[i] += 1
        probs_sum += p
    f, big_p = counts / (len(tokens) * k), probs_sum / len(tokens)
    return out.reshape(x.shape), gates, float(e * np.sum(f * big_p))


@pytest.mark.parametrize(("bias", "k", "act"), [(False, 2, "gelu_tanh"), (True, 3, "silu"),
                                                (False, 1, "relu")])
def test_moe_matches_a_per_token_reference(backend: str, bias: bool, k: int, act: str) -> None:
    moe = MoE(6, num_experts=5, active_experts=k, dim_inner=4, activation=act, bias=bias,
              aux_loss_weight=0.5, dtype=ember.float64, key=2)
    if bias:
        for v in (moe.b1, moe.b2, moe.b3):
            assert v is not None
            v.assign(ember.asarray(_rng(9).standard_normal(v.shape)))
    x = _rng(4).standard_normal((2, 7, 6))
    with ember_nn.collect_losses() as losses:
        y = moe(ember.asarray(x))
    ref, ref_gates, ref_aux = _moe_reference(moe, x)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-10, atol=1e-12)
    _, chosen, gates = moe.route(ember.asarray(x.reshape(-1, 6)))
    np.testing.assert_allclose(gates.numpy(), ref_gates, rtol=1e-10, atol=1e-14)
    assert (chosen.numpy().sum(axis=-1) == k).all()  # exactly k experts serve every token
    [(name, aux)] = losses
    assert name == "moe_load_balancing"
    np.testing.assert_allclose(aux.item(), 0.5 * ref_aux, rtol=1e-10)


def test_top_k_takes_exactly_k_with_the_lower_index_first_among_equals(backend: str) -> None:
    s = ember.asarray(np.array([[1.0, 3.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0, 2.0],
                                [-1.0, 0.5, -3.0, 7.0, 0.5]], dtype=np.float32))
    assert top_k_mask(s, 2).numpy().astype(int).tolist() == [
        [0, 1, 1, 0, 0], [1, 1, 0, 0, 0], [0, 1, 0, 1, 0]]
    assert top_k_mask(s, 5).numpy().all() and top_k_mask(s, 1).numpy().sum() == 3
    # equal logits for every expert (a zero router): experts 0 .. k-1, with gates 1/k each
    moe = MoE(4, num_experts=4, active_experts=2, key=0)
    moe.router.weight.assign(ember.zeros((4, 4)))
    _, chosen, gates = moe.route(ember.ones((3, 4)))
    assert chosen.numpy().tolist() == [[True, True, False, False]] * 3
    np.testing.assert_allclose(gates.numpy(), [[0.5, 0.5, 0.0, 0.0]] * 3)


def test_balance_loss_is_one_when_uniform_and_e_when_collapsed(backend: str) -> None:
    moe = MoE(4, num_experts=4, active_experts=1, key=0)
    uniform = ember.full((4, 4), 0.25)
    spread = ember.asarray(np.eye(4, dtype=bool))
    assert moe.balance_loss(uniform, spread).item() == pytest.approx(1.0)
    one_hot = ember.asarray(np.array([[1.0, 0, 0, 0]] * 4, dtype=np.float32))
    collapsed = ember.asarray(np.array([[True, False, False, False]] * 4))
    assert moe.balance_loss(one_hot, collapsed).item() == pytest.approx(4.0)
    with ember_nn.collect_losses() as losses:
        MoE(4, aux_loss_weight=0.0, key=0)(ember.ones((2, 4)))
    assert losses == []  # weight 0: no loss added


def test_moe_gradients_match_finite_differences(backend: str) -> None:
    """The output's and the load-balancing loss's gradients (router included) against central
    differences in float64."""
    moe = MoE(4, num_experts=4, active_experts=2, dim_inner=3, bias=True, aux_loss_weight=1.0,
              dtype=ember.float64, key=5)
    x, up = _rng(1).standard_normal((2, 3, 4)), _rng(2).standard_normal((2, 3, 4))
    _, gx, gv = _grads(moe, x, up)

    def objective(xv: np.ndarray) -> float:
        with ember_nn.collect_losses() as extra:
            y = moe(ember.asarray(xv))
        return float(np.sum(y.numpy() * up) + sum(v.item() for _, v in extra))

    eps, pick = 1e-6, _rng(3)
    for _ in range(4):
        i = tuple(int(pick.integers(s)) for s in x.shape)
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        assert gx[i] == pytest.approx((objective(xp) - objective(xm)) / (2 * eps), rel=1e-5,
                                      abs=1e-8)
    for name, var in moe.named_trainable_variables().items():
        base = var.numpy()
        for _ in range(2):
            i = tuple(int(pick.integers(s)) for s in base.shape)
            vals = []
            for sign in (1, -1):
                moved = base.copy()
                moved[i] += sign * eps
                var.assign(ember.asarray(moved))
                vals.append(objective(x))
            var.assign(ember.asarray(base))
            fd = (vals[0] - vals[1]) / (2 * eps)
            assert gv[name][i] == pytest.approx(fd, rel=1e-5, abs=1e-8), name


def test_the_router_learns_from_the_balance_loss_alone(backend: str) -> None:
    moe = MoE(4, num_experts=4, active_experts=1, aux_loss_weight=1.0, key=0)
    vg = ember_nn.value_and_grad(moe, lambda x: ember.sum(moe(x)) * 0.0)
    loss, grads = vg(ember.ones((5, 4)))
    assert grads["router.weight"] is not None and np.abs(grads["router.weight"].numpy()).sum() > 0
    assert loss.item() >= 1.0  # 0 + the balance loss (>= 1)


# -- every mixer ------------------------------------------------------------------------------
def _all(dtype: ember.DType = ember.float32) -> dict[str, Any]:
    return {"GLU": GLU(6, dim_inner=8, bias=True, dtype=dtype, key=0),
            "SwiGLU": SwiGLU(6, dtype=dtype, key=1), "GeGLU": GeGLU(6, dtype=dtype, key=2),
            "ReGLU": ReGLU(6, dim_inner=4, dtype=dtype, key=3),
            "MoE": MoE(6, num_experts=4, dim_inner=5, bias=True, dtype=dtype, key=4)}


def test_same_outputs_on_every_backend_as_on_numpy(backend: str) -> None:
    x = _rng(5).standard_normal((2, 5, 6)).astype(np.float32)
    with ember.use_backend("numpy"):
        want = {n: m(ember.asarray(x)).numpy() for n, m in _all().items()}
    for name, mixer in _all().items():
        np.testing.assert_allclose(mixer(ember.asarray(x)).numpy(), want[name], rtol=2e-5,
                                   atol=2e-6, err_msg=name)


def test_positions_are_mixed_on_their_own_and_step_equals_forward(backend: str) -> None:
    x = _rng(6).standard_normal((2, 5, 6)).astype(np.float32)
    later = x.copy()
    later[:, 3:] = _rng(7).standard_normal((2, 2, 6))
    for name, mixer in _all().items():
        full = mixer(ember.asarray(x)).numpy()
        # causal (trivially): inputs after position 2 do not move outputs up to 2
        np.testing.assert_allclose(mixer(ember.asarray(later)).numpy()[:, :3], full[:, :3],
                                   rtol=1e-6, atol=1e-7, err_msg=name)
        state = mixer.init_state(2)
        for t in range(5):
            y_t, state = mixer.step(ember.asarray(x[:, t]), state)
            np.testing.assert_allclose(y_t.numpy(), full[:, t], rtol=1e-5, atol=1e-6,
                                       err_msg=name)


def test_configs_round_trip(backend: str) -> None:
    x = ember.asarray(_rng(8).standard_normal((3, 6)).astype(np.float32))
    for name, mixer in _all().items():
        again = ember_nn.deserialize(ember_nn.serialize(mixer))
        assert type(again) is type(mixer) and again.get_config() == mixer.get_config()
        np.testing.assert_allclose(again(x).numpy(), mixer(x).numpy(), rtol=1e-6, err_msg=name)
    moe = MoE(6, num_experts=3, active_experts=3, activation="silu", aux_loss_weight=0.1,
              drop_rate=0.2, key=1)
    cfg = ember_nn.deserialize(ember_nn.serialize(moe)).get_config()
    assert cfg["activation"] == "silu" and cfg["aux_loss_weight"] == 0.1


@pytest.mark.parametrize(("make", "match"), [
    (lambda: SwiGLU(0), r"SwiGLU: dim must be a positive int, got 0"),
    (lambda: GLU(4, dim_inner=2.5),  # type: ignore[arg-type]
     r"GLU: dim_inner must be a positive int, got 2.5"),
    (lambda: GeGLU(4, drop_rate=1.0), r"GeGLU: drop_rate must be a number in \[0, 1\), got 1.0"),
    (lambda: ReGLU(4, bias="no"),  # type: ignore[arg-type]
     r"ReGLU: bias must be True or False, got 'no'"),
    (lambda: GLU(4, activation="nope"), r"nope"),
    (lambda: MoE(4, num_experts=2, active_experts=3),
     r"MoE: active_experts \(3\) must be at most num_experts \(2\)"),
    (lambda: MoE(4, aux_loss_weight=-1), r"MoE: aux_loss_weight must be a finite number >= 0"),
    (lambda: MoE(4, num_experts=0), r"MoE: num_experts must be a positive int, got 0"),
])
def test_bad_arguments_are_config_errors(make: Any, match: str) -> None:
    with pytest.raises(ember_nn.ConfigError, match=match):
        make()


def test_bad_inputs_name_the_shape_or_dtype(backend: str) -> None:
    for mixer in (SwiGLU(4, key=0), MoE(4, key=0)):
        name = type(mixer).__name__
        with pytest.raises(ember.ShapeError, match=rf"{name}: input of shape \(2, 3\) must have "
                                                   rf"the layer's dim \(4\) on its last axis"):
            mixer(ember.ones((2, 3)))
        with pytest.raises(ember.DTypeError, match=rf"{name}: input must be floating point"):
            mixer(ember.ones((2, 4), dtype=ember.int32))


def test_loss_falls_in_a_few_adam_steps(backend: str) -> None:
    """Regress a fixed nonlinear map of each position with each mixer."""
    rng = _rng(9)
    x = ember.asarray(rng.standard_normal((8, 4, 6)).astype(np.float32))
    y = ember.tanh(x * 2.0) - x
    for name, mixer in _all().items():
        opt = ember_nn.Adam(1e-2)
        vg = ember_nn.value_and_grad(mixer, lambda m=mixer: ember.mean((m(x) - y) ** 2))
        losses = []
        for _ in range(15):
            loss, grads = vg()
            opt.update(mixer, grads)
            losses.append(loss.item())
        assert all(math.isfinite(v) for v in losses), name
        assert losses[-1] < 0.8 * losses[0], (name, losses[0], losses[-1])


@pytest.mark.parametrize("module", [_glu, _moe])
def test_docstring_examples(backend: str, module: Any) -> None:
    result = doctest.testmod(module, extraglobs={"ember": ember, "ember_nn": ember_nn})
    assert result.failed == 0 and result.attempted > 0
