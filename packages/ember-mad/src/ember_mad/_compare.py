"""``ember mad compare DIR ...``: several benchmarks' scores in one table, the paper's beside.

Each row is one benchmark directory (one layer list); each task cell is ours, the task's runs
done of those planned (settings x the lr x wd grid) and, where the paper has the architecture,
its score: ``99.9 (3/6) / 94.1``. The details are in each directory's ``scores.md``. The MAD
score needs all six tasks: a row with fewer gives the mean of the tasks it has, marked so.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ._errors import MADError
from ._report import score_runs
from ._tasks import TASKS

__all__ = ["compare_table"]

#: the paper's names of its architectures
NAMES: dict[tuple[str, ...], str] = {("mh-attention", "swiglu") * 2: "Transformer",
                                     ("mh-hyena", "swiglu") * 2: "MH Hyena",
                                     ("mamba", "swiglu") * 2: "Mamba"}


def _cell(task: str, scores: dict[str, Any]) -> str:
    paper = (scores["paper"] or {}).get(task)
    theirs = f" / {paper:.1f}" if paper is not None else ""
    mine = scores["tasks"].get(task)
    if mine is None:
        return f"—{theirs}"
    done = sum(len(x["runs"]) for x in mine["settings"])
    missing = sum(m.startswith(f"{task}/") for m in scores["missing"])
    return f"{mine['score']:.1f} ({done}/{done + missing}){theirs}"


def compare_table(dirs: Sequence[str | os.PathLike[str]]) -> str:
    """A Markdown table of the benchmarks in ``dirs``: per task ours (runs done / planned) and
    the paper's, the runs done and the MAD score (the mean of the tasks run,
    marked, where a task is missing).

    Raises:
        MADError: no directory given; a directory without results (see ``score_runs``).
    """
    if not dirs:
        raise MADError("compare: give one or more benchmark directories (ember mad benchmark "
                       "--out DIR writes one)")
    lines = ["| model | " + " | ".join(TASKS) + " | MAD score | runs |",
             "|" + " --- |" * (len(TASKS) + 3)]
    for d in dirs:
        s = score_runs(d)
        layers = tuple(s["layers"])
        name = NAMES.get(layers, ", ".join(layers))
        paper = s["paper"]["mean"] if s["paper"] else None
        complete = len(s["tasks"]) == len(TASKS)
        mine = f"{s['mad_score']:.1f}" + ("" if complete else f" ({len(s['tasks'])} tasks)")
        score = mine + (f" / {paper:.1f}" if paper is not None else "")
        planned = s["runs_planned"]
        runs = f"{s['runs_done']} of {planned}" if planned else str(s["runs_done"])
        lines.append(f"| {name} | " + " | ".join(_cell(t, s) for t in TASKS)
                     + f" | {score} | {runs} |")
    return "\n".join(lines) + "\n"
