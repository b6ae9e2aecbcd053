"""``TrainResult``: what one MAD run gives, and ``result.json``'s form of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field
from typing import Any

from ._divergence import describe
from ._errors import MADError
from ._progress import describe_places

__all__ = ["TrainResult"]


@dataclass(frozen=True)
class TrainResult:
    """What one MAD run gives (``result.json`` holds ``to_dict()``).

    Attributes:
        task, layers: the task and the model's layer list.
        settings: every setting of the run (task parameters, lr, weight decay, epochs, batch
            size, width, seed, precision, compile, backend, device, versions).
        best_accuracy: the run's result as the paper defines it: its best epoch's test
            accuracy; ``best_epoch`` that epoch (1-based).
        lowest_loss_accuracy: the test accuracy of the epoch with the lowest test perplexity
            (MAD-Lab's reported ``test_acc``: it validates its lowest-perplexity checkpoint);
            ``lowest_loss_epoch`` that epoch (1-based).
        epochs_run: epochs trained (fewer than ``settings["epochs"]`` after an early stop);
            ``stopped_early`` whether the accuracy reached 0.999.
        diverged_epoch: the epoch (1-based) whose training loss was not finite, after which
            the run stopped (a model whose weights hold NaN learns nothing more; the paper's
            result, the best epoch's accuracy, is the same had it run on); ``None`` if none.
        divergence: for a diverged run, that epoch replayed from its start step by step
            (``ember_mad._divergence``): ``{"epoch", "steps", "run_step", "eager_step"}``, the
            first step whose loss was not finite with the run's own (compiled) step and with
            the plain eager step, ``None`` where the replay stayed finite; else ``None``.
        seconds: the whole run (data, model, training, evaluation); ``train_seconds`` the
            training steps alone; ``tokens_per_second`` training tokens (input positions) per
            second of training steps.
        history: one dict per epoch: ``epoch``, ``lr``, ``train_loss``, ``test_loss`` (the
            mean of the batches' losses, Lightning's), ``test_perplexity`` (exp of the mean
            loss per token), ``test_accuracy`` (MAD-Lab's per-batch macro accuracy mean),
            ``seconds``.
        places: for a run resumed in another place (backend, device or compile mode than
            where it started), where its epochs ran, in order: ``{"backend", "device",
            "compile", "epochs"}`` each, ``settings`` holding the last; ``None`` for a run that
            stayed in one place.
    """

    task: str
    layers: tuple[str, ...]
    settings: dict[str, Any]
    best_accuracy: float
    best_epoch: int
    lowest_loss_accuracy: float
    lowest_loss_epoch: int
    epochs_run: int
    stopped_early: bool
    seconds: float
    train_seconds: float
    tokens_per_second: float
    history: list[dict[str, float]] = field(repr=False)
    diverged_epoch: int | None = None
    divergence: dict[str, Any] | None = None
    places: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-able data (what ``result.json`` holds)."""
        d = asdict(self)
        d["layers"] = list(self.layers)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainResult:
        """The result ``to_dict`` wrote (``result.json`` read back)."""
        names = cls.__dataclass_fields__
        missing = [n for n, f in names.items() if n not in data and f.default is MISSING]
        if missing:
            raise MADError(f"a MAD run result needs the keys {', '.join(missing)}; got "
                           f"{', '.join(sorted(data))}")
        d = {n: data[n] for n in names if n in data}
        d["layers"] = tuple(d["layers"])
        return cls(**d)

    def _diverged(self) -> str:
        if self.diverged_epoch is None:
            return ""
        return (f" (stopped: the loss was not finite at epoch {self.diverged_epoch}"
                f"{describe(self.divergence)})")

    def summary(self) -> str:
        """Two lines for people: the run and its numbers."""
        s = self.settings
        where = (f"{s['backend']}/{s['device']} ({s['precision']}, "
                 f"{'compiled' if s['compile'] else 'eager'})" if not self.places else
                 f"{describe_places(self.places)} ({s['precision']})")
        rate = f"lr={s['lr']:g}" + (f" ({s['schedule']})" if "schedule" in s else "")
        return (f"{self.task} {','.join(self.layers)} {rate} wd={s['weight_decay']:g} "
                f"on {where}\n"
                f"best test accuracy {self.best_accuracy:.4f} (epoch {self.best_epoch}), at the "
                f"lowest test loss {self.lowest_loss_accuracy:.4f} (epoch "
                f"{self.lowest_loss_epoch}); {self.epochs_run} epochs"
                f"{' (stopped at 0.999)' if self.stopped_early else ''}{self._diverged()}"
                f" in {self.seconds:.1f} s, "
                f"{self.tokens_per_second:,.0f} training tokens/s")
