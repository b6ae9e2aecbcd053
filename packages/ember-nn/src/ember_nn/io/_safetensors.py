"""safetensors files in pure Python: no pickle, no NumPy, the same bytes as the reference.

The format and the checks made on every file read are in ``_safetensors_format``.

Writing streams each tensor's bytes to the file (no copy where the tensor's memory already is
in the file's layout: see ``_raw``) while a second thread computes the file's sha256, which
checkpoints record. Reading maps the file, validates the header, and has the backend copy each
tensor out of the mapping (``ember.frombuffer``) while a second thread hashes the same bytes.

The ``safetensors`` library is not used: its writer moves bytes no faster than
``file.write``, cannot hash what it writes and needs a raw pointer per tensor (its Python
helpers import NumPy or torch); with the sha256 and fsync a checkpoint needs, writing through
it is no faster than this module (``benchmarks/checkpoint.py``, docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import ember

from .._core._errors import CheckpointError
from ._safetensors_format import CODES, FOREIGN, MAX_HEADER, Entry, _header, _open, _read_header

__all__ = ["CODES", "FOREIGN", "MAX_HEADER", "Entry", "load_file", "read_metadata", "save_file"]

_LITTLE = sys.byteorder == "little"
_THREADED = 8 << 20  # hash in a second thread from this many bytes of data on
_CHUNK = 64 << 20


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
    """``t``'s bytes in the file's layout, without a copy where its memory already is that
    (a C-contiguous little-endian buffer of the right size: the native array's own, as NumPy
    and MLX arrays export, or ``t.numpy()``'s, which shares a torch CPU tensor's memory);
    ``t.tobytes()`` otherwise."""
    need = e.end - e.begin
    if _LITTLE:
        view = _buffer(lambda: t.native, e, need)
        if view is None and e.dtype is not ember.bfloat16:  # NumPy has no bfloat16
            view = _buffer(t.numpy, e, need)
        if view is not None:
            return view
    data = t.tobytes()
    if len(data) != need:  # a backend hook that broke its contract
        raise CheckpointError(
            f"{path}: tensor {e.name!r} ({e.dtype}, shape {e.shape}) gave {len(data)} bytes, "
            f"expected {need}; this is a bug in the tensor's backend")
    return data


def _buffer(get: Any, e: Entry, need: int) -> memoryview | None:
    try:
        view = memoryview(get())
    except Exception:  # not a buffer (a GPU array, torch), or no NumPy: tobytes instead
        return None
    if (view.c_contiguous and view.nbytes == need and view.itemsize == e.dtype.itemsize
            and view.format[:1] not in (">", "!")):
        return view
    return None


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
