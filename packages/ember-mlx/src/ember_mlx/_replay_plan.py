"""The MLX engine's plan and replay: which recorded calls lie between the sources and the
targets, kept per recording structure, and those calls re-run as a pure function of the
sources (``_replay_fn``) for ``mx.vjp`` (``_differentiate``). ``_gradient_engine.py`` decides
when to compile and evaluate them."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import mlx.core as mx
from ember import Tensor
from ember.autodiff import GradientRequest

__all__ = ["_Plan", "_cached_plan", "_consts", "_differentiate", "_plans", "_replay_fn"]

# kernels ember-mlx computes on the host for float64 input (MLX loses precision there)
_F64_HOST = frozenset({"exp", "sin", "cos", "erf", "erfinv", "logaddexp", "nn_sigmoid",
                       "nn_softmax", "nn_log_softmax", "nn_logsumexp", "linalg_det",
                       "linalg_slogdet"})
# ... and for complex input (MLX's factorisations are real-only)
_COMPLEX_HOST = frozenset({"linalg_cholesky", "linalg_qr", "linalg_pinv", "linalg_det",
                           "linalg_slogdet"})
_COMPLEX = (mx.complex64,)

def _arrays(args: tuple[Any, ...]) -> list[mx.array]:
    out = []
    for a in args:
        if isinstance(a, mx.array):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(e for e in a if isinstance(e, mx.array))
    return out


_PLAIN = frozenset({int, float, bool, type(None), str, complex})
# kernels _host_call may flag
_HOSTISH = frozenset({"nonzero", "unique_all", "getitem", "index_update", "repeat"}) | _F64_HOST | _COMPLEX_HOST


def _host_call(name: str, args: tuple[Any, ...]) -> str:
    """'' for a call MLX can trace; 'data' if ember-mlx reads its array data on the host;
    'key' if only a constant index argument goes through the host (replay works, compile not)."""
    if name in ("nonzero", "unique_all"):
        return "data"
    if name in ("getitem", "index_update"):
        key = args[1]
        if any(isinstance(k, mx.array) and k.dtype == mx.bool_ for k in key):
            return "key"
        return ""
    if name == "repeat":
        return "key" if isinstance(args[1], mx.array) else ""
    if name in _F64_HOST or name in _COMPLEX_HOST:
        for a in _arrays(args):
            if (a.dtype == mx.float64 and name in _F64_HOST) or (
                    a.dtype in _COMPLEX and name in _COMPLEX_HOST):
                return "data"
    return ""


# kernels whose MLX derivative (of ember-mlx's implementation) differs from ember's rule: replayed
# through mx.custom_function with the rule as its VJP (see _ruled)
_RULED = frozenset({"linalg_vector_norm", "linalg_matrix_norm"})  # MLX: NaN at a zero norm
# ... and for complex input (measured against the generic engine with mlx 0.32: MLX's own
# derivatives of these complex functions do not follow PyTorch's convention ember uses)
_RULED_COMPLEX = frozenset({"acosh", "sign", "pow", "prod", "cumulative_prod"})


def _ruled_for(name: str, args: tuple[Any, ...]) -> bool:
    if name in _RULED:
        return True
    if name == "index_update" and args[3] == "multiply":  # MLX has no VJP for scatter_prod
        return True
    return name in _RULED_COMPLEX and any(a.dtype in _COMPLEX for a in _arrays(args))


def _ruled(name: str, fn: Any, root: Any) -> Any:
    """``fn`` (a kernel) as an MLX custom function whose VJP is ember's rule for it."""
    from ember.autodiff.rules import RULES

    rule = RULES[name]

    def call(*args: Any) -> Any:
        pos = [p for p in rule.diff if isinstance(args[p], mx.array)]

        def fill(arrays: Any) -> list[Any]:
            a = list(args)
            for p, x in zip(pos, arrays):
                a[p] = x
            return a

        f = mx.custom_function(lambda *arrays: fn(*fill(arrays)))

        @f.vjp
        def back(primals: Any, cot: Any, out: Any) -> Any:
            if len(pos) == 1:  # MLX passes (and expects) a lone primal without a tuple
                primals = (primals,)
            a = [Tensor(x, root) if isinstance(x, mx.array) else x for x in fill(primals)]
            multi = isinstance(out, (list, tuple))
            g = tuple(Tensor(c, root) for c in cot) if multi else Tensor(cot, root)
            o = tuple(Tensor(c, root) for c in out) if multi else Tensor(out, root)
            needs = tuple(p in pos for p in rule.diff)
            res = rule.vjp(needs, g, o, *a)
            grads = []
            for p, x in zip(pos, primals):
                r = res[rule.diff.index(p)]
                grads.append(mx.zeros_like(x) if r is None else r._n)
            return grads[0] if len(pos) == 1 else tuple(grads)

        return f(*[args[p] for p in pos])

    return call


