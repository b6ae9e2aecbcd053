"""NumPy ``.npy``/``.npz`` files read without NumPy: the header parsed here, the bytes made
tensors with ``ember.frombuffer``; ``lazy=True`` reads rows from the file as they are needed."""

from __future__ import annotations

import ast
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ember

from .._core._errors import ConfigError
from ._dataset import Dataset
from ._sources import ArraySource, RowSource

__all__ = ["NpyHeader", "from_npy", "from_npz", "read_header"]

_MAGIC = b"\x93NUMPY"
_KINDS = {("f", 2): "float16", ("f", 4): "float32", ("f", 8): "float64",
          ("i", 1): "int8", ("i", 2): "int16", ("i", 4): "int32", ("i", 8): "int64",
          ("u", 1): "uint8", ("u", 2): "uint16", ("u", 4): "uint32", ("u", 8): "uint64",
          ("b", 1): "bool", ("c", 8): "complex64", ("c", 16): "complex128"}


@dataclass(frozen=True)
class NpyHeader:
    """What a ``.npy`` header says: the ember dtype, shape, C or Fortran order, whether the
    bytes are big-endian, and where the data starts."""

    dtype: ember.DType
    shape: tuple[int, ...]
    fortran_order: bool
    big_endian: bool
    offset: int

    @property
    def row_bytes(self) -> int:
        return math.prod(self.shape[1:]) * self.dtype.itemsize


