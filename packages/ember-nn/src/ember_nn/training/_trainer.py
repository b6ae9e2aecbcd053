"""``Trainer``: its options, the training step (eager, mixed precision, compiled or
distributed) and the conversion of inputs and targets; ``fit`` runs the epoch loop of
``_fit_loop.py`` and ``evaluate``/``predict`` those of ``_evaluation.py``. Also ``fit``, the
one-call form.

>>> model = ember_nn.Sequential(ember_nn.Dense(4, 3, key=0))
>>> trainer = ember_nn.Trainer(model, ember_nn.Adam(1e-2), loss="sparse_categorical_cross_entropy",
...                            metrics=["accuracy"], progress=False)
>>> x, y = ember.random.normal(1, (32, 4)), ember.arange(32) % 3
>>> history = trainer.fit(x, y, epochs=2, batch_size=8)
>>> sorted(history), "loss" in history, len(history["loss"])
(['accuracy', 'loss'], True, 2)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ember

from .. import losses as _losses
from .. import metrics as _metrics
from .._core._aux_losses import collect_losses, sum_losses
from .._core._errors import ConfigError
from .._core._module import Module
from ._callbacks import Callback
from ._checks import check_epochs, check_flag
from ._compile_step import CompiledStep, check_compile, compile_step
from ._data import EVAL_BATCH, FIT_BATCH, as_tensor, is_stream
from ._data_parallel import DataParallel
from ._evaluation import evaluate_model, predict_model
from ._fit_loop import fit_arrays, fit_stream
from ._history import History
from ._precision import MixedPrecision, check_precision, compute_dtype
from ._value_and_grad import _triples

__all__ = ["PRECISIONS", "History", "Trainer", "fit"]

#: dtype option (pure low precision: no float32 copy; see ``PRECISION_MODES`` for mixed
#: precision) -> what is computed in which precision
PRECISIONS = {
    "float32": "parameters, activations and gradients in float32",
    "float16": "parameters, activations and gradients in float16; losses and metrics in float32",
    "bfloat16": "parameters, activations and gradients in bfloat16; losses and metrics in float32",
}


def _loss_fn(loss: Any) -> Callable[..., ember.Tensor]:
    if isinstance(loss, str):
        return _losses.get(loss)
    if callable(loss):
        return loss
    raise ConfigError(f"loss must be a name or a callable (predictions, targets) -> scalar, "
                      f"got {type(loss).__name__}")


class Trainer:
    """Fits ``model`` with ``optimizer`` on array data or a data pipeline
    (``ember_nn.data.Dataset``, or any iterable of ``(inputs, targets)`` batches).

    Arguments:
        model: the module to train (its variables are updated in place).
        optimizer: an ember_nn optimiser (``Adam(1e-3)`` ...).
        loss: a loss name (``"mse"``, ``"sparse_categorical_cross_entropy"`` ...) or a function
            ``(predictions, targets) -> scalar``.
        metrics: names (``"accuracy"``, ``"macro_accuracy"``, ``"binary_accuracy"``).
        dtype: ``"float32"`` (default), ``"float16"`` or ``"bfloat16"``: pure low precision,
            the model and inputs are cast to it and the optimiser updates the cast variables
            (see ``PRECISIONS``).
        precision: ``"bf16-mixed"``, ``"fp16-mixed"`` or ``"32"`` (the default): mixed
            precision (``PRECISION_MODES``, ``MixedPrecision``): ``model`` keeps float32 master
            weights and the optimiser float32 state, a bfloat16/float16 copy computes the
            forward and backward passes (and ``evaluate``/``predict``); float16 steps use
            dynamic loss scaling (``trainer.mixed_precision.scaler``; the history gets
            ``skipped_steps`` and ``loss_scale`` per epoch). Not with ``dtype``.
        device: move the model (and each batch) to this device of its backend.
        seed: the key for shuffling; the same seed repeats a run on a backend.
        compile: run each training step (forward, gradient, update) as one compiled program
            (``compile_step``: ``mx.compile`` on MLX; on torch an ATen trace compiled by
            inductor, which takes tens of seconds on a CPU; NumPy runs the plain step). The
            numbers are the eager step's; ``trainer.compiled_step.stats`` counts compilations.
            A model with Dropout in training mode runs eagerly, with a ``CompileWarning``. With
            ``precision="bf16-mixed"`` the whole mixed step is one program; with
            ``"fp16-mixed"`` (or distributed and mixed) only the update arithmetic is.
        callbacks: ``Callback`` objects (``EarlyStopping``, ``ModelCheckpoint``, ``CSVLogger``).
        progress: show a progress bar (on a terminal; one line per epoch elsewhere).
        distributed: data-parallel training across the ranks of a launched job (torchrun,
            ``mlx.launch``; ``ember train --nproc N``): a ``DataParallel`` (``trainer.parallel``)
            broadcasts rank 0's weights and optimiser state at the start of ``fit``, averages
            the gradients of every step, and ``batch_size`` is the global batch, each rank
            computing its slice of it; losses and metrics are those of every rank's samples;
            only rank 0 shows progress and runs ``ModelCheckpoint``/``CSVLogger``
            (``docs/distributed.md``). Without a launcher: a world of one, as without it.

    Losses: ``history["loss"]`` (and ``"val_loss"``, ``evaluate``'s ``"loss"``) is always the
    ``loss`` argument's value on the predictions. Auxiliary losses the model's layers add in
    training steps (``ember_nn.add_loss``: a mixture of experts' load-balancing loss) are added
    to it for the gradient, and their sum is logged apart as ``history["aux_loss"]`` (present
    only for models that add some): the objective minimised is ``loss + aux_loss``.
    """

    #: the ``History`` of the latest ``fit`` (set when it starts)
    history: History

    def __init__(self, model: Module, optimizer: Any, *, loss: Any = "mse",
                 metrics: Sequence[str] = (), dtype: str | None = None,
                 precision: str | None = None, device: str | None = None,
                 seed: int = 0, compile: bool = False, callbacks: Sequence[Callback] = (),
                 progress: bool = True, distributed: bool = False) -> None:
        if not isinstance(model, Module):
            raise ConfigError(f"Trainer: model must be an ember_nn.Module, got "
                              f"{type(model).__name__}")
        if dtype is not None and dtype not in PRECISIONS:
            raise ConfigError(f"Trainer: dtype must be one of {sorted(PRECISIONS)}, got {dtype!r}")
        if precision is not None:
            check_precision(precision, "Trainer")
            if dtype is not None:
                raise ConfigError(
                    f"Trainer: pass dtype={dtype!r} (pure low precision: the model itself is "
                    f"cast) or precision={precision!r} (mixed: float32 master weights), not both")
        self.model, self.optimizer = model, optimizer
        self.loss = _loss_fn(loss)
        self.metric_names = list(metrics)
        for name in self.metric_names:
            _metrics.get(name)  # (predictions, labels) metrics only; fails here, not later
        self.dtype = getattr(ember, dtype) if dtype else None
        self.device = device
        self.key = ember.random.key(seed)
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                what = (f"the class {cb.__name__}; instantiate it, e.g. {cb.__name__}()"
                        if isinstance(cb, type) else type(cb).__name__)
                raise ConfigError(f"Trainer: callbacks must be ember_nn.Callback objects, got "
                                  f"{what}")
        self.progress = progress
        self.stop_training = False
        if self.dtype is not None or device is not None:
            model.to(device=device, dtype=self.dtype)
        check_flag("Trainer", "distributed", distributed)
        #: the ``DataParallel`` of a distributed trainer (None otherwise)
        self.parallel = DataParallel(model, broadcast=False) if distributed else None
        variables = model.variables
        self.backend = variables[0].backend if variables else ember.get_backend()
        self.compiled = check_compile(compile, "Trainer")
        self.compiled_step: CompiledStep | None = None
        self.precision = precision or "32"
        self.mixed_precision = (MixedPrecision(model, optimizer, self.precision)
                                if compute_dtype(self.precision) is not None else None)
        #: the model the forward passes run on: ``model``, or its low-precision copy
        self._compute = (self.mixed_precision.compute_model if self.mixed_precision is not None
                         else model)
        self._input_dtype = self.dtype or compute_dtype(self.precision)
        if self.compiled and optimizer is not None:
            mixed = self.mixed_precision
            # bf16-mixed compiles as one program; fp16-mixed (loss scaling) and a distributed
            # mixed step compile their optimiser update only
            whole = mixed is None or (mixed.scaler is None and self.parallel is None)
            if whole:
                self.compiled_step = compile_step(model, self._train_loss, optimizer,
                                                  has_aux=True, mixed_precision=mixed)
            if not whole or self.parallel is not None:
                optimizer.compile_updates(True)
        if self.parallel is not None:  # the gradients averaged between backward and update
            if self.mixed_precision is not None:
                self.mixed_precision.gradient_hook = self.parallel.reduce
            if self.compiled_step is not None:
                self.compiled_step.gradient_hook = self.parallel.reduce
        self._step = self._make_step()

    # -- steps ---------------------------------------------------------------------------------
    def _predict_loss(self, x: ember.Tensor, y: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor]:
        pred = self._compute(x)
        if pred.dtype in (ember.float16, ember.bfloat16):
            pred = ember.astype(pred, ember.float32)
        return self.loss(pred, y), pred

    def _train_loss(self, x: ember.Tensor, y: ember.Tensor) -> tuple[ember.Tensor, dict[str, Any]]:
        """``(objective, {"pred", and where the layers added auxiliary losses "loss" and
        "aux_loss"})``: the loss of the predictions plus the auxiliary losses collected here
        (so no step below counts them again)."""
        with collect_losses() as extra:
            loss, pred = self._predict_loss(x, y)
        aux = sum_losses(extra)
        if aux is None:
            return loss, {"pred": pred}
        if aux.dtype != loss.dtype:
            aux = ember.astype(aux, loss.dtype)
        return loss + aux, {"pred": pred, "loss": loss, "aux_loss": aux}

    def _make_step(self) -> Callable[[ember.Tensor, ember.Tensor], tuple[ember.Tensor, Any]]:
        """The training step: ``(objective, _train_loss's dict)`` of a batch."""
        opt, model, train_loss, par = self.optimizer, self.model, self._train_loss, self.parallel
        mixed = self.mixed_precision
        if self.compiled_step is not None:
            compiled: Callable[..., tuple[ember.Tensor, Any]] = self.compiled_step
            return compiled
        if mixed is not None:
            def mixed_step(x: ember.Tensor, y: ember.Tensor) -> tuple[ember.Tensor, Any]:
                out: tuple[ember.Tensor, Any] = mixed.step(lambda _m, xb, yb: train_loss(xb, yb),
                                                           x, y, has_aux=True)
                return out

            return mixed_step

        def step(x: ember.Tensor, y: ember.Tensor) -> tuple[ember.Tensor, Any]:
            # value_and_grad's work, keeping the variables it found: one model walk a step
            out, triples = _triples(model, train_loss, True, (x, y), {})
            opt.apply(triples if par is None else par.reduce_triples(triples))
            return out

        return step

    def train_step(self, x: Any, y: Any) -> tuple[ember.Tensor, ember.Tensor]:
        """One optimisation step on one batch; returns (loss, predictions), the loss without
        the auxiliary losses (``history["loss"]``'s)."""
        self._train_mode(True)
        if self.parallel is not None:
            self.parallel.counts = None  # each rank's batch: an equal share
        total, parts = self._step(self._input(x), self._target(y))
        return parts.get("loss", total), parts["pred"]

    def _train_mode(self, flag: bool, *, sync: bool = False) -> None:
        """Training or eval mode for the model and its compute copy; ``sync`` first casts the
        master weights into the copy again (a callback or the user may have changed them)."""
        self.model.train(flag)
        mixed = self.mixed_precision
        if mixed is not None:
            if sync:
                mixed.sync()
            mixed.compute_model.train(flag)

    def _input(self, x: Any) -> ember.Tensor:
        t = as_tensor(x, backend=self.backend, device=self.device, what="inputs")
        want = self._input_dtype
        if t.dtype.is_floating and want is not None and t.dtype != want:
            t = ember.astype(t, want)
        return t

    def _target(self, y: Any) -> ember.Tensor:
        return as_tensor(y, backend=self.backend, device=self.device, what="targets")

    # -- loops ---------------------------------------------------------------------------------
    def fit(self, x: Any, y: Any = None, *, epochs: int = 1, batch_size: int = FIT_BATCH,
            validation_data: Any = None, validation_split: float = 0.0,
            shuffle: bool | None = None, drop_last: bool = False,
            steps_per_epoch: int | None = None) -> History:
        """Train for ``epochs`` passes over ``(x, y)``; returns the per-epoch ``History``.

        ``x`` is array data (with targets ``y``; ``batch_size`` defaults to 32 and ``shuffle``
        to True) or a data pipeline yielding ``(inputs, targets)`` batches: an
        ``ember_nn.data.Dataset`` (iterated with ``dataset.iter(epoch)``, so its shuffle order
        follows the epoch) or any iterable of batches (a generator function, a ``DataLoader``),
        with ``y`` omitted; batching, shuffling and dropping the last batch are then the
        pipeline's stages, so ``batch_size``, ``shuffle``, ``drop_last`` and
        ``validation_split`` must not be passed. ``steps_per_epoch`` ends an epoch after that
        many batches of a pipeline, the next epoch going on where it stopped (needed for an
        endless one, ``repeat()``).

        ``validation_data=(xv, yv)`` or a pipeline of batches (or ``validation_split``, a
        fraction of array data held out from the end after shuffling with the trainer's seed)
        adds ``val_*`` entries to the logs.

        Before the first step array data is checked: x and y must have the same (non-zero)
        number of samples, an epoch must have at least one step (``drop_last`` with fewer
        samples than ``batch_size`` is an error), and inputs or targets holding NaN or infinite
        values give a ``RuntimeWarning`` naming how many samples do (a pipeline is not read
        ahead; an epoch of it with no batch is an error). A callback that sets
        ``trainer.stop_training`` in ``on_batch_end`` ends the epoch after that batch.
        """
        check_epochs("fit", epochs)
        if is_stream(x):
            return fit_stream(self, x, y, epochs=epochs, batch_size=batch_size,
                              validation_data=validation_data,
                              validation_split=validation_split, shuffle=shuffle,
                              drop_last=drop_last, steps_per_epoch=steps_per_epoch)
        return fit_arrays(self, x, y, epochs=epochs, batch_size=batch_size,
                          validation_data=validation_data, validation_split=validation_split,
                          shuffle=shuffle, drop_last=drop_last, steps_per_epoch=steps_per_epoch)

    def evaluate(self, x: Any, y: Any = None, *,
                 batch_size: int = EVAL_BATCH) -> dict[str, float]:
        """The loss and metrics over ``(x, y)`` in eval mode (dropout off, running statistics).

        ``x`` is array data with targets ``y`` (``batch_size`` defaults to 256), or a dataset
        (any iterable) of ``(inputs, targets)`` batches with ``y`` omitted. There must be at
        least one sample (there is no loss of nothing).
        """
        return evaluate_model(self, x, y, batch_size=batch_size)

    def predict(self, x: Any, *, batch_size: int = EVAL_BATCH) -> ember.Tensor:
        """The model's outputs for ``x`` (at least one sample) in eval mode, batched and
        concatenated. ``x`` is array data (``batch_size`` defaults to 256) or a dataset (any
        iterable) of batches: input tensors, or tuples whose first entry is the inputs (the
        targets of ``(inputs, targets)`` batches are ignored)."""
        return predict_model(self, x, batch_size=batch_size)


def fit(model: Module, optimizer: Any, x: Any, y: Any = None, *, loss: Any = "mse",
        metrics: Sequence[str] = (), epochs: int = 1, batch_size: int = FIT_BATCH,
        validation_data: Any = None, validation_split: float = 0.0,
        callbacks: Sequence[Callback] = (), seed: int = 0, progress: bool = True,
        shuffle: bool | None = None, drop_last: bool = False,
        steps_per_epoch: int | None = None, **trainer_options: Any) -> History:
    """``Trainer(model, optimizer, ...).fit(x, y, ...)`` in one call (``x`` arrays with targets
    ``y``, or a dataset of ``(inputs, targets)`` batches with ``y`` omitted)."""
    trainer = Trainer(model, optimizer, loss=loss, metrics=metrics, callbacks=callbacks,
                      seed=seed, progress=progress, **trainer_options)
    return trainer.fit(x, y, epochs=epochs, batch_size=batch_size,
                       validation_data=validation_data, validation_split=validation_split,
                       shuffle=shuffle, drop_last=drop_last, steps_per_epoch=steps_per_epoch)
