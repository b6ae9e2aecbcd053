"""``benchmark``: every (task setting x lr x weight decay) run of the MAD benchmark, each in a
process of its own (``python -m ember_mad train ...``), ``jobs`` at a time, resumable: a run
whose ``result.json`` exists is skipped, a run that failed is tried again next time."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import MADError
from ._options import (
    DEFAULT_LAYERS,
    check_layers,
    check_positive,
    check_schedule,
    check_weight_decay,
    write_json,
)
from ._progress import STOPPED_LINE, Progress, best_accuracy, saved_history
from ._tasks import LR_GRID, TASKS, WD_GRID, check_task, task_settings

__all__ = ["RunSpec", "benchmark", "plan_runs", "setting_slug"]

#: the file a benchmark directory describes itself in
CONFIG_FILE = "benchmark.json"
#: the default seconds between the benchmark's lines on its running runs
STATUS_SECONDS = 300.0


def _num(v: Any) -> str:
    """A number as a short stable string for a directory name (1e-4, 0.1, 0, 6400)."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    v = float(v)
    if v != 0 and abs(v) < 0.01:
        mantissa, exponent = f"{v:e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{v:g}"


def setting_slug(task: str, index: int) -> str:
    """A readable, stable name of ``task_settings(task, "full")[index]``: ``"baseline"``, or the
    parameter that differs from the baseline and its value (``"vocab_size-32"``).

    >>> setting_slug("memorization", 0), setting_slug("memorization", 2)
    ('baseline', 'vocab_size-1024')
    """
    settings = task_settings(task, "full")
    if not 0 <= index < len(settings):
        raise MADError(f"setting {index} of {task} does not exist: {task} has settings 0 to "
                       f"{len(settings) - 1} (0 is the baseline)")
    if index == 0:
        return "baseline"
    base, s = settings[0], settings[index]
    changed = [k for k in s if s[k] != base[k]]
    return "_".join(f"{k}-{_num(s[k])}" for k in changed)


def run_name(lr: float, weight_decay: float) -> str:
    """``lr1e-4_wd0.1``: the directory name of one point of the grid."""
    return f"lr{_num(lr)}_wd{_num(weight_decay)}"


@dataclass(frozen=True)
class RunSpec:
    """One run of the benchmark: where it writes, and its arguments."""

    task: str
    setting: int
    slug: str
    lr: float
    weight_decay: float
    directory: Path

    @property
    def done(self) -> bool:
        return (self.directory / "result.json").is_file()

    def argv(self, common: Sequence[str]) -> list[str]:
        return [sys.executable, "-m", "ember_mad", "train", "--task", self.task, "--setting",
                str(self.setting), "--lr", repr(self.lr), "--wd", repr(self.weight_decay),
                "--out", str(self.directory), "--no-progress", *common]


def _tasks(tasks: Sequence[str] | str | None) -> list[str]:
    if tasks is None:
        return list(TASKS)
    if isinstance(tasks, str):
        tasks = [t.strip() for t in tasks.split(",") if t.strip()]
    if not tasks:
        raise MADError(f"tasks must name at least one task of {', '.join(TASKS)}")
    return [check_task(t) for t in tasks]


def _grid(name: str, values: Sequence[float] | None, default: Sequence[float]) -> list[float]:
    values = list(default if values is None else values)
    if not values:
        raise MADError(f"{name} must hold at least one value")
    check = (lambda v: check_positive("lr", v, float)) if name == "lrs" else check_weight_decay
    return [check(v) for v in values]


