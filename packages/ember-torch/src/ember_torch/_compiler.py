"""ember.compile on torch: trace the function to an ATen graph, then ``torch.compile`` the graph.

``torch.compile(fn)`` on a function written in ember ops makes dynamo trace ember's own Python
(dispatch, tape bookkeeping): its guards on object identities recompile at every call, and a
training step took 90 s to compile and still ran eagerly (issue 11). ember.compile's contract
is MLX's and JAX's instead: ``fn`` is pure (tensors in, tensors out, no host reads), so it can
be traced once per input signature the way ``mx.compile`` does: ``make_fx`` with fake tensors
records the ATen ops fn runs (through ``torch.autograd`` too, so a step that takes gradients
traces its backward), and inductor compiles that graph, which has no Python left to guard.

A host read during tracing (``float(x)``, a value-dependent branch) raises under fake tensors;
``checked`` then runs fn eagerly from then on, with a warning naming the reason.

On CUDA the compiled graph is then captured as a CUDA graph (what ``torch.compile``'s
``mode="reduce-overhead"`` does): a small model's step is a hundred kernels of a few
microseconds each, and launching them one by one from Python is most of its time (a MAD
transformer step: 3.0 ms launched, far less replayed). The capture reads its inputs from static
buffers (one ``_foreach_copy_`` in) and its outputs are copied out to fresh tensors (one
``_foreach_copy_`` out), so callers see the same semantics as the uncaptured graph: inputs are
not touched and outputs stay valid after the next call. ``EMBER_TORCH_CUDA_GRAPHS=0`` turns the
capture off; a capture that fails falls back to launching the compiled graph, with a warning.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import ember
import torch

__all__ = ["Traced"]


def _signature(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return (tuple(x.shape), x.dtype, x.device, x.requires_grad)
    return (type(x), x)


class Traced:
    """``fn`` traced and compiled once per input signature (shapes, dtypes, devices)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.graphs: dict[Any, Callable[..., Any]] = {}

    @property
    def traces(self) -> int:
        """How many signatures have been traced and compiled."""
        return len(self.graphs)

    def __call__(self, *natives: Any) -> Any:
        key = tuple(_signature(x) for x in natives)
        graph = self.graphs.get(key)
        if graph is None:
            from torch.fx.experimental.proxy_tensor import make_fx

            module = make_fx(self.fn, tracing_mode="fake")(*natives)
            capture = _capturable(natives)
            if capture:
                _constants_for_capture(module)
            inductor = _Inductor(module)
            first = _captured(inductor, natives) if capture else inductor
            self.graphs[key] = first
            out = first(*natives)
            if first is inductor:  # compiled: called directly from now on
                self.graphs[key] = inductor.graph
            return out
        return graph(*natives)


#: inductor settings a graph is compiled once more with when its first compile fails: torch
#: 2.11's CUDA scheduler asserts in its loop reordering on the MAD Hyena step (an
#: ``AssertionError`` in ``reorder_loops_by_dep_pair``); these only affect fusion choices
_RETRY_OPTIONS = ("loop_ordering_after_fusion", "loop_reindexing_after_fusion")


class _Inductor:
    """``torch.compile`` of a traced graph, for its first call (inductor compiles then). If
    inductor fails to compile it, the graph is compiled once more with loop reordering off; a
    second failure propagates (ember.compile then runs the function eagerly, with a warning
    naming it). Once a call succeeds, ``Traced`` keeps ``graph`` and calls it directly."""

    def __init__(self, module: torch.fx.GraphModule) -> None:
        self.module = module
        self.graph: Callable[..., Any] = torch.compile(module, dynamic=False)
        self.retried = False

    def __call__(self, *natives: Any) -> Any:
        from torch._inductor import config
        from torch._inductor.exc import InductorError

        try:
            return self.graph(*natives)
        except InductorError:
            if self.retried:
                raise
            self.retried = True
            options: dict[str, Any] = {k: False for k in _RETRY_OPTIONS if hasattr(config, k)}
            self.graph = torch.compile(self.module, dynamic=False, options=options)
            return self.graph(*natives)


def _capturable(natives: tuple[Any, ...]) -> bool:
    """Whether a graph of these inputs can be a CUDA graph: all tensors on one CUDA device."""
    if os.environ.get("EMBER_TORCH_CUDA_GRAPHS", "1") == "0":
        return False
    devices = {x.device for x in natives if isinstance(x, torch.Tensor)}
    return len(devices) == 1 and next(iter(devices)).type == "cuda"


def _constants_for_capture(module: torch.fx.GraphModule) -> None:
    """The traced graph's host constants moved where a CUDA graph can read them.

    ``make_fx`` keeps a constant an op built on the host (a table made with NumPy, a
    ``torch.tensor`` of Python numbers) as a CPU buffer and copies it to the GPU inside the
    graph, through ``lift_fresh_copy``, whose fresh pageable copy no capture may read. A copy
    that depends on constants alone is done once here and kept on the GPU as a buffer; the
    constants left on the host are pinned, so their copies are asynchronous."""
    _fold_host_copies(module)
    for name, buf in list(module.named_buffers(recurse=False)):
        if buf.device.type == "cpu":
            module.register_buffer(name, buf.pin_memory())


