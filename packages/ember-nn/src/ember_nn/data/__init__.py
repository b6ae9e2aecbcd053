"""Data pipelines: sources (arrays, ``.npy``/``.npz``, CSV, files, iterables) and stages
(``map``, ``filter``, ``batch`` with padding, ``shuffle``, ``prefetch``, ``cache``, ``repeat``,
``take``, ``shard``), iterated by ``Trainer.fit``/``evaluate``/``predict``.

>>> ds = Dataset.from_arrays(ember.arange(8.0), ember.arange(8) % 2).shuffle(8, seed=0).batch(4)
>>> [y.tolist() for _, y in ds]
[[0, 1, 0, 0], [1, 1, 1, 0]]
"""

from ._batch import Batch as Batch
from ._batch import stack_samples as stack_samples
from ._csv import from_csv as from_csv
from ._dataset import Dataset as Dataset
from ._errors import DataError as DataError
from ._npy import from_npy as from_npy
from ._npy import from_npz as from_npz
from ._prefetch import Prefetch as Prefetch
from ._sources import from_arrays as from_arrays
from ._sources import from_files as from_files
from ._sources import from_iterable as from_iterable

__all__ = ["Batch", "DataError", "Dataset", "Prefetch", "from_arrays", "from_csv", "from_files",
           "from_iterable", "from_npy", "from_npz", "stack_samples"]
