"""VJP rule of astype: the cotangent cast back to the input's dtype."""

from __future__ import annotations

from typing import Any

from . import back_to, vjp


@vjp("astype")
def _astype(needs: Any, g: Any, out: Any, x: Any, dtype: Any, copy: Any) -> tuple[Any]:
    return (back_to(g, x),)
