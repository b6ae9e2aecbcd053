"""FFT kernels. float32/complex64 stay single precision; float16/bfloat16 compute in float32
(torch has no half-precision FFT on the CPU), which is also what NumPy 2 gives for float16."""

from __future__ import annotations

import torch

from ._util import Tensor

__all__ = [
    "fft_fft", "fft_fftn", "fft_ifft", "fft_ifftn", "fft_irfft", "fft_irfftn", "fft_rfft",
    "fft_rfftn",
]

_HALF = (torch.float16, torch.bfloat16)


def _up(x: Tensor) -> Tensor:
    return x.to(torch.float32) if x.dtype in _HALF else x


def fft_fft(x: Tensor, n: int | None, axis: int, norm: str) -> Tensor:
    return torch.fft.fft(_up(x), n, axis, norm)


def fft_ifft(x: Tensor, n: int | None, axis: int, norm: str) -> Tensor:
    return torch.fft.ifft(_up(x), n, axis, norm)


def fft_rfft(x: Tensor, n: int | None, axis: int, norm: str) -> Tensor:
    return torch.fft.rfft(_up(x), n, axis, norm)


def fft_irfft(x: Tensor, n: int | None, axis: int, norm: str) -> Tensor:
    return torch.fft.irfft(_up(x), n, axis, norm)


def fft_fftn(x: Tensor, s: tuple[int, ...] | None, axes: tuple[int, ...] | None, norm: str):
    return torch.fft.fftn(_up(x), s, axes, norm)


def fft_ifftn(x: Tensor, s: tuple[int, ...] | None, axes: tuple[int, ...] | None, norm: str):
    return torch.fft.ifftn(_up(x), s, axes, norm)


def fft_rfftn(x: Tensor, s: tuple[int, ...] | None, axes: tuple[int, ...] | None, norm: str):
    return torch.fft.rfftn(_up(x), s, axes, norm)


def fft_irfftn(x: Tensor, s: tuple[int, ...] | None, axes: tuple[int, ...] | None, norm: str):
    return torch.fft.irfftn(_up(x), s, axes, norm)
