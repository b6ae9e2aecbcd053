"""One instance of each MAD task, drawn the way MAD-Lab draws it.

Each generator takes the task's generator ``rng`` (one ``np.random.default_rng(seed)`` for a whole
data set: training instances, then test instances) and makes the same calls on it, in the same
order, as MAD-Lab's ``mad/data/instances.py``, so the arrays come out equal. ``rng.choice(n)``
and ``rng.choice(seq)`` draw what ``rng.integers(0, n)`` draws (then index ``seq``), and shuffling
a list draws what shuffling an index array of its length draws: those are the forms used here.
Returns two 1-D int64 arrays, inputs and targets (ignored targets are ``IGNORE``).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import permutations
from typing import Any

import numpy as np

__all__ = ["IGNORE", "compression", "fuzzy_recall", "kv_table", "memorization", "recall",
           "selective_copying"]

IGNORE = -100
Pair = tuple[np.ndarray, np.ndarray]


def _shift(inputs: list[int], targets: list[int], training: bool) -> Pair:
    """Next-token pairs: training predicts every next token, testing only the probed ones."""
    x = np.asarray(inputs, dtype=np.int64)
    y = x if training else np.asarray(targets, dtype=np.int64)
    return x[:-1], y[1:].copy()


def recall(rng: np.random.Generator, *, vocab_size: int, seq_len: int, multi_query: bool,
           frac_noise: float, noise_vocab_size: int, training: bool) -> Pair:
    """In-context recall (and its noisy form): key-value pairs, each key bound to one value per
    sequence; with ``multi_query`` every repeated key's value is a test target, else a copy
    prefix and one probed key close the sequence and its value is the one target."""
    tokens = vocab_size - (0 if multi_query else 1) - noise_vocab_size
    n_keys = tokens // 2
    n_values = tokens - n_keys
    pairs = seq_len // 2
    keep = int(rng.integers(0, pairs))  # this pair is never noise
    bound: dict[int, int] = {}
    shown: dict[int, int] = {}  # insertion order matters: the probe is drawn from it
    inputs: list[int] = []
    targets: list[int] = []
    for i in range(pairs - 1):
        if frac_noise > 0 and i != keep and rng.random() < frac_noise:
            inputs += (tokens + rng.integers(0, noise_vocab_size, size=2)).tolist()
            targets += [IGNORE, IGNORE]
            continue
        k = int(rng.integers(0, n_keys))
        v = bound.get(k)
        if v is None:
            v = bound[k] = n_keys + int(rng.integers(0, n_values))
        inputs += [k, v]
        targets += [IGNORE, v if (k in shown and multi_query) else IGNORE]
        shown[k] = v
    if not shown:
        raise RuntimeError("every key-value pair came out as noise (MAD-Lab fails here too)")
    keys = list(shown)
    k = keys[int(rng.integers(0, len(keys)))]
    if not multi_query:
        inputs.append(vocab_size - 1)  # the copy prefix
        targets.append(IGNORE)
    inputs += [k, shown[k]]
    targets += [IGNORE, shown[k]]
    return _shift(inputs, targets, training)


@lru_cache(maxsize=32)
def _motifs(start: int, stop: int, size: int) -> np.ndarray:
    """Every ordered ``size``-tuple of distinct tokens of ``range(start, stop)``, in
    ``itertools.permutations`` order (rows; read-only, shuffled copies are drawn from it)."""
    rows = np.array(list(permutations(range(start, stop), size)), dtype=np.int64)
    rows = rows.reshape(-1, size)
    rows.setflags(write=False)
    return rows


def _shuffled(rng: np.random.Generator, start: int, stop: int, size: int) -> np.ndarray:
    rows = _motifs(start, stop, size)
    order = np.arange(len(rows))
    rng.shuffle(order)
    return rows[order]


def fuzzy_recall(rng: np.random.Generator, *, vocab_size: int, seq_len: int, k_motif_size: int,
                 v_motif_size: int, multi_query: bool, frac_noise: float, noise_vocab_size: int,
                 training: bool) -> Pair:
    """Fuzzy in-context recall: keys and values are motifs of 1..k (1..v) tokens; one probe
    pair is put in the sequence and repeated at its end (test keys have k tokens), the front is
    padded to ``seq_len``."""
    pad = vocab_size - 1 if multi_query else vocab_size - 2
    tokens = pad - noise_vocab_size
    n_keys = tokens // 2
    key_sizes = list(range(1, k_motif_size + 1)) if training else [k_motif_size]
    keys = {s: _shuffled(rng, 0, n_keys, s) for s in key_sizes}
    values = {s: _shuffled(rng, n_keys, tokens, s) for s in range(1, v_motif_size + 1)}

    def key_size() -> int:
        return key_sizes[int(rng.integers(0, len(key_sizes)))] if training else k_motif_size

    def pick(table: np.ndarray) -> tuple[int, ...]:
        return tuple(table[int(rng.integers(0, len(table)))].tolist())

    kp_size = key_size()
    vp_size = 1 + int(rng.integers(0, v_motif_size))
    k_probe = pick(keys[kp_size])
    v_probe = pick(values[vp_size])
    probe_len = kp_size + vp_size
    probe_at = int(rng.integers(0, seq_len - 2 * probe_len))
    probe_added = False
    bound: dict[int, dict[tuple[int, ...], tuple[int, ...]]] = {s: {} for s in keys}
    shown: set[tuple[int, ...]] = set()
    inputs: list[int] = []
    targets: list[int] = []
    while len(inputs) < seq_len - probe_len - (k_motif_size + v_motif_size):
        k_size = key_size()
        v_size = 1 + int(rng.integers(0, v_motif_size))
        if len(inputs) >= probe_at and not probe_added:
            inputs += k_probe + v_probe
            targets += [IGNORE] * probe_len
            bound[kp_size][k_probe] = v_probe
            shown.add(k_probe)
            probe_added = True
            continue
        if frac_noise > 0 and rng.random() < frac_noise:
            size = k_size + v_size
            inputs += (tokens + rng.integers(0, noise_vocab_size, size=size)).tolist()
            targets += [IGNORE] * size
            continue
        k = pick(keys[k_size])
        if k == k_probe:
            v = v_probe
            probe_added = True
        elif k in bound[k_size]:
            v = bound[k_size][k]
        else:
            v = bound[k_size][k] = pick(values[v_size])
        inputs += k + v
        targets += [IGNORE] * k_size
        targets += list(v) if (k in shown and multi_query) else [IGNORE] * len(v)
        shown.add(k)
    if not multi_query:
        inputs.append(vocab_size - 1)  # the copy prefix
        targets.append(IGNORE)
    inputs += k_probe + v_probe
    targets += [IGNORE] * kp_size + list(v_probe)
    n_pad = seq_len + 1 - len(inputs)
    if n_pad > 0:
        inputs = [pad] * n_pad + inputs
        targets = [IGNORE] * n_pad + targets
    return _shift(inputs, targets, training)


def kv_table(vocab_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Memorization's fixed key -> value map, drawn from its own ``default_rng(seed)`` as
    MAD-Lab's ``MADConfig`` does (over ``vocab_size - 1`` tokens, the insert token left out,
    noise tokens not): ``(keys, values)``, the i-th key bound to the i-th value."""
    tokens = vocab_size - 1
    half = tokens // 2
    kv_rng = np.random.default_rng(seed)
    keys = np.arange(half, dtype=np.int64)
    kv_rng.shuffle(keys)
    values = np.arange(half, tokens, dtype=np.int64)
    kv_rng.shuffle(values)
    return keys, values[:half]


