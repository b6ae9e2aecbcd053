"""``from_ncps``: the ember equivalent of an ncps (``ncps.torch``) module, with its weights and
wiring. torch and ncps are imported only when it is called."""

from __future__ import annotations

from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from ..recurrent._cfc import CfC
from ..recurrent._cfc_cell import CfCCell
from ..recurrent._liquid_support import BACKBONE_ACTIVATIONS
from ..recurrent._ltc import LTC, LTCCell
from ..recurrent._wired_cfc import WiredCfCCell
from ..wirings import NCP, AutoNCP, FullyConnected, Random, Wiring
from ._interop import ember_dtype_of, state_arrays

__all__ = ["from_ncps", "wiring_from_ncps"]

#: ember's wiring class and constructor arguments (ember name, ncps attribute) per ncps class
_WIRING_ARGS: dict[str, tuple[type[Wiring], tuple[tuple[str, str], ...]]] = {
    "AutoNCP": (AutoNCP, (("units", "units"), ("output_size", "_output_size"),
                          ("sparsity_level", "_sparsity_level"), ("seed", "_seed"))),
    "NCP": (NCP, (("inter_neurons", "_num_inter_neurons"),
                  ("command_neurons", "_num_command_neurons"),
                  ("motor_neurons", "_num_motor_neurons"), ("sensory_fanout", "_sensory_fanout"),
                  ("inter_fanout", "_inter_fanout"),
                  ("recurrent_command_synapses", "_recurrent_command_synapses"),
                  ("motor_fanin", "_motor_fanin"))),
    "FullyConnected": (FullyConnected, (("units", "units"), ("output_dim", "output_dim"),
                                        ("erev_init_seed", "_erev_init_seed"),
                                        ("self_connections", "self_connections"))),
    "Random": (Random, (("units", "units"), ("output_dim", "output_dim"),
                        ("sparsity_level", "sparsity_level"), ("random_seed", "_random_seed"))),
}


def _ints(m: Any) -> list[list[int]] | None:
    return None if m is None else [[int(v) for v in row] for row in m.tolist()]


def wiring_from_ncps(wiring: Any) -> Wiring:
    """The ember wiring of an ``ncps.wirings.Wiring``: the same class and arguments where ember
    has the class, and ncps's matrices, input and output sizes as they are (synapses added by
    hand included)."""
    import ncps.wirings

    if not isinstance(wiring, ncps.wirings.Wiring):
        raise ConfigError(f"wiring_from_ncps: expected an ncps.wirings.Wiring, got "
                          f"{type(wiring).__name__}")
    matrices = {"input_dim": wiring.input_dim, "adjacency_matrix": _ints(wiring.adjacency_matrix),
                "sensory_adjacency_matrix": _ints(wiring.sensory_adjacency_matrix)}
    known = _WIRING_ARGS.get(type(wiring).__name__)
    if known is None or not isinstance(wiring, getattr(ncps.wirings, type(wiring).__name__)):
        if wiring.num_layers != 1:
            raise ConfigError(f"wiring_from_ncps: {type(wiring).__name__} is not an ncps wiring "
                              f"ember knows (AutoNCP, NCP, FullyConnected, Random, Wiring) and "
                              f"has {wiring.num_layers} layers; build it as an ember wiring")
        out = Wiring.from_config({"units": wiring.units, "output_dim": wiring.output_dim,
                                  **matrices})
        return out
    cls, args = known
    config = {mine: getattr(wiring, theirs) for mine, theirs in args}
    if cls is NCP:
        config["motor_neurons"] = len(wiring._motor_neurons)
        config["command_neurons"] = len(wiring._command_neurons)
        config["inter_neurons"] = len(wiring._inter_neurons)
    return cls.from_config({**config, **matrices})


def _activation(cell: Any) -> str:
    """The name of an ncps CfCCell's backbone activation (ncps keeps no name)."""
    if cell.backbone is None:
        return "lecun_tanh"
    act = type(cell.backbone[1]).__name__
    names = {"LeCun": "lecun_tanh", "SiLU": "silu", "ReLU": "relu", "Tanh": "tanh",
             "GELU": "gelu"}
    if act not in names or names[act] not in BACKBONE_ACTIVATIONS:
        raise ConfigError(f"from_ncps: unknown backbone activation {act}")
    return names[act]


