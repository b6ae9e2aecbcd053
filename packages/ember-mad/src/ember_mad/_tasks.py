"""The six MAD tasks as data: their parameters and defaults (MAD-Lab's baseline settings), the
difficulty sweeps of MAD-Lab's task configs, and the checks a setting must pass."""

from __future__ import annotations

import numbers
from typing import Any

from ._errors import MADError

__all__ = ["LR_GRID", "NUM_TEST_EXAMPLES", "TASKS", "WD_GRID", "task_defaults", "task_settings"]

#: The task names, in MAD-Lab's registry order.
TASKS: tuple[str, ...] = (
    "in-context-recall",
    "noisy-in-context-recall",
    "fuzzy-in-context-recall",
    "memorization",
    "compression",
    "selective-copying",
)

#: The learning rates and weight decays every setting is trained with (MAD-Lab's benchmark).
LR_GRID: tuple[float, ...] = (1e-4, 5e-4, 1e-3)
WD_GRID: tuple[float, ...] = (0.0, 0.1)

#: Every benchmark setting has this many test examples.
NUM_TEST_EXAMPLES = 1_280

# Each task's parameters with their defaults: the baseline of configs/tasks/<task>.yml, and for
# the parameters it leaves out, MADConfig's defaults (multi_query=True, no noise, motifs of 1).
_DEFAULTS: dict[str, dict[str, Any]] = {
    "in-context-recall": dict(vocab_size=16, seq_len=128, multi_query=True, frac_noise=0.0,
                              noise_vocab_size=0),
    "noisy-in-context-recall": dict(vocab_size=32, seq_len=128, multi_query=True, frac_noise=0.2,
                                    noise_vocab_size=16),
    "fuzzy-in-context-recall": dict(vocab_size=16, seq_len=128, k_motif_size=3, v_motif_size=3,
                                    multi_query=True, frac_noise=0.0, noise_vocab_size=0),
    "memorization": dict(vocab_size=256, seq_len=32, frac_noise=0.0, noise_vocab_size=0),
    "compression": dict(vocab_size=16, seq_len=32, frac_noise=0.0, noise_vocab_size=0),
    "selective-copying": dict(vocab_size=16, seq_len=256, num_tokens_to_copy=16),
}

# The baseline's number of training examples, then the sweeps (one parameter changed at a time,
# in the order of the config files).
_BASELINE_TRAIN = {task: 12_800 for task in TASKS} | {"memorization": 256}
_RECALL_SWEEP = {"vocab_size": [32, 64, 128], "seq_len": [256, 512, 1024],
                 "num_train_examples": [6400, 3200, 1600, 800]}
_SWEEPS: dict[str, dict[str, list[Any]]] = {
    "in-context-recall": _RECALL_SWEEP,
    "noisy-in-context-recall": {"vocab_size": [48, 80, 144], "seq_len": [256, 512, 1024],
                                "num_train_examples": [6400, 3200, 1600, 800],
                                "frac_noise": [0.4, 0.6, 0.8]},
    "fuzzy-in-context-recall": _RECALL_SWEEP,
    "memorization": {"vocab_size": [512, 1024, 2048, 4096, 8192]},
    "compression": {"vocab_size": [32, 64, 128], "seq_len": [64, 128, 256],
                    "num_train_examples": [6400, 3200, 1600, 800]},
    "selective-copying": {"vocab_size": [32, 64, 128], "seq_len": [512, 1024],
                          "num_train_examples": [6400, 3200, 1600, 800],
                          "num_tokens_to_copy": [32, 64, 96]},
}

_INT_PARAMS = ("vocab_size", "seq_len", "noise_vocab_size", "num_tokens_to_copy", "k_motif_size",
               "v_motif_size")


def check_task(task: object) -> str:
    """``task`` if it names a MAD task, else a :class:`MADError` listing the six."""
    if not isinstance(task, str) or task not in _DEFAULTS:
        raise MADError(f"unknown MAD task {task!r}: the tasks are {', '.join(TASKS)}")
    return task


def task_defaults(task: str) -> dict[str, Any]:
    """The parameters ``task`` takes, with their defaults (MAD-Lab's baseline setting).

    Arguments:
        task: one of :data:`TASKS`.

    Raises:
        MADError: an unknown task.

    >>> task_defaults("selective-copying")
    {'vocab_size': 16, 'seq_len': 256, 'num_tokens_to_copy': 16}
    """
    return dict(_DEFAULTS[check_task(task)])


def task_settings(task: str, protocol: str = "baseline") -> list[dict[str, Any]]:
    """The settings of ``task`` that MAD-Lab's benchmark trains, as keyword arguments of
    :func:`ember_mad.make_dataset` (every task parameter, ``num_train_examples`` and
    ``num_test_examples``).

    ``protocol="baseline"`` gives the baseline alone; ``"full"`` the baseline and then each
    difficulty change of the task's config, one parameter changed at a time, in MAD-Lab's order
    (``make_benchmark_mad_configs``; 66 settings over the six tasks, each trained on the
    lr x wd grid :data:`LR_GRID` x :data:`WD_GRID`).

    Arguments:
        task: one of :data:`TASKS`.
        protocol: ``"baseline"`` or ``"full"``.

    Raises:
        MADError: an unknown task or protocol.

    >>> task_settings("memorization")
    [{'vocab_size': 256, 'seq_len': 32, 'frac_noise': 0.0, 'noise_vocab_size': 0, 'num_train_examples': 256, 'num_test_examples': 1280}]
    >>> [s["vocab_size"] for s in task_settings("memorization", "full")]
    [256, 512, 1024, 2048, 4096, 8192]
    """
    check_task(task)
    if protocol not in ("baseline", "full"):
        raise MADError(f"unknown protocol {protocol!r}: use 'baseline' or 'full'")
    baseline = dict(_DEFAULTS[task], num_train_examples=_BASELINE_TRAIN[task],
                    num_test_examples=NUM_TEST_EXAMPLES)
    settings = [baseline]
    if protocol == "full":
        for key, values in _SWEEPS[task].items():
            settings += [dict(baseline, **{key: value}) for value in values]
    return settings


