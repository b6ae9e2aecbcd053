"""safetensors files in pure Python: no pickle, no NumPy, the same bytes as the reference.

The format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
length N, N bytes of JSON ``{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]},
..., "__metadata__": {str: str}}`` padded with spaces to a multiple of 8, then the tensors'
bytes (C order, little-endian), contiguous, offsets relative to the end of the header. Tensors
are laid out as the reference writer does (widest dtype first, then by name), so every tensor
starts aligned to its element size and files match the reference byte for byte.

Writing streams each tensor's bytes to the file (no copy where the tensor's native array
exports a C-contiguous little-endian buffer, as NumPy's and MLX's do; ``Tensor.tobytes``
otherwise) while a second thread computes the file's sha256, which checkpoints record.
Reading maps the file and validates everything before making a tensor: the header length
against the file size, the JSON (size, nesting, duplicate keys), each dtype code and shape,
that ``data_offsets`` span exactly ``prod(shape) * itemsize`` bytes and that the tensors tile
the data without holes or overlaps up to the end of the file. The tensors are copied from the
mapping by the backend (``ember.frombuffer``) while a second thread hashes the same bytes.

The ``safetensors`` library is not used: its writer moves bytes at the same speed as
``file.write`` (measured in ``benchmarks/checkpoint.py``), has no way to hash what it writes,
and reaching it needs a raw pointer per tensor (its Python helpers import NumPy or torch).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import mmap
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import ember

from . import _bounded_json
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
MAX_RANK = 64  # NumPy's; no backend has more
MAX_ELEMENTS = 2**62  # the product of the non-zero dimensions (a size no array can have)
_METADATA = "__metadata__"
_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}
_LITTLE = sys.byteorder == "little"
_THREADED = 8 << 20  # hash in a second thread from this many bytes of data on
_CHUNK = 64 << 20


@dataclass(frozen=True)
class Entry:
    """One tensor of a file's header."""

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
    header = _header(tensors, metadata)
    atomic_write(target, lambda f: write_stream(f, tensors, header, target))
    return target


def write_stream(f: BinaryIO, tensors: Mapping[str, ember.Tensor],
                 header: tuple[bytes, list[Entry]], path: Path) -> str:
    """Write a safetensors file's bytes to ``f`` (``header`` from :func:`_header`); returns
    their sha256 (hex), computed in a second thread for large files."""
    raw, entries = header
    sha = hashlib.sha256()
    start = len(raw).to_bytes(8, "little") + raw
    sha.update(start)
    f.write(start)
    total = entries[-1].end if entries else 0
    pool = ThreadPoolExecutor(1, "ember-sha256") if total >= _THREADED else None
    pending: Future[None] | None = None
    try:
        for e in entries:
            data = _raw(tensors[e.name], e, path)
            if pool is None:
                sha.update(data)
            else:  # one hash in flight: at most two tensors' bytes are held at a time
                if pending is not None:
                    pending.result()
                pending = pool.submit(sha.update, data)
            f.write(data)
        if pending is not None:
            pending.result()
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return sha.hexdigest()


def _raw(t: ember.Tensor, e: Entry, path: Path) -> Any:
    """``t``'s bytes in the file's layout: its native array's own buffer where that is
    C-contiguous little-endian memory of the right size (no copy), else ``t.tobytes()``."""
    need = e.end - e.begin
    if _LITTLE:
        try:
            view = memoryview(t.native)
        except Exception:  # not a buffer (torch, GPU arrays): tobytes below
            view = None
        if (view is not None and view.c_contiguous and view.nbytes == need
                and view.itemsize == e.dtype.itemsize and view.format[:1] not in (">", "!")):
            return view
    data = t.tobytes()
    if len(data) != need:  # a backend hook that broke its contract
        raise CheckpointError(
            f"{path}: tensor {e.name!r} ({e.dtype}, shape {e.shape}) gave {len(data)} bytes, "
            f"expected {need}; this is a bug in the tensor's backend")
    return data


