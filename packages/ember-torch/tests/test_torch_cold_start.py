"""What the first op and the first gradient of a process import (issue 12): neither loads
torch._dynamo or sympy (together ~1.5 s on a process's first call). Each check runs in a fresh
interpreter, since this test process may have loaded them already."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = ("sympy", "torch._dynamo", "torch.fx.experimental.symbolic_shapes")


def _fresh(code: str) -> dict[str, object]:
    """Run ``code`` in a new interpreter; it leaves its results in the dict ``out``; the heavy
    modules loaded by then are added under "loaded"."""
    script = "import json, sys\nout = {}\n" + textwrap.dedent(code) + (
        f"\nout['loaded'] = [m for m in {HEAVY!r} if m in sys.modules]\nprint(json.dumps(out))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.splitlines()[-1]))


def test_first_op_imports_no_dynamo() -> None:
    out = _fresh("""
        import ember
        x = ember.asarray([[2.0, 0.0], [0.0, 4.0]], backend="torch")
        out["sum"] = ember.add(x, x).tolist()
        out["inv"] = ember.linalg.inv(x).tolist()  # its host-read check is outside_graph
    """)
    assert out["sum"] == [[4.0, 0.0], [0.0, 8.0]]
    assert out["inv"] == [[0.5, 0.0], [0.0, 0.25]]
    assert out["loaded"] == []


def test_first_gradients_import_no_sympy() -> None:
    out = _fresh("""
        import ember
        x = ember.asarray([1.0, 2.0, 3.0], backend="torch")
        with ember.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = x * x
            s = ember.sum(y)
        out["grad"] = tape.gradient(s, x).tolist()
        seed = ember.asarray([1.0, 10.0, 100.0], backend="torch")
        out["seeded"] = tape.gradient(y, x, output_gradients=seed).tolist()
        out["jacobian"] = tape.jacobian(y, x).tolist()  # the batched engine call
    """)
    assert out["grad"] == [2.0, 4.0, 6.0]
    assert out["seeded"] == [2.0, 40.0, 600.0]
    assert out["jacobian"] == [[2.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 6.0]]
    assert out["loaded"] == []
