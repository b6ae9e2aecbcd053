"""ember-mad: the MAD synthetic-task benchmark (Poli et al. 2024, "Mechanistic Design and
Scaling of Hybrid Architectures") on any Ember backend, with MAD-Lab's data exactly and the
paper's scoring."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._dataset import MADDataset, make_dataset
from ._errors import MADError
from ._scoring import (
    PAPER_SCORES,
    macro_accuracy,
    mad_score,
    run_result,
    setting_result,
    task_score,
)
from ._tasks import LR_GRID, NUM_TEST_EXAMPLES, TASKS, WD_GRID, task_defaults, task_settings

if TYPE_CHECKING:
    from ._benchmark import benchmark, plan_runs, setting_slug
    from ._compare import compare_curves, compare_plot, compare_table
    from ._report import format_scores, report, score_runs
    from ._train import DEFAULT_LAYERS, TrainResult, train

_LAZY = {"DEFAULT_LAYERS": "_train", "SCHEDULES": "_options", "TrainResult": "_train",
         "train": "_train",
         "benchmark": "_benchmark", "plan_runs": "_benchmark", "setting_slug": "_benchmark",
         "report": "_report", "score_runs": "_report", "format_scores": "_report",
         "compare_table": "_compare", "compare_plot": "_compare",
         "compare_curves": "_compare"}


def __getattr__(name: str) -> object:
    """The training and benchmark names, imported on first use (they import ember_nn)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ember_mad' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"ember_mad.{module}"), name)


__all__ = [
    "DEFAULT_LAYERS",
    "LR_GRID",
    "NUM_TEST_EXAMPLES",
    "PAPER_SCORES",
    "SCHEDULES",
    "TASKS",
    "WD_GRID",
    "MADDataset",
    "MADError",
    "TrainResult",
    "benchmark",
    "compare_curves",
    "compare_plot",
    "compare_table",
    "format_scores",
    "macro_accuracy",
    "mad_score",
    "make_dataset",
    "plan_runs",
    "report",
    "run_result",
    "score_runs",
    "setting_result",
    "setting_slug",
    "task_defaults",
    "task_score",
    "task_settings",
    "train",
]
