"""The torch engine's leaves across tapes: a variable's array gets one leaf that requires grad,
reused by every tape that reads it until the variable is assigned; outside tapes the variable
holds its own array (no autograd graph is built); a tape is freed without the cyclic GC."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from ember_torch import _gradient_engine as engine  # noqa: E402


@pytest.fixture(autouse=True)
def _torch() -> Iterator[None]:
    with ember.use_backend("torch"):
        yield


def _leaf_in_tape(v: ember.Variable) -> object:
    with ember.GradientTape() as tape:
        y = ember.sum(v * v)
        leaf = v.native
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), 2 * v.numpy())
    return leaf


def test_leaf_reused_until_assign() -> None:
    v = ember.Variable([1.0, 2.0])
    own = v.native
    first = _leaf_in_tape(v)
    assert first is not own and first.requires_grad  # type: ignore[attr-defined]
    assert _leaf_in_tape(v) is first  # the second tape reuses it
    assert v.native is own and not v.native.requires_grad  # given back after each tape
    v.assign([3.0, -1.0])
    third = _leaf_in_tape(v)  # a new array: a new leaf, with the new values
    assert third is not first
    np.testing.assert_allclose(third.detach().numpy(), [3.0, -1.0])  # type: ignore[attr-defined]


def test_leaf_entry_goes_with_its_array() -> None:
    v = ember.Variable(np.ones((3,), np.float32))
    _leaf_in_tape(v)
    key = id(v.native)
    assert key in engine._leaves
    v.assign(np.zeros((3,), np.float32))  # the old array is freed: so is its entry
    assert key not in engine._leaves
    before = len(engine._leaves)
    for i in range(20):
        v.assign(np.full((3,), float(i), np.float32))
        _leaf_in_tape(v)
    assert len(engine._leaves) <= before + 1


def test_ops_outside_tapes_build_no_graph() -> None:
    w = ember.Variable([1.0, 2.0])
    _leaf_in_tape(w)
    z = w * 3.0
    assert not z.native.requires_grad and z.native.grad_fn is None
    assert not w.native.requires_grad


def test_tape_freed_without_the_cyclic_gc() -> None:
    v = ember.Variable([1.0, 2.0])
    gc.disable()
    try:
        with ember.GradientTape() as tape:
            y = ember.sum(v * v)
        tape.gradient(y, v)
        ref = weakref.ref(tape)
        del tape
        assert ref() is None  # freed by its reference count: no cycle through its tracker
    finally:
        gc.enable()


def test_read_twice_in_one_op_after_the_swap() -> None:
    # vecdot(v, v) unwraps both arrays, then reads v in two kernel calls: the second sees the
    # array the tape swapped out, which must still count as v's
    v = ember.Variable([1.0, 2.0, 3.0])
    with ember.GradientTape() as tape:
        y = ember.vecdot(v, v)
    assert tape.gradient(y, v).numpy().tolist() == [2.0, 4.0, 6.0]