def _fold_host_copies(module: torch.fx.GraphModule) -> None:
    """Replace each host-to-GPU copy in ``module``'s graph whose value depends on its
    constants alone by a buffer holding the copy's result (computed once, now). A copy whose
    result the graph later mutates in place keeps its node (each call needs a fresh one)."""
    graph, values = module.graph, {}
    folded = 0

    def value(node: torch.fx.Node) -> Any:  # the node's result, computed once
        if node not in values:
            if node.op == "get_attr":
                values[node] = getattr(module, str(node.target))
            else:
                args, kwargs = torch.fx.node.map_arg((node.args, node.kwargs), value)
                op: Any = node.target  # an aten op (``_constant`` checked)
                values[node] = op(*args, **kwargs)
        return values[node]

    for node in list(graph.nodes):
        if not (_is_device_copy(node) and _constant(node) and not _mutated(node)):
            continue
        name = f"_ember_device_constant{folded}"
        module.register_buffer(name, value(node))
        folded += 1
        with graph.inserting_before(node):
            node.replace_all_uses_with(graph.get_attr(name))
        graph.erase_node(node)
    if folded:
        graph.eliminate_dead_code()
        used = {n.target for n in graph.nodes if n.op == "get_attr"}
        for name, _ in list(module.named_buffers(recurse=False)):
            if name not in used:  # a constant only the folded copies read
                delattr(module, name)
        module.recompile()


def _is_device_copy(node: torch.fx.Node) -> bool:
    """A copy to a GPU (``_to_copy`` to a device other than the CPU) of a host tensor."""
    if node.op != "call_function" or node.target is not torch.ops.aten._to_copy.default:
        return False
    device: Any = node.kwargs.get("device")
    source: Any = node.args[0].meta.get("val") if isinstance(node.args[0], torch.fx.Node) else None
    return (device is not None and torch.device(device).type != "cpu"
            and isinstance(source, torch.Tensor) and source.device.type == "cpu")


def _constant(node: torch.fx.Node, seen: dict[torch.fx.Node, bool] | None = None) -> bool:
    """Whether ``node``'s value depends on the graph's constants alone (no input, no random
    op)."""
    seen = {} if seen is None else seen
    if node not in seen:
        if node.op == "get_attr":
            seen[node] = True
        elif (node.op != "call_function" or not isinstance(node.target, torch._ops.OpOverload)
              or torch.Tag.nondeterministic_seeded in node.target.tags):
            seen[node] = False
        else:
            seen[node] = all(_constant(a, seen) for a in node.all_input_nodes)
    return seen[node]


def _mutated(node: torch.fx.Node) -> bool:
    """Whether an op of the graph writes into ``node``'s result (or a view of it) in place."""
    for user in node.users:
        target = user.target
        if not isinstance(target, torch._ops.OpOverload):
            continue
        if target._schema.is_mutable:
            return True
        if any(r.alias_info is not None for r in target._schema.returns) and _mutated(user):
            return True
    return False


def _captured(graph: Callable[..., Any], natives: tuple[Any, ...]) -> Callable[..., Any]:
    """``graph`` as a CUDA graph replayed on copies of the inputs, or ``graph`` itself (with a
    warning) if torch cannot capture it."""
    try:
        return CapturedGraph(graph, natives)
    except Exception as e:  # any capture failure: launch the kernels instead
        torch.cuda.synchronize()
        warnings.warn(f"ember.compile: CUDA graph capture failed ({type(e).__name__}: {e}); the "
                      "compiled graph runs without it", ember.CompileWarning,
                      stacklevel=4)
        return graph


class CapturedGraph:
    """One compiled graph captured as a CUDA graph, with its static input and output buffers."""

    #: how many graphs this process has captured (the CUDA tests count them)
    count = 0

    def __init__(self, graph: Callable[..., Any], natives: tuple[Any, ...]) -> None:
        # the CUDA graph reads memory the compiled graph owns (its module's buffers: the folded
        # host constants; inductor's constants) by address: it must outlive every replay, or
        # that memory goes back to the allocator and later allocations overwrite what it reads
        self.graph = graph
        self.slots = [i for i, x in enumerate(natives) if isinstance(x, torch.Tensor)]
        self.inputs = [x.clone() if isinstance(x, torch.Tensor) else x for x in natives]
        side = torch.cuda.Stream()  # warm-up (inductor's first call compiles) off the main stream
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                graph(*self.inputs)
        torch.cuda.current_stream().wait_stream(side)
        self.cuda_graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.cuda_graph):
            outs = graph(*self.inputs)
        self.outputs = list(outs)
        self.tensor_outputs = [o for o in self.outputs if isinstance(o, torch.Tensor)]
        CapturedGraph.count += 1

    def __call__(self, *natives: Any) -> list[Any]:
        statics = [self.inputs[i] for i in self.slots]
        fresh = [natives[i] for i in self.slots]
        pairs = [(s, x) for s, x in zip(statics, fresh, strict=True) if s is not x]
        if pairs:
            torch._foreach_copy_([s for s, _ in pairs], [x for _, x in pairs])
        self.cuda_graph.replay()
        out = [torch.empty_like(o) for o in self.tensor_outputs]
        if out:
            torch._foreach_copy_(out, self.tensor_outputs)
        it = iter(out)
        return [next(it) if isinstance(o, torch.Tensor) else o for o in self.outputs]
