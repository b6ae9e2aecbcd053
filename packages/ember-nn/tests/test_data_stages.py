"""ember_nn.data stages: map, filter, batch (padding), shuffle (the same order on every
backend), cache, repeat, take, shard, lengths and the errors naming stage and sample."""

from __future__ import annotations

import random
import threading
import time

import ember
import ember_nn
import numpy as np
import pytest
from conftest import BACKENDS
from ember_nn.data import DataError, Dataset, from_iterable


def ints(ds: Dataset, epoch: int | None = None) -> list[int]:
    it = ds if epoch is None else ds.iter(epoch)
    return [int(v) for v in it]


def test_map_unpacks_tuples_and_names_the_failing_sample(backend: str) -> None:
    ds = Dataset.from_arrays([1.0, 2.0, 3.0], [10, 20, 30]).map(lambda x, y: (x * 2, y + 1))
    assert [(float(x), int(y)) for x, y in ds] == [(2.0, 11), (4.0, 21), (6.0, 31)]
    assert len(ds) == 3

    def explode(v: ember.Tensor) -> ember.Tensor:
        if int(v) == 4:
            raise ValueError("bad sample")
        return v

    with pytest.raises(DataError, match=r"map\(decode\) failed on sample 4 \(epoch 0\): "
                                        r"ValueError: bad sample") as info:
        list(Dataset.from_arrays(list(range(6))).map(explode, name="decode"))
    assert isinstance(info.value.__cause__, ValueError)
    assert (info.value.stage, info.value.index, info.value.epoch) == ("map(decode)", 4, 0)
    with pytest.raises(DataError, match=r"map\(.*explode\) failed on sample 4"):
        list(Dataset.from_arrays(list(range(6))).shuffle(1).map(explode).take(6)
             .iter(0))  # shuffle(1) keeps the order: sample 4 holds 4
    with pytest.raises(ember_nn.ConfigError, match="fn must be callable"):
        Dataset.from_arrays([1]).map(3)  # type: ignore[arg-type]


