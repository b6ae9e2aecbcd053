"""VJP rule of where (the other searching kernels return indices: not differentiable)."""

from __future__ import annotations

from typing import Any

from ...ops._searching import where
from . import unbroadcast, vjp


@vjp("where", diff=(1, 2))
def _where(needs: Any, g: Any, out: Any, c: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    return (unbroadcast(where(c, g, 0.0), x1) if needs[0] else None,
            unbroadcast(where(c, 0.0, g), x2) if needs[1] else None)