def _cfc_cell_args(cell: Any) -> dict[str, Any]:
    import torch

    dropout = [m.p for m in (cell.backbone or []) if isinstance(m, torch.nn.Dropout)]
    return {"mode": cell.mode, "backbone_activation": _activation(cell),
            "backbone_units": cell.backbone[0].out_features if cell.backbone is not None else 0,
            "backbone_layers": cell.backbone_layers,
            "backbone_dropout": float(dropout[0]) if dropout else 0.0}


def _dtype(module: Any) -> ember.DType:
    dtypes = {p.dtype for p in module.parameters() if p.dtype.is_floating_point}
    if len(dtypes) > 1:
        raise ConfigError(f"from_ncps: the module's parameters mix dtypes {sorted(map(str, dtypes))}"
                          f"; cast it with module.to(dtype) first")
    return ember_dtype_of(dtypes.pop(), "from_ncps") if dtypes else ember.float32


def from_ncps(module: Any, *, backend: str | None = None, device: str | None = None) -> Module:
    """The ember module equivalent to an ncps torch module, with its weights: ``CfC`` (plain or
    wired, any mode, mixed memory, projection), ``LTC``, ``CfCCell``, ``WiredCfCCell`` or
    ``LTCCell``, its wiring converted (:func:`wiring_from_ncps`), its dtype kept, in training
    or eval mode as it is. The weights go to ``backend``/``device`` (the default backend when
    None). Needs torch and ncps.

    >>> import ncps.torch  # doctest: +SKIP
    >>> model = ember_nn.from_ncps(ncps.torch.CfC(3, 8))  # doctest: +SKIP
    """
    import ncps.torch as nt

    dtype = _dtype(module)
    if isinstance(module, nt.CfC):
        units = module.wiring_or_units
        cell = module.rnn_cell
        common = {"proj_size": module.proj_size, "return_sequences": module.return_sequences,
                  "batch_first": module.batch_first, "mixed_memory": module.use_mixed}
        if isinstance(units, int):
            args = _cfc_cell_args(cell)
            out: Module = CfC(module.input_size, units, **common, mode=args["mode"],
                              activation=args["backbone_activation"],
                              backbone_units=args["backbone_units"] or 128,
                              backbone_layers=args["backbone_layers"],
                              backbone_dropout=args["backbone_dropout"], dtype=dtype)
        else:
            out = CfC(module.input_size, wiring_from_ncps(units), **common,
                      mode=cell._layers[0].mode, dtype=dtype)
    elif isinstance(module, nt.LTC):
        cell = module.rnn_cell
        out = LTC(module.input_size, wiring_from_ncps(module._wiring),
                  return_sequences=module.return_sequences, batch_first=module.batch_first,
                  mixed_memory=module.use_mixed, **_ltc_args(cell), dtype=dtype)
    elif isinstance(module, nt.LTCCell):
        out = LTCCell(wiring_from_ncps(module._wiring), None, **_ltc_args(module), dtype=dtype)
    elif isinstance(module, nt.WiredCfCCell):
        out = WiredCfCCell(None, wiring_from_ncps(module._wiring), module._layers[0].mode,
                           dtype=dtype)
    elif isinstance(module, nt.CfCCell):
        mask = None if module.sparsity_mask is None else (
            module.sparsity_mask.detach().cpu().T.tolist())
        out = CfCCell(module.input_size, module.hidden_size, **_cfc_cell_args(module),
                      sparsity_mask=mask, dtype=dtype)
    else:
        raise ConfigError(f"from_ncps: expected an ncps.torch CfC, LTC, CfCCell, WiredCfCCell "
                          f"or LTCCell, got {type(module).__module__}.{type(module).__name__}")
    state = state_arrays(module)
    if backend is not None or device is not None:
        out.to(backend, device=device)
    out.load_state_dict(state)
    out.train(module.training)
    return out


def _ltc_args(cell: Any) -> dict[str, Any]:
    return {"input_mapping": cell._input_mapping, "output_mapping": cell._output_mapping,
            "ode_unfolds": cell._ode_unfolds, "epsilon": cell._epsilon,
            "implicit_param_constraints": cell._implicit_param_constraints}
