"""SimpleRNN/LSTM/GRU (and their cells) against torch.nn on every backend: a torch module's
state_dict as NumPy loads into the ember layer (``from_torch`` and ``load_state_dict``), and
the outputs, final states and gradients with respect to the input, the initial states and
every weight agree to 1e-5 in float32: tanh/relu RNNs, LSTMs with and without projection,
GRUs, 1-2 layers, both directions, batch_first either way, with lengths against torch's
pack_padded_sequence."""

from __future__ import annotations

from typing import Any

import ember
import ember_nn
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pack = torch.nn.utils.rnn

RTOL, ATOL = 1e-5, 1e-5
T_, B, F, H = 5, 3, 3, 4
LENGTHS = [5, 2, 3]

KINDS = {
    "rnn_tanh": lambda **kw: torch.nn.RNN(F, H, nonlinearity="tanh", **kw),
    "rnn_relu": lambda **kw: torch.nn.RNN(F, H, nonlinearity="relu", **kw),
    "lstm": lambda **kw: torch.nn.LSTM(F, H, **kw),
    "lstm_proj": lambda **kw: torch.nn.LSTM(F, H, proj_size=2, **kw),
    "gru": lambda **kw: torch.nn.GRU(F, H, **kw),
}


def _np(t: Any) -> np.ndarray:
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t.numpy())


def _torch_run(t: Any, x: np.ndarray, h0: list[np.ndarray], up: np.ndarray,
               ups: list[np.ndarray], lengths: list[int] | None, batch_first: bool) -> Any:
    xt = torch.tensor(x, requires_grad=True)
    hs = [torch.tensor(h, requires_grad=True) for h in h0]
    inp = xt if lengths is None else pack.pack_padded_sequence(
        xt, lengths, batch_first=batch_first, enforce_sorted=False)
    out, hn = t(inp, tuple(hs) if len(hs) == 2 else hs[0])
    if lengths is not None:
        out, _ = pack.pad_packed_sequence(out, batch_first=batch_first, total_length=T_)
    finals = list(hn) if isinstance(hn, tuple) else [hn]
    loss = (out * torch.tensor(up)).sum() + sum((f * torch.tensor(u)).sum()
                                                 for f, u in zip(finals, ups, strict=True))
    t.zero_grad()
    loss.backward()
    grads = {k: _np(p.grad) for k, p in t.named_parameters()}
    return [_np(out), *map(_np, finals)], [_np(xt.grad), *(_np(h.grad) for h in hs)], grads


def _ember_run(e: Any, x: np.ndarray, h0: list[np.ndarray], up: np.ndarray,
               ups: list[np.ndarray], lengths: list[int] | None) -> Any:
    xe = ember.tensor(x)
    hs = [ember.tensor(h) for h in h0]
    with ember.GradientTape() as tape:
        tape.watch([xe, *hs])
        out, hn = e(xe, tuple(hs) if len(hs) == 2 else hs[0], lengths=lengths)
        finals = list(hn) if isinstance(hn, tuple) else [hn]
        loss = ember.sum(out * ember.tensor(up))
        for f, u in zip(finals, ups, strict=True):
            loss = loss + ember.sum(f * ember.tensor(u))
    names = list(e.named_trainable_variables())
    grads = tape.gradient(loss, [xe, *hs, *e.trainable_variables])
    n = 1 + len(hs)
    return ([_np(out), *map(_np, finals)], [_np(g) for g in grads[:n]],
            {k: _np(g) for k, g in zip(names, grads[n:], strict=True)})


