"""Shared by the optimiser tests: a small quadratic model, tape gradients, and NumPy (float64)
references of torch.optim's update formulas."""

from __future__ import annotations

from typing import Any

import ember
import numpy as np
from ember_nn import Module
from ember_nn.optim import SGD, Adam, AdamW, Optimizer, RMSprop

CLASSES = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW, "RMSprop": RMSprop}

# 0.5 * sum(H * (p - T)**2) per variable: the gradient is H * (p - T)
H = {"w": np.array([[0.5, 1.0, 2.0], [1.5, 0.8, 1.2]]), "b": np.array([1.0, 3.0, 0.7])}
T = {"w": np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]), "b": np.array([0.5, -0.5, 2.0])}
P0 = {"w": np.array([[0.3, 0.1, -0.4], [0.9, -0.2, 0.6]]), "b": np.array([-1.0, 0.2, 0.1])}


class Quad(Module):
    def __init__(self, *, dtype: Any = ember.float32) -> None:
        super().__init__()
        self.w = ember.Variable(P0["w"], dtype=dtype)
        self.b = ember.Variable(P0["b"], dtype=dtype)
        self.count = ember.Variable(ember.zeros((), dtype=ember.int64), trainable=False)

    def forward(self) -> ember.Tensor:
        loss = ember.zeros((), dtype=self.w.dtype)
        for k in ("w", "b"):
            d = getattr(self, k) - ember.asarray(T[k], dtype=self.w.dtype)
            loss = loss + 0.5 * ember.sum(ember.asarray(H[k], dtype=self.w.dtype) * d * d)
        return loss


def tape_grads(model: Quad) -> dict[str, ember.Tensor]:
    with ember.GradientTape() as tape:
        loss = model()
    gw, gb = tape.gradient(loss, [model.w, model.b])
    return {"w": gw, "b": gb}


def values(model: Module) -> dict[str, np.ndarray]:
    return {k: np.asarray(v.numpy(), dtype=np.float64) for k, v in model.named_variables()
            if v.trainable}


# -- NumPy references (float64) of torch.optim's formulas ----------------------------------------
def reference_step(name: str, cfg: dict[str, Any], p: np.ndarray, g: np.ndarray,
                   st: dict[str, np.ndarray], t: int, lr: float) -> np.ndarray:
    wd = cfg.get("weight_decay", 0.01 if name == "AdamW" else 0.0)
    if name == "SGD":
        mom, damp = cfg.get("momentum", 0.0), cfg.get("dampening", 0.0)
        g = g + wd * p
        if mom:
            buf = g.copy() if "buf" not in st else mom * st["buf"] + (1 - damp) * g
            st["buf"] = buf
            g = g + mom * buf if cfg.get("nesterov", False) else buf
        return p - lr * g
    if name in ("Adam", "AdamW"):
        b1, b2, eps = cfg.get("beta1", 0.9), cfg.get("beta2", 0.999), cfg.get("eps", 1e-8)
        if name == "Adam":
            g = g + wd * p
        else:
            p = p * (1 - lr * wd)
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
        m_hat, v_hat = st["m"] / (1 - b1 ** t), st["v"] / (1 - b2 ** t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)
    alpha, eps, mom = cfg.get("alpha", 0.99), cfg.get("eps", 1e-8), cfg.get("momentum", 0.0)
    g = g + wd * p
    st["sq"] = alpha * st.get("sq", 0.0) + (1 - alpha) * g * g
    if cfg.get("centered", False):
        st["ga"] = alpha * st.get("ga", 0.0) + (1 - alpha) * g
        avg = np.sqrt(st["sq"] - st["ga"] ** 2) + eps
    else:
        avg = np.sqrt(st["sq"]) + eps
    if mom:
        st["buf"] = mom * st.get("buf", 0.0) + g / avg
        return p - lr * st["buf"]
    return p - lr * g / avg


def reference_clip(grads: dict[str, np.ndarray], max_norm: float) -> tuple[dict, float]:
    norm = float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads.values())))
    scale = min(1.0, max_norm / (norm + 1e-6))
    return {k: g * scale for k, g in grads.items()}, norm


def reference_run(name: str, cfg: dict[str, Any], steps: int,
                  lr_at: Any = None) -> dict[str, np.ndarray]:
    p = {k: v.astype(np.float64) for k, v in P0.items()}
    states: dict[str, dict[str, np.ndarray]] = {k: {} for k in p}
    for t in range(1, steps + 1):
        lr = cfg["learning_rate"] if lr_at is None else lr_at(t - 1)
        g = {k: H[k] * (p[k] - T[k]) for k in p}
        if cfg.get("clip_norm") is not None:
            g, _ = reference_clip(g, cfg["clip_norm"])
        p = {k: reference_step(name, cfg, p[k], g[k], states[k], t, lr) for k in p}
    return p


CASES = [
    ("SGD", {"learning_rate": 0.1}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.01}),
    ("Adam", {"learning_rate": 0.05}),
    ("Adam", {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-3,
              "weight_decay": 0.1}),
    ("AdamW", {"learning_rate": 0.05}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.3, "beta2": 0.9}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.01, "alpha": 0.9, "momentum": 0.5}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.9,
                 "weight_decay": 0.05}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "clip_norm": 0.5}),
    ("Adam", {"learning_rate": 0.05, "clip_norm": 1.0}),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in c.items() if k != 'learning_rate') or 'plain'}"
       for n, c in CASES]


def make(name: str, cfg: dict[str, Any]) -> Optimizer:
    return CLASSES[name](**cfg)


def run(opt: Optimizer, model: Quad, steps: int) -> None:
    for _ in range(steps):
        opt.update(model, tape_grads(model))


def training_step(model: Module, loss_fn: Any, opt: Optimizer, compiled: bool) -> Any:
    """``step(x, y) -> loss``: ``compile_step``'s, or the eager ``value_and_grad`` + update."""
    import ember_nn

    if compiled:
        return ember_nn.compile_step(model, loss_fn, opt)
    vg = ember_nn.value_and_grad(model, loss_fn)

    def step(x: Any, y: Any) -> Any:
        loss, grads = vg(x, y)
        opt.update(model, grads)
        return loss

    return step
