"""make_dataset: properties of each task checked by hand, the benchmark's settings against
MAD-Lab's enumeration, and the errors."""

from __future__ import annotations

import ember
import ember_mad
import numpy as np
import pytest

IGNORE = -100

# MAD-Lab's make_benchmark_mad_configs(), one lr/wd point, recorded once:
# (vocab_size, seq_len, num_train_examples, frac_noise, noise_vocab_size, num_tokens_to_copy,
#  k_motif_size, v_motif_size, multi_query) of each setting, in its order
_R = [(16, 128, 12800), (32, 128, 12800), (64, 128, 12800), (128, 128, 12800), (16, 256, 12800),
      (16, 512, 12800), (16, 1024, 12800), (16, 128, 6400), (16, 128, 3200), (16, 128, 1600),
      (16, 128, 800)]
MADLAB_SETTINGS = {
    "in-context-recall": [(v, s, n, 0.0, 0, 0, 1, 1, True) for v, s, n in _R],
    "noisy-in-context-recall": [
        (32, 128, 12800, 0.2, 16, 0, 1, 1, True), (48, 128, 12800, 0.2, 16, 0, 1, 1, True),
        (80, 128, 12800, 0.2, 16, 0, 1, 1, True), (144, 128, 12800, 0.2, 16, 0, 1, 1, True),
        (32, 256, 12800, 0.2, 16, 0, 1, 1, True), (32, 512, 12800, 0.2, 16, 0, 1, 1, True),
        (32, 1024, 12800, 0.2, 16, 0, 1, 1, True), (32, 128, 6400, 0.2, 16, 0, 1, 1, True),
        (32, 128, 3200, 0.2, 16, 0, 1, 1, True), (32, 128, 1600, 0.2, 16, 0, 1, 1, True),
        (32, 128, 800, 0.2, 16, 0, 1, 1, True), (32, 128, 12800, 0.4, 16, 0, 1, 1, True),
        (32, 128, 12800, 0.6, 16, 0, 1, 1, True), (32, 128, 12800, 0.8, 16, 0, 1, 1, True)],
    "fuzzy-in-context-recall": [(v, s, n, 0.0, 0, 0, 3, 3, True) for v, s, n in _R],
    "memorization": [(v, 32, 256, 0.0, 0, 0, 1, 1, True) for v in (256, 512, 1024, 2048, 4096,
                                                                   8192)],
    "compression": [(v, s // 4, n, 0.0, 0, 0, 1, 1, True) for v, s, n in _R],
    "selective-copying": [(v, s * 2, n, 0.0, 0, 16, 1, 1, True) for v, s, n in _R[:6]]
    + [(16, 256, n, 0.0, 0, 16, 1, 1, True) for n in (6400, 3200, 1600, 800)]
    + [(16, 256, 12800, 0.0, 0, c, 1, 1, True) for c in (32, 64, 96)],
}
_FIELDS = ("vocab_size", "seq_len", "num_train_examples", "frac_noise", "noise_vocab_size",
           "num_tokens_to_copy", "k_motif_size", "v_motif_size", "multi_query")
_MADCONFIG = dict(frac_noise=0.0, noise_vocab_size=0, num_tokens_to_copy=0, k_motif_size=1,
                  v_motif_size=1, multi_query=True)


def test_full_protocol_is_madlabs_enumeration() -> None:
    # MAD-Lab's compression sweep is seq_len 64/128/256 at vocab 16: fix up the shortcut above
    MADLAB_SETTINGS["compression"][4:7] = [(16, s, 12800, 0.0, 0, 0, 1, 1, True)
                                           for s in (64, 128, 256)]
    MADLAB_SETTINGS["selective-copying"][4:6] = [(16, s, 12800, 0.0, 0, 16, 1, 1, True)
                                                 for s in (512, 1024)]
    total = 0
    for task in ember_mad.TASKS:
        ours = []
        for s in ember_mad.task_settings(task, "full"):
            assert s["num_test_examples"] == 1280
            full = dict(_MADCONFIG) | s  # MAD-Lab's other fields, which this task does not read
            ours.append(tuple(full[f] for f in _FIELDS))
        assert ours == MADLAB_SETTINGS[task], task
        assert ember_mad.task_settings(task) == ember_mad.task_settings(task, "full")[:1]
        total += len(ours)
    assert total == 66  # x 6 lr/wd points = MAD-Lab's 396 runs
    assert len(ember_mad.LR_GRID) * len(ember_mad.WD_GRID) == 6


def test_settings_build() -> None:
    """A sweep setting's parameters go straight into make_dataset (small counts here)."""
    for task in ember_mad.TASKS:
        for s in ember_mad.task_settings(task, "full")[1:4]:
            s = dict(s, num_train_examples=2, num_test_examples=2)
            d = ember_mad.make_dataset(task, **s)
            assert d.train_inputs.max() < d.vocab_size and d.test_inputs.min() >= 0


def _small(task: str, **kw):
    return ember_mad.make_dataset(task, num_train_examples=32, num_test_examples=32, **kw)


@pytest.mark.parametrize("multi_query", [True, False])
def test_in_context_recall(multi_query: bool) -> None:
    d = _small("in-context-recall", seq_len=32, multi_query=multi_query)
    n_keys = (16 if multi_query else 15) // 2
    assert d.train_inputs.shape == (32, 31 if multi_query else 32)  # MAD-Lab's lengths
    np.testing.assert_array_equal(d.train_inputs[:, 1:], d.train_targets[:, :-1])
    for x, y in zip(d.test_inputs, d.test_targets):
        seq = np.append(x, y[-1])  # the whole sequence: inputs and the last target
        body = seq[:-3] if not multi_query else seq[:-2]
        keys, values = body[0::2], body[1::2]
        assert keys.max() < n_keys <= values.min()
        bound = {}
        for k, v in zip(keys, values):
            assert bound.setdefault(k, v) == v  # one value per key within a sequence
        k_probe, v_probe = seq[-2], seq[-1]
        assert bound[k_probe] == v_probe == y[-1]  # the query's answer is the bound value
        if not multi_query:
            assert seq[-3] == 15  # the copy prefix
            assert (y[:-1] == IGNORE).all()
        else:  # targets: the value of every key seen before, nothing else
            seen, expected = set(), []
            for k, v in zip(keys, values):
                expected += [IGNORE, v if k in seen else IGNORE]
                seen.add(k)
            expected += [IGNORE, v_probe]
            np.testing.assert_array_equal(y, expected[1:])


def test_noisy_in_context_recall() -> None:
    d = _small("noisy-in-context-recall", seq_len=64, frac_noise=0.5)
    x, y = d.test_inputs, d.test_targets
    noise = (x >= 16) & (x < 32)
    assert 0.3 < noise.mean() < 0.6
    assert (y[:, :-1][noise[:, 1:]] == IGNORE).all()  # noise is never a target
    assert ((y == IGNORE) | ((y >= 8) & (y < 16))).all()  # targets are values


def test_fuzzy_in_context_recall() -> None:
    d = _small("fuzzy-in-context-recall", seq_len=64)
    assert d.train_inputs.shape == (32, 64) and d.test_inputs.shape == (32, 64)
    y = d.test_targets
    assert ((y == IGNORE) | ((y >= 7) & (y < 15))).all()
    assert (y[:, -1] != IGNORE).all()  # the probe's value ends every sequence
    assert (d.test_inputs[:, 0] == 15).mean() > 0.5  # mostly front-padded with the pad token


def test_memorization() -> None:
    d = _small("memorization", vocab_size=16, seq_len=16)
    keys = np.concatenate([d.train_inputs[:, 0::2], d.test_inputs[:, 0::2]]).ravel()
    values = np.concatenate([d.train_targets[:, 1::2], d.test_targets[:, 1::2]]).ravel()
    assert (d.train_inputs[:, 1::2] == 15).all()  # the insert token
    assert (d.train_targets[:, 0::2] == IGNORE).all()
    fixed = {}
    for k, v in zip(keys, values):
        assert fixed.setdefault(k, v) == v  # one value per key across all sequences
    assert keys.max() < 7 <= min(fixed.values())
    other = ember_mad.make_dataset("memorization", seed=1, num_train_examples=64,
                                   num_test_examples=1, vocab_size=16, seq_len=16)
    assert any(fixed.get(k) != v for k, v in zip(other.train_inputs[:, 0::2].ravel(),
                                                 other.train_targets[:, 1::2].ravel()))


def test_compression() -> None:
    d = _small("compression", vocab_size=12, seq_len=10)
    np.testing.assert_array_equal(d.train_inputs, d.train_targets)
    assert (d.train_inputs[:, -1] == 11).all() and d.train_inputs[:, :-1].max() < 11
    # with noise MAD-Lab's targets are still the noisy inputs (nothing ignored)
    n = _small("compression", vocab_size=12, seq_len=10, noise_vocab_size=3, frac_noise=0.5)
    np.testing.assert_array_equal(n.test_inputs, n.test_targets)
    assert ((n.test_inputs[:, :-1] >= 8) & (n.test_inputs[:, :-1] < 11)).any()
    assert d.backbone == "autoencoder" and n.backbone == "autoencoder"


def test_selective_copying() -> None:
    d = _small("selective-copying", vocab_size=10, seq_len=40, num_tokens_to_copy=6)
    for x, y in zip(d.test_inputs, d.test_targets):
        assert x[33] == 9 and (x[34:] == 8).all()  # the copy token, then blanks
        tokens = x[:33][x[:33] != 8]
        np.testing.assert_array_equal(tokens, y[34:])  # copy the tokens, in order
        assert (y[:34] == IGNORE).all()
        assert x[32] != 8  # MAD-Lab never puts a blank after the last token to copy
    assert d.backbone == "language-model"


def test_dataset_object() -> None:
    d = _small("in-context-recall", seq_len=8, vocab_size=8)
    assert d.task == "in-context-recall" and d.vocab_size == 8 and d.seed == 12345
    assert dict(d.params) == dict(vocab_size=8, seq_len=8, multi_query=True, frac_noise=0.0,
                                  noise_vocab_size=0)
    assert d.seq_len == 7
    with pytest.raises(ValueError):
        d.train_inputs[0, 0] = 1  # read-only
    with pytest.raises(AttributeError):
        d.task = "x"  # type: ignore[misc]
    again = _small("in-context-recall", seq_len=8, vocab_size=8)
    np.testing.assert_array_equal(d.test_targets, again.test_targets)


@pytest.mark.parametrize(("task", "kwargs", "message"), [
    ("in-context-recal", {}, "unknown MAD task 'in-context-recal'"),
    ("in-context-recall", {"num_tokens_to_copy": 4}, "takes no parameter 'num_tokens_to_copy'"),
    ("memorization", {"k_motif_size": 2}, "its parameters are vocab_size, seq_len"),
    ("in-context-recall", {"seq_len": 31}, "seq_len must be an even number >= 4"),
    ("in-context-recall", {"vocab_size": 2, "multi_query": False}, "vocab_size must be >= 3"),
    ("in-context-recall", {"frac_noise": 0.2}, "give noise_vocab_size >= 1"),
    ("noisy-in-context-recall", {"frac_noise": 1.0}, "frac_noise must be in [0, 1)"),
    ("noisy-in-context-recall", {"vocab_size": 17}, "vocab_size must be >= 18"),
    ("fuzzy-in-context-recall", {"vocab_size": 6}, "vocab_size must be >= 7"),
    ("fuzzy-in-context-recall", {"seq_len": 12}, "seq_len must be > 2 * (k_motif_size"),
    ("fuzzy-in-context-recall", {"k_motif_size": 0}, "k_motif_size must be >= 1"),
    ("memorization", {"vocab_size": 2}, "vocab_size must be >= 3"),
    ("memorization", {"seq_len": 33}, "seq_len must be an even number >= 2"),
    ("memorization", {"frac_noise": 1.5, "noise_vocab_size": 2}, "frac_noise must be in [0, 1]"),
    ("compression", {"vocab_size": 5, "noise_vocab_size": 4}, "vocab_size must be >= 6"),
    ("selective-copying", {"seq_len": 33}, "seq_len=33 must be > 2 * num_tokens_to_copy + 1 = 33"),
    ("selective-copying", {"num_tokens_to_copy": 0}, "num_tokens_to_copy must be >= 1"),
    ("selective-copying", {"vocab_size": 2.0}, "vocab_size must be an integer"),
    ("in-context-recall", {"multi_query": 1}, "multi_query must be True or False"),
    ("in-context-recall", {"seed": -1}, "seed must be an integer in [0, 2**32)"),
    ("in-context-recall", {"num_train_examples": 0}, "num_train_examples must be an integer >= 1"),
])
def test_errors(task: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ember_mad.MADError, match=None) as info:
        ember_mad.make_dataset(task, **kwargs)
    assert message in str(info.value)
    assert isinstance(info.value, ember.ArgumentError)


def test_settings_errors() -> None:
    with pytest.raises(ember_mad.MADError, match="use 'baseline' or 'full'"):
        ember_mad.task_settings("compression", "paper")
    with pytest.raises(ember_mad.MADError, match="the tasks are in-context-recall"):
        ember_mad.task_defaults("copying")


def test_docstring_examples() -> None:
    import doctest

    from ember_mad import _dataset, _scoring, _tasks

    for mod in (_dataset, _scoring, _tasks):
        result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, mod.__name__