def _close(ours: Any, theirs: Any) -> None:
    for a, b in zip(ours[0], theirs[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    for a, b in zip(ours[1], theirs[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    assert sorted(ours[2]) == sorted(theirs[2])
    for k, g in ours[2].items():
        np.testing.assert_allclose(g, theirs[2][k], rtol=RTOL, atol=ATOL, err_msg=k)


def _case(kind: str, num_layers: int, bidirectional: bool, batch_first: bool,
          lengths: list[int] | None, seed: int = 0) -> None:
    torch.manual_seed(seed)
    t = KINDS[kind](num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    rng = np.random.default_rng(seed)
    dirs = 2 if bidirectional else 1
    out_size = 2 if kind == "lstm_proj" else H
    shape = (B, T_, F) if batch_first else (T_, B, F)
    x = rng.standard_normal(shape).astype(np.float32)
    h0 = [rng.standard_normal((num_layers * dirs, B, out_size)).astype(np.float32)]
    if kind.startswith("lstm"):
        h0.append(rng.standard_normal((num_layers * dirs, B, H)).astype(np.float32))
    out_shape = (*shape[:2], dirs * out_size)
    up = rng.standard_normal(out_shape).astype(np.float32)
    ups = [rng.standard_normal(h.shape).astype(np.float32) for h in h0]
    theirs = _torch_run(t, x, h0, up, ups, lengths, batch_first)
    e = ember_nn.from_torch(t)
    _close(_ember_run(e, x, h0, up, ups, lengths), theirs)
    # the same weights through load_state_dict of a layer built with the same arguments
    e2 = type(e).from_config(e.get_config())
    e2.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    _close(_ember_run(e2, x, h0, up, ups, lengths), theirs)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, True)])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_layer_matches_torch(backend: str, kind: str, num_layers: int, bidirectional: bool,
                             lengths: list[int] | None) -> None:
    _case(kind, num_layers, bidirectional, batch_first=True, lengths=lengths)


@pytest.mark.parametrize("kind", ["lstm_proj", "gru", "rnn_tanh"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_time_major_matches_torch(backend: str, kind: str, bidirectional: bool) -> None:
    _case(kind, 2, bidirectional, batch_first=False, lengths=LENGTHS, seed=1)


def test_one_direction_two_layers_time_major(backend: str) -> None:
    _case("lstm", 2, False, batch_first=False, lengths=None, seed=2)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cells_match_torch(backend: str, kind: str) -> None:
    torch.manual_seed(3)
    t = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[kind](F, H)
    e = ember_nn.from_torch(t)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((B, F)).astype(np.float32)
    states = [rng.standard_normal((B, H)).astype(np.float32)
              for _ in range(2 if kind == "lstm" else 1)]
    ts = [torch.tensor(s, requires_grad=True) for s in states]
    xt = torch.tensor(x, requires_grad=True)
    r = t(xt, tuple(ts) if kind == "lstm" else ts[0])
    rs = list(r) if isinstance(r, tuple) else [r]
    sum(o.sum() * (i + 1) for i, o in enumerate(rs)).backward()
    xe, se = ember.tensor(x), [ember.tensor(s) for s in states]
    with ember.GradientTape() as tape:
        tape.watch([xe, *se])
        y, new = e(xe, tuple(se))
        loss = sum((ember.sum(o) * (i + 1) for i, o in enumerate(new)), ember.tensor(0.0))
    np.testing.assert_allclose(_np(y), _np(rs[0]), rtol=RTOL, atol=ATOL)
    for a, b in zip(new, rs, strict=True):
        np.testing.assert_allclose(_np(a), _np(b), rtol=RTOL, atol=ATOL)
    grads = tape.gradient(loss, [xe, *se, *e.trainable_variables])
    want = [xt.grad, *(s.grad for s in ts), *(p.grad for _, p in t.named_parameters())]
    assert [k for k, _ in e.named_variables()] == [k for k, _ in t.named_parameters()]
    for a, b in zip(grads, want, strict=True):
        np.testing.assert_allclose(_np(a), _np(b), rtol=RTOL, atol=ATOL)


def test_unbatched_input_matches_torch(backend: str) -> None:
    torch.manual_seed(4)
    t = torch.nn.GRU(F, H, num_layers=2)
    e = ember_nn.from_torch(t)
    x = np.random.default_rng(4).standard_normal((T_, F)).astype(np.float32)
    out, h = t(torch.tensor(x))
    eo, eh = e(x)
    assert eo.shape == (T_, H) and eh.shape == (2, H)
    np.testing.assert_allclose(_np(eo), _np(out), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(_np(eh), _np(h), rtol=RTOL, atol=ATOL)


def test_from_torch_keeps_dtype_mode_and_refuses_other_modules(backend: str) -> None:
    t = torch.nn.LSTM(F, H, dropout=0.25, num_layers=2).double().eval()
    e = ember_nn.from_torch(t)
    assert e.weight_ih_l0.dtype == ember.float64 and not e.training and e.dropout == 0.25
    x = np.random.default_rng(5).standard_normal((T_, B, F))
    np.testing.assert_allclose(_np(e(x)[0]), _np(t(torch.tensor(x))[0]), rtol=1e-12)
    with pytest.raises(ember_nn.ConfigError, match=r"torch\.nn\.modules\.linear\.Linear"):
        ember_nn.from_torch(torch.nn.Linear(2, 2))
