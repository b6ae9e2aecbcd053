"""stop_gradient: the one op of the autodiff topic (the tapes themselves are ``ember.autodiff``)."""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor
from ..autodiff._variables import alias
from ._creation import asarray

__all__ = ["stop_gradient"]


def stop_gradient(x: Any, /) -> Tensor:
    """x's values as a tensor no gradient flows through (tapes treat it as a constant).

    >>> x = ember.Variable([1.0, 2.0])
    >>> with ember.GradientTape() as tape:
    ...     y = ember.sum(x * ember.stop_gradient(x))
    >>> tape.gradient(y, x).tolist()
    [1.0, 2.0]
    """
    t = x if isinstance(x, Tensor) else asarray(x)
    root = t._b.root
    return Tensor(alias(root, t._n), root, t._d)