def memorization(rng: np.random.Generator, *, table: tuple[np.ndarray, np.ndarray],
                 vocab_size: int, seq_len: int, frac_noise: float, noise_vocab_size: int,
                 training: bool) -> Pair:
    """Memorization: keys, each followed by the insert token whose target is the key's fixed
    value (the same map in every sequence). Train and test instances look alike."""
    keys, values = table
    insert = vocab_size - 1
    tokens = vocab_size - 1 - noise_vocab_size
    pairs = seq_len // 2
    keep = int(rng.integers(0, pairs))
    inputs: list[int] = []
    targets: list[int] = []
    for i in range(pairs):
        if frac_noise > 0 and i != keep and rng.random() < frac_noise:
            inputs += (tokens + rng.integers(0, noise_vocab_size, size=2)).tolist()
            targets += [IGNORE, IGNORE]
        else:
            j = int(rng.integers(0, len(keys)))
            inputs += [int(keys[j]), insert]
            targets += [IGNORE, int(values[j])]
    return np.asarray(inputs, dtype=np.int64), np.asarray(targets, dtype=np.int64)


def compression(rng: np.random.Generator, *, vocab_size: int, seq_len: int, frac_noise: float,
                noise_vocab_size: int, training: bool) -> Pair:
    """Compression: random tokens and a compression token; the target is the input itself.
    Noise replaces tokens in inputs *and* targets: MAD-Lab returns ``(inputs, inputs)``, so the
    ignored targets it computes for noise positions are never used."""
    tokens = vocab_size - 1 - noise_vocab_size
    x = np.empty(seq_len, dtype=np.int64)
    x[:-1] = rng.integers(0, tokens, size=seq_len - 1)
    x[-1] = vocab_size - 1
    if frac_noise > 0:
        for i in range(seq_len - 1):
            if rng.random() < frac_noise:
                x[i] = tokens + int(rng.integers(0, noise_vocab_size))
    return x, x.copy()


def selective_copying(rng: np.random.Generator, legacy: np.random.RandomState, *,
                      vocab_size: int, seq_len: int, num_tokens_to_copy: int,
                      training: bool) -> Pair:
    """Selective copying: the tokens to copy, with blanks put before them at random; a copy
    token; blanks whose targets are the tokens in order. Where the blanks go comes from
    ``legacy``: MAD-Lab draws it from NumPy's global ``np.random``, which its ``train()``
    seeds with the run's seed just before generating the data."""
    n = num_tokens_to_copy
    blank, copy = vocab_size - 2, vocab_size - 1
    n_blank = seq_len - 2 * n - 1
    to_copy = rng.integers(0, vocab_size - 2, size=n)
    before = np.bincount(legacy.randint(0, n, n_blank), minlength=n)  # blanks before token j
    x = np.full(seq_len, blank, dtype=np.int64)
    x[np.arange(n) + np.cumsum(before)] = to_copy
    x[n + n_blank] = copy
    y = np.full(seq_len, IGNORE, dtype=np.int64)
    y[seq_len - n:] = to_copy
    return x, y


def draw(task: str, rng: np.random.Generator, extra: Any, params: dict[str, Any],
         training: bool) -> Pair:
    """One instance of ``task`` (``extra``: memorization's table or selective copying's
    legacy generator)."""
    if task in ("in-context-recall", "noisy-in-context-recall"):
        return recall(rng, training=training, **params)
    if task == "fuzzy-in-context-recall":
        return fuzzy_recall(rng, training=training, **params)
    if task == "memorization":
        return memorization(rng, table=extra, training=training, **params)
    if task == "compression":
        return compression(rng, training=training, **params)
    return selective_copying(rng, extra, training=training, **params)
