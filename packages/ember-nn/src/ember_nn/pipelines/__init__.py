"""Config-driven runs: data sources (``Dataset``, ``load_dataset``), ``ember train``/``ember predict``
and the other CLI commands, plots."""

from ._datasets import Dataset as Dataset
from ._datasets import load_dataset as load_dataset

__all__ = ["Dataset", "load_dataset"]
