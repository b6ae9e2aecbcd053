"""Automatic differentiation: ``GradientTape``, ``Variable``, ``stop_gradient`` and the
functional forms (``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``vmap``).

See ``docs/gradient-tape.md`` for the API, the differences from TensorFlow, PyTorch and MLX,
how the three engines (generic, torch.autograd, MLX) work, and the protocol a backend's own
engine implements (``Engine``, ``GradientRequest``, ``Gradients``, ``Target``).
"""

from ..ops._autodiff import stop_gradient
from ._engine import Engine, GenericEngine, GradientRequest, Gradients, Target, use_tape_engine
from ._functional import grad, jvp, value_and_grad, vjp, vmap
from ._tape import GradientTape
from ._variables import Variable

__all__ = ["Engine", "GenericEngine", "GradientRequest", "GradientTape", "Gradients", "Target",
           "Variable", "grad", "jvp", "stop_gradient", "use_tape_engine", "value_and_grad", "vjp",
           "vmap"]
