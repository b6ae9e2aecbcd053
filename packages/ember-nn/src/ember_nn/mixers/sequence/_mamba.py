"""``Mamba``: the selective state space mixer (Gu & Dao 2023), with MAD-Lab's arguments."""

from __future__ import annotations

import math
from typing import Any

import ember

from ..._core._errors import ConfigError
from ..._core._random import next_key
from ...layers._dense import Dense
from ...layers._support import brief_repr, layer_dtype, new_variable, positive_int
from .._base import SequenceMixer, check_sequence, check_step
from .._torch_init import torch_linear, uniform_init
from ._selective_scan import selective_scan, selective_step

__all__ = ["Mamba"]

def _positive(layer: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{layer}: {name} must be a positive number, got {value!r}")
    return float(value)


class Mamba(SequenceMixer):
    """Mamba's selective state space mixer (Gu & Dao 2023, "Mamba: Linear-Time Sequence
    Modeling with Selective State Spaces"), on ``(batch, length, dim)``; causal.

    With ``d_inner = expand * dim``::

        x, z = in_proj(u)                                   (each d_inner wide)
        x = silu(causal_depthwise_conv1d(x))                (kernel d_conv, per channel)
        dt, B, C = x_proj(x)                                (dt_rank, d_state, d_state wide)
        dt = softplus(dt_proj(dt))                          (d_inner wide, bias inside)
        A = -exp(A_log)                                     (d_inner, d_state)
        h_t = exp(dt_t A) * h_{t-1} + dt_t B_t x_t          (zero-order hold; a selective scan)
        y_t = (C_t . h_t + D x_t) * silu(z_t)
        out = out_proj(y)

    The scan is :func:`selective_scan`, built on ``ember.nn.associative_scan``. Initialisation
    is Mamba's: ``A_log = log([1..d_state])`` for every channel (S4D-real), ``D = 1``,
    ``dt_proj.weight`` uniform in ``±dt_scale / sqrt(dt_rank)`` (``dt_init="random"``) or that
    constant (``"constant"``), ``dt_proj.bias`` the inverse softplus of ``dt`` drawn
    log-uniform in ``[dt_min, dt_max]`` and floored at ``dt_init_floor``; the other weights as
    torch's ``nn.Linear``/``nn.Conv1d`` (uniform in ``±1/sqrt(fan_in)``), as in MAD-Lab.

    Arguments (MAD-Lab's ``mamba`` names and defaults): ``dim``; ``d_state=4`` (the state
    size per channel); ``d_conv=4`` (the causal convolution's width); ``expand=2``;
    ``dt_rank="auto"`` (``ceil(dim / 16)``) or a positive int; ``dt_min=0.001``,
    ``dt_max=0.1``, ``dt_init="random"``, ``dt_scale=1.0``, ``dt_init_floor=1e-4``;
    ``conv_bias=True``; ``bias=False`` (biases of in_proj and out_proj); ``dtype``; ``key``.

    Variables: ``in_proj.weight`` ``(dim, 2 d_inner)`` (x then z), ``conv1d_weight``
    ``(d_inner, d_conv, 1)`` (``ember.nn.conv1d``'s layout: torch's ``conv1d.weight``
    ``(d_inner, 1, d_conv)`` with the axes swapped), ``conv1d_bias``, ``x_proj.weight``
    ``(d_inner, dt_rank + 2 d_state)`` (dt, B, C), ``dt_proj.weight``/``bias``, ``A_log``
    ``(d_inner, d_state)``, ``D`` ``(d_inner,)``, ``out_proj.weight`` ``(d_inner, dim)``.

    Cost: O(length · d_inner · (dim + d_state + d_conv)) time; the scan holds
    ``(batch, length, d_inner, d_state)`` tensors (linear in length), depth O(log length).
    ``step`` decodes one position in O(d_inner · (dim + d_state + d_conv)) from the state
    ``(conv window (batch, d_conv, d_inner), h (batch, d_inner, d_state))``.

    >>> mixer = Mamba(8, key=0)
    >>> y = mixer(ember.ones((2, 5, 8)))
    >>> y.shape, round(float(y[0, -1, 0]), 4)
    ((2, 5, 8), 0.0017)
    >>> y_t, state = mixer.step(ember.ones((2, 8)), mixer.init_state(2))
    >>> y_t.shape, [s.shape for s in state]
    ((2, 8), [(2, 4, 16), (2, 16, 4)])
    """

    causal = True

    def __init__(self, dim: int, *, d_state: int = 4, d_conv: int = 4, expand: int = 2,
                 dt_rank: int | str = "auto", dt_min: float = 0.001, dt_max: float = 0.1,
                 dt_init: str = "random", dt_scale: float = 1.0, dt_init_floor: float = 1e-4,
                 conv_bias: bool = True, bias: bool = False, dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        name = "Mamba"
        self.dim = positive_int(name, "dim", dim)
        self.d_state = positive_int(name, "d_state", d_state)
        self.d_conv = positive_int(name, "d_conv", d_conv)
        self.d_inner = positive_int(name, "expand", expand) * dim
        if dt_rank == "auto":
            self.dt_rank = math.ceil(dim / 16)
        elif isinstance(dt_rank, str):
            raise ConfigError(f"{name}: dt_rank must be 'auto' or a positive int, got "
                              f"{dt_rank!r}")
        else:
            self.dt_rank = positive_int(name, "dt_rank", dt_rank)
        lo, hi = _positive(name, "dt_min", dt_min), _positive(name, "dt_max", dt_max)
        if lo > hi:
            raise ConfigError(f"{name}: dt_min {dt_min} is above dt_max {dt_max}; the initial "
                              f"steps are drawn from [dt_min, dt_max]")
        if dt_init not in ("random", "constant"):
            raise ConfigError(f"{name}: dt_init must be 'random' or 'constant', got "
                              f"{dt_init!r}")
        scale = _positive(name, "dt_scale", dt_scale)
        if isinstance(dt_init_floor, bool) or not isinstance(dt_init_floor, int | float) \
                or dt_init_floor < 0:
            raise ConfigError(f"{name}: dt_init_floor must be a number >= 0, got "
                              f"{dt_init_floor!r}")
        for flag, value in (("conv_bias", conv_bias), ("bias", bias)):
            if not isinstance(value, bool):
                raise ConfigError(f"{name}: {flag} must be True or False, got {value!r}")
        d = layer_dtype(name, dtype)
        keys = ember.random.split(next_key(key), 7)
        di, n, r = self.d_inner, self.d_state, self.dt_rank
        self.in_proj = torch_linear(dim, 2 * di, bias=bias, dtype=dtype, key=keys[0])
        self.conv1d_weight = new_variable(name, uniform_init(1 / math.sqrt(d_conv)), keys[1],
                                          (di, d_conv, 1), d, "conv1d_weight")
        self.conv1d_bias = new_variable(name, uniform_init(1 / math.sqrt(d_conv)), keys[2],
                                        (di,), d, "conv1d_bias") if conv_bias else None
        self.x_proj = torch_linear(di, r + 2 * n, bias=False, dtype=dtype, key=keys[3])
        std = scale / math.sqrt(r)
        w_init = uniform_init(std) if dt_init == "random" else \
            (lambda k, s, dt: ember.full(s, std, dtype=dt))
        k_layer, k_w, k_b = ember.random.split(keys[4], 3)
        self.dt_proj = Dense(r, di, dtype=dtype, key=k_layer)
        self.dt_proj.weight = new_variable(name, w_init, k_w, (r, di), d, "weight")
        self.dt_proj.bias = new_variable(name, _dt_bias_init(lo, hi, float(dt_init_floor)),
                                         k_b, (di,), d, "bias")
        self.dt_proj.keep_bias_init = True  # MAD-Lab's _no_reinit: the backbone keeps this bias
        self.A_log = new_variable(name, _s4d_real, keys[5], (di, n), d, "A_log")
        self.D = new_variable(name, lambda k, s, dt: ember.ones(s, dtype=dt), keys[5], (di,), d,
                              "D")
        self.out_proj = torch_linear(di, dim, bias=bias, dtype=dtype, key=keys[6])
        self._dtype = d

    # -- full sequence -------------------------------------------------------------------------
    def forward(self, x: Any) -> ember.Tensor:
        x = check_sequence("Mamba", x, self.dim)
        if x.shape[1] == 0:  # nothing to convolve: an empty sequence maps to an empty one
            return self.out_proj(ember.zeros((x.shape[0], 0, self.d_inner), dtype=x.dtype,
                                             backend=x.backend, device=x.device))
        xz = self.in_proj(x)
        u, z = xz[..., :self.d_inner], xz[..., self.d_inner:]
        u = ember.nn.silu(ember.nn.conv1d(u, self.conv1d_weight, self.conv1d_bias,
                                          padding=((self.d_conv - 1, 0),), groups=self.d_inner))
        dt, B, C = self._dt_b_c(u)
        y = selective_scan(u, dt, -ember.exp(self.A_log), B, C, self.D, z)
        return self.out_proj(y)

    def _dt_b_c(self, u: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor, ember.Tensor]:
        r, n = self.dt_rank, self.d_state
        dbc = self.x_proj(u)
        dt = ember.nn.softplus(self.dt_proj(dbc[..., :r]))
        return dt, dbc[..., r:r + n], dbc[..., r + n:]

    # -- one position --------------------------------------------------------------------------
    def init_state(self, batch: int, dtype: Any = None) -> tuple[ember.Tensor, ember.Tensor]:
        """``(conv window, h)``: zeros ``(batch, d_conv, d_inner)`` (the last d_conv inputs of
        the convolution, oldest first) and ``(batch, d_inner, d_state)``."""
        batch = positive_int("Mamba.init_state", "batch", batch)
        d = self._dtype if dtype is None else dtype
        like = self.D
        return (ember.zeros((batch, self.d_conv, self.d_inner), dtype=d, backend=like.backend,
                            device=like.device),
                ember.zeros((batch, self.d_inner, self.d_state), dtype=d, backend=like.backend,
                            device=like.device))

    def step(self, x_t: Any, state: Any) -> tuple[ember.Tensor, Any]:
        x_t = check_step("Mamba", x_t, self.dim)
        window, h = state
        want = ((x_t.shape[0], self.d_conv, self.d_inner), (x_t.shape[0], self.d_inner,
                                                            self.d_state))
        if (window.shape, h.shape) != want:
            raise ember.ShapeError(f"Mamba.step: state shapes {(window.shape, h.shape)} must be "
                                   f"{want} (see init_state)")
        xz = self.in_proj(x_t)
        u, z = xz[..., :self.d_inner], xz[..., self.d_inner:]
        window = ember.concat([window[:, 1:], u[:, None, :]], axis=1) if self.d_conv > 1 \
            else u[:, None, :]
        u = ember.sum(window * ember.permute_dims(self.conv1d_weight[..., 0], (1, 0)), axis=1)
        if self.conv1d_bias is not None:
            u = u + self.conv1d_bias
        u = ember.nn.silu(u)
        dt, B, C = self._dt_b_c(u)
        y, h = selective_step(h, u, dt, -ember.exp(self.A_log), B, C, self.D, z)
        return self.out_proj(y), (window, h)

    def extra_repr(self) -> str:
        return brief_repr(self)


def _s4d_real(key: Any, shape: tuple[int, ...], dtype: ember.DType) -> ember.Tensor:
    """``log(1..d_state)`` for every channel: A = -exp(A_log) = -(1, 2, ..., d_state)."""
    n = shape[1]
    row = ember.log(ember.arange(1, n + 1, dtype=dtype))
    return ember.broadcast_to(row, shape) + ember.zeros(shape, dtype=dtype)


def _dt_bias_init(dt_min: float, dt_max: float, floor: float) -> Any:
    """Mamba's dt bias: ``inverse_softplus(dt)``, ``dt = max(exp(U(log dt_min, log dt_max)),
    floor)``, so that ``softplus(bias)`` starts in ``[dt_min, dt_max]``."""
    def init(key: Any, shape: tuple[int, ...], dtype: ember.DType) -> ember.Tensor:
        lo, hi = math.log(dt_min), math.log(dt_max)
        dt = ember.exp(ember.random.uniform(key, shape, dtype, low=lo, high=hi))
        dt = ember.maximum(dt, ember.full(shape, floor, dtype=dtype))
        return dt + ember.log(-ember.expm1(-dt))
    return init
