"""What ``ember predict`` prints: one JSON object a sample, always valid JSON.

A sample whose inputs are missing (an empty CSV cell), NaN or infinite gets no prediction, and
neither does one whose output is not finite: its line holds ``null`` in place of the class
and probability (or the output) and an ``"error"`` saying why, and a summary goes to stderr.
The other samples are predicted as usual (the model never sees the bad rows), so one bad row
does not cost a whole batch job.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from ._inference import InferencePipeline, scaling_preprocess

__all__ = ["CLASSIFICATION", "predict_lines", "read_inputs"]

CLASSIFICATION = ("sparse_categorical_cross_entropy", "categorical_cross_entropy")


def _number(cell: Any) -> float:
    if isinstance(cell, str) and not cell.strip():
        return math.nan  # an empty CSV cell: a missing value
    if isinstance(cell, bool) or cell is None:
        raise ValueError(f"{cell!r} is not a number")
    return float(cell)


def read_inputs(path: Path) -> list[list[float]]:
    """The samples of a CSV file (one a row; a header row is skipped) or a JSON list of rows.
    Empty CSV cells are missing values (NaN); every row needs the same number of values."""
    if not path.is_file():
        raise ConfigError(f"predict: input file {str(path)!r} does not exist")
    if path.suffix == ".json":
        try:
            rows = json.loads(path.read_text())
        except ValueError as e:
            raise ConfigError(f"predict: {path}: not valid JSON: {e}") from None
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise ConfigError(f"predict: {path}: expected a JSON list of rows (lists of numbers)")
    else:
        with path.open(newline="") as f:
            rows = [r for r in csv.reader(f) if r]
        if rows:
            try:
                [float(c) for c in rows[0] if c.strip()]
            except ValueError:
                rows = rows[1:]  # a header
    if not rows:
        raise ConfigError(f"predict: {path} holds no samples")
    out = []
    for i, r in enumerate(rows):
        try:
            out.append([_number(c) for c in r])
        except (TypeError, ValueError) as e:
            raise ConfigError(f"predict: {path}: sample {i} is not a row of numbers: {e}") \
                from None
        if len(out[-1]) != len(out[0]):
            raise ConfigError(f"predict: {path}: sample {i} has {len(out[-1])} values, sample 0 "
                              f"has {len(out[0])}; every sample needs the same features")
    return out


def _bad_inputs(row: list[float]) -> str | None:
    cols = [j for j, v in enumerate(row) if not math.isfinite(v)]
    if not cols:
        return None
    kinds = sorted({"NaN or missing" if math.isnan(row[j]) else "infinite" for j in cols})
    return f"input columns {cols} are {' or '.join(kinds)}; no prediction"


def predict_lines(model: Module, rows: list[list[float]], *, loss: Any,
                  scaling: Mapping[str, list[float]],
                  pipeline: InferencePipeline | None = None) -> tuple[list[str], list[int]]:
    """The JSON lines for ``rows`` and the indices of the samples without a prediction.
    ``pipeline`` (an ``inference.json`` beside the checkpoint) replaces the run's scaling with
    its preprocessing, and its postprocessing, if any, gives each line's ``output``."""
    pipe = pipeline or InferencePipeline(model, scaling_preprocess(scaling))
    raw_pipe = InferencePipeline(pipe.model, pipe.preprocess, None, batch_size=pipe.batch_size,
                                 backend=pipe.backend)
    if pipe.postprocess is not None:
        loss = None  # the postprocessing's output, whatever the loss
    errors: dict[int, str] = {}
    for i, row in enumerate(rows):
        why = _bad_inputs(row)
        if why:
            errors[i] = why
    good = [i for i in range(len(rows)) if i not in errors]
    results: dict[int, dict[str, Any]] = {}
    if good:
        x = ember.asarray([rows[i] for i in good], dtype=ember.float32)
        out = ember.astype(raw_pipe.predict(x), ember.float32)
        if pipe.postprocess is not None:
            flat = ember.reshape(out, (out.shape[0], -1))
            finite = ember.all(ember.isfinite(flat), axis=-1).tolist()
            post = pipe.postprocess.run(out)
            post = post.tolist() if isinstance(post, ember.Tensor) else list(post)
            for i, ok, row in zip(good, finite, post, strict=True):
                if ok:
                    results[i] = {"output": row}
                else:
                    errors[i] = "the model's output is not finite (NaN or infinite)"
        elif loss in CLASSIFICATION:
            probs = ember.nn.softmax(out, axis=-1)
            flat = ember.reshape(probs, (probs.shape[0], -1)) if probs.ndim else probs
            finite = ember.all(ember.isfinite(flat), axis=-1).tolist()
            classes = ember.argmax(probs, axis=-1).tolist()
            best = ember.max(probs, axis=-1).tolist()
            for i, ok, c, p in zip(good, finite, classes, best, strict=True):
                if ok:
                    results[i] = {"class": c, "probability": round(p, 4)}
                else:
                    errors[i] = "the model's output is not finite (NaN or infinite)"
        else:
            for i, row in zip(good, out.tolist(), strict=True):
                values = row if isinstance(row, list) else [row]
                if all(math.isfinite(v) for v in _flat(values)):
                    results[i] = {"output": row}
                else:
                    errors[i] = "the model's output is not finite (NaN or infinite)"
    empty = ({"class": None, "probability": None} if loss in CLASSIFICATION
             else {"output": None})
    lines = []
    for i in range(len(rows)):
        record = {"sample": i, **results[i]} if i in results \
            else {"sample": i, **empty, "error": errors[i]}
        lines.append(json.dumps(record, allow_nan=False))
    return lines, sorted(errors)


def _flat(values: list[Any]) -> list[float]:
    out: list[float] = []
    for v in values:
        out.extend(_flat(v) if isinstance(v, list) else [v])
    return out
