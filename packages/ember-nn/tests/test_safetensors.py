"""safetensors files: every dtype round trips on every backend, files match the reference
library byte for byte and load with it (and its files with ours), damaged files are refused."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import ember
import numpy as np
import pytest
from ember.testing import loadable_backends
from ember_nn import CheckpointError
from ember_nn.io import _safetensors as st
from ember_nn.io import load_file, read_metadata, save_file

NUMPY_DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                "float16", "float32", "float64", "complex64"]
# float32 values exact in bfloat16, and their bfloat16 bit patterns
BF16_VALUES = np.array([[0.0, -0.0, 1.5], [-2.0, 2.0**-133, np.inf]], dtype=np.float32)
BF16_BITS = (BF16_VALUES.view(np.uint32) >> 16).astype("<u2")


def _reference(name: str) -> np.ndarray:
    d = np.dtype(name)
    if d.kind == "b":
        return np.array([[True, False, True], [False, False, True]])
    if d.kind in "iu":
        info = np.iinfo(d)
        return np.array([[info.min, info.max, 0], [1, 7, info.max - 3]], dtype=d)
    if d.kind == "f":
        info = np.finfo(d)
        return np.array([[0.0, -0.0, 1.5], [-info.max, info.smallest_subnormal, np.nan]], dtype=d)
    return np.array([[1 + 2j, -0.0 - 1j, 3.25], [np.inf, -1e-3j, 0]], dtype=d)


def _supported(backend: str) -> set[str]:
    b = ember.load_backend(backend)
    allowed = b.capabilities.dtypes.get(b.devices.default().split(":")[0])
    return {d.name for d in b.to_native_dtype if allowed is None or d in allowed}


def _all_tensors(backend: str) -> dict[str, ember.Tensor]:
    have = _supported(backend)
    out = {f"t_{n}": ember.asarray(_reference(n)) for n in NUMPY_DTYPES if n in have}
    if "bfloat16" in have:
        out["t_bfloat16"] = ember.frombuffer(BF16_BITS.tobytes(), ember.bfloat16, (2, 3))
    out["scalar"] = ember.tensor(2.5)
    out["empty"] = ember.zeros((0, 4), dtype=ember.float64)
    out["layer.0.weight"] = ember.matrix_transpose(ember.reshape(ember.arange(6), (2, 3)))
    return out


def _raw_file(path: Path, header: object, data: bytes, *, length: int | None = None) -> Path:
    """A file with this header (JSON of it, or the bytes as given) and data; a new name each
    time (``x.st``, ``x.1.st``, ...)."""
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    n = 0
    while path.exists():
        n += 1
        path = path.with_name(f"{path.name.split('.')[0]}.{n}.st")
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return path


# -- round trips -------------------------------------------------------------------------------
def test_every_dtype_round_trips_exactly(backend: str, tmp_path: Path) -> None:
    tensors = _all_tensors(backend)
    p = save_file(tensors, tmp_path / "all.safetensors", metadata={"step": "3", "é": "ü"})
    assert p == tmp_path / "all.safetensors"
    loaded = load_file(p)
    assert set(loaded) == set(tensors)
    for k, t in tensors.items():
        got = loaded[k]
        assert (got.dtype, got.shape, got.backend) == (t.dtype, t.shape, backend), k
        assert got.tobytes() == t.tobytes(), k
    assert read_metadata(p) == {"step": "3", "é": "ü"}
    assert [x.name for x in p.parent.iterdir()] == ["all.safetensors"]  # no temporary left


def test_the_zero_copy_writer_gives_exactly_tobytes(backend: str, tmp_path: Path) -> None:
    """The writer uses a tensor's own memory where it can (NumPy and MLX buffers, a torch CPU
    tensor's .numpy()); for every dtype, and transposed or broadcast tensors, the bytes are
    Tensor.tobytes()'s."""
    tensors = _all_tensors(backend)
    tensors["broadcast"] = ember.broadcast_to(ember.arange(3, dtype=ember.int16), (2, 3))
    tensors["scalar_i8"] = ember.tensor(-3, dtype=ember.int8)
    _, entries = st._header(tensors, None)
    for e in entries:
        assert bytes(st._raw(tensors[e.name], e, tmp_path)) == tensors[e.name].tobytes(), e.name


def test_load_on_another_backend_and_device(backend: str, tmp_path: Path) -> None:
    ref = _reference("float32")
    p = save_file({"w": ember.asarray(ref)}, tmp_path / "w.safetensors")
    for name in loadable_backends():
        w = load_file(p, backend=name, device="cpu")["w"]
        assert w.backend == name and w.device == "cpu"
        np.testing.assert_array_equal(np.asarray(w), ref)