def _header(tensors: Mapping[str, ember.Tensor],
            metadata: Mapping[str, str] | None) -> tuple[bytes, list[Entry]]:
    """The padded header JSON and the entries in file order; checks every argument first."""
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
        entries.append(Entry(name, t.dtype, t.shape, offset, offset + size))
        body[name] = {"dtype": _CODE_OF[t.dtype], "shape": list(t.shape),
                      "data_offsets": [offset, offset + size]}
        offset += size
    head = {_METADATA: dict(metadata)} if metadata else {}
    raw = json.dumps({**head, **body}, separators=(",", ":"), ensure_ascii=False).encode()
    raw += b" " * (-len(raw) % 8)
    return raw, entries


def default_mode(directory: bool = False) -> int:
    """The mode ``open()``/``mkdir()`` would give under the current umask (mkstemp and mkdtemp
    make owner-only files, which a checkpoint should not be)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def atomic_write(path: Path, body: Any) -> Any:
    """Write ``path`` through ``body(file)`` atomically; returns what ``body`` returns."""
    parent = path.parent
    if not parent.is_dir():
        raise CheckpointError(f"{path}: the directory {str(parent)!r} does not exist; create it")
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            result = body(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(parent)
    return result


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
class Reader:
    """An open safetensors file whose header has been validated (a context manager).

    Attributes:
        metadata: the ``__metadata__`` pairs.
        entries: the tensors in file order.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f = _open(path)
        try:
            self.size = os.fstat(self._f.fileno()).st_size
            self.metadata, self.entries, self._start = _read_header(self._f, path, self.size)
        except BaseException:
            self._f.close()
            raise

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._f.close()

    def tensors(self, backend: str | None = None, device: str | None = None, *,
                sha256: bool = False) -> tuple[dict[str, ember.Tensor], str | None]:
        """Every tensor (by name, in file order) and, with ``sha256``, the file's sha256 (hex),
        hashed in a second thread while the backend copies the tensors out of the mapping."""
        mm = mmap.mmap(self._f.fileno(), 0, access=mmap.ACCESS_READ)
        view = memoryview(mm)
        try:
            return self._tensors(view, backend, device, sha256)
        finally:
            try:
                view.release()
                mm.close()
            except BufferError:  # a backend kept a view of the bytes: the mapping stays
                pass

    def _tensors(self, view: memoryview, backend: str | None, device: str | None,
                 sha256: bool) -> tuple[dict[str, ember.Tensor], str | None]:
        if len(view) != self.size:
            raise CheckpointError(f"{self.path}: the file changed size while it was read "
                                  f"({self.size} bytes, then {len(view)}); read it again")
        sha = hashlib.sha256() if sha256 else None
        pool = (ThreadPoolExecutor(1, "ember-sha256")
                if sha is not None and self.size >= _THREADED else None)
        pending = pool.submit(_hash, sha, view) if pool is not None and sha is not None else None
        try:
            out = {}
            for e in self.entries:
                part = view[self._start + e.begin:self._start + e.end]
                try:
                    out[e.name] = _tensor(part, e, self.path, backend, device)
                finally:
                    part.release()
            if sha is not None and pending is None:
                _hash(sha, view)
        finally:
            if pending is not None:
                pending.result()
            if pool is not None:
                pool.shutdown(wait=True)
        return out, sha.hexdigest() if sha is not None else None


def _hash(sha: Any, view: memoryview) -> None:
    for i in range(0, len(view), _CHUNK):
        with view[i:i + _CHUNK] as part:
            sha.update(part)


