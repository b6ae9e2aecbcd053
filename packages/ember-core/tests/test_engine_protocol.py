"""The protocol between a tape and its gradient engine, seen from an engine (docs/gradient-tape.md,
"Gradient engines"): what it is asked, what its answers make the tape do."""

from __future__ import annotations

from typing import Any, ClassVar

import ember
import numpy as np
import pytest
from ember.autodiff import Engine, GenericEngine, GradientRequest, Gradients, _tape


class Spy(GenericEngine):
    """The generic engine, plus: sources tracked as copies (like torch's leaves), targets'
    values recomputed (like MLX's replay), and every request kept."""

    name = "spy"
    copies = True
    recompute = True

    def __init__(self) -> None:
        self.requests: list[GradientRequest] = []
        self.events: list[str] = []

    def source(self, native: Any) -> Any:
        return self.root.kernels.asarray(native, None, None, True) if self.copies else native

    def release(self) -> None:
        self.events.append("release")

    def gradient(self, request: GradientRequest) -> Gradients:
        self.requests.append(request)
        res = super().gradient(request)
        if not self.recompute:
            return res
        recomputed = {t.slot: self.root.kernels.asarray(t.tensor.native, None, None, True)
                      for t in request.targets}
        return Gradients(res.grads, recomputed)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[Spy]:
    made: list[Spy] = []

    def engine_for(root: Any, choice: str) -> Engine:
        engine = Spy()
        engine.root = root
        made.append(engine)
        return engine

    monkeypatch.setattr(_tape, "engine_for", engine_for)
    return made


def test_a_source_holds_the_engines_array_while_recording(backend: str,
                                                           spy: list[Spy]) -> None:
    x = ember.tensor([1.0, 2.0])
    v = ember.Variable([3.0, 4.0])
    x0, v0 = x.native, v.native
    with ember.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = ember.sum(x * v)
        assert x.native is not x0 and v.native is not v0  # the engine's copies, swapped in
        assert ember.autodiff._variables.variable_of(v.native) is v  # the registry follows
    assert x.native is x0 and v.native is v0  # given back when the tape stops recording
    assert spy[0].events == ["release"]
    gx, gv = tape.gradient(y, [x, v])
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gv.numpy(), [1.0, 2.0])


def test_a_reassigned_source_is_not_given_back(backend: str, spy: list[Spy]) -> None:
    v = ember.Variable([1.0])
    with ember.GradientTape() as tape:
        tape.watch(v)
        v.assign([5.0])  # the user's new value wins over the tape's restoring
    assert v.numpy().tolist() == [5.0]


def test_the_request_is_a_snapshot_of_what_the_tape_recorded(backend: str, spy: list[Spy]) -> None:
    x = ember.tensor([1.0, 2.0])
    with ember.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = ember.sum(ember.exp(x))
        x0, y0 = x.native, y.native
        tape.gradient(y, x)
        ember.sin(x)  # recorded after the request
    (req,) = spy[0].requests
    assert isinstance(req.records, tuple) and isinstance(req.values, tuple)
    assert [r.info.name for r in req.records] == ["exp", "sum"]
    assert req.persistent is True and req.sources == ((0,),)
    (target,) = req.targets
    assert target.tensor is y and req.values[target.slot] is y0
    np.testing.assert_allclose(target.seed.numpy(), 1.0)
    assert req.values[0] is x0  # the engine's copy of x, tracked while the tape recorded


def test_recomputed_targets_take_the_targets_place(backend: str, spy: list[Spy]) -> None:
    x = ember.tensor([1.0, 2.0])
    v = ember.Variable(2.0)
    with ember.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = ember.sum(x * x)
        w = v * 1.0
    before_y, before_v = y.native, v.native
    g = tape.gradient([y, v], x)
    assert y.native is not before_y  # a plain tensor takes the engine's array ...
    assert v.native is before_v  # ... a variable keeps its own
    np.testing.assert_allclose(y.numpy(), 5.0)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    # the tape still knows the target by its new array: a second gradient of it agrees
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [2.0, 4.0])
    assert tape.gradient(w, x) is None


class Library(Spy):
    """An engine whose library records (records = False), answering ``computed`` itself."""

    records = False
    recompute = False
    seen: ClassVar[set[int]] = set()

    def computed(self, native: Any) -> bool:
        return id(native) in self.seen


def test_an_engine_without_records_says_what_the_tape_computed(
        backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engines: list[Library] = []

    def engine_for(root: Any, choice: str) -> Engine:
        engine = Library()
        engine.root = root
        engines.append(engine)
        return engine

    monkeypatch.setattr(_tape, "engine_for", engine_for)
    x = ember.tensor([1.0, 2.0])
    with ember.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * 2.0
        z = x * 3.0
    assert not engines[0].requests
    Library.seen = {id(y.native)}
    tape.gradient(y, x)
    (req,) = engines[0].requests
    assert req.records == ()  # the tape kept none for this engine
    assert req.values[req.targets[0].slot] is y.native  # tracked because computed() said so
    assert tape.gradient(z, x) is None  # not computed here, says the engine: not a target
    assert len(engines[0].requests) == 1
