"""Shared by the liquid-network tests: run an ncps torch module and its ember conversion on the
same inputs and collect outputs, final states and the gradients of one scalar loss (a fixed
random weighting of the outputs and states) with respect to the inputs and every weight."""

from __future__ import annotations

from typing import Any

import ember
import numpy as np

#: float32 tolerance of the parity tests (the issue's 1e-5)
RTOL = ATOL = 1e-5


def _states(hx: Any) -> list[Any]:
    return list(hx) if isinstance(hx, tuple | list) else [hx]


def _weights(shapes: list[tuple[int, ...]], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def torch_run(module: Any, x: np.ndarray, timespans: np.ndarray | None = None,
              hx: Any = None, seed: int = 7) -> dict[str, Any]:
    """ncps's output, final state(s), and gradients w.r.t. ``x`` and every parameter."""
    import torch

    xt = torch.tensor(x, requires_grad=True)
    ts = None if timespans is None else torch.tensor(timespans)
    h0 = None if hx is None else (tuple(torch.tensor(h) for h in hx) if isinstance(hx, tuple)
                                  else torch.tensor(hx))
    module.zero_grad()
    y, h = module(xt, h0, ts)
    states = _states(h)
    ry, *rs = _weights([tuple(y.shape)] + [tuple(s.shape) for s in states], seed)
    loss = (y * torch.tensor(ry)).sum() + sum((s * torch.tensor(r)).sum()
                                              for s, r in zip(states, rs, strict=True))
    loss.backward()
    return {"y": y.detach().numpy(), "h": [s.detach().numpy() for s in states],
            "gx": xt.grad.numpy(),
            "gw": {k: p.grad.numpy() for k, p in module.named_parameters() if p.requires_grad}}


def torch_run_per_sample(module: Any, x: np.ndarray, timespans: np.ndarray,
                         batch_first: bool = True, hx: Any = None, seed: int = 7
                         ) -> dict[str, Any]:
    """``torch_run`` one sample at a time (ncps's batch-of-one path, where its timespans work),
    the results put back together: outputs and states stacked, gradients of the summed loss."""
    import torch

    axis = 0 if batch_first else 1
    batch = x.shape[axis]
    ts = timespans
    if ts.ndim == 1:  # one span per sample: the same at every step
        ts = np.broadcast_to(ts[:, None] if batch_first else ts[None, :], x.shape[:2])
    runs = []
    for b in range(batch):
        xb = np.take(x, [b], axis=axis)
        tb = np.take(ts, [b], axis=axis)
        hb = None if hx is None else (tuple(h[b:b + 1] for h in hx) if isinstance(hx, tuple)
                                      else hx[b:b + 1])
        xt = torch.tensor(np.ascontiguousarray(xb), requires_grad=True)
        h0 = None if hb is None else (tuple(torch.tensor(v) for v in hb)
                                      if isinstance(hb, tuple) else torch.tensor(hb))
        y, h = module(xt, h0, torch.tensor(np.ascontiguousarray(tb)))
        runs.append((xt, y, _states(h)))
    ys = torch.cat([r[1] for r in runs], dim=axis if runs[0][1].ndim == 3 else 0)
    states = [torch.cat([r[2][i] for r in runs], dim=0) for i in range(len(runs[0][2]))]
    ry, *rs = _weights([tuple(ys.shape)] + [tuple(s.shape) for s in states], seed)
    module.zero_grad()
    loss = (ys * torch.tensor(ry)).sum() + sum((s * torch.tensor(r)).sum()
                                               for s, r in zip(states, rs, strict=True))
    loss.backward()
    return {"y": ys.detach().numpy(), "h": [s.detach().numpy() for s in states],
            "gx": np.concatenate([r[0].grad.numpy() for r in runs], axis=axis),
            "gw": {k: p.grad.numpy() for k, p in module.named_parameters() if p.requires_grad}}


def ember_run(model: Any, x: np.ndarray, timespans: Any = None, hx: Any = None,
              seed: int = 7) -> dict[str, Any]:
    """``torch_run`` for an ember model (the tape of the current backend)."""
    xt = ember.tensor(x)
    ts = None if timespans is None else (ember.tensor(timespans)
                                         if isinstance(timespans, np.ndarray) else timespans)
    h0 = None if hx is None else (tuple(ember.tensor(h) for h in hx) if isinstance(hx, tuple)
                                  else ember.tensor(hx))
    names = list(model.named_trainable_variables())
    with ember.GradientTape() as tape:
        tape.watch(xt)
        y, h = model(xt, h0, ts)
        states = _states(h)
        ry, *rs = _weights([tuple(y.shape)] + [tuple(s.shape) for s in states], seed)
        loss = ember.sum(y * ember.tensor(ry))
        for s, r in zip(states, rs, strict=True):
            loss = loss + ember.sum(s * ember.tensor(r))
    grads = tape.gradient(loss, [xt, *model.trainable_variables])
    return {"y": y.numpy(), "h": [s.numpy() for s in states], "gx": grads[0].numpy(),
            "gw": {n: g.numpy() for n, g in zip(names, grads[1:], strict=True)}}


def assert_same(got: dict[str, Any], want: dict[str, Any], rtol: float = RTOL,
                atol: float = ATOL) -> None:
    """Outputs, states and every gradient equal within float32 tolerances; the same names."""
    np.testing.assert_allclose(got["y"], want["y"], rtol=rtol, atol=atol, err_msg="output")
    assert len(got["h"]) == len(want["h"])
    for i, (g, w) in enumerate(zip(got["h"], want["h"], strict=True)):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"state {i}")
    np.testing.assert_allclose(got["gx"], want["gx"], rtol=rtol, atol=atol,
                               err_msg="gradient w.r.t. the input")
    assert sorted(got["gw"]) == sorted(want["gw"])
    for k in want["gw"]:
        np.testing.assert_allclose(got["gw"][k], want["gw"][k], rtol=rtol, atol=atol,
                                   err_msg=f"gradient w.r.t. {k}")
