"""``report``: the scores of a benchmark directory from its runs' ``result.json`` files
(``scores.json``, ``scores.md`` and ``scores.png``), with the paper's numbers beside ours when
the layer list is one of the paper's; partial grids are scored and their missing runs named."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._errors import MADError
from ._options import write_json
from ._progress import STOPPED_LINE, best_accuracy, saved_epochs, saved_history
from ._scoring import PAPER_SCORES, mad_score, setting_result, task_score
from ._tasks import TASKS, task_settings

__all__ = ["format_scores", "report", "score_runs"]

#: the last line of a stopped run's log: Python's traceback of a Ctrl-C, ``ember mad``'s own
#: message, and the line ``benchmark`` appends to the runs it stops
INTERRUPTED_ENDINGS = ("KeyboardInterrupt", "ember mad: interrupted", STOPPED_LINE)


def _read_results(out: Path) -> list[dict[str, Any]]:
    runs = []
    for path in sorted(out.glob("*/*/*/result.json")):
        try:
            r = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise MADError(f"{path} is not a readable run result ({e}); delete it to run it "
                           f"again") from None
        r["_dir"] = path.parent
        runs.append(r)
    return runs


def score_runs(out: str | os.PathLike[str]) -> dict[str, Any]:
    """The scores of the runs in the benchmark directory ``out`` (``scores.json``'s content).

    Per setting: the best over the runs of the grid of each run's best test accuracy (the
    paper's result) and, beside it, of each run's accuracy at its lowest test loss (MAD-Lab's
    checkpoint); per task the mean over its settings that have runs; the MAD score the mean
    over tasks; all in %. Runs that ``out/benchmark.json`` plans but that have no result are
    listed under ``"missing"``; of those, ``"stopped"`` maps the runs with saved progress to its
    epochs (the next ``benchmark`` call resumes them), ``"interrupted"`` lists the runs stopped
    before their first save and ``"failed"`` the runs whose log ends otherwise.

    Raises:
        MADError: no result in ``out``; results of different layer lists or epochs.
    """
    from ._benchmark import CONFIG_FILE, plan_runs

    outdir = Path(out)
    if not outdir.is_dir():
        raise MADError(f"{outdir} is not a directory of MAD runs (ember mad benchmark --out DIR "
                       f"writes one)")
    config_path = outdir / CONFIG_FILE
    config = (json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file()
              else {})
    runs = _read_results(outdir)
    if not runs:
        under_way = [f"{p.relative_to(outdir).parent} after epoch {e}"
                     for p in sorted(outdir.glob("*/*/*/progress"))
                     if (e := saved_epochs(p.parent)) is not None]
        going = (f"; {len(under_way)} run(s) have saved progress ({', '.join(under_way)}): the "
                 f"same benchmark command resumes them" if under_way else "")
        raise MADError(f"{outdir} holds no result.json of a finished run yet{going}")
    layer_lists = {tuple(r["layers"]) for r in runs}
    if len(layer_lists) > 1:
        raise MADError(f"{outdir} mixes runs of different layer lists: "
                       f"{sorted(','.join(x) for x in layer_lists)}")
    layers = layer_lists.pop()
    protocol = config.get("protocol")
    epochs = sorted({int(r["settings"]["epochs"]) for r in runs})
    planned = (plan_runs(outdir, protocol=config.get("protocol", "baseline"),
                         tasks=config.get("tasks"), lrs=config.get("lrs"),
                         wds=config.get("wds")) if config else [])
    missing = [str(p.directory.relative_to(outdir)) for p in planned if not p.done]
    saved = {m: h for m in missing if (h := saved_history(outdir / m)) is not None}
    stopped = {m: len(h.history) for m, h in saved.items()}
    stopped_best = {m: 100 * b for m, h in saved.items()
                    if (b := best_accuracy(h.history)) is not None}
    logged = [m for m in missing if m not in stopped and (outdir / m / "log.txt").is_file()]
    interrupted = [m for m in logged if _ends_interrupted(outdir / m / "log.txt")]
    failed = [m for m in logged if m not in interrupted]
    tasks: dict[str, Any] = {}
    for task in TASKS:
        mine = [r for r in runs if r["task"] == task]
        if not mine:
            continue
        by_slug: dict[str, list[dict[str, Any]]] = {}
        for r in mine:
            by_slug.setdefault(r["_dir"].parent.name, []).append(r)
        full = task_settings(task, "full")
        settings = []
        for slug, rs in sorted(by_slug.items(), key=lambda kv: _order(task, kv[0], full)):
            grid = {r["_dir"].name: r for r in rs}
            best = setting_result([r["best_accuracy"] for r in rs])
            low = setting_result([r["lowest_loss_accuracy"] for r in rs])
            settings.append({
                "setting": slug, "params": rs[0]["settings"]["task_params"]
                | {"num_train_examples": rs[0]["settings"]["num_train_examples"]},
                "result": 100 * best, "result_lowest_loss": 100 * low,
                "runs": {k: 100 * v["best_accuracy"] for k, v in sorted(grid.items())},
                "best_run": max(rs, key=lambda r: r["best_accuracy"])["_dir"].name,
                "missing": sorted(m.split("/")[-1] for m in missing
                                  if m.startswith(f"{task}/{slug}/"))})
        tasks[task] = {"score": task_score([s["result"] for s in settings]),
                       "score_lowest_loss": task_score([s["result_lowest_loss"]
                                                        for s in settings]),
                       "settings": settings,
                       "settings_total": len(task_settings(task, protocol or "full"))}
    paper = PAPER_SCORES.get(layers)
    return {
        "layers": list(layers), "protocol": protocol, "epochs": epochs,
        "paper_epochs": 200,
        "backend": sorted({p["backend"] for r in runs for p in _places(r)}),
        "device": sorted({p["device"] for r in runs for p in _places(r)}),
        "precision": sorted({r["settings"]["precision"] for r in runs}),
        "schedule": sorted({r["settings"].get("schedule", "cosine") for r in runs}),
        "tasks": tasks,
        "mad_score": mad_score({t: v["score"] for t, v in tasks.items()}),
        "mad_score_lowest_loss": mad_score({t: v["score_lowest_loss"] for t, v in tasks.items()}),
        "paper": dict(paper) if paper is not None else None,
        "runs_done": len(runs), "runs_planned": len(planned) or None,
        "missing": missing, "stopped": stopped, "stopped_best": stopped_best,
        "interrupted": interrupted, "failed": failed,
    }


def _places(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Where a run's epochs ran: its ``places`` for a run resumed elsewhere, else its
    settings'."""
    return run.get("places") or [run["settings"]]


def _order(task: str, slug: str, full: list[dict[str, Any]]) -> int:
    from ._benchmark import setting_slug

    for i in range(len(full)):
        if setting_slug(task, i) == slug:
            return i
    return len(full)


def format_scores(scores: dict[str, Any]) -> str:
    """``scores.md``: the task table (ours, MAD-Lab's checkpoint accuracy, the paper's), the
    settings' results and what is missing."""
    paper = scores["paper"]
    epochs = ", ".join(map(str, scores["epochs"]))
    short = scores["epochs"] != [200]
    lines = [f"# MAD scores: {', '.join(scores['layers'])}", "",
             f"Protocol: **{scores['protocol'] or 'unknown'}** settings, the lr x wd grid, "
             f"**{epochs} epochs** at most"
             + (" (a shortened protocol: the paper trains 200)" if short else "")
             + ("" if scores.get("schedule", ["cosine"]) == ["cosine"] else
                f", learning rate **{', '.join(scores['schedule'])}** (constant: MAD-Lab's "
                f"code as it runs)")
             + f"; {', '.join(scores['backend'])} on {', '.join(scores['device'])}, precision "
             f"{', '.join(scores['precision'])}. Runs: {scores['runs_done']}"
             + (f" of {scores['runs_planned']}" if scores["runs_planned"] else "") + ".", "",
             "Scores in %: a run's result is its best epoch's test accuracy (the paper's "
             "definition); *at lowest loss* takes each run's accuracy at its lowest test "
             "perplexity instead (MAD-Lab's reported checkpoint). A setting's result is the "
             "best run of the grid, a task's the mean of its settings, the MAD score the mean "
             "of the tasks.", ""]
    head = "| task | ours | ours at lowest loss | " + ("paper | ours - paper | " if paper else "") \
        + "settings |"
    lines += [head, "|" + " --- |" * (head.count("|") - 1)]
    for task, t in scores["tasks"].items():
        row = f"| {task} | {t['score']:.1f} | {t['score_lowest_loss']:.1f} | "
        if paper:
            row += f"{paper[task]:.1f} | {t['score'] - paper[task]:+.1f} | "
        lines.append(row + f"{len(t['settings'])} of {t['settings_total']} |")
    if len(scores["tasks"]) == len(TASKS):
        row = f"| **MAD score** | **{scores['mad_score']:.1f}** | " \
              f"{scores['mad_score_lowest_loss']:.1f} | "
        if paper:
            row += f"{paper['mean']:.1f} | {scores['mad_score'] - paper['mean']:+.1f} | "
    else:  # a mean over some tasks is not a MAD score: shown, but not as one
        row = f"| mean of the tasks run (not a MAD score) | {scores['mad_score']:.1f} | " \
              f"{scores['mad_score_lowest_loss']:.1f} | "
        if paper:
            row += f"{paper['mean']:.1f} (all six) | | "
    lines.append(row + f"{len(scores['tasks'])} of {len(TASKS)} tasks |")
    if paper is None:
        lines += ["", "The paper has no score for this layer list."]
    elif len(scores["tasks"]) < len(TASKS) or scores["protocol"] != "full":
        lines += ["", "The paper's numbers are its full protocol (every setting, 200 epochs); "
                      "compare with care where ours covers less."]
    lines += ["", "## Settings", "", "| task | setting | result | at lowest loss | best run | "
              "runs |", "| --- | --- | --- | --- | --- | --- |"]
    for task, t in scores["tasks"].items():
        for s in t["settings"]:
            runs = ", ".join(f"{k} {v:.1f}" for k, v in s["runs"].items())
            if s["missing"]:
                runs += f"; missing {', '.join(s['missing'])}"
            lines.append(f"| {task} | {s['setting']} | {s['result']:.1f} | "
                         f"{s['result_lowest_loss']:.1f} | {s['best_run']} | {runs} |")
    if scores["missing"]:
        lines += ["", f"## Missing runs ({len(scores['missing'])})", ""]
        lines += [f"- {m}{_missing_note(m, scores)}" for m in scores["missing"]]
    return "\n".join(lines) + "\n"


def _ends_interrupted(log_file: Path) -> bool:
    """Whether a run's log ends as a run stopped by Ctrl-C or by its benchmark does."""
    with open(log_file, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - 400))
        tail = f.read().decode("utf-8", "replace").strip().splitlines()
    return bool(tail) and tail[-1].strip() in INTERRUPTED_ENDINGS


