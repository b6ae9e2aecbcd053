"""The op catalogue: every op ember has, declared once.

Each entry names the op, its topic, the *kernel* signature a backend implements, and a summary.
The topic (the ``## topic`` line an entry sits under, ``OpSpec.group``) is one identifier used
unchanged at every layer of the code: the public function is in ``ember/ops/_<topic>.py``, the
VJP rule in ``ember/autodiff/rules/<topic>.py`` and each in-tree backend's kernel in
``kernels/<topic>.py`` (a package of that name once a module outgrows ~400 lines). The map is
in ``docs/architecture.md``; ``ember ops --where NAME`` prints it for one op.

``P`` marks a primitive (a backend must supply a kernel or declare it unsupported, with a reason);
``C`` marks a composite written once in ember-core from primitives (a backend may override it
with a fused kernel of the same name, which must still pass the conformance kit).

A kernel signature names its parameters in order and marks the ones that take native arrays:
``x: array`` (a native array; binary operands, ``clip`` bounds and the like may get a Python
scalar in its place) and ``arrays: list[array]`` (a list of native arrays, always the first
parameter: ``concat``, ``stack``). The marks are the catalogue's word on which arguments are
tensors: gradient tapes look for the arrays they track there and nowhere else (a VJP rule's
differentiable arguments must be among them). The optimiser updates (topic ``optimizers``)
take several lists of arrays and mark only the first: they are not differentiable, and their
public functions refuse any input a recording tape tracks before a kernel runs. ``OpSpec.kernel`` is the signature without the
marks, ``OpSpec.params`` its names, ``OpSpec.arrays`` the positions of the marked ones.

Kernel calling convention (what ember-core guarantees before it calls a kernel) is documented
in ``docs/writing-a-backend.md``: arrays are native, dtypes are native dtype objects, axes are
normalised, creation kernels always get a concrete dtype, binary operands share a dtype (or one
is a Python scalar of a kind the other's dtype holds). Random numbers are composites: one
generator written in ember ops (``ember.random``), the same numbers on every backend.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOGUE", "GROUPS", "LATER_PRIMITIVES", "OpSpec", "composites", "kernel_name",
           "primitives"]


@dataclass(frozen=True, slots=True)
class OpSpec:
    name: str  # public name, e.g. "add", "linalg.solve", "random.uniform", "nn.softmax"
    group: str  # the topic: names the op's module at every layer (docs/architecture.md)
    primitive: bool
    kernel: str  # kernel signature without the array marks, e.g. "(x1, x2)"
    summary: str
    params: tuple[str, ...] = ()  # the kernel's parameter names, in order
    arrays: tuple[int, ...] = ()  # positions of the parameters that take native arrays
    array_list: bool = False  # parameter 0 takes a list of native arrays (concat, stack)

    @property
    def kernel_name(self) -> str:
        return kernel_name(self.name)

    @property
    def namespace(self) -> str:
        return self.name.rpartition(".")[0]


def kernel_name(public_name: str) -> str:
    """``linalg.solve`` -> ``linalg_solve``: the attribute a backend's kernel module defines."""
    return public_name.replace(".", "_")


