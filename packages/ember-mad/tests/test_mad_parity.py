"""Parity with MAD-Lab: the sha256 fingerprints of MAD-Lab's own arrays, recorded once.

They were recorded by running MAD-Lab's code (athms/mad-lab, mad/data/instances.py and
mad/data/dataset.py) the way its ``train()`` does before training: ``random``, ``np.random``
and ``torch`` seeded with the seed, a ``MADConfig`` of the setting, then ``generate_data`` with
``num_data_workers=0`` (the sequential path). The fingerprint of an array is the sha256 of
``repr(shape)`` and its little-endian int64 bytes, first 16 hex digits. Order: train inputs,
train targets, test inputs, test targets.
"""

from __future__ import annotations

import hashlib
import os

import ember_mad
import numpy as np
import pytest

# every task at a small size (baselines and the code paths off the baseline: single-query,
# noise, other motif sizes, other seeds), then one hard setting of each task's sweep
SMALL = [
    ({'task': 'in-context-recall', 'vocab_size': 16, 'seq_len': 128, 'multi_query': True, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 127), (16, 127), ('158dcfe446eb9f30', 'b25251f1ea7f2893', 'f6894bcd790a7e24', '7d2b74e349337bd6')),
    ({'task': 'in-context-recall', 'vocab_size': 16, 'seq_len': 32, 'multi_query': False, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 32), (16, 32), ('e14f6053619b97de', 'd8eb6d491168b2e2', '4f4ee595a5679ef6', 'a0302e7b895a37a2')),
    ({'task': 'in-context-recall', 'vocab_size': 32, 'seq_len': 64, 'multi_query': False, 'noise_vocab_size': 8, 'frac_noise': 0.3, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 64), (16, 64), ('450a9fd408d634cb', '68f57465b509b2fb', '013286ecb642cce3', 'ba3ecff0783a5399')),
    ({'task': 'in-context-recall', 'vocab_size': 16, 'seq_len': 128, 'multi_query': True, 'seed': 0, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 127), (16, 127), ('283385dc025faaa4', '7da199b7a58b7ccf', '6a0214f6aad01243', '283c3b7676c2992b')),
    ({'task': 'noisy-in-context-recall', 'vocab_size': 32, 'seq_len': 128, 'noise_vocab_size': 16, 'frac_noise': 0.2, 'multi_query': True, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 127), (16, 127), ('fff5e54cb16a98e7', '3869c22e6981bbb2', 'd99709f35dbb22c6', 'c9d1c19919b64284')),
    ({'task': 'noisy-in-context-recall', 'vocab_size': 48, 'seq_len': 256, 'noise_vocab_size': 16, 'frac_noise': 0.8, 'multi_query': True, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 255), (16, 255), ('38669f212d498be0', 'a86749eacc44b9fb', '2d2b3235ebc65ce5', '0b5c97a0eda55387')),
    ({'task': 'fuzzy-in-context-recall', 'vocab_size': 16, 'seq_len': 128, 'k_motif_size': 3, 'v_motif_size': 3, 'multi_query': True, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 128), (16, 128), ('3758eb5af5480989', '768aa0787e69e1e4', '109f3854c27a5e75', 'bc08a32e17663559')),
    ({'task': 'fuzzy-in-context-recall', 'vocab_size': 32, 'seq_len': 64, 'k_motif_size': 2, 'v_motif_size': 3, 'multi_query': False, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 64), (16, 64), ('feb0a904d436d934', '0e16eb73c5605dc3', 'd3cfc1c82ffeef5b', '10bffb52557b7945')),
    ({'task': 'fuzzy-in-context-recall', 'vocab_size': 24, 'seq_len': 64, 'k_motif_size': 2, 'v_motif_size': 2, 'noise_vocab_size': 4, 'frac_noise': 0.3, 'multi_query': True, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 64), (16, 64), ('b7308530389121c3', 'ed1c483ce0038ce9', 'c190b6a9249f5225', '813f1f9f0170ff7a')),
    ({'task': 'memorization', 'vocab_size': 256, 'seq_len': 32, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 32), (16, 32), ('217ee38a6f3a0aa7', '84020a7752150504', 'a11a01ea166362bd', '9ef3518f0ab57dc6')),
    ({'task': 'memorization', 'vocab_size': 64, 'seq_len': 16, 'noise_vocab_size': 8, 'frac_noise': 0.5, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 16), (16, 16), ('ebd5850d244ce169', '9edefba817087184', '62d6cc950bc49a78', 'b77f3791765f2339')),
    ({'task': 'compression', 'vocab_size': 16, 'seq_len': 32, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 32), (16, 32), ('bd564fdbce18b825', 'bd564fdbce18b825', '8ff853688074070c', '8ff853688074070c')),
    ({'task': 'compression', 'vocab_size': 20, 'seq_len': 32, 'noise_vocab_size': 4, 'frac_noise': 0.3, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 32), (16, 32), ('1e8e570a88742a2e', '1e8e570a88742a2e', '1a02fd6f8d6a5087', '1a02fd6f8d6a5087')),
    ({'task': 'selective-copying', 'vocab_size': 16, 'seq_len': 256, 'num_tokens_to_copy': 16, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 256), (16, 256), ('c32b9c58a3f8204e', '97bcd6dc20c9092f', '5773c587ce29eecb', 'fb1a9b6813c29862')),
    ({'task': 'selective-copying', 'vocab_size': 32, 'seq_len': 64, 'num_tokens_to_copy': 8, 'num_train_examples': 64, 'num_test_examples': 16},
     (64, 64), (16, 64), ('e0c99a73977b2117', '60c60cdabeb72400', '6e2afe70251e1359', 'd68ccc58e1bcb5a2')),
    ({'task': 'in-context-recall', 'vocab_size': 128, 'seq_len': 1024, 'multi_query': True, 'num_train_examples': 8, 'num_test_examples': 4},
     (8, 1023), (4, 1023), ('4b63302bc4b5c9b5', '04fbe282fc8216f9', 'a65c5fd68cc82ac8', '8352bebeece1a642')),
    ({'task': 'noisy-in-context-recall', 'vocab_size': 144, 'seq_len': 512, 'noise_vocab_size': 16, 'frac_noise': 0.6, 'multi_query': True, 'num_train_examples': 8, 'num_test_examples': 4},
     (8, 511), (4, 511), ('c67b9036e6cb641b', 'bd0ee61f572ed00a', '00a4cade714a3348', '8dcc5624e731d8de')),
    ({'task': 'fuzzy-in-context-recall', 'vocab_size': 64, 'seq_len': 256, 'k_motif_size': 3, 'v_motif_size': 3, 'multi_query': True, 'num_train_examples': 8, 'num_test_examples': 4},
     (8, 256), (4, 256), ('204df8637b39b50b', '2ead5f9ac5247588', '5eb1c2673690ad7d', '38a5237f71203b49')),
    ({'task': 'memorization', 'vocab_size': 8192, 'seq_len': 32, 'num_train_examples': 8, 'num_test_examples': 4},
     (8, 32), (4, 32), ('deeb8d3aabe9f462', '2f3c88ed3e69eb66', '910b6adbb8d0ed5f', '187889d7a3fa761a')),
    ({'task': 'compression', 'vocab_size': 128, 'seq_len': 256, 'num_train_examples': 8, 'num_test_examples': 4},
     (8, 256), (4, 256), ('7fee71401372eede', '7fee71401372eede', '43427c3b5d6b12e9', '43427c3b5d6b12e9')),
    ({'task': 'selective-copying', 'vocab_size': 128, 'seq_len': 1024, 'num_tokens_to_copy': 96, 'num_train_examples': 8, 'num_test_examples': 4},
     (8, 1024), (4, 1024), ('cd89ea278b3bafc1', '8c39c852d761ac00', '9ea9ca6541e0e91d', 'e1c40708cc9dece3')),
]

