"""Results too large for memory raise ember.OutOfMemoryError naming the op, shape, dtype, bytes
and device, on every backend, before anything is allocated. Each absurd request runs in a
subprocess: before the fix MLX crashed the process (a segmentation fault), which must not take
the test run with it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

import ember
import pytest

# 2**45 bytes (32 TiB) of float32: more than any machine's memory; every axis < 2**31 (MLX)
BIG = (1 << 22, 1 << 21)
NBYTES = (1 << 43) * 4

_PROGRAM = textwrap.dedent("""
    import json, sys
    import ember
    E = ember
    BIG = (1 << 22, 1 << 21)
    key = E.random.key(0)
    row, col = E.ones((1 << 22, 1)), E.ones((1, 1 << 21))
    CASES = {
        "zeros": lambda: E.zeros(BIG),
        "ones": lambda: E.ones(BIG),
        "empty": lambda: E.empty(BIG),
        "full": lambda: E.full(BIG, 2.0),
        "eye": lambda: E.eye(1 << 22, 1 << 21),
        "arange": lambda: E.arange(float(1 << 43), dtype=E.float32),
        "linspace": lambda: E.linspace(0.0, 1.0, 1 << 43),
        "zeros_like": lambda: E.zeros_like(E.broadcast_to(E.ones((1, 1)), BIG)),
        "full_like": lambda: E.full_like(E.broadcast_to(E.ones((1, 1)), BIG), 3.0),
        "random.normal": lambda: E.random.normal(key, BIG),
        "random.uniform": lambda: E.random.uniform(key, BIG),
        "add": lambda: row + col,
        "matmul": lambda: E.matmul(row, col),
    }
    out = {}
    for name in sys.argv[1:]:
        try:
            x = CASES[name]()
            E.sum(x).item()
            out[name] = ["no error", ""]
        except BaseException as exc:
            out[name] = [type(exc).__name__, str(exc)]
    print(json.dumps(out))
""")

CREATION = ["zeros", "ones", "empty", "full", "eye", "arange", "linspace", "zeros_like",
            "full_like", "random.normal", "random.uniform"]


def _run(backend: str, names: list[str]) -> dict[str, list[str]]:
    proc = subprocess.run([sys.executable, "-c", _PROGRAM, *names], capture_output=True,
                          text=True, timeout=600, env={**_env(), "EMBER_BACKEND": backend})
    assert proc.returncode == 0, (
        f"the process died (exit status {proc.returncode}) on backend {backend!r}: "
        f"{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_creation_too_large_is_out_of_memory_error(backend: str) -> None:
    got = _run(backend, CREATION)
    device = ember.load_backend(backend).devices.default()
    for name in CREATION:
        kind, msg = got[name]
        assert kind == "OutOfMemoryError", f"{name} on {backend!r}: {kind}: {msg}"
        assert msg.startswith(f"{name}: a float32 array of shape"), msg
        assert f"of device {device!r} of backend {backend!r}" in msg, msg
        assert "more than the" in msg, msg  # refused before allocating
    zeros = got["zeros"][1]
    assert f"shape {BIG}" in zeros and f"{NBYTES:,} bytes (32.0 TiB)" in zeros


def test_other_ops_too_large_are_out_of_memory_errors(backend: str) -> None:
    got = _run(backend, ["add", "matmul"])
    for name in ("add", "matmul"):
        kind, msg = got[name]
        assert kind == "OutOfMemoryError", f"{name} on {backend!r}: {kind}: {msg}"
        assert name in msg, msg


def test_out_of_memory_error_is_a_memory_error() -> None:
    assert issubclass(ember.OutOfMemoryError, ember.EmberError)
    assert issubclass(ember.OutOfMemoryError, MemoryError)


def test_a_backend_memory_limit_is_enforced(backend: str) -> None:
    """``BackendHooks.memory_limit`` (the plugin hook) sets the limit: a smaller budget
    refuses a small array, and the message states the limit."""
    b = ember.load_backend(backend)
    saved = b.hooks
    b.hooks = dataclasses.replace(b.hooks, memory_limit=lambda device: 1000)
    try:
        assert ember.zeros((10, 25)).shape == (10, 25)  # exactly 1000 bytes: fits
        with pytest.raises(ember.OutOfMemoryError, match=r"zeros: a float32 array of shape "
                           r"\(10, 26\) needs 1,040 bytes \(1\.0 KiB\), more than the 1000 B"):
            ember.zeros((10, 26))
        with pytest.raises(ember.OutOfMemoryError, match=r"random\.normal: .* \(4, 100\)"):
            ember.random.normal(ember.random.key(1), (4, 100))
    finally:
        b.hooks = saved
    assert ember.zeros((10, 26)).shape == (10, 26)
