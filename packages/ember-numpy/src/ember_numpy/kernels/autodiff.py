"""Autodiff kernels: ``stop_gradient``."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["stop_gradient"]


def stop_gradient(x: Any) -> np.ndarray:
    """A new array object viewing x's data (tapes track array identity)."""
    return x.view() if type(x) is np.ndarray else np.array(x)
