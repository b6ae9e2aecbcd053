"""VJP rule of convolution (channels-last: x is (N, *spatial, C)); pooling's are in
``pooling.py``.

Notation, per spatial axis: input length L, padding (lo, hi), padded length Lp = lo + L + hi,
kernel (or window) K, stride s, dilation d, output length O = (Lp - d (K - 1) - 1) // s + 1,
and r = Lp - d (K - 1) - 1 - (O - 1) s >= 0 the padded elements past the last window.
"""

from __future__ import annotations

from typing import Any

from ..._dispatch import backend_of, native_of
from ..._tensor import Tensor
from ...ops._creation import zeros
from ...ops._indexing import index_update
from ...ops._manipulation import flip, permute_dims, reshape
from . import vjp

Pairs = tuple[tuple[int, int], ...]


def _conv(x: Tensor, w: Tensor, stride: tuple[int, ...], padding: Pairs,
          dilation: tuple[int, ...], groups: int) -> Tensor:
    """The nn_conv kernel on tensors (on the recording twin when either is tracked)."""
    b = backend_of("conv", x, w)
    return Tensor(b.kernels.nn_conv(native_of(b, x, "conv"), native_of(b, w, "conv"), tuple(stride),
                            tuple(padding), tuple(dilation), groups), b)


def _conv_input_grad(g: Tensor, w: Tensor, x_shape: tuple[int, ...], stride: tuple[int, ...],
                     padding: Pairs, dilation: tuple[int, ...], groups: int) -> Tensor:
    """dx of y = conv(x, w): a transposed convolution.

    Per axis y[o] = sum_k xp[o s + k d] w[k] (xp the padded x), so
    dxp[i] = sum_{o, k : o s + k d = i} g[o] w[k]. With gs the cotangent dilated by the
    stride (gs[o s] = g[o], zeros between) this is dxp[i] = sum_k gs[i - k d] w[k], and with
    the kernel flipped (wf[k'] = w[K - 1 - k']) it is the correlation
    dxp[i] = sum_k' gs[i - d (K - 1) + k' d] wf[k']: nn_conv of gs, stride 1, dilation d,
    padded with d (K - 1) at the low end and d (K - 1) + r at the high end. Then dx =
    dxp[lo : lo + L]; the crop is folded into that padding (d (K - 1) - lo low,
    d (K - 1) + r - hi high), and where either is negative the result is cropped instead.
    Channels: group j maps output channels [j C_out/G, ...) back to its input channels, so
    the weight becomes (C_in, *K, C_out/G), wt[j C_in/G + c, k', o] = w[j C_out/G + o, K-1-k', c]."""
    nd = len(stride)
    n, *spatial, _ = x_shape
    c_out, *kernel, cig = w.shape
    cog = c_out // groups
    outs = g.shape[1:-1]
    if any(s > 1 for s in stride):  # dilate g by the stride
        span = tuple((o - 1) * s + 1 for o, s in zip(outs, stride))
        buf = zeros((n, *span, c_out), dtype=g.dtype, device=g.device, backend=g._b)
        g = index_update(buf, (slice(None), *(slice(None, None, s) for s in stride), slice(None)), g)
    pads, crop, cropped = [], [], False
    for size, k, s, d, (lo, hi), o in zip(spatial, kernel, stride, dilation, padding, outs):
        ext = d * (k - 1)
        r = lo + size + hi - ext - 1 - (o - 1) * s
        p_lo, p_hi = ext - lo, ext + r - hi
        pads.append((max(p_lo, 0), max(p_hi, 0)))
        crop.append(slice(max(-p_lo, 0), max(-p_lo, 0) + size))
        cropped = cropped or p_lo < 0 or p_hi < 0
    wt = flip(reshape(w, (groups, cog, *kernel, cig)), axis=tuple(range(2, 2 + nd)))
    wt = reshape(permute_dims(wt, (0, nd + 2, *range(2, 2 + nd), 1)), (groups * cig, *kernel, cog))
    gx = _conv(g, wt, (1,) * nd, tuple(pads), dilation, groups)
    return gx[(slice(None), *crop, slice(None))] if cropped else gx


def _conv_weight_grad(g: Tensor, x: Tensor, w_shape: tuple[int, ...], stride: tuple[int, ...],
                      padding: Pairs, dilation: tuple[int, ...], groups: int) -> Tensor:
    """dw of y = conv(x, w): a correlation of x with the cotangent.

    dw[o, k, c] = sum_{n, t} g[n, t, o] xp[n, t s + k d, c]: per axis a correlation of xp
    with g as the kernel, where the forward dilation d is the stride and the forward stride
    s the dilation; its output has K + r // d positions, of which the first K are dw. As an
    nn_conv call, the batch N is contracted (the channels) and the input channels become the
    batch: x'[c, *spatial, j N + n] = x[n, *spatial, j C_in/G + c] (C_in/G "images" with G N
    channels), g'[o, *O, n] = g[n, *O, o] (C_out filters of N channels), groups G, giving
    (C_in/G, *K, C_out), transposed to the weight's (C_out, *K, C_in/G)."""
    nd = len(stride)
    n, *spatial, _ = x.shape
    _, *kernel, cig = w_shape
    xr = reshape(x, (n, *spatial, groups, cig))
    xr = reshape(permute_dims(xr, (nd + 2, *range(1, nd + 1), nd + 1, 0)), (cig, *spatial, groups * n))
    gr = permute_dims(g, (nd + 1, *range(1, nd + 1), 0))
    r = _conv(xr, gr, dilation, padding, stride, groups)
    if tuple(r.shape[1:-1]) != tuple(kernel):
        r = r[(slice(None), *(slice(0, k) for k in kernel), slice(None))]
    return permute_dims(r, (nd + 1, *range(1, nd + 1), 0))


@vjp("nn_conv", diff=(0, 1))
def _conv_rule(needs: Any, g: Any, out: Any, x: Any, weight: Any, stride: Any, padding: Any,
               dilation: Any, groups: int) -> tuple[Any, Any]:
    """dx: a transposed convolution; dw: a correlation of x and g (see the helpers)."""
    gx = gw = None
    if needs[0]:
        gx = _conv_input_grad(g, weight, x.shape, stride, padding, dilation, groups)
    if needs[1]:
        gw = _conv_weight_grad(g, x, weight.shape, stride, padding, dilation, groups)
    return (gx, gw)


# -- pooling -----------------------------------------------------------------------------------
