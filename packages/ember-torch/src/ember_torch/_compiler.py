"""ember.compile on torch: trace the function to an ATen graph, then ``torch.compile`` the graph.

``torch.compile(fn)`` on a function written in ember ops makes dynamo trace ember's own Python
(dispatch, tape bookkeeping): its guards on object identities recompile at every call, and a
training step took 90 s to compile and still ran eagerly (issue 11). ember.compile's contract
is MLX's and JAX's instead: ``fn`` is pure (tensors in, tensors out, no host reads), so it can
be traced once per input signature the way ``mx.compile`` does: ``make_fx`` with fake tensors
records the ATen ops fn runs (through ``torch.autograd`` too, so a step that takes gradients
traces its backward), and inductor compiles that graph, which has no Python left to guard.

A host read during tracing (``float(x)``, a value-dependent branch) raises under fake tensors;
``checked`` then runs fn eagerly from then on, with a warning naming the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["Traced"]


def _signature(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return (tuple(x.shape), x.dtype, x.device, x.requires_grad)
    return (type(x), x)


class Traced:
    """``fn`` traced and compiled once per input signature (shapes, dtypes, devices)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.graphs: dict[Any, Callable[..., Any]] = {}

    @property
    def traces(self) -> int:
        """How many signatures have been traced and compiled."""
        return len(self.graphs)

    def __call__(self, *natives: Any) -> Any:
        key = tuple(_signature(x) for x in natives)
        graph = self.graphs.get(key)
        if graph is None:
            from torch.fx.experimental.proxy_tensor import make_fx

            module = make_fx(self.fn, tracing_mode="fake")(*natives)
            graph = self.graphs[key] = torch.compile(module, dynamic=False)
        return graph(*natives)
