"""``ember mad train|benchmark|report`` and ``python -m ember_mad``: the benchmark's run
directories, resume (a second call skips finished runs, retries failed ones), the report's
aggregation on hand-made result files (numbers checked by hand), the paper's columns, and the
commands' errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import ember_mad
import pytest
from ember_mad._cli import main

TINY_RUN = ["--num-train-examples", "32", "--num-test-examples", "16"]


def _fake(out: Path, task: str, slug: str, lr: str, wd: str, best: float, low: float,
          layers: tuple[str, ...] = ember_mad.DEFAULT_LAYERS, epochs: int = 200) -> None:
    d = out / task / slug / f"lr{lr}_wd{wd}"
    d.mkdir(parents=True)
    (d / "result.json").write_text(json.dumps({
        "task": task, "layers": list(layers), "best_accuracy": best,
        "lowest_loss_accuracy": low, "epochs_run": 10, "seconds": 1.0,
        "settings": {"epochs": epochs, "backend": "torch", "device": "cuda",
                     "precision": "bf16-mixed", "task_params": {"vocab_size": 16},
                     "num_train_examples": 12800}}))


def test_run_directories() -> None:
    runs = ember_mad.plan_runs("B", protocol="full", tasks="memorization")
    assert len(runs) == 6 * 6
    assert [str(r.directory) for r in runs[:7]] == [
        "B/memorization/baseline/lr1e-4_wd0", "B/memorization/baseline/lr1e-4_wd0.1",
        "B/memorization/baseline/lr5e-4_wd0", "B/memorization/baseline/lr5e-4_wd0.1",
        "B/memorization/baseline/lr1e-3_wd0", "B/memorization/baseline/lr1e-3_wd0.1",
        "B/memorization/vocab_size-512/lr1e-4_wd0"]
    assert ember_mad.setting_slug("noisy-in-context-recall", 11) == "frac_noise-0.4"
    assert len(ember_mad.plan_runs("B")) == 6 * 6  # the baseline protocol: 6 tasks x grid


def test_report_aggregates_by_hand(tmp_path: Path) -> None:
    """memorization: baseline best of the grid 0.9 (at lowest loss 0.8), vocab_size-512 0.5
    (0.5): task score (90 + 50) / 2 = 70, at lowest loss (80 + 50) / 2 = 65; compression 0.4
    -> 40; MAD score (70 + 40) / 2 = 55."""
    _fake(tmp_path, "memorization", "baseline", "1e-4", "0", 0.9, 0.7)
    _fake(tmp_path, "memorization", "baseline", "1e-3", "0.1", 0.6, 0.8)
    _fake(tmp_path, "memorization", "vocab_size-512", "1e-4", "0", 0.5, 0.5)
    _fake(tmp_path, "compression", "baseline", "5e-4", "0", 0.4, 0.3)
    (tmp_path / "benchmark.json").write_text(json.dumps(
        {"protocol": "full", "tasks": ["memorization"], "lrs": [1e-4, 1e-3], "wds": [0.0, 0.1],
         "layers": list(ember_mad.DEFAULT_LAYERS)}))
    lines: list[str] = []
    s = ember_mad.report(tmp_path, plot=False, log=lines.append)
    mem = s["tasks"]["memorization"]
    assert [x["result"] for x in mem["settings"]] == pytest.approx([90.0, 50.0])
    assert mem["score"] == pytest.approx(70.0) and mem["score_lowest_loss"] == pytest.approx(65.0)
    assert mem["settings"][0]["best_run"] == "lr1e-4_wd0"
    assert s["tasks"]["compression"]["score"] == pytest.approx(40.0)
    assert s["mad_score"] == pytest.approx(55.0)
    assert s["paper"]["memorization"] == 85.2  # the transformer's row
    # planned: memorization's 6 settings x 2 x 2 = 24 runs, 3 of them done
    assert len(s["missing"]) == 21 and "memorization/baseline/lr1e-4_wd0.1" in s["missing"]
    md = (tmp_path / "scores.md").read_text()
    assert "| memorization | 70.0 | 65.0 | 85.2 | -15.2 | 2 of 6 |" in md
    assert "| mean of the tasks run (not a MAD score) | 55.0 | 47.5 | 74.5 (all six) | | 2 of 6 tasks |" in md
    assert "## Missing runs (21)" in md and "200 epochs" in md and "shortened" not in md
    assert json.loads((tmp_path / "scores.json").read_text())["mad_score"] == pytest.approx(55.0)
    assert any("21 planned run(s) have no result yet" in ln for ln in lines)


def test_report_tells_stopped_interrupted_and_failed_runs(tmp_path: Path) -> None:
    """Of the planned runs without a result: one with saved progress is stopped (after its
    epochs, resumed), one whose log ends in a Ctrl-C is interrupted, one whose log ends in an
    error failed, one without a log has not started."""
    import ember_nn

    _fake(tmp_path, "memorization", "baseline", "1e-3", "0", 0.9, 0.9)
    (tmp_path / "benchmark.json").write_text(json.dumps(
        {"protocol": "baseline", "tasks": ["memorization"], "lrs": [1e-4, 1e-3],
         "wds": [0.0, 0.1], "layers": list(ember_mad.DEFAULT_LAYERS)}))
    base = tmp_path / "memorization" / "baseline"
    ember_nn.save(ember_nn.Dense(2, 2), base / "lr1e-3_wd0.1" / "progress",
                  extra={"history": [{"epoch": 1, "test_accuracy": 0.25},
                                      {"epoch": 2, "test_accuracy": 0.625},
                                      {"epoch": 3, "test_accuracy": float("nan")}]})
    (base / "lr1e-3_wd0.1" / "log.txt").write_text("epoch 3\nember mad: interrupted\n")
    (base / "lr1e-4_wd0").mkdir(parents=True)
    (base / "lr1e-4_wd0" / "log.txt").write_text("Traceback ...\nKeyboardInterrupt\n")
    (base / "lr1e-4_wd0.1").mkdir(parents=True)
    (base / "lr1e-4_wd0.1" / "log.txt").write_text("ember mad: error: out of memory\n")
    lines: list[str] = []
    s = ember_mad.report(tmp_path, plot=False, log=lines.append)
    assert s["stopped"] == {"memorization/baseline/lr1e-3_wd0.1": 3}
    assert s["stopped_best"] == {"memorization/baseline/lr1e-3_wd0.1": pytest.approx(62.5)}
    assert s["interrupted"] == ["memorization/baseline/lr1e-4_wd0"]
    assert s["failed"] == ["memorization/baseline/lr1e-4_wd0.1"]
    md = (tmp_path / "scores.md").read_text()
    assert ("- memorization/baseline/lr1e-3_wd0.1 (stopped after epoch 3, best test accuracy so "
            "far 62.5; the same benchmark command resumes it)") in md
    assert "- memorization/baseline/lr1e-4_wd0 (interrupted before its first save; it starts " \
           "over)" in md
    assert "- memorization/baseline/lr1e-4_wd0.1 (failed: see its log.txt)" in md
    # no finished run at all: the error names the runs that are under way
    (base / "lr1e-3_wd0" / "result.json").unlink()
    with pytest.raises(ember_mad.MADError, match=r"holds no result\.json of a finished run yet; "
                       r"1 run\(s\) have saved progress \(memorization/baseline/lr1e-3_wd0\.1 "
                       r"after epoch 3\): the same benchmark command resumes them"):
        ember_mad.report(tmp_path, plot=False, log=None)
    assert ("3 planned run(s) have no result yet (1 stopped part-way, resumed by the same "
            "command; 1 interrupted before their first save; 1 failed); scores.md lists them"
            in "".join(lines))


def test_report_shortened_and_other_layers(tmp_path: Path) -> None:
    _fake(tmp_path, "memorization", "baseline", "1e-4", "0", 0.5, 0.5, layers=("mlp",),
          epochs=20)
    s = ember_mad.report(tmp_path, plot=False, log=None)
    assert s["paper"] is None and s["epochs"] == [20]
    md = (tmp_path / "scores.md").read_text()
    assert "20 epochs** at most (a shortened protocol: the paper trains 200)" in md
    assert "The paper has no score for this layer list." in md
    _fake(tmp_path, "compression", "baseline", "1e-4", "0", 0.5, 0.5)
    with pytest.raises(ember_mad.MADError, match="mixes runs of different layer lists"):
        ember_mad.report(tmp_path, log=None)


def test_benchmark_resumes(tmp_path: Path) -> None:
    """Four tiny runs, two at a time; a second call runs nothing; a run whose result is
    removed runs again; the scores and the plot are written."""
    kw = dict(out=tmp_path, tasks="memorization,compression", lrs=[1e-3], epochs=1, dim=8,
              jobs=2, backend="numpy", train_args=TINY_RUN)
    lines: list[str] = []
    s = ember_mad.benchmark(["mlp", "swiglu"], log=lines.append, **kw)  # type: ignore[arg-type]
    assert lines[0].startswith("4 runs, 0 done already, 4 to run, 2 at a time")
    assert sum(ln.startswith("[") and ": best " in ln for ln in lines) == 4 and s["runs_done"] == 4 and not s["missing"]
    for r in ember_mad.plan_runs(tmp_path, tasks="memorization,compression", lrs=[1e-3]):
        assert (r.directory / "log.txt").is_file() and r.done
    assert (tmp_path / "scores.md").is_file()
    lines.clear()
    ember_mad.benchmark(["mlp", "swiglu"], log=lines.append, **kw)  # type: ignore[arg-type]
    assert lines[0].startswith("4 runs, 4 done already, 0 to run")
    (tmp_path / "compression" / "baseline" / "lr1e-3_wd0.1" / "result.json").unlink()
    lines.clear()
    ember_mad.benchmark(["mlp", "swiglu"], log=lines.append, **kw)  # type: ignore[arg-type]
    assert lines[0].startswith("4 runs, 3 done already, 1 to run")
    # a call for part of the grid runs that part; the directory's plan and report keep it all
    (tmp_path / "compression" / "baseline" / "lr1e-3_wd0" / "result.json").unlink()
    lines.clear()
    part = {**kw, "tasks": "compression", "wds": [0.0]}
    s = ember_mad.benchmark(["mlp", "swiglu"], log=lines.append, **part)  # type: ignore[arg-type]
    assert lines[0].startswith("1 run, 0 done already, 1 to run")
    assert (s["runs_done"], s["runs_planned"], s["missing"]) == (4, 4, [])
    config = json.loads((tmp_path / "benchmark.json").read_text())
    assert (config["tasks"], config["wds"]) == (["memorization", "compression"], [0.0, 0.1])
    with pytest.raises(ember_mad.MADError, match="holds a benchmark with other settings"):
        ember_mad.benchmark(["mlp"], log=lines.append, **kw)  # type: ignore[arg-type]
    # a cosine grid takes no constant-rate runs (and the directory's record has no schedule:
    # grids written before the option read as cosine)
    assert "schedule" not in config
    with pytest.raises(ember_mad.MADError, match="schedule: None there, 'constant' now"):
        ember_mad.benchmark(["mlp", "swiglu"], schedule="constant", log=lines.append,
                            **kw)  # type: ignore[arg-type]
    with pytest.raises(ember_mad.MADError, match="schedule must be one of"):
        ember_mad.benchmark(["mlp", "swiglu"], schedule="step", log=lines.append,
                            **kw)  # type: ignore[arg-type]
    const = {**kw, "out": tmp_path / "constant", "tasks": "memorization", "wds": [0.0]}
    s = ember_mad.benchmark(["mlp"], schedule="constant", log=lines.append,
                            **const)  # type: ignore[arg-type]
    assert s["schedule"] == ["constant"] and json.loads(
        (tmp_path / "constant" / "benchmark.json").read_text())["schedule"] == "constant"
    assert "learning rate **constant**" in (tmp_path / "constant" / "scores.md").read_text()


def test_a_grid_takes_runs_from_another_device_but_not_another_precision(tmp_path: Path) -> None:
    """A GPU grid's cheap runs can be made on the CPU: a call with another backend or device
    runs into the same directory and the report names every device its results came from;
    a call with another precision is refused before any run starts."""
    _fake(tmp_path, "memorization", "baseline", "1e-3", "0", 0.5, 0.5, layers=("mlp",), epochs=1)
    made = tmp_path / "memorization" / "baseline" / "lr1e-3_wd0" / "result.json"
    result = json.loads(made.read_text())
    result["settings"]["precision"] = "32"  # a GPU run of this grid
    made.write_text(json.dumps(result))
    (tmp_path / "benchmark.json").write_text(json.dumps({
        "layers": ["mlp"], "protocol": "baseline", "tasks": ["memorization"], "lrs": [1e-3],
        "wds": [0.0, 0.1], "epochs": 1, "dim": 8, "batch_size": 128, "seed": 12345,
        "precision": "32", "backend": "torch", "device": "cuda", "train_args": TINY_RUN}))
    lines: list[str] = []
    s = ember_mad.benchmark(["mlp"], out=tmp_path, tasks="memorization", lrs=[1e-3], epochs=1,
                            dim=8, backend="numpy", device="cpu", precision="32",
                            train_args=TINY_RUN, log=lines.append)
    assert lines[0].startswith("2 runs, 1 done already, 1 to run")
    assert (s["runs_done"], s["backend"], s["device"]) == (2, ["numpy", "torch"], ["cpu", "cuda"])
    assert "; numpy, torch on cpu, cuda, precision 32. Runs: 2 of 2." in (
        tmp_path / "scores.md").read_text()
    with pytest.raises(ember_mad.MADError, match="precision: '32' there, 'bf16-mixed' now"):
        ember_mad.benchmark(["mlp"], out=tmp_path, tasks="memorization", lrs=[1e-3], epochs=1,
                            dim=8, backend="torch", device="cpu", precision="bf16-mixed",
                            train_args=TINY_RUN, log=lines.append)


def test_benchmark_resumes_started_runs_first(tmp_path: Path) -> None:
    """The order runs start in: those with saved progress first, then the highest rate and
    the lower weight decay first, each task in turn; finished runs are left out."""
    import ember_nn
    from ember_mad._benchmark import _run_order

    runs = ember_mad.plan_runs(tmp_path, tasks="memorization,compression", lrs=[1e-4, 1e-3])
    by_name = {f"{r.task} {r.directory.name}": r for r in runs}
    ember_nn.save(ember_nn.Dense(2, 2), by_name["compression lr1e-4_wd0.1"].directory / "progress",
                  extra={"history": [], "settings": {"epochs": 200}})
    _fake(tmp_path, "memorization", "baseline", "1e-3", "0", 0.5, 0.5)
    assert [f"{r.task} {r.directory.name}" for r in _run_order(runs)] == [
        "compression lr1e-4_wd0.1", "compression lr1e-3_wd0", "memorization lr1e-3_wd0.1",
        "compression lr1e-3_wd0.1", "memorization lr1e-4_wd0", "compression lr1e-4_wd0",
        "memorization lr1e-4_wd0.1"]


def test_interrupted_benchmark_stops_its_runs(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C (here: raised where the first finished run is logged) stops the runs still going,
    says how to resume, and the command exits 130 without a traceback."""
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        if line.startswith("[1/"):
            raise KeyboardInterrupt

    kw = dict(out=tmp_path, tasks="memorization", lrs=[1e-3], epochs=1, dim=8, jobs=2,
              backend="numpy", train_args=TINY_RUN)
    with pytest.raises(KeyboardInterrupt):
        ember_mad.benchmark(["mlp"], log=log, **kw)  # type: ignore[arg-type]
    assert lines[-1] == ("interrupted after 1 of 2 runs; stopping the 1 running (each goes on "
                         "from its last saved progress when the same command runs again)")
    # the run that was going (or had just ended, unlogged) is marked in its log as stopped
    logged = lines[-2].split()[3]  # "[1/2] memorization baseline lrX_wdY: ..."
    other = [r for r in ember_mad.plan_runs(tmp_path, tasks="memorization", lrs=[1e-3])
             if r.directory.name != logged.rstrip(":")]
    assert len(other) == 1
    assert (other[0].directory / "log.txt").read_text().rstrip().endswith(
        "ember mad benchmark: stopped this run")
    s = ember_mad.report(tmp_path, plot=False, log=None)
    assert s["failed"] == [] and len(s["missing"]) == len(s["interrupted"]) <= 1

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as m:
        m.setattr("ember_mad._benchmark._run_all", interrupted)
        code = main(["benchmark", "--layers", "mlp", "--out", str(tmp_path / "cli"), "--tasks",
                     "memorization", "--lrs", "1e-3", "--epochs", "1", "--dim", "8",
                     "--backend", "numpy"])
    assert code == 130 and "ember mad: interrupted" in capsys.readouterr().err