class _Plan:
    """The calls between the sources and the targets as a function of three arrays lists:
    the vjp inputs (sources), constants, and the calls' own results."""

    __slots__ = ("connected", "const_at", "host", "inputs", "key", "n_leaf", "n_vals", "outputs",
                 "source_input", "steps")

    def __init__(self) -> None:
        self.steps: list[tuple[Any, tuple[Any, ...], list[tuple[int, int, int]]]] = []
        self.inputs: list[int] = []  # tape slot of each vjp input (leaf sources, then deltas)
        self.n_leaf = 0  # inputs before the deltas
        self.source_input: dict[int, int] = {}  # source slot -> vjp input index
        # where each constant is found in a request: ("t", slot) a target's value, else
        # (record index, argument position, element index...): a plan is kept per recording
        # structure (see _cached_plan) and fetches a new request's constants from there
        self.const_at: list[tuple[Any, ...]] = []
        self.outputs: list[Any] = []  # a spec per target
        self.connected: set[int] = set()  # vjp inputs that reach a target
        self.host = ""  # "" | "key" | "data" (see _host_call)
        self.n_vals = 0
        self.key: Any = None


def _outs(rec: Any) -> tuple[int, ...]:
    return (rec.outs,) if type(rec.outs) is int else rec.outs


_PLANS_SIZE = 64
_plans: OrderedDict[Any, _Plan] = OrderedDict()  # recording structure -> its plan


def _arg_sig(a: Any) -> Any:
    t = type(a)
    if t is mx.array:
        return a.dtype
    if t is tuple or t is list:
        return (t, *map(_arg_sig, a))
    if t is slice:
        return (t, a.start, a.stop, a.step)
    return (t, a)


def _structure(request: GradientRequest, root: Any, targets: list[int],
               src_slots: list[int]) -> tuple[Any, ...]:
    """What a plan depends on, cheaper to compute than the plan: per call its kernel, slots,
    static arguments (with their types), argument and output dtypes; the constants' values
    are not part of it (the plan fetches them, see ``_Plan.const_at``)."""
    out: list[Any] = [id(root), tuple(targets), tuple(src_slots)]
    add = out.append
    for r in request.records:
        if r.root is not root:
            add(None)
            continue
        o = r.out
        add((r.info.name, r.fn, r.ins, r.outs, tuple(map(_arg_sig, r.args)),
             tuple(x.dtype for x in o) if type(o) is tuple else o.dtype))
    return tuple(out)


def _cached_plan(request: GradientRequest, root: Any, targets: list[int],
                 src_slots: list[int]) -> _Plan:
    """The plan of this recording structure: built once, then reused (a training loop records
    the same structure every step)."""
    key = _structure(request, root, targets, src_slots)
    try:
        p = _plans.get(key)
    except TypeError:  # an unhashable static argument: no caching
        return _plan(request, root, targets, src_slots)
    if p is None:
        p = _plans[key] = _plan(request, root, targets, src_slots)
        if len(_plans) > _PLANS_SIZE:
            _plans.popitem(last=False)
    else:
        _plans.move_to_end(key)
    return p


def _consts(p: _Plan, request: GradientRequest) -> list[Any]:
    out = []
    records, values = request.records, request.values
    for at in p.const_at:
        if at[0] == "t":
            out.append(values[at[1]])
            continue
        a = records[at[0]].args[at[1]]
        for j in at[2:]:
            a = a[j]
        out.append(a)
    return out


