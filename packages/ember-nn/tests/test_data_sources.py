"""ember_nn.data sources: arrays, iterables, files, .npy/.npz (read without NumPy) and CSV,
checked against NumPy on every backend."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn.data import (
    DataError,
    Dataset,
    from_csv,
    from_files,
    from_iterable,
    from_npy,
    from_npz,
)

DOC_MODULES = ["", "._dataset", "._sources", "._stages", "._batch", "._prefetch", "._npy",
               "._csv", "._errors"]


@pytest.mark.parametrize("name", DOC_MODULES)
def test_docstring_examples_run(name: str) -> None:
    import ember_nn.data as data

    module = importlib.import_module("ember_nn.data" + name)
    globs = {"ember": ember, "ember_nn": ember_nn, **{n: getattr(data, n) for n in data.__all__}}
    result = doctest.testmod(module, extraglobs=globs, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_from_arrays_gives_aligned_samples_on_the_current_backend(backend: str) -> None:
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    ds = Dataset.from_arrays(ember.asarray(x), [0, 1, 2, 3, 4, 5])
    samples = list(ds)
    assert len(ds) == 6 and len(samples) == 6
    for i, (xi, yi) in enumerate(samples):
        assert xi.backend == backend and xi.tolist() == x[i].tolist() and int(yi) == i
    single = list(Dataset.from_arrays([[1.0, 2.0], [3.0, 4.0]]))
    assert [s.tolist() for s in single] == [[1.0, 2.0], [3.0, 4.0]]


def test_from_arrays_checks_its_arrays() -> None:
    with pytest.raises(ember.ShapeError, match=r"share their first .* \[\(3,\), \(2,\)\]"):
        Dataset.from_arrays(ember.zeros((3,)), ember.zeros((2,)))
    with pytest.raises(ember.ShapeError, match="from_iterable"):
        Dataset.from_arrays([[1.0], [1.0, 2.0]])
    with pytest.raises(ember_nn.ConfigError, match="at least one array"):
        Dataset.from_arrays()


def test_from_iterable_re_iterates_functions_and_sequences() -> None:
    def gen():
        yield from range(3)

    ds = from_iterable(gen)
    assert list(ds) == [0, 1, 2] and list(ds) == [0, 1, 2]
    seq = from_iterable([5, 6])
    assert list(seq) == [5, 6] and list(seq) == [5, 6] and len(seq) == 2
    with pytest.raises(TypeError, match="not known before iterating"):
        len(ds)


def test_a_one_shot_iterator_is_allowed_once_then_a_clear_error() -> None:
    ds = from_iterable(i for i in range(3))
    assert list(ds) == [0, 1, 2]
    with pytest.raises(DataError, match=r"one-shot iterator .* pass the generator function"):
        list(ds)


def test_from_iterable_errors_name_the_source_and_sample() -> None:
    def broken():
        yield 1
        yield 2
        raise ValueError("disk gone")

    with pytest.raises(DataError, match=r"from_iterable\(.*broken\) failed producing sample 2 "
                                        r"\(epoch 0\): ValueError: disk gone") as info:
        list(from_iterable(broken))
    assert isinstance(info.value.__cause__, ValueError) and info.value.index == 2
    with pytest.raises(ember_nn.ConfigError, match="needs arguments"):
        from_iterable(lambda n: range(n))
    with pytest.raises(ember_nn.ConfigError, match="must be an iterable"):
        from_iterable(3)


def test_from_files_reads_sorted_matching_files(tmp_path: Path) -> None:
    for name in ("c.txt", "a.txt", "b.dat", "sub/d.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(name)
    ds = from_files(tmp_path, "*.txt", read=lambda p: Path(p).read_text())
    assert list(ds) == ["a.txt", "c.txt"] and len(ds) == 2
    assert list(from_files(tmp_path, "**/*.txt", read=lambda p: Path(p).read_text())) == \
        ["a.txt", "c.txt", "sub/d.txt"]
    assert list(from_files(tmp_path, "*.dat")) == [str(tmp_path / "b.dat")]

    def bad(path: str) -> str:
        raise OSError("unreadable")

    with pytest.raises(DataError, match=r"read=.*bad failed on '.*a.txt', sample 0"):
        list(from_files(tmp_path, "*.txt", read=bad))
    with pytest.raises(ember_nn.ConfigError, match="no file under"):
        from_files(tmp_path, "*.wav")
    with pytest.raises(ember_nn.ConfigError, match="not a directory"):
        from_files(tmp_path / "a.txt")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int16", "int32", "int64",
                                   "uint8", "uint16", "uint32", "bool", ">f4", ">i8"])
def test_from_npy_reads_numpys_files(backend: str, dtype: str, tmp_path: Path) -> None:
    if backend == "mlx" and np.dtype(dtype).itemsize == 8 and np.dtype(dtype).kind == "f":
        pytest.skip("MLX has no float64")
    ref = (np.arange(24).reshape(6, 2, 2) % 5).astype(dtype)
    path = tmp_path / "a.npy"
    np.save(path, ref)
    for lazy in (False, True):
        ds = from_npy(path, lazy=lazy)
        assert len(ds) == 6
        rows = list(ds)
        assert all(r.backend == backend for r in rows)
        np.testing.assert_array_equal(np.stack([r.numpy() for r in rows]), ref)
        batches = list(ds.batch(4))
        assert [b.shape for b in batches] == [(4, 2, 2), (2, 2, 2)]
        np.testing.assert_array_equal(np.concatenate([b.numpy() for b in batches]), ref)


def test_from_npy_fortran_order_and_refusals(tmp_path: Path) -> None:
    ref = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    np.save(tmp_path / "f.npy", ref)
    np.testing.assert_array_equal(np.stack([r.numpy() for r in from_npy(tmp_path / "f.npy")]),
                                  ref)
    with pytest.raises(ember_nn.ConfigError, match=r"Fortran order.*lazy=False"):
        from_npy(tmp_path / "f.npy", lazy=True)
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ember_nn.ConfigError, match="pickles, which are never loaded"):
        from_npy(tmp_path / "o.npy")
    (tmp_path / "x.npy").write_bytes(b"not numpy")
    with pytest.raises(ember_nn.ConfigError, match=r"not a NumPy \.npy file"):
        from_npy(tmp_path / "x.npy")
    np.save(tmp_path / "t.npy", np.ones((10, 3), np.float32))
    (tmp_path / "t.npy").write_bytes((tmp_path / "t.npy").read_bytes()[:-8])
    with pytest.raises(ember_nn.ConfigError, match="truncated"):
        from_npy(tmp_path / "t.npy")
    with pytest.raises(ember_nn.ConfigError, match="no such file"):
        from_npy(tmp_path / "missing.npy")


@pytest.mark.parametrize("compressed", [False, True])
def test_from_npz_reads_keys_in_order(backend: str, compressed: bool, tmp_path: Path) -> None:
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    y = np.array([0, 1, 1, 0, 1], dtype=np.int32)
    save = np.savez_compressed if compressed else np.savez
    save(tmp_path / "d.npz", x=x, y=y)
    for lazy in (False, True):
        pairs = list(from_npz(tmp_path / "d.npz", lazy=lazy))
        assert [(a.tolist(), int(b)) for a, b in pairs] == list(zip(x.tolist(), y.tolist(),
                                                                     strict=True))
        swapped = list(from_npz(tmp_path / "d.npz", ["y", "x"], lazy=lazy).batch(2))
        assert [b[0].tolist() for b in swapped] == [[0, 1], [1, 0], [1]]
        only = list(from_npz(tmp_path / "d.npz", "y", lazy=lazy))
        assert [int(v) for v in only] == y.tolist()
    with pytest.raises(ember_nn.ConfigError, match=r"no array named \['z'\]; the file has "
                                                   r"\['x', 'y'\]"):
        from_npz(tmp_path / "d.npz", ["x", "z"])


def test_from_csv_columns_groups_and_dtypes(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b,label,name\n1,2.5,0,x\n3,4,1,y\n\n5,6,1,z\n")
    rows = list(from_csv(path, ["a", "b"]))
    assert [r.tolist() for r in rows] == [[1.0, 2.5], [3.0, 4.0], [5.0, 6.0]]
    assert rows[0].dtype == ember.float32 and rows[0].backend == backend
    pairs = list(from_csv(path, (["a", "b"], "label"), dtype=("float32", "int64")))
    assert [(x.tolist(), int(y)) for x, y in pairs] == [([1.0, 2.5], 0), ([3.0, 4.0], 1),
                                                        ([5.0, 6.0], 1)]
    assert pairs[0][1].dtype == ember.int64
    assert list(from_csv(path, "name", dtype=None)) == ["x", "y", "z"]
    assert next(r.tolist() for r in from_csv(path, [0, 2], header=True)) == [1.0, 0.0]
    batches = list(from_csv(path, (["a", "b"], "label"), dtype=("float32", "int64")).batch(2))
    assert batches[0][0].shape == (2, 2) and batches[1][1].tolist() == [1]
    with pytest.raises(ember_nn.ConfigError, match=r"no column 'c'; the header has \['a', 'b', "
                                                   r"'label', 'name'\]"):
        from_csv(path, ["c"])
    with pytest.raises(DataError, match=r"line 2 \(sample 0, epoch 0\) cannot be read: "
                                        r"ValueError"):
        list(from_csv(path))  # the name column is not a number


def test_from_csv_without_header(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text("1;2\n3;4\n")
    assert [r.tolist() for r in from_csv(path, header=False, delimiter=";", dtype="int32")] == \
        [[1, 2], [3, 4]]
    with pytest.raises(ember_nn.ConfigError, match="header=False"):
        from_csv(path, ["a"], header=False, delimiter=";")
