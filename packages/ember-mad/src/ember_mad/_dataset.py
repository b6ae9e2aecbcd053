"""``make_dataset``: a MAD task's training and test arrays, equal to MAD-Lab's."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from . import _generators as gen
from ._errors import MADError
from ._tasks import resolve_params

__all__ = ["MADDataset", "make_dataset"]


@dataclass(frozen=True)
class MADDataset:
    """The arrays of one MAD task setting (read-only NumPy int64 arrays; ignored targets are
    -100).

    Attributes:
        task: the task's name.
        params: every task parameter the data was drawn with (defaults filled in).
        seed: the seed of the data.
        vocab_size: the number of token ids (the model's input and output vocabulary).
        backbone: the model MAD-Lab trains on the task: ``"autoencoder"`` for compression,
            ``"language-model"`` for the others.
        train_inputs, train_targets: ``(num_train_examples, length)``.
        test_inputs, test_targets: ``(num_test_examples, length)``.
    """

    task: str
    params: MappingProxyType[str, Any]
    seed: int
    train_inputs: np.ndarray = field(repr=False)
    train_targets: np.ndarray = field(repr=False)
    test_inputs: np.ndarray = field(repr=False)
    test_targets: np.ndarray = field(repr=False)

    @property
    def vocab_size(self) -> int:
        return int(self.params["vocab_size"])

    @property
    def backbone(self) -> str:
        return "autoencoder" if self.task == "compression" else "language-model"

    @property
    def seq_len(self) -> int:
        """The length of the arrays (``seq_len - 1`` for multi-query in-context recall, as in
        MAD-Lab)."""
        return int(self.train_inputs.shape[1])


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise MADError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def make_dataset(task: str, *, seed: int = 12345, num_train_examples: int = 12_800,
                 num_test_examples: int = 1_280, **task_params: Any) -> MADDataset:
    """The training and test data of a MAD task, equal to MAD-Lab's for the same seed and
    parameters.

    One ``np.random.default_rng(seed)`` draws the training instances one by one, then the test
    instances, as MAD-Lab's sequential path does (``train()`` with ``num_data_workers=0``).
    Memorization's key-value map comes from a second ``default_rng(seed)``; selective copying
    draws where its blanks go from ``np.random.RandomState(seed)``, the global generator
    MAD-Lab's ``train()`` seeds.

    Arguments:
        task: one of ``ember_mad.TASKS``.
        seed: 0 <= seed < 2**32 (MAD-Lab seeds ``np.random`` with it too).
        num_train_examples, num_test_examples: how many sequences (>= 1). The benchmark's
            settings (:func:`ember_mad.task_settings`) give them per setting; memorization's
            baseline trains on 256.
        task_params: the task's parameters (``ember_mad.task_defaults(task)`` lists them with
            their defaults, MAD-Lab's baseline): ``vocab_size``, ``seq_len``, ``frac_noise``,
            ``noise_vocab_size``, ``multi_query``, ``k_motif_size``, ``v_motif_size``,
            ``num_tokens_to_copy``.

    Returns:
        A :class:`MADDataset`.

    Raises:
        MADError: an unknown task or parameter, or a value out of its range (the message
            says the range).

    >>> data = make_dataset("in-context-recall", num_train_examples=2, num_test_examples=1,
    ...                     seq_len=8, vocab_size=8)
    >>> data.train_inputs
    array([[0, 7, 1, 4, 3, 6, 3],
           [1, 7, 1, 7, 2, 6, 1]])
    >>> data.test_inputs, data.test_targets
    (array([[0, 6, 2, 7, 2, 7, 0]]), array([[-100, -100, -100, -100,    7, -100,    6]]))
    """
    params = resolve_params(task, task_params)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise MADError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    seed = int(seed)
    n_train = _count("num_train_examples", num_train_examples)
    n_test = _count("num_test_examples", num_test_examples)
    rng = np.random.default_rng(seed)
    extra: Any = None
    if task == "memorization":
        extra = gen.kv_table(params["vocab_size"], seed)
    elif task == "selective-copying":
        extra = np.random.RandomState(seed)
    arrays = []
    for training, count in ((True, n_train), (False, n_test)):
        pairs = [gen.draw(task, rng, extra, params, training) for _ in range(count)]
        for part in zip(*pairs):
            a = np.stack(part).astype(np.int64, copy=False)
            a.setflags(write=False)
            arrays.append(a)
    return MADDataset(task, MappingProxyType(params), seed, *arrays)
