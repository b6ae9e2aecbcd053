"""VJP rules of the creation kernels: asarray (a copy, maybe of another dtype or device) and
tril/triu."""

from __future__ import annotations

from typing import Any

from ...ops._creation import tril, triu
from . import back_to, vjp


@vjp("asarray")
def _asarray(needs: Any, g: Any, out: Any, obj: Any, dtype: Any, device: Any, copy: Any) -> tuple[Any]:
    g = back_to(g, obj)
    if device is not None and g.device != obj.device:
        g = g.to(device=obj.device)
    return (g,)


@vjp("tril")
def _tril(needs: Any, g: Any, out: Any, x: Any, k: int) -> tuple[Any]:
    return (tril(g, k=k),)


@vjp("triu")
def _triu(needs: Any, g: Any, out: Any, x: Any, k: int) -> tuple[Any]:
    return (triu(g, k=k),)
