"""ember.compile on torch compiles a graph once more, with loop reordering off, when inductor
fails on it (torch 2.11's CUDA scheduler asserts on the MAD Hyena step); a second failure
propagates. The failing compile is simulated; the retry is a real inductor compile."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from ember_torch import _compiler
from torch._inductor.exc import InductorError


def _fn(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(x) * 2.0 + x


def _failing_compile(fail_always: bool, calls: list[Any]) -> Any:
    real = torch.compile

    def compile(module: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("options"))
        if kwargs.get("options") is None or fail_always:
            def broken(*args: Any) -> Any:
                raise InductorError(AssertionError("scheduler"), None)
            return broken
        return real(module, **kwargs)

    return compile


def test_a_failed_compile_is_retried_without_loop_reordering(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(torch, "compile", _failing_compile(False, calls))
    traced = _compiler.Traced(_fn)
    x = torch.linspace(-2.0, 2.0, 7)
    torch.testing.assert_close(traced(x), _fn(x))
    torch.testing.assert_close(traced(x + 1.0), _fn(x + 1.0))  # the retried graph is kept
    assert calls[0] is None
    assert calls[1] and not any(calls[1].values())
    assert "loop_ordering_after_fusion" in calls[1]
    assert len(calls) == 2


def test_a_second_failure_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(torch, "compile", _failing_compile(True, calls))
    with pytest.raises(InductorError):
        _compiler.Traced(_fn)(torch.ones(3))
    assert len(calls) == 2
