"""ember-torch's compiler: host constants that a CUDA graph could not read are folded into GPU
buffers before capture (checked on fake CUDA tensors, which need no GPU; the numbers are checked
on the GPU in ember-nn's ``test_compile_step_cuda.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ember_torch._compiler import _fold_host_copies
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.proxy_tensor import make_fx

TABLE = np.arange(4.0, dtype=np.float32)
# (tensors of more than one element: make_fx computes one-element constants itself while
# tracing, which needs a real GPU)


def _trace(fn):  # type: ignore[no-untyped-def]
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    with mode:
        x = torch.empty(4, device="cuda")
    return make_fx(fn, tracing_mode="fake")(x), mode


def _copies(module: torch.fx.GraphModule) -> list[torch.fx.Node]:
    return [n for n in module.graph.nodes if n.target is torch.ops.aten._to_copy.default]


def test_a_constant_copied_to_the_gpu_becomes_a_gpu_buffer() -> None:
    def fn(x):  # type: ignore[no-untyped-def]
        return x * torch.from_numpy(TABLE).to(x.device) + torch.tensor([2.0, 3.0, 4.0, 5.0]).to(x.device)

    module, mode = _trace(fn)
    assert len(_copies(module)) == 2  # what make_fx gives: host constants copied in the graph
    with mode:
        _fold_host_copies(module)
    assert _copies(module) == []
    kept = dict(module.named_buffers())
    assert sorted(kept) == ["_ember_device_constant0", "_ember_device_constant1"]
    assert all(b.device.type == "cuda" for b in kept.values())
    assert not [n for n in module.graph.nodes
                if n.target is torch.ops.aten.lift_fresh_copy.default]  # dead, removed


def test_copies_of_inputs_and_of_mutated_results_stay() -> None:
    def fn(x):  # type: ignore[no-untyped-def]
        fresh = torch.from_numpy(TABLE).to(x.device)
        fresh.add_(x)  # written in place: every call needs its own copy
        return fresh + x.cpu().to(x.device)

    module, mode = _trace(fn)
    before = len(_copies(module))
    with mode:
        _fold_host_copies(module)
    assert len(_copies(module)) == before
    assert not [name for name, _ in module.named_buffers() if name.startswith("_ember_device")]


def test_random_constants_are_not_folded() -> None:
    def fn(x):  # type: ignore[no-untyped-def]
        return x + torch.rand(4).to(x.device)

    module, mode = _trace(fn)
    with mode:
        _fold_host_copies(module)
    assert len(_copies(module)) == 1


@pytest.mark.parametrize("n", [1, 3])
def test_folding_keeps_the_graph_valid(n: int) -> None:
    def fn(x):  # type: ignore[no-untyped-def]
        out = x
        for i in range(n):
            out = out * torch.full((4,), float(i + 2)).to(x.device)
        return out

    module, mode = _trace(fn)
    with mode:
        _fold_host_copies(module)
        module.graph.lint()
        out = module(torch.empty(4, device="cuda"))
    assert out.shape == (4,) and out.device.type == "cuda"
    assert len(dict(module.named_buffers())) == n


def test_a_captured_graph_keeps_the_compiled_graph_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CUDA graph reads the compiled graph's constants (the folded buffers above) by
    address, so the capture must keep the compiled graph, which owns them, alive for as long as
    it replays. Before this, it kept nothing: the folded constants were freed after the first
    call and their memory reused, and the MAD grid's steps read whatever came to live there.
    The CUDA calls are stood in for (no GPU needed): only the ownership is checked here."""
    import gc
    import weakref

    from ember_torch import _compiler

    class _Stream:
        def wait_stream(self, other: object) -> None:
            pass

    class _Graph:
        def replay(self) -> None:
            pass

    class _Context:
        def __init__(self, *args: object) -> None:
            pass

        def __enter__(self) -> None:
            pass

        def __exit__(self, *exc: object) -> None:
            pass

    monkeypatch.setattr(torch.cuda, "Stream", _Stream)
    monkeypatch.setattr(torch.cuda, "current_stream", _Stream)
    monkeypatch.setattr(torch.cuda, "stream", _Context)
    monkeypatch.setattr(torch.cuda, "graph", _Context)
    monkeypatch.setattr(torch.cuda, "CUDAGraph", _Graph)

    class Compiled:  # stands in for _Inductor: owns a constant the kernels read
        def __init__(self) -> None:
            self.constant = torch.arange(4.0)

        def __call__(self, x: torch.Tensor) -> list[torch.Tensor]:
            return [x * self.constant]

    compiled = Compiled()
    alive = weakref.ref(compiled)
    captured = _compiler.CapturedGraph(compiled, (torch.ones(4),))
    del compiled
    gc.collect()
    assert alive() is not None, "the compiled graph (and its constants) was freed after capture"
    assert captured.graph is alive()
