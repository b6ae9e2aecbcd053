"""Kernels whose torch.autograd derivative is wrong, differentiated with ember's VJP rule.

Measured with torch 2.15: ``scatter_reduce_(..., "prod")`` on complex tensors gives gradients
without the complex conjugate. ``ruled(kernel)`` runs such a kernel inside a
``torch.autograd.Function`` whose backward is the catalogue's rule (written in ember ops, so
it is itself differentiable with ``create_graph``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["ruled"]


def ruled(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    from ember import Tensor, load_backend
    from ember.autodiff.rules import RULES

    rule = RULES[name]

    class _Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, args: tuple[Any, ...], *arrays: Any) -> Any:
            ctx.args = args
            full = _fill(args, arrays)
            out = fn(*full)
            ctx.save_for_backward(*arrays, out)
            return out

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            *arrays, out = ctx.saved_tensors
            root = load_backend("torch")
            full = [Tensor(a, root) if isinstance(a, torch.Tensor) else a
                    for a in _fill(ctx.args, arrays)]
            needs = tuple(ctx.needs_input_grad[1 + i] for i in range(len(rule.diff)))
            res = rule.vjp(needs, Tensor(g, root), Tensor(out, root), *full)
            return (None, *(None if r is None else r._n for r in res))

    def _fill(args: tuple[Any, ...], arrays: Any) -> list[Any]:
        full = list(args)
        for p, a in zip(rule.diff, arrays):
            full[p] = a
        return full

    def call(*args: Any) -> Any:
        return _Function.apply(args, *(args[p] for p in rule.diff))

    return call
