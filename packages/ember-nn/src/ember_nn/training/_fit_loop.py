"""``Trainer.fit``'s machinery: checking and preparing array data or a pipeline of batches,
and the epoch loop (steps, logs, validation, callbacks, the progress bar, and the agreement of
the ranks of a distributed trainer)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import ember

from .. import metrics as _metrics
from .._core._errors import ConfigError
from ..data._dataset import close_iterator
from ._callbacks import Callback
from ._checks import aligned, check_flag, check_steps, check_validation, warn_non_finite
from ._data import (
    EVAL_BATCH,
    StreamEpochs,
    as_stream,
    check_batch_size,
    is_stream,
    split,
    stream_for_fit,
)
from ._history import History
from ._progress import ProgressBar

if TYPE_CHECKING:
    from ._trainer import Trainer

__all__ = ["fit_arrays", "fit_stream", "run_epochs"]


def need_optimizer(trainer: Trainer) -> None:
    if trainer.optimizer is None:
        raise ConfigError("fit: this trainer has no optimizer (optimizer=None); pass one, "
                          "e.g. Trainer(model, ember_nn.Adam(1e-3), ...)")


def fit_arrays(trainer: Trainer, x: Any, y: Any, *, epochs: int, batch_size: int,
               validation_data: Any, validation_split: float, shuffle: bool | None,
               drop_last: bool, steps_per_epoch: int | None) -> History:
    """``trainer.fit`` on array data ``(x, y)`` (see there; ``epochs`` already checked)."""
    op = "fit"
    if y is None:
        raise ConfigError("fit: array inputs need their targets y (fit(x, y)); only a "
                          "dataset yielding (inputs, targets) batches goes without")
    if steps_per_epoch is not None:
        raise ConfigError("fit: steps_per_epoch is for datasets (an epoch of arrays is one "
                          "pass over them)")
    shuffle = True if shuffle is None else shuffle
    check_batch_size(batch_size, op)
    check_flag(op, "shuffle", shuffle)
    check_flag(op, "drop_last", drop_last)
    stream_val = is_stream(validation_data)
    fraction = check_validation(op, None if stream_val else validation_data,
                                validation_split)
    need_optimizer(trainer)
    xs, ys = trainer._input(x), trainer._target(y)
    aligned(op, "training", xs, ys)
    warn_non_finite(op, "input", xs)
    warn_non_finite(op, "target", ys)
    held_out = ""
    if fraction:
        trainer.key, k = ember.random.split(trainer.key)
        (xs, ys), (xv, yv) = split([xs, ys], fraction, key=k)
        validation_data = (xv, yv)
        held_out = (f" (after holding out validation_split={fraction} of "
                    f"{xs.shape[0] + xv.shape[0]})")
    elif stream_val:
        validation_data = as_stream(op, validation_data, what="validation data")
    elif validation_data is not None:
        xv, yv = trainer._input(validation_data[0]), trainer._target(validation_data[1])
        aligned(op, "validation", xv, yv)
        warn_non_finite(op, "validation input", xv)
        warn_non_finite(op, "validation target", yv)
        validation_data = (xv, yv)
    data = aligned(op, "training", xs, ys)
    steps = check_steps(op, data, batch_size, drop_last, held_out)

    def epoch_batches(epoch: int) -> Iterator[Any]:
        key = None
        if shuffle:
            trainer.key, key = ember.random.split(trainer.key)
        if trainer.parallel is not None:
            yield from trainer.parallel.array_batches(data, batch_size, key=key,
                                                      drop_last=drop_last)
        else:
            yield from data.batches(batch_size, key=key, drop_last=drop_last)

    return run_epochs(trainer, epochs, steps, epoch_batches, validation_data,
                      max(batch_size, 256))


def fit_stream(trainer: Trainer, x: Any, y: Any, *, epochs: int, batch_size: Any,
               validation_data: Any, validation_split: Any, shuffle: Any, drop_last: Any,
               steps_per_epoch: Any) -> History:
    """``trainer.fit`` on a pipeline of ``(inputs, targets)`` batches."""
    op = "fit"
    ds = stream_for_fit(x, y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                        validation_split=validation_split, steps_per_epoch=steps_per_epoch)
    if validation_data is not None:
        if is_stream(validation_data):
            validation_data = as_stream(op, validation_data, what="validation data")
        else:
            check_validation(op, validation_data, 0.0)
            xv, yv = trainer._input(validation_data[0]), trainer._target(validation_data[1])
            aligned(op, "validation", xv, yv)
            validation_data = (xv, yv)
    need_optimizer(trainer)
    par = trainer.parallel
    if par is not None:
        ds = par.shard_stream(ds)
    epochs_of = StreamEpochs(ds, steps_per_epoch,
                             lambda xb, yb: (trainer._input(xb), trainer._target(yb)))
    steps = steps_per_epoch if steps_per_epoch is not None else ds.length
    try:
        return run_epochs(trainer, epochs, steps, epochs_of if par is None else
                          lambda e: par.stream_batches(epochs_of(e)),
                          validation_data, EVAL_BATCH)
    finally:
        epochs_of.close()


def run_epochs(trainer: Trainer, epochs: int, steps: int | None,
               epoch_batches: Callable[[int], Iterator[Any]],
               validation_data: Any, val_batch_size: int) -> History:
    """The epochs of ``fit``: steps, logs, validation, callbacks and the progress bar."""
    history = History()
    trainer.history = history
    par = trainer.parallel
    callbacks = trainer.callbacks if par is None else par.here(trainer.callbacks)
    if par is not None:  # rank 0's weights and optimiser state (a resumed run's) everywhere
        par.broadcast_parameters()
        par.broadcast_optimizer(trainer.optimizer)
    # with several ranks, a callback that may stop training mid-epoch is agreed on each step
    agree = par is not None and par.world_size > 1 and any(
        type(cb).on_batch_end is not Callback.on_batch_end for cb in callbacks)
    bar = ProgressBar(epochs, steps, enabled=trainer.progress and (par is None or par.rank == 0))
    trainer.stop_training = False
    for cb in callbacks:
        cb.on_train_begin(trainer)
    for epoch in range(epochs):
        for cb in callbacks:
            cb.on_epoch_begin(trainer, epoch)
        t0 = time.perf_counter()
        bar.start(epoch)
        trainer._train_mode(True, sync=True)
        skipped = trainer.mixed_precision.skipped_steps if trainer.mixed_precision else 0
        loss_sum, aux_sum, seen = 0.0, None, 0
        streams = [_metrics.streaming(n) for n in trainer.metric_names]
        batches = epoch_batches(epoch)
        try:
            for i, (xb, yb) in enumerate(batches):
                total, parts = trainer._step(xb, yb)
                pred, n = parts["pred"], xb.shape[0]
                if par is not None and par.counts is not None:
                    n = par.counts[par.rank]  # 0: a padding sample of a short last batch
                if n:
                    loss_sum += float(parts.get("loss", total)) * n
                    if "aux_loss" in parts:
                        aux_sum = (aux_sum or 0.0) + float(parts["aux_loss"]) * n
                    seen += n
                    for s in streams:
                        s.update(ember.stop_gradient(pred), yb)
                logs = {"loss": loss_sum / seen if seen else math.nan}
                if aux_sum is not None:
                    logs["aux_loss"] = aux_sum / seen
                for cb in callbacks:
                    cb.on_batch_end(trainer, i, logs)
                bar.update(i + 1, logs)
                if agree:
                    trainer.stop_training = par.any(trainer.stop_training)  # type: ignore[union-attr]
                if trainer.stop_training:
                    break
        finally:
            close_iterator(batches)
        if par is not None:  # every rank's samples: sums of the losses and metric counts
            sums = par.sum_floats([loss_sum, aux_sum or 0.0, float(seen)])
            loss_sum, seen = sums[0], round(sums[2])
            aux_sum = None if aux_sum is None else sums[1]
            par.reduce_metrics(streams)
            par.sync_buffers()
        if not seen:  # arrays: check_steps made sure of a step; a dataset may be empty
            raise ConfigError(f"fit: the training data gave no samples in epoch {epoch}; a "
                              f"dataset must yield at least one batch an epoch")
        logs = {"loss": loss_sum / seen}
        if aux_sum is not None:
            logs["aux_loss"] = aux_sum / seen
        logs.update({name: s.result() for name, s in zip(trainer.metric_names, streams,
                                                         strict=True)})
        mixed = trainer.mixed_precision
        if mixed is not None and mixed.scaler is not None:
            logs["skipped_steps"] = mixed.skipped_steps - skipped
            logs["loss_scale"] = mixed.scaler.scale
        if validation_data is not None:
            val = (trainer.evaluate(*validation_data, batch_size=val_batch_size)
                   if isinstance(validation_data, tuple) else trainer.evaluate(validation_data))
            logs.update({f"val_{k}": v for k, v in val.items()})
        seconds = time.perf_counter() - t0
        history.append(logs, seconds)
        bar.finish(logs)
        for cb in callbacks:
            cb.on_epoch_end(trainer, epoch, logs)
        if par is not None and par.world_size > 1:  # EarlyStopping decides alike, but agree
            trainer.stop_training = par.any(trainer.stop_training)
        if trainer.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end(trainer)
    return history
