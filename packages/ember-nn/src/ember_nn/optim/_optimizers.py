"""The optimisers: SGD, Adam, AdamW and RMSprop, with torch.optim's update formulas.

Each step is one call of the fused update op (``ember.nn.sgd_update``, ``adam_update``,
``rmsprop_update``) per group of variables, which keeps ``torch.optim``'s formulas (its
single-tensor implementation; the ops' docstrings give them, including Adam's half-precision
form); the slot names are torch's (``exp_avg``, ``exp_avg_sq``, ``momentum_buffer``,
``square_avg``, ``grad_avg``). A hyperparameter that is 0 in a variable's dtype (``eps=1e-8``
in float16) is refused with a ConfigError at that variable's first update, rather than giving
0/0 for a zero gradient.

See ``_base`` for what every optimiser shares (slots, schedules, clipping, state dicts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ember

from .._core._errors import ConfigError
from ._base import Optimizer, registry
from ._checks import _real
from ._schedules import Schedule

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "deserialize", "registered",
           "serialize"]

Tensor = ember.Tensor


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight
    decay (``torch.optim.SGD``): with ``g = grad + weight_decay * p``,
    ``buf = g`` at the first update and ``buf = momentum * buf + (1 - dampening) * g`` after,
    ``g = g + momentum * buf`` (Nesterov) or ``buf``, and ``p -= lr * g``.

    >>> w = ember.Variable([1.0, 2.0])
    >>> opt = SGD(0.1, momentum=0.9)
    >>> opt.apply([("w", w, ember.tensor([1.0, 1.0]))])
    >>> opt.apply([("w", w, ember.tensor([1.0, 1.0]))])
    >>> [round(x, 4) for x in w.tolist()]
    [0.71, 1.71]
    """

    def __init__(self, learning_rate: float | Schedule, *, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0, dampening: float = 0.0,
                 clip_norm: float | None = None) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clip_norm=clip_norm)
        self.momentum = momentum
        self.nesterov = nesterov
        self.dampening = dampening
        self._refresh()

    def _validate(self) -> None:
        super()._validate()
        _real(self, "momentum", self.momentum)
        _real(self, "dampening", self.dampening, hi=1.0, hi_open=False)
        if not isinstance(self.nesterov, bool):
            raise ConfigError(f"SGD: nesterov must be True or False, got {self.nesterov!r}")
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ConfigError(f"SGD: nesterov=True needs momentum > 0 and dampening == 0, got "
                              f"momentum={self.momentum!r}, dampening={self.dampening!r}")

    def _fixed_scalars(self) -> dict[str, float]:
        return {"weight_decay": self.weight_decay, "momentum": self.momentum,
                "1 - dampening": 1.0 - self.dampening}

    def _slot_names(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.momentum != 0 else ()

    def _missing_slot(self, name: str, p: Tensor) -> Tensor | None:
        return None  # torch's rule: the first update sets buf = g

    def _group_update(self, params: list[Tensor], grads: list[Tensor],
                      slots: dict[str, list[Any]], lr: Any, step: Any,
                      ) -> tuple[list[Tensor], dict[str, list[Tensor]]]:
        p, bufs = ember.nn.sgd_update(
            params, grads, slots.get("momentum_buffer"), lr=lr, momentum=self.momentum,
            dampening=self.dampening, nesterov=self.nesterov, weight_decay=self.weight_decay,
            donate=True)
        return p, {} if bufs is None else {"momentum_buffer": bufs}


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``): ``m = beta1 * m + (1 - beta1) * g``,
    ``v = beta2 * v + (1 - beta2) * g * g``, ``p -= lr * m_hat / (sqrt(v_hat) + eps)`` with
    bias-corrected ``m_hat = m / (1 - beta1**t)``, ``v_hat = v / (1 - beta2**t)``; ``weight_decay``
    is L2, added to the gradient (``g = grad + weight_decay * p``; see AdamW for decoupled).

    >>> w = ember.Variable([1.0, -1.0])
    >>> opt = Adam(0.1)
    >>> opt.apply([("w", w, ember.tensor([0.5, -2.0]))])
    >>> [round(x, 4) for x in w.tolist()]   # the first step moves each entry by about lr
    [0.9, -0.9]
    """

    def __init__(self, learning_rate: float | Schedule = 1e-3, *, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
                 clip_norm: float | None = None) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clip_norm=clip_norm)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self._refresh()

    def _validate(self) -> None:
        super()._validate()
        _real(self, "beta1", self.beta1, hi=1.0)
        _real(self, "beta2", self.beta2, hi=1.0)
        _real(self, "eps", self.eps)

    def _fixed_scalars(self) -> dict[str, float]:
        return {"weight_decay": self.weight_decay, "1 - beta1": 1.0 - self.beta1,
                "beta2": self.beta2, "1 - beta2": 1.0 - self.beta2, "eps": self.eps}

    def _slot_names(self) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    def _new_slots(self, p: Tensor) -> dict[str, Tensor]:
        return {"exp_avg": ember.zeros_like(p), "exp_avg_sq": ember.zeros_like(p)}

    _decoupled = False

    def _group_update(self, params: list[Tensor], grads: list[Tensor],
                      slots: dict[str, list[Any]], lr: Any, step: Any,
                      ) -> tuple[list[Tensor], dict[str, list[Tensor]]]:
        p, m, v = ember.nn.adam_update(
            params, grads, slots["exp_avg"], slots["exp_avg_sq"], lr=lr, step=step,
            beta1=self.beta1, beta2=self.beta2, eps=self.eps, weight_decay=self.weight_decay,
            decoupled_weight_decay=self._decoupled, donate=True)
        return p, {"exp_avg": m, "exp_avg_sq": v}


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``): ``p *= 1 - lr * weight_decay``
    before Adam's step, which itself has no L2 term.

    >>> w = ember.Variable([1.0])
    >>> opt = AdamW(0.1, weight_decay=0.5)
    >>> opt.apply([("w", w, ember.tensor([0.0]))])   # no gradient: only the decay acts
    >>> round(w.item(), 4)
    0.95
    """

    def __init__(self, learning_rate: float | Schedule = 1e-3, *, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.01,
                 clip_norm: float | None = None) -> None:
        super().__init__(learning_rate, beta1=beta1, beta2=beta2, eps=eps,
                         weight_decay=weight_decay, clip_norm=clip_norm)

    _decoupled = True


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``): with ``g = grad + weight_decay * p``,
    ``sq = alpha * sq + (1 - alpha) * g * g``; centred: ``ga = alpha * ga + (1 - alpha) * g``
    and ``avg = sqrt(sq - ga * ga) + eps``, else ``avg = sqrt(sq) + eps``; with momentum
    ``buf = momentum * buf + g / avg`` and ``p -= lr * buf``, else ``p -= lr * g / avg``.

    >>> w = ember.Variable([1.0])
    >>> opt = RMSprop(0.01, alpha=0.9)
    >>> opt.apply([("w", w, ember.tensor([2.0]))])   # sq = 0.4, so p -= 0.01 * 2 / sqrt(0.4)
    >>> round(w.item(), 4)
    0.9684
    """

    def __init__(self, learning_rate: float | Schedule, *, alpha: float = 0.99,
                 eps: float = 1e-8, momentum: float = 0.0, centered: bool = False,
                 weight_decay: float = 0.0, clip_norm: float | None = None) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clip_norm=clip_norm)
        self.alpha = alpha
        self.eps = eps
        self.momentum = momentum
        self.centered = centered
        self._refresh()

    def _validate(self) -> None:
        super()._validate()
        _real(self, "alpha", self.alpha, hi=1.0, hi_open=False)
        _real(self, "eps", self.eps)
        _real(self, "momentum", self.momentum)
        if not isinstance(self.centered, bool):
            raise ConfigError(f"RMSprop: centered must be True or False, got {self.centered!r}")

    def _fixed_scalars(self) -> dict[str, float]:
        return {"weight_decay": self.weight_decay, "alpha": self.alpha,
                "1 - alpha": 1.0 - self.alpha, "eps": self.eps, "momentum": self.momentum}

    def _slot_names(self) -> tuple[str, ...]:
        return (("square_avg",) + (("momentum_buffer",) if self.momentum > 0 else ())
                + (("grad_avg",) if self.centered else ()))

    def _new_slots(self, p: Tensor) -> dict[str, Tensor]:
        return {k: ember.zeros_like(p) for k in self._slot_names()}

    def _group_update(self, params: list[Tensor], grads: list[Tensor],
                      slots: dict[str, list[Any]], lr: Any, step: Any,
                      ) -> tuple[list[Tensor], dict[str, list[Tensor]]]:
        p, sq, bufs, ga = ember.nn.rmsprop_update(
            params, grads, slots["square_avg"], slots.get("momentum_buffer"),
            slots.get("grad_avg"), lr=lr, alpha=self.alpha, eps=self.eps,
            weight_decay=self.weight_decay, momentum=self.momentum, centered=self.centered,
            donate=True)
        out = {"square_avg": sq}
        if bufs is not None:
            out["momentum_buffer"] = bufs
        if ga is not None:
            out["grad_avg"] = ga
        return p, out


# -- JSON --------------------------------------------------------------------------------------
def registered() -> dict[str, type[Optimizer]]:
    """Every Optimizer subclass by the name ``serialize`` writes (a copy)."""
    return dict(registry())


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class": name, "config": optimizer.get_config()}``: JSON-able (hyperparameters only;
    the slots are in ``state_dict()``).

    >>> serialize(ember_nn.SGD(0.1, momentum=0.9))["config"]["momentum"]
    0.9
    """
    if not isinstance(optimizer, Optimizer):
        raise ConfigError(f"serialize: expected an ember_nn optimiser, got "
                          f"{type(optimizer).__name__}")
    return {"class": optimizer.config_name, "config": optimizer.get_config()}


def deserialize(data: Mapping[str, Any]) -> Optimizer:
    """The optimiser ``serialize`` described (fresh: load slots with ``load_state_dict``).

    >>> deserialize({"class": "Adam", "config": {"learning_rate": 0.01}}).learning_rate
    0.01
    """
    if not isinstance(data, Mapping) or "class" not in data or "config" not in data:
        raise ConfigError(f"deserialize: expected {{'class': ..., 'config': {{...}}}} for an "
                          f"optimiser, got {data!r:.80}")
    cls = registry().get(data["class"])
    if cls is None:
        raise ConfigError(f"deserialize: no optimiser class named {data['class']!r} is "
                          f"registered (known: {sorted(registry())})")
    return cls.from_config(data["config"])
