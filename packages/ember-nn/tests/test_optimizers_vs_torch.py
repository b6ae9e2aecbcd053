"""Every optimiser variant against torch.optim, step by step (6 steps), on every backend, in
float32 and in float16/bfloat16 where the backend has them: the fused update ops (torch's fused
kernels, MLX's compiled function, the composite on NumPy) keep torch.optim's formulas."""

from __future__ import annotations

from typing import Any

import ember
import numpy as np
import pytest
from optim_support import make

VARIANTS = [
    ("SGD", {"learning_rate": 0.05}),
    ("SGD", {"learning_rate": 0.05, "weight_decay": 0.1}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.5, "dampening": 0.2}),
    ("Adam", {"learning_rate": 0.02}),
    ("Adam", {"learning_rate": 0.02, "beta1": 0.85, "beta2": 0.99, "weight_decay": 0.05}),
    ("AdamW", {"learning_rate": 0.02}),
    ("AdamW", {"learning_rate": 0.02, "weight_decay": 0.2}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.01, "alpha": 0.9, "weight_decay": 0.1}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.9, "weight_decay": 0.1}),
]
SHAPES = {"w": (4, 3), "b": (3,), "s": ()}
#: (rtol, atol) after 6 steps: the composite rounds each op to the half dtype where torch's
#: for-loop may keep a product in float32, so the two differ by a few of the dtype's ulps
TOL = {"float32": (1e-5, 1e-6), "float16": (2e-2, 4e-3), "bfloat16": (5e-2, 3e-2)}


def torch_kwargs(name: str, cfg: dict[str, Any], fused: bool = False) -> dict[str, Any]:
    out = {k: v for k, v in cfg.items() if k not in ("learning_rate", "beta1", "beta2")}
    out["lr"] = cfg["learning_rate"]
    if name in ("Adam", "AdamW"):
        out["betas"] = (cfg.get("beta1", 0.9), cfg.get("beta2", 0.999))
        out.setdefault("weight_decay", 0.01 if name == "AdamW" else 0.0)
    # ember's torch backend runs torch's fused kernels (which compute half precision in
    # float32, where the for-loop underflows (1 - beta2) * g * g in float16): compare with them
    return {**out, "fused": True} if fused and name != "RMSprop" else {**out, "foreach": False}


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize(("name", "cfg"), VARIANTS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(VARIANTS)])
def test_every_variant_matches_torch_optim(backend: str, name: str, cfg: dict[str, Any],
                                           dtype: str) -> None:
    torch = pytest.importorskip("torch")
    d = getattr(ember, dtype)
    if d not in ember.load_backend(backend).to_native_dtype:
        pytest.skip(f"{backend} has no {dtype}")  # (NumPy: bfloat16 is a clear error there)
    cfg = dict(cfg)
    if dtype != "float32" and name != "SGD":
        cfg["eps"] = 1e-3  # 1e-8 is 0 in float16 (ember refuses it: see test_optimizer_state)
    rng = np.random.default_rng(3)
    p0 = {k: rng.standard_normal(s).astype(np.float32) for k, s in SHAPES.items()}
    grads = [{k: rng.standard_normal(s).astype(np.float32) for k, s in SHAPES.items()}
             for _ in range(6)]
    td = getattr(torch, dtype)
    tp = {k: torch.tensor(v).to(td).requires_grad_() for k, v in p0.items()}
    topt = getattr(torch.optim, name)(list(tp.values()), **torch_kwargs(name, cfg,
                                                                         backend == "torch"))
    variables = {k: ember.Variable(ember.astype(ember.asarray(v), d)) for k, v in p0.items()}
    opt = make(name, cfg)
    tol = TOL[dtype]
    for t, g in enumerate(grads):
        for k, p in tp.items():
            p.grad = torch.tensor(g[k]).to(td)
        topt.step()
        opt.apply([(k, v, ember.astype(ember.asarray(g[k]), d)) for k, v in variables.items()])
        for k, p in tp.items():
            got = np.asarray(ember.astype(variables[k], ember.float32).numpy())
            want = p.detach().float().numpy()
            np.testing.assert_allclose(got, want, rtol=tol[0], atol=tol[1],
                                       err_msg=f"{k} after step {t + 1}")
    slots = opt.state_dict()["slots"]
    for k, p in tp.items():  # the slots are torch's, by name and value
        tstate = topt.state[p]
        for n, s in slots[k].items():
            np.testing.assert_allclose(np.asarray(ember.astype(s, ember.float32).numpy()),
                                       tstate[n].float().numpy(), rtol=tol[0] * 10,
                                       atol=tol[1] * 10, err_msg=f"{k}.{n}")