def test_status_lines_say_where_the_running_runs_are(tmp_path: Path) -> None:
    """The status line reads each running run's saved progress: its epochs of the planned
    and its best test accuracy so far, or "starting" before its first save, the pace of the
    place it runs in now, or how long a resumed run has gone without a save; benchmark logs
    one every ``status_every`` seconds while runs go, and refuses a bad interval."""
    import ember_nn
    from ember_mad._benchmark import _status

    a, b = ember_mad.plan_runs(tmp_path, tasks="memorization", lrs=[1e-3])
    history = [{"epoch": 1, "test_accuracy": 0.25, "seconds": 80.0},
               {"epoch": 2, "test_accuracy": 0.5, "seconds": 10.0},
               {"epoch": 3, "test_accuracy": 0.375, "seconds": 12.0}]
    ember_nn.save(ember_nn.Dense(2, 2), a.directory / "progress",
                  extra={"history": history, "settings": {"epochs": 200}})
    # the pace leaves out the first (compiling) epoch: median(10, 12) = 11 s, 197 epochs left
    assert _status([(a, 0.0), (b, 0.0)], 61.7) == (
        "[62 s] running: memorization baseline lr1e-3_wd0 epoch 3/200 (best 0.5000; 11.0 s "
        "an epoch, at most 36 min left); memorization baseline lr1e-3_wd0.1 starting")
    for epochs, kept, end in [(3, 1, "epoch 1/3 (best 0.2500; 80.0 s an epoch, at most 3 min "
                                     "left)"),  # only the first epoch: its time is the pace
                              (2000, 3, "epoch 3/2000 (best 0.5000; 11.0 s an epoch, at most "
                                        "6.1 h left)"),
                              (5, 3, "epoch 3/5 (best 0.5000; 11.0 s an epoch, at most 22 s "
                                     "left)")]:
        ember_nn.save(ember_nn.Dense(2, 2), a.directory / "progress",
                      extra={"history": history[:kept], "settings": {"epochs": epochs}})
        assert _status([(a, 0.0)], 0).endswith(end)
    ember_nn.save(ember_nn.Dense(2, 2), a.directory / "progress",
                  extra={"history": [{"epoch": 1, "test_accuracy": 0.25}],
                         "settings": {"epochs": 1}})
    assert _status([(a, 0.0)], 0).endswith("epoch 1/1 (best 0.2500)")
    # resumed in another place: the pace is of the epochs there, the first (compiling) left out
    moved = history + [{"epoch": 4, "test_accuracy": 0.5, "seconds": 500.0},
                       {"epoch": 5, "test_accuracy": 0.625, "seconds": 300.0},
                       {"epoch": 6, "test_accuracy": 0.5, "seconds": 320.0}]
    ember_nn.save(ember_nn.Dense(2, 2), a.directory / "progress",
                  extra={"history": moved, "settings": {"epochs": 8},
                         "places": [{"backend": "torch", "device": "cuda", "compile": True,
                                     "epochs": 3},
                                    {"backend": "torch", "device": "cpu", "compile": False,
                                     "epochs": 3}]})
    assert _status([(a, 0.0)], 0).endswith("epoch 6/8 (best 0.6250; 310.0 s an epoch, at most "
                                           "10 min left)")
    # a run resumed by this call that has saved nothing since: its earlier pace is not news
    now = time.time()
    os.utime(a.directory / "progress", (now - 1000, now - 1000))  # saved by an earlier call
    assert _status([(a, now - 1200)], 0).endswith("epoch 6/8 (best 0.6250; 310.0 s an epoch, "
                                                  "at most 10 min left)")
    assert _status([(a, now - 600)], 0).endswith(
        "epoch 6/8 (best 0.6250; resumed, no epoch saved in the 10 min since)")
    lines: list[str] = []
    # a run of ~1 s (4,096 examples; a tiny run ends in ~0.4 s, about when the benchmark's
    # 0.2 s poll first looks), so a status line falls inside it on a fast machine too
    ember_mad.benchmark(["mlp"], out=tmp_path / "b", tasks="memorization", lrs=[1e-3],
                        wds=[0.0], epochs=1, dim=8, backend="numpy",
                        train_args=["--num-train-examples", "4096", "--num-test-examples", "16"],
                        status_every=0.05, log=lines.append)
    log = (tmp_path / "b" / "memorization" / "baseline" / "lr1e-3_wd0" / "log.txt")
    assert any(ln.startswith("[") and "running: memorization baseline lr1e-3_wd0 " in ln
               for ln in lines), (lines, log.read_text() if log.exists() else None)
    for bad in (-1, float("nan"), "5", True):
        with pytest.raises(ember_mad.MADError, match="status_every must be a number of seconds"):
            ember_mad.benchmark(["mlp"], out=tmp_path / "c", status_every=bad)  # type: ignore[arg-type]