def plan_runs(out: str | os.PathLike[str], *, protocol: str = "baseline",
              tasks: Sequence[str] | str | None = None, lrs: Sequence[float] | None = None,
              wds: Sequence[float] | None = None) -> list[RunSpec]:
    """The runs of a benchmark in ``out``: ``out/<task>/<setting>/lr<lr>_wd<wd>/`` for each
    task, each setting of ``protocol`` and each point of the grid (default ``LR_GRID`` x
    ``WD_GRID``), in that order.

    >>> [str(r.directory) for r in plan_runs("runs", tasks="memorization", lrs=[1e-4])]
    ['runs/memorization/baseline/lr1e-4_wd0', 'runs/memorization/baseline/lr1e-4_wd0.1']
    """
    if protocol not in ("baseline", "full"):
        raise MADError(f"unknown protocol {protocol!r}: use 'baseline' or 'full'")
    lr_list, wd_list = _grid("lrs", lrs, LR_GRID), _grid("wds", wds, WD_GRID)
    runs = []
    for task in _tasks(tasks):
        for index in range(len(task_settings(task, protocol))):
            slug = setting_slug(task, index)
            for lr in lr_list:
                for wd in wd_list:
                    runs.append(RunSpec(task, index, slug, lr, wd,
                                        Path(out) / task / slug / run_name(lr, wd)))
    return runs


