"""``ember mad compare DIR ...``: several benchmarks' scores in one table, the paper's beside.

Each row is one benchmark directory (one layer list); each task cell is ours, the task's runs
done of those planned (settings x the lr x wd grid) and, where the paper has the architecture,
its score: ``99.9 (3/6) / 94.1``. The details are in each directory's ``scores.md``. The MAD
score needs all six tasks: a row with fewer gives the mean of the tasks it has, marked so.
``compare_plot`` draws the same numbers: per task a bar for each benchmark, the paper's score
a black tick on it; ``compare_curves`` draws how each benchmark's best run of each task's
baseline setting learned, its test accuracy epoch by epoch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._errors import MADError
from ._report import pyplot, save_png, score_runs
from ._tasks import TASKS

__all__ = ["compare_curves", "compare_plot", "compare_table"]

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


def _scored(dirs: Sequence[str | os.PathLike[str]]) -> list[tuple[str, dict[str, Any]]]:
    """Each directory's row name (the paper's name of its architecture, else its layers; with
    the directory's name after it where several rows would share one, e.g. the same model at
    two settings) and scores (``score_runs``)."""
    if not dirs:
        raise MADError("compare: give one or more benchmark directories (ember mad benchmark "
                       "--out DIR writes one)")
    rows = []
    for d in dirs:
        s = score_runs(d) | {"_dir": str(d)}
        layers = tuple(s["layers"])
        rows.append((NAMES.get(layers, ", ".join(layers)), s))
    base = [name for name, _ in rows]
    names = list(base)
    for where in (lambda d: Path(d).resolve().name, str):  # the folder's name, else its path
        names = [f"{b} ({where(s['_dir'])})" if names.count(n) > 1 else n
                 for n, b, (_, s) in zip(names, base, rows)]
    if len(set(names)) < len(names):
        raise MADError(f"compare: a benchmark directory is given more than once: "
                       f"{[str(d) for d in dirs]}; give each once")
    return [(n, s) for n, (_, s) in zip(names, rows)]


def compare_table(dirs: Sequence[str | os.PathLike[str]]) -> str:
    """A Markdown table of the benchmarks in ``dirs``: per task ours (runs done / planned) and
    the paper's, the runs done and the MAD score (the mean of the tasks run,
    marked, where a task is missing).

    Raises:
        MADError: no directory given; a directory without results (see ``score_runs``).
    """
    lines = ["| model | " + " | ".join(TASKS) + " | MAD score | runs |",
             "|" + " --- |" * (len(TASKS) + 3)]
    for name, s in _scored(dirs):
        paper = s["paper"]["mean"] if s["paper"] else None
        complete = len(s["tasks"]) == len(TASKS)
        mine = f"{s['mad_score']:.1f}" + ("" if complete else f" ({len(s['tasks'])} tasks)")
        score = mine + (f" / {paper:.1f}" if paper is not None else "")
        planned = s["runs_planned"]
        runs = f"{s['runs_done']} of {planned}" if planned else str(s["runs_done"])
        lines.append(f"| {name} | " + " | ".join(_cell(t, s) for t in TASKS)
                     + f" | {score} | {runs} |")
    return "\n".join(lines) + "\n"


def _pyplot() -> Any:
    plt = pyplot()
    if plt is None:
        raise MADError("compare's plots need matplotlib (pip install matplotlib)")
    return plt


def compare_plot(dirs: Sequence[str | os.PathLike[str]],
                 path: str | os.PathLike[str]) -> dict[str, dict[str, tuple[float, float | None]]]:
    """Write ``path`` (a PNG): per task and for the MAD score, a bar for each benchmark in
    ``dirs`` (its runs done in the legend) and the paper's score, where it has the
    architecture, as a black tick across that bar; a task without results has no bar, and a
    benchmark without all six tasks no MAD score bar (the mean of fewer tasks is not one).
    Returns what it drew: per row name, per column, (ours, the paper's or None).

    Raises:
        MADError: no directory, one without results (see ``score_runs``), or no matplotlib.
    """
    rows = _scored(dirs)
    plt = _pyplot()
    columns = [*TASKS, "MAD score"]
    fig, ax = plt.subplots(figsize=(11, 4.8))
    width = 0.8 / len(rows)
    drawn: dict[str, dict[str, tuple[float, float | None]]] = {}
    for i, (name, s) in enumerate(rows):
        ours = {t: v["score"] for t, v in s["tasks"].items()}
        if len(ours) == len(TASKS):
            ours["MAD score"] = s["mad_score"]
        theirs = dict(s["paper"] or {}) | ({"MAD score": s["paper"]["mean"]} if s["paper"]
                                           else {})
        drawn[name] = {c: (ours[c], theirs.get(c)) for c in columns if c in ours}
        xs = [j + (i - (len(rows) - 1) / 2) * width for j, c in enumerate(columns) if c in ours]
        runs = (f"{s['runs_done']} of {s['runs_planned']} runs" if s["runs_planned"]
                else f"{s['runs_done']} runs")
        ax.bar(xs, [ours[c] for c in columns if c in ours], width * 0.92,
               label=f"{name} ({runs})")
        ticks = [(x, theirs[c]) for x, c in zip(xs, [c for c in columns if c in ours],
                                                strict=True) if c in theirs]
        if ticks:
            ax.hlines([v for _, v in ticks], [x - width * 0.46 for x, _ in ticks],
                      [x + width * 0.46 for x, _ in ticks], colors="black", linewidth=2,
                      label="the paper's score" if i == 0 else None)
    ax.set_xticks(range(len(columns)), ["\n".join(c.rsplit("-", 1)) for c in columns], fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("score (%)")
    ax.set_title("MAD: ours (bars) and the paper's (black ticks)", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16),
              ncol=min(len(rows) + 1, 3), frameon=False)
    fig.tight_layout()
    save_png(fig, path, dpi=110)
    return drawn


def compare_curves(dirs: Sequence[str | os.PathLike[str]],
                   path: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    """Write ``path`` (a PNG): one panel per task, in each a line per benchmark in ``dirs``:
    the test accuracy, epoch by epoch, of its best run of the task's baseline setting (the run
    the table's cell comes from; a run that stopped early at 0.999 ends there). Returns which
    run each line is: per row name, per task, the run's directory name (``lr1e-3_wd0``).

    Raises:
        MADError: as :func:`compare_plot`.
    """
    rows = _scored(dirs)
    plt = _pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.4), sharey=True)
    drawn: dict[str, dict[str, str]] = {}
    for ax, task in zip(axes.flat, TASKS, strict=True):
        for i, (name, s) in enumerate(rows):
            baseline = [x for x in s["tasks"].get(task, {}).get("settings", ())
                        if x["setting"] == "baseline"]
            if not baseline:
                continue
            run = baseline[0]["best_run"]
            result = Path(s["_dir"]) / task / "baseline" / run / "result.json"
            history = json.loads(result.read_text(encoding="utf-8"))["history"]
            ax.plot([h["epoch"] for h in history],
                    [100 * h["test_accuracy"] for h in history], color=f"C{i}", linewidth=1.2,
                    label=f"{name} ({run})")
            drawn.setdefault(name, {})[task] = run
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylim(0, 102)
        ax.tick_params(labelsize=7)
        if ax.get_lines():
            ax.legend(fontsize=6, loc="best")
    for ax in axes[:, 0]:
        ax.set_ylabel("test accuracy (%)", fontsize=8)
    fig.suptitle("MAD: each architecture's best run of each task's baseline setting", fontsize=10)
    fig.tight_layout()
    save_png(fig, path, dpi=110)
    return drawn
