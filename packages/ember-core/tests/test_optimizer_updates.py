"""The optimiser-update ops' contract on every backend: inputs never changed (slots only with
donate=True), no gradient through them (a clear error), bad groups refused by name. Their
values are checked by the conformance kit (kernel vs composite) and by ember-nn's tests
against torch.optim."""

from __future__ import annotations

import ember
import numpy as np
import pytest


def _group(n: int = 2) -> tuple[list[ember.Tensor], ...]:
    rng = np.random.default_rng(0)
    mk = lambda: [ember.asarray(rng.standard_normal((3, 2)).astype(np.float32))  # noqa: E731
                  for _ in range(n)]
    return mk(), mk(), mk(), [ember.abs(t) for t in mk()]


def test_inputs_are_not_changed(backend: str) -> None:
    ps, gs, ms, vs = _group()
    before = [t.numpy().copy() for t in ps + gs + ms + vs]
    for _ in range(2):
        ember.nn.adam_update(ps, gs, ms, vs, lr=0.1, step=1, weight_decay=0.1)
        ember.nn.sgd_update(ps, gs, ms, lr=0.1, momentum=0.9, weight_decay=0.1)
        ember.nn.rmsprop_update(ps, gs, vs, ms, [m * 0.0 for m in ms], lr=0.1, momentum=0.5,
                               centered=True)
    after = [t.numpy() for t in ps + gs + ms + vs]
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)


def test_donate_gives_the_same_values_and_keeps_params(backend: str) -> None:
    ps, gs, ms, vs = _group()
    want = ember.nn.adam_update(ps, gs, ms, vs, lr=0.1, step=2)
    p0 = [t.numpy().copy() for t in ps + gs]
    got = ember.nn.adam_update(ps, gs, [ember.asarray(m.numpy()) for m in ms],
                               [ember.asarray(v.numpy()) for v in vs], lr=0.1, step=2, donate=True)
    for w, g in zip(want, got):
        for a, b in zip(w, g):
            np.testing.assert_array_equal(b.numpy(), a.numpy())
    for b, a in zip(p0, [t.numpy() for t in ps + gs]):
        np.testing.assert_array_equal(a, b)


def test_tracked_inputs_are_refused(backend: str) -> None:
    ps, gs, ms, vs = _group()
    w = ember.Variable(ps[0])
    with ember.GradientTape():
        ember.sum(w * w)
        with pytest.raises(ember.EmberError, match=r"nn.adam_update is not differentiable.*"
                                                   r"params\[0\]"):
            ember.nn.adam_update([w * 1.0], gs[:1], ms[:1], vs[:1], lr=0.1, step=1)
        # the values of tracked tensors, taken with stop_gradient, are fine
        p, _, _ = ember.nn.adam_update([ember.stop_gradient(w)], gs[:1], ms[:1], vs[:1],
                                       lr=0.1, step=1)
    assert p[0].shape == (3, 2)


def test_bad_groups_are_named(backend: str) -> None:
    ps, gs, ms, vs = _group()
    with pytest.raises(ember.ArgumentError, match="exp_avgs has 1 entries but params has 2"):
        ember.nn.adam_update(ps, gs, ms[:1], vs, lr=0.1, step=1)
    with pytest.raises(ember.ShapeError, match=r"grads\[1\] has shape \(2,\)"):
        ember.nn.sgd_update(ps, [gs[0], ember.ones((2,))], lr=0.1)
    with pytest.raises(ember.DTypeError, match=r"grads\[0\] is float16"):
        ember.nn.sgd_update(ps[:1], [ember.astype(gs[0], ember.float16)], lr=0.1)
    with pytest.raises(ember.ArgumentError, match="lr must be a finite real number"):
        ember.nn.sgd_update(ps, gs, lr=float("nan"))
    with pytest.raises(ember.ArgumentError, match="momentum_buffers must be a list"):
        ember.nn.rmsprop_update(ps, gs, vs, None, lr=0.1, momentum=0.9)
    with pytest.raises(ember.ArgumentError, match="lr must be a number or a 0-d real tensor"):
        ember.nn.adam_update(ps, gs, ms, vs, lr=ember.ones((2,)), step=1)
