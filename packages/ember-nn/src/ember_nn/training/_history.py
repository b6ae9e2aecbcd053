"""``History``: what ``Trainer.fit`` returns, the per-epoch logs by name."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

__all__ = ["History"]


@dataclass
class History(Mapping[str, list[float]]):
    """Per-epoch logs (``history["val_loss"][-1]``) and the wall time of each epoch.

    A read-only mapping from log names to per-epoch values: ``"val_loss" in history``,
    ``list(history)``, ``history.items()``, ``len(history)`` (the number of names; ``.epochs``
    is the number of epochs). ``.history`` is the plain dict.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch_seconds: list[float] = field(default_factory=list)

    def append(self, logs: dict[str, float], seconds: float) -> None:
        for k, v in logs.items():
            self.history.setdefault(k, []).append(float(v))
        self.epoch_seconds.append(seconds)

    def __getitem__(self, name: str) -> list[float]:
        try:
            return self.history[name]
        except (KeyError, TypeError):
            raise KeyError(f"{name!r} is not in the history; it has {sorted(self.history)}") \
                from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.history)

    def __len__(self) -> int:
        return len(self.history)

    @property
    def epochs(self) -> int:
        return len(self.epoch_seconds)
