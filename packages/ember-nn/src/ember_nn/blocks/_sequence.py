"""``SequenceRegressor``: a recurrent layer (CfC, LTC, LSTM, GRU, ...) and a Dense head, built
from a plain table, so a config file (``ember train``) can describe a sequence model whose
inputs carry their own time gaps."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from .._core._serialize import _REGISTRY
from ..layers._dense import Dense
from ..layers._support import positive_int

__all__ = ["SequenceRegressor"]

TIMESPANS = ("none", "last_feature")
#: arguments the regressor sets on a recurrent layer built from a table
_FILLED = ("input_size", "batch_first", "return_sequences")


class SequenceRegressor(Module):
    """A recurrent layer, then a Dense head on its outputs (every step's, or the last one's).

    Arguments:
        in_features: the input features per step the recurrent layer reads.
        out_features: the predicted features (per step with ``return_sequences``).
        rnn: the recurrent layer: a table ``{"class": "CfC", ...}`` of a registered layer
            class and its arguments except ``input_size``, ``batch_first`` and
            ``return_sequences`` (the regressor sets them: ``in_features``, batch first, every
            step), or a built layer that is batch first and returns every step.
        timespans: ``"none"``: the inputs are ``(batch, steps, in_features)``;
            ``"last_feature"``: they are ``(batch, steps, in_features + 1)`` and the last
            feature of each step is the time elapsed since the previous one, passed to the
            layer as ``timespans`` (per sample and step) rather than as an input. The layer
            must then take timespans (CfC, LTC, an ``RNN`` of a liquid cell); LSTM, GRU and
            SimpleRNN do not, and read a gap as an ordinary input feature (``"none"``).
        return_sequences: a prediction for every step ``(batch, steps, out_features)``, or for
            the last ``(batch, out_features)``.
        key: seed or key of the layer's and the head's initial weights.

    >>> model = ember_nn.SequenceRegressor(2, 2, rnn={"class": "CfC", "units": 8,
    ...                                    "backbone_units": 16}, timespans="last_feature", key=0)
    >>> model(ember.ones((4, 10, 3))).shape
    (4, 10, 2)
    """

    def __init__(self, in_features: int, out_features: int, rnn: Any, *,
                 timespans: str = "none", return_sequences: bool = True,
                 key: Any = None) -> None:
        super().__init__()
        name = "SequenceRegressor"
        self.in_features = positive_int(name, "in_features", in_features)
        self.out_features = positive_int(name, "out_features", out_features)
        if timespans not in TIMESPANS:
            raise ConfigError(f"{name}: timespans must be one of {list(TIMESPANS)}, got "
                              f"{timespans!r}: \"last_feature\" reads each step's elapsed time "
                              f"from the last input feature")
        self.timespans = timespans
        if not isinstance(return_sequences, bool):
            raise ConfigError(f"{name}: return_sequences must be true or false, got "
                              f"{return_sequences!r}")
        self.return_sequences = return_sequences
        k_rnn, k_head = ember.random.split(next_key(key), 2)
        self.rnn = _recurrent(name, rnn, self.in_features, k_rnn)
        if timespans == "last_feature" and "timespans" not in inspect.signature(
                self.rnn.forward).parameters:
            raise ConfigError(f"{name}: {type(self.rnn).__name__} takes no timespans; use "
                              f"timespans = \"none\" (the gap then stays an input feature: "
                              f"in_features counts it) or a CfC/LTC layer")
        self.head = Dense(_output_features(name, self.rnn), self.out_features, key=k_head)

    @property
    def input_features(self) -> int:
        """The features per step of the model's inputs (the gap included)."""
        return self.in_features + (self.timespans == "last_feature")

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        if x.ndim != 3 or x.shape[-1] != self.input_features:
            gap = " (the last one the gap)" if self.timespans == "last_feature" else ""
            raise ember.ShapeError(
                f"SequenceRegressor: inputs must be (batch, steps, {self.input_features})"
                f"{gap}, got shape {tuple(x.shape)}")
        if self.timespans == "last_feature":
            y = self.rnn(x[:, :, :-1], timespans=x[:, :, -1])[0]
        else:
            y = self.rnn(x)[0]
        return self.head(y if self.return_sequences else y[:, -1, :])


def _recurrent(name: str, rnn: Any, in_features: int, key: Any) -> Module:
    """The recurrent layer a table describes (input size, batch first, every step), or ``rnn``
    itself once checked."""
    if isinstance(rnn, Module):
        if not getattr(rnn, "batch_first", True) or not getattr(rnn, "return_sequences", True):
            raise ConfigError(f"{name}: the recurrent layer must be batch first and return every "
                              f"step (batch_first=True, return_sequences=True); got "
                              f"{type(rnn).__name__} with batch_first="
                              f"{getattr(rnn, 'batch_first', True)}, return_sequences="
                              f"{getattr(rnn, 'return_sequences', True)}")
        return rnn
    if not isinstance(rnn, Mapping) or not isinstance(rnn.get("class"), str):
        raise ConfigError(f"{name}: rnn must be a table naming the layer, e.g. {{class = "
                          f"\"CfC\", units = 16}}, or a recurrent Module; got {rnn!r:.80}")
    given = sorted(k for k in _FILLED if k in rnn)
    if given:
        raise ConfigError(f"{name}: rnn sets {given}; leave them out: the regressor sets "
                          f"input_size = in_features, batch first and every step")
    args = {k: v for k, v in rnn.items() if k != "class"}
    if isinstance(args.get("units"), Mapping) and "class" in args["units"]:
        from ..wirings import deserialize_wiring

        wiring = dict(args["units"])
        args["units"] = deserialize_wiring({"class": wiring.pop("class"), "config": wiring})
    cls = _REGISTRY.get(rnn["class"])
    if cls is None or not hasattr(cls, "forward"):
        raise ConfigError(f"{name}: rnn class {rnn['class']!r} is not a registered layer; use "
                          f"CfC, LTC, LSTM, GRU, SimpleRNN or RNN")
    params = inspect.signature(cls.__init__).parameters
    args["input_size"] = in_features
    args["batch_first"] = True
    if "return_sequences" in params:
        args["return_sequences"] = True
    if "key" in params:
        args["key"] = key
    try:
        layer = cls(**args)
    except TypeError as e:
        raise ConfigError(f"{name}: rnn {rnn['class']}: {e}") from None
    if not isinstance(layer, Module):
        raise ConfigError(f"{name}: rnn class {rnn['class']!r} is not a layer")
    return layer


def _output_features(name: str, rnn: Module) -> int:
    """The features of the recurrent layer's output per step."""
    proj = getattr(rnn, "proj_size", None)
    if proj:
        return int(proj)
    if getattr(rnn, "output_size", None):
        return int(rnn.output_size)  # type: ignore[attr-defined]
    hidden = getattr(rnn, "hidden_size", None)
    if hidden:
        return int(hidden) * (2 if getattr(rnn, "bidirectional", False) else 1)
    raise ConfigError(f"{name}: cannot tell the output size of {type(rnn).__name__} (it has no "
                      f"proj_size, output_size or hidden_size)")
