"""ember-mad: the MAD synthetic-task benchmark (Poli et al. 2024, "Mechanistic Design and
Scaling of Hybrid Architectures") on any Ember backend, with MAD-Lab's data exactly and the
paper's scoring."""

from __future__ import annotations

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

__all__ = [
    "LR_GRID",
    "NUM_TEST_EXAMPLES",
    "PAPER_SCORES",
    "TASKS",
    "WD_GRID",
    "MADDataset",
    "MADError",
    "macro_accuracy",
    "mad_score",
    "make_dataset",
    "run_result",
    "setting_result",
    "task_defaults",
    "task_score",
    "task_settings",
]
