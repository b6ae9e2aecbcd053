"""The same seed gives the same model and the same run on every backend: initial weights,
dropout masks, the Trainer's shuffling and its validation split (``ember.random`` computes one
stream everywhere). Each backend is checked against recorded values, so a nox session with one
backend checks it too, and all loaded backends against each other."""

from __future__ import annotations

from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember.testing import loadable_backends

BACKENDS = loadable_backends()

# recorded once; every backend must give them
DENSE_WEIGHT = [0.7969386577606201, -0.08459502458572388, 0.7771168947219849,
                0.16146445274353027, 0.7635232210159302, 0.28252875804901123]
HE_NORMAL = [0.21767312288284302, -0.6064703464508057, -0.024983931332826614, 0.07093071937561035]
DROPOUT_MASKS = [[1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0],
                 [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0]]
RUN = [("train", [18, 5, 13, 4]), ("train", [8, 3, 6, 9]), ("train", [0, 1, 2, 19]),
       ("train", [16, 14, 17]), ("eval", [15, 12, 10, 11, 7]),
       ("train", [5, 14, 19, 18]), ("train", [13, 3, 9, 2]), ("train", [6, 0, 4, 16]),
       ("train", [8, 1, 17]), ("eval", [15, 12, 10, 11, 7])]


def _draws(name: str) -> dict[str, Any]:
    """Everything random a model and a training run draw, on backend ``name``."""
    with ember.use_backend(name):
        dense = ember_nn.Dense(4, 3, key=0)
        he = ember_nn.Dense(4, 3, kernel_init="he_normal", key=0)
        drop = ember_nn.Dropout(0.5, key=0)
        masks = [(drop(ember.ones((16,))).numpy() != 0).astype(int).tolist() for _ in range(2)]
        with ember_nn.seeded(5):
            stack = ember_nn.Sequential(ember_nn.Dense(3, 5), ember_nn.Dropout(0.2),
                                        ember_nn.Dense(5, 2))
            stack_out = stack(ember.ones((8, 3))).numpy()
        return {"dense": dense.weight.numpy(), "bias": dense.bias.numpy(),
                "he": he.weight.numpy(), "masks": masks, "stack": stack_out, "run": _run()}


def _run() -> list[tuple[str, list[int]]]:
    """The sample indices of each batch a Trainer feeds the model: 20 samples, a quarter held
    out by validation_split, two shuffled epochs of batches of 4."""
    seen: list[tuple[str, list[int]]] = []

    class Spy(ember_nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dense = ember_nn.Dense(1, 1, key=0)

        def forward(self, x: ember.Tensor) -> ember.Tensor:
            seen.append(("train" if self.training else "eval",
                         [int(v) for v in x[:, 0].tolist()]))
            return self.dense(x)

    x = ember.reshape(ember.arange(20, dtype=ember.float32), (20, 1))
    trainer = ember_nn.Trainer(Spy(), ember_nn.SGD(0.01), loss="mse", seed=3, progress=False)
    trainer.fit(x, ember.zeros((20, 1)), epochs=2, batch_size=4, validation_split=0.25)
    return seen


def test_a_seed_gives_the_recorded_model_and_run(backend: str) -> None:
    d = _draws(backend)
    assert d["dense"].ravel().tolist()[:6] == DENSE_WEIGHT  # glorot_uniform: bit for bit
    assert not d["bias"].any()
    np.testing.assert_allclose(d["he"].ravel()[:4], HE_NORMAL, rtol=1e-6)  # through log, cos
    assert d["masks"] == DROPOUT_MASKS  # two calls: the layer's counter moves on
    assert d["run"] == RUN  # shuffling each epoch, and the same validation samples


@pytest.mark.skipif(len(BACKENDS) < 2, reason="needs two loadable backends")
def test_every_backend_gives_the_same_model_and_run() -> None:
    ref_name, *others = BACKENDS
    ref = _draws(ref_name)
    for name in others:
        got = _draws(name)
        where = f"{name!r} vs {ref_name!r}"
        np.testing.assert_array_equal(got["dense"], ref["dense"], err_msg=where)
        np.testing.assert_allclose(got["he"], ref["he"], rtol=1e-6, err_msg=where)
        assert got["masks"] == ref["masks"], where
        np.testing.assert_allclose(got["stack"], ref["stack"], rtol=1e-5, atol=1e-6,
                                   err_msg=where)
        assert got["run"] == ref["run"], where
