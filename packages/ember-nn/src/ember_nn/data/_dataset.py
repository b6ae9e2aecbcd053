"""``Dataset``: a re-iterable stream of samples (or batches) built from a source and stages.

Each stage is a method returning a new ``Dataset``; nothing runs until the dataset is
iterated. An epoch's elements come from ``dataset.iter(epoch)`` (``iter(dataset)`` counts the
epochs itself), so a shuffle's order depends only on its seed and the epoch number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Dataset", "close_iterator"]

#: the length of a dataset that never ends (``repeat()``)
INFINITE = math.inf


def close_iterator(it: Any) -> None:
    """Close a generator (running its ``finally`` blocks: a prefetch thread's clean-up)."""
    close = getattr(it, "close", None)
    if close is not None:
        close()


class Dataset:
    """A stream of elements: samples (a tensor, a number, a tuple or dict of them) or, after
    ``batch``, batches. Build one with a source (``Dataset.from_arrays``, ``from_npy``,
    ``from_npz``, ``from_csv``, ``from_files``, ``from_iterable``) and chain stages (``map``,
    ``filter``, ``shuffle``, ``batch``, ``prefetch``, ``cache``, ``repeat``, ``take``,
    ``shard``), each returning a new dataset. ``Trainer.fit`` iterates one per epoch.

    >>> ds = Dataset.from_arrays([1.0, 2.0, 3.0, 4.0, 5.0]).map(lambda v: v * 10).batch(2)
    >>> [b.tolist() for b in ds]
    [[10.0, 20.0], [30.0, 40.0], [50.0]]
    >>> len(ds)
    3
    """

    #: the dataset this one reads from (None for a source)
    parent: Dataset | None = None
    #: True once a ``batch`` stage made the elements batches; None when unknown (an iterable)
    batched: bool | None = False

    def __init__(self) -> None:
        self._epochs = 0

    # -- what a subclass implements ------------------------------------------------------------
    def _iterate(self, epoch: int) -> Iterator[Any]:
        raise NotImplementedError

    def _length(self) -> int | float | None:
        """The number of elements (``INFINITE`` for an endless dataset), None if unknown."""
        return None

    def _describe(self) -> str:
        return type(self).__name__

    # -- iteration -----------------------------------------------------------------------------
    def iter(self, epoch: int = 0) -> Iterator[Any]:
        """The elements of epoch ``epoch`` (a shuffle's order depends on it).

        >>> ds = Dataset.from_arrays(list(range(6))).shuffle(6, seed=1)
        >>> list(map(int, ds.iter(0))) == list(map(int, ds.iter(0)))
        True
        """
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            from ._errors import DataError

            raise DataError(f"{self._describe()}: epoch must be an int >= 0, got {epoch!r}")
        return self._iterate(epoch)

    def __iter__(self) -> Iterator[Any]:
        epoch, self._epochs = self._epochs, self._epochs + 1
        return self._iterate(epoch)

    @property
    def length(self) -> int | None:
        """The number of elements if it is known without iterating, else None (an endless
        dataset, a filter, a generator)."""
        n = self._length()
        return int(n) if n is not None and n != INFINITE else None

    def __len__(self) -> int:
        n = self._length()
        if n is None:
            raise TypeError(f"the length of {self!r} is not known before iterating it (it has "
                            f"a filter, an iterable source or a take of one); count it with "
                            f"sum(1 for _ in dataset)")
        if n == INFINITE:
            raise TypeError(f"{self!r} never ends (repeat() with no count); it has no length")
        return int(n)

    def __repr__(self) -> str:
        parts: list[str] = []
        node: Dataset | None = self
        while node is not None:
            parts.append(node._describe())
            node = node.parent
        return "Dataset(" + " -> ".join(reversed(parts)) + ")"

    # -- sources -------------------------------------------------------------------------------
    @staticmethod
    def from_arrays(*arrays: Any) -> Dataset:
        """Samples from aligned arrays: sample i is ``a[i]`` (a tuple of them for several).
        See ``ember_nn.data.from_arrays``."""
        from ._sources import from_arrays

        return from_arrays(*arrays)

    @staticmethod
    def from_iterable(source: Any) -> Dataset:
        """Samples from an iterable or a zero-argument function returning one. See
        ``ember_nn.data.from_iterable``."""
        from ._sources import from_iterable

        return from_iterable(source)

    @staticmethod
    def from_files(directory: Any, pattern: str = "*", *,
                   read: Callable[[str], Any] | None = None) -> Dataset:
        """``read(path)`` of the sorted files under ``directory`` matching ``pattern``. See
        ``ember_nn.data.from_files``."""
        from ._sources import from_files

        return from_files(directory, pattern, read=read)

    @staticmethod
    def from_npy(path: Any, *, lazy: bool = False) -> Dataset:
        """The rows of a NumPy ``.npy`` file. See ``ember_nn.data.from_npy``."""
        from ._npy import from_npy

        return from_npy(path, lazy=lazy)

    @staticmethod
    def from_npz(path: Any, keys: Any = None, *, lazy: bool = False) -> Dataset:
        """Aligned rows of the arrays of a NumPy ``.npz`` file. See ``ember_nn.data.from_npz``."""
        from ._npy import from_npz

        return from_npz(path, keys, lazy=lazy)

    @staticmethod
    def from_csv(path: Any, columns: Any = None, *, header: bool = True,
                 dtype: Any = "float32", delimiter: str = ",") -> Dataset:
        """The rows of a CSV file as tensors. See ``ember_nn.data.from_csv``."""
        from ._csv import from_csv

        return from_csv(path, columns, header=header, dtype=dtype, delimiter=delimiter)

    # -- stages --------------------------------------------------------------------------------
    def map(self, fn: Callable[..., Any], name: str | None = None, *, threads: int = 1) -> Dataset:
        """``fn(element)`` for each element (a tuple element is unpacked: ``fn(x, y)``);
        ``threads > 1`` runs ``fn`` on that many threads, keeping the order.

        >>> [int(v) for v in Dataset.from_arrays([1, 2, 3]).map(lambda v: v + 1)]
        [2, 3, 4]
        """
        from ._stages import Map

        return Map(self, fn, name, threads)

    def filter(self, predicate: Callable[..., Any], name: str | None = None) -> Dataset:
        """The elements for which ``predicate(element)`` is True (a Python bool or a one-element
        tensor; anything else is an error, so nothing is dropped by mistake).

        >>> [int(v) for v in Dataset.from_arrays([1, 2, 3, 4]).filter(lambda v: v % 2 == 0)]
        [2, 4]
        """
        from ._stages import Filter

        return Filter(self, predicate, name)

    def batch(self, batch_size: int, *, drop_remainder: bool = False, pad: Any = False,
              pad_to: int | None = None) -> Dataset:
        """Stack ``batch_size`` consecutive samples into tensors (on the current default
        backend); see ``ember_nn.data.Batch`` for padding variable-length samples.

        >>> [b.shape for b in Dataset.from_arrays(ember.zeros((5, 3))).batch(2)]
        [(2, 3), (2, 3), (1, 3)]
        """
        from ._batch import Batch

        return Batch(self, batch_size, drop_remainder=drop_remainder, pad=pad, pad_to=pad_to)

    def shuffle(self, buffer_size: int, seed: int = 0) -> Dataset:
        """A buffer shuffle: each element is drawn at random from the next ``buffer_size``
        ones (``buffer_size >= len`` shuffles uniformly). The order depends only on ``seed``
        and the epoch number, so it is the same on every backend.

        >>> [int(v) for v in Dataset.from_arrays(list(range(6))).shuffle(6, seed=0).iter(0)]
        [2, 3, 4, 1, 5, 0]
        """
        from ._stages import Shuffle

        return Shuffle(self, buffer_size, seed)

    def prefetch(self, buffer_size: int = 2) -> Dataset:
        """Produce up to ``buffer_size`` elements ahead on a background thread, so loading
        overlaps the consumer's work; errors are re-raised in the consumer.

        >>> [int(v) for v in Dataset.from_arrays([1, 2, 3]).prefetch(2)]
        [1, 2, 3]
        """
        from ._prefetch import Prefetch

        return Prefetch(self, buffer_size)

    def cache(self) -> Dataset:
        """Keep the elements in memory after the first complete pass and replay them after.

        >>> ds = Dataset.from_arrays([1, 2]).map(lambda v: v * 2).cache()
        >>> [int(v) for v in ds], [int(v) for v in ds]
        ([2, 4], [2, 4])
        """
        from ._stages import Cache

        return Cache(self)

    def repeat(self, count: int | None = None) -> Dataset:
        """The dataset ``count`` times over (forever when None); each pass is a new epoch for
        the stages before it.

        >>> [int(v) for v in Dataset.from_arrays([1, 2]).repeat(2)]
        [1, 2, 1, 2]
        """
        from ._stages import Repeat

        return Repeat(self, count)

    def take(self, n: int) -> Dataset:
        """The first ``n`` elements.

        >>> [int(v) for v in Dataset.from_arrays([1, 2, 3]).take(2)]
        [1, 2]
        """
        from ._stages import Take

        return Take(self, n)

    def shard(self, num_shards: int, index: int) -> Dataset:
        """Every ``num_shards``-th element starting at ``index`` (sample i goes to shard
        ``i % num_shards``): one shard per distributed rank, none sharing a sample.

        >>> [int(v) for v in Dataset.from_arrays(list(range(7))).shard(3, 1)]
        [1, 4]
        """
        from ._stages import Shard

        return Shard(self, num_shards, index)


class Stage(Dataset):
    """A dataset computed from ``parent``."""

    def __init__(self, parent: Dataset) -> None:
        super().__init__()
        if not isinstance(parent, Dataset):
            raise TypeError(f"a stage reads a Dataset, got {type(parent).__name__}")
        self.parent = parent
        self.batched = parent.batched

    def _length(self) -> int | float | None:
        assert self.parent is not None
        return self.parent._length()