def _check_config(out: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The directory's recorded benchmark must be this one (the same layers, epochs ...);
    returns the record to write: ``config``, its grid widened to the directory's (a call for
    some tasks or rates of a grid runs those, and the grid's report still covers all of it)."""
    path = out / CONFIG_FILE
    if not path.is_file():
        return config
    old = json.loads(path.read_text(encoding="utf-8"))
    keys = ("layers", "epochs", "dim", "batch_size", "seed", "precision", "schedule",
            "train_args")
    diff = [k for k in keys if old.get(k) != config.get(k)]
    if diff:
        what = ", ".join(f"{k}: {old.get(k)!r} there, {config.get(k)!r} now" for k in diff)
        raise MADError(f"{out} holds a benchmark with other settings ({what}); use another "
                       f"--out directory, or the same settings to resume it")
    tasks = set(config["tasks"]) | set(old.get("tasks") or ())
    return config | {
        "protocol": "full" if "full" in (old.get("protocol"), config["protocol"])
        else config["protocol"],
        "tasks": [t for t in TASKS if t in tasks],
        "lrs": sorted(set(config["lrs"]) | set(old.get("lrs") or ())),
        "wds": sorted(set(config["wds"]) | set(old.get("wds") or ()))}


def benchmark(layers: Sequence[str] | str = DEFAULT_LAYERS, *,
              out: str | os.PathLike[str], protocol: str = "baseline",
              tasks: Sequence[str] | str | None = None, lrs: Sequence[float] | None = None,
              wds: Sequence[float] | None = None, epochs: int = 200, jobs: int = 1,
              backend: str | None = None, device: str | None = None, precision: str = "auto",
              compile: str = "auto", dim: int = 128, batch_size: int = 128, seed: int = 12345,
              schedule: str = "cosine", train_args: Sequence[str] = (),
              status_every: float = STATUS_SECONDS,
              log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the MAD benchmark of ``layers`` into ``out`` and write its report; returns the
    scores (``scores.json``'s content).

    Each run is ``python -m ember_mad train ...`` in a process of its own, ``jobs`` at once
    (several fit on one GPU), writing ``out/<task>/<setting>/lr<lr>_wd<wd>/result.json`` and
    its output to ``log.txt`` beside it. A run whose ``result.json`` exists is skipped, so
    calling again resumes; one that failed is tried again (and until then reported missing).
    The runs start highest learning rate first, each task's in turn, so a benchmark cut short
    has a result for every task sooner.
    A line is logged per finished run, and every ``status_every`` seconds one that says where
    the running runs are (their last saved epoch and best test accuracy so far; 0: never).
    ``out/benchmark.json`` records the settings; a
    directory holding another benchmark (other layers, epochs ...) is refused.

    Arguments:
        layers: the model's layer names (a list or ``"mh-attention,swiglu,..."``).
        out: the benchmark's directory.
        protocol: ``"baseline"`` (each task's baseline setting) or ``"full"`` (the difficulty
            sweeps too: 66 settings).
        tasks: a subset of the tasks (default all six).
        lrs, wds: the grid (default ``LR_GRID`` x ``WD_GRID``).
        epochs: the most epochs per run (200 is the paper's; fewer is a shortened protocol,
            which the report says).
        jobs: runs at once.
        backend, device, precision, compile, dim, batch_size, seed, schedule: passed to every
            run (see :func:`ember_mad.train`).
        train_args: more arguments for every run's ``ember mad train`` (e.g.
            ``["--num-train-examples", "256"]``; the tests use it for tiny runs).
        status_every: seconds between the lines on the running runs (0: none).
        log: where the progress lines go.

    Raises:
        MADError: bad arguments; a directory of another benchmark.
    """
    from ._report import report

    layers = check_layers(layers)
    schedule = check_schedule(schedule)
    epochs, jobs = check_positive("epochs", epochs), check_positive("jobs", jobs)
    if (isinstance(status_every, bool) or not isinstance(status_every, int | float)
            or not math.isfinite(status_every) or status_every < 0):
        raise MADError(f"status_every must be a number of seconds >= 0 (0: no status lines), "
                       f"got {status_every!r}")
    runs = plan_runs(out, protocol=protocol, tasks=tasks, lrs=lrs, wds=wds)
    outdir = Path(out)
    config = {"layers": list(layers), "protocol": protocol,
              "tasks": sorted({r.task for r in runs}, key=TASKS.index),
              "lrs": sorted({r.lr for r in runs}), "wds": sorted({r.weight_decay for r in runs}),
              "epochs": epochs, "dim": dim, "batch_size": batch_size, "seed": seed,
              "precision": precision, "backend": backend, "device": device,
              "train_args": list(train_args)}
    if schedule != "cosine":  # directories written before the option have no entry
        config["schedule"] = schedule
    write_json(outdir / CONFIG_FILE, _check_config(outdir, config))
    common = ["--layers", ",".join(layers), "--epochs", str(epochs), "--dim", str(dim),
              "--batch-size", str(batch_size), "--seed", str(seed), "--precision", precision,
              "--compile", str(compile).lower(), "--schedule", schedule]
    if backend:
        common += ["--backend", backend]
    if device:
        common += ["--device", device]
    common += [str(a) for a in train_args]
    todo = _run_order(runs)
    log(f"{len(runs)} run{'s' * (len(runs) != 1)}, {len(runs) - len(todo)} done already, {len(todo)} to run, "
        f"{jobs} at a time -> {outdir}")
    _run_all(todo, common, jobs, log, status_every)
    return report(outdir, log=log)


def _run_order(runs: Sequence[RunSpec]) -> list[RunSpec]:
    """The runs not done yet, in the order ``benchmark`` starts them: those with saved progress
    first (a grid cut short by a time limit finishes what it started instead of leaving more
    runs half done), then the grid's likeliest winners (the highest rates), every task's in
    turn, so a grid cut short still has a result for each task."""
    return sorted((r for r in runs if not r.done),
                  key=lambda r: (not Progress.path(r.directory).is_dir(), -r.lr, r.weight_decay))


def _duration(seconds: float) -> str:
    """Seconds as a short duration: 45 s, 36 min, 2.4 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _pace(history: Sequence[dict[str, Any]]) -> float | None:
    """A run's seconds an epoch now: the median of its last five epochs' times, the first
    epoch left out once there are others (it compiles the step)."""
    times = [float(h["seconds"]) for h in history[1:][-5:] or history[:1]
             if isinstance(h.get("seconds"), int | float) and math.isfinite(h["seconds"])]
    return statistics.median(times) if times else None


def _saved_at(directory: Path) -> float:
    """When the run in ``directory`` last saved its progress (wall time; 0 where unknown)."""
    try:
        return Progress.path(directory).stat().st_mtime
    except OSError:
        return 0.0


def _status(running: Sequence[tuple[RunSpec, float]], elapsed: float) -> str:
    """One line on the running runs (each with the wall time its process started): each one's
    last saved epoch, best test accuracy, and seconds an epoch in the place it runs now with
    the most time left (an early stop may end it sooner); a run resumed from an earlier call
    that has saved no epoch since says how long it has been going."""
    parts = []
    for spec, started in running:
        where = f"{spec.task} {spec.slug} {spec.directory.name}"
        saved = saved_history(spec.directory)
        if saved is None or not saved[0]:
            parts.append(f"{where} starting")
            continue
        history, epochs, here = saved
        best = best_accuracy(history)
        best_text = "-" if best is None else f"{best:.4f}"
        if _saved_at(spec.directory) < started:  # the epochs are an earlier call's
            timing = (f"; resumed, no epoch saved in the {_duration(time.time() - started)} "
                      "since")
        else:
            pace = _pace(history[-here:] if here else history)
            timing = "" if pace is None else f"; {pace:.1f} s an epoch" + (
                f", at most {_duration(pace * (epochs - len(history)))} left"
                if epochs and epochs > len(history) else "")
        parts.append(f"{where} epoch {len(history)}" + (f"/{epochs}" if epochs else "")
                     + f" (best {best_text}{timing})")
    return f"[{elapsed:.0f} s] running: " + "; ".join(parts)


def _run_all(todo: list[RunSpec], common: list[str], jobs: int,
             log: Callable[[str], None], status_every: float = STATUS_SECONDS) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    pending = list(todo)
    running: list[tuple[RunSpec, subprocess.Popen[bytes], Any, float]] = []
    finished, failed, t0 = 0, 0, time.perf_counter()
    last_status = t0
    try:
        while pending or running:
            now = time.perf_counter()
            if status_every > 0 and running and now - last_status >= status_every:
                log(_status([(spec, started) for spec, _, _, started in running], now - t0))
                last_status = now
            while pending and len(running) < jobs:
                spec = pending.pop(0)
                spec.directory.mkdir(parents=True, exist_ok=True)
                logf = open(spec.directory / "log.txt", "w", encoding="utf-8")  # noqa: SIM115
                proc = subprocess.Popen(spec.argv(common), stdout=logf, stderr=subprocess.STDOUT,
                                        env=env)
                running.append((spec, proc, logf, time.time()))
            time.sleep(0.2)
            for item in list(running):
                spec, proc, logf, _ = item
                rc = proc.poll()
                if rc is None:
                    continue
                running.remove(item)
                logf.close()
                finished += 1
                where = f"[{finished}/{len(todo)}] {spec.task} {spec.slug} {spec.directory.name}"
                if rc == 0 and spec.done:
                    r = json.loads((spec.directory / "result.json").read_text(encoding="utf-8"))
                    log(f"{where}: best {r['best_accuracy']:.4f} (at lowest loss "
                        f"{r['lowest_loss_accuracy']:.4f}), {r['epochs_run']} epochs"
                        f"{_nan(r)}, "
                        f"{r['seconds']:.0f} s  [{time.perf_counter() - t0:.0f} s]")
                else:
                    failed += 1
                    tail = _tail(spec.directory / "log.txt")
                    log(f"{where}: FAILED (exit {rc}); see {spec.directory / 'log.txt'}: {tail}")
    except KeyboardInterrupt:
        log(f"interrupted after {finished} of {len(todo)} runs; stopping the {len(running)} "
            f"running (each goes on from its last saved progress when the same command runs again)")
        raise
    finally:
        for _spec, proc, logf, _ in running:  # interrupted: stop the runs this call started
            proc.terminate()
            proc.wait()
            logf.write(f"\n{STOPPED_LINE}\n")
            logf.close()
    if failed:
        log(f"{failed} run(s) failed; run the same command again to retry them")


def _nan(result: dict[str, Any]) -> str:
    """A diverged run's epoch and replayed steps, for its line in the benchmark's log."""
    if not result.get("diverged_epoch"):
        return ""
    from ._divergence import describe

    return f" (the loss went NaN{describe(result.get('divergence'))})"


def _tail(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""