def read_header(f: IO[bytes], where: str) -> NpyHeader:
    """Parse the header of the ``.npy`` stream ``f`` (left at the start of the data)."""
    magic = f.read(8)
    if len(magic) < 8 or magic[:6] != _MAGIC:
        raise ConfigError(f"{where}: not a NumPy .npy file (it does not start with "
                          f"b'\\x93NUMPY')")
    major = magic[6]
    if major == 1:
        size_bytes = 2
    elif major in (2, 3):
        size_bytes = 4
    else:
        raise ConfigError(f"{where}: .npy format version {major}.{magic[7]} is not supported "
                          f"(1.0, 2.0 and 3.0 are)")
    n = int.from_bytes(f.read(size_bytes), "little")
    text = f.read(n).decode("utf-8" if major == 3 else "latin1")
    try:
        meta = ast.literal_eval(text)  # a dict literal; literal_eval runs no code
        descr, fortran, shape = meta["descr"], meta["fortran_order"], tuple(meta["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError) as e:
        raise ConfigError(f"{where}: unreadable .npy header {text.strip()!r} ({e})") from None
    if not isinstance(descr, str) or len(descr) < 2:
        raise ConfigError(f"{where}: the array has the structured dtype {descr!r}; only plain "
                          f"numeric arrays can be read (save the fields as separate arrays)")
    order, kind, size = descr[0], descr[1], descr[2:]
    name = _KINDS.get((kind, int(size))) if size.isdigit() else None
    if name is None:
        raise ConfigError(f"{where}: the dtype {descr!r} is not supported ("
                          + ("object arrays hold pickles, which are never loaded"
                             if kind == "O" else "numeric and bool dtypes are") + ")")
    big = order == ">" or (order == "=" and sys.byteorder == "big")
    return NpyHeader(getattr(ember, name), shape, bool(fortran), big and int(size) > 1,
                     8 + size_bytes + n)


def _swap(data: bytes, itemsize: int) -> bytes:
    """Big-endian items made little-endian."""
    out = bytearray(len(data))
    for k in range(itemsize):
        out[k::itemsize] = data[itemsize - 1 - k::itemsize]
    return bytes(out)


def _tensor(data: bytes, h: NpyHeader, shape: tuple[int, ...]) -> ember.Tensor:
    if h.big_endian:
        data = _swap(data, h.dtype.itemsize)
    return ember.frombuffer(data, h.dtype, shape)


def _read_exact(f: IO[bytes], n: int, where: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ConfigError(f"{where}: the file is truncated (wanted {n} more bytes, got "
                          f"{len(data)})")
    return data


def load(f: IO[bytes], where: str) -> ember.Tensor:
    """The whole array of the ``.npy`` stream ``f`` on the current backend."""
    h = read_header(f, where)
    data = _read_exact(f, math.prod(h.shape) * h.dtype.itemsize, where)
    if not h.fortran_order:
        return _tensor(data, h, h.shape)
    t = _tensor(data, h, tuple(reversed(h.shape)))
    return ember.permute_dims(t, tuple(reversed(range(len(h.shape)))))


class LazyNpy(RowSource):
    """Rows read from ``.npy`` streams as iteration reaches them: memory holds one batch."""

    def __init__(self, openers: list[Callable[[], IO[bytes]]], headers: list[NpyHeader],
                 wheres: list[str], what: str) -> None:
        super().__init__()
        self.openers, self.headers, self.wheres, self.what = openers, headers, wheres, what
        sizes = [h.shape[0] if h.shape else None for h in headers]
        if None in sizes or len(set(sizes)) != 1:
            raise ember.ShapeError(f"{what}: the arrays must share their first (sample) axis, "
                                   f"got shapes {[h.shape for h in headers]}")
        for h, where in zip(headers, wheres, strict=True):
            if h.fortran_order and len(h.shape) > 1:
                raise ConfigError(f"{where}: the array is stored in Fortran order, so its rows "
                                  f"are not contiguous; read it with lazy=False")
        self.size = int(sizes[0])  # type: ignore[arg-type]

    def _length(self) -> int:
        return self.size

    def _describe(self) -> str:
        return self.what

    def _rows(self, n: int, batch: bool) -> Iterator[Any]:
        files = [open_() for open_ in self.openers]
        try:
            for f, where in zip(files, self.wheres, strict=True):
                read_header(f, where)
            for lo in range(0, self.size, n):
                k = min(n, self.size - lo)
                parts = []
                for f, h, where in zip(files, self.headers, self.wheres, strict=True):
                    data = _read_exact(f, k * h.row_bytes, where)
                    parts.append(_tensor(data, h, (k, *h.shape[1:]) if batch else h.shape[1:]))
                yield parts, k
        finally:
            for f in files:
                f.close()

    def _iterate(self, epoch: int) -> Iterator[Any]:
        for parts, _ in self._rows(1, batch=False):
            yield parts[0] if len(parts) == 1 else tuple(parts)

    def batches(self, batch_size: int, drop_remainder: bool) -> Iterator[Any]:
        for parts, k in self._rows(batch_size, batch=True):
            if k < batch_size and drop_remainder:
                return
            yield parts[0] if len(parts) == 1 else tuple(parts)


def _check_lazy(op: str, lazy: Any) -> bool:
    if not isinstance(lazy, bool):
        raise ConfigError(f"{op}: lazy must be True or False, got {lazy!r}")
    return lazy


def from_npy(path: Any, *, lazy: bool = False) -> Dataset:
    """A dataset of the rows (first-axis entries) of a NumPy ``.npy`` file.

    Arguments:
        path: the file (written by ``numpy.save``: numeric or bool dtypes, C or Fortran order,
            either byte order; object arrays are refused, nothing is unpickled).
        lazy: read the rows from the file as iteration reaches them (a batch at a time after
            ``batch``) instead of loading the array, for files larger than memory.

    Errors: ``ConfigError`` naming the file when it is missing, not ``.npy``, truncated or of an
    unsupported dtype.

    >>> import tempfile, numpy as np
    >>> p = tempfile.mktemp(suffix=".npy"); np.save(p, np.arange(6, dtype="int32").reshape(3, 2))
    >>> [b.tolist() for b in from_npy(p, lazy=True).batch(2)]
    [[[0, 1], [2, 3]], [[4, 5]]]
    """
    where = f"from_npy({str(path)!r})"
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{where}: no such file")
    if _check_lazy("from_npy", lazy):
        with p.open("rb") as f:
            header = read_header(f, where)
        if not header.shape:
            raise ember.ShapeError(f"{where}: the array is a scalar; it has no rows")
        return LazyNpy([lambda: p.open("rb")], [header], [where], f"{where[:-1]}, lazy=True)")
    with p.open("rb") as f:
        return ArraySource([load(f, where)], where)


def from_npz(path: Any, keys: Any = None, *, lazy: bool = False) -> Dataset:
    """A dataset of aligned rows of the arrays of a NumPy ``.npz`` file (``numpy.savez`` or
    ``savez_compressed``): sample i is ``(a[i], b[i], ...)``, or ``a[i]`` for one array.

    Arguments:
        path: the file.
        keys: the array names in the order wanted (``["x", "y"]``; one name gives plain
            samples); None takes every array in the order they were saved.
        lazy: read the rows as iteration reaches them instead of loading the arrays.

    Errors: ``ConfigError`` naming the file, a missing key (and the keys it has) or an array
    that cannot be read; ``ember.ShapeError`` when the arrays' first axes differ.

    >>> import tempfile, numpy as np
    >>> p = tempfile.mktemp(suffix=".npz"); np.savez(p, x=np.eye(2, dtype="float32"), y=[3, 4])
    >>> [(x.tolist(), int(y)) for x, y in from_npz(p, ["x", "y"])]
    [([1.0, 0.0], 3), ([0.0, 1.0], 4)]
    """
    import zipfile

    where = f"from_npz({str(path)!r})"
    if not Path(path).is_file():
        raise ConfigError(f"{where}: no such file")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise ConfigError(f"{where}: not a .npz (zip) file: {e}") from None
    with archive:
        members = [n for n in archive.namelist() if n.endswith(".npy")]
    names = [n[:-4] for n in members]
    if keys is None:
        chosen = names
    elif isinstance(keys, str):
        chosen = [keys]
    else:
        chosen = list(keys)
    missing = [k for k in chosen if k not in names]
    if missing or not chosen:
        raise ConfigError(f"{where}: no array named {missing or chosen!r}; the file has "
                          f"{names}")
    wheres = [f"{where}[{k!r}]" for k in chosen]

    def opener(key: str) -> Callable[[], IO[bytes]]:
        def open_() -> IO[bytes]:
            z = zipfile.ZipFile(path)
            f = z.open(f"{key}.npy")
            real_close = f.close

            def close() -> None:
                real_close()
                z.close()

            f.close = close  # type: ignore[method-assign]
            return f
        return open_

    openers = [opener(k) for k in chosen]
    def each(read: Any) -> list[Any]:
        """``read(file, where)`` of every chosen member, each file closed after."""
        out = []
        for open_, w in zip(openers, wheres, strict=True):
            f = open_()
            try:
                out.append(read(f, w))
            finally:
                f.close()
        return out

    if _check_lazy("from_npz", lazy):
        return LazyNpy(openers, each(read_header), wheres, f"{where[:-1]}, {chosen}, lazy=True)")
    return ArraySource(each(load), f"{where[:-1]}, {chosen})")
