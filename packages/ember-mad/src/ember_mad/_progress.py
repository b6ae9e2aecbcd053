"""A run's progress saved while it trains, so a killed run resumes where it stopped.

``train(..., out=DIR)`` saves ``DIR/progress`` (an ``ember_nn`` checkpoint: the weights, the
optimiser's step and slots, and in its extra the epochs' history, the shuffling generator's
state, the time spent so far and the mixed-precision state) at the end of an epoch at most every
``SAVE_SECONDS``. The next ``train`` into the same ``DIR`` with the same settings loads it and
goes on from the next epoch with the same numbers as an uninterrupted run: the benchmark's GPU
jobs have time limits, and a 200-epoch run is longer than one of them. The run may go on in
another place (backend, device, compile mode: a run started on a GPU that was taken back ends on
the CPU); the same math gives the same numbers up to float rounding, and the result's ``places``
records which epochs ran where. A progress of other settings (task, model, lr, precision, ...)
is left alone and the run starts over (the message says so). ``result.json`` replaces it when
the run ends.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import ember_nn

__all__ = ["PLACE", "STOPPED_LINE", "Progress", "SavedHistory", "best_accuracy",
           "describe_places", "load_run_state", "saved_epochs", "saved_history"]

#: the shortest time between two saves
SAVE_SECONDS = 30.0
#: the line ``benchmark`` appends to the log of a run it stops (the report tells it from a failure)
STOPPED_LINE = "ember mad benchmark: stopped this run"
#: settings that may differ between the killed run and its resumption
_FREE = ("versions",)
#: the settings that say where a run trains; a resumed run may go on in another place
PLACE = ("backend", "device", "compile")


def _place(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {k: settings.get(k) for k in PLACE}


def _where(place: Mapping[str, Any]) -> str:
    return f"{place['backend']}/{place['device']} ({'compiled' if place['compile'] else 'eager'})"


def describe_places(places: list[dict[str, Any]]) -> str:
    """``places`` for people: "torch/cuda (compiled) for epochs 1-78, then torch/cpu (eager)
    for 79-80"."""
    parts, first = [], 1
    for p in places:
        last = first + int(p["epochs"]) - 1
        span = f"epoch {first}" if last == first else f"epochs {first}-{last}"
        parts.append(f"{_where(p)} for {span}")
        first = last + 1
    return ", then ".join(parts)


class SavedHistory(NamedTuple):
    """What a run's saved progress says of its epochs."""

    history: list[dict[str, Any]]  #: one row per finished epoch
    epochs: int  #: the run's planned epochs (0 where unknown)
    here: int  #: of the finished epochs, those run in the place of the last save


def saved_history(out: str | os.PathLike[str]) -> SavedHistory | None:
    """The epochs' history the saved progress in the run directory ``out`` holds, the run's
    planned epochs and how many of the epochs ran where the last save was made; None where
    there is none or it cannot be read (the run was killed before its first save completed, or
    a save is being replaced)."""
    path = Progress.path(out)
    if not path.is_dir():
        return None
    try:
        extra = ember_nn.io.read_extra(path)
    except ember_nn.CheckpointError:
        return None
    history = extra.get("history") if isinstance(extra, dict) else None
    if not isinstance(history, list):
        return None
    settings = extra.get("settings")
    epochs = settings.get("epochs") if isinstance(settings, dict) else None
    places = extra.get("places")
    here = (int(places[-1]["epochs"]) if isinstance(places, list) and places
            and isinstance(places[-1], dict) else len(history))
    return SavedHistory(history, int(epochs) if isinstance(epochs, int) else 0, here)


def best_accuracy(history: list[dict[str, Any]]) -> float | None:
    """The best finite test accuracy (a fraction) in a run's epoch history; None where no epoch
    has one."""
    accs = [float(a) for h in history
            if isinstance(a := h.get("test_accuracy"), int | float) and math.isfinite(a)]
    return max(accs) if accs else None


def saved_epochs(out: str | os.PathLike[str]) -> int | None:
    """How many epochs the saved progress in the run directory ``out`` holds (None: see
    :func:`saved_history`)."""
    saved = saved_history(out)
    return None if saved is None else len(saved.history)


