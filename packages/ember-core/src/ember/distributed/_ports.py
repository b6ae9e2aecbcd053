"""``free_ports``: where a launcher (``ember train --nproc``, a test, a benchmark) can listen."""

from __future__ import annotations

import socket

from .._errors import ArgumentError

__all__ = ["free_ports"]


def _port_free(port: int, host: str) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(n: int = 1, *, host: str = "127.0.0.1") -> int:
    """The first of ``n`` consecutive TCP ports free on ``host`` now (torchrun needs one for
    its master, MLX's ring one per rank). Another process may take them before they are used:
    a launcher that fails to bind should try again.

    Raises ArgumentError for ``n`` < 1, and OSError when 50 tries find no free run.

    >>> 1024 <= ember.distributed.free_ports(2) <= 65534
    True
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ArgumentError(f"free_ports: n must be a positive integer, got {n!r}")
    for _ in range(50):
        with socket.socket() as s:
            s.bind((host, 0))
            base = int(s.getsockname()[1])
        if base + n <= 65536 and all(_port_free(p, host) for p in range(base, base + n)):
            return base
    raise OSError(f"free_ports: found no {n} consecutive free ports on {host!r} in 50 tries")
