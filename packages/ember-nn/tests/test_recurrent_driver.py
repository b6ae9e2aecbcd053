"""The RNN driver and Bidirectional: masking semantics (padded steps keep the state and give
zeros, the last output is each sample's last valid one), lengths and masks agreeing, the step
loop against the cells' fused fast path, go_backwards, timespans reaching a continuous-time
cell, configs and checkpoints of every recurrent layer, dropout between layers, and bad inputs
as ember's errors naming the values."""

from __future__ import annotations

import json
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn.recurrent import Cell

B, T, F, H = 3, 5, 2, 4
LENGTHS = [5, 0, 3]
TOL = {"rtol": 1e-5, "atol": 1e-6}


def _x(seed: int = 0, shape: tuple[int, ...] = (B, T, F)) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _mask(lengths: list[int]) -> np.ndarray:
    return np.arange(T)[None, :] < np.array(lengths)[:, None]


class _Loop(Cell):
    """An LSTMCell without the fused fast path (the driver loops its step)."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner
        self.input_size, self.output_size = inner.input_size, inner.output_size
        self.state_sizes = inner.state_sizes

    def step(self, x_t: Any, state: Any, *, timespan: Any = None) -> Any:
        return self.inner.step(x_t, state, timespan=timespan)


class _Decay(Cell):
    """A continuous-time cell: h' = h * exp(-timespan) + x (records the spans it gets)."""

    def __init__(self) -> None:
        super().__init__()
        self.input_size = self.output_size = 1
        self.state_sizes = (1,)

    def step(self, x_t: Any, state: Any, *, timespan: Any = None) -> Any:
        h = state[0] * ember.exp(-ember.asarray(timespan if timespan is not None else 1.0)) + x_t
        return h, (h,)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_padded_steps_keep_state_and_give_zeros(backend: str, cell: str,
                                                go_backwards: bool) -> None:
    make = {"lstm": ember_nn.LSTMCell, "gru": ember_nn.GRUCell, "rnn": ember_nn.SimpleRNNCell}
    c = make[cell](F, H, key=1)
    x = _x()
    seq = ember_nn.RNN(c, return_sequences=True, return_state=True, go_backwards=go_backwards)
    last = ember_nn.RNN(c, go_backwards=go_backwards)
    ys, state = seq(x, lengths=LENGTHS)
    ys_m, state_m = seq(x, mask=_mask(LENGTHS))
    ys_loop, state_loop = ember_nn.RNN(_Loop(c), return_sequences=True, return_state=True,
                                       go_backwards=go_backwards)(x, lengths=LENGTHS)
    y = ys.numpy()
    for a, b in [(ys, ys_m), (ys, ys_loop), *zip(state, state_m), *zip(state, state_loop)]:
        np.testing.assert_allclose(a.numpy(), b.numpy(), **TOL)
    for i, n in enumerate(LENGTHS):
        assert not y[i, n:].any()  # padded steps: zero outputs
        # each sample alone, cut to its length, gives the same outputs and final state
        alone, st = seq(x[i:i + 1, :n]) if n else (None, c.initial_state(1, like=ember.tensor(x)))
        if n:
            np.testing.assert_allclose(y[i, :n], alone.numpy()[0], **TOL)
        for s, s1 in zip(state, st, strict=True):
            np.testing.assert_allclose(s.numpy()[i], s1.numpy()[0], **TOL)
        # the last output is the last valid step's (zeros for none)
        want = (y[i, 0] if go_backwards else y[i, n - 1]) if n else np.zeros(H)
        np.testing.assert_allclose(last(x, lengths=LENGTHS).numpy()[i], want, **TOL)


def test_go_backwards_is_the_reversed_sequence(backend: str) -> None:
    c = ember_nn.GRUCell(F, H, key=2)
    x = _x(1)
    back = ember_nn.RNN(c, return_sequences=True, go_backwards=True)(x)
    fwd = ember_nn.RNN(c, return_sequences=True)(x[:, ::-1].copy())
    np.testing.assert_allclose(back.numpy(), fwd.numpy()[:, ::-1], **TOL)


