"""The cached module walk: every change to a model's structure is seen at the next call, however
it is made, and the next training step's gradients and updates are those of a fresh model."""

from __future__ import annotations

import copy
from collections.abc import Callable

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn._core._module import _named_variables


class Holder(ember_nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = ember_nn.Dense(3, 4, key=0)
        self.blocks = [ember_nn.Dense(4, 4, key=1)]
        self.extra: dict[str, ember_nn.Module] = {}
        self.gain = ember.Variable(ember.ones((4,)))

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = self.first(x)
        for b in self.blocks:
            x = b(x)
        for b in self.extra.values():
            x = b(x)
        return x * self.gain


def _fresh(m: ember_nn.Module) -> list[tuple[str, int]]:
    return [(k, id(v)) for k, v in _named_variables(m, "")]


def _cached(m: ember_nn.Module) -> list[tuple[str, int]]:
    return [(k, id(v)) for k, v in m.named_variables()]


def _set_gain(m: Holder) -> None:
    m.gain = ember.Variable(ember.full((4,), 2.0))


def _del_gain(m: Holder) -> None:
    del m.gain


def _append_block(m: Holder) -> None:
    m.blocks.append(ember_nn.Dense(4, 4, key=2))


def _replace_block(m: Holder) -> None:
    m.blocks[0] = ember_nn.Dense(4, 4, key=3)


def _add_to_dict(m: Holder) -> None:
    m.extra["more"] = ember_nn.Dense(4, 4, key=4)


def _rename_in_dict(m: Holder) -> None:
    m.extra["a"] = ember_nn.Dense(4, 4, key=4)
    m.named_variables()  # cached with "extra.a"
    m.extra["b"] = m.extra.pop("a")  # same values, new key


def _behind_the_back(m: Holder) -> None:
    object.__setattr__(m.first, "weight", ember.Variable(ember.zeros((3, 4))))


def _new_attribute(m: Holder) -> None:
    m.head = ember_nn.Dense(4, 1, key=5)


def _replace_none(m: Holder) -> None:
    m.maybe = None
    m.named_variables()
    m.maybe = ember_nn.Dense(4, 1, key=6)


def _to_float64(m: Holder) -> None:
    m.to(dtype=ember.float64)


EDITS: dict[str, Callable[[Holder], None]] = {
    "set a variable": _set_gain, "delete a variable": _del_gain,
    "list append": _append_block, "list item replaced": _replace_block,
    "dict item added": _add_to_dict, "dict key renamed": _rename_in_dict,
    "object.__setattr__": _behind_the_back, "new module attribute": _new_attribute,
    "None replaced by a module": _replace_none, "to(dtype)": _to_float64,
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_every_structural_edit_is_seen_at_the_next_walk(backend: str, edit: str) -> None:
    m = Holder()
    before = _cached(m)
    assert before == _fresh(m)
    EDITS[edit](m)
    after = _fresh(m)
    assert after != before
    assert _cached(m) == after
    assert [id(v) for v in m.variables] == [i for _, i in after]
    assert [id(v) for v in m.trainable_variables] == [i for _, i in after]
    assert list(m.named_trainable_variables()) == [k for k, _ in after]


def test_unchanged_model_reuses_its_walk_and_copies_get_their_own(backend: str) -> None:
    m = Holder()
    walk = m._walked()
    m(ember.ones((2, 3)))
    m.train(True)  # the same mode: nothing changes
    assert m._walked() is walk
    # a shallow copy shares the slot's value at first; it must walk its own tree
    clone = copy.copy(m)
    object.__setattr__(clone, "gain", ember.Variable(ember.zeros((4,))))
    assert _cached(clone) == _fresh(clone) != _cached(m)
    # the returned collections are the caller's: editing them changes nothing
    m.named_trainable_variables().clear()
    m.variables.clear()
    assert _cached(m) == _fresh(m) and len(m.variables) == 5


def _grads(model: ember_nn.Module, x: ember.Tensor, y: ember.Tensor) -> dict[str, np.ndarray]:
    vg = ember_nn.value_and_grad(
        model, lambda x, y: ember.mean((model(x) - y) ** 2))
    _, g = vg(x, y)
    return {k: np.asarray(v.numpy()) for k, v in g.items()}


def _reference(model: ember_nn.Module, x: ember.Tensor, y: ember.Tensor,
               build: Callable[[], ember_nn.Module]) -> dict[str, np.ndarray]:
    """The gradients a freshly built model with the same values gives (no cached walk)."""
    ref = build()
    ref.load_state_dict(model.state_dict())
    return _grads(ref, x, y)


def _check(model: ember_nn.Module, x: ember.Tensor, y: ember.Tensor,
           build: Callable[[], ember_nn.Module], opt: ember_nn.SGD) -> None:
    vg = ember_nn.value_and_grad(
        model, lambda x, y: ember.mean((model(x) - y) ** 2))
    before = {k: np.asarray(v.numpy()) for k, v in _named_variables(model, "")}
    _, grads = vg(x, y)
    want = _reference(model, x, y, build)
    assert sorted(grads) == sorted(want) == sorted(before)
    for k, g in grads.items():
        np.testing.assert_allclose(np.asarray(g.numpy()), want[k], rtol=1e-5, atol=1e-6)
    opt.update(model, grads)
    for k, v in _named_variables(model, ""):  # every variable of the model now was updated
        np.testing.assert_allclose(np.asarray(v.numpy()), before[k] - 0.1 * want[k],
                                   rtol=1e-5, atol=1e-6)


def test_training_steps_after_structural_edits_use_the_new_structure(backend: str) -> None:
    x = ember.asarray(np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4))
    y = ember.asarray(np.array([[0.5, -0.5], [1.0, 0.0]], dtype=np.float32))
    y8 = ember.concat([y, y, y, y], axis=1)
    opt = ember_nn.SGD(0.1)
    model = ember_nn.Sequential(ember_nn.Dense(4, 8, key=0), ember_nn.Tanh())
    _check(model, x, y8, lambda: ember_nn.Sequential(ember_nn.Dense(4, 8, key=0),
                                                     ember_nn.Tanh()), opt)
    # a layer added after a first step
    model.append(ember_nn.Dense(8, 2, key=1))

    def build() -> ember_nn.Module:
        return ember_nn.Sequential(ember_nn.Dense(4, 8, key=0), ember_nn.Tanh(),
                                   ember_nn.Dense(8, 2, key=1))

    _check(model, x, y, build, opt)
    # a variable replaced by a new one with other values
    first = model[0]
    first.weight = ember.Variable(ember.full((4, 8), 0.25))
    _check(model, x, y, build, opt)
    assert first.weight.numpy()[0, 0] != 0.25  # the new variable is the one updated
    # a whole layer replaced through the list
    model.layers[2] = ember_nn.Dense(8, 2, key=7)
    _check(model, x, y, build, opt)


def test_to_dtype_after_a_step_trains_the_cast_variables(backend: str) -> None:
    if backend == "mlx":
        pytest.skip("mlx has no float64 on every device; the float16 case below covers it")
    model = ember_nn.Sequential(ember_nn.Dense(4, 3, key=0))
    x = ember.ones((2, 4))
    y = ember.zeros((2, 3))
    _check(model, x, y, lambda: ember_nn.Sequential(ember_nn.Dense(4, 3, key=0)),
           ember_nn.SGD(0.1))
    model.to(dtype=ember.float64)
    xd, yd = ember.astype(x, ember.float64), ember.astype(y, ember.float64)
    _check(model, xd, yd, lambda: ember_nn.Sequential(
        ember_nn.Dense(4, 3, key=0, dtype=ember.float64)), ember_nn.SGD(0.1))
    assert all(v.dtype == ember.float64 for v in model.variables)
    _, grads = ember_nn.value_and_grad(model, lambda: ember.sum(model(xd)))()
    assert all(g.dtype == ember.float64 for g in grads.values())


def test_to_half_precision_after_a_walk_gives_the_cast_variables(backend: str) -> None:
    model = ember_nn.Sequential(ember_nn.Dense(4, 3, key=0))
    old = model.variables
    model.to(dtype=ember.float16)
    new = model.variables
    assert [id(v) for v in new] == [i for _, i in _fresh(model)]
    assert not {id(v) for v in old} & {id(v) for v in new}
    assert all(v.dtype == ember.float16 for v in new)
    _, grads = ember_nn.value_and_grad(
        model, lambda: ember.sum(model(ember.ones((2, 4), dtype=ember.float16))))()
    assert sorted(grads) == ["layers.0.bias", "layers.0.weight"]
    np.testing.assert_allclose(np.asarray(grads["layers.0.bias"].numpy(), np.float32),
                               [2.0, 2.0, 2.0])
