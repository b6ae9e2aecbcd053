"""Window functions: ``hann``, ``hamming``, ``blackman`` and ``rectangular``, periodic (the
default, for spectral analysis) or symmetric (for filter design).

Values follow ``scipy.signal.get_window`` (which librosa calls with ``fftbins=True``) and
``torch.hann_window``/``hamming_window``/``blackman_window``: a generalised cosine window
``w[k] = sum_j (-1)^j a_j cos(2 pi j k / M)`` with ``M = length`` (periodic) or
``length - 1`` (symmetric); hann ``a = (0.5, 0.5)``, hamming ``(0.54, 0.46)``, blackman
``(0.42, 0.5, 0.08)``. A window of length 1 is ``[1.0]``. The values are computed in float64
and rounded once to ``dtype``.
"""

from __future__ import annotations

import math
from typing import Any

import ember

from .._core._errors import ConfigError
from ._support import constant, float_dtype, positive_int

__all__ = ["WINDOWS", "blackman_window", "get_window", "hamming_window", "hann_window"]

_COEFFS: dict[str, tuple[float, ...]] = {
    "hann": (0.5, 0.5), "hamming": (0.54, 0.46), "blackman": (0.42, 0.5, 0.08),
    "rectangular": (1.0,),
}
_ALIASES = {"hanning": "hann", "boxcar": "rectangular", "ones": "rectangular"}
#: the window names ``get_window`` (and ``stft``'s ``window=``) accept, aliases included
WINDOWS = (*_COEFFS, *_ALIASES)


def _values(name: str, length: int, periodic: bool) -> list[float]:
    if length == 1:
        return [1.0]
    a = _COEFFS[name]
    m = length if periodic else length - 1
    return [sum((-1) ** j * c * math.cos(2.0 * math.pi * j * k / m) for j, c in enumerate(a))
            for k in range(length)]


def get_window(name: str, length: int, *, periodic: bool = True, dtype: Any = None,
               backend: Any = None, device: str | None = None) -> ember.Tensor:
    """The window ``name`` (one of ``WINDOWS``) of ``length`` samples, as a 1-d tensor.

    Arguments:
        name: ``"hann"`` (alias ``"hanning"``), ``"hamming"``, ``"blackman"`` or
            ``"rectangular"`` (aliases ``"boxcar"``, ``"ones"``).
        length: the number of samples (a positive int).
        periodic: ``True`` (default) drops the last sample of a ``length + 1`` symmetric window,
            as ``scipy.signal.get_window(fftbins=True)``, librosa and torch's defaults do;
            ``False`` gives the symmetric window (``torch.hann_window(periodic=False)``,
            ``scipy.signal.windows.hann(sym=True)``).
        dtype: a real floating dtype (default: ember's default float).
        backend, device: where the tensor lives (default: the current ones).

    Raises ConfigError for an unknown name, a length below 1 or a non-floating dtype.

    >>> ember_nn.features.get_window("hann", 4).tolist()
    [0.0, 0.5, 1.0, 0.5]
    >>> ember_nn.features.get_window("hann", 5, periodic=False).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    key = name.lower() if isinstance(name, str) else name
    key = _ALIASES.get(key, key)
    if key not in _COEFFS:
        raise ConfigError(f"get_window: unknown window {name!r}; choose one of {WINDOWS}")
    positive_int("get_window", "length", length)
    if not isinstance(periodic, bool):
        raise ConfigError(f"get_window: periodic must be True or False, got {periodic!r}")
    d = float_dtype("get_window", dtype)
    return constant(_values, (key, length, periodic), (length,), d, backend, device)


def hann_window(length: int, *, periodic: bool = True, dtype: Any = None, backend: Any = None,
                device: str | None = None) -> ember.Tensor:
    """``get_window("hann", ...)``: ``0.5 - 0.5 cos(2 pi k / M)`` (``torch.hann_window``).

    >>> ember_nn.features.hann_window(4).tolist()
    [0.0, 0.5, 1.0, 0.5]
    """
    return get_window("hann", length, periodic=periodic, dtype=dtype, backend=backend,
                      device=device)


def hamming_window(length: int, *, periodic: bool = True, dtype: Any = None,
                   backend: Any = None, device: str | None = None) -> ember.Tensor:
    """``get_window("hamming", ...)``: ``0.54 - 0.46 cos(2 pi k / M)``
    (``torch.hamming_window``).

    >>> [round(v, 4) for v in ember_nn.features.hamming_window(4).tolist()]
    [0.08, 0.54, 1.0, 0.54]
    """
    return get_window("hamming", length, periodic=periodic, dtype=dtype, backend=backend,
                      device=device)


def blackman_window(length: int, *, periodic: bool = True, dtype: Any = None,
                    backend: Any = None, device: str | None = None) -> ember.Tensor:
    """``get_window("blackman", ...)``: ``0.42 - 0.5 cos(2 pi k / M) + 0.08 cos(4 pi k / M)``
    (``torch.blackman_window``).

    >>> [round(v, 4) for v in ember_nn.features.blackman_window(4).tolist()]
    [-0.0, 0.34, 1.0, 0.34]
    """
    return get_window("blackman", length, periodic=periodic, dtype=dtype, backend=backend,
                      device=device)
