"""ember.distributed on MLX's ring backend, 2 and 3 processes on this machine: started by
``mlx.launch -n N``, or with the exact environment mlx.launch sets (``MLX_RANK`` and
``MLX_HOSTFILE``, a JSON list of each rank's ``ip:port``) to watch each rank when one dies or
stalls. Each rank runs ``python -m ember.distributed.check`` and prints what it got; the values
are checked here against NumPy. Every run is bounded by a timeout and its processes are killed
if it overruns. (mlx.launch exits with status 0 even when a rank fails: the checks read the
output.)"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import ember
import pytest
from ember.distributed import check
from ember.testing import run_processes

CHECK = [sys.executable, "-m", "ember.distributed.check", "--backend", "mlx"]
LAUNCH = Path(sys.executable).parent / "mlx.launch"
BOUND = 60  # seconds any run may take before it is killed


def free_ports(n: int) -> int:
    """The first of ``n`` consecutive free ports (the ring listens on one per rank)."""
    return ember.distributed.free_ports(n)


def run(cmds: list[list[str]], envs: list[dict[str, str]]) -> list[tuple[int, str]]:
    """Start every command in a session of its own; kill all if the bound passes."""
    return run_processes(cmds, envs, bound=BOUND, threads=None)


@pytest.mark.skipif(not LAUNCH.exists(), reason=f"no mlx.launch beside {sys.executable}")
@pytest.mark.parametrize("n", [2, 3])
def test_collectives_under_mlx_launch(n: int) -> None:
    cmd = [str(LAUNCH), "-n", str(n), "--starting-port", str(free_ports(n)), "--", *CHECK]
    [(rc, text)] = run([cmd], [{}])
    assert rc == 0 and "exited with code" not in text, text
    by_rank = check.parse(text)
    assert {r["launcher"] for r in by_rank.values()} == {"mlx.launch"}
    check.verify(by_rank, n, "ring")


def ring_env(n: int, tmp_path: Path) -> list[dict[str, str]]:
    base = free_ports(n)
    hostfile = tmp_path / "hosts.json"
    hostfile.write_text(json.dumps([[f"127.0.0.1:{base + r}"] for r in range(n)]))
    return [{"MLX_RANK": str(r), "MLX_HOSTFILE": str(hostfile)} for r in range(n)]


def test_a_rank_that_dies_ends_every_rank(tmp_path: Path) -> None:
    """Rank 1 of 3 exits once the job has started: ranks 0 and 2 fail at their next
    collective at once (the ring sees the closed connection), naming themselves."""
    out = run([[*CHECK, "--die", "1", "--timeout", "60"]] * 3, ring_env(3, tmp_path))
    assert out[1][0] == 3
    for r in (0, 2):
        rc, text = out[r]
        got = check.parse(text)[r]
        assert rc == 1, text
        assert got["error"].startswith(f"DistributedError: ember.distributed.all_reduce failed "
                                       f"on rank {r} of 3: [ring] connection to a peer was lost")
        assert f"ring neighbours {(r - 1) % 3} and {(r + 1) % 3}" in got["error"]
        assert got["seconds"] < 30  # not the timeout: at once


def test_a_stalled_rank_ends_at_the_timeout(tmp_path: Path) -> None:
    """Rank 1 of 2 sleeps: MLX's ring would wait for ever; ember's watchdog ends rank 0
    after the timeout (5 s) with a message naming it. The timeout also bounds the ring's start,
    so it leaves room for the two processes' imports on a busy machine (at 2 s, a CI run on
    two loaded cores once ended in the start's watchdog instead)."""
    start = time.monotonic()
    out = run([[*CHECK, "--stall", "1", "--timeout", "5"]] * 2, ring_env(2, tmp_path))
    rc, text = out[0]
    assert rc == 1, text
    assert ("ember.distributed: all_reduce(op='sum') on rank 0 of 2 (MLX ring), ring neighbours "
            "1 and 1 waited 5 s for the other ranks") in text
    assert time.monotonic() - start < 30


def test_a_rank_that_never_starts_ends_the_others_at_the_timeout(tmp_path: Path) -> None:
    """Only rank 0 of 2 starts: mx.distributed.init would wait for ever (and holds the
    interpreter); faulthandler's watchdog prints the stack and ends it after 2 s."""
    [(rc, text)] = run([[*CHECK, "--timeout", "2"]], ring_env(2, tmp_path)[:1])
    assert rc == 1, text
    assert "Timeout (0:00:02)!" in text
    assert "_mlx_distributed_init_waiting_for_other_ranks" in text
