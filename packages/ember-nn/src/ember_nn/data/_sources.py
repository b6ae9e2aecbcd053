"""Sources: aligned arrays, any iterable or generator function, a directory of files."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import ember

from .._core._errors import ConfigError
from ._dataset import Dataset
from ._errors import DataError, describe_fn, stage_error

__all__ = ["ArraySource", "RowSource", "settle", "from_arrays", "from_files", "from_iterable"]


def current(t: ember.Tensor) -> ember.Tensor:
    """``t`` on the current default backend (moved if it is elsewhere)."""
    backend = ember.get_backend()
    return t if t.backend == backend else t.to(backend)


_LAZY: dict[str, bool] = {}


def settle(element: Any) -> Any:
    """``element`` with its tensors computed, on a backend that computes lazily (MLX, whose
    pending arrays belong to the thread that made them): a background thread settles what it
    hands over. A tensor is computed by exporting it through DLPack (no copy); elsewhere this
    is a no-op."""
    if isinstance(element, ember.Tensor):
        lazy = _LAZY.get(element.backend)
        if lazy is None:
            lazy = _LAZY[element.backend] = ember.load_backend(element.backend).capabilities.lazy
        if lazy:
            try:
                element.__dlpack__()
            except Exception:  # a dtype DLPack lacks (bfloat16): compute it by reading it
                element.tobytes()
    elif type(element) is tuple or isinstance(element, list):
        for e in element:
            settle(e)
    elif isinstance(element, dict):
        for e in element.values():
            settle(e)
    return element


class RowSource(Dataset):
    """A source of rows that ``batch`` can read a batch at a time (``batches``) instead of
    stacking samples one by one."""

    def batches(self, batch_size: int, drop_remainder: bool) -> Iterator[Any]:
        raise NotImplementedError


class ArraySource(RowSource):
    """Rows of aligned arrays; ``batch`` slices them directly instead of stacking samples."""

    def __init__(self, arrays: Sequence[ember.Tensor], what: str) -> None:
        super().__init__()
        sizes = [a.shape[0] if a.ndim else None for a in arrays]
        if not arrays or None in sizes or len(set(sizes)) != 1:
            raise ember.ShapeError(
                f"{what}: the arrays must share their first (sample) axis, got shapes "
                f"{[a.shape for a in arrays]}")
        self.arrays = settle(list(arrays))  # computed here, so other threads can slice them
        self.size = int(sizes[0])  # type: ignore[arg-type]
        self.what = what

    def _length(self) -> int:
        return self.size

    def _describe(self) -> str:
        return self.what

    def rows(self, lo: int, hi: int) -> list[ember.Tensor]:
        """``a[lo:hi]`` of each array on the current backend."""
        return [current(a[lo:hi]) for a in self.arrays]

    def _element(self, parts: list[ember.Tensor]) -> Any:
        return parts[0] if len(parts) == 1 else tuple(parts)

    def _iterate(self, epoch: int) -> Iterator[Any]:
        arrays = [current(a) for a in self.arrays]
        for i in range(self.size):
            yield self._element([a[i] for a in arrays])

    def batches(self, batch_size: int, drop_remainder: bool) -> Iterator[Any]:
        """Consecutive slices of ``batch_size`` rows (the last one shorter unless dropped)."""
        for lo in range(0, self.size, batch_size):
            hi = min(lo + batch_size, self.size)
            if hi - lo < batch_size and drop_remainder:
                return
            yield self._element(self.rows(lo, hi))


def from_arrays(*arrays: Any) -> Dataset:
    """A dataset whose sample i is ``a[i]`` of each array (a tuple ``(x[i], y[i])`` for two).

    Arguments:
        *arrays: ember tensors or nested lists (made tensors on the current default backend)
            sharing their first axis.

    Errors: ``ember.ShapeError`` naming the shapes when the first axes differ or an array is a
    scalar; ``ConfigError`` when no array is given.

    >>> ds = from_arrays(ember.arange(6.0).reshape((3, 2)), [0, 1, 0])
    >>> [(x.tolist(), int(y)) for x, y in ds]
    [([0.0, 1.0], 0), ([2.0, 3.0], 1), ([4.0, 5.0], 0)]
    """
    if not arrays:
        raise ConfigError("from_arrays: pass at least one array, e.g. from_arrays(x, y)")
    tensors = []
    for k, a in enumerate(arrays):
        if isinstance(a, ember.Tensor):
            tensors.append(a)
            continue
        try:
            tensors.append(ember.asarray(a))
        except ember.EmberError as e:
            raise ember.ShapeError(
                f"from_arrays: array {k} cannot be made a tensor ({e}); ragged samples "
                f"(sequences of different lengths) go through from_iterable(list_of_samples) "
                f"and batch(..., pad=True)") from None
    return ArraySource(tensors, f"from_arrays({len(tensors)} arrays)" if len(tensors) > 1
                       else "from_arrays(1 array)")


class IterableSource(Dataset):
    """The elements of an iterable, of a fresh one from a zero-argument function each epoch,
    or of a one-shot iterator (one epoch only)."""

    batched = None

    def __init__(self, source: Any) -> None:
        super().__init__()
        self.source = source
        self.factory = callable(source) and not hasattr(source, "__iter__")
        self.one_shot = not self.factory and iter(source) is source
        self._consumed = False
        self.name = (f"from_iterable({describe_fn(source)})" if self.factory
                     else f"from_iterable({type(source).__name__})")

    def _length(self) -> int | None:
        if self.factory or self.one_shot:
            return None
        try:
            return len(self.source)
        except TypeError:
            return None

    def _describe(self) -> str:
        return self.name

    def _iterate(self, epoch: int) -> Iterator[Any]:
        if self.one_shot:
            if self._consumed:
                raise DataError(
                    f"{self.name}: the source is a one-shot iterator (a generator object) and "
                    f"was used up by an earlier epoch; pass the generator function itself "
                    f"(from_iterable(make_samples), not make_samples()) or a list to iterate it "
                    f"every epoch", stage=self.name, epoch=epoch)
            self._consumed = True
        return self._run(epoch)

    def _run(self, epoch: int) -> Iterator[Any]:
        index = 0
        try:
            it = iter(self.source() if self.factory else self.source)
        except Exception as e:
            raise stage_error(self.name, None, epoch, e, "failed to start") from e
        try:
            while True:
                try:
                    item = next(it)
                except StopIteration:
                    return
                except Exception as e:
                    raise stage_error(self.name, index, epoch, e,
                                      "failed producing sample") from e
                yield item
                index += 1
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()


def from_iterable(source: Any) -> Dataset:
    """A dataset of the elements of ``source``.

    Arguments:
        source: a re-iterable object (a list, a ``range``, a torch ``DataLoader`` ...) or a
            zero-argument function returning an iterable (a generator function): iterated
            afresh each epoch. A one-shot iterator (a generator object) is allowed for one epoch;
            a second epoch is a ``DataError`` saying what to pass instead.

    Errors: ``ConfigError`` when ``source`` is neither iterable nor callable; an error raised by
    the iterable becomes a ``DataError`` naming the source and the sample index.

    >>> def samples():
    ...     for i in range(3):
    ...         yield float(i), i % 2
    >>> [(x, y) for x, y in from_iterable(samples)]
    [(0.0, 0), (1.0, 1), (2.0, 0)]
    """
    if isinstance(source, Dataset):
        return source
    if isinstance(source, str | bytes) or not (hasattr(source, "__iter__") or callable(source)):
        raise ConfigError(f"from_iterable: source must be an iterable (list, generator ...) or a "
                          f"zero-argument function returning one, got {type(source).__name__}")
    if callable(source) and not hasattr(source, "__iter__"):
        try:
            sig = inspect.signature(source)
        except (TypeError, ValueError):
            sig = None
        if sig is not None and any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                                       p.POSITIONAL_OR_KEYWORD)
                                   for p in sig.parameters.values()):
            raise ConfigError(f"from_iterable: {describe_fn(source)} needs arguments; pass a "
                              f"zero-argument function, e.g. lambda: {describe_fn(source)}(...)")
    return IterableSource(source)


class FilesSource(Dataset):
    """``read(path)`` (or the path) of each file, in sorted order."""

    def __init__(self, paths: list[str], name: str, read: Callable[[str], Any] | None) -> None:
        super().__init__()
        self.paths, self.name, self.read = paths, name, read

    def _length(self) -> int:
        return len(self.paths)

    def _describe(self) -> str:
        return self.name

    def _iterate(self, epoch: int) -> Iterator[Any]:
        read = self.read
        for i, path in enumerate(self.paths):
            if read is None:
                yield path
                continue
            try:
                item = read(path)
            except Exception as e:
                raise stage_error(f"{self.name} read={describe_fn(read)}", i, epoch, e,
                                  f"failed on {path!r}, sample") from e
            yield item


def from_files(directory: Any, pattern: str = "*", *,
               read: Callable[[str], Any] | None = None) -> Dataset:
    """A dataset of the files under ``directory`` matching ``pattern`` (``"*.wav"``,
    ``"**/*.txt"`` for subfolders), in sorted path order: ``read(path)`` of each, or the path
    (a ``str``) when ``read`` is None, to decode in a ``map``.

    Errors: ``ConfigError`` when ``directory`` is not a directory or nothing matches; an error
    in ``read`` is a ``DataError`` naming the file and its index.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for n in ("b", "a"):
    ...     _ = (d / f"{n}.txt").write_text(n * 2)
    >>> list(from_files(d, "*.txt", read=lambda p: open(p).read()))
    ['aa', 'bb']
    """
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError(f"from_files: {str(directory)!r} is not a directory")
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"from_files: pattern must be a glob string like '*.wav', got "
                          f"{pattern!r}")
    if read is not None and not callable(read):
        raise ConfigError(f"from_files: read must be a function path -> sample, got "
                          f"{type(read).__name__}")
    paths = sorted(str(p) for p in root.glob(pattern) if p.is_file())
    if not paths:
        raise ConfigError(f"from_files: no file under {str(root)!r} matches {pattern!r}")
    return FilesSource(paths, f"from_files({str(root)!r}, {pattern!r})", read)
