"""Hyena, MultiHeadHyena and HyenaExperts (ember_nn.mixers.sequence) and their FFT long
convolution, on every backend: fft_conv against direct convolution (values and gradients), each
mixer against a NumPy reference written from its equations with the same weights and against
MAD-Lab's torch operators (numbers recorded from MAD-Lab's code with ember's weights copied in),
causality, step == forward, the same outputs on every backend, gradients against finite
differences, configs, errors, docstring examples and a loss that falls.

MLX's FFT is complex64 only (ember raises UnsupportedError for float64), so on MLX the layers
run in float32 and their gradients are checked against the NumPy backend's float64 ones (which
the finite differences check)."""

from __future__ import annotations

import doctest
import inspect
import json
import sys
from collections.abc import Callable
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError
from ember_nn.mixers.sequence import (
    Hyena,
    HyenaExperts,
    MultiHeadHyena,
    _fft_conv,
    _hyena,
    _hyena_experts,
    _hyena_filter,
)
from ember_nn.mixers.sequence._hyena_filter import HyenaFilter
from hyena_support import CASES, FFT64, Make, _dtype, _np, _state, _t, _tol

RNG = np.random.default_rng(14)


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Any:
    """torch on one thread while these tiny-shape tests run (its thread pool costs ~1 ms an op
    on a loaded 2-core machine, 250 times the op itself); restored afterwards."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- values -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_numpy_reference(backend: str, case: str) -> None:
    make, ref = CASES[case]
    m = make(_dtype(backend))
    x = RNG.standard_normal((2, 6, 4))
    want = ref(m, _state(m), x)
    got = _np(m(_t(x, _dtype(backend))))
    tol = _tol(backend) * 10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


#: MAD-Lab's HyenaOperator / MultiHeadHyenaOperator / HyenaExpertsOperator (athms/mad-lab,
#: CPU, float64) on x = sin(0.7 * arange(24)).reshape(1, 6, 4), with the weights of the ember
#: layers below (key=0, float64) copied in: its outputs, rounded to 8 decimals (ember matched
#: them to 1e-9 when they were recorded; the residue is MAD-Lab's float32 time grid)
MAD_LAB = {
    "hyena": [[0.0275556, 0.2013817, -0.10505223, 0.04308442],
              [0.01454303, 0.20988929, -0.11436477, 0.0193742],
              [0.14884101, 0.15181373, -0.03546473, 0.0627344],
              [0.01402113, 0.20154402, -0.13076345, 0.04097885],
              [0.10378009, 0.1914099, -0.0710117, 0.016599],
              [0.0468088, 0.18421003, -0.11030751, 0.04812009]],
    "mh-hyena": [[0.0035774, 0.45333525, -0.28740826, -0.00139823],
                 [-0.01177365, 0.45340845, -0.25877526, 0.00066731],
                 [0.01611988, 0.46287475, -0.26610738, -0.0091812],
                 [-0.04935224, 0.43084661, -0.32368446, 0.0265226],
                 [0.00205879, 0.46657046, -0.22275589, -0.00742501],
                 [-0.06736406, 0.43180794, -0.36839444, 0.03219343]],
    "hyena-experts": [[0.02823304, 0.62343604, -0.3008402, 0.02507458],
                      [0.05683121, 0.61241539, -0.32376751, 0.01765462],
                      [0.02350191, 0.65336642, -0.30041512, -0.0315645],
                      [0.04632226, 0.6312189, -0.31711027, -0.00999357],
                      [0.03716048, 0.63941353, -0.31032408, -0.01721872],
                      [0.03623855, 0.63975716, -0.30958357, -0.01695554]],
}
MAD_LAYERS: dict[str, Make] = {
    "hyena": lambda d: Hyena(4, max_length=8, dtype=d, key=0),
    "mh-hyena": lambda d: MultiHeadHyena(4, num_heads=2, max_length=8, dtype=d, key=0),
    "hyena-experts": lambda d: HyenaExperts(4, dim_inner=2, num_experts=2, max_length=8,
                                            dtype=d, key=0),
}


@pytest.mark.parametrize("name", sorted(MAD_LAB))
def test_matches_mad_lab_recorded(backend: str, name: str) -> None:
    m = MAD_LAYERS[name](_dtype(backend))
    if backend not in FFT64:  # the float64 weights (float32 draws differ), rounded
        with ember.use_backend("numpy"):
            weights = MAD_LAYERS[name](ember.float64).state_dict()
        m.load_state_dict(weights)
    x = np.sin(0.7 * np.arange(24.0)).reshape(1, 6, 4)
    tol = 1e-7 if backend in FFT64 else 2e-5
    np.testing.assert_allclose(_np(m(_t(x, _dtype(backend))))[0], MAD_LAB[name], rtol=tol,
                               atol=tol)


def test_filter_starts_as_mad_lab_s(backend: str) -> None:
    """pos_emb: [t, Re, Im] of exp(-i f w) (torch.linspace's grids); deltas: a linspace of
    ln(target) / pct; freq: w."""
    f = HyenaFilter(6, seq_len=10, emb_dim=7, order=3, w=2.0, key=0)
    t = np.linspace(0, 1, 10)[:, None]
    w = 2 * np.pi * np.arange(10)[:, None] / 10
    z = np.exp(-1j * np.linspace(1e-4, 2, 3)[None] * w)
    np.testing.assert_allclose(_np(f.pos_emb), np.concatenate([t, z.real, z.imag], 1),
                               atol=1e-6)
    np.testing.assert_allclose(_np(f.deltas), np.linspace(np.log(1e-2) / 1.5,
                                                          np.log(1e-2) / 0.3, 6), rtol=1e-6)
    assert _np(f.freq).tolist() == [2.0] * 3
    assert f.pos_emb.trainable and not f.deltas.trainable
    one = HyenaFilter(2, seq_len=4, key=0)  # a single band: frequency 1e-4
    np.testing.assert_allclose(_np(one.pos_emb)[:, 1], np.cos(1e-4 * 2 * np.pi * np.arange(4)
                                                              / 4), atol=1e-7)
    assert f(4).shape == (4, 6)
    np.testing.assert_allclose(_np(f(4)), _np(f(10))[:4], rtol=1e-6, atol=1e-7)  # a prefix


def test_experts_weigh_every_expert(backend: str) -> None:
    """MAD-Lab's routing: the logits outside the top k become 0 (not -inf) before the softmax,
    so those experts keep weight exp(0) / Z."""
    m = HyenaExperts(2, dim_inner=1, num_experts=4, active_experts=2, max_length=4, key=0)
    m.router.weight.assign(ember.zeros((2, 4)))
    m.router.bias.assign(_t([2.0, -1.0, 0.5, 3.0], ember.float32))
    m.out_proj.weight.assign(ember.ones((1, 2)))
    m.out_proj.bias.assign(ember.zeros((2,)))
    u = _t(np.eye(4)[None], ember.float32)                  # position e holds expert e alone
    got = _np(m._route(u, ember.zeros((1, 4, 2))))[0, :, 0]
    s = np.array([0.0, 0.0, 0.0, 3.0]) + np.array([2.0, 0, 0, 0])  # -1 and 0.5 are not top-2
    np.testing.assert_allclose(got, np.exp(s) / np.exp(s).sum(), rtol=1e-6)


# -- causality, steps, backends ---------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
def test_causal(backend: str, case: str) -> None:
    m = CASES[case][0](ember.float32)
    x = RNG.standard_normal((2, 7, 4))
    x2 = x.copy()
    x2[:, 4:] = RNG.standard_normal((2, 3, 4))
    a, b = _np(m(_t(x, ember.float32))), _np(m(_t(x2, ember.float32)))
    # exact in exact arithmetic; the FFT spreads float32 round-off over every position
    np.testing.assert_allclose(a[:, :4], b[:, :4], rtol=0, atol=2e-6)
    assert np.abs(a[:, 4:] - b[:, 4:]).max() > 1e-3


@pytest.mark.parametrize("case", sorted(CASES))
def test_step_equals_forward(backend: str, case: str) -> None:
    d = _dtype(backend)
    m = CASES[case][0](d)
    x = _t(RNG.standard_normal((2, 8, 4)), d)
    want = _np(m(x))
    state, got = m.init_state(2), []
    for t in range(8):
        y_t, state = m.step(x[:, t], state)
        got.append(_np(y_t))
    tol = _tol(backend) * 10
    np.testing.assert_allclose(np.stack(got, axis=1), want, rtol=tol, atol=tol)
    assert m.has_step and m.causal
    with pytest.raises(ember.ShapeError, match="past max_length=8"):
        m.step(x[:, 0], state)


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_outputs_on_every_backend(backend: str, case: str) -> None:
    x = RNG.standard_normal((2, 6, 4))
    with ember.use_backend("numpy"):
        ref = CASES[case][0](ember.float32)
        want, weights = _np(ref(_t(x, ember.float32))), _state(ref)
    m = CASES[case][0](ember.float32)  # the same key: the same weights
    for name, value in _state(m).items():
        np.testing.assert_allclose(value, weights[name], rtol=1e-6, atol=1e-7, err_msg=name)
    np.testing.assert_allclose(_np(m(_t(x, ember.float32))), want, rtol=2e-5, atol=2e-6)


# -- gradients --------------------------------------------------------------------------------------
TINY: dict[str, Make] = {
    "hyena": lambda d: Hyena(2, max_length=4, inner_factor=1, proj_groups=2, dtype=d, key=7,
                             long_conv_cfg={"filter_cfg": {"order": 2, "depth_implicit": 1}}),
    "hyena-order3": lambda d: Hyena(2, max_length=4, order=3, inner_factor=1, proj_groups=1,
                                    dtype=d, key=8, long_conv_cfg={"filter_cfg": {
                                        "order": 2, "depth_implicit": 0}}),
    "mh-hyena": lambda d: MultiHeadHyena(2, num_heads=2, max_length=4, proj_groups=2, dtype=d,
                                         key=9, long_conv_cfg={"filter_cfg": {
                                             "order": 2, "depth_implicit": 0}}),
    "experts": lambda d: HyenaExperts(2, dim_inner=1, num_experts=2, active_experts=1,
                                      max_length=4, dtype=d, key=10, long_conv_cfg={
                                          "filter_cfg": {"order": 2, "depth_implicit": 0}}),
}


def _loss_and_grads(m: Any, x: np.ndarray, g: np.ndarray, d: Any
                    ) -> tuple[float, dict[str, np.ndarray]]:
    xt = _t(x, d)
    with ember.GradientTape() as tape:
        tape.watch(xt)
        loss = ember.sum(m(xt) * _t(g, d))
    names = list(m.named_trainable_variables())
    grads = tape.gradient(loss, [xt, *m.named_trainable_variables().values()])
    return float(loss), {"x": _np(grads[0]), **{n: _np(v) for n, v in zip(names, grads[1:],
                                                                            strict=True)}}


@pytest.mark.parametrize("case", sorted(TINY))
def test_gradients_match_finite_differences(backend: str, case: str) -> None:
    x, g = RNG.standard_normal((1, 3, 2)), RNG.standard_normal((1, 3, 2))
    if backend not in FFT64:  # float32 FFT: against the NumPy backend's checked gradients
        with ember.use_backend("numpy"):
            ref = TINY[case](ember.float64)
            _, want = _loss_and_grads(ref, x, g, ember.float64)
        m = TINY[case](ember.float32)
        m.load_state_dict(ref.state_dict())
        _, got = _loss_and_grads(m, x, g, ember.float32)
        for name, value in want.items():
            np.testing.assert_allclose(got[name], value, rtol=1e-3, atol=1e-5, err_msg=name)
        return
    d, h = ember.float64, 1e-6
    m = TINY[case](d)
    _, got = _loss_and_grads(m, x, g, d)

    def loss() -> float:
        return float(ember.sum(m(_t(x, d)) * _t(g, d)))

    variables = m.named_trainable_variables()
    for name, want in got.items():
        base = x if name == "x" else _np(variables[name])
        fd = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            vals = []
            for step in (h, -h):
                moved = base.copy()
                moved[i] += step
                if name == "x":
                    vals.append(float(ember.sum(m(_t(moved, d)) * _t(g, d))))
                else:
                    variables[name].assign(_t(moved, d))
                    vals.append(loss())
            if name != "x":
                variables[name].assign(_t(base, d))
            fd[i] = (vals[0] - vals[1]) / (2 * h)
        np.testing.assert_allclose(want, fd, rtol=1e-5, atol=1e-7, err_msg=name)


# -- configs, errors, docs, training ----------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
def test_config_round_trip(backend: str, case: str) -> None:
    m = CASES[case][0](None)
    data = json.loads(json.dumps(ember_nn.serialize(m)))
    rebuilt = ember_nn.deserialize(data)
    assert type(rebuilt) is type(m) and rebuilt.get_config() == m.get_config()
    x = _t(RNG.standard_normal((1, 5, 4)), ember.float32)
    np.testing.assert_array_equal(_np(rebuilt(x)), _np(m(x)))  # the same key: same weights
    for v in rebuilt.trainable_variables:
        v.assign(v * 0.5)
    rebuilt.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(_np(rebuilt(x)), _np(m(x)))


#: MAD-Lab's configs/layers/{hyena,mh-hyena,hyena-experts}.yml (dim aside)
MAD_DEFAULTS = {
    Hyena: {"order": 2, "num_heads": 1, "inner_factor": 4, "num_blocks": 1,
            "fused_bias_fc": False, "outer_mixing": False, "dropout": 0, "proj_groups": 4,
            "post_order_ffn": False, "short_filter_order": 3, "nested": True,
            "activation": "id"},
    MultiHeadHyena: {"order": 2, "num_heads": 16, "inner_factor": 1, "num_blocks": 1,
                     "fused_bias_fc": False, "outer_mixing": False, "dropout": 0,
                     "post_order_ffn": False, "short_filter_order": 3, "activation": "id"},
    HyenaExperts: {"dim_inner": 16, "num_experts": 8, "active_experts": 2, "order": 2,
                   "num_heads": 1, "inner_factor": 1, "num_blocks": 1, "fused_bias_fc": False,
                   "outer_mixing": False, "dropout": 0, "post_order_ffn": False,
                   "short_filter_order": 3, "activation": "id"},
}
FILTER_ORDER = {Hyena: 4, MultiHeadHyena: 2, HyenaExperts: 16}


@pytest.mark.parametrize("cls", [Hyena, MultiHeadHyena, HyenaExperts])
def test_defaults_are_mad_lab_s(cls: type) -> None:
    params = inspect.signature(cls).parameters
    for name, value in MAD_DEFAULTS[cls].items():
        assert params[name].default == value, name
    assert params["max_length"].default == 1280  # MAD-Lab's model default
    m = cls(128, max_length=16, key=0)
    assert m.filter.order == FILTER_ORDER[cls] and m.long_conv_bias is not None
    widths = {Hyena: 512, MultiHeadHyena: 8, HyenaExperts: 128}
    assert m.filter.d_model == widths[cls]
    ins = {Hyena: 3 * 512 // 4, MultiHeadHyena: 3 * 128 // 4, HyenaExperts: 3 * 128}
    assert m.in_proj.weight.shape == (128, ins[cls])


ERRORS: list[tuple[Callable[[], Any], type, str]] = [
    (lambda: Hyena(0), ConfigError, "dim must be a positive int"),
    (lambda: Hyena(4, order=1), ConfigError, "order must be >= 2"),
    (lambda: Hyena(4, num_heads=2), ConfigError, "use MultiHeadHyena"),
    (lambda: Hyena(4, proj_groups=5), ConfigError, "proj_groups=5 must divide"),
    (lambda: Hyena(4, num_blocks=2), ConfigError, "num_blocks=2"),
    (lambda: Hyena(4, fused_bias_fc=True), ConfigError, "fused_bias_fc=True is a CUDA kernel"),
    (lambda: Hyena(4, outer_mixing=True), ConfigError, "outer_mixing=True is not built"),
    (lambda: Hyena(4, post_order_ffn=True), ConfigError, "post_order_ffn=True"),
    (lambda: Hyena(4, dropout=1.0), ConfigError, r"dropout must be a number in \[0, 1\)"),
    (lambda: Hyena(4, activation="gelu"), ConfigError, "never applied"),
    (lambda: Hyena(4, nested="yes"), ConfigError, "nested must be True or False"),
    (lambda: Hyena(4, max_length=0), ConfigError, "max_length must be a positive int"),
    (lambda: Hyena(4, long_conv_cfg=[1]), ConfigError, "long_conv_cfg must be a dict"),
    (lambda: Hyena(4, long_conv_cfg={"kernel": 3}), ConfigError, "unknown long_conv_cfg keys"),
    (lambda: Hyena(4, long_conv_cfg={"filter_cls": "rtf"}), ConfigError, "'rtf' is not built"),
    (lambda: Hyena(4, long_conv_cfg={"filter_cfg": {"nested": True}}), ConfigError,
     "nested=True is not built"),
    (lambda: Hyena(4, long_conv_cfg={"filter_cfg": {"seq_len": 9}}), ConfigError,
     "set by the layer"),
    (lambda: Hyena(4, long_conv_cfg={"filter_cfg": {"emb_dim": 4}}), ConfigError,
     "emb_dim must be odd"),
    (lambda: Hyena(4, long_conv_cfg={"filter_cfg": {"bands": 4}}), ConfigError,
     "unknown filter_cfg keys"),
    (lambda: MultiHeadHyena(4, num_heads=3), ConfigError, "num_heads=3 must divide"),
    (lambda: MultiHeadHyena(4, num_heads=2, order=3), ConfigError, "order must be 2"),
    (lambda: MultiHeadHyena(4, num_heads=2, dropout=0.1), ConfigError, "never applied"),
    (lambda: MultiHeadHyena(4, num_heads=2, long_conv_cfg={"num_heads": 4}), ConfigError,
     "must equal num_heads 2"),
    (lambda: HyenaExperts(4, active_experts=9), ConfigError, "more than num_experts=8"),
    (lambda: HyenaExperts(4, num_heads=2), ConfigError, "num_heads must be 1"),
    (lambda: HyenaExperts(4, activation="glu"), ConfigError, "activation must be one of"),
    (lambda: HyenaFilter(4, depth_implicit=-1), ConfigError, "depth_implicit must be"),
    (lambda: HyenaFilter(4, target=0.0), ConfigError, "target must be > 0"),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_bad_arguments(i: int) -> None:
    make, error, match = ERRORS[i]
    with pytest.raises(error, match=match):
        make()


def test_bad_inputs(backend: str) -> None:
    m = Hyena(4, max_length=8, key=0)
    with pytest.raises(ember.ShapeError, match=r"must be \(batch, length, 4\)"):
        m(ember.ones((1, 3, 5)))
    with pytest.raises(ember.DTypeError, match="must be floating point"):
        m(ember.ones((1, 3, 4), dtype=ember.int32))
    with pytest.raises(ember.ShapeError, match="longer than max_length=8"):
        m(ember.ones((1, 9, 4)))
    with pytest.raises(ember.ShapeError, match=r"one position \(batch, 4\)"):
        m.step(ember.ones((1, 3, 4)), m.init_state(1))
    with pytest.raises(ember.ShapeError, match="the dict init_state returns"):
        m.step(ember.ones((1, 4)), (None, None))
    with pytest.raises(ember.ShapeError, match="window has shape"):
        m.step(ember.ones((2, 4)), m.init_state(1))
    with pytest.raises(ConfigError, match="batch must be a positive int"):
        m.init_state(0)
    with pytest.raises(ember.ShapeError, match="length must be an int in"):
        m.filter(9)


@pytest.mark.parametrize("module", [_fft_conv, _hyena_filter, _hyena, _hyena_experts])
def test_docstring_examples(module: Any) -> None:
    with ember.use_backend("numpy"):
        result = doctest.testmod(module, extraglobs={"ember": ember, "ember_nn": ember_nn})
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("case", ["hyena", "mh-hyena", "experts"])
def test_loss_falls(backend: str, case: str) -> None:
    """A few Adam steps on a toy task (output the previous position's input) lower the loss."""
    m = CASES[case][0](ember.float32)
    x = _t(RNG.standard_normal((4, 8, 4)), ember.float32)
    target = ember.concat([ember.zeros((4, 1, 4)), x[:, :-1]], axis=1)
    opt = ember_nn.Adam(2e-2)
    step = ember_nn.value_and_grad(m, lambda: ember.mean((m(x) - target) ** 2))
    losses = []
    for _ in range(15):
        loss, grads = step()
        opt.update(m, grads)
        losses.append(float(loss))
    assert losses[-1] < 0.8 * losses[0], losses


def test_dropout_applies_in_training_only(backend: str) -> None:
    m = Hyena(4, max_length=8, dropout=0.5, key=0)
    x = _t(RNG.standard_normal((1, 5, 4)), ember.float32)
    a, b = _np(m(x)), _np(m(x))
    assert not np.allclose(a, b)  # a new mask per call
    m.eval()
    np.testing.assert_array_equal(_np(m(x)), _np(m(x)))