# the benchmark's baseline settings at their real sizes (12,800 / 1,280; memorization 256)
FULL = [
    ({'task': 'in-context-recall', 'vocab_size': 16, 'seq_len': 128, 'multi_query': True},
     (12800, 127), (1280, 127), ('80d01d5c11bc0571', 'd02d618b4e13206d', '48598a73d12ec73e', '29cf0ad34254b69c')),
    ({'task': 'memorization', 'vocab_size': 256, 'seq_len': 32, 'num_train_examples': 256},
     (256, 32), (1280, 32), ('e79417b4b2088504', '7d5cebe2978a9f5c', 'e7d00d96fce767bb', '42bc825a0290901b')),
    ({'task': 'compression', 'vocab_size': 16, 'seq_len': 32},
     (12800, 32), (1280, 32), ('c93e729939f629ef', 'c93e729939f629ef', 'f3a5e0d201f1b9c7', 'f3a5e0d201f1b9c7')),
    ({'task': 'selective-copying', 'vocab_size': 16, 'seq_len': 256, 'num_tokens_to_copy': 16},
     (12800, 256), (1280, 256), ('8bf28688180920a8', '6b4ab77bb0bf85d4', '329af5b00e9f70c7', '5bdbc01bb21962d4')),
    ({'task': 'noisy-in-context-recall', 'vocab_size': 32, 'seq_len': 128, 'noise_vocab_size': 16, 'frac_noise': 0.2, 'multi_query': True},
     (12800, 127), (1280, 127), ('e3c11d6c3b9d917e', '34231adcf6fb9b70', '22fcb09138757f8c', 'b50afd1fe777cb78')),
    ({'task': 'fuzzy-in-context-recall', 'vocab_size': 16, 'seq_len': 128, 'k_motif_size': 3, 'v_motif_size': 3, 'multi_query': True},
     (12800, 128), (1280, 128), ('b5d550cef76328aa', '6d6b27fbfd9b2282', 'c5fcf24c1c4f9440', '32cd0b78a90a1ae1')),
]
_SLOW = {"noisy-in-context-recall", "fuzzy-in-context-recall"}  # 3 s and 5 s to generate