def test_map_on_threads_keeps_the_order_and_the_backend(backend: str) -> None:
    seen = set()

    def slow(v: ember.Tensor) -> ember.Tensor:
        seen.add(threading.get_ident())
        time.sleep(0.002 * (5 - int(v) % 5))  # later samples finish first
        return ember.asarray(v) * 2

    ds = Dataset.from_arrays(list(range(12))).map(slow, threads=4)
    out = list(ds)
    assert [int(v) for v in out] == [2 * i for i in range(12)]
    assert all(t.backend == backend for t in out) and len(seen) > 1
    with pytest.raises(DataError, match=r"map\(boom\) failed on sample 2"):
        list(Dataset.from_arrays(list(range(12))).map(
            lambda v: 1 // (int(v) - 2), name="boom", threads=3))


def test_filter_keeps_what_the_predicate_accepts_and_rejects_non_bools(backend: str) -> None:
    ds = Dataset.from_arrays(list(range(10))).filter(lambda v: v % 3 == 0)
    assert ints(ds) == [0, 3, 6, 9]
    with pytest.raises(TypeError, match="not known"):
        len(ds)
    assert ints(Dataset.from_arrays(list(range(5))).filter(lambda v: int(v) > 2)) == [3, 4]
    with pytest.raises(DataError, match=r"filter\(<lambda>\) returned NoneType None for sample "
                                        r"0 .* True or False"):
        list(Dataset.from_arrays([1, 2]).filter(lambda v: None))


def test_batch_stacks_structures_and_keeps_the_remainder(backend: str) -> None:
    samples = [{"x": [float(i), float(i)], "y": i} for i in range(5)]
    batches = list(from_iterable(samples).batch(2))
    assert [b["y"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[0]["x"].shape == (2, 2) and batches[0]["x"].backend == backend
    assert len(from_iterable(samples).batch(2)) == 3
    assert len(from_iterable(samples).batch(2, drop_remainder=True)) == 2
    assert [b["y"].tolist() for b in from_iterable(samples).batch(2, drop_remainder=True)] == \
        [[0, 1], [2, 3]]
    nested = list(from_iterable([((1.0, 2.0), 0), ((3.0, 4.0), 1)]).batch(2))
    (a, b), y = nested[0]
    assert a.tolist() == [1.0, 3.0] and b.tolist() == [2.0, 4.0] and y.tolist() == [0, 1]
    strings = list(from_iterable(["a", "b", "c"]).batch(2))
    assert strings == [["a", "b"], ["c"]]


def test_batch_of_array_rows_equals_stacking_samples(backend: str) -> None:
    x = np.arange(14, dtype=np.float32).reshape(7, 2)
    fast = [b.numpy() for b in Dataset.from_arrays(ember.asarray(x)).batch(3)]
    slow = [b.numpy() for b in Dataset.from_arrays(ember.asarray(x)).map(lambda v: v).batch(3)]
    for f, s, ref in zip(fast, slow, [x[:3], x[3:6], x[6:]], strict=True):
        np.testing.assert_array_equal(f, ref)
        np.testing.assert_array_equal(s, ref)


def test_variable_lengths_are_an_error_naming_shapes_and_samples(backend: str) -> None:
    seqs = [ember.ones((n, 2)) for n in (3, 3, 5, 2)]
    with pytest.raises(DataError, match=r"batch\(4\): cannot stack samples 0..3 \(epoch 0, "
                                        r"element part 0\): sample 0 has shape \(3, 2\), sample 2 "
                                        r"has shape \(5, 2\), sample 3 has shape \(2, 2\); pass "
                                        r"pad=True"):
        list(from_iterable(seqs).batch(4))


def test_padding_along_the_first_axis(backend: str) -> None:
    seqs = [([1.0] * n, n) for n in (1, 3, 2)]
    data = [(ember.asarray(x), y) for x, y in seqs]
    (x, y), = list(from_iterable(data).batch(3, pad=-1.0))
    assert x.tolist() == [[1.0, -1.0, -1.0], [1.0, 1.0, 1.0], [1.0, 1.0, -1.0]]
    assert y.tolist() == [1, 3, 2]
    (x, y), = list(from_iterable(data).batch(3, pad=(True, False), pad_to=4))
    assert x.shape == (3, 4) and x.tolist()[0] == [1.0, 0.0, 0.0, 0.0]
    with pytest.raises(DataError, match=r"sample 1 .* has length 3 along its first axis, more "
                                        r"than pad_to=2"):
        list(from_iterable(data).batch(3, pad=True, pad_to=2))
    twod = [ember.ones((2, 3)), ember.ones((1, 4))]
    with pytest.raises(DataError, match="the other axes must already be"):
        list(from_iterable(twod).batch(2, pad=True))
    ref = np.zeros((2, 2, 3), np.float32)
    ref[0] = 1
    ref[1, :1] = 1
    (got,) = list(from_iterable([ember.ones((2, 3)), ember.ones((1, 3))]).batch(2, pad=True))
    np.testing.assert_array_equal(got.numpy(), ref)
    with pytest.raises(ember_nn.ConfigError, match="pad_to needs pad"):
        Dataset.from_arrays([1]).batch(1, pad_to=3)
    with pytest.raises(ember_nn.ConfigError, match="must match the samples' structure"):
        list(from_iterable(data).batch(3, pad=(True, False, True)))


def _reference_buffer_shuffle(items: list[int], size: int, rng: random.Random) -> list[int]:
    """The buffer shuffle spelled out: fill the buffer, then swap each new element with a
    random buffer slot, emitting what was there; shuffle what is left at the end."""
    buf, out = [], []
    for v in items:
        if len(buf) < size:
            buf.append(v)
        else:
            j = rng.randrange(size)
            out.append(buf[j])
            buf[j] = v
    rng.shuffle(buf)
    return out + buf


@pytest.mark.parametrize("size", [1, 4, 50])
def test_shuffle_is_a_seeded_buffer_shuffle(size: int) -> None:
    ds = Dataset.from_arrays(list(range(30))).shuffle(size, seed=7)
    for epoch in (0, 3):
        got = ints(ds, epoch)
        ref = _reference_buffer_shuffle(list(range(30)), size,
                                        random.Random(f"ember_nn.data.shuffle:7:{epoch}"))
        assert got == ref and sorted(got) == list(range(30))
        assert all(v <= k + size - 1 for k, v in enumerate(got))  # the buffer bounds the reach
    if size == 1:
        assert ints(ds, 0) == list(range(30))
    else:
        assert ints(ds, 0) != ints(ds, 1)
        assert ints(ds, 0) != ints(Dataset.from_arrays(list(range(30))).shuffle(size, seed=8), 0)


def test_shuffle_order_is_the_same_on_every_backend_and_per_epoch() -> None:
    orders = {}
    for b in BACKENDS:
        with ember.use_backend(b):
            ds = Dataset.from_arrays(ember.arange(40)).shuffle(16, seed=3)
            orders[b] = [ints(ds) for _ in range(3)]  # iter() counts epochs 0, 1, 2
            assert orders[b] == [ints(ds, e) for e in range(3)]
    first = next(iter(orders.values()))
    assert all(o == first for o in orders.values())
    assert first[0] != first[1] != first[2]


def test_cache_replays_the_first_complete_pass(backend: str) -> None:
    calls = []

    def record(v: ember.Tensor) -> ember.Tensor:
        calls.append(int(v))
        return v

    ds = Dataset.from_arrays(list(range(4))).map(record).cache()
    assert ints(ds.take(2)) == [0, 1]  # an early stop caches nothing
    assert ints(ds) == [0, 1, 2, 3] and ints(ds) == [0, 1, 2, 3]
    assert calls == [0, 1, 0, 1, 2, 3] and len(ds) == 4
    assert "cache(4 cached)" in repr(ds)


def test_repeat_take_and_lengths(backend: str) -> None:
    ds = Dataset.from_arrays([1, 2, 3])
    assert ints(ds.repeat(2)) == [1, 2, 3, 1, 2, 3] and len(ds.repeat(2)) == 6
    assert ints(ds.repeat().take(7)) == [1, 2, 3, 1, 2, 3, 1]
    with pytest.raises(TypeError, match="never ends"):
        len(ds.repeat())
    assert ds.repeat().take(5).length == 5 and ds.take(2).length == 2
    assert ints(ds.take(0)) == [] and ints(ds.take(10)) == [1, 2, 3]
    assert ints(from_iterable([]).repeat()) == []  # an empty pass ends an endless repeat
    shuffled = Dataset.from_arrays(list(range(6))).shuffle(6, seed=0).repeat(2)
    passes = ints(shuffled, 0)
    assert passes[:6] == ints(Dataset.from_arrays(list(range(6))).shuffle(6, seed=0), 0)
    assert passes[6:] == ints(Dataset.from_arrays(list(range(6))).shuffle(6, seed=0), 1)
    with pytest.raises(ember_nn.ConfigError, match=r"count must be an int >= 1, got 0"):
        ds.repeat(0)


@pytest.mark.parametrize("n", [0, 1, 7, 12])
def test_shards_partition_the_samples(n: int) -> None:
    ds = Dataset.from_arrays(ember.arange(n)) if n else from_iterable([])
    shards = [ints(ds.shard(3, k)) for k in range(3)]
    assert sorted(v for s in shards for v in s) == list(range(n))
    for k, s in enumerate(shards):
        assert s == list(range(k, n, 3))
        if n:
            assert len(ds.shard(3, k)) == len(s)
    with pytest.raises(ember_nn.ConfigError, match=r"index must be an int in \[0, 3\)"):
        ds.shard(3, 3)


def test_repr_names_the_stages() -> None:
    ds = Dataset.from_arrays([1.0]).map(abs, name="abs").shuffle(8, seed=1).batch(4).prefetch(2)
    assert repr(ds) == ("Dataset(from_arrays(1 array) -> map(abs) -> shuffle(8, seed=1) -> "
                        "batch(4) -> prefetch(2))")
    assert ds.batched is True and Dataset.from_arrays([1]).batched is False
    assert from_iterable([1]).batched is None
