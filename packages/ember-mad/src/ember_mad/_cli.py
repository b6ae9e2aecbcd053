"""``ember mad train|benchmark|report`` (registered with the ``ember`` command through the
``ember.commands`` entry point; ``python -m ember_mad`` runs the same commands)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._errors import MADError

__all__ = ["main", "register"]

_LAYERS_HELP = ("comma-separated MAD-Lab layer names, one residual block each (default "
                "mh-attention,swiglu,mh-attention,swiglu)")


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") \
            from None


def _compile(text: str) -> Any:
    if text in ("auto", "true", "false"):
        return {"auto": "auto", "true": True, "false": False}[text]
    raise argparse.ArgumentTypeError(f"--compile takes auto, true or false, got {text!r}")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--layers", default="mh-attention,swiglu,mh-attention,swiglu",
                   help=_LAYERS_HELP)
    p.add_argument("--backend", help="numpy, torch, mlx or a plugin backend (default: the "
                   "current one, EMBER_BACKEND)")
    p.add_argument("--device", help="e.g. cuda, cuda:1, gpu, cpu (default: the backend's)")
    p.add_argument("--epochs", type=int, default=200, help="the most epochs (default 200)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--dim", type=int, default=128, help="the model width (default 128)")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--precision", default="auto",
                   help="auto (bf16-mixed on a torch/MLX accelerator, else 32), 32, bf16-mixed, "
                        "fp16-mixed")
    p.add_argument("--compile", type=_compile, default="auto",
                   help="auto (compiled on MLX and torch off the CPU), true, false")
    p.add_argument("--schedule", choices=["cosine", "constant"], default="cosine",
                   help="the learning rate: cosine to 1e-6 (the paper's, default) or constant "
                        "(what MAD-Lab's code runs: Lightning drops its scheduler)")


def register(sub: Any, prog: str | None = None) -> None:
    """Add the ``mad`` command group to the ``ember`` argument parser's subparsers (``prog``:
    how its usage lines name it, default ``ember mad``)."""
    p = sub.add_parser("mad", help="the MAD synthetic-task benchmark (ember-mad)",
                       description="The MAD synthetic-task benchmark (Poli et al. 2024) on any "
                                   "ember backend.", **({"prog": prog} if prog else {}))
    cmds = p.add_subparsers(dest="mad_command", metavar="COMMAND")
    p.set_defaults(run=lambda args: (p.print_help(), 0)[1])

    t = cmds.add_parser("train", help="one run: a task setting, the layers, lr and wd")
    t.add_argument("--task", required=True, help="a MAD task, e.g. in-context-recall")
    _common(t)
    t.add_argument("--lr", type=float, default=5e-4)
    t.add_argument("--wd", type=float, default=0.0, help="AdamW's weight decay")
    t.add_argument("--setting", type=int, default=0,
                   help="the task setting: an index into task_settings(task, 'full'), 0 the "
                        "baseline")
    t.add_argument("--num-train-examples", type=int)
    t.add_argument("--num-test-examples", type=int)
    t.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a task parameter over the setting's, e.g. --param vocab_size=32")
    t.add_argument("--out", help="write DIR/result.json")
    t.add_argument("--no-progress", action="store_true", help="no per-epoch line")
    t.add_argument("--stop-after", type=int, metavar="N",
                   help="end after N epochs of the --epochs schedule (a probe of a run's start)")
    t.add_argument("--matmul-precision", choices=["high", "highest"], default="high",
                   help="float32 matrix products on torch: high (TF32 on GPUs, MAD-Lab's) or "
                        "highest")
    t.set_defaults(run=_train)

    b = cmds.add_parser("benchmark", help="every task setting x lr x wd run, N at a time, "
                        "resumable; then the report")
    _common(b)
    b.add_argument("--protocol", choices=["baseline", "full"], default="baseline")
    b.add_argument("--tasks", help="comma-separated tasks (default all six)")
    b.add_argument("--lrs", type=_floats, help="comma-separated learning rates (default "
                   "1e-4,5e-4,1e-3)")
    b.add_argument("--wds", type=_floats, help="comma-separated weight decays (default 0,0.1)")
    b.add_argument("--jobs", type=int, default=1, help="runs at once (default 1)")
    b.add_argument("--status-every", type=float, default=300.0, metavar="SECONDS",
                   help="seconds between the lines on the running runs' epochs (default 300; "
                   "0: none)")
    b.add_argument("--out", help="the benchmark directory (default mad-runs/<layers>)")
    b.set_defaults(run=_benchmark)

    r = cmds.add_parser("report", help="scores.md/json/png of a benchmark directory")
    r.add_argument("dir", help="a directory written by ember mad benchmark")
    r.add_argument("--paper", action="store_true",
                   help="also print the paper's table (Poli et al. 2024)")
    r.add_argument("--no-plot", action="store_true", help="skip scores.png")
    r.set_defaults(run=_report)

    c = cmds.add_parser("compare", help="several benchmark directories in one table, the "
                                        "paper's scores beside")
    c.add_argument("dirs", nargs="+", help="directories written by ember mad benchmark")
    c.add_argument("--plot", metavar="FILE",
                   help="also draw the table as bars (a PNG; needs matplotlib)")
    c.add_argument("--curves", metavar="FILE",
                   help="also draw each one's best run of each task, test accuracy by epoch "
                   "(a PNG; needs matplotlib)")
    c.set_defaults(run=_compare)


def _param(text: str) -> tuple[str, Any]:
    import json

    name, eq, value = text.partition("=")
    if not eq or not name:
        raise MADError(f"--param takes NAME=VALUE (e.g. vocab_size=32), got {text!r}")
    try:
        return name.strip(), json.loads(value.strip().lower() if value.strip().lower() in
                                        ("true", "false") else value)
    except json.JSONDecodeError:
        raise MADError(f"--param {name}: {value!r} is not a number or true/false") from None


def _train(args: argparse.Namespace) -> int:
    from ._benchmark import setting_slug
    from ._tasks import check_task, task_settings
    from ._train import train

    setting = task_settings(check_task(args.task), "full")
    setting_slug(args.task, args.setting)  # checks the index
    chosen = dict(setting[args.setting])
    n_train = chosen.pop("num_train_examples")
    n_test = chosen.pop("num_test_examples")
    chosen.update(_param(p) for p in args.param)
    result = train(args.task, args.layers, lr=args.lr, weight_decay=args.wd, epochs=args.epochs,
                   batch_size=args.batch_size, dim=args.dim, seed=args.seed, backend=args.backend,
                   device=args.device, precision=args.precision, compile=args.compile,
                   task_params=chosen,
                   num_train_examples=args.num_train_examples or n_train,
                   num_test_examples=args.num_test_examples or n_test,
                   progress=not args.no_progress, out=args.out, stop_after=args.stop_after,
                   matmul_precision=args.matmul_precision, schedule=args.schedule)
    print(result.summary())
    if args.out:
        print(f"result: {args.out}/result.json")
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from ._benchmark import benchmark
    from ._options import check_layers

    layers = check_layers(args.layers)
    out = args.out or f"mad-runs/{'_'.join(layers)}"
    scores = benchmark(layers, out=out, protocol=args.protocol, tasks=args.tasks, lrs=args.lrs,
                       wds=args.wds, epochs=args.epochs, jobs=args.jobs, backend=args.backend,
                       device=args.device, precision=args.precision, compile=args.compile,
                       dim=args.dim, batch_size=args.batch_size, seed=args.seed,
                       schedule=args.schedule, status_every=args.status_every)
    return 1 if scores["failed"] else 0


def _report(args: argparse.Namespace) -> int:
    from ._report import report

    report(args.dir, plot=not args.no_plot)
    if args.paper:
        print("\n" + paper_table())
    return 0


def _compare(args: argparse.Namespace) -> int:
    from ._compare import compare_curves, compare_plot, compare_table

    print(compare_table(args.dirs), end="")
    for draw, path in ((compare_plot, args.plot), (compare_curves, args.curves)):
        if path:
            draw(args.dirs, path)
            print(f"wrote {path}")
    return 0


def paper_table() -> str:
    """The paper's MAD scores (%) as a Markdown table."""
    from ._compare import NAMES as names
    from ._scoring import PAPER_SCORES
    from ._tasks import TASKS

    order = sorted(TASKS)
    lines = ["| model (paper) | " + " | ".join(order) + " | mean |",
             "|" + " --- |" * (len(order) + 2)]
    for layers, row in PAPER_SCORES.items():
        lines.append(f"| {names.get(layers, ','.join(layers))} | "
                     + " | ".join(f"{row[t]:.1f}" for t in order) + f" | {row['mean']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m ember_mad ...``: the ``ember mad`` commands without the ``ember`` command."""
    import ember

    parser = argparse.ArgumentParser(prog="python -m ember_mad")
    sub = parser.add_subparsers(dest="command")
    register(sub, prog="python -m ember_mad")
    args = parser.parse_args(["mad", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.run(args))
    except ember.EmberError as exc:
        print(f"ember mad: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ember mad: interrupted", file=sys.stderr)
        return 130
