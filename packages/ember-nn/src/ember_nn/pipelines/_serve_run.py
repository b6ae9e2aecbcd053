"""``[serve]`` in a run config: after training, ``ember train`` serves the model it trained
through its :class:`InferencePipeline` (the run's preprocessing, the model, an argmax for a
classifier) to concurrent clients sending the raw test inputs, and reports throughput and
latency against one-at-a-time prediction (``serving.json``, and a table it prints)::

    [serve]
    requests = 2000          # the test inputs, repeated to this many requests
    clients = [1, 8, 64]     # concurrent clients, a run each
    max_batch_size = 32
    max_wait_ms = 0.0
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._core._errors import ConfigError
from ._datasets import Dataset
from ._inference import InferencePipeline
from ._load_test import LoadTest, one_at_a_time, serve_concurrently
from ._pipeline import Pipeline
from ._stages import Argmax

__all__ = ["format_report", "serve_options", "serve_trained"]

DEFAULTS: dict[str, Any] = {"requests": 2000, "clients": [1, 8, 64], "max_batch_size": 32,
                            "max_wait_ms": 0.0}
CLASSIFICATION = ("sparse_categorical_cross_entropy", "categorical_cross_entropy")


def _positive_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ConfigError(f"[serve] {name} must be a positive integer, got {v!r}")
    return v


def serve_options(table: Any) -> dict[str, Any] | None:
    """The ``[serve]`` table checked, with its defaults filled in (None without one)."""
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise ConfigError(f"[serve] must be a table, got {table!r}")
    bad = sorted(set(table) - set(DEFAULTS))
    if bad:
        raise ConfigError(f"[serve]: unknown keys {bad}; allowed: {sorted(DEFAULTS)}")
    opts = {**DEFAULTS, **table}
    _positive_int("requests", opts["requests"])
    _positive_int("max_batch_size", opts["max_batch_size"])
    clients = opts["clients"] if isinstance(opts["clients"], list) else [opts["clients"]]
    opts["clients"] = [_positive_int("clients", c) for c in clients]
    if not opts["clients"]:
        raise ConfigError("[serve] clients must name at least one number of clients")
    wait = opts["max_wait_ms"]
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 <= wait < 60_000:
        raise ConfigError(f"[serve] max_wait_ms must be a number of milliseconds in [0, 60000), "
                          f"got {wait!r}")
    opts["max_wait_ms"] = float(wait)
    return opts


def _agree(a: Any, b: Any) -> bool:
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_agree, a, b))
    return a == b or abs(float(a) - float(b)) <= 1e-4 * (1.0 + abs(float(b)))


def serve_trained(model: Any, data: Dataset, preprocess: Pipeline, loss: str | None,
                  opts: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """Serve ``model`` behind ``preprocess`` to the ``[serve]`` table's clients, the raw test
    inputs of ``data`` as requests; write the report to ``path`` and return it."""
    classify = loss in CLASSIFICATION
    pipe = InferencePipeline(model, preprocess, Pipeline([("label", Argmax())]) if classify
                             else None)
    raw = data.raw_test.tolist()
    requests = [raw[i % len(raw)] for i in range(opts["requests"])]
    labels = data.y_test.tolist()
    reference = pipe.predict(requests).tolist()  # the batched answers, to compare against
    runs: list[LoadTest] = [one_at_a_time(pipe, requests)]
    runs += [serve_concurrently(pipe, requests, clients=k, max_batch_size=opts["max_batch_size"],
                                max_wait_ms=opts["max_wait_ms"]) for k in opts["clients"]]
    rows = []
    for run in runs:
        row = run.summary()
        row["speedup"] = round(run.requests_per_second / runs[0].requests_per_second, 2)
        row["agree_with_batch"] = sum(map(_agree, run.outputs, reference))
        if classify:
            row["accuracy"] = round(sum(int(o == labels[i % len(labels)])
                                        for i, o in enumerate(run.outputs)) / len(run.outputs), 4)
        rows.append(row)
    report = {"backend": pipe.backend, "dataset": data.name, "requests": len(requests),
              "test_inputs": len(raw), "max_batch_size": opts["max_batch_size"],
              "max_wait_ms": opts["max_wait_ms"], "runs": rows}
    path.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    return report


def format_report(report: Mapping[str, Any]) -> str:
    """The report as the table ``ember train`` prints."""
    head = (f"served {report['requests']} requests ({report['dataset']} test inputs, raw, "
            f"repeated) on {report['backend']}:")
    cols = f"  {'mode':34} {'clients':>7} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} " \
           f"{'batch':>6} {'speedup':>7} {'agree':>6}"
    lines = [head, cols]
    for r in report["runs"]:
        lines.append(f"  {r['mode']:34} {r['clients']:7d} {r['requests_per_second']:9.0f} "
                     f"{r['p50_ms']:8.2f} {r['p95_ms']:8.2f} {r['mean_batch']:6.1f} "
                     f"{r['speedup']:6.2f}x {r['agree_with_batch']:6d}")
    if "accuracy" in report["runs"][0]:
        accs = sorted({r["accuracy"] for r in report["runs"]})
        lines.append(f"  accuracy of the served answers: {', '.join(f'{a:.4f}' for a in accs)}")
    return "\n".join(lines)
