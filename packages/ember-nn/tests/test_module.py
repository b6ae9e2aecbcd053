"""Module: variable discovery, modes, state dicts, configs, moving, repr."""

from __future__ import annotations

import ember
import ember_nn
import pytest


class Affine(ember_nn.Module):
    def __init__(self, n: int, *, offset: float = 0.0) -> None:
        super().__init__()
        self.scale = ember.Variable(ember.ones((n,)), name="scale")
        self.shift = ember.Variable(ember.full((n,), offset), trainable=False)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return x * self.scale + self.shift


class Stack(ember_nn.Module):
    def __init__(self, *parts: ember_nn.Module, extra: dict | None = None) -> None:
        super().__init__()
        self.parts = list(parts)
        self.named = {"first": parts[0]} if parts else {}  # the same module twice: counted once

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        for p in self.parts:
            x = p(x)
        return x


def test_variables_are_found_in_attributes_lists_and_dicts_once(backend: str) -> None:
    m = Stack(Affine(3), Affine(3, offset=1.0))
    names = [k for k, _ in m.named_variables()]
    assert names == ["parts.0.scale", "parts.0.shift", "parts.1.scale", "parts.1.shift"]
    assert [v.shape for v in m.trainable_variables] == [(3,), (3,)]
    assert len(m.non_trainable_variables) == 2
    assert m.num_parameters() == 12 and m.num_parameters(trainable_only=True) == 6
    assert m(ember.ones((3,))).tolist() == [2.0, 2.0, 2.0]


def test_train_and_eval_reach_every_module(backend: str) -> None:
    m = Stack(Affine(2), Stack(Affine(2)))
    assert all(x.training for _, x in m.named_modules())
    m.eval()
    assert not any(x.training for _, x in m.named_modules())
    m.train()
    assert all(x.training for _, x in m.named_modules())


def test_state_dict_round_trip_and_strict_errors(backend: str) -> None:
    a, b = Stack(Affine(3, offset=2.0)), Stack(Affine(3))
    b.load_state_dict(a.state_dict())
    assert b.parts[0].shift.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(ember_nn.StateError, match=r"missing: \['parts.0.shift'\]"):
        b.load_state_dict({"parts.0.scale": ember.ones((3,))})
    with pytest.raises(ember_nn.StateError, match=r"unexpected: \['bogus'\]"):
        b.load_state_dict({**a.state_dict(), "bogus": ember.ones((1,))})
    with pytest.raises(ember_nn.StateError, match=r"parts.0.scale \(given \(4,\), model has \(3,\)\)"):
        b.load_state_dict({**a.state_dict(), "parts.0.scale": ember.ones((4,))})
    b.load_state_dict({"parts.0.scale": ember.full((3,), 5.0)}, strict=False)
    assert b.parts[0].scale.tolist() == [5.0, 5.0, 5.0]


def test_state_dict_values_are_snapshots(backend: str) -> None:
    m = Affine(2)
    sd = m.state_dict()
    m.scale.assign(ember.zeros((2,)))
    assert sd["scale"].tolist() == [1.0, 1.0]


def test_config_round_trip_rebuilds_nested_modules(backend: str) -> None:
    m = Stack(Affine(2, offset=0.5), Affine(4))
    data = ember_nn.serialize(m)
    assert data == {"class": "Stack", "config": {
        "parts": [{"__module__": {"class": "Affine", "config": {"n": 2, "offset": 0.5}}},
                  {"__module__": {"class": "Affine", "config": {"n": 4, "offset": 0.0}}}],
        "extra": None}}
    m2 = ember_nn.deserialize(data)
    assert [v.shape for v in m2.variables] == [v.shape for v in m.variables]
    assert m2.parts[0].shift.tolist() == [0.5, 0.5]


def test_deserialize_errors_name_the_problem() -> None:
    with pytest.raises(ember_nn.ConfigError, match="no module class named 'Nope'"):
        ember_nn.deserialize({"class": "Nope", "config": {}})
    with pytest.raises(ember_nn.ConfigError, match="expected"):
        ember_nn.deserialize({"config": {}})
    with pytest.raises(ember_nn.ConfigError, match="Affine"):
        Affine(2, bogus=1)  # type: ignore[call-arg]


def test_to_moves_variables_and_casts(backend: str) -> None:
    m = Stack(Affine(2))
    m.to(dtype=ember.float64)
    assert [v.dtype for v in m.variables] == [ember.float64, ember.float64]
    if len(BACKENDS_ALL) > 1:
        other = next(b for b in BACKENDS_ALL if b != backend)
        m.to(other)
        assert {v.backend for v in m.variables} == {other}
        assert m.parts[0].scale.trainable and not m.parts[0].shift.trainable


def test_repr_shows_tree_and_parameter_counts() -> None:
    m = Stack(Affine(3), Affine(2))
    assert repr(m) == ("Stack(extra=None)  # 10 parameters\n"
                       "  (parts.0): Affine(n=3, offset=0.0)  # 6 parameters\n"
                       "  (parts.1): Affine(n=2, offset=0.0)  # 4 parameters\n"
                       "  (named.first): Affine(n=3, offset=0.0)  # 6 parameters")


BACKENDS_ALL = [b.name for b in ember.backends() if b.loads is not False]
