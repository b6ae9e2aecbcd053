"""Shared by test_distributed_training*.py and dist_child.py: the training scenarios (run by
every rank of a launched job, and in the test's own process as the single-process reference),
the launchers (torchrun, mlx.launch) with a bound on time and their processes killed after it,
and the parsing of each rank's JSON lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

CHILD = Path(__file__).with_name("dist_child.py")
MLX_LAUNCH = Path(sys.executable).parent / "mlx.launch"
N_SAMPLES = 41  # batch 10: a last batch of 1 sample, so ranks 1 and 2 of 3 pad with weight 0
BATCH = 10


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N_SAMPLES, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0.5)
    return x, y


def weights(model: Any) -> dict[str, list[Any]]:
    return {k: v.numpy().astype(np.float32).tolist() for k, v in model.named_variables()}


def model() -> Any:
    import ember_nn

    return ember_nn.MLP(6, [16], 3, key=0)


def functional(opt_name: str, distributed: bool, steps: int = 3) -> dict[str, Any]:
    """``steps`` updates with DataParallel.value_and_grad-style code: rank r of W takes its
    slice of each global batch (uneven: 10 samples over 3 ranks are 3, 3, 4)."""
    import ember
    import ember_nn
    from ember_nn.training._shards import rank_range

    x, y = data()
    m = model()
    opt = ember_nn.SGD(0.1, momentum=0.9) if opt_name == "sgd" else ember_nn.Adam(0.01)
    dp = ember_nn.DataParallel(m) if distributed else None
    rank, world = (dp.rank, dp.world_size) if dp else (0, 1)

    def loss_fn(xb: Any, yb: Any) -> Any:
        return ember_nn.losses.sparse_categorical_cross_entropy(m(xb), yb)

    vg = ember_nn.value_and_grad(m, loss_fn)
    for s in range(steps):
        xs, ys = x[s * BATCH:(s + 1) * BATCH], y[s * BATCH:(s + 1) * BATCH]
        a, b = rank_range(len(xs), rank, world)
        _, grads = vg(ember.asarray(xs[a:b]), ember.asarray(ys[a:b]))
        if dp is not None:
            grads = dp.sync_gradients(grads, samples=b - a)
        opt.update(m, grads)
    return {"weights": weights(m)}


def trainer(distributed: bool, world: int, *, precision: str | None = None,
            compile: bool = False, resume: str | None = None, epochs: int = 2,
            sgd: bool = False) -> dict[str, Any]:
    """Trainer(distributed=...).fit on the 41 samples (uneven tails), validation data and
    metrics, then evaluate; ``resume``: load this checkpoint (model and Adam state) first.
    Then a pipeline of batches of 8: each rank takes every ``world``-th batch, so a step is the
    single-process step on a batch of ``8 * world`` (the reference's)."""
    import ember_nn

    x, y = data()
    m = model()
    opt = ember_nn.SGD(0.1) if sgd else ember_nn.Adam(0.01)
    if resume:
        ck = ember_nn.load_checkpoint(resume)
        m.load_state_dict(ck.model.state_dict())
        opt.load_state_dict(ck.optimizer.state_dict())
    tr = ember_nn.Trainer(m, opt, loss="sparse_categorical_cross_entropy",
                          metrics=["accuracy", "macro_accuracy"], progress=False,
                          precision=precision, compile=compile, distributed=distributed, seed=3)
    h = tr.fit(x[:33], y[:33], epochs=epochs, batch_size=BATCH,
               validation_data=(x[33:], y[33:]))
    # the stream path: a dataset of batches, shared out batch by batch
    ds = ember_nn.data.Dataset.from_arrays(x, y).batch(8)
    h2 = tr.fit(ds if distributed else ember_nn.data.Dataset.from_arrays(x, y).batch(8 * world),
                epochs=1)
    return {"weights": weights(m), "history": h.history, "stream_history": h2.history,
            "eval": tr.evaluate(x, y, batch_size=7), "eval_stream": tr.evaluate(ds),
            "step": opt.step}


def scenarios(backend: str, distributed: bool, world: int, resume: str | None,
              slow: bool = False) -> dict[str, Any]:
    out = {"sgd": functional("sgd", distributed), "adam": functional("adam", distributed),
           "trainer": trainer(distributed, world)}
    if resume:
        out["resume"] = trainer(distributed, world, resume=resume, epochs=1)
    if backend != "numpy":
        # SGD: Adam turns the bfloat16 noise of near-zero gradients into full-size steps
        out["mixed"] = trainer(distributed, world, precision="bf16-mixed", epochs=1, sgd=True)
    if backend == "mlx" or slow:  # torch's inductor takes tens of seconds on a CPU
        out["compiled"] = trainer(distributed, world, compile=True, epochs=1)
    return out


# -- launching ---------------------------------------------------------------------------------
def free_port() -> int:
    return free_ports(1)


def free_ports(n: int) -> int:
    """The first of ``n`` consecutive free ports (MLX's ring listens on one per rank)."""
    import ember

    return ember.distributed.free_ports(n)


def run(cmds: list[list[str]], envs: list[dict[str, str]], bound: float = 120,
        cwd: str | None = None) -> list[tuple[int, str]]:
    """Start every command in a session of its own; kill all if ``bound`` seconds pass."""
    from ember.testing import run_processes

    return run_processes(cmds, envs, bound=bound, cwd=cwd)


def launch(backend: str, n: int, args: list[str], bound: float = 120) -> tuple[int, str]:
    """``dist_child.py args`` on ``n`` local ranks under the backend's own launcher."""
    child = [str(CHILD), *args]
    if backend == "torch":
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(n),
               "--master-port", str(free_port()), *child]
    else:
        cmd = [str(MLX_LAUNCH), "-n", str(n), "--starting-port", str(free_ports(n)), "--",
               sys.executable, *child]
    [(rc, text)] = run([cmd], [{}], bound)
    return rc, text


def by_rank(text: str) -> dict[int, dict[str, Any]]:
    lines = [json.loads(s) for s in text.splitlines() if s.startswith("{")]
    return {r["rank"]: r for r in lines}