@pytest.mark.parametrize("cfc", [{}, {"backbone_layers": 0}, {"mode": "no_gate"},
                                 {"mode": "pure", "backbone_units": 6, "backbone_layers": 2},
                                 {"sparsity_mask": np.eye(F + H, H), "backbone_layers": 0},
                                 {"sparsity_mask": np.eye(6, H), "backbone_units": 6}])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_cfc_sequence_path_is_the_step_loop(backend: str, cfc: dict[str, Any],
                                            go_backwards: bool) -> None:
    """CfC's whole-sequence path (weights prepared once, the inputs' share of the first product
    for all steps at once) gives the step loop's outputs, state and gradients; with a mask the
    driver loops the steps, as it does for cells without such a path."""
    c = ember_nn.CfCCell(F, H, key=4, **cfc)
    x = ember.asarray(_x(5))
    h0 = ember.asarray(_x(6, (B, H)))
    got, want = (ember_nn.RNN(cell, return_sequences=True, return_state=True,
                              go_backwards=go_backwards) for cell in (c, _Loop(c)))
    grads = []
    for rnn in (got, want):
        with ember.GradientTape() as tape:
            tape.watch(x)
            y, (h,) = rnn(x, (h0,))
            loss = ember.sum(y * y) + ember.sum(h)
        grads.append([g.numpy() for g in tape.gradient(loss, [x, *c.trainable_variables])])
        grads[-1] += [y.numpy(), h.numpy()]
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    masked = [rnn(x, (h0,), mask=_mask(LENGTHS))[0].numpy() for rnn in (got, want)]
    np.testing.assert_allclose(masked[0], masked[1], **TOL)


def test_initial_state_and_time_major(backend: str) -> None:
    c = ember_nn.LSTMCell(F, H, key=3)
    x = _x(2)
    h0 = (ember.ones((B, H)) * 0.5, ember.ones((B, H)) * -0.25)
    a, sa = ember_nn.RNN(c, return_sequences=True, return_state=True)(x, h0)
    b, sb = ember_nn.RNN(c, return_sequences=True, return_state=True, batch_first=False)(
        np.swapaxes(x, 0, 1).copy(), h0)
    np.testing.assert_allclose(a.numpy(), np.swapaxes(b.numpy(), 0, 1), **TOL)
    zero, _ = ember_nn.RNN(c, return_sequences=True, return_state=True)(x)
    assert not np.allclose(a.numpy(), zero.numpy())
    for s, t in zip(sa, sb, strict=True):
        np.testing.assert_allclose(s.numpy(), t.numpy(), **TOL)


@pytest.mark.parametrize("spans", ["number", "per_sample", "per_step"])
def test_timespans_reach_the_cell(backend: str, spans: str) -> None:
    x = _x(3, (2, 3, 1))
    ts: Any = {"number": 0.5, "per_sample": np.array([0.5, 2.0], np.float32),
               "per_step": np.array([[0.5, 1.0, 2.0], [0.1, 0.2, 0.3]], np.float32)}[spans]
    out = ember_nn.RNN(_Decay(), return_sequences=True)(x, timespans=ts).numpy()
    full = np.broadcast_to(np.reshape(ts, (-1, 1)) if spans == "per_sample" else ts, (2, 3))
    h = np.zeros((2, 1))
    for t in range(3):
        h = h * np.exp(-full[:, t:t + 1]) + x[:, t]
        np.testing.assert_allclose(out[:, t], h, rtol=1e-5)


def test_discrete_cells_refuse_timespans(backend: str) -> None:
    with pytest.raises(ember.ArgumentError, match="discrete-time cell"):
        ember_nn.RNN(ember_nn.LSTMCell(F, H, key=0))(_x(), timespans=0.5)


def test_bidirectional_is_forward_and_reversed(backend: str) -> None:
    fw = ember_nn.RNN(ember_nn.GRUCell(F, H, key=4), return_sequences=True)
    bw = ember_nn.RNN(ember_nn.GRUCell(F, H, key=5), return_sequences=True, go_backwards=True)
    x = _x(4)
    for mode, merge in [("concat", lambda a, b: np.concatenate([a, b], -1)),
                        ("sum", np.add), ("ave", lambda a, b: (a + b) / 2)]:
        out = ember_nn.Bidirectional(fw, merge_mode=mode, backward_layer=bw)(x, lengths=LENGTHS)
        want = merge(fw(x, lengths=LENGTHS).numpy(), bw(x, lengths=LENGTHS).numpy())
        np.testing.assert_allclose(out.numpy(), want, **TOL)
    copy = ember_nn.Bidirectional(fw)
    assert copy.backward_layer.go_backwards
    assert not np.allclose(copy.backward_layer.cell.weight_ih.numpy(), fw.cell.weight_ih.numpy())


def _models() -> list[Any]:
    return [
        ember_nn.LSTM(F, H, 2, bidirectional=True, proj_size=2, dropout=0.1, key=0),
        ember_nn.GRU(F, H, batch_first=True, key=1),
        ember_nn.SimpleRNN(F, H, nonlinearity="relu", bias=False, key=2),
        ember_nn.Bidirectional(ember_nn.RNN(ember_nn.LSTMCell(F, H, key=3),
                                            return_sequences=True)),
        ember_nn.RNN(ember_nn.SimpleRNNCell(F, H, key=4), go_backwards=True),
    ]