def resolve_params(task: str, params: dict[str, Any]) -> dict[str, Any]:
    """The task's full parameter dict: defaults updated by ``params``, every value checked."""
    check_task(task)
    allowed = _DEFAULTS[task]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise MADError(f"{task} takes no parameter {', '.join(map(repr, unknown))}: its "
                       f"parameters are {', '.join(allowed)}")
    p = dict(allowed, **params)
    for name in _INT_PARAMS:
        if name in p:
            p[name] = _int(name, p[name])
    if "multi_query" in p and not isinstance(p["multi_query"], bool):
        raise MADError(f"multi_query must be True or False, got {p['multi_query']!r}")
    if "frac_noise" in p:
        f = p["frac_noise"]
        if isinstance(f, bool) or not isinstance(f, numbers.Real):
            raise MADError(f"frac_noise must be a number, got {f!r}")
        p["frac_noise"] = float(f)
    _check_ranges(task, p)
    return p


def _int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise MADError(f"{name} must be an integer, got {value!r}")
    return int(value)


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise MADError(message)


def _check_ranges(task: str, p: dict[str, Any]) -> None:
    v, n = p["vocab_size"], p["seq_len"]
    noise, frac = p.get("noise_vocab_size", 0), p.get("frac_noise", 0.0)
    _need(noise >= 0, f"noise_vocab_size must be >= 0, got {noise}")
    if "frac_noise" in p:
        # in-context recall (plain, noisy, fuzzy) takes 0 <= frac_noise < 1, the others <= 1
        top_open = task.endswith("in-context-recall")
        _need(0.0 <= frac <= 1.0 and not (top_open and frac == 1.0),
              f"frac_noise must be in [0, 1{')' if top_open else ']'} for {task}, got {frac}")
        _need(frac == 0.0 or noise > 0,
              f"frac_noise={frac} draws noise tokens: give noise_vocab_size >= 1 (it is 0)")
    if task in ("in-context-recall", "noisy-in-context-recall"):
        special = 0 if p["multi_query"] else 1  # the copy prefix
        _need(v - special - noise >= 2,
              f"vocab_size={v} leaves {v - special - noise} key/value tokens after "
              f"noise_vocab_size={noise}{' and the copy prefix' if special else ''}: keys and "
              f"values need >= 2, so vocab_size must be >= {2 + special + noise}")
        _need(n >= 4 and n % 2 == 0, f"seq_len must be an even number >= 4 for {task}, got {n}")
    elif task == "fuzzy-in-context-recall":
        k, m = p["k_motif_size"], p["v_motif_size"]
        _need(k >= 1, f"k_motif_size must be >= 1, got {k}")
        _need(m >= 1, f"v_motif_size must be >= 1, got {m}")
        special = 1 if p["multi_query"] else 2  # the pad token (and the copy prefix)
        tokens = v - special - noise
        keys, values = tokens // 2, tokens - tokens // 2
        _need(keys >= k and values >= m,
              f"vocab_size={v} leaves {keys} key and {values} value tokens (after "
              f"noise_vocab_size={noise} and {special} special token(s)), fewer than "
              f"k_motif_size={k} / v_motif_size={m}: vocab_size must be >= "
              f"{special + noise + max(2 * k, 2 * m - 1)}")
        _need(n > 2 * (k + m),
              f"seq_len={n} is too short for motifs of {k} + {m} tokens: seq_len must be > "
              f"2 * (k_motif_size + v_motif_size) = {2 * (k + m)}")
    elif task == "memorization":
        _need(v >= 3, f"vocab_size must be >= 3 for memorization (one key, one value and the "
                      f"insert token), got {v}")
        _need(noise <= v - 1, f"noise_vocab_size={noise} must be <= vocab_size - 1 = {v - 1}")
        _need(n >= 2 and n % 2 == 0, f"seq_len must be an even number >= 2 for memorization, "
                                     f"got {n}")
    elif task == "compression":
        _need(v - 1 - noise >= 1, f"vocab_size={v} leaves no token to compress after "
                                  f"noise_vocab_size={noise} and the compression token: "
                                  f"vocab_size must be >= {noise + 2}")
        _need(n >= 2, f"seq_len must be >= 2 for compression, got {n}")
    else:  # selective-copying
        c = p["num_tokens_to_copy"]
        _need(v >= 3, f"vocab_size must be >= 3 for selective-copying (the copy and blank "
                      f"tokens take two), got {v}")
        _need(c >= 1, f"num_tokens_to_copy must be >= 1, got {c}")
        _need(n > 2 * c + 1, f"seq_len={n} must be > 2 * num_tokens_to_copy + 1 = {2 * c + 1}")
