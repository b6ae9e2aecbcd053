"""ember.distributed in one process: a world of one on every backend (no launcher), the
launchers' environments, argument errors, and ember-core's side of the engine contract with a
fake engine (mean from sum, errors naming the rank). The multi-process tests are in
ember-torch's and ember-mlx's test_distributed.py."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import ember
import numpy as np
import pytest
from core_support import BACKENDS
from ember.distributed import Collectives, DistributedError, Launch, read_launch
from ember.distributed._buckets import buckets

D = ember.distributed
LAUNCH_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "MLX_RANK",
               "MLX_HOSTFILE", "MLX_WORLD_SIZE", "MLX_IBV_DEVICES", "OMPI_COMM_WORLD_RANK",
               "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "PMI_RANK", "PMI_SIZE")


@pytest.fixture(autouse=True)
def _alone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts as a process of its own (no launcher) and leaves no job behind."""
    for name in LAUNCH_VARS:
        monkeypatch.delenv(name, raising=False)
    D.shutdown()
    yield
    D.shutdown()


# -- a world of one, on every backend -----------------------------------------------------------
def test_world_of_one_before_init(backend: str) -> None:
    assert (D.rank(), D.world_size(), D.local_rank(), D.is_initialized()) == (0, 1, 0, False)
    x = ember.asarray([[1.0, -2.0], [3.5, 0.25]])
    for op in ("sum", "mean", "max", "min"):
        y = D.all_reduce(x, op=op)
        assert y is not x and y.backend == backend and y.dtype == x.dtype
        np.testing.assert_array_equal(y.numpy(), x.numpy())
    np.testing.assert_array_equal(D.broadcast(x, src=0).numpy(), x.numpy())
    g = D.all_gather(x)
    assert g.shape == (1, 2, 2)
    np.testing.assert_array_equal(g.numpy(), x.numpy()[None])
    D.barrier()


def test_results_are_new_tensors(backend: str) -> None:
    x = ember.asarray([1.0, 2.0])
    y = D.all_reduce(x)
    y[0] = 9.0
    assert x.tolist() == [1.0, 2.0]
    b = D.broadcast(x)
    b[1] = 7.0
    assert x.tolist() == [1.0, 2.0]


def test_world_of_one_after_init(backend: str) -> None:
    world = D.init()
    assert (world.rank, world.world_size, world.local_rank, world.engine) == (0, 1, 0, None)
    assert world.backend == backend and str(world) == f"rank 0 of 1 ({backend})"
    assert D.is_initialized() and D.init() is world  # the same arguments: the same world
    assert D.all_reduce(ember.asarray([2, 3]), op="max").tolist() == [2, 3]
    assert D.all_gather(ember.asarray(5.0)).tolist() == [5.0]
    assert D.all_gather(ember.asarray([True, False])).tolist() == [[True, False]]
    assert D.broadcast(ember.asarray([True])).tolist() == [True]
    D.barrier()
    D.shutdown()
    assert not D.is_initialized()
    D.shutdown()  # twice is fine


def test_all_reduce_many_values_and_order(backend: str) -> None:
    ts = [ember.full((2, 3), 1.5), ember.arange(4, dtype=ember.float32),
          ember.asarray([7], dtype=ember.int32), ember.asarray(2.0), ember.ones((1, 1, 2))]
    for op, bucket_bytes in (("mean", 25 << 20), ("sum", 16), ("max", 1), ("min", 1 << 10)):
        if op == "mean":
            ts_op = [t for t in ts if t.dtype.is_inexact]
        else:
            ts_op = ts
        out = D.all_reduce_many(ts_op, op=op, bucket_bytes=bucket_bytes)
        assert [o.shape for o in out] == [t.shape for t in ts_op]
        assert [o.dtype for o in out] == [t.dtype for t in ts_op]
        for o, t in zip(out, ts_op, strict=True):
            np.testing.assert_array_equal(o.numpy(), t.numpy())
    assert D.all_reduce_many([]) == []


def test_buckets_split_by_dtype_and_size() -> None:
    with ember.use_backend(BACKENDS[0]):
        f4 = [ember.zeros(4), ember.zeros(4), ember.zeros(4)]  # 16 bytes each
        assert buckets(f4, 32) == [[0, 1], [2]]
        assert buckets(f4, 8) == [[0], [1], [2]]  # each larger than a bucket: alone
        assert buckets(f4, 1 << 20) == [[0, 1, 2]]
        mixed = [ember.zeros(2), ember.zeros(2, dtype=ember.int32), ember.zeros(2)]
        assert buckets(mixed, 1 << 20) == [[0], [1], [2]]


