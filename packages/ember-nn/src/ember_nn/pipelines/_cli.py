"""``ember train``, ``ember evaluate`` and ``ember predict`` (registered with the ``ember``
command through the ``ember.commands`` entry point)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

import ember

from .._core._errors import CheckpointError, ConfigError

__all__ = ["register"]

_IMPORT_HELP = ("import this .py file or module first (repeatable): the one that defines the "
                "model's classes, if they are your own")


def register(sub: Any) -> None:
    """Add the three commands to the ``ember`` argument parser's subparsers."""
    p = sub.add_parser("train", help="train a model from a config file (TOML or JSON)")
    p.add_argument("config", help="the run's config file, e.g. examples/digits/digits.toml")
    p.add_argument("--backend", help="override the config's backend (numpy, torch, mlx, ...)")
    p.add_argument("--device", help="override the config's device (e.g. cuda, gpu, cpu)")
    p.add_argument("--output", help="override the config's output directory")
    p.add_argument("--epochs", type=int, help="override the number of epochs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group("data-parallel training (docs/distributed.md)")
    g.add_argument("--nproc", type=int, help="start N workers on this machine with the "
                   "backend's launcher (torchrun for torch, mlx.launch for mlx), each training "
                   "its share of every batch")
    g.add_argument("--nnodes", type=int, default=1, help="torch: the number of machines (run "
                   "the same command on each, with its --node-rank)")
    g.add_argument("--node-rank", type=int, default=0, help="torch: this machine's rank")
    g.add_argument("--master-addr", help="torch: the address of the machine of --node-rank 0")
    g.add_argument("--master-port", type=int, help="torch: its port; mlx: the ring's first "
                   "port (default: a free one)")
    g.add_argument("--hostfile", help="mlx: mlx.launch's JSON host list (several machines)")
    g.add_argument("--timeout", type=float, default=300.0, help="seconds a rank waits for the "
                   "others before every rank ends with an error (default 300)")
    g.add_argument("--distributed", action="store_true", help="join the job a launcher "
                   "started (what --nproc's workers run; use it under torchrun/mlx.launch)")
    p.set_defaults(run=_train)
    p = sub.add_parser("evaluate", help="the test metrics of a saved checkpoint")
    p.add_argument("checkpoint", help="a checkpoint directory written by `ember train`")
    p.add_argument("--backend", help="backend to evaluate on (default: the current one)")
    p.add_argument("--config", help="take the data from this config instead of the saved one")
    p.add_argument("--import", dest="imports", action="append", default=[],
                   metavar="FILE_OR_MODULE", help=_IMPORT_HELP)
    p.set_defaults(run=_evaluate)
    p = sub.add_parser("predict", help="run a saved checkpoint on inputs from a file")
    p.add_argument("checkpoint", help="a checkpoint directory written by `ember train`")
    p.add_argument("--input", required=True,
                   help="CSV (one sample per row) or JSON (a list of samples) of raw features")
    p.add_argument("--backend", help="backend to run on (default: the current one)")
    p.add_argument("--output", help="write the predictions here (JSON lines) instead of stdout")
    p.add_argument("--import", dest="imports", action="append", default=[],
                   metavar="FILE_OR_MODULE", help=_IMPORT_HELP)
    p.set_defaults(run=_predict)


def _train(args: argparse.Namespace) -> int:
    from ._run import read_config
    from ._training import TrainingPipeline

    path = Path(args.config)
    cfg = read_config(path)
    if args.device:
        cfg["device"] = args.device
    backend = args.backend or cfg.get("backend") or ember.get_backend()
    if args.nproc is not None and not args.distributed:
        from ._launch import launch_command, run_launcher, worker_args

        options = [f"--{k.replace('_', '-')}={v}" for k, v in
                   (("backend", backend), ("device", args.device), ("output", args.output),
                    ("epochs", args.epochs), ("timeout", args.timeout)) if v is not None]
        cmd = launch_command(backend, args.nproc, worker_args(str(path), options
                                                              + ["--no-progress"] *
                                                              args.no_progress),
                             nnodes=args.nnodes, node_rank=args.node_rank,
                             master_addr=args.master_addr, master_port=args.master_port,
                             hostfile=args.hostfile)
        return run_launcher(cmd)
    try:
        result = TrainingPipeline(cfg, base_dir=path.parent).run(
            backend=args.backend, output_dir=args.output, epochs=args.epochs,
            progress=not args.no_progress, distributed=args.distributed, timeout=args.timeout)
    except BaseException:
        if args.distributed:  # leave the job before the error ends the process: an engine
            _leave()  # left running aborts the interpreter's exit (gloo: SIGABRT)
        raise
    if args.distributed:
        rank, world = ember.distributed.rank(), ember.distributed.world_size()
        ember.distributed.shutdown()
        if rank:
            return 0
        print(f"data-parallel: {world} processes, rank 0 wrote the outputs")
    print(f"trained {type(result.model).__name__} ({result.model.num_parameters():,} parameters) "
          f"on {result.data.name} with {backend} in {result.seconds:.1f} s, "
          f"{result.history.epochs} epochs")
    print("test: " + ", ".join(f"{k} {v:.4f}" for k, v in result.test.items()))
    print(f"checkpoint: {result.checkpoint}")
    print(f"inference:  {result.checkpoint.parent / 'inference.json'} (InferencePipeline.load "
          f"or ember predict)")
    print(f"history:    {result.output_dir / 'history.csv'}")
    if result.plot is not None:
        print(f"plot:       {result.plot}")
    if result.trajectory is not None:
        print(f"trajectory: {result.trajectory}")
    if result.wiring is not None:
        print(f"wiring:     {result.wiring}")
    if result.samples is not None:
        print(f"samples:    {result.samples}")
        print(result.samples.read_text(encoding="utf-8"), end="")
    if result.serving is not None:
        import json

        from ._serve_run import format_report

        print(f"serving:    {result.serving}")
        print(format_report(json.loads(result.serving.read_text())))
    return 0


def _leave() -> None:
    """``ember.distributed.shutdown()``, whatever it raises (a peer may be gone already: the
    error being raised is the one to report)."""
    with contextlib.suppress(Exception):
        ember.distributed.shutdown()


def _saved_extra(checkpoint: str) -> dict[str, Any]:
    """The checkpoint's ``extra`` JSON, read without rebuilding the model."""
    from ..io._checkpoint import read_extra

    extra = read_extra(checkpoint)
    return extra if isinstance(extra, dict) else {}


def _load(checkpoint: str, backend: str | None, imports: list[str]) -> Any:
    """The checkpoint, after importing ``imports``; a model class that is not registered gets
    an error saying which ``--import`` the run needed."""
    from ..io._checkpoint import load_checkpoint
    from ._imports import import_user_code

    for spec in imports:
        import_user_code(spec)
    try:
        return load_checkpoint(checkpoint, backend=backend)
    except CheckpointError as e:
        if "no module class named" not in f"{e} {e.__cause__}":
            raise
        recorded = [v for v in _saved_extra(checkpoint).get("imports", []) if v not in imports]
        hint = (" ".join(f"--import {v}" for v in recorded) if recorded
                else "--import FILE.py (or a module name)")
        raise CheckpointError(
            f"{e}. The model uses a class of your own: pass {hint} so that its definition is "
            f"imported first") from None


def _evaluate(args: argparse.Namespace) -> int:
    from ..training._trainer import Trainer
    from ._datasets import load_dataset
    from ._run import import_code, read_config, run_features

    name = args.backend or ember.get_backend()
    with ember.use_backend(name):
        if args.config:
            cfg, base = read_config(args.config), Path(args.config).parent
        else:
            extra = _saved_extra(args.checkpoint)
            if "run" not in extra:
                raise ConfigError(f"{args.checkpoint}: no saved run config; pass --config")
            cfg, base = extra["run"], Path(extra.get("base_dir", "."))
        # the data first: a [data] loader (and the run's imports) may define the model's class
        data = load_dataset(cfg["data"], base_dir=base, features=run_features(cfg))
        import_code(cfg, base)
        ck = _load(args.checkpoint, name, args.imports)
        tr = cfg.get("training", {})
        trainer = Trainer(ck.model, None, loss=tr.get("loss", "mse"),
                          metrics=tr.get("metrics", []), progress=False)
        test = trainer.evaluate(data.x_test, data.y_test)
    print(f"{args.checkpoint} on {name}, {data.name} test split ({len(data.y_test)} samples):")
    print(", ".join(f"{k} {v:.4f}" for k, v in test.items()))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from ._inference import InferencePipeline, locate
    from ._predict import predict_lines, read_inputs

    name = args.backend or ember.get_backend()
    with ember.use_backend(name):
        spec, path = locate(args.checkpoint)  # an inference.json beside it: its pipeline
        ck = _load(str(path), name, args.imports)
        extra = ck.extra if isinstance(ck.extra, dict) else {}
        rows = read_inputs(Path(args.input))
        pipe = InferencePipeline.from_checkpoint(ck, spec, backend=name)
        lines, failed = predict_lines(ck.model, rows, loss=extra.get("loss"),
                                      scaling=extra.get("scaling", {}), pipeline=pipe)
    text = "\n".join(lines) + "\n"
    if args.output:
        Path(args.output).write_text(text)
        print(f"{len(lines)} predictions written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if failed:
        shown = ", ".join(str(i) for i in failed[:10]) + (", ..." if len(failed) > 10 else "")
        print(f"ember predict: {len(failed)} of {len(lines)} samples have no prediction "
              f"(samples {shown}): their inputs or outputs are not finite; each such line says "
              f"why in \"error\"", file=sys.stderr)
    return 0
