"""A helper process for test_checkpoint_crash.py: imports ember once, then forks savers that
the test kills (``os.fork`` makes each saver start in microseconds, so a hundred kills take
seconds). One JSON command per line on stdin, one JSON reply per line on stdout:

- ``{"cmd": "random", "path", "base", "delay"}``: fork a child that saves the model with every
  value set to base, base + 1, ... in a loop, SIGKILL it after ``delay`` seconds; reply
  ``{"done": [the values whose save returned]}``.
- ``{"cmd": "step", "path", "value", "kill_at"}``: fork a child that saves ``value`` once and
  dies (``os._exit``) just before the ``kill_at``-th file-system change the save makes; reply
  ``{"killed": bool, "ops": [[op, path], ...]}`` (the changes it reached).
- ``{"cmd": "writers", "path", "bases", "saves"}``: fork one child per base, each saving
  ``saves`` values from its base; reply ``{"codes": [exit codes]}`` once all have finished.
- ``{"cmd": "calibrate", "path"}``: one save in this process; reply ``{"seconds": float}``.

Run with ``EMBER_BACKEND=numpy``. The model: Dense(256, 256) and BatchNorm(256) (a ~260 KB
checkpoint, with non-trainable running statistics).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import ember
import ember_nn
from ember_nn.io import _checkpoint_store as store

MODEL = ember_nn.Sequential(ember_nn.Dense(256, 256, key=0), ember_nn.BatchNorm(256))


def set_value(k: int) -> None:
    for v in MODEL.variables:
        v.assign(ember.full(v.shape, k, dtype=v.dtype))


def save(path: str, k: int) -> None:
    set_value(k)
    ember_nn.save(MODEL, path, extra={"k": k})


def random_kill(path: str, base: int, delay: float) -> dict[str, object]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        k = base
        while True:
            save(path, k)
            os.write(w, f"{k}\n".encode())
            k += 1
    os.close(w)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    with os.fdopen(r) as f:
        done = [int(line) for line in f.read().split()]
    return {"done": done}


def kill_at_step(path: str, value: int, kill_at: int) -> dict[str, object]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        count = [0]

        def step(op: str, p: object) -> None:
            count[0] += 1
            if count[0] == kill_at:
                os._exit(77)  # no cleanup handler runs: as SIGKILL
            os.write(w, (json.dumps([op, str(p)]) + "\n").encode())

        store._step = step  # type: ignore[assignment]
        try:
            save(path, value)
        except BaseException as exc:  # pragma: no cover - reported to the test
            os.write(w, (json.dumps(["error", repr(exc)]) + "\n").encode())
            os._exit(1)
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        ops = [json.loads(line) for line in f.read().splitlines()]
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 77):
        return {"error": f"child exited with {code}: {ops[-1:]}"}
    return {"killed": code == 77, "ops": ops}


def writers(path: str, bases: list[int], saves: int) -> dict[str, object]:
    pids = []
    for base in bases:
        pid = os.fork()
        if pid == 0:
            try:
                for k in range(base, base + saves):
                    save(path, k)
            except BaseException:  # pragma: no cover - the exit code tells the test
                os._exit(1)
            os._exit(0)
        pids.append(pid)
    return {"codes": [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids]}


def main() -> None:
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "random":
            out = random_kill(cmd["path"], cmd["base"], cmd["delay"])
        elif cmd["cmd"] == "step":
            out = kill_at_step(cmd["path"], cmd["value"], cmd["kill_at"])
        elif cmd["cmd"] == "writers":
            out = writers(cmd["path"], cmd["bases"], cmd["saves"])
        else:
            t0 = time.perf_counter()
            save(cmd["path"], 0)
            out = {"seconds": time.perf_counter() - t0}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