# -- argument errors -----------------------------------------------------------------------------
def test_argument_errors(backend: str) -> None:
    x = ember.asarray([1.0, 2.0])
    with pytest.raises(ember.ArgumentError, match=r"op must be one of \['sum', 'mean', 'max', "
                                                  r"'min'\], got 'avg'"):
        D.all_reduce(x, op="avg")
    with pytest.raises(ember.ArgumentError, match=r"src must be a rank from 0 to 0 .* got 1"):
        D.broadcast(x, src=1)
    with pytest.raises(ember.ArgumentError, match=r"got True"):
        D.broadcast(x, src=True)
    with pytest.raises(ember.ArgumentError, match=r"must be an ember.Tensor, got list"):
        D.all_reduce([1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(ember.DTypeError, match=r"op='mean' needs a floating .* ember.int64"):
        D.all_reduce(ember.asarray([1, 2], dtype=ember.int64), op="mean")
    with pytest.raises(ember.DTypeError, match=r"x is bool"):
        D.all_reduce(ember.asarray([True]), op="max")
    with pytest.raises(ember.DTypeError, match=r"complex ember.complex64 has no 'max'"):
        D.all_reduce(ember.asarray([1 + 1j], dtype=ember.complex64), op="max")
    with pytest.raises(ember.ArgumentError, match=r"bucket_bytes must be a positive int, got 0"):
        D.all_reduce_many([x], bucket_bytes=0)
    with pytest.raises(ember.ArgumentError, match=r"tensors\[1\] is a float"):
        D.all_reduce_many([x, 1.0])  # type: ignore[list-item]
    with pytest.raises(ember.ArgumentError, match=r"timeout must be a positive number"):
        D.init(timeout=-1)
    with pytest.raises(ember.ArgumentError, match=r"names an ember backend"):
        D.init("torch")


def test_init_twice_with_other_arguments(backend: str) -> None:
    D.init(timeout=10)
    with pytest.raises(ember.ArgumentError,
                       match=r"already joined as rank 0 of 1 .*shutdown\(\) first"):
        D.init(timeout=20)


@pytest.mark.skipif(len(BACKENDS) < 2, reason="needs two backends")
def test_tensor_of_another_backend() -> None:
    first, second = BACKENDS[:2]
    with ember.use_backend(first):
        D.init()
    with ember.use_backend(second):
        x = ember.asarray([1.0])
    with pytest.raises(ember.BackendMismatchError,
                       match=rf"x is a '{second}' tensor but .* on '{first}'.*x.to"):
        D.all_reduce(x)


# -- launchers' environments -------------------------------------------------------------------
def test_read_launch_torchrun_mpi_and_none() -> None:
    assert read_launch({}) == Launch(None, 0, 1, 0)
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "10.0.0.1"}
    assert read_launch(env) == Launch("torchrun", 3, 4, 1)
    assert str(read_launch(env)) == "rank 3 of 4 (started by torchrun)"
    ompi = {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2",
            "OMPI_COMM_WORLD_LOCAL_RANK": "1"}
    assert read_launch(ompi) == Launch("mpi", 1, 2, 1)
    assert read_launch({"PMI_RANK": "0", "PMI_SIZE": "3"}) == Launch("mpi", 0, 3, 0)
    with pytest.raises(ember.ArgumentError, match=r"rank 4 of a world of 4"):
        read_launch({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(ember.ArgumentError, match=r"RANK='one' is not an integer"):
        read_launch({"RANK": "one", "WORLD_SIZE": "4"})


def test_read_launch_mlx(tmp_path: Any) -> None:
    hostfile = tmp_path / "hosts.json"  # what mlx.launch writes: two hosts, two ranks each
    hosts = [["10.0.0.1:5000"], ["10.0.0.1:5001"], ["10.0.0.2:5002"], ["10.0.0.2:5003"]]
    hostfile.write_text(json.dumps(hosts))
    assert read_launch({"MLX_RANK": "3", "MLX_HOSTFILE": str(hostfile)}) == \
        Launch("mlx.launch", 3, 4, 1)
    assert read_launch({"MLX_RANK": "2", "MLX_HOSTFILE": str(hostfile)}).local_rank == 0
    single = tmp_path / "single.json"
    single.write_text("\n")  # mlx.launch's file for a single host
    assert read_launch({"MLX_RANK": "0", "MLX_HOSTFILE": str(single)}).world_size == 1
    assert read_launch({"MLX_RANK": "1", "MLX_WORLD_SIZE": "2"}) == Launch("mlx.launch", 1, 2, 0)
    with pytest.raises(ember.ArgumentError, match=r"cannot be read"):
        read_launch({"MLX_RANK": "0", "MLX_HOSTFILE": str(tmp_path / "missing")})


def test_launched_job_needs_init_and_an_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert (D.rank(), D.world_size()) == (1, 2)  # read from the environment before init
    with ember.use_backend(BACKENDS[0]):
        with pytest.raises(ember.ArgumentError, match=r"rank 1 of 2 .* call "
                                                      r"ember.distributed.init"):
            D.all_reduce(ember.ones(2))
        with pytest.raises(ember.ArgumentError, match=r"init"):
            D.barrier()
    b = ember.load_backend(BACKENDS[0])
    old = b.hooks
    b.hooks = dataclasses.replace(old, distributed=None)
    try:
        with ember.use_backend(BACKENDS[0]), pytest.raises(ember.UnsupportedError,
                           match=rf"backend '{BACKENDS[0]}' has no collectives, and this "
                                 rf"process is rank 1 of 2 .*use a backend that has them"):
            D.init()
    finally:
        b.hooks = old


# -- ember-core's side of the engine contract, with a fake engine ------------------------------
class FakeEngine(Collectives):
    """Two ranks, the other one contributing ``other`` times this one's values."""

    engines = ("fake",)
    launchers = ("torchrun",)
    other = 2

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail = False

    def init(self, engine: str | None, launch: Launch, timeout: float | None) -> str:
        self.calls.append(("init", (engine, launch, timeout)))
        return engine or "fake"

    def all_reduce(self, x: Any, op: str) -> Any:
        self.calls.append(("all_reduce", op))
        if self.fail:
            raise RuntimeError("Connection closed by peer")
        return {"sum": x + self.other * x, "max": np.maximum(x, self.other * x),
                "min": np.minimum(x, self.other * x)}[op]

    def all_gather(self, x: Any) -> Any:
        return np.stack([x, self.other * x])

    def broadcast(self, x: Any, src: int) -> Any:
        return x if src == 0 else self.other * x

    def barrier(self) -> None:
        self.calls.append(("barrier", None))

    def shutdown(self) -> None:
        self.calls.append(("shutdown", None))


@pytest.mark.skipif("numpy" not in BACKENDS, reason="the fake engine moves NumPy arrays")
def test_engine_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    engine = FakeEngine()
    b = ember.load_backend("numpy")
    old = b.hooks
    b.hooks = dataclasses.replace(old, distributed=lambda: engine)
    try:
        with ember.use_backend("numpy"):
            with pytest.raises(ember.ArgumentError, match=r"has no engine 'gloo'.*'fake'"):
                D.init("gloo")
            world = D.init(timeout=12.0)
            assert str(world) == "rank 0 of 2 (numpy/fake)"
            assert engine.calls[0] == ("init", (None, Launch("torchrun", 0, 2, 0), 12.0))
            x = ember.asarray([1.0, -4.0])
            assert D.all_reduce(x, op="mean").tolist() == [1.5, -6.0]  # sum / 2
            assert engine.calls[-1] == ("all_reduce", "sum")
            assert D.all_reduce(x, op="max").tolist() == [2.0, -4.0]
            assert D.all_gather(x).tolist() == [[1.0, -4.0], [2.0, -8.0]]
            assert D.broadcast(x, src=1).tolist() == [2.0, -8.0]
            with pytest.raises(ember.ArgumentError, match=r"from 0 to 1 .* 2 processes"):
                D.broadcast(x, src=2)
            many = D.all_reduce_many([x, ember.ones((2, 2))], op="sum")
            assert many[0].tolist() == [3.0, -12.0] and many[1].tolist() == [[3.0] * 2] * 2
            assert engine.calls[-1] == ("all_reduce", "sum")  # one bucket: one call
            engine.fail = True
            with pytest.raises(DistributedError, match=r"all_reduce failed on rank 0 of 2: "
                                                       "Connection closed by peer"):
                D.all_reduce(x)
            D.shutdown()
            assert engine.calls[-1] == ("shutdown", None)
            monkeypatch.setenv("MLX_RANK", "0")  # a launcher the engine does not know
            monkeypatch.delenv("RANK")
            monkeypatch.setenv("MLX_WORLD_SIZE", "2")
            with pytest.raises(ember.UnsupportedError, match=r"started by mlx.launch.*torchrun"):
                D.init()
    finally:
        b.hooks = old