@pytest.mark.parametrize("index", range(5))
def test_config_and_checkpoint_round_trips(backend: str, index: int, tmp_path: Any) -> None:
    model = _models()[index].eval()
    x = _x(5, (T, B, F)) if not getattr(model, "batch_first", True) else _x(5)
    config = json.loads(json.dumps(ember_nn.serialize(model)))
    rebuilt = ember_nn.deserialize(config)
    assert type(rebuilt) is type(model) and rebuilt.get_config() == model.get_config()
    assert [k for k, _ in rebuilt.named_variables()] == [k for k, _ in model.named_variables()]
    rebuilt.load_state_dict(model.state_dict())
    out = model(x)
    out = out[0] if isinstance(out, tuple) else out
    path = tmp_path / "rnn.ckpt"
    ember_nn.save(model, path)
    loaded = ember_nn.load(path).eval()
    for m in (rebuilt.eval(), loaded):
        got = m(x)
        got = got[0] if isinstance(got, tuple) else got
        np.testing.assert_allclose(got.numpy(), out.numpy(), rtol=1e-6)


def test_torch_parameter_names_and_order(backend: str) -> None:
    lstm = ember_nn.LSTM(F, H, 2, bidirectional=True, proj_size=2, key=0)
    assert [k for k, _ in lstm.named_variables()][:10] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
        "bias_hh_l0_reverse", "weight_hr_l0_reverse"]
    assert lstm.weight_ih_l1.shape == (4 * H, 4) and lstm.weight_hh_l0.shape == (4 * H, 2)
    bound = 1 / np.sqrt(H)
    assert all(np.abs(v.numpy()).max() <= bound for v in lstm.variables)


def test_dropout_between_layers_only_in_training(backend: str) -> None:
    x = _x(6, (T, B, F))
    drop = ember_nn.GRU(F, H, 2, dropout=0.5, key=7)
    plain = ember_nn.GRU(F, H, 2, key=7)
    a, b = drop(x)[0].numpy(), drop(x)[0].numpy()
    assert not np.allclose(a, b)  # a new mask per call
    np.testing.assert_allclose(drop.eval()(x)[0].numpy(), plain(x)[0].numpy(), **TOL)
    one = ember_nn.GRU(F, H, 1, dropout=0.5, key=7)  # (nothing between layers: no dropout)
    np.testing.assert_allclose(one(x)[0].numpy(), one(x)[0].numpy())


def test_bad_inputs_name_the_values(backend: str) -> None:
    lstm = ember_nn.LSTM(F, H, batch_first=True, key=0)
    with pytest.raises(ember.ShapeError, match=r"\(2, 5, 3\).*input_size=2"):
        lstm(np.zeros((2, 5, 3), np.float32))
    with pytest.raises(ember.ShapeError, match=r"shape \(5,\)"):
        lstm(np.zeros((5,), np.float32))
    with pytest.raises(ember.ArgumentError, match=r"lengths \[6, 1, 1\].*\[0, 5\]"):
        lstm(_x(), lengths=[6, 1, 1])
    with pytest.raises(ember.ShapeError, match=r"lengths must be \(B,\)"):
        lstm(_x(), lengths=[1, 2])
    with pytest.raises(ember.ShapeError, match=r"hx must have shapes \[\(1, 3, 4\), \(1, 3, 4\)\]"):
        lstm(_x(), (ember.zeros((1, 2, H)), ember.zeros((1, 2, H))))
    rnn = ember_nn.RNN(ember_nn.GRUCell(F, H, key=0))
    with pytest.raises(ember.ShapeError, match=r"\(3, 5\).*input_size=2"):
        rnn(np.zeros((3, 5), np.float32))
    with pytest.raises(ember.ArgumentError, match=r"lengths \[5, 0, -1\]"):
        rnn(_x(), lengths=[5, 0, -1])
    with pytest.raises(ember.ShapeError, match=r"mask must be booleans of shape \(3, 5\)"):
        rnn(_x(), mask=np.ones((5, 3), bool))
    with pytest.raises(ember_nn.ConfigError, match="proj_size must be an int in"):
        ember_nn.LSTM(F, H, proj_size=H)
    with pytest.raises(ember_nn.ConfigError, match="dropout must be a number in"):
        ember_nn.GRU(F, H, dropout=1.0)


@pytest.mark.parametrize("module", ["ember_nn.recurrent._driver", "ember_nn.recurrent._simple",
                                    "ember_nn.recurrent._lstm", "ember_nn.recurrent._gru",
                                    "ember_nn.io._interop", "ember.ops._recurrent"])
def test_docstring_examples_run(backend: str, module: str) -> None:
    import doctest
    import importlib

    if module.endswith("_interop"):
        pytest.importorskip("torch")
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, extraglobs={"ember": ember, "ember_nn": ember_nn})
    assert result.attempted > 0 and result.failed == 0