def _plan(request: GradientRequest, root: Any, targets: list[int], src_slots: list[int]) -> _Plan:
    records = [(r, (r.outs,) if type(r.outs) is int else r.outs, i)
               for i, r in enumerate(request.records) if r.root is root]
    needed = set(targets)  # backward reach from the targets
    keep = []
    for rec, outs, ri in reversed(records):
        for s in outs:
            if s in needed:
                keep.append((rec, outs, ri))
                needed.update(rec.ins)
                break
    live = set(src_slots)  # forward reach from the sources
    steps = []
    for rec, outs, ri in reversed(keep):
        for s in rec.ins:
            if s in live:
                live.update(outs)
                steps.append((rec, outs, ri))
                break
    live.discard(-1)
    produced = {s for _, outs, _ in steps for s in outs}
    p = _Plan()
    unique = list(dict.fromkeys(src_slots))
    # sources computed by a kept call get a zero "delta" input added to their value: the
    # gradient with respect to the delta is theirs, and the gradient still flows through them
    leaves = [s for s in unique if s not in produced]
    p.n_leaf = len(leaves)
    for s in leaves + [s for s in unique if s in produced]:
        p.source_input[s] = len(p.inputs)
        p.inputs.append(s)
    val_of: dict[int, int] = {}
    delta_of_val: dict[int, int] = {}

    def const(at: tuple[Any, ...]) -> Any:
        # one input per place a constant is found (not per array: the same array in two
        # places today may be two arrays at the next step of the same structure)
        p.const_at.append(at)
        return ("c", len(p.const_at) - 1)

    def ref(a: Any, at: tuple[Any, ...], slot: int = -1) -> Any:
        if slot >= 0:
            k = val_of.get(slot)
            if k is not None:
                if k in delta_of_val:
                    p.connected.add(delta_of_val[k])
                return ("v", k)
            i = p.source_input.get(slot)
            if i is not None and slot not in produced:
                p.connected.add(i)
                return ("i", i)
        if isinstance(a, mx.array):
            return const(at)
        if isinstance(a, (list, tuple)):
            return ("l" if type(a) is list else "t",
                    tuple(ref(e, (*at, j)) for j, e in enumerate(a)))
        if type(a) is slice:  # unhashable before Python 3.12: specs are the cache key
            return ("S", (a.start, a.stop, a.step))
        return ("s", a)

    key_steps = []
    f64, c64 = mx.float64, mx.complex64
    for rec, out_slots, ri in steps:
        info, args = rec.info, rec.args
        name = info.name
        if info.many:
            specs = (("l", tuple(ref(e, (ri, 0, j), s)
                                 for j, (e, s) in enumerate(zip(args[0], rec.ins)))),
                     *(ref(a, (ri, i)) for i, a in enumerate(args) if i))
        else:
            arrays, ins = info.arrays, rec.ins
            sp = []
            for i, a in enumerate(args):
                if type(a) in _PLAIN:  # statics and Python scalars (also in array positions)
                    sp.append(("s", a))
                else:
                    sp.append(ref(a, (ri, i), ins[arrays.index(i)] if i in arrays else -1))
            specs = tuple(sp)
        host = _host_call(name, args) if name in _HOSTISH else ""
        if not host:
            out = rec.out
            dts = [o.dtype for o in out] if type(out) is tuple else (out.dtype,)
            if f64 in dts:
                # float64 goes to the generic engine: ember-mlx computes several float64
                # functions on the host, and MLX's own derivatives of others (log2, log10)
                # use float32 constants (measured: 1e-8 relative error with mlx 0.32)
                host = "data"
            elif c64 in dts:
                host = "key"  # replayed, never compiled: mlx 0.32's CPU compiler fails on some
                # complex kernels (g++ errors in the generated code for complex sign)
        if host and p.host != "data":
            p.host = host
        outs = []
        single = type(rec.outs) is int
        for j, s in enumerate(out_slots):
            if s < 0:
                continue
            k = val_of[s] = p.n_vals
            p.n_vals += 1
            d = p.source_input.get(s, -1) if s in produced else -1
            if d >= 0:
                delta_of_val[k] = d
            outs.append((-1 if single else j, k, d))
        fn = _ruled(name, rec.fn, root) if not info.many and _ruled_for(name, args) else rec.fn
        p.steps.append((fn, specs, outs))
        key_steps.append((name, specs, tuple(outs)))
    for t in targets:
        kt = val_of.get(t)
        if kt is not None:
            if kt in delta_of_val:
                p.connected.add(delta_of_val[kt])
            p.outputs.append(("v", kt))
        elif t in p.source_input:
            p.connected.add(p.source_input[t])
            p.outputs.append(("i", p.source_input[t]))
        else:
            p.outputs.append(const(("t", t)))
    p.key = (tuple(key_steps), len(p.inputs), len(p.const_at), tuple(p.outputs))
    return p


def _replay_fn(p: _Plan) -> Any:
    steps, n_vals, outputs = p.steps, p.n_vals, p.outputs

    def replay(ins: list[Any], consts: list[Any]) -> list[Any]:
        vals: list[Any] = [None] * n_vals
        for fn, specs, outs in steps:
            r = fn(*[_value(sp, vals, ins, consts) for sp in specs])
            for j, k, d in outs:
                v = r if j < 0 else r[j]
                vals[k] = v + ins[d] if d >= 0 else v
        return [_value(sp, vals, ins, consts) for sp in outputs]

    return replay


def _value(sp: Any, vals: list[Any], ins: list[Any], consts: list[Any]) -> Any:
    """The value a replay step's argument spec names. A module function, not a closure that
    calls itself: that closure was a reference cycle holding every value of the step (the whole
    forward pass) until the garbage collector ran."""
    kind, v = sp
    if kind == "v":
        return vals[v]
    if kind == "i":
        return ins[v]
    if kind == "c":
        return consts[v]
    if kind == "s":
        return v
    if kind == "S":
        return slice(*v)
    items = [_value(e, vals, ins, consts) for e in v]
    return items if kind == "l" else tuple(items)


def _differentiate(replay: Any) -> Any:
    def run(inputs: list[Any], consts: list[Any], seeds: list[Any]) -> Any:
        return mx.vjp(lambda *xs: replay(list(xs), consts), inputs, seeds)

    return run
