"""The first MLX op of a process imports no NumPy (issue 12: it cost ~190 ms); NumPy is loaded
when something needs it (``.numpy()``, host-side kernels) and then gives the same answers.
Runs in a fresh interpreter, since this test process has NumPy loaded already."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def _fresh(code: str) -> dict[str, object]:
    script = "import json, sys\nout = {}\n" + textwrap.dedent(code) + "\nprint(json.dumps(out))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.splitlines()[-1]))


def test_first_ops_import_no_numpy() -> None:
    out = _fresh("""
        import ember
        x = ember.ones((2, 3), backend="mlx")
        y = ember.add(x, ember.arange(3, backend="mlx", dtype=ember.float32))
        out["values"] = ember.sum(y * y, axis=1).tolist()
        with ember.GradientTape() as tape:
            tape.watch(x)
            s = ember.sum(ember.exp(x) * x)
        out["grad"] = tape.gradient(s, x).tolist()
        out["numpy_loaded"] = "numpy" in sys.modules
        host = y.numpy()  # the host boundary loads NumPy
        out["host"] = [type(host).__module__, str(host.dtype), host.tolist()]
        out["back"] = ember.asarray(host, backend="mlx").tolist()
    """)
    assert out["values"] == [14.0, 14.0]
    e = 2.718281828459045
    for row in out["grad"]:  # type: ignore[attr-defined]
        for g in row:
            assert abs(g - 2 * e) < 1e-5  # d/dx x e^x at 1
    assert out["numpy_loaded"] is False
    assert out["host"] == ["numpy", "float32", [[1.0, 2.0, 3.0]] * 2]
    assert out["back"] == [[1.0, 2.0, 3.0]] * 2


def test_asarray_of_python_numbers_imports_no_numpy() -> None:
    """``ember.asarray`` of Python lists builds the MLX array directly for float32, complex64 and
    bool; the values are NumPy's (checked against it afterwards), and what MLX would get wrong
    (an int out of range, a ragged list) still goes through NumPy's checks."""
    out = _fresh("""
        import ember
        ember.set_backend("mlx")
        data = [[0.1, 1e40, -2.5], [3, True, 2**40 + 1]]
        out["f32"] = ember.asarray(data).tolist()
        out["c64"] = [[z.real, z.imag] for z in ember.asarray([1 + 2j, 0.1]).tolist()]
        out["bool"] = ember.asarray([True, False]).tolist()
        out["numpy_loaded"] = "numpy" in sys.modules
        import numpy as np
        out["ref"] = np.asarray(data, dtype=np.float32).tolist()
        out["ref_c"] = [[z.real, z.imag] for z in np.asarray([1 + 2j, 0.1], dtype=np.complex64).tolist()]
        out["big"] = ember.asarray([2**70, 1.5]).tolist()
        try:
            ember.asarray([2**64])
        except ember.EmberError as e:
            out["overflow"] = str(e)
        try:
            ember.asarray([[1.0, 2.0], [3.0]])
        except ember.EmberError as e:
            out["ragged"] = str(e)
    """)
    assert out["numpy_loaded"] is False
    assert out["f32"] == out["ref"]
    assert out["c64"] == out["ref_c"]
    assert out["bool"] == [True, False]
    assert out["big"] == [float(__import__("numpy").float32(2**70)), 1.5]
    assert "out of bounds" in out["overflow"] or "too large" in out["overflow"], out["overflow"]
    assert "rectangular" in out["ragged"]