def test_failed_run_is_reported_and_retried(tmp_path: Path) -> None:
    lines: list[str] = []
    # a run that fails: an unknown task parameter given to every run
    with pytest.raises(ember_mad.MADError, match=r"holds no result\.json"):
        ember_mad.benchmark(["mlp"], out=tmp_path, tasks="memorization", lrs=[1e-3], wds=[0.0],
                            epochs=1, dim=8, backend="numpy",
                            train_args=[*TINY_RUN, "--param", "bogus=1"], log=lines.append)
    assert any("FAILED (exit 1)" in ln and "takes no parameter 'bogus'" in ln for ln in lines)
    assert (tmp_path / "memorization" / "baseline" / "lr1e-3_wd0" / "log.txt").is_file()


def test_cli_train_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["train", "--task", "memorization", "--layers", "mlp", "--epochs", "1", "--dim",
               "8", "--backend", "numpy", "--no-progress", "--out", str(tmp_path), *TINY_RUN])
    out = capsys.readouterr().out
    assert rc == 0 and "memorization mlp lr=0.0005 wd=0 on numpy/cpu (32, eager)" in out
    assert json.loads((tmp_path / "result.json").read_text())["settings"]["num_train_examples"] \
        == 32
    rc = main(["train", "--task", "memorization", "--layers", "mlp", "--epochs", "1", "--dim",
               "8", "--backend", "numpy", "--no-progress", "--out", str(tmp_path / "c"),
               "--schedule", "constant", *TINY_RUN])
    assert rc == 0 and "lr=0.0005 (constant) wd=0" in capsys.readouterr().out
    assert json.loads((tmp_path / "c" / "result.json").read_text())["settings"]["schedule"] \
        == "constant"
    for argv, message in [
        (["train", "--task", "recall"], "unknown MAD task 'recall'"),
        (["train", "--task", "memorization", "--layers", "mh-attention,bogus"],
         "unknown layer 'bogus'"),
        (["train", "--task", "memorization", "--lr", "-0.1"], "lr must be a finite number > 0"),
        (["train", "--task", "memorization", "--setting", "6"], "settings 0 to 5"),
        (["train", "--task", "memorization", "--param", "vocab_size"], "--param takes NAME=VALUE"),
        (["report", str(tmp_path / "none")], "is not a directory of MAD runs"),
        (["benchmark", "--tasks", "memorization,nope", "--out", str(tmp_path / "b")],
         "unknown MAD task 'nope'"),
    ]:
        assert main(argv) == 1, argv
        assert message in capsys.readouterr().err, argv
    with pytest.raises(SystemExit):
        main(["benchmark", "--lrs", "1e-3,x"])
    assert "expected comma-separated numbers" in capsys.readouterr().err