def load_file(path: str | os.PathLike[str], *, backend: str | None = None,
              device: str | None = None) -> dict[str, ember.Tensor]:
    """The tensors of a safetensors file, by name in file order, on ``backend`` (default: the
    current one) and ``device``. Everything is validated first; any problem with the file is a
    ``CheckpointError`` that names it.

    >>> p = ember_nn.save_file({"b": ember.arange(3)}, "b.safetensors")
    >>> ember_nn.load_file(p, backend="numpy")["b"].tolist()
    [0, 1, 2]
    """
    with Reader(Path(path)) as r:
        return r.tensors(backend, device)[0]


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``"__metadata__"`` pairs of a safetensors file ({} if none); reads the header only
    (which is validated as ``load_file`` does).

    >>> p = ember_nn.save_file({}, "m.safetensors", metadata={"step": "10"})
    >>> ember_nn.read_metadata(p)
    {'step': '10'}
    """
    with Reader(Path(path)) as r:
        return r.metadata


def _tensor(data: memoryview, e: Entry, path: Path, backend: str | None,
            device: str | None) -> ember.Tensor:
    try:
        return ember.frombuffer(data, e.dtype, e.shape, backend=backend, device=device)
    except ember.UnsupportedError as exc:
        raise CheckpointError(
            f"{path}: tensor {e.name!r} is {e.dtype}, which cannot be loaded here ({exc}); "
            f"load on a backend that has it, or cast the tensors before saving") from exc
    except (ember.EmberError, MemoryError, ValueError, OverflowError) as exc:
        raise CheckpointError(f"{path}: tensor {e.name!r} ({e.dtype}, shape {list(e.shape)}) "
                              f"cannot be made here: {type(exc).__name__}: {exc}") from exc


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


def _read_header(f: BinaryIO, path: Path, size: int) -> tuple[dict[str, str], list[Entry], int]:
    """(metadata, entries in offset order, where the data starts), or a CheckpointError."""

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
    if not raw.startswith(b"{"):
        raise bad("the header is not valid safetensors JSON (it does not start with '{'): "
                  "corrupted or not a safetensors file")
    # {name: {"shape": [...]}} is 3 levels deep; nothing in a valid header is deeper
    doc = _bounded_json.loads(raw, str(path), max_bytes=MAX_HEADER, max_depth=3,
                              kind="safetensors JSON")
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


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _entry(name: str, info: Any, bad: Any) -> Entry:
    if not isinstance(info, dict) or set(info) != _ENTRY_KEYS:
        got = sorted(info) if isinstance(info, dict) else type(info).__name__
        raise bad(f"tensor {name!r}: expected the keys {sorted(_ENTRY_KEYS)}, got {got}")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(code, str) or code not in CODES:
        if code in FOREIGN:
            raise bad(f"tensor {name!r} has dtype {code}, which ember has no dtype for; "
                      f"convert the file's tensors to F16/BF16/F32 first")
        raise bad(f"tensor {name!r} has unknown dtype {code!r:.40} (known: {', '.join(CODES)})")
    if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
        raise bad(f"tensor {name!r}: shape must be a list of non-negative ints, got "
                  f"{shape!r:.100}")
    if len(shape) > MAX_RANK or math.prod(s for s in shape if s) > MAX_ELEMENTS:
        raise bad(f"tensor {name!r}: shape {shape!s:.100} is beyond any array (at most "
                  f"{MAX_RANK} dimensions, {MAX_ELEMENTS} elements): corrupted header")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_is_int, offsets))
            or not 0 <= offsets[0] <= offsets[1]):
        raise bad(f"tensor {name!r}: data_offsets must be [begin, end] with 0 <= begin <= "
                  f"end, got {offsets!r:.100}")
    d = CODES[code]
    need = math.prod(shape) * d.itemsize
    if offsets[1] - offsets[0] != need:
        raise bad(f"tensor {name!r}: dtype {code} shape {shape} needs {need} bytes, but "
                  f"data_offsets {offsets} span {offsets[1] - offsets[0]}: corrupted header")
    return Entry(name, d, tuple(shape), offsets[0], offsets[1])


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