def load_run_state(run: Any, weights: Mapping[str, Any], optimizer: Mapping[str, Any] | None,
                   mixed: Mapping[str, Any] | None) -> None:
    """Load weights, the optimiser's ``state_dict`` and the mixed-precision state (where the run
    has one) into ``run`` (a ``_Run``): a resumed run and a replayed epoch both start so."""
    run.model.load_state_dict(weights)
    if optimizer is not None:
        run.optimizer.load_state_dict(optimizer)
    if run.mixed is not None and mixed is not None:
        run.mixed.load_state_dict(mixed)
        run.mixed.sync()


@dataclass
class Progress:
    """Where a run stands: its finished epochs and the counters the result needs."""

    history: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0
    seconds: float = 0.0  #: wall time of the earlier parts of the run
    tokens: int = 0
    rng: dict[str, Any] | None = None  #: the shuffling generator's state after the last epoch
    #: where the earlier parts ran: ``{"backend", "device", "compile", "epochs"}`` each, in order
    earlier: list[dict[str, Any]] = field(default_factory=list)
    saved_at: float = field(default_factory=time.monotonic)

    @property
    def epoch(self) -> int:
        return len(self.history)

    def places(self, settings: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Where the run's epochs so far ran, in order, this part (``settings``) last; a place
        the run stayed in is one entry."""
        places = [dict(p) for p in self.earlier]
        done = sum(int(p["epochs"]) for p in places)
        here = _place(settings)
        if places and _place(places[-1]) == here:
            places[-1]["epochs"] += self.epoch - done
        elif self.epoch > done:
            places.append({**here, "epochs": self.epoch - done})
        return places

    @staticmethod
    def path(out: str | os.PathLike[str]) -> Path:
        return Path(out) / "progress"

    @classmethod
    def resume(cls, out: str | os.PathLike[str] | None, run: Any, settings: dict[str, Any]) -> Progress:
        """The saved progress in ``out`` loaded into ``run`` (model, optimiser, mixed precision),
        or a fresh one when there is none or it belongs to other settings (``PLACE`` aside)."""
        if out is None or not cls.path(out).is_dir():
            return cls()
        try:
            ck = ember_nn.load_checkpoint(cls.path(out))
        except ember_nn.CheckpointError as e:  # killed before its first save completed
            print(f"ember mad: {cls.path(out)} cannot be resumed ({e}); starting over",
                  file=sys.stderr)
            return cls()
        extra = ck.extra or {}
        saved = extra.get("settings") or {}
        old = {k: v for k, v in saved.items() if k not in _FREE + PLACE}
        new = {k: v for k, v in settings.items() if k not in _FREE + PLACE}
        if old != new:
            diff = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
            print(f"ember mad: {cls.path(out)} holds a run of other settings ({', '.join(diff)}); "
                  "starting over", file=sys.stderr)
            return cls()
        load_run_state(run, ck.model.state_dict(),
                       ck.optimizer.state_dict() if ck.optimizer is not None else None,
                       extra.get("mixed_precision"))
        history = list(extra["history"])
        # progress saved before places were recorded ran in one place: its settings'
        earlier = extra.get("places") or [{**_place(saved), "epochs": len(history)}]
        p = cls(history=history, train_seconds=float(extra["train_seconds"]),
                seconds=float(extra["seconds"]), tokens=int(extra["tokens"]), rng=extra["rng"],
                earlier=earlier)
        moved = ("" if _place(earlier[-1]) == _place(settings) else
                 f" (so far on {describe_places(earlier)}; going on on {_where(settings)})")
        print(f"ember mad: resuming {cls.path(out)} after epoch {p.epoch}{moved}",
              file=sys.stderr)
        return p

    def save(self, out: str | os.PathLike[str] | None, run: Any, settings: dict[str, Any],
             rng_state: Mapping[str, Any], seconds: float, *, force: bool = False) -> None:
        """Save the run after an epoch, if ``SAVE_SECONDS`` passed since the last save."""
        if out is None or not (force or time.monotonic() - self.saved_at >= SAVE_SECONDS):
            return
        extra = {"settings": settings, "history": self.history,
                 "train_seconds": self.train_seconds, "seconds": self.seconds + seconds,
                 "tokens": self.tokens, "rng": rng_state, "places": self.places(settings),
                 "mixed_precision": run.mixed.state_dict() if run.mixed is not None else None}
        ember_nn.save(run.model, self.path(out), optimizer=run.optimizer, extra=extra)
        self.saved_at = time.monotonic()

    @classmethod
    def clear(cls, out: str | os.PathLike[str] | None) -> None:
        """Remove the saved progress (the run has its result)."""
        if out is not None and cls.path(out).exists():
            shutil.rmtree(cls.path(out))
