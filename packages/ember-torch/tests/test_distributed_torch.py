"""ember.distributed on torch.distributed's gloo, 2 and 3 processes on this machine: started by
torchrun (``python -m torch.distributed.run``), or with the exact environment torchrun sets
(RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) to watch each rank when one dies or
stalls. Each rank runs ``python -m ember.distributed.check`` and prints what it got; the
values are checked here against NumPy. Every run is bounded by a timeout and its processes are
killed if it overruns."""

from __future__ import annotations

import os
import sys

import ember
import pytest
from ember.distributed import check
from ember.testing import run_processes

CHECK = [sys.executable, "-m", "ember.distributed.check", "--backend", "torch"]
BOUND = 120  # seconds any run may take before it is killed


def free_port() -> int:
    return ember.distributed.free_ports(1)


def run(cmds: list[list[str]], envs: list[dict[str, str]]) -> list[tuple[int, str]]:
    """Start every command in a session of its own; kill all if the bound passes."""
    return run_processes(cmds, envs, bound=BOUND, threads=None)


@pytest.mark.parametrize("n", [2, 3])
def test_collectives_under_torchrun(n: int) -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(n),
           "--master-port", str(free_port()), *CHECK[1:]]
    [(rc, text)] = run([cmd], [{"OMP_NUM_THREADS": "1"}])
    assert rc == 0, text
    by_rank = check.parse(text)
    assert {r["launcher"] for r in by_rank.values()} == {"torchrun"}
    check.verify(by_rank, n, "gloo")


def torchrun_env(n: int) -> list[dict[str, str]]:
    port = str(free_port())
    return [{"RANK": str(r), "LOCAL_RANK": str(r), "WORLD_SIZE": str(n), "LOCAL_WORLD_SIZE":
             str(n), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "OMP_NUM_THREADS": "1"}
            for r in range(n)]


def test_a_rank_that_dies_ends_every_rank() -> None:
    """Rank 1 of 3 exits once the job has started: ranks 0 and 2 fail at their next
    collective at once (gloo sees the closed connection), naming themselves."""
    out = run([[*CHECK, "--die", "1", "--timeout", "60"]] * 3, torchrun_env(3))
    assert out[1][0] == 3
    for r in (0, 2):
        rc, text = out[r]
        got = check.parse(text)[r]
        assert rc == 1, text
        assert got["error"].startswith(f"DistributedError: ember.distributed.all_reduce failed "
                                       f"on rank {r} of 3: ")
        # gloo's words depend on how the peer's socket went (closed at exit, or reset)
        assert any(w in got["error"] for w in ("Connection closed by peer", "Read error",
                                                "Connection reset by peer")), got["error"]
        assert got["seconds"] < 30  # not the timeout: at once


@pytest.mark.skipif(os.environ.get("EMBER_SLOW") != "1",
                    reason="15 s on two cores: runs with EMBER_SLOW=1 (nox -s slow)")
def test_a_stalled_rank_times_out() -> None:
    """Rank 1 of 2 sleeps: rank 0's all_reduce fails after init's timeout (3 s)."""
    out = run([[*CHECK, "--stall", "1", "--timeout", "3"]] * 2, torchrun_env(2))
    rc, text = out[0]
    got = check.parse(text)[0]
    assert rc == 1, text
    assert "failed on rank 0 of 2" in got["error"] and "Timed out" in got["error"]
    assert 2.5 < got["seconds"] < 30
