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


class Typed(ember_nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.f32 = ember.Variable(ember.zeros((2,), dtype=ember.float32))
        self.i32 = ember.Variable(ember.zeros((2,), dtype=ember.int32), trainable=False)
        self.c64 = ember.Variable(ember.zeros((2,), dtype=ember.complex64), trainable=False)


def test_load_state_dict_refuses_casts_that_lose_information(backend: str) -> None:
    """int64 arrays into a float32 variable (what a careless conversion gives) were cast
    silently; now every entry that would lose information is named, and nothing is assigned."""
    m = Typed()
    np = pytest.importorskip("numpy")
    bad = {"f32": np.array([2**40 + 1, 3], dtype=np.int64),
           "i32": np.array([1.5, 2.0], dtype=np.float32),
           "c64": np.array([1.0, 2.0], dtype=np.float64)}
    with pytest.raises(ember_nn.StateError,
                       match=r"dtypes that would lose information: f32 \(given int64, model has "
                             r"float32\), i32 \(given float32, model has int32\); cast the "
                             r"values with ember.astype first"):
        m.load_state_dict(bad)
    assert m.f32.tolist() == [0.0, 0.0] and m.i32.tolist() == [0, 0]  # nothing assigned
    with pytest.raises(ember_nn.StateError, match=r"i32 \(given complex64, model has int32"):
        m.load_state_dict({"i32": ember.zeros((2,), dtype=ember.complex64)}, strict=False)
    # what does fit: float64 NumPy arrays round into float32 (a torch state dict, converted);
    # narrow integers widen; integers a float holds exactly; float into complex
    m.load_state_dict({"f32": np.array([0.1, 2.5], dtype=np.float64),
                       "i32": np.array([7, -8], dtype=np.int8),
                       "c64": np.array([1.5, -2.0], dtype=np.float32)})
    assert m.f32.tolist() == [float(np.float32(0.1)), 2.5] and m.f32.dtype == ember.float32
    assert m.i32.tolist() == [7, -8] and m.i32.dtype == ember.int32
    assert m.c64.tolist() == [1.5 + 0j, -2 + 0j]
    m.load_state_dict({"f32": np.array([3, 255], dtype=np.uint8)}, strict=False)
    assert m.f32.tolist() == [3.0, 255.0]
    with pytest.raises(ember_nn.StateError, match=r"i32 \(given uint32, model has int32\)"):
        m.load_state_dict({"i32": np.array([1, 2], dtype=np.uint32)}, strict=False)


def test_the_cast_rule_is_exactly_lossless_for_integers() -> None:
    from ember_nn._core._module import castable

    E = ember
    assert castable(E.int16, E.float32) and castable(E.int32, E.float64)
    assert castable(E.uint8, E.bfloat16) and castable(E.int8, E.float16)
    assert not castable(E.int32, E.float32) and not castable(E.uint16, E.bfloat16)
    assert not castable(E.int64, E.float64) and not castable(E.float16, E.int64)
    assert castable(E.uint8, E.int16) and not castable(E.uint16, E.int16)
    assert not castable(E.int8, E.uint64) and castable(E.bool, E.float16)
    assert not castable(E.float32, E.bool) and not castable(E.complex64, E.float64)
    assert castable(E.float64, E.bfloat16) and castable(E.complex128, E.complex64)


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


def test_deserialize_decodes_dtypes_from_a_table_not_getattr() -> None:
    """``{"__dtype__": name}`` was ``getattr(ember, name)``: any attribute of ember."""
    for name in ("set_backend", "Tensor", "__class__", "float", "ops"):
        with pytest.raises(ember_nn.ConfigError, match=rf"'{name}'.*is not the name of an "
                                                       r"ember dtype \(bool, int8"):
            ember_nn.deserialize({"class": "Dense", "config": {
                "in_features": 2, "out_features": 2, "dtype": {"__dtype__": name}}})
    m = ember_nn.deserialize({"class": "Dense", "config": {
        "in_features": 2, "out_features": 2, "dtype": {"__dtype__": "float64"}}})
    assert m.weight.dtype == ember.float64


def test_deserialize_checks_the_whole_description_before_building(
        monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    real = Affine.__init__

    def spy(self: Affine, *args: object, **kwargs: object) -> None:
        built.append("Affine")
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Affine, "__init__", spy)
    good = {"__module__": {"class": "Affine", "config": {"n": 2}}}
    bad = {"__module__": {"class": "Affine", "config": {"n": {"__key__": "not an int"}}}}
    with pytest.raises(ember_nn.ConfigError, match=r"\{'__key__': 'not an int'\} is not a "
                                                   r"random key"):
        ember_nn.deserialize({"class": "Stack", "config": {"parts": [good, bad]}})
    assert built == []
    deep: dict[str, object] = {"class": "Affine", "config": {"n": 1}}
    for _ in range(300):  # deeper than Python's recursion would allow, refused without it
        deep = {"class": "Stack", "config": {"parts": [{"__module__": deep}]}}
    with pytest.raises(ember_nn.ConfigError, match="modules nested more than 64 deep"):
        ember_nn.deserialize(deep)
    for bad_config in ("x", [1], {1: 2}):
        with pytest.raises(ember_nn.ConfigError, match=r"expected|must be a dict"):
            ember_nn.deserialize({"class": "Affine", "config": bad_config})


def test_deferred_init_builds_placeholders_that_loading_replaces(backend: str) -> None:
    from ember_nn._core._deferred import deferred_init

    with deferred_init():
        big = ember_nn.Sequential(ember_nn.Dense(20000, 20000), ember_nn.BatchNorm(20000))
    assert big.layers[0].weight.shape == (20000, 20000)
    assert big.layers[1].running_var.trainable is False
    small = ember_nn.Dense(3, 2, key=0)
    with deferred_init():
        lazy = ember_nn.Dense(3, 2)
    assert lazy.weight.tolist() == [[0.0, 0.0]] * 3  # a placeholder computes as zeros
    lazy.load_state_dict(small.state_dict())
    assert lazy.weight.tolist() == small.weight.tolist()
    x = ember.ones((1, 3))
    assert lazy(x).tolist() == small(x).tolist()
    assert ember_nn.Dense(3, 2, key=0).weight.tolist() == small.weight.tolist()  # scope ended


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
