"""The kernel table: one typed field per kernel of the op catalogue (alphabetical).

GENERATED from ``ember._catalogue`` by ``python -m ember._kernels_gen``: do not edit by hand
(``tests/test_kernel_table.py`` fails when this file is out of date).

A field is the op's kernel name (``linalg.solve`` -> ``linalg_solve``), typed with the kernel's
positional parameters (``docs/ops.md`` lists them). A primitive's field always holds a callable:
the backend's kernel, or one raising ``UnsupportedError`` with the reason the backend gave. A
composite's field holds the backend's fused override, or None when ember-core's composite runs.
``basic_index`` is no op: ``x[key]`` for a key ember-core has checked to be basic (ints in
bounds, slices without a step), the backend's ``BackendHooks.basic_index`` or its ``getitem``.
"""

# No ``from __future__ import annotations`` here: NamedTuple turns string annotations into
# ForwardRefs, compiling each one (20 ms at import for ~200 fields; evaluated ones take 1 ms).
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["Kernels"]


class Kernels(NamedTuple):
    abs: Callable[[Any], Any]  # x
    acos: Callable[[Any], Any]  # x
    acosh: Callable[[Any], Any]  # x
    add: Callable[[Any, Any], Any]  # x1, x2
    all: Callable[[Any, Any, Any], Any]  # x, axis, keepdims
    any: Callable[[Any, Any, Any], Any]  # x, axis, keepdims
    arange: Callable[[Any, Any, Any, Any, Any], Any]  # start, stop, step, dtype, device
    argmax: Callable[[Any, Any, Any], Any]  # x, axis, keepdims
    argmin: Callable[[Any, Any, Any], Any]  # x, axis, keepdims
    argsort: Callable[[Any, Any, Any, Any], Any]  # x, axis, descending, stable
    asarray: Callable[[Any, Any, Any, Any], Any]  # obj, dtype, device, copy
    asin: Callable[[Any], Any]  # x
    asinh: Callable[[Any], Any]  # x
    astype: Callable[[Any, Any, Any], Any]  # x, dtype, copy
    atan: Callable[[Any], Any]  # x
    atan2: Callable[[Any, Any], Any]  # x1, x2
    atanh: Callable[[Any], Any]  # x
    bitwise_and: Callable[[Any, Any], Any]  # x1, x2
    bitwise_invert: Callable[[Any], Any]  # x
    bitwise_left_shift: Callable[[Any, Any], Any]  # x1, x2
    bitwise_or: Callable[[Any, Any], Any]  # x1, x2
    bitwise_right_shift: Callable[[Any, Any], Any]  # x1, x2
    bitwise_xor: Callable[[Any, Any], Any]  # x1, x2
    broadcast_arrays: Callable[[Any], Any] | None  # arrays
    broadcast_to: Callable[[Any, Any], Any]  # x, shape
    ceil: Callable[[Any], Any]  # x
    clip: Callable[[Any, Any, Any], Any]  # x, min, max
    concat: Callable[[Any, Any], Any]  # arrays, axis
    conj: Callable[[Any], Any]  # x
    copysign: Callable[[Any, Any], Any]  # x1, x2
    cos: Callable[[Any], Any]  # x
    cosh: Callable[[Any], Any]  # x
    count_nonzero: Callable[[Any, Any, Any], Any] | None  # x, axis, keepdims
    cumulative_prod: Callable[[Any, Any, Any], Any]  # x, axis, dtype
    cumulative_sum: Callable[[Any, Any, Any], Any]  # x, axis, dtype
    diff: Callable[[Any, Any, Any, Any, Any], Any] | None  # x, axis, n, prepend, append
    divide: Callable[[Any, Any], Any]  # x1, x2
    empty: Callable[[Any, Any, Any], Any]  # shape, dtype, device
    empty_like: Callable[[Any, Any, Any], Any] | None  # x, dtype, device
    equal: Callable[[Any, Any], Any]  # x1, x2
    erf: Callable[[Any], Any]  # x
    erfinv: Callable[[Any], Any]  # x
    exp: Callable[[Any], Any]  # x
    expand_dims: Callable[[Any, Any], Any]  # x, axis
    expm1: Callable[[Any], Any]  # x
    eye: Callable[[Any, Any, Any, Any, Any], Any]  # n_rows, n_cols, k, dtype, device
    fft_fft: Callable[[Any, Any, Any, Any], Any]  # x, n, axis, norm
    fft_fftfreq: Callable[[Any, Any, Any, Any], Any] | None  # n, d, dtype, device
    fft_fftn: Callable[[Any, Any, Any, Any], Any]  # x, s, axes, norm
    fft_fftshift: Callable[[Any, Any], Any] | None  # x, axes
    fft_hfft: Callable[[Any, Any, Any, Any], Any] | None  # x, n, axis, norm
    fft_ifft: Callable[[Any, Any, Any, Any], Any]  # x, n, axis, norm
    fft_ifftn: Callable[[Any, Any, Any, Any], Any]  # x, s, axes, norm
    fft_ifftshift: Callable[[Any, Any], Any] | None  # x, axes
    fft_ihfft: Callable[[Any, Any, Any, Any], Any] | None  # x, n, axis, norm
    fft_irfft: Callable[[Any, Any, Any, Any], Any]  # x, n, axis, norm
    fft_irfftn: Callable[[Any, Any, Any, Any], Any]  # x, s, axes, norm
    fft_rfft: Callable[[Any, Any, Any, Any], Any]  # x, n, axis, norm
    fft_rfftfreq: Callable[[Any, Any, Any, Any], Any] | None  # n, d, dtype, device
    fft_rfftn: Callable[[Any, Any, Any, Any], Any]  # x, s, axes, norm
    flip: Callable[[Any, Any], Any]  # x, axis
    floor: Callable[[Any], Any]  # x
    floor_divide: Callable[[Any, Any], Any]  # x1, x2
    from_dlpack: Callable[[Any, Any], Any]  # x, copy
    full: Callable[[Any, Any, Any, Any], Any]  # shape, fill_value, dtype, device
    full_like: Callable[[Any, Any, Any, Any], Any] | None  # x, fill_value, dtype, device
    getitem: Callable[[Any, Any], Any]  # x, key
    greater: Callable[[Any, Any], Any]  # x1, x2
    greater_equal: Callable[[Any, Any], Any]  # x1, x2
    hypot: Callable[[Any, Any], Any]  # x1, x2
    imag: Callable[[Any], Any]  # x
    index_update: Callable[[Any, Any, Any, Any], Any]  # x, key, values, mode
    isfinite: Callable[[Any], Any]  # x
    isinf: Callable[[Any], Any]  # x
    isnan: Callable[[Any], Any]  # x
    less: Callable[[Any, Any], Any]  # x1, x2
    less_equal: Callable[[Any, Any], Any]  # x1, x2
    linalg_cholesky: Callable[[Any, Any], Any]  # x, upper
    linalg_cross: Callable[[Any, Any, Any], Any]  # x1, x2, axis
    linalg_det: Callable[[Any], Any]  # x
    linalg_diagonal: Callable[[Any, Any], Any]  # x, offset
    linalg_eigh: Callable[[Any], Any]  # x
    linalg_eigvalsh: Callable[[Any], Any]  # x
    linalg_inv: Callable[[Any], Any]  # x
    linalg_matmul: Callable[[Any, Any], Any] | None  # x1, x2
    linalg_matrix_norm: Callable[[Any, Any, Any], Any]  # x, keepdims, ord
    linalg_matrix_power: Callable[[Any, Any], Any]  # x, n
    linalg_matrix_rank: Callable[[Any, Any], Any]  # x, rtol
    linalg_matrix_transpose: Callable[[Any], Any] | None  # x
    linalg_outer: Callable[[Any, Any], Any] | None  # x1, x2
    linalg_pinv: Callable[[Any, Any], Any]  # x, rtol
    linalg_qr: Callable[[Any, Any], Any]  # x, mode
    linalg_slogdet: Callable[[Any], Any]  # x
    linalg_solve: Callable[[Any, Any], Any]  # x1, x2
    linalg_svd: Callable[[Any, Any], Any]  # x, full_matrices
    linalg_svdvals: Callable[[Any], Any]  # x
    linalg_tensordot: Callable[[Any, Any, Any], Any] | None  # x1, x2, axes
    linalg_trace: Callable[[Any, Any, Any], Any]  # x, offset, dtype
    linalg_vecdot: Callable[[Any, Any, Any], Any] | None  # x1, x2, axis
    linalg_vector_norm: Callable[[Any, Any, Any, Any], Any]  # x, axis, keepdims, ord
    linspace: Callable[[Any, Any, Any, Any, Any, Any], Any]
    log: Callable[[Any], Any]  # x
    log10: Callable[[Any], Any]  # x
    log1p: Callable[[Any], Any]  # x
    log2: Callable[[Any], Any]  # x
    logaddexp: Callable[[Any, Any], Any]  # x1, x2
    logical_and: Callable[[Any, Any], Any]  # x1, x2
    logical_not: Callable[[Any], Any]  # x
    logical_or: Callable[[Any, Any], Any]  # x1, x2
    logical_xor: Callable[[Any, Any], Any]  # x1, x2
    matmul: Callable[[Any, Any], Any]  # x1, x2
    matrix_transpose: Callable[[Any], Any] | None  # x
    max: Callable[[Any, Any, Any], Any]  # x, axis, keepdims
    maximum: Callable[[Any, Any], Any]  # x1, x2
    mean: Callable[[Any, Any, Any], Any]  # x, axis, keepdims
    meshgrid: Callable[[Any, Any], Any] | None  # arrays, indexing
    min: Callable[[Any, Any, Any], Any]  # x, axis, keepdims
    minimum: Callable[[Any, Any], Any]  # x1, x2
    moveaxis: Callable[[Any, Any, Any], Any] | None  # x, source, destination
    multiply: Callable[[Any, Any], Any]  # x1, x2
    negative: Callable[[Any], Any]  # x
    nextafter: Callable[[Any, Any], Any]  # x1, x2
    nn_adam_update: Callable[[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any], Any] | None
    nn_associative_scan: Callable[[Any, Any, Any, Any], Any] | None  # fn, x, axis, reverse
    nn_avg_pool: Callable[[Any, Any, Any, Any, Any], Any]  # x, window, stride, padding, divisor
    nn_conv: Callable[[Any, Any, Any, Any, Any, Any], Any]
    nn_conv1d: Callable[[Any, Any, Any, Any, Any, Any, Any], Any] | None
    nn_conv2d: Callable[[Any, Any, Any, Any, Any, Any, Any], Any] | None
    nn_cross_entropy: Callable[[Any, Any, Any, Any, Any, Any], Any] | None
    nn_dropout: Callable[[Any, Any, Any], Any] | None  # x, rate, key
    nn_gelu: Callable[[Any, Any], Any] | None  # x, approximate
    nn_gru: Callable[[Any, Any, Any, Any, Any, Any, Any, Any], Any] | None
    nn_layer_norm: Callable[[Any, Any, Any, Any, Any], Any] | None  # x, weight, bias, axis, eps
    nn_log_softmax: Callable[[Any, Any], Any] | None  # x, axis
    nn_logsumexp: Callable[[Any, Any, Any], Any] | None  # x, axis, keepdims
    nn_lstm: Callable[[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any], Any] | None
    nn_max_pool: Callable[[Any, Any, Any, Any], Any]  # x, window, stride, padding
    nn_one_hot: Callable[[Any, Any, Any], Any] | None  # indices, num_classes, dtype
    nn_relu: Callable[[Any], Any] | None  # x
    nn_rms_norm: Callable[[Any, Any, Any, Any], Any] | None  # x, weight, axis, eps
    nn_rmsprop_update: Callable[[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any], Any] | None
    nn_rnn: Callable[[Any, Any, Any, Any, Any, Any, Any, Any, Any], Any] | None
    nn_scaled_dot_product_attention: Callable[[Any, Any, Any, Any, Any, Any], Any] | None
    nn_sgd_update: Callable[[Any, Any, Any, Any, Any, Any, Any, Any, Any], Any] | None
    nn_sigmoid: Callable[[Any], Any] | None  # x
    nn_silu: Callable[[Any], Any] | None  # x
    nn_softmax: Callable[[Any, Any], Any] | None  # x, axis
    nn_softplus: Callable[[Any], Any] | None  # x
    nonzero: Callable[[Any], Any]  # x
    not_equal: Callable[[Any, Any], Any]  # x1, x2
    ones: Callable[[Any, Any, Any], Any] | None  # shape, dtype, device
    ones_like: Callable[[Any, Any, Any], Any] | None  # x, dtype, device
    permute_dims: Callable[[Any, Any], Any]  # x, axes
    positive: Callable[[Any], Any] | None  # x
    pow: Callable[[Any, Any], Any]  # x1, x2
    prod: Callable[[Any, Any, Any, Any], Any]  # x, axis, dtype, keepdims
    random_bernoulli: Callable[[Any, Any, Any], Any] | None  # key, p, shape
    random_bits: Callable[[Any, Any, Any], Any] | None  # key, num, device
    random_categorical: Callable[[Any, Any, Any, Any], Any] | None  # key, logits, axis, shape
    random_normal: Callable[[Any, Any, Any, Any, Any], Any] | None  # key, shape, dtype, loc, scale
    random_permutation: Callable[[Any, Any], Any] | None  # key, x
    random_randint: Callable[[Any, Any, Any, Any, Any], Any] | None  # key, shape, low, high, dtype
    random_truncated_normal: Callable[[Any, Any, Any, Any, Any], Any] | None
    random_uniform: Callable[[Any, Any, Any, Any, Any], Any] | None  # key, shape, dtype, low, high
    real: Callable[[Any], Any]  # x
    reciprocal: Callable[[Any], Any] | None  # x
    remainder: Callable[[Any, Any], Any]  # x1, x2
    repeat: Callable[[Any, Any, Any], Any]  # x, repeats, axis
    reshape: Callable[[Any, Any, Any], Any]  # x, shape, copy
    roll: Callable[[Any, Any, Any], Any]  # x, shift, axis
    round: Callable[[Any], Any]  # x
    searchsorted: Callable[[Any, Any, Any, Any], Any]  # x1, x2, side, sorter
    sign: Callable[[Any], Any]  # x
    signbit: Callable[[Any], Any]  # x
    sin: Callable[[Any], Any]  # x
    sinh: Callable[[Any], Any]  # x
    sort: Callable[[Any, Any, Any, Any], Any]  # x, axis, descending, stable
    sqrt: Callable[[Any], Any]  # x
    square: Callable[[Any], Any]  # x
    squeeze: Callable[[Any, Any], Any]  # x, axis
    stack: Callable[[Any, Any], Any]  # arrays, axis
    std: Callable[[Any, Any, Any, Any], Any] | None  # x, axis, correction, keepdims
    stop_gradient: Callable[[Any], Any] | None  # x
    subtract: Callable[[Any, Any], Any]  # x1, x2
    sum: Callable[[Any, Any, Any, Any], Any]  # x, axis, dtype, keepdims
    take: Callable[[Any, Any, Any], Any]  # x, indices, axis
    take_along_axis: Callable[[Any, Any, Any], Any] | None  # x, indices, axis
    tan: Callable[[Any], Any]  # x
    tanh: Callable[[Any], Any]  # x
    tensordot: Callable[[Any, Any, Any], Any]  # x1, x2, axes
    tile: Callable[[Any, Any], Any]  # x, repetitions
    tril: Callable[[Any, Any], Any]  # x, k
    triu: Callable[[Any, Any], Any]  # x, k
    trunc: Callable[[Any], Any]  # x
    unique_all: Callable[[Any], Any]  # x
    unique_counts: Callable[[Any], Any] | None  # x
    unique_inverse: Callable[[Any], Any] | None  # x
    unique_values: Callable[[Any], Any] | None  # x
    unstack: Callable[[Any, Any], Any] | None  # x, axis
    var: Callable[[Any, Any, Any, Any], Any]  # x, axis, correction, keepdims
    vecdot: Callable[[Any, Any, Any], Any] | None  # x1, x2, axis
    where: Callable[[Any, Any, Any], Any]  # condition, x1, x2
    zeros: Callable[[Any, Any, Any], Any] | None  # shape, dtype, device
    zeros_like: Callable[[Any, Any, Any], Any] | None  # x, dtype, device
    basic_index: Callable[[Any, Any], Any]  # x, key
