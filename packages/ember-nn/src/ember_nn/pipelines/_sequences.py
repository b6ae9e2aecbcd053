"""What ``ember train`` adds for sequence models: the check that a gap read as timespans is not
rescaled, the predicted-vs-true trajectory plot (``[output] trajectory``) and the picture of
the model's wiring (``[output] wiring``). matplotlib and networkx are imported only here."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from ._datasets import Dataset

__all__ = ["check_gap_scaling", "draw_model_wiring", "find_wiring", "plot_trajectory"]


def check_gap_scaling(model: Module, data: Mapping[str, Any]) -> None:
    """A model that reads each step's time gap from the last input feature
    (``timespans = "last_feature"``) needs ``[data] scale = "none"``: standardising would make
    the gaps negative and of another unit."""
    if getattr(model, "timespans", None) != "last_feature":
        return
    scale = data.get("scale", "standard")
    if scale not in ("none", None):
        raise ConfigError(
            f"[data] scale = {scale!r} would rescale the time gaps the model reads from the last "
            f"input feature ([model] timespans = \"last_feature\"); set scale = \"none\" and "
            f"give the other features a sensible range in the data source")


def find_wiring(model: Module) -> Any:
    """The wiring of the first wired layer in ``model`` (CfC, LTC, their cells), or None."""
    from ..wirings import Wiring

    for _, m in model.named_modules():
        w = getattr(m, "wiring", None)
        if isinstance(w, Wiring):
            return w
    return None


def draw_model_wiring(model: Module, path: Path) -> Path:
    """``draw_graph`` of the model's wiring at ``path`` (``[output] wiring = true``)."""
    from ..wirings import draw_graph

    wiring = find_wiring(model)
    if wiring is None:
        raise ConfigError(f"[output] wiring = true, but {type(model).__name__} has no wired "
                          f"layer (a CfC or LTC built on a Wiring such as AutoNCP); set "
                          f"wiring = false")
    try:
        return draw_graph(wiring, path)
    except ImportError as e:
        raise ConfigError(f"[output] wiring: drawing needs networkx and matplotlib ({e}); pip "
                          f"install networkx matplotlib, or set wiring = false") from None


def _pyplot() -> Any:
    try:
        mpl = importlib.import_module("matplotlib")
        mpl.use("Agg")
        return importlib.import_module("matplotlib.pyplot")
    except ImportError:
        raise ConfigError("[output] trajectory: matplotlib is not installed; pip install "
                          "matplotlib, or set trajectory = false") from None


def trajectory_options(value: Any) -> dict[str, Any] | None:
    """``[output] trajectory``: false, true, or a table ``{samples = 3, names = [...]}``."""
    if value is False or value is None:
        return None
    if value is True:
        return {"samples": 3, "names": None}
    if isinstance(value, Mapping):
        bad = sorted(set(value) - {"samples", "names"})
        samples = value.get("samples", 3)
        names = value.get("names")
        if (not bad and isinstance(samples, int) and not isinstance(samples, bool)
                and samples >= 1 and (names is None or (isinstance(names, list)
                                                        and all(isinstance(n, str)
                                                                for n in names)))):
            return {"samples": samples, "names": names}
    raise ConfigError(f"[output] trajectory must be true, false or a table {{samples = 3, names "
                      f"= [\"angle\", ...]}} (samples a positive int, names strings), got "
                      f"{value!r:.80}")


def plot_trajectory(model: Module, data: Dataset, path: Path, *, samples: int = 3,
                    names: list[str] | None = None, title: str = "") -> Path:
    """Predicted (dashed) against true (solid) outputs over time for the first ``samples`` test
    sequences, one panel per output feature. Time is the running sum of the gaps when the model
    reads them from the last input feature, else the step number."""
    y = data.y_test
    if y.ndim != 3:
        raise ConfigError(f"[output] trajectory needs a target per step, (samples, steps, "
                          f"features); the test targets have shape {tuple(y.shape)}")
    n = min(samples, y.shape[0])
    features = int(y.shape[-1])
    if names is not None and len(names) != features:
        raise ConfigError(f"[output] trajectory names {names} must name all {features} output "
                          f"features")
    x = data.x_test[:n]
    was_training = model.training
    model.eval()
    try:
        pred = ember.astype(model(x), ember.float64).numpy()
    finally:
        model.train(was_training)
    if pred.shape != tuple(y[:n].shape):
        raise ConfigError(f"[output] trajectory: the model gives shape {pred.shape} for "
                          f"{n} test sequences, the targets are {tuple(y[:n].shape)}; it must "
                          f"predict every step (return_sequences = true)")
    true = ember.astype(y[:n], ember.float64).numpy()
    timed = getattr(model, "timespans", None) == "last_feature"
    gaps = ember.astype(x[:, :, -1], ember.float64).numpy() if timed else None
    plt = _pyplot()
    fig, axes = plt.subplots(features, 1, figsize=(9, 2.4 * features + 0.6), sharex=True,
                             squeeze=False)
    for f in range(features):
        ax = axes[f][0]
        for i in range(n):
            t = gaps[i].cumsum() if gaps is not None else range(1, true.shape[1] + 1)
            ax.plot(t, true[i, :, f], "-", color=f"C{i}", label=f"true {i}" if f == 0 else None)
            ax.plot(t, pred[i, :, f], "o--", color=f"C{i}", markersize=3,
                    label=f"predicted {i}" if f == 0 else None)
        ax.set_ylabel(names[f] if names else f"output {f}")
        ax.grid(alpha=0.3)
    axes[-1][0].set_xlabel("time (sum of the gaps)" if timed else "step")
    axes[0][0].legend(ncol=2 * n, fontsize=8, loc="upper right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
