"""``ember.nn``: neural-network ops (functional), written once from primitives.

Backends may replace any of them with a fused kernel (torch SDPA, ``mx.fast.*``) that passes
the same conformance tests. Layers built on these live in the ``ember-nn`` package.
"""

from .ops._activations import (
    gelu,
    log_softmax,
    logsumexp,
    one_hot,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
)
from .ops._attention import scaled_dot_product_attention
from .ops._convolution import conv, conv1d, conv2d
from .ops._losses import cross_entropy
from .ops._normalization import layer_norm, rms_norm
from .ops._optimizers import adam_update, rmsprop_update, sgd_update
from .ops._pooling import avg_pool, max_pool
from .ops._random import dropout
from .ops._recurrent import gru, lstm, rnn
from .ops._scan import associative_scan
from .ops._statistical import cumulative_prod, cumulative_sum

__all__ = [
    "adam_update", "associative_scan", "avg_pool", "conv", "conv1d", "conv2d", "cross_entropy",
    "cumulative_prod", "cumulative_sum", "dropout", "gelu", "gru", "layer_norm", "log_softmax",
    "logsumexp", "lstm", "max_pool", "one_hot", "relu", "rms_norm", "rmsprop_update", "rnn",
    "scaled_dot_product_attention", "sgd_update", "sigmoid", "silu", "softmax", "softplus",
]
