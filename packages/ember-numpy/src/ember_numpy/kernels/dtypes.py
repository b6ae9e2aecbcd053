"""Data-type kernels: ``astype``."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["astype"]


def astype(x: Any, dtype: np.dtype, copy: bool) -> Any:
    """Cast; ``copy=False`` returns ``x`` itself when the dtype already matches.

    Casts from complex to real keep the real part; float -> integer casts of NaN/inf/out of
    range values are undefined (as in the Array API) and do not warn.
    """
    if x.dtype == dtype:
        return np.array(x, copy=True) if copy else x
    if x.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        x = np.real(x)
    if x.dtype.kind in "fc" and np.dtype(dtype).kind in "iub":
        with np.errstate(invalid="ignore"):
            return np.asarray(x).astype(dtype)
    return np.asarray(x).astype(dtype)
