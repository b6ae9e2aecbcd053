"""``ember train CONFIG --nproc N``: start N workers on this machine with the backend's own
launcher, each running ``ember train CONFIG --distributed`` (data-parallel training,
``docs/distributed.md``).

torch: ``python -m torch.distributed.run`` (torchrun) with ``--nproc-per-node N`` and, for several
machines, ``--nnodes``, ``--node-rank``, ``--master-addr``, ``--master-port`` (run the same command
on every machine, each with its own ``--node-rank``). MLX: ``mlx.launch -n N`` and, for several
machines, ``--hostfile`` (MLX's JSON host list; mlx.launch starts the workers on every host over
ssh). A backend without collectives (NumPy) is refused, naming the ones that have them.

The launcher's exit status is this command's; mlx.launch returns 0 even when a rank failed, so
its output is read as it passes and a line saying a rank exited with an error makes the status 1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import ember

from .._core._errors import ConfigError

__all__ = ["LAUNCHERS", "launch_command", "run_launcher", "worker_args"]

#: backend -> the launcher its collectives join
LAUNCHERS = {"torch": "torchrun (python -m torch.distributed.run)", "mlx": "mlx.launch"}


def engine_backends() -> list[str]:
    """The installed backends that have collectives (``BackendHooks.distributed``)."""
    names = []
    for info in ember.backends(probe=False):
        try:
            if ember.load_backend(info.name).hooks.distributed is not None:
                names.append(info.name)
        except ember.EmberError:
            pass
    return names


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("", port))
        except OSError:
            return False
    return True


def _free_ports(n: int) -> int:
    """The first of ``n`` consecutive free ports of this machine."""
    try:
        return ember.distributed.free_ports(n, host="")
    except OSError:
        raise ConfigError(f"no {n} consecutive free ports on this machine") from None


def launch_command(backend: str, nproc: int, worker: Sequence[str], *, nnodes: int = 1,
                   node_rank: int = 0, master_addr: str | None = None,
                   master_port: int | None = None, hostfile: str | None = None) -> list[str]:
    """The launcher's command line starting ``worker`` (the arguments after ``python``) on
    ``nproc`` processes of this machine (per machine, with ``nnodes``/``hostfile``).

    Raises ``ConfigError`` for a backend without collectives (naming those that have them), a
    launcher option of the other engine, or a port already in use here."""
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ConfigError(f"ember train: --nproc must be a positive number of processes, got "
                          f"{nproc!r}")
    hook = ember.load_backend(backend).hooks.distributed
    if hook is None:
        have = engine_backends() or ["torch", "mlx"]
        raise ConfigError(
            f"ember train --nproc {nproc}: backend {backend!r} has no collectives, so it cannot "
            f"train on several processes; the backends that have them: "
            + ", ".join(f"{b} ({LAUNCHERS.get(b, 'its own launcher')})" for b in have)
            + " (pass --backend)")
    if backend == "mlx":
        if nnodes != 1 or node_rank or master_addr or master_port:
            raise ConfigError("ember train: --nnodes, --node-rank, --master-addr and "
                              "--master-port are torchrun's; MLX's ring takes its machines "
                              "from --hostfile (mlx.launch starts every rank over ssh)")
        launcher = shutil.which("mlx.launch") or str(Path(sys.executable).parent / "mlx.launch")
        port = master_port or _free_ports(nproc)
        cmd = [launcher, "-n", str(nproc), "--starting-port", str(port)]
        if hostfile:
            cmd += ["--hostfile", hostfile]
        return [*cmd, "--", sys.executable, *worker]
    if hostfile:
        raise ConfigError("ember train: --hostfile is mlx.launch's; torchrun takes --nnodes, "
                          "--node-rank, --master-addr and --master-port (the same command on "
                          "every machine)")
    if master_port is None:
        master_port = _free_ports(1)
    elif (master_addr in (None, "localhost", "127.0.0.1") or node_rank == 0) \
            and not _port_free(master_port):
        raise ConfigError(f"ember train: --master-port {master_port} is in use on this machine "
                          f"(another job?); pick another port, or leave --master-port out for "
                          f"a free one (single machine)")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc),
           "--nnodes", str(nnodes), "--node-rank", str(node_rank),
           "--master-addr", master_addr or "127.0.0.1", "--master-port", str(master_port)]
    return [*cmd, *worker]


def worker_args(config: str, options: Sequence[str]) -> list[str]:
    """``-m ember._cli train CONFIG --distributed OPTIONS``: what every worker runs."""
    return ["-m", "ember._cli", "train", config, "--distributed", *options]


def run_launcher(cmd: Sequence[str]) -> int:
    """Run the launcher, passing its output through; its exit status (1 where mlx.launch
    reported a rank that exited with an error)."""
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    env.setdefault("OMP_NUM_THREADS", "1")  # N processes share this machine's cores
    failed = False
    with subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if "exited with code" in line:
                failed = True
        rc = proc.wait()
    return rc or (1 if failed else 0)
