"""``Trainer.evaluate`` and ``Trainer.predict``: the model in eval mode over array data or a
dataset of batches, batched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import ember

from .. import metrics as _metrics
from .._core._errors import ConfigError
from ..data._dataset import close_iterator
from ._checks import aligned
from ._data import EVAL_BATCH, ArrayData, as_stream, check_batch_size, inputs_of, is_stream, pair

if TYPE_CHECKING:
    from ._trainer import Trainer

__all__ = ["evaluate_model", "predict_model"]


def evaluate_model(trainer: Trainer, x: Any, y: Any = None, *,
                   batch_size: int = EVAL_BATCH) -> dict[str, float]:
    """``trainer.evaluate(x, y, batch_size=...)`` (see there)."""
    stream = is_stream(x)
    if stream:
        if y is not None:
            raise ConfigError("evaluate: the data is a dataset of (inputs, targets) batches; "
                              "omit y")
        ds = as_stream("evaluate", x, batch_size=batch_size, what="evaluation data")
    else:
        if y is None:
            raise ConfigError("evaluate: array inputs need their targets y")
        check_batch_size(batch_size, "evaluate")
    was = trainer.model.training
    trainer._train_mode(False, sync=True)
    par = trainer.parallel  # distributed: each rank evaluates its part, the sums are combined
    try:
        if stream:
            if par is not None:
                ds = par.shard_stream(ds)
            batches: Iterator[Any] = (
                (trainer._input(xb), trainer._target(yb))
                for i, b in enumerate(ds.iter(0))
                for xb, yb in [pair("evaluate", b, i, "evaluation data")])
        else:
            data = aligned("evaluate", "evaluation", trainer._input(x), trainer._target(y))
            lo, hi = par.eval_range(data.size) if par is not None else (0, data.size)
            batches = (ArrayData([a[lo:hi] for a in data.arrays]).batches(batch_size)
                       if hi > lo else iter(()))
        loss_sum, seen = 0.0, 0
        streams = [_metrics.streaming(n) for n in trainer.metric_names]
        try:
            for xb, yb in batches:
                loss, pred = trainer._predict_loss(xb, yb)
                loss_sum += float(loss) * xb.shape[0]
                seen += xb.shape[0]
                for s in streams:
                    s.update(pred, yb)
        finally:
            close_iterator(batches)
        if par is not None:
            loss_sum, total = par.sum_floats([loss_sum, float(seen)])
            seen = round(total)
            par.reduce_metrics(streams)
        if not seen:
            raise ConfigError("evaluate: the dataset gave no samples; evaluate needs at "
                              "least one batch")
        out = {"loss": loss_sum / seen}
        out.update({n: s.result() for n, s in zip(trainer.metric_names, streams, strict=True)})
        return out
    finally:
        trainer._train_mode(was)

def predict_model(trainer: Trainer, x: Any, *, batch_size: int = EVAL_BATCH) -> ember.Tensor:
    """``trainer.predict(x, batch_size=...)`` (see there)."""
    stream = is_stream(x)
    if stream:
        ds = as_stream("predict", x, batch_size=batch_size, what="prediction data")
    else:
        check_batch_size(batch_size, "predict")
    was = trainer.model.training
    trainer._train_mode(False, sync=True)
    try:
        if not stream:
            data = aligned("predict", "prediction", trainer._input(x))
            return ember.concat([trainer._compute(xb)
                                 for (xb,) in data.batches(batch_size)], axis=0)
        it = ds.iter(0)
        try:
            outs = [trainer._compute(trainer._input(inputs_of(b))) for b in it]
        finally:
            close_iterator(it)
        if not outs:
            raise ConfigError("predict: the dataset gave no batches; predict needs at least "
                              "one")
        return ember.concat(outs, axis=0)
    finally:
        trainer._train_mode(was)