def test_bfloat16_is_refused_clearly_where_the_backend_lacks_it(tmp_path: Path) -> None:
    p = _raw_file(tmp_path / "b.safetensors",
                  {"x": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]}},
                  BF16_BITS.tobytes())
    for name in loadable_backends():
        if "bfloat16" in _supported(name):
            x = load_file(p, backend=name)["x"]
            np.testing.assert_array_equal(ember.astype(x, ember.float32).numpy(), BF16_VALUES)
        else:
            with pytest.raises(CheckpointError, match=r"'x' is ember.bfloat16, which cannot be "
                                                      r"loaded here"):
                load_file(p, backend=name)


# -- the reference library ---------------------------------------------------------------------
def _numpy_tensors() -> dict[str, np.ndarray]:
    out = {f"t_{n}": _reference(n) for n in NUMPY_DTYPES}
    out.update(scalar=np.array(2.5, dtype=np.float32), empty=np.zeros((0, 4)), é=np.arange(3))
    return out


def test_files_match_the_reference_writer_byte_for_byte(tmp_path: Path) -> None:
    sn = pytest.importorskip("safetensors.numpy")
    arrays = _numpy_tensors()
    with ember.use_backend("numpy"):
        for meta in (None, {"format": "np"}):  # one key: the reference orders keys at random
            ours = save_file({k: ember.asarray(v) for k, v in arrays.items()},
                             tmp_path / "ours.safetensors", metadata=meta)
            sn.save_file(arrays, str(tmp_path / "ref.safetensors"), metadata=meta)
            assert ours.read_bytes() == (tmp_path / "ref.safetensors").read_bytes()


def test_our_files_load_with_the_reference_reader(backend: str, tmp_path: Path) -> None:
    sn = pytest.importorskip("safetensors.numpy")
    tensors = {k: v for k, v in _all_tensors(backend).items() if k != "t_bfloat16"}
    p = save_file(tensors, tmp_path / "x.safetensors")
    theirs = sn.load_file(str(p))
    assert set(theirs) == set(tensors)
    for k, t in tensors.items():
        assert theirs[k].dtype.name == t.dtype.name and theirs[k].tobytes() == t.tobytes(), k


def test_bfloat16_files_interoperate_with_the_torch_reader(tmp_path: Path) -> None:
    pytest.importorskip("safetensors")
    torch = pytest.importorskip("torch")
    if "torch" not in loadable_backends():  # torch alone (a numpy or mlx nox session)
        pytest.skip("the torch backend (ember-torch) is not installed")
    from safetensors.torch import load_file as torch_load
    from safetensors.torch import save_file as torch_save

    x = ember.frombuffer(BF16_BITS.tobytes(), ember.bfloat16, (2, 3), backend="torch")
    p = save_file({"x": x}, tmp_path / "ours.safetensors")
    got = torch_load(str(p))["x"]
    assert got.dtype == torch.bfloat16 and torch.equal(got, x.native)
    torch_save({"y": x.native}, str(tmp_path / "theirs.safetensors"))
    assert load_file(tmp_path / "theirs.safetensors", backend="torch")["y"].tobytes() == \
        BF16_BITS.tobytes()


def test_reference_files_load_with_ours(backend: str, tmp_path: Path) -> None:
    sn = pytest.importorskip("safetensors.numpy")
    have = _supported(backend)
    arrays = {k: v for k, v in _numpy_tensors().items() if v.dtype.name in have}
    sn.save_file(arrays, str(tmp_path / "ref.safetensors"), metadata={"who": "reference"})
    ours = load_file(tmp_path / "ref.safetensors")
    assert set(ours) == set(arrays)
    for k, a in arrays.items():
        assert ours[k].backend == backend and ours[k].dtype.name == a.dtype.name, k
        assert ours[k].tobytes() == a.tobytes(), k
    assert read_metadata(tmp_path / "ref.safetensors") == {"who": "reference"}


# -- damaged files -----------------------------------------------------------------------------
def _good(tmp_path: Path) -> Path:
    with ember.use_backend("numpy"):
        return save_file({"a": ember.ones((4, 4)), "b": ember.arange(4)}, tmp_path / "g.st")


