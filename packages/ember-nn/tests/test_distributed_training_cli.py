"""``ember train CONFIG --nproc N``: the digits example trained by 2 workers under torchrun (MLX's
mlx.launch with EMBER_SLOW=1) reaches the single-process accuracy band, rank 0 alone writing the
outputs; ranks started with different configs all end with an error naming the rank that
differs; a backend without collectives and a port in use are refused before anything starts.
Every job is bounded in time and its processes are killed after it."""

from __future__ import annotations

import csv
import json
import os
import socket
import sys
import tomllib
from pathlib import Path

import distributed_support as support
import pytest
from conftest import BACKENDS
from ember._cli import main

ROOT = Path(__file__).resolve().parents[3]
DIGITS = ROOT / "examples" / "digits" / "digits.toml"
SLOW = os.environ.get("EMBER_SLOW") == "1"
EMBER = [sys.executable, "-m", "ember._cli"]


def _selected(name: str) -> bool:
    return name in BACKENDS and (name != "mlx" or support.MLX_LAUNCH.exists())


@pytest.mark.parametrize("backend", [
    pytest.param("torch", marks=pytest.mark.skipif(not _selected("torch"),
                                                    reason="torch not selected")),
    pytest.param("mlx", marks=pytest.mark.skipif(not (_selected("mlx") and SLOW),
                                                  reason="mlx not selected, or not EMBER_SLOW=1 "
                                                         "(30 s on two cores)"))])
def test_digits_with_two_workers(backend: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    [(rc, text)] = support.run([[*EMBER, "train", str(DIGITS), "--backend", backend,
                                 "--nproc", "2", "--epochs", "6", "--output", str(out),
                                 "--no-progress"]], [{}], bound=180, cwd=str(ROOT))
    assert rc == 0, text
    assert text.count("trained MLP") == 1 and "data-parallel: 2 processes" in text, text
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.93, metrics  # one process: 0.96 after 6 epochs
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert len(rows) == 6  # written once, by rank 0
    assert (out / "checkpoint").is_dir()


def _configs(tmp_path: Path) -> list[Path]:
    """Two copies of the digits config for one epoch, the second with another seed."""
    text = DIGITS.read_text().replace("epochs = 40", "epochs = 1")
    assert tomllib.loads(text)["seed"] == 0
    paths = [tmp_path / "a.toml", tmp_path / "b.toml"]
    paths[0].write_text(text)
    paths[1].write_text(text.replace("seed = 0\n", "seed = 1\n", 1))
    return paths


@pytest.mark.parametrize("backend", [b for b in ("torch", "mlx") if _selected(b)])
def test_different_configs_end_every_rank_naming_the_rank(backend: str,
                                                          tmp_path: Path) -> None:
    a, b = _configs(tmp_path)
    if backend == "torch":
        port = str(support.free_port())
        envs = [{"RANK": str(r), "LOCAL_RANK": str(r), "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE":
                 "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port} for r in range(2)]
    else:
        base = support.free_ports(2)
        hosts = tmp_path / "hosts.json"
        hosts.write_text(json.dumps([[f"127.0.0.1:{base + r}"] for r in range(2)]))
        envs = [{"MLX_RANK": str(r), "MLX_HOSTFILE": str(hosts)} for r in range(2)]
    cmds = [[*EMBER, "train", str(c), "--backend", backend, "--distributed", "--output",
             str(tmp_path / "run"), "--timeout", "60", "--no-progress"] for c in (a, b)]
    out = support.run(cmds, envs, bound=90, cwd=str(ROOT))
    for r, (rc, text) in enumerate(out):
        assert rc == 1, text
        assert (f"ember: error: the config (ember train's) differs across ranks: rank 1 has "
                f"another than rank 0's (this is rank {r} of 2)") in text, text
    assert not (tmp_path / "run" / "history.csv").exists()


def test_numpy_is_refused_naming_the_backends_with_collectives(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(DIGITS), "--backend", "numpy", "--nproc", "2"]) == 1
    err = capsys.readouterr().err
    assert "backend 'numpy' has no collectives" in err
    assert "torch (torchrun" in err or "mlx (mlx.launch)" in err


@pytest.mark.skipif(not _selected("torch"), reason="torch not selected")
def test_a_port_in_use_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["train", str(DIGITS), "--backend", "torch", "--nproc", "2",
                     "--master-port", str(port)]) == 1
    assert f"--master-port {port} is in use on this machine" in capsys.readouterr().err


def test_launcher_options_of_the_other_engine_are_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    if not _selected("mlx"):
        pytest.skip("mlx not selected")
    assert main(["train", str(DIGITS), "--backend", "mlx", "--nproc", "2", "--nnodes",
                 "2"]) == 1
    assert "MLX's ring takes its machines from --hostfile" in capsys.readouterr().err
