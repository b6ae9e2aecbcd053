"""``ember train``, ``ember evaluate`` and ``ember predict`` (registered with the ``ember``
command through the ``ember.commands`` entry point)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import ember

from ._errors import ConfigError

__all__ = ["register"]

CLASSIFICATION = ("sparse_categorical_cross_entropy", "categorical_cross_entropy")


def register(sub: Any) -> None:
    """Add the three commands to the ``ember`` argument parser's subparsers."""
    p = sub.add_parser("train", help="train a model from a config file (TOML or JSON)")
    p.add_argument("config", help="the run's config file, e.g. examples/digits/digits.toml")
    p.add_argument("--backend", help="override the config's backend (numpy, torch, mlx, ...)")
    p.add_argument("--device", help="override the config's device (e.g. cuda, gpu, cpu)")
    p.add_argument("--output", help="override the config's output directory")
    p.add_argument("--epochs", type=int, help="override the number of epochs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=_train)
    p = sub.add_parser("evaluate", help="the test metrics of a saved checkpoint")
    p.add_argument("checkpoint", help="a checkpoint directory written by `ember train`")
    p.add_argument("--backend", help="backend to evaluate on (default: the current one)")
    p.add_argument("--config", help="take the data from this config instead of the saved one")
    p.set_defaults(run=_evaluate)
    p = sub.add_parser("predict", help="run a saved checkpoint on inputs from a file")
    p.add_argument("checkpoint", help="a checkpoint directory written by `ember train`")
    p.add_argument("--input", required=True,
                   help="CSV (one sample per row) or JSON (a list of samples) of raw features")
    p.add_argument("--backend", help="backend to run on (default: the current one)")
    p.add_argument("--output", help="write the predictions here (JSON lines) instead of stdout")
    p.set_defaults(run=_predict)


def _train(args: argparse.Namespace) -> int:
    from ._run import read_config, train_from_config

    path = Path(args.config)
    cfg = read_config(path)
    if args.device:
        cfg["device"] = args.device
    result = train_from_config(cfg, base_dir=path.parent, backend=args.backend,
                               output_dir=args.output, epochs=args.epochs,
                               progress=not args.no_progress)
    backend = args.backend or cfg.get("backend") or ember.get_backend()
    print(f"trained {type(result.model).__name__} ({result.model.num_parameters():,} parameters) "
          f"on {result.data.name} with {backend} in {result.seconds:.1f} s, "
          f"{result.history.epochs} epochs")
    print("test: " + ", ".join(f"{k} {v:.4f}" for k, v in result.test.items()))
    print(f"checkpoint: {result.checkpoint}")
    print(f"history:    {result.output_dir / 'history.csv'}")
    if result.plot is not None:
        print(f"plot:       {result.plot}")
    return 0


def _load(checkpoint: str, backend: str | None) -> Any:
    from ._checkpoint import load_checkpoint

    return load_checkpoint(checkpoint, backend=backend)


def _evaluate(args: argparse.Namespace) -> int:
    from ._datasets import load_dataset
    from ._run import read_config
    from ._trainer import Trainer

    name = args.backend or ember.get_backend()
    with ember.use_backend(name):
        ck = _load(args.checkpoint, name)
        extra = ck.extra or {}
        if args.config:
            cfg, base = read_config(args.config), Path(args.config).parent
        elif "run" in extra:
            cfg, base = extra["run"], Path(extra.get("base_dir", "."))
        else:
            raise ConfigError(f"{args.checkpoint}: no saved run config; pass --config")
        data = load_dataset(cfg["data"], base_dir=base)
        tr = cfg.get("training", {})
        trainer = Trainer(ck.model, None, loss=tr.get("loss", "mse"),
                          metrics=tr.get("metrics", []), progress=False)
        test = trainer.evaluate(data.x_test, data.y_test)
    print(f"{args.checkpoint} on {name}, {data.name} test split ({len(data.y_test)} samples):")
    print(", ".join(f"{k} {v:.4f}" for k, v in test.items()))
    return 0


def _read_inputs(path: Path) -> list[list[float]]:
    if not path.is_file():
        raise ConfigError(f"predict: input file {str(path)!r} does not exist")
    if path.suffix == ".json":
        rows = json.loads(path.read_text())
    else:
        with path.open(newline="") as f:
            rows = [r for r in csv.reader(f) if r]
        try:
            [float(c) for c in rows[0]]
        except ValueError:
            rows = rows[1:]  # a header
    try:
        return [[float(c) for c in r] for r in rows]
    except (TypeError, ValueError) as e:
        raise ConfigError(f"predict: {path}: every sample must be a row of numbers: {e}") \
            from None


def _predict(args: argparse.Namespace) -> int:
    from ._datasets import apply_scaling
    from ._trainer import Trainer

    name = args.backend or ember.get_backend()
    with ember.use_backend(name):
        ck = _load(args.checkpoint, name)
        extra = ck.extra or {}
        x = ember.asarray(_read_inputs(Path(args.input)), dtype=ember.float32)
        x = apply_scaling(x, extra.get("scaling", {}))
        out = Trainer(ck.model, None, progress=False).predict(x)
        lines = []
        if extra.get("loss") in CLASSIFICATION:
            probs = ember.nn.softmax(ember.astype(out, ember.float32), axis=-1)
            for i, (c, p) in enumerate(zip(ember.argmax(probs, axis=-1).tolist(),
                                           ember.max(probs, axis=-1).tolist(), strict=True)):
                lines.append(json.dumps({"sample": i, "class": c, "probability": round(p, 4)}))
        else:
            for i, row in enumerate(out.tolist()):
                lines.append(json.dumps({"sample": i, "output": row}))
    text = "\n".join(lines) + "\n"
    if args.output:
        Path(args.output).write_text(text)
        print(f"{len(lines)} predictions written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
