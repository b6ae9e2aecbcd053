"""A check of the MAD grids' GPU runs for the marks of a spoiled run.

    uv run python benchmarks/mad_run_check.py [benchmarks/results/mad] [--epochs 6]
        [--gap 0.02] [--rise 0.005]

Two marks, both seen in the runs the CUDA-graph bug of docs/mad.md ("A GPU bug, found, fixed
and confirmed") spoiled:

* **rises**: the training loss goes up by more than ``--rise`` from one of the first
  ``--epochs`` epochs to the next. A healthy run's loss falls there (the cosine schedule is
  still near its peak rate, and the first epochs are far from any minimum).
* **parts**: a wd 0 run and the same learning rate's wd 0.1 run differ by more than ``--gap``
  in training loss in those epochs. Weight decay changes little early, and the two see the same
  batches from the same initial weights. Tasks whose loss falls steeply early (selective
  copying) part by the run-to-run spread alone; both runs' best accuracies are given to tell
  these apart. Two runs spoiled alike do not part: that is what **rises** is for.

Prints the runs and pairs with a mark, and how many of each.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def rises(history: list[dict[str, Any]], epochs: int, tol: float) -> str:
    """The first early epoch whose training loss is above the one before by more than tol."""
    losses = [e["train_loss"] for e in history[:epochs]]
    for i in range(1, len(losses)):
        if not losses[i] <= losses[i - 1] + tol:  # a NaN counts
            return f"epoch {i + 1}: {losses[i - 1]:.4f} -> {losses[i]:.4f}"
    return ""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("root", nargs="?", default="benchmarks/results/mad")
    p.add_argument("--epochs", type=int, default=6, help="the first epochs looked at")
    p.add_argument("--gap", type=float, default=0.02, help="the wd pair's loss gap flagged")
    p.add_argument("--rise", type=float, default=0.005, help="the loss rise flagged")
    args = p.parse_args()
    runs = {f.parent: json.loads(f.read_text(encoding="utf-8"))
            for f in sorted(Path(args.root).glob("*/*/*/*/result.json"))}
    print("| run | mark | best % |")
    print("| --- | --- | ---: |")
    n_rises = n_parts = 0
    for run, r in runs.items():
        name = "/".join(run.parts[-4:])
        if why := rises(r["history"], args.epochs, args.rise):
            n_rises += 1
            print(f"| {name} | rises ({why}) | {100 * r['best_accuracy']:.1f} |")
        other = runs.get(run.with_name(run.name + ".1")) if run.name.endswith("_wd0") else None
        if other is not None:
            la, lb = ([e["train_loss"] for e in x["history"][:args.epochs]] for x in (r, other))
            gap = max(abs(x - y) for x, y in zip(la, lb, strict=False))
            if gap > args.gap:
                n_parts += 1
                print(f"| {name} and wd 0.1 | parts (gap {gap:.4f}) | "
                      f"{100 * r['best_accuracy']:.1f} / {100 * other['best_accuracy']:.1f} |")
    print(f"\n{len(runs)} runs: {n_rises} rise in their first {args.epochs} epochs; "
          f"{n_parts} wd pair(s) part by more than {args.gap}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
