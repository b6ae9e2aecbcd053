"""MAD-Lab's initialisation, layer by layer and backbone by backbone.

- The GLU family and the ``mlp`` layer start as torch's ``nn.Linear`` (MAD-Lab builds them from
  ``nn.Linear`` and keeps its init): checked against torch's own layers' statistics.
- ``LanguageModel.from_layers`` zeroes every Linear bias of its blocks but Mamba's ``dt_proj``
  (MAD-Lab's ``self.apply(_init_weights)`` and ``_no_reinit``); ``AutoEncoder.from_layers``
  draws every Linear weight of the model N(0, 0.02) and zeroes every bias, ``dt_proj``'s too.
  Blocks handed to the constructors keep their weights.
"""

from __future__ import annotations

import math

import ember_nn
import numpy as np
import pytest
from ember_nn import Dense
from ember_nn.blocks import AutoEncoder, LanguageModel, build_layer
from ember_nn.blocks._registry import blocks_from_layers
from ember_nn.mixers.channel import GLU, GeGLU, ReGLU, SwiGLU

torch = pytest.importorskip("torch")

LAYERS = ["mh-attention", "swiglu", "mamba", "swiglu", "mh-hyena", "mlp"]


def _dense(model: ember_nn.Module) -> list[tuple[str, Dense]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, Dense)]


def _torch_linear_std(fan_in: int, fan_out: int) -> float:
    torch.manual_seed(0)
    return float(torch.nn.Linear(fan_in, fan_out).weight.detach().std())


@pytest.mark.parametrize("cls", [GLU, SwiGLU, GeGLU, ReGLU])
def test_glu_family_starts_as_torch_linear(backend: str, cls) -> None:
    layer = cls(128, bias=True, key=3)
    for dense in (layer.w1, layer.w2, layer.w3):
        w, b = dense.weight.numpy(), dense.bias.numpy()
        bound = 1 / math.sqrt(dense.in_features)
        assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
        # the same spread as torch's own nn.Linear of that shape (glorot's is 1.3x-2.1x here)
        ref = _torch_linear_std(dense.in_features, dense.out_features)
        assert w.std() == pytest.approx(ref, rel=0.03)
        assert np.abs(b).max() > 0.5 * bound  # torch draws the bias too


def test_mlp_layer_starts_as_torch_linear(backend: str) -> None:
    mlp = build_layer("mlp", dim=64, key=1)
    for dense in mlp.layers:
        w = dense.weight.numpy()
        assert np.abs(w).max() <= 1 / math.sqrt(dense.in_features)
        assert w.std() == pytest.approx(_torch_linear_std(dense.in_features, dense.out_features),
                                        rel=0.03)


def test_language_model_zeroes_its_blocks_linear_biases_but_mambas_dt_proj(backend: str) -> None:
    model = LanguageModel.from_layers(LAYERS, vocab_size=32, dim=64, max_length=16, key=0)
    dense = _dense(model)
    with_bias = [(n, m) for n, m in dense if m.bias is not None]
    # attention's projections, Hyena's projections and filter MLP, the head, Mamba's dt_proj
    assert len(with_bias) >= 8
    for name, m in with_bias:
        bias = m.bias.numpy()
        if name.endswith("dt_proj"):
            # Mamba's own init: softplus^-1 of dt in [1e-3, 1e-1] (all > 0 after softplus)
            sp = np.log1p(np.exp(bias))
            assert sp.min() >= 1e-3 * 0.99 and sp.max() <= 0.1 * 1.01, name
        else:
            assert not bias.any(), name
    # the weights keep their layers' init (torch's nn.Linear for Hyena's projections)
    hyena = model.blocks[4].mixer
    assert hyena.in_proj.weight.numpy().std() == pytest.approx(
        _torch_linear_std(64, hyena.in_proj.out_features), rel=0.05)


def test_auto_encoder_draws_every_linear_normal_002_with_zero_biases(backend: str) -> None:
    model = AutoEncoder.from_layers(LAYERS, vocab_size=32, dim=64, max_length=16, key=0)
    dense = _dense(model)
    assert {n.split(".")[0] for n, _ in dense} >= {"blocks", "decoder", "head"}
    weights = []
    for name, m in dense:
        if m.bias is not None:
            assert not m.bias.numpy().any(), name
        weights.append(m.weight.numpy().ravel())
        assert np.abs(m.weight.numpy()).max() < 0.02 * 7, name
    every = np.concatenate(weights)
    assert every.std() == pytest.approx(0.02, rel=0.02) and abs(every.mean()) < 1e-3
    # the mixers' layers too, each drawn with its own key
    swiglu = model.blocks[1].mixer
    assert swiglu.w3.weight.numpy().std() == pytest.approx(0.02, rel=0.05)
    assert not np.allclose(model.blocks[1].mixer.w1.weight.numpy()[:8, :8],
                           model.blocks[3].mixer.w1.weight.numpy()[:8, :8])


def test_backbone_init_is_seeded(backend: str) -> None:
    a = AutoEncoder.from_layers(LAYERS, vocab_size=32, dim=64, max_length=16, key=4)
    b = AutoEncoder.from_layers(LAYERS, vocab_size=32, dim=64, max_length=16, key=4)
    for (name, x), (_, y) in zip(a.named_variables(), b.named_variables(), strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)


def test_blocks_handed_to_a_backbone_keep_their_weights(backend: str) -> None:
    for cls in (LanguageModel, AutoEncoder):
        blocks = blocks_from_layers(cls.__name__, ["mh-hyena", "swiglu"], dim=32, max_length=16,
                                    norm="rms", key=2)
        before = {n: v.numpy().copy() for n, v in blocks[0].named_variables()}
        model = cls(16, blocks, dim=32, max_length=16, key=0)
        for name, v in model.blocks[0].named_variables():
            np.testing.assert_array_equal(v.numpy(), before[name], err_msg=name)
        assert model.blocks[0].mixer.in_proj.bias.numpy().any()  # torch's uniform bias