# name | P/C | kernel signature (array parameters marked) | summary   (grouped under "## topic"
# lines; a topic is a module name: lower case, no spaces)
_TABLE = """
## creation
arange | P | (start, stop, step, dtype, device) | Evenly spaced values in [start, stop).
asarray | P | (obj: array, dtype, device, copy) | Convert lists, scalars, NumPy or native arrays; dtype may be None (infer).
empty | P | (shape, dtype, device) | Uninitialised array (ember returns zeros on backends without a cheaper option).
empty_like | C | (x: array, dtype, device) | empty() with x's shape.
eye | P | (n_rows, n_cols, k, dtype, device) | Identity-like matrix with ones on diagonal k.
from_dlpack | P | (x: array, copy) | Import a DLPack-capable array; copy None shares memory where possible, True always copies, False never (BufferError).
full | P | (shape, fill_value, dtype, device) | Array filled with one value.
full_like | C | (x: array, fill_value, dtype, device) | full() with x's shape.
linspace | P | (start, stop, num, dtype, device, endpoint) | num evenly spaced samples.
meshgrid | C | (arrays: list[array], indexing) | Coordinate matrices from 1-d arrays ('xy' or 'ij').
ones | C | (shape, dtype, device) | Array of ones.
ones_like | C | (x: array, dtype, device) | ones() with x's shape.
tril | P | (x: array, k) | Lower triangle of the last two axes.
triu | P | (x: array, k) | Upper triangle of the last two axes.
zeros | C | (shape, dtype, device) | Array of zeros.
zeros_like | C | (x: array, dtype, device) | zeros() with x's shape.
## dtypes
astype | P | (x: array, dtype, copy) | Cast to dtype.
can_cast | C | - | Whether a dtype casts to another under the promotion rules.
finfo | C | - | Limits of a floating-point dtype.
iinfo | C | - | Limits of an integer dtype.
isdtype | C | - | Whether a dtype is of a kind.
result_type | C | - | The dtype arrays and dtypes promote to.
## elementwise
abs | P | (x: array) | Absolute value (modulus for complex).
acos | P | (x: array) | Inverse cosine.
acosh | P | (x: array) | Inverse hyperbolic cosine.
add | P | (x1: array, x2: array) | x1 + x2.
asin | P | (x: array) | Inverse sine.
asinh | P | (x: array) | Inverse hyperbolic sine.
atan | P | (x: array) | Inverse tangent.
atan2 | P | (x1: array, x2: array) | Quadrant-aware inverse tangent of x1/x2.
atanh | P | (x: array) | Inverse hyperbolic tangent.
bitwise_and | P | (x1: array, x2: array) | Bitwise AND of integers or booleans.
bitwise_invert | P | (x: array) | Bitwise NOT of integers or booleans.
bitwise_left_shift | P | (x1: array, x2: array) | x1 << x2 (integers).
bitwise_or | P | (x1: array, x2: array) | Bitwise OR of integers or booleans.
bitwise_right_shift | P | (x1: array, x2: array) | x1 >> x2 (integers, arithmetic for signed).
bitwise_xor | P | (x1: array, x2: array) | Bitwise XOR of integers or booleans.
ceil | P | (x: array) | Round towards +inf (integers unchanged).
clip | P | (x: array, min: array, max: array) | Clamp to [min, max]; either bound may be None, a scalar or an array.
conj | P | (x: array) | Complex conjugate (identity for real).
copysign | P | (x1: array, x2: array) | Magnitude of x1 with the sign of x2.
cos | P | (x: array) | Cosine.
cosh | P | (x: array) | Hyperbolic cosine.
divide | P | (x1: array, x2: array) | True division (integers promote to the default float dtype).
equal | P | (x1: array, x2: array) | x1 == x2.
erf | P | (x: array) | Gauss error function.
erfinv | P | (x: array) | Inverse error function.
exp | P | (x: array) | e**x.
expm1 | P | (x: array) | e**x - 1, accurate near 0.
floor | P | (x: array) | Round towards -inf (integers unchanged).
floor_divide | P | (x1: array, x2: array) | Floor of x1 / x2.
greater | P | (x1: array, x2: array) | x1 > x2.
greater_equal | P | (x1: array, x2: array) | x1 >= x2.
hypot | P | (x1: array, x2: array) | sqrt(x1**2 + x2**2) without overflow.
imag | P | (x: array) | Imaginary part (zeros of the real dtype for real input).
isfinite | P | (x: array) | Finite elements.
isinf | P | (x: array) | Infinite elements.
isnan | P | (x: array) | NaN elements.
less | P | (x1: array, x2: array) | x1 < x2.
less_equal | P | (x1: array, x2: array) | x1 <= x2.
log | P | (x: array) | Natural logarithm.
log1p | P | (x: array) | log(1 + x), accurate near 0.
log2 | P | (x: array) | Base-2 logarithm.
log10 | P | (x: array) | Base-10 logarithm.
logaddexp | P | (x1: array, x2: array) | log(exp(x1) + exp(x2)) without overflow.
logical_and | P | (x1: array, x2: array) | Logical AND (inputs cast to bool).
logical_not | P | (x: array) | Logical NOT (input cast to bool).
logical_or | P | (x1: array, x2: array) | Logical OR (inputs cast to bool).
logical_xor | P | (x1: array, x2: array) | Logical XOR (inputs cast to bool).
maximum | P | (x1: array, x2: array) | Element-wise maximum (NaN propagates).
minimum | P | (x1: array, x2: array) | Element-wise minimum (NaN propagates).
multiply | P | (x1: array, x2: array) | x1 * x2.
negative | P | (x: array) | -x.
nextafter | P | (x1: array, x2: array) | The next representable floating-point value after x1 in the direction of x2.
not_equal | P | (x1: array, x2: array) | x1 != x2.
positive | C | (x: array) | +x.
pow | P | (x1: array, x2: array) | x1 ** x2.
real | P | (x: array) | Real part (x itself for real input).
reciprocal | C | (x: array) | 1 / x (integers promote to the default float dtype).
remainder | P | (x1: array, x2: array) | Remainder with the sign of the divisor (Python's %).
round | P | (x: array) | Round half to even.
sign | P | (x: array) | -1, 0 or 1 (x / abs(x) for complex).
signbit | P | (x: array) | Whether the sign bit is set (true for -0.0).
sin | P | (x: array) | Sine.
sinh | P | (x: array) | Hyperbolic sine.
sqrt | P | (x: array) | Square root.
square | P | (x: array) | x * x.
subtract | P | (x1: array, x2: array) | x1 - x2.
tan | P | (x: array) | Tangent.
tanh | P | (x: array) | Hyperbolic tangent.
trunc | P | (x: array) | Round towards zero (integers unchanged).
## indexing
take | P | (x: array, indices: array, axis) | Elements of x along axis at integer indices (indices is 1-d).
take_along_axis | C | (x: array, indices: array, axis) | Elements of x at indices along axis; indices has x's rank and broadcasts with x off the axis.
getitem | P | (x: array, key) | x[key] for ints, slices, Ellipsis, None, integer arrays and boolean masks (key is normalised: arrays native).
index_update | P | (x: array, key, values: array, mode) | Copy of x with x[key] combined with values; mode in set/add/multiply/min/max; duplicate indices accumulate for add/multiply/min/max.
## linalg
matmul | P | (x1: array, x2: array) | Matrix product with batch broadcasting.
matrix_transpose | C | (x: array) | Swap the last two axes.
tensordot | P | (x1: array, x2: array, axes) | Tensor contraction; axes is a pair of equal-length tuples of non-negative ints.
vecdot | C | (x1: array, x2: array, axis) | Dot product along axis (conjugating x1).
linalg.cholesky | P | (x: array, upper) | Cholesky factor of Hermitian positive-definite matrices.
linalg.cross | P | (x1: array, x2: array, axis) | Cross product of 3-vectors along axis.
linalg.det | P | (x: array) | Determinant.
linalg.diagonal | P | (x: array, offset) | Diagonal of the last two axes.
linalg.eigh | P | (x: array) | (eigenvalues, eigenvectors) of Hermitian matrices, eigenvalues ascending.
linalg.eigvalsh | P | (x: array) | Eigenvalues of Hermitian matrices, ascending.
linalg.inv | P | (x: array) | Matrix inverse.
linalg.matmul | C | (x1: array, x2: array) | Same as matmul.
linalg.matrix_norm | P | (x: array, keepdims, ord) | Matrix norm ('fro', 'nuc', 1, -1, 2, -2, inf, -inf) of the last two axes.
linalg.matrix_power | P | (x: array, n) | Integer power of square matrices.
linalg.matrix_rank | P | (x: array, rtol) | Numerical rank.
linalg.matrix_transpose | C | (x: array) | Same as matrix_transpose.
linalg.outer | C | (x1: array, x2: array) | Outer product of two vectors.
linalg.pinv | P | (x: array, rtol) | Moore-Penrose pseudo-inverse.
linalg.qr | P | (x: array, mode) | (Q, R); mode 'reduced' or 'complete'.
linalg.slogdet | P | (x: array) | (sign, log of the absolute determinant).
linalg.solve | P | (x1: array, x2: array) | Solve x1 @ out = x2.
linalg.svd | P | (x: array, full_matrices) | (U, S, Vh), S descending.
linalg.svdvals | P | (x: array) | Singular values, descending.
linalg.tensordot | C | (x1: array, x2: array, axes) | Same as tensordot.
linalg.trace | P | (x: array, offset, dtype) | Sum of a diagonal of the last two axes.
linalg.vecdot | C | (x1: array, x2: array, axis) | Same as vecdot.
linalg.vector_norm | P | (x: array, axis, keepdims, ord) | Vector p-norm over axis (tuple or None).
## manipulation
broadcast_arrays | C | (arrays: list[array]) | Broadcast arrays against each other.
broadcast_to | P | (x: array, shape) | Broadcast to shape.
concat | P | (arrays: list[array], axis) | Join along an existing axis (axis None: flatten first).
expand_dims | P | (x: array, axis) | Insert a length-1 axis.
flip | P | (x: array, axis) | Reverse along axes (tuple or None for all).
moveaxis | C | (x: array, source, destination) | Move axes to new positions.
permute_dims | P | (x: array, axes) | Permute axes.
repeat | P | (x: array, repeats: array, axis) | Repeat elements; repeats an int or a 1-d native int array; axis None flattens.
reshape | P | (x: array, shape, copy) | New shape, same data.
roll | P | (x: array, shift, axis) | Roll elements; shift and axis are tuples of equal length or axis None (flattened).
squeeze | P | (x: array, axis) | Remove length-1 axes (tuple).
stack | P | (arrays: list[array], axis) | Join along a new axis.
tile | P | (x: array, repetitions) | Tile x.
unstack | C | (x: array, axis) | Split into a tuple of arrays along axis.
## searching
argmax | P | (x: array, axis, keepdims) | Index of the first maximum (int64).
argmin | P | (x: array, axis, keepdims) | Index of the first minimum (int64).
count_nonzero | C | (x: array, axis, keepdims) | Number of non-zero elements.
nonzero | P | (x: array) | Tuple of int64 index arrays of non-zero elements.
searchsorted | P | (x1: array, x2: array, side, sorter: array) | Insertion indices into sorted 1-d x1 (int64).
where | P | (condition: array, x1: array, x2: array) | Elements of x1 where condition else x2.
## sets
unique_all | P | (x: array) | (values, indices, inverse_indices, counts) of the flattened input, values sorted.
unique_counts | C | (x: array) | (values, counts).
unique_inverse | C | (x: array) | (values, inverse_indices), inverse shaped like x.
unique_values | C | (x: array) | Sorted unique values.
## sorting
argsort | P | (x: array, axis, descending, stable) | Indices that sort x along axis (int64).
sort | P | (x: array, axis, descending, stable) | Sorted copy along axis.
## statistical
cumulative_prod | P | (x: array, axis, dtype) | Cumulative product along axis.
cumulative_sum | P | (x: array, axis, dtype) | Cumulative sum along axis.
max | P | (x: array, axis, keepdims) | Maximum over axes.
mean | P | (x: array, axis, keepdims) | Arithmetic mean over axes.
min | P | (x: array, axis, keepdims) | Minimum over axes.
prod | P | (x: array, axis, dtype, keepdims) | Product over axes.
std | C | (x: array, axis, correction, keepdims) | Standard deviation.
sum | P | (x: array, axis, dtype, keepdims) | Sum over axes.
var | P | (x: array, axis, correction, keepdims) | Variance.
## utility
all | P | (x: array, axis, keepdims) | Whether all elements are true.
any | P | (x: array, axis, keepdims) | Whether any element is true.
diff | C | (x: array, axis, n, prepend: array, append: array) | n-th discrete difference along axis.
## autodiff
stop_gradient | C | (x: array) | x's values as a constant for gradient tapes (a new array object; backends give a view).
## fft
fft.fft | P | (x: array, n, axis, norm) | 1-d discrete Fourier transform.
fft.ifft | P | (x: array, n, axis, norm) | Inverse of fft.
fft.fftn | P | (x: array, s, axes, norm) | n-d discrete Fourier transform.
fft.ifftn | P | (x: array, s, axes, norm) | Inverse of fftn.
fft.rfft | P | (x: array, n, axis, norm) | fft of real input (non-negative frequencies).
fft.irfft | P | (x: array, n, axis, norm) | Inverse of rfft.
fft.rfftn | P | (x: array, s, axes, norm) | n-d fft of real input.
fft.irfftn | P | (x: array, s, axes, norm) | Inverse of rfftn.
fft.hfft | C | (x: array, n, axis, norm) | fft of a Hermitian-symmetric signal (real output).
fft.ihfft | C | (x: array, n, axis, norm) | Inverse of hfft.
fft.fftfreq | C | (n, d, dtype, device) | Sample frequencies of fft.
fft.rfftfreq | C | (n, d, dtype, device) | Sample frequencies of rfft.
fft.fftshift | C | (x: array, axes) | Move the zero frequency to the centre.
fft.ifftshift | C | (x: array, axes) | Inverse of fftshift.
## activations
nn.relu | C | (x: array) | max(x, 0).
nn.gelu | C | (x: array, approximate) | Gaussian error linear unit ('none' exact, 'tanh' approximation).
nn.silu | C | (x: array) | x * sigmoid(x).
nn.sigmoid | C | (x: array) | 1 / (1 + exp(-x)), stable for large inputs of either sign.
nn.softplus | C | (x: array) | log(1 + exp(x)), stable.
nn.softmax | C | (x: array, axis) | Softmax along axis.
nn.log_softmax | C | (x: array, axis) | Log of softmax, stable.
nn.logsumexp | C | (x: array, axis, keepdims) | log(sum(exp(x))) over axes, stable.
nn.one_hot | C | (indices: array, num_classes, dtype) | One-hot encoding along a new last axis.
## convolution
nn.conv | P | (x: array, weight: array, stride, padding, dilation, groups) | N-d convolution, channels-last x (N, *spatial, C_in), weight (C_out, *kernel, C_in/groups), padding a tuple of (low, high) pairs.
nn.conv1d | C | (x: array, weight: array, bias: array, stride, padding, dilation, groups) | 1-d convolution; padding int, 'valid', 'same' or 'causal'.
nn.conv2d | C | (x: array, weight: array, bias: array, stride, padding, dilation, groups) | 2-d convolution; padding int, pair, 'valid' or 'same'.
## pooling
nn.max_pool | P | (x: array, window, stride, padding) | N-d max pooling, channels-last; padding pairs are filled with -inf.
nn.avg_pool | P | (x: array, window, stride, padding, divisor: array) | N-d average pooling, channels-last.
## normalization
nn.layer_norm | C | (x: array, weight: array, bias: array, axis, eps) | Layer normalisation over the trailing axes.
nn.rms_norm | C | (x: array, weight: array, axis, eps) | Root-mean-square normalisation.
## attention
nn.scaled_dot_product_attention | C | (q: array, k: array, v: array, mask: array, is_causal, scale) | Attention over (..., L, D) queries; boolean or additive mask, causal, sliding window.
## losses
nn.cross_entropy | C | (logits: array, targets: array, axis, ignore_index, label_smoothing, reduction) | Cross-entropy from logits and integer targets or class probabilities.
## scan
nn.associative_scan | C | (fn, x: array, axis, reverse) | Inclusive scan with any associative binary function, log depth.
## recurrent
nn.rnn | C | (x: array, h0: array, w_ih: array, w_hh: array, b_ih: array, b_hh: array, lengths: array, nonlinearity, reverse) | One Elman RNN layer (torch.nn.RNN's formulas and weight layout, tanh or relu) over a time-major sequence; lengths: valid steps per sequence; returns (outputs, h_n).
nn.lstm | C | (x: array, h0: array, c0: array, w_ih: array, w_hh: array, b_ih: array, b_hh: array, w_hr: array, lengths: array, reverse) | One LSTM layer (torch.nn.LSTM's formulas and weight layout, optional projection w_hr) over a time-major sequence; returns (outputs, h_n, c_n).
nn.gru | C | (x: array, h0: array, w_ih: array, w_hh: array, b_ih: array, b_hh: array, lengths: array, reverse) | One GRU layer (torch.nn.GRU's formulas and weight layout) over a time-major sequence; returns (outputs, h_n).
## optimizers
nn.sgd_update | C | (params: list[array], grads, momentum_buffers, lr, weight_decay, momentum, dampening, nesterov, donate) | torch.optim.SGD's step for a list of variables (grads and buffers: lists like params); returns (params, buffers). Not differentiable.
nn.adam_update | C | (params: list[array], grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps, weight_decay, step, decoupled_weight_decay, donate) | torch.optim.Adam's (AdamW's: decoupled) step for a list of variables; returns (params, exp_avgs, exp_avg_sqs). Not differentiable.
nn.rmsprop_update | C | (params: list[array], grads, square_avgs, momentum_buffers, grad_avgs, lr, alpha, eps, weight_decay, momentum, centered, donate) | torch.optim.RMSprop's step for a list of variables; returns (params, square_avgs, momentum_buffers, grad_avgs). Not differentiable.
## random
random.bits | C | (key, num, device) | The first num 32-bit words of the Philox4x32-10 stream of a 64-bit key (1-d uint32 or int64); a backend kernel must give the same words.
random.uniform | C | (key, shape, dtype, low, high) | Uniform samples in [low, high), built exactly from random bits.
random.normal | C | (key, shape, dtype, loc, scale) | Normal samples (Box-Muller on exact uniform draws).
random.randint | C | (key, shape, low, high, dtype) | Integers in [low, high) (multiply-shift of 64 or 96 random bits).
random.truncated_normal | C | (key, lower, upper, shape, dtype) | Normal samples truncated to [lower, upper].
random.bernoulli | C | (key, p: array, shape) | Booleans true with probability p.
random.categorical | C | (key, logits: array, axis, shape) | Class indices drawn from logits (Gumbel-max).
random.permutation | C | (key, x: array) | A random permutation of range(x) or of x along axis 0.
nn.dropout | C | (x: array, rate, key) | Zero elements with probability rate, scale the rest by 1/(1-rate).
"""


