"""Recurrent kernels: torch's fused RNN kernels (``torch.rnn_tanh``, ``torch.rnn_relu``,
``torch.lstm``, ``torch.gru``: ATen on CPU, cuDNN on GPU) for one layer in one direction, with
the weights in the list torch's modules pass them. Variable lengths go through a packed
sequence (as ``torch.nn.utils.rnn.pack_padded_sequence`` builds it, unsorted); a sequence of
length 0 keeps its initial state and gets zero outputs (torch's packing refuses those, so it
runs with length 1 and is masked). ``reverse`` runs the reversed sequences (each within its
length) and reverses the outputs back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ._util import Tensor

__all__ = ["nn_gru", "nn_lstm", "nn_rnn"]



def _train() -> bool:
    """The fused kernels' ``train`` flag: True where autograd records (cuDNN's RNN backward
    needs the buffers its training mode keeps; with no dropout the outputs are the same)."""
    return torch.is_grad_enabled()

def _params(w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None,
            w_hr: Tensor | None = None) -> tuple[list[Tensor], bool]:
    ps = [w_ih, w_hh]
    has_biases = b_ih is not None or b_hh is not None
    if has_biases:
        zero = w_ih.new_zeros(w_ih.shape[0])
        ps += [zero if b_ih is None else b_ih, zero if b_hh is None else b_hh]
    if w_hr is not None:
        ps.append(w_hr)
    return ps, has_biases


def _reversed_index(lengths: Tensor, steps: int, device: Any) -> Tensor:
    """(T, B) step indices reversing each sequence within its length (padding stays put)."""
    t = torch.arange(steps, device=device).unsqueeze(1)
    n = lengths.to(device).unsqueeze(0)
    return torch.where(t < n, n - 1 - t, t)


def _gather(x: Tensor, idx: Tensor) -> Tensor:
    return x.gather(0, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


Run = Callable[..., tuple[Tensor, list[Tensor]]]


def _sequence(run: Run, x: Tensor, hx: list[Tensor], lengths: Tensor | None,
              reverse: bool) -> tuple[Tensor, list[Tensor]]:
    """``run(input, batch_sizes or None, hx (each (1, B, n))) -> (outputs, states)`` over the
    sequence, with lengths and direction; returns outputs (T, B, n) and states (B, n)."""
    steps, batch = x.shape[0], x.shape[1]
    if steps == 0 or batch == 0:
        out_size = hx[0].shape[-1]
        return x.new_zeros((steps, batch, out_size)), [h.clone() for h in hx]
    hs = [h.unsqueeze(0) for h in hx]
    if lengths is None:
        xs = x.flip(0) if reverse else x
        y, states = run(xs, None, hs)
        return (y.flip(0) if reverse else y), [s.squeeze(0) for s in states]
    lens = lengths.to("cpu", torch.int64)
    empty = lens == 0
    lens = lens.clamp(min=1)
    idx = _reversed_index(lens, steps, x.device) if reverse else None
    xs = _gather(x, idx) if idx is not None else x
    packed = pack_padded_sequence(xs, lens, enforce_sorted=False)
    order, unorder = packed.sorted_indices, packed.unsorted_indices
    assert order is not None and unorder is not None  # set by enforce_sorted=False
    y_data, states = run(packed.data, packed.batch_sizes,
                         [h.index_select(1, order) for h in hs])
    y, _ = pad_packed_sequence(PackedSequence(y_data, packed.batch_sizes, order, unorder),
                               total_length=steps)
    finals = [s.index_select(1, unorder).squeeze(0) for s in states]
    if idx is not None:
        y = _gather(y, idx)
    if bool(empty.any()):
        e = empty.to(x.device)
        y = y.masked_fill(e.view(1, -1, 1), 0)
        finals = [torch.where(e.view(-1, 1), h0, s) for h0, s in zip(hx, finals, strict=True)]
    return y, finals


def nn_rnn(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
           b_hh: Tensor | None, lengths: Tensor | None, nonlinearity: str,
           reverse: bool) -> tuple[Tensor, Tensor]:
    ps, bias = _params(w_ih, w_hh, b_ih, b_hh)
    fn = torch.rnn_tanh if nonlinearity == "tanh" else torch.rnn_relu

    def run(inp: Tensor, sizes: Tensor | None, hs: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        if sizes is None:
            y, h = fn(inp, hs[0], ps, bias, 1, 0.0, _train(), False, False)
        else:
            y, h = fn(inp, sizes, hs[0], ps, bias, 1, 0.0, _train(), False)
        return y, [h]

    y, (h,) = _sequence(run, x, [h0], lengths, reverse)
    return y, h


def nn_lstm(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
            b_hh: Tensor | None, w_hr: Tensor | None, lengths: Tensor | None,
            reverse: bool) -> tuple[Tensor, Tensor, Tensor]:
    ps, bias = _params(w_ih, w_hh, b_ih, b_hh, w_hr)

    def run(inp: Tensor, sizes: Tensor | None, hs: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        if sizes is None:
            y, h, c = torch.lstm(inp, hs, ps, bias, 1, 0.0, _train(), False, False)
        else:
            y, h, c = torch.lstm(inp, sizes, hs, ps, bias, 1, 0.0, _train(), False)
        return y, [h, c]

    y, (h, c) = _sequence(run, x, [h0, c0], lengths, reverse)
    return y, h, c


def nn_gru(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
           b_hh: Tensor | None, lengths: Tensor | None, reverse: bool) -> tuple[Tensor, Tensor]:
    ps, bias = _params(w_ih, w_hh, b_ih, b_hh)

    def run(inp: Tensor, sizes: Tensor | None, hs: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        if sizes is None:
            y, h = torch.gru(inp, hs[0], ps, bias, 1, 0.0, _train(), False, False)
        else:
            y, h = torch.gru(inp, sizes, hs[0], ps, bias, 1, 0.0, _train(), False)
        return y, [h]

    y, (h,) = _sequence(run, x, [h0], lengths, reverse)
    return y, h
