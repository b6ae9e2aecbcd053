"""Blocks and models of ember_nn.blocks: Block (pre- and post-norm) and LanguageModel against
NumPy written from their equations with the same weights, step == forward, generation by steps
== generation by re-running, AutoEncoder against MAD-Lab's backbone written in torch with the
same weights, the layer-name registry, configs through JSON and checkpoints, errors."""

from __future__ import annotations

import doctest
import json
import os

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError
from ember_nn.blocks import (
    AutoEncoder,
    Block,
    LanguageModel,
    MLPBlock,
    _block,
    _language_model,
    _named,
    _registry,
    build_layer,
    layer_names,
)
from ember_nn.mixers import RecurrentMixer

RNG = np.random.default_rng(5)
D = 8


def _np(t: ember.Tensor) -> np.ndarray:
    return np.asarray(t.numpy(), dtype=np.float64)


def _rms(x: np.ndarray, w: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def _mlp_np(mlp: ember_nn.MLP, x: np.ndarray) -> np.ndarray:
    w1, w2 = (_np(layer.weight) for layer in mlp.layers)
    return _gelu_tanh(x @ w1) @ w2


def _randomise(model: ember_nn.Module) -> None:
    """Every variable drawn afresh (norm weights away from one), so each one matters."""
    for _, v in model.named_variables():
        v.assign(ember.astype(ember.tensor(RNG.standard_normal(v.shape) * 0.3 + (
            1.0 if v.name == "weight" and v.ndim == 1 else 0.0)), v.dtype))


@pytest.mark.parametrize("prenorm", [True, False])
def test_block_matches_numpy(backend: str, prenorm: bool) -> None:
    block = Block(build_layer("mlp", D, key=0), build_layer("mlp", D, key=1), prenorm=prenorm)
    _randomise(block)
    x = RNG.standard_normal((2, 5, D))
    got = _np(block(ember.tensor(x.astype(np.float32))))
    n1, n2 = _np(block.norm_1.weight), _np(block.norm_2.weight)
    f, g = (lambda h: _mlp_np(block.mixer, h)), (lambda h: _mlp_np(block.channel_mixer, h))
    if prenorm:
        h = x + f(_rms(x, n1))
        want = h + g(_rms(h, n2))
    else:
        h = _rms(x + f(x), n1)
        want = _rms(h + g(h), n2)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru", "cfc"])
def test_block_step_equals_forward(backend: str, cell: str) -> None:
    block = Block(RecurrentMixer(D, cell, key=0), build_layer("swiglu", D, key=1))
    x = ember.tensor(RNG.standard_normal((2, 6, D)).astype(np.float32))
    full = block(x)
    state = block.init_state(2)
    steps = []
    for t in range(6):
        y, state = block.step(x[:, t], state)
        steps.append(y)
    np.testing.assert_allclose(_np(ember.stack(steps, axis=1)), _np(full), rtol=1e-4, atol=1e-5)


def test_recurrent_mixer_equals_the_recurrent_layer(backend: str) -> None:
    """RecurrentMixer("lstm") is torch.nn.LSTM's equations: the same as ember_nn.LSTM (which
    the torch parity tests check) with the same weights; causal."""
    mixer = RecurrentMixer(D, "lstm", key=0)
    layer = ember_nn.LSTM(D, D, batch_first=True, key=1)
    cell_vars = dict(mixer.cell.named_variables())
    for name, v in layer.named_variables():  # weight_ih_l0 -> weight_ih
        v.assign(cell_vars[name.removesuffix("_l0")])
    x = ember.tensor(RNG.standard_normal((3, 7, D)).astype(np.float32))
    want, _ = layer(x)
    got = mixer(x)
    np.testing.assert_allclose(_np(got), _np(want), rtol=1e-5, atol=1e-6)
    x2 = ember.concat([x[:, :4], x[:, 4:] + 1.0], axis=1)
    np.testing.assert_allclose(_np(mixer(x2)[:, :4]), _np(got[:, :4]), rtol=1e-6, atol=1e-7)


def _lm(position_embedding: str | None = None) -> LanguageModel:
    model = LanguageModel.from_layers(["gru", "mlp", "lstm", "swiglu"], vocab_size=11, dim=D,
                                      max_length=32, position_embedding=position_embedding,
                                      key=3)
    _randomise(model)
    return model


def test_language_model_matches_numpy(backend: str) -> None:
    model = LanguageModel.from_layers(["mlp", "mlp"], vocab_size=11, dim=D, max_length=16,
                                      position_embedding="sincos", key=2)
    _randomise(model)
    ids = RNG.integers(0, 11, size=(2, 6))
    got = _np(model(ember.tensor(ids)))
    pos = np.arange(6)[:, None] * np.exp(-np.arange(D // 2) * np.log(1e4) / (D // 2 - 1))
    x = _np(model.token_embedding.weight)[ids] + np.concatenate([np.sin(pos), np.cos(pos)], 1)
    for block in model.blocks:
        x = x + _mlp_np(block.mixer, _rms(x, _np(block.norm_1.weight)))
    want = _rms(x, _np(model.norm.weight)) @ _np(model.head.weight) + _np(model.head.bias)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("position_embedding", [None, "learned"])
def test_generation_by_steps_equals_rerunning(backend: str, position_embedding: str) -> None:
    model = _lm(position_embedding).eval()
    assert model.has_step
    prompt = ember.tensor(RNG.integers(0, 11, size=(2, 4)))
    stepped = model.generate(prompt, 5)
    object.__setattr__(model, "blocks", model.blocks)  # same model, now without steps:
    rerun = [prompt[:, t] for t in range(4)]
    for _ in range(5):
        logits = model(ember.stack(rerun, axis=1))[:, -1]
        rerun.append(ember.astype(ember.argmax(logits, axis=-1), prompt.dtype))
    assert stepped.shape == (2, 9)
    assert stepped.tolist() == ember.stack(rerun, axis=1).tolist()
    assert stepped[:, :4].tolist() == prompt.tolist()
    # the logits of every step equal the full forward's
    seq = stepped
    full = _np(model(seq))
    state = model.init_state(2)
    for t in range(seq.shape[1]):
        logits, state = model.step(seq[:, t], state, t)
        np.testing.assert_allclose(_np(logits), full[:, t], rtol=1e-4, atol=1e-4)


def test_sampled_generation_is_seeded(backend: str) -> None:
    model = _lm().eval()
    prompt = ember.tensor([[1, 2]])
    a = model.generate(prompt, 6, temperature=1.0, key=7).tolist()
    assert a == model.generate(prompt, 6, temperature=1.0, key=7).tolist()
    assert all(0 <= t < 11 for t in a[0])


def test_language_model_is_causal(backend: str) -> None:
    model = _lm("learned")
    ids = RNG.integers(0, 11, size=(2, 8))
    other = ids.copy()
    other[:, 5:] = (other[:, 5:] + 3) % 11
    a, b = _np(model(ember.tensor(ids))), _np(model(ember.tensor(other)))
    np.testing.assert_allclose(a[:, :5], b[:, :5], rtol=1e-6, atol=1e-6)
    assert not np.allclose(a[:, 5:], b[:, 5:])


def test_language_model_trains(backend: str) -> None:
    """Next-token prediction of a repeating pattern: the loss falls."""
    model = LanguageModel.from_layers(["gru", "swiglu"], vocab_size=5, dim=D, max_length=16,
                                      key=0)
    ids = ember.tensor(np.tile(np.arange(5), (4, 3))[:, :12])
    opt = ember_nn.Adam(1e-2)

    def loss_fn() -> ember.Tensor:
        logits = model(ids[:, :-1])
        return ember_nn.sparse_categorical_cross_entropy(logits, ids[:, 1:])

    first = None
    for _ in range(30):
        loss, grads = ember_nn.value_and_grad(model, loss_fn)()
        opt.update(model, grads)
        first = float(loss) if first is None else first
    assert float(loss) < 0.5 * first


def test_config_round_trips_through_json_and_checkpoints(backend: str, tmp_path) -> None:
    model = _lm("sincos")
    ids = ember.tensor(RNG.integers(0, 11, size=(2, 5)))
    want = _np(model(ids))
    again = ember_nn.deserialize(json.loads(json.dumps(ember_nn.serialize(model))))
    again.load_state_dict(model.state_dict())
    np.testing.assert_allclose(_np(again(ids)), want, rtol=1e-6, atol=1e-6)
    ember_nn.save(model, tmp_path / "lm")
    loaded = ember_nn.load(tmp_path / "lm")
    assert isinstance(loaded, LanguageModel)
    np.testing.assert_allclose(_np(loaded(ids)), want, rtol=1e-6, atol=1e-6)


def test_auto_encoder_matches_mad_lab_in_torch(backend: str) -> None:
    """MAD-Lab's AutoEncoder.forward (global_pool "last"), written in torch with the same
    weights: encoder blocks, last position, sinusoidal decoder positions, the GELU decoder."""
    torch = pytest.importorskip("torch")
    model = AutoEncoder.from_layers(["mlp", "mlp"], vocab_size=9, dim=D, max_length=12, key=1)
    _randomise(model)
    ids = RNG.integers(0, 9, size=(2, 6))
    got = _np(model(ember.tensor(ids)))

    def t(v: ember.Tensor) -> object:
        return torch.tensor(_np(v))

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    x = t(model.token_embedding.weight)[torch.tensor(ids)]
    for block in model.blocks:
        w1, w2 = (t(layer.weight) for layer in block.mixer.layers)
        h = rms(x, t(block.norm_1.weight))
        x = x + torch.nn.functional.gelu(h @ w1, approximate="tanh") @ w2
    enc = x[:, -1]
    half = D // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float64) * -(np.log(1e4) / (half - 1)))
    ang = torch.arange(6, dtype=torch.float64)[:, None] * freqs[None]
    h = enc[:, None] + torch.cat([torch.sin(ang), torch.cos(ang)], 1)
    for i in (0, 2):
        norm, dense = model.decoder[i], model.decoder[i + 1]
        h = torch.nn.functional.gelu(rms(h, t(norm.weight)) @ t(dense.weight) + t(dense.bias))
    want = rms(h, t(model.norm.weight)) @ t(model.head.weight) + t(model.head.bias)
    np.testing.assert_allclose(got, want.numpy(), rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("pool", ["avg", "cls"])
def test_auto_encoder_pools(backend: str, pool: str) -> None:
    model = AutoEncoder.from_layers(["gru"], vocab_size=9, dim=D, max_length=12,
                                    global_pool=pool, key=1)
    ids = ember.tensor(RNG.integers(0, 9, size=(2, 6)))
    enc = model.encode(ids)
    assert enc.shape == (2, D)
    assert model(ids).shape == (2, 6, 9)
    if pool == "avg":
        x = model.token_embedding(ids)
        for block in model.blocks:
            x = block(x)
        np.testing.assert_allclose(_np(enc), _np(ember.mean(x, axis=1)), rtol=1e-5, atol=1e-6)


def test_registry_names_and_defaults() -> None:
    names = layer_names()
    for mad in ("mh-attention", "sliding-attention", "linear-attention",
                "gated-linear-attention", "hyena", "mh-hyena", "hyena-experts", "mamba",
                "rwkv6-time-mixer", "mlp", "swiglu", "moe-mlp", "rwkv6-channel-mixer"):
        assert mad in names
    mlp = build_layer("mlp", 16, key=0)
    assert [layer.weight.shape for layer in mlp.layers] == [(16, 64), (64, 16)]
    assert all(layer.bias is None for layer in mlp.layers)
    assert build_layer("mlp", 16, dim_inner=24, key=0).layers[0].weight.shape == (16, 24)
    with pytest.raises(ConfigError, match=r"unknown layer .attn.*known"):
        build_layer("attn")


def test_errors() -> None:
    with pytest.raises(ConfigError, match="norm must be one of"):
        Block(build_layer("mlp", D, key=0), norm="batch")
    with pytest.raises(ConfigError, match="must be a sequence mixer"):
        Block(ember_nn.LayerNorm(D))
    with pytest.raises(ConfigError, match="8 wide but the channel mixer"):
        Block(build_layer("mlp", D, key=0), build_layer("mlp", 2 * D, key=0))
    with pytest.raises(ConfigError, match=r"blocks\[1\] is a MLP"):
        LanguageModel(5, [MLPBlock(D, key=0), build_layer("mlp", D)], dim=D)
    with pytest.raises(ConfigError, match="a table without a 'name'"):
        LanguageModel.from_layers([{"dim_inner": 3}], vocab_size=5, dim=D)
    with pytest.raises(ConfigError, match="position_embedding must be"):
        LanguageModel.from_layers(["mlp"], vocab_size=5, dim=D, position_embedding="rope")
    model = LanguageModel.from_layers(["mlp"], vocab_size=5, dim=D, max_length=4,
                                      position_embedding="learned", key=0)
    with pytest.raises(ember.ShapeError, match="exceed max_length=4"):
        model(ember.tensor([[1, 2, 3, 4, 0]]))
    with pytest.raises(ember.ShapeError, match="integer"):
        model(ember.ones((1, 3)))


@pytest.mark.parametrize("module", [_block, _language_model, _named, _registry])
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, extraglobs={"ember": ember, "ember_nn": ember_nn})
    assert result.failed == 0


def test_compile_step_trains_a_hybrid_language_model_as_eager(backend: str) -> None:
    """Attention, Mamba and SwiGLU blocks: compile_step's losses equal the eager step's (torch's
    inductor compile takes tens of seconds: nox -s slow, EMBER_SLOW=1)."""
    if backend == "torch" and not os.environ.get("EMBER_SLOW"):
        pytest.skip("torch.compile takes tens of seconds: run with EMBER_SLOW=1")
    ids = ember.tensor(RNG.integers(0, 16, size=(4, 17)))

    def build() -> tuple[LanguageModel, ember_nn.Optimizer]:
        model = LanguageModel.from_layers(["mh-attention", "swiglu", "mamba", "swiglu"],
                                          vocab_size=16, dim=32, max_length=32, key=4)
        return model, ember_nn.Adam(1e-2)

    def losses(compiled: bool) -> list[float]:
        model, opt = build()

        def loss_fn(ids: ember.Tensor) -> ember.Tensor:
            return ember_nn.sparse_categorical_cross_entropy(model(ids[:, :-1]), ids[:, 1:])

        if compiled:
            step = ember_nn.compile_step(model, loss_fn, opt)
            out = [float(step(ids)) for _ in range(4)]
            assert step.stats.fallback is None and step.stats.traces <= 1
            return out
        out = []
        for _ in range(4):
            loss, grads = ember_nn.value_and_grad(model, loss_fn)(ids)
            opt.update(model, grads)
            out.append(float(loss))
        return out

    eager, compiled = losses(False), losses(True)
    np.testing.assert_allclose(compiled, eager, rtol=2e-4, atol=2e-5)
    assert eager[-1] < eager[0]
