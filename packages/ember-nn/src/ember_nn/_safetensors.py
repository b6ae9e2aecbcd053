"""safetensors files in pure Python: no pickle, no NumPy, the same bytes as the reference.

The format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
length N, N bytes of JSON ``{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]},
..., "__metadata__": {str: str}}`` padded with spaces to a multiple of 8, then the tensors'
bytes (C order, little-endian), contiguous, offsets relative to the end of the header. Tensors
are laid out as the reference writer does (widest dtype first, then by name), so every tensor
starts aligned to its element size and files match the reference byte for byte.

Loading validates everything before making a tensor: the header length against the file size,
the JSON, each dtype code, that ``data_offsets`` span exactly ``prod(shape) * itemsize`` bytes
and that the tensors tile the data without holes or overlaps up to the end of the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import ember

from ._errors import CheckpointError

__all__ = ["load_file", "read_metadata", "save_file"]

#: safetensors dtype codes ember has, in the reference writer's dtype order (it writes the
#: last ones first)
CODES: dict[str, ember.DType] = {
    "BOOL": ember.bool, "U8": ember.uint8, "I8": ember.int8, "I16": ember.int16,
    "U16": ember.uint16, "F16": ember.float16, "BF16": ember.bfloat16, "I32": ember.int32,
    "U32": ember.uint32, "F32": ember.float32, "C64": ember.complex64, "F64": ember.float64,
    "I64": ember.int64, "U64": ember.uint64,
}
_CODE_OF = {d: c for c, d in CODES.items()}
_RANK = {c: i for i, c in enumerate(CODES)}
#: codes of the format that ember has no dtype for
FOREIGN = ("F4", "F6_E2M3", "F6_E3M2", "F8_E5M2", "F8_E4M3", "F8_E8M0")
MAX_HEADER = 100_000_000  # the reference reader's limit
_METADATA = "__metadata__"
_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}


@dataclass(frozen=True)
class _Entry:
    name: str
    dtype: ember.DType
    shape: tuple[int, ...]
    begin: int
    end: int


# -- writing ---------------------------------------------------------------------------------
def save_file(tensors: Mapping[str, ember.Tensor], path: str | os.PathLike[str],
              metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``tensors`` to a safetensors file at ``path``, atomically (a temporary file in
    the same directory, flushed and fsynced, then renamed over ``path``).

    Arguments:
        tensors: names to tensors of any ember dtype but complex128 (the format has no code
            for it); tensors on any backend or device.
        metadata: optional string-to-string pairs stored under ``"__metadata__"``.

    Returns the path written.

    >>> p = ember_nn.save_file({"w": ember.ones((2, 2))}, "w.safetensors")
    >>> ember_nn.load_file(p)["w"].tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    target = Path(path)
    write_file(tensors, target, metadata)
    return target


def write_file(tensors: Mapping[str, ember.Tensor], path: Path,
               metadata: Mapping[str, str] | None = None) -> str:
    """``save_file`` returning the sha256 (hex) of the bytes written."""
    header, entries = _header(tensors, metadata)
    return atomic_write(path, lambda f: _write_body(f, header, entries, tensors, path))


def _header(tensors: Mapping[str, ember.Tensor],
            metadata: Mapping[str, str] | None) -> tuple[bytes, list[_Entry]]:
    if not isinstance(tensors, Mapping):
        raise ember.ArgumentError(
            f"save_file: tensors must be a dict of names to tensors, got {type(tensors).__name__}")
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise ember.ArgumentError(f"save_file: tensor names must be str, got {name!r}")
        if name == _METADATA:
            raise ember.ArgumentError(f"save_file: {_METADATA!r} is reserved; pass metadata=")
        if not isinstance(t, ember.Tensor):
            raise ember.ArgumentError(
                f"save_file: {name!r} is a {type(t).__name__}, not an ember.Tensor; convert it "
                f"with ember.asarray first")
        if t.dtype not in _CODE_OF:
            raise ember.DTypeError(
                f"save_file: {name!r} is {t.dtype}, which safetensors cannot store (no code "
                f"for it); cast it (e.g. to complex64) or store its real and imaginary parts")
    if metadata is not None and (not isinstance(metadata, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise ember.ArgumentError(
            f"save_file: metadata must map str to str, got {metadata!r:.100}; convert values "
            f"with str() or json.dumps()")
    order = sorted(tensors, key=lambda n: (-_RANK[_CODE_OF[tensors[n].dtype]], n))
    entries, offset, body = [], 0, {}
    for name in order:
        t = tensors[name]
        size = math.prod(t.shape) * t.dtype.itemsize
        entries.append(_Entry(name, t.dtype, t.shape, offset, offset + size))
        body[name] = {"dtype": _CODE_OF[t.dtype], "shape": list(t.shape),
                      "data_offsets": [offset, offset + size]}
        offset += size
    head = {_METADATA: dict(metadata)} if metadata else {}
    raw = json.dumps({**head, **body}, separators=(",", ":"), ensure_ascii=False).encode()
    raw += b" " * (-len(raw) % 8)
    return raw, entries


def _write_body(f: Any, header: bytes, entries: list[_Entry],
                tensors: Mapping[str, ember.Tensor], path: Path) -> None:
    f.write(len(header).to_bytes(8, "little"))
    f.write(header)
    for e in entries:
        data = tensors[e.name].tobytes()
        if len(data) != e.end - e.begin:  # a backend hook that broke its contract
            raise CheckpointError(
                f"{path}: tensor {e.name!r} ({e.dtype}, shape {e.shape}) gave {len(data)} "
                f"bytes, expected {e.end - e.begin}; this is a bug in the tensor's backend")
        f.write(data)


class _Hashing:
    """A binary file wrapper that hashes what is written through it."""

    def __init__(self, f: BinaryIO) -> None:
        self.f, self.sha = f, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        return self.f.write(data)


def default_mode(directory: bool = False) -> int:
    """The mode ``open()``/``mkdir()`` would give under the current umask (mkstemp and mkdtemp
    make owner-only files, which a checkpoint should not be)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def atomic_write(path: Path, body: Any) -> str:
    """Write ``path`` through ``body(file)`` atomically; returns the sha256 of the bytes."""
    parent = path.parent
    if not parent.is_dir():
        raise CheckpointError(f"{path}: the directory {str(parent)!r} does not exist; create it")
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            h = _Hashing(f)
            body(h)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(parent)
    return h.sha.hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- reading ---------------------------------------------------------------------------------
