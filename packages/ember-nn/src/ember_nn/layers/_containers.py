"""Containers: ``Sequential`` (layers applied in order) and ``Residual`` (``x + inner(x)``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module

__all__ = ["Residual", "Sequential"]


def _module(where: str, m: Any) -> Module:
    if not isinstance(m, Module):
        raise ConfigError(
            f"{where}: expected an ember_nn.Module, got {type(m).__name__} {m!r:.60}; wrap "
            f"functions in a module (ember_nn.ReLU() rather than ember_nn.relu)")
    return m


class Sequential(Module):
    """Apply ``layers`` in order; the output of one is the input of the next.

    Indexing gives a layer (a slice gives a ``Sequential`` sharing the layers); ``len``,
    iteration and ``append`` work as for a list. Variables are named ``layers.<i>.<name>``.

    >>> model = ember_nn.Sequential(ember_nn.Dense(4, 8, key=0), ember_nn.ReLU(),
    ...                             ember_nn.Dense(8, 2, key=1))
    >>> model(ember.ones((3, 4))).shape, len(model), type(model[1]).__name__
    ((3, 2), 3, 'ReLU')
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        self.layers = [_module(f"Sequential: layer {i}", m) for i, m in enumerate(layers)]

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end (it joins the config too); returns self."""
        self.layers.append(_module(f"Sequential.append: layer {len(self.layers)}", layer))
        if "layers" in self._config:
            self._config["layers"] = list(self.layers)
        return self

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        try:
            return self.layers[index]
        except IndexError:
            raise ember.OutOfBoundsError(f"Sequential: index {index} is out of range for "
                                         f"{len(self.layers)} layers") from None
        except TypeError:
            raise ember.ArgumentError(f"Sequential: index with an int or a slice, got "
                                      f"{type(index).__name__}") from None

    def extra_repr(self) -> str:
        return ""


class Residual(Module):
    """``inner(x) + shortcut(x)``, the shortcut the identity unless given (a projection such
    as a ``Dense`` when ``inner`` changes the shape). The two must have the same shape.

    >>> block = ember_nn.Residual(ember_nn.Dense(4, 4, key=0))
    >>> block(ember.ones((2, 4))).shape
    (2, 4)
    """

    def __init__(self, inner: Module, *, shortcut: Module | None = None) -> None:
        super().__init__()
        self.inner = _module("Residual: inner", inner)
        self.shortcut = None if shortcut is None else _module("Residual: shortcut", shortcut)

    def forward(self, x: Any) -> ember.Tensor:
        y = self.inner(x)
        s = x if self.shortcut is None else self.shortcut(x)
        if tuple(y.shape) != tuple(s.shape):
            if self.shortcut is None:
                raise ember.ShapeError(
                    f"Residual: the inner output has shape {tuple(y.shape)} but the input "
                    f"{tuple(s.shape)}; give a shortcut module that maps the input to the inner "
                    f"output's shape (Residual(inner, shortcut=Dense(...)))")
            raise ember.ShapeError(
                f"Residual: the inner output has shape {tuple(y.shape)} but the shortcut's "
                f"output {tuple(s.shape)}; they must be equal")
        return y + s

    def extra_repr(self) -> str:
        return ""
