"""Training transforms that take a model: ``value_and_grad(model, fn)``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import ember

from .._core._aux_losses import collect_losses, sum_losses
from .._core._module import Module

__all__ = ["value_and_grad"]


def value_and_grad(model: Module, fn: Callable[..., Any], *,
                   has_aux: bool = False) -> Callable[..., tuple[Any, dict[str, Any]]]:
    """``fn`` -> a function returning ``(fn(*args), grads)``, where ``grads`` maps each trainable
    variable path of ``model`` to d fn / d variable (None where ``fn`` does not depend on it).

    ``fn`` computes a scalar loss using ``model``; with ``has_aux`` it returns ``(loss, aux)``.
    The gradients come from an ``ember.GradientTape``, so each backend's engine does the work.

    Auxiliary losses the model's layers add while ``fn`` runs (``ember_nn.add_loss``: a
    mixture of experts' load-balancing loss) are added to the loss: the gradients are those of
    ``loss + sum(auxiliary losses)``, and that total is the loss returned (in place of ``fn``'s
    own, first of the pair with ``has_aux``). To read the terms apart, call ``fn`` inside
    ``ember_nn.collect_losses()`` yourself: what it collects is no longer seen here.

    >>> model = ember_nn.Dense(2, 1, key=0)
    >>> step = ember_nn.value_and_grad(model, lambda x: ember.sum(model(x)))
    >>> loss, grads = step(ember.ones((4, 2)))
    >>> sorted(grads), grads["bias"].tolist()
    (['bias', 'weight'], [4.0])
    """
    if not isinstance(model, Module):
        raise ember.ArgumentError(
            f"value_and_grad: the first argument must be an ember_nn.Module, got "
            f"{type(model).__name__}; for plain functions use ember.value_and_grad")

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        out, triples = _triples(model, fn, has_aux, args, kwargs)
        return out, {path: g for path, _, g in triples}

    return wrapped


def _triples(model: Module, fn: Callable[..., Any], has_aux: bool, args: Any,
             kwargs: Any) -> tuple[Any, list[tuple[str, ember.Variable, Any]]]:
    """``(fn(*args), [(path, variable, gradient)])``: what ``value_and_grad`` returns, with the
    variables, so a training step can hand them to ``Optimizer.apply`` without walking the
    model a second time."""
    named = model.named_trainable_variables()
    variables = list(named.values())
    with ember.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(variables)
        with collect_losses() as extra:
            out = fn(*args, **kwargs)
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise ember.ArgumentError(
                    "value_and_grad(has_aux=True): fn must return a pair (loss, aux), got "
                    f"{type(out).__name__}")
            loss = out[0]
        else:
            loss = out
        if not isinstance(loss, ember.Tensor) or loss.size != 1:
            shape = getattr(loss, "shape", None)
            raise ember.ShapeError(
                f"value_and_grad: fn must return a scalar loss, got {type(loss).__name__} of "
                f"shape {shape}; reduce it (e.g. ember.mean) first")
        out, loss = with_aux_losses(out, loss, has_aux, extra)
    grads = tape.gradient(loss, variables)
    return out, list(zip(named, variables, grads, strict=True))


def with_aux_losses(out: Any, loss: ember.Tensor, has_aux: bool,
                    extra: list[tuple[str, ember.Tensor]]) -> tuple[Any, ember.Tensor]:
    """``(out, loss)`` with the collected auxiliary losses added to the loss (in ``out`` too:
    its first item with ``has_aux``); unchanged when there are none."""
    aux = sum_losses(extra)
    if aux is None:
        return out, loss
    loss = loss + aux
    return ((loss, out[1]) if has_aux else loss), loss
