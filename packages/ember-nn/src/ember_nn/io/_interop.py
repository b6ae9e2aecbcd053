"""``from_torch``: the ember equivalent of a ``torch.nn`` recurrent module (``RNN``, ``LSTM``,
``GRU`` and their cells), with its arguments and weights. torch is imported only when it is
called."""

from __future__ import annotations

from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from ..recurrent._gru import GRU, GRUCell
from ..recurrent._lstm import LSTM, LSTMCell
from ..recurrent._simple import SimpleRNN, SimpleRNNCell

__all__ = ["from_torch"]

_DTYPES = ("float16", "bfloat16", "float32", "float64")


def from_torch(module: Any) -> Module:
    """The ember layer of a ``torch.nn.RNN``/``LSTM``/``GRU`` (-> ``SimpleRNN``/``LSTM``/
    ``GRU``) or ``RNNCell``/``LSTMCell``/``GRUCell`` (-> ``SimpleRNNCell``/``LSTMCell``/
    ``GRUCell``): the same arguments (layers, directions, projection, dropout, batch_first,
    nonlinearity, bias), the parameters' dtype, torch's weights (copied through NumPy onto
    the default backend) and its training mode. Same inputs, same outputs and gradients.

    >>> import torch
    >>> t = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
    >>> layer = ember_nn.from_torch(t)
    >>> layer
    LSTM(3, 4, 2, batch_first=True)  # 304 parameters
    """
    import torch

    nn = torch.nn
    params = list(module.parameters()) if isinstance(module, nn.Module) else []
    dtype = ember_dtype_of(params[0].dtype) if params else None
    if dtype is ember.float32:
        dtype = None  # (the layers' default: the config and repr stay short)
    layer: Module
    if isinstance(module, nn.RNNBase):
        common: dict[str, Any] = {"bias": module.bias, "batch_first": module.batch_first,
                  "dropout": float(module.dropout), "bidirectional": module.bidirectional,
                  "dtype": dtype, "key": 0}
        if module.mode == "LSTM":
            layer = LSTM(module.input_size, module.hidden_size, module.num_layers,
                         proj_size=module.proj_size, **common)
        elif module.mode == "GRU":
            layer = GRU(module.input_size, module.hidden_size, module.num_layers, **common)
        elif module.mode in ("RNN_TANH", "RNN_RELU"):
            layer = SimpleRNN(module.input_size, module.hidden_size, module.num_layers,
                              nonlinearity=str(module.nonlinearity), **common)
        else:
            raise ConfigError(f"from_torch: unknown torch.nn.RNNBase mode {module.mode!r}")
    elif isinstance(module, nn.RNNCellBase):
        cell: dict[str, Any] = {"bias": module.bias, "dtype": dtype, "key": 0}
        if isinstance(module, nn.LSTMCell):
            layer = LSTMCell(module.input_size, module.hidden_size, **cell)
        elif isinstance(module, nn.GRUCell):
            layer = GRUCell(module.input_size, module.hidden_size, **cell)
        else:
            layer = SimpleRNNCell(module.input_size, module.hidden_size,
                                  nonlinearity=str(module.nonlinearity), **cell)
    else:
        raise ConfigError(
            f"from_torch: takes a torch.nn.RNN, LSTM or GRU (or RNNCell, LSTMCell, GRUCell), "
            f"got {type(module).__module__}.{type(module).__name__}")
    layer.load_state_dict(state_arrays(module))
    return layer.train(module.training)


def state_arrays(module: Any) -> dict[str, Any]:
    """A torch module's ``state_dict`` as NumPy arrays (``from_torch``, ``from_ncps``)."""
    return {k: _numpy(v) for k, v in module.state_dict().items()}


def ember_dtype_of(d: Any, who: str = "from_torch") -> ember.DType:
    """The ember dtype of torch dtype ``d`` (a float dtype the recurrent layers take)."""
    name = str(d).removeprefix("torch.")
    if name not in _DTYPES:
        raise ConfigError(f"{who}: parameters of dtype {d} have no ember layer; ember's "
                          f"recurrent layers take {list(_DTYPES)}")
    found: ember.DType = getattr(ember, name)
    return found


def _numpy(t: Any) -> Any:
    """A parameter as a NumPy array (bfloat16, which NumPy lacks, as float32: the layer's
    bfloat16 variables take it back exactly)."""
    import torch

    t = t.detach().cpu()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
