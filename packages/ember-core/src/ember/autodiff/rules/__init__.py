"""The VJP rules of the catalogue's ops, written once in ember ops: one module per topic
(``<topic>.py``, the topic being the op's catalogue group; ``linalg/`` is a package).

A rule belongs to a *kernel* (``add``, ``linalg_solve``, ``nn_softmax``): the generic engine
calls it with the arguments the kernel was called with (native arrays wrapped as tensors),
the kernel's output(s) and the cotangent(s) of the output(s), and gets one cotangent per
differentiable argument::

    @vjp("multiply", diff=(0, 1))
    def _multiply(needs, g, out, x1, x2):
        return (unbroadcast(mulc(g, x2), x1) if needs[0] else None,
                unbroadcast(mulc(g, x1), x2) if needs[1] else None)

``needs[i]`` says whether argument ``diff[i]`` needs its cotangent (skip the work if not).
Arguments arrive as the kernel takes them: axes normalised, dtypes native, both operands of a
binary op of one dtype (one may be a Python scalar). Complex values follow PyTorch's
convention: the cotangent of z = a + ib is dL/da + i dL/db, so for a holomorphic f the rule
multiplies by conj(f'(z)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..._tensor import Tensor

__all__ = ["RULES", "Rule", "back_to", "expand_to", "mulc", "unbroadcast", "vjp"]


@dataclass(frozen=True, slots=True)
class Rule:
    kernel: str
    diff: tuple[int, ...]  # positions of the differentiable arguments
    vjp: Callable[..., Any]
    many: bool = False  # argument 0 is a list of arrays (concat, stack): one cotangent each


RULES: dict[str, Rule] = {}


def vjp(*kernels: str, diff: tuple[int, ...] = (0,), many: bool = False) -> Callable[..., Any]:
    """Register the decorated function as the VJP rule of ``kernels``."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        for k in kernels:
            if k in RULES:
                raise RuntimeError(f"two VJP rules for kernel {k!r}")
            RULES[k] = Rule(k, diff, fn, many)
        return fn

    return deco


# -- helpers shared by the rules -----------------------------------------------------------------
def unbroadcast(g: Tensor, like: Any) -> Tensor | None:
    """Sum ``g`` down to the shape of ``like`` (undoing broadcasting); None for a scalar."""
    from ...ops._manipulation import reshape
    from ...ops._statistical import sum as _sum

    if not isinstance(like, Tensor):
        return None
    shape = like.shape
    gs = g.shape
    if gs == shape:
        return g
    lead = len(gs) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and gs[i + lead] != 1)
    if axes:
        g = _sum(g, axis=axes, keepdims=True)
    return reshape(g, shape)


def expand_to(g: Tensor, shape: tuple[int, ...], axes: tuple[int, ...] | None,
              keepdims: bool) -> Tensor:
    """The cotangent of a reduction over ``axes`` of an array of ``shape``, broadcast back."""
    from ...ops._manipulation import broadcast_to, reshape

    if not keepdims:
        kept = list(shape)
        for a in (range(len(shape)) if axes is None else axes):
            kept[a] = 1
        g = reshape(g, tuple(kept))
    return broadcast_to(g, shape)


def is_complex(x: Any) -> bool:
    return isinstance(x, Tensor) and x.dtype.is_complex


def mulc(g: Tensor, d: Any) -> Tensor:
    """``g * conj(d)``: the chain rule through a factor d (conj only matters for complex)."""
    from ...ops._elementwise import conj, multiply

    if isinstance(d, complex):
        d = d.conjugate()
    elif is_complex(d):
        d = conj(d)
    return multiply(g, d)


def back_to(g: Tensor, x: Tensor) -> Tensor:
    """g as the cotangent of x's dtype (the real part when x is real and g complex)."""
    from ...ops._dtypes import astype
    from ...ops._elementwise import real

    if g.dtype is x.dtype:
        return g
    if g.dtype.is_complex and not x.dtype.is_complex:
        g = real(g)
    return astype(g, x.dtype)


def zeros(x: Tensor) -> Tensor:
    from ...ops._creation import zeros_like

    return zeros_like(x)


def _load() -> None:
    from . import (  # noqa: F401 - each module registers its rules
        activations,
        attention,
        convolution,
        creation,
        dtypes,
        elementwise,
        fft,
        indexing,
        linalg,
        losses,
        manipulation,
        normalization,
        pooling,
        recurrent,
        searching,
        sorting,
        statistical,
    )


_load()
