"""What ``ember train`` adds for sequence models: the check that a gap read as timespans is not
rescaled, the predicted-vs-true trajectory plot (``[output] trajectory``), the picture of
the model's wiring (``[output] wiring``), and the text a language model generates at the end
(``[output] tokenizer`` and ``generate``). matplotlib and networkx are imported only here."""

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


# -- [output] tokenizer and generate: text from a trained language model --------------------

#: ``[output] generate``'s keys and their defaults
GENERATE_DEFAULTS: dict[str, Any] = {"prompt": "", "tokens": 200, "temperature": 0.8,
                                     "samples": 1}


def generation_options(out: Mapping[str, Any]) -> dict[str, Any] | None:
    """``[output] generate``: false (the default), true (the defaults) or a table ``{prompt =
    "...", tokens = 200, temperature = 0.8, samples = 1}``, checked before training. It needs
    ``[output] tokenizer``, the path (relative to the working directory) of the tokenizer the
    data loader saved."""
    value = out.get("generate", False)
    if value is False or value is None:
        return None
    table: Mapping[str, Any] = {} if value is True else value
    form = ("[output] generate must be true, false or a table {prompt = \"The \", tokens = "
            "200, temperature = 0.8, samples = 1}")
    if not isinstance(table, Mapping):
        raise ConfigError(f"{form}, got {value!r:.80}")
    bad = sorted(set(table) - set(GENERATE_DEFAULTS))
    if bad:
        raise ConfigError(f"[output] generate: unknown keys {bad}; allowed: "
                          f"{sorted(GENERATE_DEFAULTS)}")
    opts = {**GENERATE_DEFAULTS, **table}
    if not isinstance(opts["prompt"], str):
        raise ConfigError(f"[output] generate: prompt must be a string, got {opts['prompt']!r}")
    for k in ("tokens", "samples"):
        v = opts[k]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"[output] generate: {k} must be a positive int, got {v!r}")
    t = opts["temperature"]
    if isinstance(t, bool) or not isinstance(t, int | float) or not t >= 0:
        raise ConfigError(f"[output] generate: temperature must be a number >= 0 (0 is "
                          f"greedy), got {t!r}")
    if not isinstance(out.get("tokenizer"), str):
        raise ConfigError("[output] generate needs [output] tokenizer = \"PATH.json\": the "
                          "tokenizer the data loader saved (Tokenizer.save), to encode the "
                          "prompt and decode the generated ids")
    return opts


def run_tokenizer(out: Mapping[str, Any], model: Module) -> Any:
    """The tokenizer ``[output] tokenizer`` names (written by the data loader, so read after
    the data and before training), checked against the model: None without that key."""
    spec = out.get("tokenizer")
    if spec is None:
        return None
    if not isinstance(spec, str):
        raise ConfigError(f"[output] tokenizer must be the path of a tokenizer JSON file, got "
                          f"{spec!r:.80}")
    from ..features import Tokenizer

    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"[output] tokenizer = {spec!r}: no such file (looked for "
                          f"{path.absolute()}); the data loader must save its tokenizer there "
                          f"(tokenizer.save(path)) before it returns")
    tok = Tokenizer.load(path)
    vocab = getattr(model, "vocab_size", None)
    if isinstance(vocab, int) and tok.vocab_size > vocab:
        raise ConfigError(f"[output] tokenizer {spec!r} has {tok.vocab_size} tokens, more than "
                          f"the model's vocab_size = {vocab}; set [model] vocab_size >= "
                          f"{tok.vocab_size}")
    return tok


def check_generates(model: Module) -> None:
    """A model ``[output] generate`` can sample from: one with ``generate`` (LanguageModel)."""
    if not callable(getattr(model, "generate", None)):
        raise ConfigError(f"[output] generate: {type(model).__name__} has no generate method; "
                          f"use a language model (class = \"LanguageModel\"), or remove "
                          f"generate")


def generate_samples(model: Module, tokenizer: Any, options: Mapping[str, Any], path: Path,
                     *, seed: int = 0) -> list[str]:
    """``options["samples"]`` texts generated after the prompt (``model.eval().generate``,
    sample ``i`` drawn with key ``seed + i``), decoded with the special tokens shown; written
    to ``path`` one after another under a header line, and returned. An empty prompt starts
    from the eos token (where documents begin in a stream ``pack_blocks`` framed)."""
    ids = tokenizer.encode(options["prompt"]) or [tokenizer.eos_id]
    variables = model.trainable_variables
    device = getattr(variables[0], "device", None) if variables else None
    prompt = ember.asarray([ids], dtype=ember.int64, device=device)
    lm: Any = model  # a LanguageModel (check_generates)
    was_training = model.training
    model.eval()
    texts = []
    try:
        for i in range(options["samples"]):
            out = lm.generate(prompt, options["tokens"],
                              temperature=float(options["temperature"]), key=seed + i)
            texts.append(str(tokenizer.decode(out[0])))
    finally:
        model.train(was_training)
    header = (f"prompt {options['prompt']!r}, {options['tokens']} tokens, temperature "
              f"{options['temperature']}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"--- sample {i + 1}: {header} ---\n{t}\n"
                            for i, t in enumerate(texts)), encoding="utf-8")
    return texts