def test_truncated_files_name_what_is_missing(tmp_path: Path) -> None:
    good = _good(tmp_path).read_bytes()
    n = struct.unpack("<Q", good[:8])[0]
    bad = tmp_path / "bad.st"
    bad.write_bytes(good[:-10])
    with pytest.raises(CheckpointError, match=r"bad.st: truncated: header says 96 bytes of "
                                              r"data, file has 86"):
        load_file(bad)
    bad.write_bytes(good[: 8 + n // 2])
    with pytest.raises(CheckpointError, match=rf"truncated: header says it is {n} bytes"):
        read_metadata(bad)
    bad.write_bytes(good[:5])
    with pytest.raises(CheckpointError, match="truncated: 5 bytes"):
        load_file(bad)
    bad.write_bytes(good + b"\0" * 8)
    with pytest.raises(CheckpointError, match="8 bytes after the last tensor's data"):
        load_file(bad)


def test_garbage_and_invalid_headers_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "x.st"
    entry = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    cases = [
        (_raw_file(p, b"\xff\xfe garbage", b""), "not valid safetensors JSON"),
        (_raw_file(p, b'{"a": ', b""), "not valid safetensors JSON"),
        (_raw_file(p, b" {}", b""), "does not start with"),
        (_raw_file(p, [1, 2], b""), "not valid safetensors JSON"),
        (_raw_file(p, b"{}", b"", length=2**40), "over the 100000000-byte limit"),
        (_raw_file(p, b'{"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}, '
                      b'"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}', b""),
         "the key 'a' appears twice"),
        (_raw_file(p, {"a": {**entry, "dtype": "F8_E4M3"}}, bytes(8)),
         "'a' has dtype F8_E4M3, which ember has no dtype for"),
        (_raw_file(p, {"a": {**entry, "dtype": "Q7"}}, bytes(8)), "'a' has unknown dtype 'Q7'"),
        (_raw_file(p, {"a": {**entry, "shape": [3]}}, bytes(8)),
         r"dtype F32 shape \[3\] needs 12 bytes, but data_offsets \[0, 8\] span 8"),
        (_raw_file(p, {"a": {**entry, "shape": [-2]}}, bytes(8)), "non-negative ints"),
        (_raw_file(p, {"a": {**entry, "data_offsets": [8, 0]}}, bytes(8)), "0 <= begin <= end"),
        (_raw_file(p, {"a": {"dtype": "F32", "shape": [2]}}, bytes(8)), "expected the keys"),
        (_raw_file(p, {"a": entry, "b": {**entry, "data_offsets": [4, 12]}}, bytes(12)),
         "'b' starts at byte 4 of the data, but the previous tensor ends at 8 \\(an overlap"),
        (_raw_file(p, {"a": {**entry, "data_offsets": [4, 12]}}, bytes(12)), "a gap"),
        (_raw_file(p, {"__metadata__": {"k": 1}, "a": entry}, bytes(8)),
         "__metadata__ must map strings to strings"),
    ]
    for path, message in cases:
        with pytest.raises(CheckpointError, match=message) as info:
            load_file(path)
        assert str(path) in str(info.value)


def test_missing_files_and_directories(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such file"):
        load_file(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError, match="is a directory"):
        read_metadata(tmp_path)


def test_save_refuses_what_it_cannot_store(tmp_path: Path) -> None:
    p = tmp_path / "x.st"
    with ember.use_backend("numpy"):
        with pytest.raises(ember.DTypeError, match=r"'z' is ember.complex128, which safetensors"):
            save_file({"z": ember.zeros((2,), dtype=ember.complex128)}, p)
        with pytest.raises(ember.ArgumentError, match=r"'w' is a list, not an ember.Tensor"):
            save_file({"w": [1.0, 2.0]}, p)  # type: ignore[dict-item]
        with pytest.raises(ember.ArgumentError, match="metadata must map str to str"):
            save_file({"w": ember.ones((1,))}, p, metadata={"step": 3})  # type: ignore[dict-item]
        with pytest.raises(ember.ArgumentError, match="'__metadata__' is reserved"):
            save_file({"__metadata__": ember.ones((1,))}, p)
        with pytest.raises(CheckpointError, match="does not exist; create it"):
            save_file({"w": ember.ones((1,))}, tmp_path / "no" / "x.st")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    p = _good(tmp_path)
    before = p.read_bytes()

    def broken(f: object, *args: object) -> None:
        f.write(b"half a file")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(st, "write_stream", broken)
    with ember.use_backend("numpy"), pytest.raises(OSError, match="disk full"):
        save_file({"a": ember.zeros((4, 4))}, p)
    assert p.read_bytes() == before
    assert [x.name for x in tmp_path.iterdir()] == ["g.st"]
