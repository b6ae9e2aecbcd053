"""Tolerance-aware comparison of op results across backends.

A result is a Tensor, a (named) tuple or list of results, or a plain Python value (a bool, an
int, a dtype, ...). Tensors are compared by dtype and shape exactly, then by value: integers and
bools exactly, floating point with a tolerance chosen by the *result* dtype, NaNs in the same
places and infinities with the same sign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

import ember

__all__ = ["Result", "TOLERANCES", "assert_close", "assert_results_match", "flatten", "tolerance"]

#: (rtol, atol) by dtype name; a case multiplies both by its ``tol`` factor.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float16": (1e-2, 1e-2),
    "bfloat16": (4e-2, 4e-2),
    "float32": (1e-5, 1e-5),
    "complex64": (1e-5, 1e-5),
    "float64": (1e-9, 1e-11),
    "complex128": (1e-9, 1e-11),
}


def tolerance(dtype: Any, factor: float = 1.0) -> tuple[float, float]:
    rtol, atol = TOLERANCES.get(getattr(dtype, "name", str(dtype)), (0.0, 0.0))
    return rtol * factor, atol * factor


@dataclass
class Result:
    """One leaf of an op's result, brought to the host."""

    kind: str  # "tensor" or "value"
    dtype: Any = None  # ember dtype of a tensor
    shape: tuple[int, ...] = ()
    array: Any = None  # NumPy array (float32 for bfloat16 tensors)
    value: Any = None  # a plain Python value

    def describe(self) -> str:
        if self.kind == "tensor":
            return f"{self.dtype.name}{list(self.shape)}"
        return repr(self.value)


def _host(t: ember.Tensor) -> np.ndarray:
    if t.dtype is ember.bfloat16:
        t = ember.astype(t, ember.float32)
    return np.asarray(t.numpy())


def flatten(out: Any) -> list[Result]:
    """The leaves of a result, in order (tuples and lists are walked, dicts by sorted key)."""
    if isinstance(out, ember.Tensor):
        native = out._b.dtype_of(out.native)
        # ops cache the result dtype on the tensor (a dispatch hint): it must be the truth
        assert out.dtype is native, (
            f"the tensor says dtype {out.dtype} but its {out.backend} array is {native}: "
            f"the op's dtype rule and the kernel disagree")
        return [Result("tensor", out.dtype, tuple(out.shape), _host(out))]
    if isinstance(out, (tuple, list)):
        return [leaf for item in out for leaf in flatten(item)]
    if isinstance(out, dict):
        return [leaf for k in sorted(out) for leaf in flatten(out[k])]
    return [Result("value", value=out)]


def _bad(a: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Mask of elements of ``a`` that do not match ``e`` (floats: NaN/inf aware)."""
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        return a != e
    if a.dtype.kind == "c" or e.dtype.kind == "c":
        a = a.astype(np.complex128)
        e = e.astype(np.complex128)
        # Array API: a complex number is NaN if either component is; all NaNs are alike
        nan_a = np.isnan(a.real) | np.isnan(a.imag)
        nan_e = np.isnan(e.real) | np.isnan(e.imag)
        parts = _bad(a.real, e.real, rtol, atol) | _bad(a.imag, e.imag, rtol, atol)
        return np.where(nan_a | nan_e, ~(nan_a & nan_e), parts)
    a = a.astype(np.float64)
    e = e.astype(np.float64)
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    inf_a, inf_e = np.isinf(a), np.isinf(e)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - e)
        close = diff <= atol + rtol * np.abs(e)
    close = np.where(nan_a | nan_e, nan_a & nan_e, close)
    close = np.where(inf_a | inf_e, (inf_a & inf_e) & (np.sign(a) == np.sign(e)), close)
    return ~close


def assert_close(actual: np.ndarray, expected: np.ndarray, dtype: Any, *, factor: float = 1.0,
                 what: str = "values", exact: bool = False) -> None:
    """Values of two host arrays of one shape agree within the tolerance of ``dtype``."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {actual.shape} != expected {expected.shape}")
    rtol, atol = (0.0, 0.0) if exact else tolerance(dtype, factor)
    bad = _bad(actual, expected, rtol, atol)
    if not bad.any():
        return
    idx = np.argwhere(bad) if bad.ndim else np.zeros((1, 0), dtype=int)
    n = int(bad.sum())
    lines = []
    for i in idx[:5]:
        key = tuple(int(j) for j in i)
        lines.append(f"    at {key}: got {actual[key]!r}, expected {expected[key]!r}")
    with np.errstate(all="ignore"):
        try:
            err = np.nanmax(np.abs(actual.astype(np.complex128) - expected.astype(np.complex128)))
        except (ValueError, TypeError):
            err = float("nan")
    raise AssertionError(
        f"{what}: {n} of {bad.size} elements differ (rtol={rtol:g}, atol={atol:g}, "
        f"max abs error {err:.3g}):\n" + "\n".join(lines)
    )


def assert_results_match(actual: list[Result], expected: list[Result], *, factor: float = 1.0,
                         expect_dtype: Any = None, values: bool = True,
                         exact: bool = False) -> None:
    """Leaves agree in kind, dtype and shape exactly, and in value within tolerance.

    ``expect_dtype`` maps a reference dtype to the dtype the backend should give (bfloat16 runs:
    float32 in the reference is bfloat16 on the backend)."""
    if len(actual) != len(expected):
        raise AssertionError(f"result has {len(actual)} parts, expected {len(expected)}")
    for i, (a, e) in enumerate(zip(actual, expected)):
        where = f"result[{i}]" if len(actual) > 1 else "result"
        if a.kind != e.kind:
            raise AssertionError(f"{where}: got {a.describe()}, expected {e.describe()}")
        if a.kind == "value":
            if not _same_value(a.value, e.value):
                raise AssertionError(f"{where}: got {a.value!r}, expected {e.value!r}")
            continue
        want = expect_dtype(e.dtype) if expect_dtype else e.dtype
        if a.dtype is not want:
            raise AssertionError(f"{where}: dtype {a.dtype} != expected {want}")
        if a.shape != e.shape:
            raise AssertionError(f"{where}: shape {a.shape} != expected {e.shape}")
        if values:
            assert_close(a.array, e.array, a.dtype, factor=factor, what=f"{where} ({a.dtype})",
                         exact=exact)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a).__name__ in ("finfo_object", "iinfo_object"):
        return a == b
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:
        return a is b
