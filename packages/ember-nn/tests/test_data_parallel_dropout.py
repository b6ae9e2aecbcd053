"""Data-parallel ranks draw their dropout masks from streams of their own (``DataParallel``
folds each rank's number into its dropout keys, rank 0 keeping the one-process masks), so the
samples of a global batch get independent masks, as in one process."""

from __future__ import annotations

import ember
import ember_nn
import numpy as np
from ember_nn.training._data_parallel import decorrelate_dropout


def _model() -> ember_nn.Module:
    return ember_nn.Sequential(ember_nn.Dense(8, 8, key=0), ember_nn.Dropout(0.5, key=1),
                               ember_nn.LSTM(8, 8, num_layers=2, dropout=0.5, key=2))


def _masks(model: ember_nn.Module) -> np.ndarray:
    model.train()
    x = ember.ones((4, 3, 8))
    return np.stack([(model.layers[1](x).numpy() == 0) for _ in range(3)])


def test_each_rank_draws_its_own_masks(backend: str) -> None:
    rank0, rank1, rank2 = _model(), _model(), _model()
    config = rank1.get_config()
    assert decorrelate_dropout(rank0, 0) == 0  # rank 0: the one-process masks
    assert decorrelate_dropout(rank1, 1) == 2  # the Dropout layer and the LSTM's dropout
    assert decorrelate_dropout(rank2, 2) == 2
    m0, m1, m2 = _masks(rank0), _masks(rank1), _masks(rank2)
    np.testing.assert_array_equal(m0, _masks(_model()))
    assert not np.array_equal(m0, m1) and not np.array_equal(m1, m2)
    assert 0.3 < m1.mean() < 0.7  # still rate 0.5
    assert rank1.get_config() == config  # the saved config does not change
    # the LSTM's inter-layer dropout too
    x = ember.ones((4, 3, 8))
    rank0.train()
    rank1.train()
    assert not np.allclose(rank0.layers[2](x)[0].numpy(), rank1.layers[2](x)[0].numpy())


def test_a_world_of_one_changes_nothing(backend: str) -> None:
    model = _model()
    dp = ember_nn.DataParallel(model)
    assert dp.world_size == 1
    np.testing.assert_array_equal(_masks(model), _masks(_model()))