def _missing_note(run: str, scores: dict[str, Any]) -> str:
    """What scores.md says after a missing run's name."""
    epochs = scores["stopped"].get(run)
    if epochs is not None:
        best = scores.get("stopped_best", {}).get(run)
        so_far = "" if best is None else f", best test accuracy so far {best:.1f}"
        return f" (stopped after epoch {epochs}{so_far}; the same benchmark command resumes it)"
    if run in scores["interrupted"]:
        return " (interrupted before its first save; it starts over)"
    if run in scores["failed"]:
        return " (failed: see its log.txt)"
    return ""


def _missing_summary(scores: dict[str, Any]) -> str:
    """"N planned run(s) have no result yet (...)", counting the stopped and the failed."""
    counts = [(len(scores["stopped"]), "stopped part-way, resumed by the same command"),
              (len(scores["interrupted"]), "interrupted before their first save"),
              (len(scores["failed"]), "failed")]
    parts = [f"{n} {what}" for n, what in counts if n]
    return (f"{len(scores['missing'])} planned run(s) have no result yet"
            + (f" ({'; '.join(parts)})" if parts else ""))


def pyplot() -> Any | None:
    """matplotlib's pyplot on its file-only backend (Agg); None where matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save_png(fig: Any, path: str | os.PathLike[str], dpi: int) -> None:
    """Write ``fig`` to ``path`` through a temporary file renamed into place (a reader never
    sees half an image), and close it."""
    import matplotlib.pyplot as plt

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    os.replace(tmp, out)


def _plot(scores: dict[str, Any], path: Path) -> str | None:
    """Per-task bars, ours beside the paper's; None, or why there is no plot."""
    plt = pyplot()
    if plt is None:
        return "matplotlib is not installed (pip install matplotlib): no scores.png"
    tasks = list(scores["tasks"])
    paper = scores["paper"]
    fig, ax = plt.subplots(figsize=(1.3 * len(tasks) + 2, 3.6))
    width = 0.38 if paper else 0.6
    xs = range(len(tasks))
    ax.bar([x - (width / 2 if paper else 0) for x in xs],
           [scores["tasks"][t]["score"] for t in tasks], width, label="ember")
    if paper:
        ax.bar([x + width / 2 for x in xs], [paper[t] for t in tasks], width, label="paper")
    ax.set_xticks(list(xs), [t.replace("-", "\n", 1) for t in tasks], fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("score (%)")
    ax.set_title(f"{','.join(scores['layers'])}: MAD {scores['mad_score']:.1f}"
                 + (f" (paper {paper['mean']:.1f})" if paper else ""), fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_png(fig, path, dpi=120)
    return None


def report(out: str | os.PathLike[str], *, plot: bool = True,
           log: Callable[[str], None] | None = print) -> dict[str, Any]:
    """Write ``out/scores.json``, ``out/scores.md`` and ``out/scores.png`` (per-task bars,
    ours beside the paper's; skipped with a note without matplotlib) from the runs' results,
    and return the scores (:func:`score_runs`). ``log`` gets the table and where the files are.

    Raises:
        MADError: see :func:`score_runs`.
    """
    outdir = Path(out)
    scores = score_runs(outdir)
    text = format_scores(scores)
    write_json(outdir / "scores.json", scores)
    md = outdir / "scores.md"
    tmp = md.with_name(f".scores.md.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, md)
    note = _plot(scores, outdir / "scores.png") if plot else "no plot asked for"
    if log is not None:
        log(text.split("\n## Settings")[0].rstrip())
        if scores["missing"]:
            log(f"\n{_missing_summary(scores)}; scores.md lists them")
        log(f"\nwrote {md}, {outdir / 'scores.json'}"
            + (f", {outdir / 'scores.png'}" if note is None else f" ({note})"))
    return scores