def load_file(path: str | os.PathLike[str], *, backend: str | None = None,
              device: str | None = None) -> dict[str, ember.Tensor]:
    """The tensors of a safetensors file, by name in file order, on ``backend`` (default: the
    current one) and ``device``. Everything is validated first; any problem with the file is a
    ``CheckpointError`` that names it.

    >>> p = ember_nn.save_file({"b": ember.arange(3)}, "b.safetensors")
    >>> ember_nn.load_file(p, backend="numpy")["b"].tolist()
    [0, 1, 2]
    """
    p = Path(path)
    with _open(p) as f:
        _, entries, start = _read_header(f, p)
        out = {}
        for e in entries:
            f.seek(start + e.begin)
            data = f.read(e.end - e.begin)
            if len(data) != e.end - e.begin:
                raise CheckpointError(f"{p}: truncated while reading {e.name!r}: the file "
                                      f"shrank as it was read; read it again")
            out[e.name] = _tensor(data, e, p, backend, device)
    return out


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``"__metadata__"`` pairs of a safetensors file ({} if none); reads the header only
    (which is validated as ``load_file`` does).

    >>> p = ember_nn.save_file({}, "m.safetensors", metadata={"step": "10"})
    >>> ember_nn.read_metadata(p)
    {'step': '10'}
    """
    p = Path(path)
    with _open(p) as f:
        return _read_header(f, p)[0]


def read_entries(path: Path) -> dict[str, tuple[ember.DType, tuple[int, ...]]]:
    """Each tensor's dtype and shape, from the (validated) header alone."""
    with _open(path) as f:
        return {e.name: (e.dtype, e.shape) for e in _read_header(f, path)[1]}


def _tensor(data: bytes, e: _Entry, path: Path, backend: str | None,
            device: str | None) -> ember.Tensor:
    try:
        return ember.frombuffer(data, e.dtype, e.shape, backend=backend, device=device)
    except ember.UnsupportedError as exc:
        raise CheckpointError(
            f"{path}: tensor {e.name!r} is {e.dtype}, which cannot be loaded here ({exc}); "
            f"load on a backend that has it, or cast the tensors before saving") from exc


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise CheckpointError(
            f"{path}: is a directory, not a safetensors file (a checkpoint directory loads "
            f"with ember_nn.load)") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read: {exc}") from exc