def test_python_m_and_ember_command(tmp_path: Path) -> None:
    ember = str(Path(sys.executable).parent / "ember")  # ember-core's console script
    for cmd in ([sys.executable, "-m", "ember_mad"], [ember, "mad"]):
        p = subprocess.run([*cmd, "report", str(tmp_path / "none")], capture_output=True,
                           text=True)
        assert p.returncode == 1 and "is not a directory of MAD runs" in p.stderr, p.stderr
    p = subprocess.run([ember, "mad", "--help"], capture_output=True,
                       text=True)
    assert p.returncode == 0 and "train" in p.stdout and "benchmark" in p.stdout


def test_report_gives_a_mad_score_only_over_all_six_tasks(tmp_path: Path) -> None:
    """One run per task's baseline at 0.5 .. 1.0: the MAD score is their mean, bold, beside the
    paper's 74.5."""
    values = dict(zip(ember_mad.TASKS, [0.5, 0.6, 0.7, 0.8, 0.9, 1.0], strict=True))
    for task, v in values.items():
        _fake(tmp_path, task, "baseline", "5e-4", "0", v, v)
    (tmp_path / "benchmark.json").write_text(json.dumps(
        {"protocol": "baseline", "tasks": list(ember_mad.TASKS), "lrs": [5e-4], "wds": [0.0],
         "layers": list(ember_mad.DEFAULT_LAYERS)}))
    s = ember_mad.report(tmp_path, plot=False, log=lambda _: None)
    assert s["mad_score"] == pytest.approx(75.0)
    md = (tmp_path / "scores.md").read_text()
    assert "| **MAD score** | **75.0** | 75.0 | 74.5 | +0.5 | 6 of 6 tasks |" in md


