"""Models and file helpers shared by the checkpoint tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import ember
import ember_nn


class CkAffine(ember_nn.Module):
    def __init__(self, n: int, *, dtype: ember.DType = ember.float32) -> None:
        super().__init__()
        self.scale = ember.Variable(ember.ones((n,), dtype=dtype))
        self.shift = ember.Variable(ember.zeros((n,), dtype=dtype), trainable=False)
        self.calls = ember.Variable(ember.zeros((), dtype=ember.int64), trainable=False)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return x * self.scale + self.shift


class CkStack(ember_nn.Module):
    def __init__(self, *parts: ember_nn.Module) -> None:
        super().__init__()
        self.parts = list(parts)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        for p in self.parts:
            x = p(x)
        return x


def trained(n: int = 3, seed: int = 0) -> CkStack:
    """A model whose weights its config cannot reproduce (random values assigned after)."""
    m = CkStack(CkAffine(n), CkAffine(n))
    for i, (_, v) in enumerate(m.named_variables()):
        k = ember.random.key(seed * 100 + i)
        if v.dtype.is_floating:
            v.assign(ember.random.normal(k, v.shape, dtype=v.dtype))
        else:
            v.assign(ember.full(v.shape, 7 + i, dtype=v.dtype))
    return m


def values(m: ember_nn.Module) -> dict[str, tuple[str, bytes]]:
    return {k: (v.dtype.name, v.tobytes()) for k, v in m.named_variables()}


def newest(path: Path) -> Path:
    """The newest version directory of a checkpoint."""
    versions = sorted(p for p in path.iterdir() if p.name.startswith("v"))
    assert versions, sorted(p.name for p in path.iterdir())
    return versions[-1]


def tree(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` by relative path (the lock file aside), with its bytes."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def rewrite(path: Path, name: str, data: bytes) -> None:
    """Replace one file of the newest version and record its new sha256 in SHA256SUMS, as a
    hostile (or careful) editor would: the checkpoint is consistent, its content is not ours."""
    d = newest(path)
    (d / name).write_bytes(data)
    sums = dict(reversed(line.split("  ")) for line in (d / "SHA256SUMS").read_text().splitlines())
    sums[name] = hashlib.sha256(data).hexdigest()
    (d / "SHA256SUMS").write_text("".join(f"{h}  {n}\n" for n, h in sorted(sums.items())))


def config_of(path: Path) -> dict[str, Any]:
    return json.loads((newest(path) / "config.json").read_text())  # type: ignore[no-any-return]


def rewrite_config(path: Path, **changes: Any) -> None:
    config = config_of(path)
    config.update(changes)
    rewrite(path, "config.json", json.dumps(config).encode())
