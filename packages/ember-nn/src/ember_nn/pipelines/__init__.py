"""Config-driven runs: data sources (``Dataset``, ``load_dataset``), the CLI commands
(``ember train``, ``ember predict`` ...) and plots."""

from ._datasets import Dataset as Dataset
from ._datasets import load_dataset as load_dataset

__all__ = ["Dataset", "load_dataset"]