def _read_header(f: BinaryIO, path: Path) -> tuple[dict[str, str], list[_Entry], int]:
    """(metadata, entries in offset order, where the data starts), or a CheckpointError."""
    size = os.fstat(f.fileno()).st_size

    def bad(problem: str) -> CheckpointError:
        return CheckpointError(f"{path}: {problem}")

    if size < 8:
        raise bad(f"truncated: {size} bytes, but a safetensors file starts with an 8-byte "
                  f"header length; the file is incomplete or not a safetensors file")
    n = int.from_bytes(f.read(8), "little")
    if n > MAX_HEADER:
        raise bad(f"header length {n} is over the {MAX_HEADER}-byte limit: not a safetensors "
                  f"file, or its first 8 bytes are corrupted")
    if 8 + n > size:
        raise bad(f"truncated: header says it is {n} bytes, file has {size - 8} after the "
                  f"header length; the file is incomplete (an interrupted copy or download?)")
    raw = f.read(n)
    try:
        text = raw.decode("utf-8")
        if not text.startswith("{"):
            raise ValueError("it does not start with '{'")
        doc = json.loads(text, object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(f"the header is not valid safetensors JSON ({exc}): corrupted or not a "
                  f"safetensors file") from None
    if not isinstance(doc, dict):
        raise bad(f"the header is JSON {type(doc).__name__}, not an object: corrupted")
    metadata = doc.pop(_METADATA, {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise bad(f"{_METADATA} must map strings to strings, got {metadata!r:.100}")
    entries = sorted((_entry(name, info, bad) for name, info in doc.items()),
                     key=lambda e: (e.begin, e.end))
    end = 0
    for e in entries:
        if e.begin != end:
            what = "a gap" if e.begin > end else "an overlap"
            raise bad(f"tensor {e.name!r} starts at byte {e.begin} of the data, but the "
                      f"previous tensor ends at {end} ({what}): corrupted header")
        end = e.end
    have = size - 8 - n
    if end > have:
        raise bad(f"truncated: header says {end} bytes of data, file has {have}; the file is "
                  f"incomplete (an interrupted copy or download?): copy or save it again")
    if end < have:
        raise bad(f"{have - end} bytes after the last tensor's data (header says {end} bytes "
                  f"of data, file has {have}): corrupted, or another file was appended")
    return metadata, entries, 8 + n


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"the key {k!r} appears twice")
        out[k] = v
    return out


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _entry(name: str, info: Any, bad: Any) -> _Entry:
    if not isinstance(info, dict) or set(info) != _ENTRY_KEYS:
        got = sorted(info) if isinstance(info, dict) else type(info).__name__
        raise bad(f"tensor {name!r}: expected the keys {sorted(_ENTRY_KEYS)}, got {got}")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if code not in CODES:
        if code in FOREIGN:
            raise bad(f"tensor {name!r} has dtype {code}, which ember has no dtype for; "
                      f"convert the file's tensors to F16/BF16/F32 first")
        raise bad(f"tensor {name!r} has unknown dtype {code!r} (known: {', '.join(CODES)})")
    if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
        raise bad(f"tensor {name!r}: shape must be a list of non-negative ints, got {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_is_int, offsets))
            or not 0 <= offsets[0] <= offsets[1]):
        raise bad(f"tensor {name!r}: data_offsets must be [begin, end] with 0 <= begin <= "
                  f"end, got {offsets!r}")
    d = CODES[code]
    need = math.prod(shape) * d.itemsize
    if offsets[1] - offsets[0] != need:
        raise bad(f"tensor {name!r}: dtype {code} shape {shape} needs {need} bytes, but "
                  f"data_offsets {offsets} span {offsets[1] - offsets[0]}: corrupted header")
    return _Entry(name, d, tuple(shape), offsets[0], offsets[1])


def iter_chunks(f: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    """The rest of ``f`` in chunks of ``size`` bytes."""
    while chunk := f.read(size):
        yield chunk


def sha256_of(path: Path) -> str:
    """The sha256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with _open(path) as f:
        for chunk in iter_chunks(f):
            h.update(chunk)
    return h.hexdigest()
