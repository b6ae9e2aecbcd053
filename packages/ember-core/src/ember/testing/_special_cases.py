"""The Array API 2023.12 special-case tables for complex arguments, as data.

Each line of :data:`TABLE` is the standard's sentence "if ``a = real(x)`` is A and ``b =
imag(x)`` is B, the result is R + I j" for one element-wise function: ``A B -> R I``. The
kit evaluates every function on every listed input (several values per class) and compares
with the table, not with the NumPy reference, because NumPy itself misses some of them.

Input classes: ``+0 -0 0`` (either zero), ``+inf -inf inf`` (either), ``nan``, ``1 -1``,
``fin`` (any finite number), ``fin+`` (positive finite), ``fin!0`` (nonzero finite), ``!0``
(not equal to 0, NaN included), ``num!0`` (nonzero, infinities included), ``any``.

Results: ``nan``, signed constants ``+0 -0 +inf -inf 1 -1 pi pi/2 pi/4 3pi/4`` (a zero or
infinity must have the sign given; ``0`` means ``+0``, as the standard's test suite reads it),
``±0 ±inf ±pi/2`` (sign unspecified), and the forms ``0cis`` / ``infcis`` (``+0 * cis(b)`` /
``+infinity * cis(b)``, the component of that name) and ``0cis-1`` / ``infcis-1`` (the same
minus 1).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

__all__ = ["TABLE", "expected", "inputs", "matches"]

TABLE: dict[str, str] = {
    "acos": """
        0 +0 -> pi/2 -0
        0 nan -> pi/2 nan
        fin +inf -> pi/2 -inf
        fin!0 nan -> nan nan
        -inf fin+ -> pi -inf
        +inf fin+ -> +0 -inf
        -inf +inf -> 3pi/4 -inf
        +inf +inf -> pi/4 -inf
        inf nan -> nan ±inf
        nan fin -> nan nan
        nan +inf -> nan -inf
        nan nan -> nan nan
    """,
    "acosh": """
        0 +0 -> +0 pi/2
        fin +inf -> +inf pi/2
        fin!0 nan -> nan nan
        +0 nan -> nan ±pi/2
        -inf fin+ -> +inf pi
        +inf fin+ -> +inf +0
        -inf +inf -> +inf 3pi/4
        +inf +inf -> +inf pi/4
        inf nan -> +inf nan
        nan fin -> nan nan
        nan +inf -> +inf nan
        nan nan -> nan nan
    """,
    "asinh": """
        +0 +0 -> +0 +0
        fin+ +inf -> +inf pi/2
        fin nan -> nan nan
        +inf fin+ -> +inf +0
        +inf +inf -> +inf pi/4
        nan +0 -> nan +0
        nan fin!0 -> nan nan
        nan +inf -> ±inf nan
        nan nan -> nan nan
    """,
    "atanh": """
        +0 +0 -> +0 +0
        +0 nan -> +0 nan
        1 +0 -> +inf +0
        fin+ +inf -> +0 pi/2
        fin!0 nan -> nan nan
        +inf fin+ -> +0 pi/2
        +inf +inf -> +0 pi/2
        +inf nan -> +0 nan
        nan fin -> nan nan
        nan +inf -> ±0 pi/2
        nan nan -> nan nan
    """,
    "cosh": """
        +0 +0 -> 1 +0
        +0 +inf -> nan ±0
        +0 nan -> nan ±0
        fin!0 +inf -> nan nan
        fin!0 nan -> nan nan
        +inf +0 -> +inf +0
        +inf fin!0 -> infcis infcis
        +inf +inf -> ±inf nan
        +inf nan -> +inf nan
        nan 0 -> nan ±0
        nan fin!0 -> nan nan
        nan nan -> nan nan
    """,
    "exp": """
        0 +0 -> 1 +0
        fin +inf -> nan nan
        fin nan -> nan nan
        +inf +0 -> +inf +0
        -inf fin -> 0cis 0cis
        +inf fin!0 -> infcis infcis
        -inf +inf -> ±0 ±0
        +inf +inf -> ±inf nan
        -inf nan -> ±0 ±0
        +inf nan -> ±inf nan
        nan +0 -> nan +0
        nan !0 -> nan nan
    """,
    "expm1": """
        0 +0 -> +0 +0
        fin +inf -> nan nan
        fin nan -> nan nan
        +inf +0 -> +inf +0
        -inf fin -> 0cis-1 0cis-1
        +inf fin!0 -> infcis-1 infcis-1
        -inf +inf -> -1 ±0
        +inf +inf -> ±inf nan
        -inf nan -> -1 ±0
        +inf nan -> ±inf nan
        nan +0 -> nan +0
        nan !0 -> nan nan
    """,
    "log": """
        -0 +0 -> -inf pi
        +0 +0 -> -inf +0
        fin +inf -> +inf pi/2
        fin nan -> nan nan
        -inf fin+ -> +inf pi
        +inf fin+ -> +inf +0
        -inf +inf -> +inf 3pi/4
        +inf +inf -> +inf pi/4
        inf nan -> +inf nan
        nan fin -> nan nan
        nan +inf -> +inf nan
        nan nan -> nan nan
    """,
    "log1p": """
        -1 +0 -> -inf +0
        fin +inf -> +inf pi/2
        fin nan -> nan nan
        -inf fin+ -> +inf pi
        +inf fin+ -> +inf +0
        -inf +inf -> +inf 3pi/4
        +inf +inf -> +inf pi/4
        inf nan -> +inf nan
        nan fin -> nan nan
        nan +inf -> +inf nan
        nan nan -> nan nan
    """,
    "sign": """
        0 0 -> +0 +0
        nan any -> nan nan
        any nan -> nan nan
    """,
    "sinh": """
        +0 +0 -> +0 +0
        +0 +inf -> ±0 nan
        +0 nan -> ±0 nan
        fin+ +inf -> nan nan
        fin+ nan -> nan nan
        +inf +0 -> +inf +0
        +inf fin+ -> infcis infcis
        +inf +inf -> ±inf nan
        +inf nan -> ±inf nan
        nan +0 -> nan +0
        nan fin!0 -> nan nan
        nan nan -> nan nan
    """,
    "sqrt": """
        0 +0 -> +0 +0
        any +inf -> +inf +inf
        fin nan -> nan nan
        -inf fin+ -> +0 +inf
        +inf fin+ -> +inf +0
        -inf nan -> nan ±inf
        +inf nan -> +inf nan
        nan fin -> nan nan
        nan nan -> nan nan
    """,
    "tanh": """
        +0 +0 -> +0 +0
        fin!0 +inf -> nan nan
        +0 +inf -> +0 nan
        fin!0 nan -> nan nan
        +0 nan -> +0 nan
        +inf fin+ -> 1 +0
        +inf +inf -> 1 ±0
        +inf nan -> 1 ±0
        nan +0 -> nan +0
        nan num!0 -> nan nan
        nan nan -> nan nan
    """,
}

_INF, _NAN = math.inf, math.nan
_CLASSES: dict[str, tuple[float, ...]] = {
    "+0": (0.0,), "-0": (-0.0,), "0": (0.0, -0.0),
    "+inf": (_INF,), "-inf": (-_INF,), "inf": (_INF, -_INF), "nan": (_NAN,),
    "1": (1.0,), "-1": (-1.0,),
    "fin": (0.0, -0.0, 0.75, -2.5, 3.0),
    "fin+": (0.75, 3.0, 100.0),
    "fin!0": (0.75, -2.5, 3.0),
    "!0": (0.75, -2.5, _INF, -_INF, _NAN),
    "num!0": (0.75, -2.5, _INF, -_INF),
    "any": (0.0, -0.0, 0.75, -2.5, _INF, -_INF, _NAN),
}
_CONST = {"1": 1.0, "-1": -1.0, "pi": math.pi, "pi/2": math.pi / 2, "pi/4": math.pi / 4,
          "3pi/4": 3 * math.pi / 4, "+0": 0.0, "-0": -0.0, "0": 0.0, "+inf": _INF,
          "-inf": -_INF}


def _lines(fn: str) -> Iterator[tuple[str, str, str, str]]:
    for line in TABLE[fn].strip().splitlines():
        lhs, rhs = line.split("->")
        a, b = lhs.split()
        r, i = rhs.split()
        yield a, b, r, i


def inputs(fn: str) -> list[tuple[complex, str, str]]:
    """Every (input, expected real, expected imaginary) of ``fn``'s table; an input that two
    lines match takes the first line's result (the standard lists none that disagree)."""
    out: list[tuple[complex, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for a, b, r, i in _lines(fn):
        for av in _CLASSES[a]:
            for bv in _CLASSES[b]:
                key = (repr(av), repr(bv))
                if key not in seen:
                    seen.add(key)
                    out.append((complex(av, bv), r, i))
    return out


def expected(form: str, z: complex, part: int) -> float | None:
    """The value ``form`` names for component ``part`` (0 real, 1 imaginary) of the result for
    input ``z``; None for NaN. Signs of ``±`` forms are dropped (see :func:`matches`)."""
    if form == "nan":
        return None
    if form.startswith("±"):
        return abs(_CONST["+" + form[1:]] if form[1:] in ("0", "inf") else _CONST[form[1:]])
    if form in _CONST:
        return _CONST[form]
    b = z.imag
    scale = 0.0 if form.startswith("0cis") else _INF
    trig = math.cos(b) if part == 0 else math.sin(b)
    value = scale * trig if trig != 0 or scale == 0 else 0.0
    if form.endswith("-1") and part == 0:
        value -= 1.0
    return value


def matches(form: str, z: complex, part: int, got: float, rtol: float) -> bool:
    """Whether component ``got`` satisfies ``form`` (zeros and infinities with their sign
    unless the form says ``±``; finite values within ``rtol``)."""
    want = expected(form, z, part)
    if want is None:
        return math.isnan(got)
    if math.isnan(got):
        return False
    if form.startswith("±"):
        got = abs(got)
    if want == 0 or math.isinf(want):
        return got == want and math.copysign(1.0, got) == math.copysign(1.0, want)
    return abs(got - want) <= rtol * abs(want)
