"""The op catalogue: every op ember has, declared once.

Each entry names the op, its group, the *kernel* signature a backend implements, and a summary.
``P`` marks a primitive (a backend must supply a kernel or declare it unsupported, with a reason);
``C`` marks a composite written once in ember-core from primitives (a backend may override it
with a fused kernel of the same name, which must still pass the conformance kit).

Kernel calling convention (what ember-core guarantees before it calls a kernel) is documented
in ``docs/writing-a-backend.md``: arrays are native, dtypes are native dtype objects, axes are
normalised, creation kernels always get a concrete dtype, binary operands share a dtype (or one
is a Python scalar of a kind the other's dtype holds). Random numbers are composites: one
generator written in ember ops (``ember.random``), the same numbers on every backend.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOGUE", "GROUPS", "OpSpec", "composites", "kernel_name", "primitives"]


@dataclass(frozen=True, slots=True)
class OpSpec:
    name: str  # public name, e.g. "add", "linalg.solve", "random.uniform", "nn.softmax"
    group: str
    primitive: bool
    kernel: str  # kernel signature, e.g. "(x1, x2)"
    summary: str

    @property
    def kernel_name(self) -> str:
        return kernel_name(self.name)

    @property
    def namespace(self) -> str:
        return self.name.rpartition(".")[0]


def kernel_name(public_name: str) -> str:
    """``linalg.solve`` -> ``linalg_solve``: the attribute a backend's kernel module defines."""
    return public_name.replace(".", "_")