def fingerprint(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a, dtype="<i8")
    return hashlib.sha256(repr(a.shape).encode() + a.tobytes()).hexdigest()[:16]


def _check(case: dict, train_shape: tuple, test_shape: tuple, expected: tuple) -> None:
    params = dict(case)
    data = ember_mad.make_dataset(params.pop("task"), **params)
    arrays = (data.train_inputs, data.train_targets, data.test_inputs, data.test_targets)
    assert all(a.dtype == np.int64 for a in arrays)
    assert data.train_inputs.shape == data.train_targets.shape == train_shape
    assert data.test_inputs.shape == data.test_targets.shape == test_shape
    assert tuple(fingerprint(a) for a in arrays) == expected


@pytest.mark.parametrize(("case", "train_shape", "test_shape", "expected"), SMALL,
                         ids=[f"{c['task']}-{i}" for i, (c, *_) in enumerate(SMALL)])
def test_small_settings_equal_madlab(case, train_shape, test_shape, expected) -> None:
    _check(case, train_shape, test_shape, expected)


@pytest.mark.parametrize(("case", "train_shape", "test_shape", "expected"), FULL,
                         ids=[c["task"] for c, *_ in FULL])
def test_baselines_at_full_size_equal_madlab(case, train_shape, test_shape, expected) -> None:
    if case["task"] in _SLOW and not os.environ.get("EMBER_SLOW"):
        pytest.skip("3-5 s to generate: runs with EMBER_SLOW=1 (nox -s slow)")
    _check(case, train_shape, test_shape, expected)


def test_full_cases_are_the_benchmark_baselines() -> None:
    """The full-size cases are exactly task_settings(task)[0] (defaults filled in)."""
    for case, *_ in FULL:
        params = dict(case)
        task = params.pop("task")
        baseline = ember_mad.task_settings(task)[0]
        full = dict(ember_mad.task_defaults(task), num_train_examples=12_800,
                    num_test_examples=1_280) | params
        assert full == baseline
