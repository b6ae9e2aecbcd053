"""Gradient clipping by the global norm (``torch.nn.utils.clip_grad_norm_``'s semantics).

The norm and the scale stay tensors on the gradients' backend: clipping never reads a value
back to the host, so it adds no synchronisation to a training step.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import ember

__all__ = ["clip_by_global_norm", "clip_list", "global_norm"]

_EPS = 1e-6  # torch's clip_grad_norm_ adds it to the norm before dividing
_HALF = (ember.float16, ember.bfloat16)


def clip_by_global_norm(grads: Mapping[str, ember.Tensor | None],
                        max_norm: float) -> tuple[dict[str, ember.Tensor | None], ember.Tensor]:
    """Scale every gradient by ``min(1, max_norm / (norm + 1e-6))``, where ``norm`` is the
    2-norm of all the gradients together (``None`` entries are kept and ignored).

    Returns ``(clipped, norm)``: a dict with the same keys and the norm before clipping, a
    0-d float tensor (float32, or float64 when a gradient is float64). Below ``max_norm`` the
    gradients come back unchanged (multiplied by exactly 1). As in torch, a non-finite norm
    makes every gradient non-finite.

    >>> g = {"w": ember.tensor([3.0, 4.0]), "b": None}
    >>> clipped, norm = clip_by_global_norm(g, 1.0)
    >>> [round(x, 4) for x in clipped["w"].tolist()], clipped["b"], round(float(norm), 4)
    ([0.6, 0.8], None, 5.0)
    """
    if not isinstance(grads, Mapping):
        raise ember.ArgumentError(f"clip_by_global_norm: grads must be a mapping of names to "
                                  f"tensors (or None), got {type(grads).__name__}")
    check_max_norm(max_norm, "clip_by_global_norm", ember.ArgumentError)
    keys: list[str] = []
    values: list[ember.Tensor] = []
    for k, g in grads.items():
        if g is None:
            continue
        if not isinstance(g, ember.Tensor):
            raise ember.ArgumentError(f"clip_by_global_norm: gradient {k!r} is a "
                                      f"{type(g).__name__}, not an ember.Tensor")
        keys.append(k)
        values.append(g)
    clipped, norm = clip_list(values, float(max_norm), keys)
    out: dict[str, ember.Tensor | None] = dict(grads)
    out.update(zip(keys, clipped))
    return out, norm


def global_norm(grads: Sequence[ember.Tensor], names: Sequence[str] | None = None) -> ember.Tensor:
    """The 2-norm of all ``grads`` together, a 0-d float tensor on their backend.

    >>> float(global_norm([ember.tensor([3.0]), ember.tensor([[4.0]])]))
    5.0
    """
    if not grads:
        return ember.zeros((), dtype=ember.float32)
    first = grads[0]
    for i, g in enumerate(grads):
        if g.backend != first.backend:
            name = names[i] if names is not None else f"#{i}"
            first_name = names[0] if names is not None else "#0"
            raise ember.BackendMismatchError(
                f"global_norm: gradient {name!r} is on {g.backend!r} but {first_name!r} on "
                f"{first.backend!r}; move them to one backend first")
        if not g.dtype.is_floating:
            name = names[i] if names is not None else f"#{i}"
            raise ember.DTypeError(f"global_norm: gradient {name!r} has dtype {g.dtype.name}; "
                                   f"gradients must be real floating-point tensors")
    # half-precision gradients are measured in float32: their norm easily exceeds 65504
    norms = [ember.linalg.vector_norm(
        ember.astype(g, ember.float32) if g.dtype in _HALF else g) for g in grads]
    if len(norms) == 1:
        total = norms[0]
    else:
        dtypes = {n.dtype for n in norms}
        if len(dtypes) > 1:
            common = ember.result_type(*dtypes)
            norms = [n if n.dtype is common else ember.astype(n, common) for n in norms]
        total = ember.linalg.vector_norm(ember.stack(norms))
    return total


def clip_list(grads: Sequence[ember.Tensor], max_norm: float,
              names: Sequence[str] | None = None) -> tuple[list[ember.Tensor], ember.Tensor]:
    """``clip_by_global_norm`` for a list of tensors (no None): ``(clipped, norm)``."""
    norm = global_norm(grads, names)
    if not grads:
        return [], norm
    # clip with a scalar bound: ember.minimum(t, 1.0) would copy 1.0 to the device (a sync on CUDA)
    scale = ember.clip(max_norm / (norm + _EPS), max=1.0)
    by_dtype: dict[Any, ember.Tensor] = {}
    out = []
    for g in grads:
        s = by_dtype.get(g.dtype)
        if s is None:
            s = scale if scale.dtype is g.dtype else ember.astype(scale, g.dtype)
            by_dtype[g.dtype] = s
        out.append(g * s)
    return out, norm


def check_max_norm(value: Any, where: str, error: type[Exception]) -> None:
    """A clipping threshold must be a finite number > 0 (not a tensor: no host read-back)."""
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not math.isfinite(value) or float(value) <= 0):
        raise error(f"{where}: max_norm must be a finite number > 0, got {value!r:.60}")