def _parse(table: str) -> tuple[tuple[OpSpec, ...], tuple[str, ...]]:
    specs: list[OpSpec] = []
    groups: list[str] = []
    group = ""
    for line in table.strip().splitlines():
        if line.startswith("## "):
            group = line[3:].strip()
            groups.append(group)
            continue
        name, kind, kernel, summary = (part.strip() for part in line.split("|", 3))
        if "|" in summary:  # docs/ops.md is a Markdown table
            raise ValueError(f"catalogue summary of {name} contains '|'")
        params, arrays, array_list = _signature(name, kernel)
        plain = f"({', '.join(params)})" if kernel != "-" else kernel
        specs.append(OpSpec(name, group, kind == "P", plain, summary, params, arrays, array_list))
    return tuple(specs), tuple(groups)


_MARKS = ("array", "list[array]")


def _signature(name: str, kernel: str) -> tuple[tuple[str, ...], tuple[int, ...], bool]:
    """``"(x: array, axis)"`` -> (("x", "axis"), (0,), False): names, array positions, list."""
    if kernel == "-":
        return (), (), False
    params: list[str] = []
    arrays: list[int] = []
    array_list = False
    for i, part in enumerate(p.strip() for p in kernel.strip("()").split(",") if p.strip()):
        param, _, mark = (s.strip() for s in part.partition(":"))
        if mark and mark not in _MARKS:
            raise ValueError(f"catalogue signature of {name}: parameter {param!r} is marked "
                             f"{mark!r}; the marks are {_MARKS}")
        if mark == "list[array]":
            if i != 0:
                raise ValueError(f"catalogue signature of {name}: only the first parameter may "
                                 f"take a list of arrays, not {param!r}")
            array_list = True
        params.append(param)
        if mark:
            arrays.append(i)
    return tuple(params), tuple(arrays), array_list


CATALOGUE, GROUPS = _parse(_TABLE)
BY_NAME: dict[str, OpSpec] = {s.name: s for s in CATALOGUE}

#: Primitives added after backends were first written against the catalogue, with the ember
#: version that added each. A backend that gives neither a kernel nor an ``unsupported`` entry
#: for one still loads, with the op unsupported (``docs/ops.md`` shows it, calling it raises
#: ``UnsupportedError``), so a plugin published before the op existed keeps working; every
#: other primitive missing is a ``BackendError`` at load. The official backends implement them
#: all (their tests check it).
LATER_PRIMITIVES: dict[str, str] = {"nextafter": "0.1.0"}


def primitives() -> tuple[OpSpec, ...]:
    return tuple(s for s in CATALOGUE if s.primitive)


def composites() -> tuple[OpSpec, ...]:
    return tuple(s for s in CATALOGUE if not s.primitive)
