"""Callbacks for ``Trainer.fit``: early stopping, checkpointing, CSV logging, stopping on a
non-finite loss.

A callback's hooks receive the trainer (``trainer.model``, ``trainer.optimizer``,
``trainer.stop_training``) and the epoch's logs (``{"loss": ..., "val_loss": ...}``).
"""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import ember

from .._core._errors import ConfigError, TrainingError
from ._checks import user_stacklevel

if TYPE_CHECKING:
    from ._trainer import Trainer

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "ModelCheckpoint", "TerminateOnNaN"]


class Callback:
    """Override any of the hooks; each does nothing by default."""

    def on_train_begin(self, trainer: Trainer) -> None: ...

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None: ...

    def on_batch_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None: ...

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None: ...

    def on_train_end(self, trainer: Trainer) -> None: ...


def _mode(monitor: str, mode: str) -> str:
    if mode == "auto":
        return "max" if any(w in monitor for w in ("acc", "auc", "f1", "precision", "recall")) \
            else "min"
    if mode not in ("min", "max"):
        raise ConfigError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


class _Monitor:
    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        name = type(self).__name__
        if not isinstance(monitor, str):
            raise ConfigError(f"{name}: monitor must be a log name such as 'val_loss', got "
                              f"{monitor!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, int | float) or min_delta < 0:
            raise ConfigError(f"{name}: min_delta must be a number >= 0, got {min_delta!r}")
        self.monitor, self.mode, self.min_delta = monitor, _mode(monitor, mode), float(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf

    def value(self, logs: dict[str, float]) -> float:
        if self.monitor not in logs:
            raise ConfigError(
                f"{type(self).__name__}: monitored value {self.monitor!r} is not in the epoch's "
                f"logs {sorted(logs)}; pass validation data or monitor one of those")
        return float(logs[self.monitor])

    def improved(self, v: float) -> bool:
        if self.mode == "min":
            return v < self.best - self.min_delta
        return v > self.best + self.min_delta


class EarlyStopping(Callback, _Monitor):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs; with
    ``restore_best`` the model gets the weights of its best epoch back at the end."""

    def __init__(self, monitor: str = "val_loss", *, patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best: bool = True) -> None:
        _Monitor.__init__(self, monitor, mode, min_delta)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ConfigError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        self.patience, self.restore_best = patience, restore_best
        self.wait = 0
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self._best_state: dict[str, ember.Tensor] | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait, self.best_epoch, self.stopped_epoch, self._best_state = 0, None, None, None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        v = self.value(logs)
        if self.improved(v):
            self.best, self.best_epoch, self.wait = v, epoch, 0
            if self.restore_best:
                self._best_state = trainer.model.state_dict()
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            trainer.stop_training = True

    def on_train_end(self, trainer: Trainer) -> None:
        if self.restore_best and self._best_state is not None and self.stopped_epoch is not None:
            trainer.model.load_state_dict(self._best_state)


class ModelCheckpoint(Callback, _Monitor):
    """Save a checkpoint (``ember_nn.save``, with the optimiser) after each epoch, or only when
    ``monitor`` improves (``save_best_only``). ``path`` may contain ``{epoch}``.

    With ``Trainer(precision="bf16-mixed"|"fp16-mixed")`` the model holds the float32 master
    weights (and the optimiser float32 state), so that is what is saved; the extra JSON also
    gets ``"mixed_precision"`` (``MixedPrecision.state_dict()``: the loss scale to resume
    float16 training with)."""

    def __init__(self, path: str | Path, *, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto") -> None:
        _Monitor.__init__(self, monitor, mode, 0.0)
        self.path, self.save_best_only = str(path), save_best_only
        self.saved: list[Path] = []

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.save_best_only:
            v = self.value(logs)
            if not self.improved(v):
                return
            self.best = v
        target = Path(self.path.format(epoch=epoch + 1))
        from ..io._checkpoint import save  # imported here: `import ember_nn` stays light

        extra = {"epoch": epoch + 1, "logs": dict(logs)}
        mixed = getattr(trainer, "mixed_precision", None)
        if mixed is not None:  # the model holds the float32 masters; this is the loss scale
            extra["mixed_precision"] = mixed.state_dict()
        save(trainer.model, target, optimizer=trainer.optimizer, extra=extra)
        self.saved.append(target)


class CSVLogger(Callback):
    """One row per epoch (``epoch`` then the logs) appended to a CSV file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fields: list[str] | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fields = None
        self.path.write_text("")

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        row = {"epoch": epoch + 1, **logs}
        with self.path.open("a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self._fields or list(row))
            if self._fields is None:
                self._fields = list(row)
                w.writeheader()
            w.writerow({k: row.get(k, "") for k in self._fields})


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite (Keras' ``TerminateOnNaN``).

    The check reads the running loss the trainer already has on the host (no extra work). When
    it fires, the epoch ends after that batch (its logs, with the non-finite loss, still reach
    the history and the other callbacks) and training stops. Nothing is restored: the model
    keeps the weights of the failing step, which may themselves be NaN. Then a
    ``RuntimeWarning`` names the epoch and batch, or, with ``raise_error=True`` (what
    ``ember train`` uses), ``fit`` raises ``TrainingError`` once every callback has seen the
    end of training. ``stopped`` is ``(epoch, batch, loss)`` (1-based), or None.

    >>> x = ember.asarray([[1.0], [float("nan")]])
    >>> guard = ember_nn.TerminateOnNaN()
    >>> history = ember_nn.fit(ember_nn.Dense(1, 1, key=0), ember_nn.SGD(0.1), x,
    ...                        ember.zeros((2, 1)), batch_size=1, shuffle=False, epochs=5,
    ...                        callbacks=[guard], progress=False)  # warns twice: data, loss
    >>> guard.stopped, history.epochs
    ((1, 2, nan), 1)
    """

    def __init__(self, *, raise_error: bool = False) -> None:
        if not isinstance(raise_error, bool):
            raise ConfigError(f"TerminateOnNaN: raise_error must be True or False, got "
                              f"{raise_error!r}")
        self.raise_error = raise_error
        self.stopped: tuple[int, int, float] | None = None
        self._epoch = 0

    def on_train_begin(self, trainer: Trainer) -> None:
        self.stopped, self._epoch = None, 0

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        self._epoch = epoch

    def on_batch_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        loss = logs.get("loss")
        if self.stopped is None and loss is not None and not math.isfinite(loss):
            self.stopped = (self._epoch + 1, step + 1, float(loss))
            trainer.stop_training = True
            if not self.raise_error:
                warnings.warn(self.message(), RuntimeWarning, stacklevel=user_stacklevel())

    def message(self) -> str:
        """What happened, where, and what to try (empty if training did not stop)."""
        if self.stopped is None:
            return ""
        epoch, batch, loss = self.stopped
        return (f"TerminateOnNaN: the training loss became {loss} at epoch {epoch}, batch "
                f"{batch}; training stopped there and the model keeps the weights of that step "
                f"(nothing was restored). Check the data for NaN or infinite values, lower the "
                f"learning rate, or clip the gradients")

    def on_train_end(self, trainer: Trainer) -> None:
        if self.raise_error and self.stopped is not None:
            raise TrainingError(self.message())
