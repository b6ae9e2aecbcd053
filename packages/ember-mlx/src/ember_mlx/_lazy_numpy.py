"""``np``: NumPy, imported on first use.

ember-mlx needs NumPy only at the host boundary (``.numpy()``, conversions, a few host-side
kernels); importing it with the backend cost the first MLX op of a process ~190 ms (issue 12).
Each attribute read through ``np`` imports NumPy once and is then kept on the proxy, so later
reads are plain attribute lookups.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

__all__ = ["is_numpy", "np"]


def is_numpy(obj: Any) -> bool:
    """Whether ``obj`` is a NumPy array or scalar, without importing NumPy (an object cannot be
    one while NumPy is not imported)."""
    return "numpy" in sys.modules and isinstance(obj, (np.ndarray, np.generic))


class _LazyNumpy:
    def __getattr__(self, name: str) -> Any:
        import numpy

        value = getattr(numpy, name)
        setattr(self, name, value)  # the next read finds it without __getattr__
        return value

    def __repr__(self) -> str:
        return "<numpy, imported on first use>"


if TYPE_CHECKING:
    import numpy as np
else:
    np = _LazyNumpy()
