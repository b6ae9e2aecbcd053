"""The test-set forward pass of a compiled run, as one compiled program.

``train`` evaluates after every epoch (10 batches of the baseline's 1,280 test sequences). With
the training step compiled (``compile_step``, a CUDA graph on torch's GPUs), an eager forward
pass launches each op from Python and becomes a large part of an epoch; this runs it through
``ember.compile`` instead: the model's variables are inputs of the program (bound to the traced
values while it is traced, then given their values back), so one compilation serves every
epoch however the weights change.
"""

from __future__ import annotations

from typing import Any

import ember

__all__ = ["CompiledForward"]


class CompiledForward:
    """``forward(x)``: ``net(x)`` computed by a compiled program of the variables and ``x``."""

    def __init__(self, net: Any) -> None:
        self.net = net
        self.variables: list[ember.Variable] = list(net.variables)
        variables = self.variables

        def program(values: list[ember.Tensor], x: ember.Tensor) -> ember.Tensor:
            for v, t in zip(variables, values, strict=True):
                v.assign(t)
            out: ember.Tensor = net(x)
            return out

        program.__qualname__ = "mad_forward"
        self.program = ember.compile(program)

    def __call__(self, x: ember.Tensor) -> ember.Tensor:
        values = [ember.stop_gradient(v) for v in self.variables]
        try:
            out: ember.Tensor = self.program(values, x)
            return out
        finally:  # a trace left traced values in the variables: their own back
            for v, t in zip(self.variables, values, strict=True):
                v.assign(t)
