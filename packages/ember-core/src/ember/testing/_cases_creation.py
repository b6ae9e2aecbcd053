"""Cases of the creation and data-type ops."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._cases import BACKEND, CONTEXT, call, case

E = ember


def _on(fn_name: str) -> Any:
    """A call of a creation function that takes ``backend=``."""
    return getattr(E, fn_name)


@case("arange", "int", S.INT + S.FLOAT)
def _arange_int(data: Any, d: Any) -> Any:
    start = data.draw(st.integers(-10, 10))
    stop = data.draw(st.integers(-10, 20))
    step = data.draw(st.sampled_from([1, 2, 3, -1, -2]))
    if (d.kind == "i" and d.bits == 8) or d.kind == "u":
        start, stop = abs(start), abs(stop)
    return call(start, stop, step, dtype=d, backend=BACKEND)


@case("arange", "float", S.FLOAT)
def _arange_float(data: Any, d: Any) -> Any:
    start = data.draw(st.integers(-20, 20)) / 4
    stop = data.draw(st.integers(-20, 40)) / 4
    step = data.draw(st.sampled_from([0.25, 0.5, 1.5, -0.5, -1.25]))
    return call(start, stop, step, dtype=d, backend=BACKEND)


@case("arange", "default-dtype")
def _arange_default(data: Any, d: Any) -> Any:
    stop = data.draw(st.one_of(st.integers(0, 10), st.sampled_from([2.5, 4.0])))
    return call(stop, backend=BACKEND)


@case("asarray", "numpy", S.ALL)
def _asarray_np(data: Any, d: Any) -> Any:
    return call(S.arr(data, d, S.shape(data)), backend=BACKEND,
                copy=data.draw(st.sampled_from([None, True])))


@case("asarray", "python")
def _asarray_py(data: Any, d: Any) -> Any:
    kind = data.draw(st.sampled_from(["bool", "int", "float", "complex", "nested", "scalar"]))
    if kind == "bool":
        obj: Any = data.draw(st.lists(st.booleans(), max_size=4))
    elif kind == "int":
        obj = data.draw(st.lists(st.integers(-1000, 1000), min_size=1, max_size=4))
    elif kind == "float":
        obj = data.draw(st.lists(st.floats(-100, 100), min_size=1, max_size=4))
    elif kind == "complex":
        obj = [complex(1, 2), 3.0]
    elif kind == "nested":
        obj = [[1, 2.5], [3, 4]]
    else:
        obj = data.draw(st.one_of(st.integers(-5, 5), st.floats(-5, 5), st.booleans()))
    dtype = data.draw(st.sampled_from([None, E.float64, E.int32])) if kind in ("int", "nested") else None
    return call(obj, dtype=dtype, backend=BACKEND)


@case("asarray", "cast", S.REAL)
def _asarray_cast(data: Any, d: Any) -> Any:
    src = S.arr(data, E.int16, S.shape(data), 0, 100)
    return call(src, dtype=d, backend=BACKEND)


@case("empty", "shape", S.ALL, values=False)
def _empty(data: Any, d: Any) -> Any:
    return call(S.shape(data), dtype=d, backend=BACKEND)


@case("zeros", "shape", S.ALL)
def _zeros(data: Any, d: Any) -> Any:
    return call(S.shape(data), dtype=d, backend=BACKEND)


@case("ones", "shape", S.ALL)
def _ones(data: Any, d: Any) -> Any:
    return call(S.shape(data), dtype=d, backend=BACKEND)


@case("full", "shape", S.ALL)
def _full(data: Any, d: Any) -> Any:
    v: Any = {"b": True, "i": -3, "u": 7, "f": 2.5, "c": complex(1, -2)}[d.kind]
    return call(S.shape(data), v, dtype=d, backend=BACKEND)


@case("full", "inferred")
def _full_inferred(data: Any, d: Any) -> Any:
    v = data.draw(st.sampled_from([True, 3, -2.5, complex(0, 1)]))
    return call(S.shape(data, max_dims=2), v, backend=BACKEND)


for _name in ("empty_like", "zeros_like", "ones_like"):
    @case(_name, "like", S.ALL, values=_name != "empty_like")
    def _like(data: Any, d: Any) -> Any:
        x = S.arr(data, d, S.shape(data))
        to = data.draw(st.sampled_from([None, E.float32, E.int64]))
        return call(x, dtype=to)


@case("full_like", "like", S.ALL)
def _full_like(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data))
    v: Any = {"b": False, "i": 5, "u": 5, "f": -1.5, "c": complex(2, 1)}[d.kind]
    return call(x, v)


@case("eye", "rect", S.REAL + S.BOOL)
def _eye(data: Any, d: Any) -> Any:
    n = data.draw(st.integers(0, 5))
    m = data.draw(st.one_of(st.none(), st.integers(0, 5)))
    k = data.draw(st.integers(-3, 3))
    return call(n, m, k=k, dtype=d, backend=BACKEND)


@case("linspace", "float", S.FLOAT + S.COMPLEX[:1])
def _linspace(data: Any, d: Any) -> Any:
    start = data.draw(st.integers(-10, 10)) / 2
    stop = data.draw(st.integers(-10, 10)) / 2
    if d.kind == "c":
        start, stop = complex(start, 1), complex(stop, -1)
    num = data.draw(st.integers(0, 12))
    return call(start, stop, num, dtype=d, endpoint=data.draw(st.booleans()), backend=BACKEND)


@case("meshgrid", "grids", S.REAL)
def _meshgrid(data: Any, d: Any) -> Any:
    n = data.draw(st.integers(1, 3))
    arrays = [S.arr(data, d, (data.draw(st.integers(0, 4)),)) for _ in range(n)]
    return call(*arrays, indexing=data.draw(st.sampled_from(["xy", "ij"])))


@case("from_dlpack", "numpy", S.NUMERIC + S.BOOL)
def _from_dlpack(data: Any, d: Any) -> Any:
    x = np.ascontiguousarray(S.arr(data, d, S.shape(data, min_dims=1)))
    return call(x, backend=BACKEND)


for _name in ("tril", "triu"):
    @case(_name, "batched", S.ALL)
    def _tri(data: Any, d: Any) -> Any:
        x = S.arr(data, d, S.shape(data, 2, 4))
        return call(x, k=data.draw(st.integers(-3, 3)))


# --- data types -------------------------------------------------------------------------------
def _astype_all(x: Any, targets: Any) -> Any:
    """Cast x to every target dtype its backend holds (bfloat16 via float32 on the host)."""
    out = []
    for t in targets:
        try:
            x._b.native_dtype(t)
        except E.UnsupportedError:
            continue
        out.append(E.astype(x, t))
    return out


@case("astype", "to-all", S.ALL)
def _astype(data: Any, d: Any) -> Any:
    lo, hi = (0, 100) if d.kind in "fciu" else (None, None)
    x = S.arr(data, d, S.shape(data), lo, hi, grid=0.25 if d.kind == "f" else 0.0)
    targets = [t for t in S.ALL if not (d.kind == "c" and t.kind != "c")]
    return call(x, tuple(targets), fn=_ref_astype)


def _ref_astype(x: Any, targets: Any) -> Any:
    # both sides must cast to the same targets: those both backends hold (bfloat16: none)
    for name in CONTEXT.get("backends", ()):
        b = E.load_backend(name)
        targets = [t for t in targets if t in b.to_native_dtype
                   and t in b.capabilities.dtypes.get(b.devices.default().split(":")[0], {t})]
    return _astype_all(x, [t for t in targets if t is not E.bfloat16])


@case("astype", "copy-false", S.NUMERIC)
def _astype_nocopy(data: Any, d: Any) -> Any:
    return call(S.arr(data, d, S.shape(data), 0, 10), d, copy=False)


_DT = [E.bool, E.int8, E.uint8, E.int32, E.uint64, E.int64, E.float16, E.float32, E.float64,
       E.complex64, E.complex128]


@case("can_cast", "pairs")
def _can_cast(data: Any, d: Any) -> Any:
    return call(data.draw(st.sampled_from(_DT)), data.draw(st.sampled_from(_DT)))


@case("result_type", "mixed")
def _result_type(data: Any, d: Any) -> Any:
    a = data.draw(st.sampled_from([E.int8, E.uint8, E.int32, E.float16, E.float32, E.bool]))
    x = S.arr(data, data.draw(st.sampled_from([E.int16, E.float32, E.bool])), (2,))
    s = data.draw(st.sampled_from([1, 2.0, True, complex(1, 1)]))
    return call(a, x, s)


@case("finfo", "dtypes")
def _finfo(data: Any, d: Any) -> Any:
    t = data.draw(st.sampled_from(S.FLOAT + S.COMPLEX + (E.bfloat16,)))
    return call(t, fn=lambda t: tuple(getattr(E.finfo(t), k) for k in
                                      ("bits", "eps", "max", "min", "smallest_normal", "dtype")))


@case("iinfo", "dtypes")
def _iinfo(data: Any, d: Any) -> Any:
    t = data.draw(st.sampled_from(S.INTEGRAL))
    return call(t, fn=lambda t: (E.iinfo(t).bits, E.iinfo(t).min, E.iinfo(t).max, E.iinfo(t).dtype))


@case("isdtype", "kinds")
def _isdtype(data: Any, d: Any) -> Any:
    kinds = ["bool", "signed integer", "unsigned integer", "integral", "real floating",
             "complex floating", "numeric", ("integral", "real floating"), E.float32]
    return call(data.draw(st.sampled_from(S.ALL)), data.draw(st.sampled_from(kinds)))
