"""The loss/accuracy plot ``ember train`` writes (matplotlib, imported only here and only
when a plot is asked for: ``pip install matplotlib``)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from .._core._errors import ConfigError

__all__ = ["plot_history"]


def plot_history(history: dict[str, list[float]], path: str | Path, *, title: str = "") -> Path:
    """Loss curves on the left, every other metric on the right; saved as PNG at ``path``."""
    try:
        mpl = importlib.import_module("matplotlib")
        mpl.use("Agg")
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        raise ConfigError("plot: matplotlib is not installed; pip install matplotlib, or set "
                          "plot = false in the config's [output] table") from None
    metrics = sorted({k.removeprefix("val_") for k in history} - {"loss"})
    fig, axes = plt.subplots(1, 2 if metrics else 1, figsize=(10 if metrics else 5.5, 4))
    axes = list(axes) if metrics else [axes]

    def curves(ax: Any, name: str, colour: str) -> None:  # training solid, validation dashed
        for key, style in ((name, "-"), (f"val_{name}", "--")):
            if key in history:
                ys = history[key]
                ax.plot(range(1, len(ys) + 1), ys, style, color=colour, label=key)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)

    colours = [f"C{i}" for i in range(10)]
    curves(axes[0], "loss", colours[0])
    axes[0].set_ylabel("loss")
    axes[0].set_yscale("log")
    axes[0].legend()
    if metrics:
        for i, m in enumerate(metrics):
            curves(axes[1], m, colours[(i + 1) % 10])
        axes[1].set_ylabel("metric")
        axes[1].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