# name | P/C | kernel signature | summary   (grouped under "## group" lines)
_TABLE = """
## creation
arange | P | (start, stop, step, dtype, device) | Evenly spaced values in [start, stop).
asarray | P | (obj, dtype, device, copy) | Convert lists, scalars, NumPy or native arrays; dtype may be None (infer).
empty | P | (shape, dtype, device) | Uninitialised array (ember returns zeros on backends without a cheaper option).
empty_like | C | (x, dtype, device) | empty() with x's shape.
eye | P | (n_rows, n_cols, k, dtype, device) | Identity-like matrix with ones on diagonal k.
from_dlpack | P | (x, copy) | Import a DLPack-capable array; copy None shares memory where possible, True always copies, False never (BufferError).
full | P | (shape, fill_value, dtype, device) | Array filled with one value.
full_like | C | (x, fill_value, dtype, device) | full() with x's shape.
linspace | P | (start, stop, num, dtype, device, endpoint) | num evenly spaced samples.
meshgrid | C | (arrays, indexing) | Coordinate matrices from 1-d arrays ('xy' or 'ij').
ones | C | (shape, dtype, device) | Array of ones.
ones_like | C | (x, dtype, device) | ones() with x's shape.
tril | P | (x, k) | Lower triangle of the last two axes.
triu | P | (x, k) | Upper triangle of the last two axes.
zeros | C | (shape, dtype, device) | Array of zeros.
zeros_like | C | (x, dtype, device) | zeros() with x's shape.
## data types
astype | P | (x, dtype, copy) | Cast to dtype.
can_cast | C | - | Whether a dtype casts to another under the promotion rules.
finfo | C | - | Limits of a floating-point dtype.
iinfo | C | - | Limits of an integer dtype.
isdtype | C | - | Whether a dtype is of a kind.
result_type | C | - | The dtype arrays and dtypes promote to.
## element-wise
abs | P | (x) | Absolute value (modulus for complex).
acos | P | (x) | Inverse cosine.
acosh | P | (x) | Inverse hyperbolic cosine.
add | P | (x1, x2) | x1 + x2.
asin | P | (x) | Inverse sine.
asinh | P | (x) | Inverse hyperbolic sine.
atan | P | (x) | Inverse tangent.
atan2 | P | (x1, x2) | Quadrant-aware inverse tangent of x1/x2.
atanh | P | (x) | Inverse hyperbolic tangent.
bitwise_and | P | (x1, x2) | Bitwise AND of integers or booleans.
bitwise_invert | P | (x) | Bitwise NOT of integers or booleans.
bitwise_left_shift | P | (x1, x2) | x1 << x2 (integers).
bitwise_or | P | (x1, x2) | Bitwise OR of integers or booleans.
bitwise_right_shift | P | (x1, x2) | x1 >> x2 (integers, arithmetic for signed).
bitwise_xor | P | (x1, x2) | Bitwise XOR of integers or booleans.
ceil | P | (x) | Round towards +inf (integers unchanged).
clip | P | (x, min, max) | Clamp to [min, max]; either bound may be None, a scalar or an array.
conj | P | (x) | Complex conjugate (identity for real).
copysign | P | (x1, x2) | Magnitude of x1 with the sign of x2.
cos | P | (x) | Cosine.
cosh | P | (x) | Hyperbolic cosine.
divide | P | (x1, x2) | True division (integers promote to the default float dtype).
equal | P | (x1, x2) | x1 == x2.
erf | P | (x) | Gauss error function.
erfinv | P | (x) | Inverse error function.
exp | P | (x) | e**x.
expm1 | P | (x) | e**x - 1, accurate near 0.
floor | P | (x) | Round towards -inf (integers unchanged).
floor_divide | P | (x1, x2) | Floor of x1 / x2.
greater | P | (x1, x2) | x1 > x2.
greater_equal | P | (x1, x2) | x1 >= x2.
hypot | P | (x1, x2) | sqrt(x1**2 + x2**2) without overflow.
imag | P | (x) | Imaginary part (zeros of the real dtype for real input).
isfinite | P | (x) | Finite elements.
isinf | P | (x) | Infinite elements.
isnan | P | (x) | NaN elements.
less | P | (x1, x2) | x1 < x2.
less_equal | P | (x1, x2) | x1 <= x2.
log | P | (x) | Natural logarithm.
log1p | P | (x) | log(1 + x), accurate near 0.
log2 | P | (x) | Base-2 logarithm.
log10 | P | (x) | Base-10 logarithm.
logaddexp | P | (x1, x2) | log(exp(x1) + exp(x2)) without overflow.
logical_and | P | (x1, x2) | Logical AND (inputs cast to bool).
logical_not | P | (x) | Logical NOT (input cast to bool).
logical_or | P | (x1, x2) | Logical OR (inputs cast to bool).
logical_xor | P | (x1, x2) | Logical XOR (inputs cast to bool).
maximum | P | (x1, x2) | Element-wise maximum (NaN propagates).
minimum | P | (x1, x2) | Element-wise minimum (NaN propagates).
multiply | P | (x1, x2) | x1 * x2.
negative | P | (x) | -x.
not_equal | P | (x1, x2) | x1 != x2.
positive | C | (x) | +x.
pow | P | (x1, x2) | x1 ** x2.
real | P | (x) | Real part (x itself for real input).
remainder | P | (x1, x2) | Remainder with the sign of the divisor (Python's %).
round | P | (x) | Round half to even.
sign | P | (x) | -1, 0 or 1 (x / abs(x) for complex).
signbit | P | (x) | Whether the sign bit is set (true for -0.0).
sin | P | (x) | Sine.
sinh | P | (x) | Hyperbolic sine.
sqrt | P | (x) | Square root.
square | P | (x) | x * x.
subtract | P | (x1, x2) | x1 - x2.
tan | P | (x) | Tangent.
tanh | P | (x) | Hyperbolic tangent.
trunc | P | (x) | Round towards zero (integers unchanged).
## indexing
take | P | (x, indices, axis) | Elements of x along axis at integer indices (indices is 1-d).
getitem | P | (x, key) | x[key] for ints, slices, Ellipsis, None, integer arrays and boolean masks (key is normalised: arrays native).
index_update | P | (x, key, values, mode) | Copy of x with x[key] combined with values; mode in set/add/multiply/min/max; duplicate indices accumulate for add/multiply/min/max.
## linear algebra
matmul | P | (x1, x2) | Matrix product with batch broadcasting.
matrix_transpose | C | (x) | Swap the last two axes.
tensordot | P | (x1, x2, axes) | Tensor contraction; axes is a pair of equal-length tuples of non-negative ints.
vecdot | C | (x1, x2, axis) | Dot product along axis (conjugating x1).
linalg.cholesky | P | (x, upper) | Cholesky factor of Hermitian positive-definite matrices.
linalg.cross | P | (x1, x2, axis) | Cross product of 3-vectors along axis.
linalg.det | P | (x) | Determinant.
linalg.diagonal | P | (x, offset) | Diagonal of the last two axes.
linalg.eigh | P | (x) | (eigenvalues, eigenvectors) of Hermitian matrices, eigenvalues ascending.
linalg.eigvalsh | P | (x) | Eigenvalues of Hermitian matrices, ascending.
linalg.inv | P | (x) | Matrix inverse.
linalg.matmul | C | (x1, x2) | Same as matmul.
linalg.matrix_norm | P | (x, keepdims, ord) | Matrix norm ('fro', 'nuc', 1, -1, 2, -2, inf, -inf) of the last two axes.
linalg.matrix_power | P | (x, n) | Integer power of square matrices.
linalg.matrix_rank | P | (x, rtol) | Numerical rank.
linalg.matrix_transpose | C | (x) | Same as matrix_transpose.
linalg.outer | C | (x1, x2) | Outer product of two vectors.
linalg.pinv | P | (x, rtol) | Moore-Penrose pseudo-inverse.
linalg.qr | P | (x, mode) | (Q, R); mode 'reduced' or 'complete'.
linalg.slogdet | P | (x) | (sign, log of the absolute determinant).
linalg.solve | P | (x1, x2) | Solve x1 @ out = x2.
linalg.svd | P | (x, full_matrices) | (U, S, Vh), S descending.
linalg.svdvals | P | (x) | Singular values, descending.
linalg.tensordot | C | (x1, x2, axes) | Same as tensordot.
linalg.trace | P | (x, offset, dtype) | Sum of a diagonal of the last two axes.
linalg.vecdot | C | (x1, x2, axis) | Same as vecdot.
linalg.vector_norm | P | (x, axis, keepdims, ord) | Vector p-norm over axis (tuple or None).
## manipulation
broadcast_arrays | C | (arrays) | Broadcast arrays against each other.
broadcast_to | P | (x, shape) | Broadcast to shape.
concat | P | (arrays, axis) | Join along an existing axis (axis None: flatten first).
expand_dims | P | (x, axis) | Insert a length-1 axis.
flip | P | (x, axis) | Reverse along axes (tuple or None for all).
moveaxis | C | (x, source, destination) | Move axes to new positions.
permute_dims | P | (x, axes) | Permute axes.
repeat | P | (x, repeats, axis) | Repeat elements; repeats an int or a 1-d native int array; axis None flattens.
reshape | P | (x, shape, copy) | New shape, same data.
roll | P | (x, shift, axis) | Roll elements; shift and axis are tuples of equal length or axis None (flattened).
squeeze | P | (x, axis) | Remove length-1 axes (tuple).
stack | P | (arrays, axis) | Join along a new axis.
tile | P | (x, repetitions) | Tile x.
unstack | C | (x, axis) | Split into a tuple of arrays along axis.
## searching
argmax | P | (x, axis, keepdims) | Index of the first maximum (int64).
argmin | P | (x, axis, keepdims) | Index of the first minimum (int64).
count_nonzero | C | (x, axis, keepdims) | Number of non-zero elements.
nonzero | P | (x) | Tuple of int64 index arrays of non-zero elements.
searchsorted | P | (x1, x2, side, sorter) | Insertion indices into sorted 1-d x1 (int64).
where | P | (condition, x1, x2) | Elements of x1 where condition else x2.
## set
unique_all | P | (x) | (values, indices, inverse_indices, counts) of the flattened input, values sorted.
unique_counts | C | (x) | (values, counts).
unique_inverse | C | (x) | (values, inverse_indices), inverse shaped like x.
unique_values | C | (x) | Sorted unique values.
## sorting
argsort | P | (x, axis, descending, stable) | Indices that sort x along axis (int64).
sort | P | (x, axis, descending, stable) | Sorted copy along axis.
## statistical
cumulative_prod | P | (x, axis, dtype, include_initial) | Cumulative product along axis.
cumulative_sum | P | (x, axis, dtype, include_initial) | Cumulative sum along axis.
max | P | (x, axis, keepdims) | Maximum over axes.
mean | P | (x, axis, keepdims) | Arithmetic mean over axes.
min | P | (x, axis, keepdims) | Minimum over axes.
prod | P | (x, axis, dtype, keepdims) | Product over axes.
std | C | (x, axis, correction, keepdims) | Standard deviation.
sum | P | (x, axis, dtype, keepdims) | Sum over axes.
var | P | (x, axis, correction, keepdims) | Variance.
## utility
all | P | (x, axis, keepdims) | Whether all elements are true.
any | P | (x, axis, keepdims) | Whether any element is true.
diff | C | (x, axis, n, prepend, append) | n-th discrete difference along axis.
## autodiff
stop_gradient | C | (x) | x's values as a constant for gradient tapes (a new array object; backends give a view).
## fft
fft.fft | P | (x, n, axis, norm) | 1-d discrete Fourier transform.
fft.ifft | P | (x, n, axis, norm) | Inverse of fft.
fft.fftn | P | (x, s, axes, norm) | n-d discrete Fourier transform.
fft.ifftn | P | (x, s, axes, norm) | Inverse of fftn.
fft.rfft | P | (x, n, axis, norm) | fft of real input (non-negative frequencies).
fft.irfft | P | (x, n, axis, norm) | Inverse of rfft.
fft.rfftn | P | (x, s, axes, norm) | n-d fft of real input.
fft.irfftn | P | (x, s, axes, norm) | Inverse of rfftn.
fft.hfft | C | (x, n, axis, norm) | fft of a Hermitian-symmetric signal (real output).
fft.ihfft | C | (x, n, axis, norm) | Inverse of hfft.
fft.fftfreq | C | (n, d, dtype, device) | Sample frequencies of fft.
fft.rfftfreq | C | (n, d, dtype, device) | Sample frequencies of rfft.
fft.fftshift | C | (x, axes) | Move the zero frequency to the centre.
fft.ifftshift | C | (x, axes) | Inverse of fftshift.
## nn
nn.relu | C | (x) | max(x, 0).
nn.gelu | C | (x, approximate) | Gaussian error linear unit ('none' exact, 'tanh' approximation).
nn.silu | C | (x) | x * sigmoid(x).
nn.sigmoid | C | (x) | 1 / (1 + exp(-x)), stable for large inputs of either sign.
nn.softplus | C | (x) | log(1 + exp(x)), stable.
nn.softmax | C | (x, axis) | Softmax along axis.
nn.log_softmax | C | (x, axis) | Log of softmax, stable.
nn.logsumexp | C | (x, axis, keepdims) | log(sum(exp(x))) over axes, stable.
nn.one_hot | C | (indices, num_classes, dtype) | One-hot encoding along a new last axis.
nn.conv | P | (x, weight, stride, padding, dilation, groups) | N-d convolution, channels-last x (N, *spatial, C_in), weight (C_out, *kernel, C_in/groups), padding a tuple of (low, high) pairs.
nn.conv1d | C | (x, weight, bias, stride, padding, dilation, groups) | 1-d convolution; padding int, 'valid', 'same' or 'causal'.
nn.conv2d | C | (x, weight, bias, stride, padding, dilation, groups) | 2-d convolution; padding int, pair, 'valid' or 'same'.
nn.max_pool | P | (x, window, stride, padding) | N-d max pooling, channels-last; padding pairs are filled with -inf.
nn.avg_pool | P | (x, window, stride, padding, count_include_pad) | N-d average pooling, channels-last.
nn.layer_norm | C | (x, weight, bias, axis, eps) | Layer normalisation over the trailing axes.
nn.rms_norm | C | (x, weight, axis, eps) | Root-mean-square normalisation.
nn.dropout | C | (x, rate, key) | Zero elements with probability rate, scale the rest by 1/(1-rate).
nn.scaled_dot_product_attention | C | (q, k, v, mask, is_causal, scale, window) | Attention over (..., L, D) queries; boolean or additive mask, causal, sliding window.
nn.cross_entropy | C | (logits, targets, axis, ignore_index, label_smoothing, reduction) | Cross-entropy from logits and integer targets or class probabilities.
nn.associative_scan | C | (fn, x, axis, reverse) | Inclusive scan with any associative binary function, log depth.
## random
random.bits | C | (key, num, device) | The first num 32-bit words of the Philox4x32-10 stream of a 64-bit key (1-d uint32 or int64); a backend kernel must give the same words.
random.uniform | C | (key, shape, dtype, low, high) | Uniform samples in [low, high), built exactly from random bits.
random.normal | C | (key, shape, dtype, loc, scale) | Normal samples (Box-Muller on exact uniform draws).
random.randint | C | (key, shape, low, high, dtype) | Integers in [low, high) (multiply-shift of 64 or 96 random bits).
random.truncated_normal | C | (key, lower, upper, shape, dtype) | Normal samples truncated to [lower, upper].
random.bernoulli | C | (key, p, shape) | Booleans true with probability p.
random.categorical | C | (key, logits, axis, shape) | Class indices drawn from logits (Gumbel-max).
random.permutation | C | (key, x) | A random permutation of range(x) or of x along axis 0.
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
        specs.append(OpSpec(name, group, kind == "P", kernel, summary))
    return tuple(specs), tuple(groups)


CATALOGUE, GROUPS = _parse(_TABLE)
BY_NAME: dict[str, OpSpec] = {s.name: s for s in CATALOGUE}


def primitives() -> tuple[OpSpec, ...]:
    return tuple(s for s in CATALOGUE if s.primitive)


def composites() -> tuple[OpSpec, ...]:
    return tuple(s for s in CATALOGUE if not s.primitive)
