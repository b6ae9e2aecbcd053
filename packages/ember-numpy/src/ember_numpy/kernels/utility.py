"""Utility kernels: ``all`` and ``any``."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["all", "any"]


def all(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    return np.all(x, axis=axis, keepdims=keepdims)


def any(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    return np.any(x, axis=axis, keepdims=keepdims)
