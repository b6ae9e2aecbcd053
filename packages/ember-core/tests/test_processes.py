"""``ember.distributed.free_ports`` and ``ember.testing.run_processes``: what launchers, the
multi-process tests and benchmarks use to find ports and to bound a job's time."""

from __future__ import annotations

import socket
import sys
import time

import ember
import pytest
from ember.testing import run_processes


def test_free_ports_are_consecutive_and_bindable() -> None:
    base = ember.distributed.free_ports(3)
    socks = []
    try:
        for port in range(base, base + 3):
            s = socket.socket()
            s.bind(("127.0.0.1", port))
            socks.append(s)
    finally:
        for s in socks:
            s.close()
    with pytest.raises(ember.ArgumentError, match="positive integer, got 0"):
        ember.distributed.free_ports(0)


def test_run_processes_returns_each_output_in_order() -> None:
    code = "import os, sys; print(os.environ['WHO'], os.environ['OMP_NUM_THREADS']); sys.exit(int(os.environ['WHO']))"
    out = run_processes([[sys.executable, "-c", code]] * 2, [{"WHO": "0"}, {"WHO": "3"}])
    assert out == [(0, "0 1\n"), (3, "3 1\n")]


def test_run_processes_kills_what_outlives_the_bound() -> None:
    sleeper = [sys.executable, "-c", "import subprocess, sys; subprocess.run([sys.executable, "
               "'-c', 'import time; time.sleep(60)']); print('not reached')"]
    start = time.monotonic()
    [(rc, text)] = run_processes([sleeper], bound=1.0)
    assert rc < 0 and "not reached" not in text  # killed, its child with it (one group)
    assert time.monotonic() - start < 30
    with pytest.raises(ValueError, match="2 commands but 1 environments"):
        run_processes([["true"], ["true"]], [{}])
