"""Data-parallel training (``DataParallel``, ``Trainer(distributed=True)``) with 2 and 3 processes
on this machine, over torch.distributed's gloo (torchrun) and MLX's ring (mlx.launch): after
the same steps every rank holds the same weights, equal to single-process training on the
global batch (computed here, in this process) to float tolerance. Each job runs
distributed_support's scenarios: SGD (momentum) and Adam steps through
``DataParallel.sync_gradients`` on uneven slices; ``Trainer.fit`` on 41 samples in batches of
10 (a last batch of one sample: ranks 1 and 2 of 3 pad with weight 0) with validation data and
metrics, then a pipeline of batches shared out batch by batch, ``evaluate`` on arrays and on
the pipeline; a run resumed from a checkpoint (weights and Adam state); bf16-mixed precision;
``compile=True`` (MLX; torch's inductor with EMBER_SLOW=1). Every job is bounded in time and
its processes are killed after it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import distributed_support as support
import ember
import numpy as np
import pytest
from conftest import BACKENDS

SLOW = os.environ.get("EMBER_SLOW") == "1"
ENGINES = [b for b in BACKENDS if b == "torch" or (b == "mlx" and support.MLX_LAUNCH.exists())]


def checkpoint(backend: str, path: Path) -> str:
    """A model trained one epoch with Adam (so the optimiser has slots), saved."""
    import ember_nn

    x, y = support.data()
    m, opt = support.model(), ember_nn.Adam(0.01)
    ember_nn.Trainer(m, opt, loss="sparse_categorical_cross_entropy", progress=False).fit(
        x, y, epochs=1, batch_size=16)
    return str(ember_nn.save(m, path / "ck", optimizer=opt))


def close(got: Any, want: Any, rtol: float, where: str) -> None:
    if isinstance(want, dict):
        assert sorted(got) == sorted(want), where
        for k in want:
            close(got[k], want[k], rtol, f"{where}.{k}")
    else:
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                                   np.asarray(want, dtype=np.float64),
                                   rtol=rtol, atol=rtol / 10, err_msg=where)


@pytest.mark.skipif(not ENGINES, reason="no backend with collectives selected")
@pytest.mark.parametrize("backend", ENGINES)
@pytest.mark.parametrize("n", [2, 3])
def test_every_rank_equals_single_process_training(backend: str, n: int,
                                                    tmp_path: Path) -> None:
    with ember.use_backend(backend):
        ck = checkpoint(backend, tmp_path)
    args = [backend, "--resume", ck, "--out", str(tmp_path)] + (["--slow"] if SLOW else [])
    rc, text = support.launch(backend, n, args, bound=240 if SLOW else 120)
    got = {r: json.loads(p.read_text()) for r in range(n)
           if (p := tmp_path / f"rank{r}.json").exists()}
    assert rc == 0 and "exited with code" not in text and sorted(got) == list(range(n)), text
    with ember.use_backend(backend):
        want = support.scenarios(backend, False, n, ck, SLOW)
    assert sorted(got[0]) == sorted([*want, "rank", "world"])
    for name, ref in want.items():
        # bfloat16 forward passes on different slices round differently
        rtol = 3e-2 if name == "mixed" else 2e-5
        for r in range(n):
            res = got[r][name]
            assert res["weights"] == got[0][name]["weights"], (name, r)  # identical, bit for bit
            close(res["weights"], ref["weights"], rtol, f"{name} weights, rank {r}")
            for key in ("history", "stream_history", "eval", "eval_stream"):
                if key in ref:
                    close(res[key], ref[key], 10 * rtol, f"{name} {key}, rank {r}")
            if "step" in ref:
                assert res["step"] == ref["step"]


def test_a_single_process_is_a_world_of_one(backend: str) -> None:
    """Without a launcher: DataParallel and Trainer(distributed=True) train as without."""
    import ember_nn

    x, y = support.data()
    a, b = support.model(), support.model()
    for m, dist in ((a, False), (b, True)):
        ember_nn.Trainer(m, ember_nn.Adam(0.01), loss="sparse_categorical_cross_entropy",
                         progress=False, distributed=dist).fit(x, y, epochs=1, batch_size=10)
    assert support.weights(a) == support.weights(b)
    dp = ember_nn.DataParallel(a)
    assert (dp.rank, dp.world_size) == (0, 1)
    with pytest.raises(ember_nn.ConfigError, match="bucket_bytes must be a positive int"):
        ember_nn.DataParallel(a, bucket_bytes=0)
    with pytest.raises(ember_nn.ConfigError, match="distributed must be True or False"):
        ember_nn.Trainer(a, ember_nn.SGD(0.1), distributed="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["ember_nn.training._data_parallel", "ember_nn.training._shards",
                                  "ember_nn.pipelines._launch"])
def test_docstring_examples_run(backend: str, name: str) -> None:
    import doctest
    import importlib

    import ember_nn

    result = doctest.testmod(importlib.import_module(name),
                             extraglobs={"ember": ember, "ember_nn": ember_nn})
    assert result.failed == 0
