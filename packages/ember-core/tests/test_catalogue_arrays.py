"""The catalogue's array marks: which kernel parameters take native arrays (what tapes check)."""

from __future__ import annotations

import pytest
from ember._catalogue import BY_NAME, CATALOGUE, _signature, kernel_name
from ember.autodiff._record import KERNELS, _infos
from ember.autodiff.rules import RULES


def test_signatures_parse_names_marks_and_lists() -> None:
    assert _signature("take", "(x: array, indices: array, axis)") == (
        ("x", "indices", "axis"), (0, 1), False)
    assert _signature("concat", "(arrays: list[array], axis)") == (("arrays", "axis"), (0,), True)
    assert _signature("can_cast", "-") == ((), (), False)
    spec = BY_NAME["where"]
    assert spec.kernel == "(condition, x1, x2)"  # the plain signature, as docs/ops.md shows it
    assert spec.params == ("condition", "x1", "x2") and spec.arrays == (0, 1, 2)


@pytest.mark.parametrize("sig, message", [
    ("(x: tensor)", "marked 'tensor'"),
    ("(x: array, arrays: list[array])", "only the first parameter"),
])
def test_bad_marks_are_refused(sig: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _signature("op", sig)


@pytest.mark.parametrize("kname", sorted(RULES))
def test_rule_arguments_are_marked_arrays(kname: str) -> None:
    """A VJP rule's differentiable arguments are array parameters of its kernel (the tape's
    records line its cotangents up with them)."""
    spec = next(s for s in CATALOGUE if s.kernel_name == kname)
    rule = RULES[kname]
    assert set(rule.diff) <= set(spec.arrays), (kname, rule.diff, spec.params, spec.arrays)
    assert rule.many == spec.array_list, kname


def test_tapes_check_the_marked_parameters() -> None:
    """Kernels without a rule are checked where the catalogue marks arrays, and only there:
    eye's diagonal offset ``k`` is no array (a name-based guess took it for attention's key),
    while cross-entropy's marks are ``logits`` and ``targets`` and its rule (the fused kernel
    takes integer targets) differentiates ``logits`` alone."""
    infos = KERNELS or _infos()
    for spec in CATALOGUE:
        info = infos[spec.kernel_name]
        rule = RULES.get(spec.kernel_name)
        assert info.arrays == (rule.diff if rule else spec.arrays), spec.name
        assert info.many == spec.array_list, spec.name
    assert infos["eye"].arrays == ()
    assert BY_NAME["nn.cross_entropy"].arrays == (0, 1)
    assert infos[kernel_name("nn.cross_entropy")].arrays == (0,)
    assert infos["diff"].arrays == (0, 3, 4)
