"""The highest test accuracy MAD's memorization task allows at each setting of the full
protocol, and which runs under a benchmark directory come how close to it.

    uv run python benchmarks/mad_memorization_ceiling.py [benchmarks/results/mad/transformer-full]

Memorization's test sequences draw keys from the same fixed key -> value map as its 256
training sequences, but a key the training set never shows cannot be learned. An oracle that
answers every key seen in training, and one fixed wrong token (key 0) for the others, scores the
table's "ceiling" as the benchmark scores a run (``ember_mad.macro_accuracy`` with the protocol's
batches of 128 sequences); a model does no better than it but by lucky guesses of unseen keys,
so the task's full-protocol score (the mean over its six settings) is at most about the mean of
the ceilings.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import ember_mad
import numpy as np
from ember_mad import task_settings

IGNORE = -100
BATCH_SIZE = 128  # the protocol's: an epoch's test accuracy is the mean of its batches'


def _keys(inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """At each scored position (the insert token), the key before it; elsewhere -1."""
    keys = np.full(targets.shape, -1, dtype=inputs.dtype)
    keys[:, 1:] = inputs[:, :-1]
    return np.where(targets != IGNORE, keys, -1)


def ceiling(setting: dict) -> tuple[int, int, float, float]:
    """(keys in the map, keys the training set shows, the share of test targets whose key it
    shows, the oracle's test accuracy as the benchmark scores it)."""
    data = ember_mad.make_dataset("memorization", **setting)
    train_keys = np.unique(_keys(data.train_inputs, data.train_targets))
    train_keys = train_keys[train_keys >= 0]
    scored = data.test_targets != IGNORE
    seen = np.isin(_keys(data.test_inputs, data.test_targets), train_keys) & scored
    # the oracle answers right where training showed the key, else key 0 (never a value)
    oracle = np.where(seen, data.test_targets, 0)
    macro = ember_mad.macro_accuracy(oracle, data.test_targets, num_classes=setting["vocab_size"],
                                     batch_size=BATCH_SIZE)
    return ((setting["vocab_size"] - 1) // 2, len(train_keys),
            float(seen.sum() / scored.sum()), macro)


def _runs(directory: Path, vocab_size: int) -> str:
    found = []
    for result in sorted(directory.glob("memorization/*/*/result.json")):
        r = json.loads(result.read_text())
        if r["settings"]["task_params"]["vocab_size"] == vocab_size:
            found.append(f"{result.parent.name} {100 * r['best_accuracy']:.1f}")
    return ", ".join(found) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", type=Path)
    args = parser.parse_args()
    print("| vocab_size | keys | keys in training | test targets with a seen key | ceiling % |"
          + (" runs (best %) |" if args.directory else ""))
    print("| ---: | ---: | ---: | ---: | ---: |" + (" --- |" if args.directory else ""))
    ceilings = []
    for setting in task_settings("memorization", "full"):
        keys, shown, seen, macro = ceiling(setting)
        ceilings.append(macro)
        runs = f" {_runs(args.directory, setting['vocab_size'])} |" if args.directory else ""
        print(f"| {setting['vocab_size']} | {keys} | {shown} | {100 * seen:.1f}% | "
              f"{100 * macro:.1f} |{runs}")
    print(f"\nthe full protocol's memorization score is at most {100 * np.mean(ceilings):.1f} "
          "(the mean of the six ceilings)")


if __name__ == "__main__":
    main()