def test_compare_puts_benchmarks_in_one_table(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Per task: the best of the grid (memorization 0.9 -> 90.0, compression 0.4 -> 40.0),
    runs done of those planned (benchmark.json: one task's baseline x 2 x 2 = 4 runs), the
    paper's score for the transformer; the MAD score marked when tasks are missing."""
    a, b = tmp_path / "a", tmp_path / "b"
    _fake(a, "memorization", "baseline", "1e-4", "0", 0.9, 0.7)
    _fake(a, "memorization", "baseline", "1e-3", "0.1", 0.6, 0.8)
    _fake(a, "compression", "baseline", "1e-3", "0", 0.4, 0.3)
    (a / "benchmark.json").write_text(json.dumps(
        {"protocol": "baseline", "tasks": ["memorization", "compression"], "lrs": [1e-4, 1e-3],
         "wds": [0.0, 0.1], "layers": list(ember_mad.DEFAULT_LAYERS)}))
    _fake(b, "memorization", "baseline", "1e-4", "0", 0.25, 0.25, layers=("mlp", "mlp"))
    assert main(["compare", str(a), str(b)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| model | in-context-recall | ") and len(lines) == 4
    assert lines[2] == ("| Transformer | — / 94.1 | — / 86.8 | — / 29.8 | 90.0 (2/4) / 85.2 | "
                        "40.0 (1/4) / 51.6 | — / 99.6 | 65.0 (2 tasks) / 74.5 | 3 of 8 |")
    assert lines[3] == "| mlp, mlp | — | — | — | 25.0 (1/1) | — | — | 25.0 (1 tasks) | 1 |"
    pytest.importorskip("matplotlib")
    drawn = ember_mad.compare_plot([a, b], tmp_path / "plots" / "compare.png")
    # rows of fewer than six tasks have no MAD score bar: their mean is not one
    assert drawn == {"Transformer": {"memorization": (90.0, 85.2), "compression": (40.0, 51.6)},
                     "mlp, mlp": {"memorization": (25.0, None)}}
    assert (tmp_path / "plots" / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    full = tmp_path / "full"
    for i, task in enumerate(ember_mad.TASKS):
        _fake(full, task, "baseline", "1e-3", "0", 0.5 + 0.1 * (i % 2), 0.5)
    drawn = ember_mad.compare_plot([full], tmp_path / "full.png")
    assert drawn["Transformer"]["MAD score"] == (55.0, 74.5)
    assert main(["compare", str(a), "--plot", str(tmp_path / "c.png")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {tmp_path / 'c.png'}"
    assert (tmp_path / "c.png").is_file()
    # the curves: each row's best run of each task's baseline setting
    for f in [*a.glob("*/*/*/result.json"), *b.glob("*/*/*/result.json")]:
        r = json.loads(f.read_text())
        f.write_text(json.dumps(r | {"history": [{"epoch": 1, "test_accuracy": 0.1},
                                                 {"epoch": 2, "test_accuracy": r["best_accuracy"]}]}))
    assert ember_mad.compare_curves([a, b], tmp_path / "curves.png") == {
        "Transformer": {"memorization": "lr1e-4_wd0", "compression": "lr1e-3_wd0"},
        "mlp, mlp": {"memorization": "lr1e-4_wd0"}}
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["compare", str(tmp_path / "none")]) == 1
    assert "is not a directory of MAD runs" in capsys.readouterr().err


def test_compare_tells_apart_benchmarks_of_one_model(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Rows that would share a name (the same layers at two settings) take their directory's
    name, or its path where the names agree too; a directory given twice is refused."""
    runs = {"old": 0.9, "new": 0.95, "x/t": 0.5, "y/t": 0.6}
    for d, v in runs.items():
        _fake(tmp_path / d, "memorization", "baseline", "1e-3", "0", v, v)
    _fake(tmp_path / "m", "memorization", "baseline", "1e-3", "0", 0.7, 0.7,
          layers=("mlp", "mlp"))
    dirs = [str(tmp_path / d) for d in [*runs, "m"]]
    assert main(["compare", *dirs]) == 0
    names = [line.split(" | ")[0][2:] for line in capsys.readouterr().out.splitlines()[2:]]
    assert names == ["Transformer (old)", "Transformer (new)", f"Transformer ({tmp_path / 'x/t'})",
                     f"Transformer ({tmp_path / 'y/t'})", "mlp, mlp"]
    pytest.importorskip("matplotlib")
    drawn = ember_mad.compare_plot(dirs[:2], tmp_path / "c.png")
    assert drawn["Transformer (old)"]["memorization"] == (90.0, 85.2)
    assert drawn["Transformer (new)"]["memorization"] == (95.0, 85.2)
    with pytest.raises(ember_mad.MADError, match="given more than once"):
        ember_mad.compare_table([dirs[0], dirs[1], dirs[0]])
