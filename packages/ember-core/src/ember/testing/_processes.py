"""``run_processes``: commands started together, each in a session of its own, all killed
when a time bound passes (for tests of multi-process jobs: a hung rank never hangs the test)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence

__all__ = ["run_processes"]


def run_processes(cmds: Sequence[Sequence[str]], envs: Sequence[Mapping[str, str]] | None = None,
                  *, bound: float = 120.0, cwd: str | None = None,
                  threads: int | None = 1) -> list[tuple[int, str]]:
    """Run every command of ``cmds`` at once (``envs[i]`` added to this process's environment
    for command ``i``; ``OMP_NUM_THREADS=threads`` unless None) and return each one's
    ``(return code, stdout and stderr)`` in order. When ``bound`` seconds pass, every process
    group still running is killed (SIGKILL; its return code is then negative).

    >>> import sys
    >>> run_processes([[sys.executable, "-c", "print(6 * 7)"]])
    [(0, '42\\n')]
    """
    envs = list(envs) if envs is not None else [{}] * len(cmds)
    if len(envs) != len(cmds):
        raise ValueError(f"run_processes: {len(cmds)} commands but {len(envs)} environments")
    base = dict(os.environ) | ({"OMP_NUM_THREADS": str(threads)} if threads else {})
    procs = [subprocess.Popen(list(c), env=base | dict(e), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True,
                              cwd=cwd)
             for c, e in zip(cmds, envs, strict=True)]
    out: list[tuple[int, str]] = []
    deadline = time.monotonic() + bound
    try:
        for p in procs:
            try:
                text, _ = p.communicate(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                text, _ = p.communicate()
            out.append((p.returncode, text))
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    return out
