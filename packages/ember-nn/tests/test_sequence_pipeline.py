"""``ember train`` with a sequence model whose inputs carry their own time gaps
(``SequenceRegressor``, ``timespans = "last_feature"``): a TOML config trains a wired CfC end to
end on each backend and writes the trajectory and wiring pictures; bad values are errors that
name them. The data is a harmonic oscillator sampled at irregular times, in pure Python."""

from __future__ import annotations

from pathlib import Path

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn.pipelines._run import read_config, train_from_config

LOADER = '''
import math, random

def load():
    rng = random.Random(0)
    xs, ys = [], []
    for _ in range(24):
        a, p, t = rng.uniform(0.5, 1.5), rng.uniform(0, 6.28), 0.0
        prev = (a * math.cos(p), -a * math.sin(p))
        x, y = [], []
        for _ in range(6):
            gap = rng.uniform(0.1, 0.5)
            t += gap
            now = (a * math.cos(t + p), -a * math.sin(t + p))
            x.append([prev[0], prev[1], gap])
            y.append([now[0], now[1]])
            prev = now
        xs.append(x)
        ys.append(y)
    return xs, ys
'''

CONFIG = '''
seed = 0
[data]
source = "python"
loader = "osc.py:load"
test_size = 0.25
scale = "none"
[model]
class = "SequenceRegressor"
in_features = 2
out_features = 2
timespans = "last_feature"
rnn = {{ class = "CfC", units = {{ class = "AutoNCP", units = 8, output_size = 2, seed = 1 }} }}
[optimizer]
class = "Adam"
learning_rate = 0.01
[training]
epochs = 2
batch_size = 6
loss = "mse"
[output]
plot = {plot}
trajectory = {trajectory}
wiring = {wiring}
'''


def _write(tmp_path: Path, *, plot: str = "false", trajectory: str = "false",
           wiring: str = "false", replace: tuple[str, str] = ("", "")) -> Path:
    (tmp_path / "osc.py").write_text(LOADER)
    text = CONFIG.format(plot=plot, trajectory=trajectory, wiring=wiring)
    if replace[0]:
        assert replace[0] in text
        text = text.replace(*replace)
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_a_wired_cfc_with_timespans_trains_from_toml_and_draws(backend: str,
                                                               tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("networkx")
    path = _write(tmp_path, plot="true", wiring="true",
                  trajectory='{ samples = 2, names = ["x", "v"] }')
    result = train_from_config(read_config(path), base_dir=tmp_path, backend=backend,
                               output_dir=tmp_path / "out", progress=False)
    model = result.model
    assert isinstance(model, ember_nn.SequenceRegressor)
    assert isinstance(model.rnn, ember_nn.CfC) and model.rnn.wiring.units == 8
    assert result.history.epochs == 2
    for name in ("training.png", "trajectory.png", "wiring.png"):
        assert (tmp_path / "out" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert result.trajectory == tmp_path / "out" / "trajectory.png"
    assert result.wiring == tmp_path / "out" / "wiring.png"
    # the test loss is the MSE of the model's predictions, computed here in NumPy
    model.eval()
    x, y = result.data.x_test, result.data.y_test
    assert x.shape == (6, 6, 3) and y.shape == (6, 6, 2)
    pred = model(x).numpy()
    assert result.test["loss"] == pytest.approx(float(((pred - y.numpy()) ** 2).mean()),
                                                rel=1e-5)
    # the last input feature is the CfC's timespans (per sample and step), not an input
    direct = model.head(model.rnn(x[:, :, :2], timespans=x[:, :, 2])[0]).numpy()
    np.testing.assert_allclose(pred, direct, rtol=1e-6, atol=1e-6)
    doubled = ember.concat([x[:, :, :2], x[:, :, 2:] * 2.0], axis=-1)
    assert np.abs(model(doubled).numpy() - pred).max() > 1e-4
    # the checkpoint gives the same predictions
    back = ember_nn.load_checkpoint(result.checkpoint, backend=backend).model
    np.testing.assert_allclose(back(x).numpy(), pred, rtol=1e-6, atol=1e-6)


def test_the_regressor_round_trips_and_reads_gaps_or_not(backend: str) -> None:
    kw = {"rnn": {"class": "LTC", "units": 5, "ode_unfolds": 2}, "timespans": "last_feature"}
    m = ember_nn.SequenceRegressor(2, 3, **kw, return_sequences=False, key=3)
    x = ember.random.normal(0, (4, 5, 3))
    x = ember.concat([x[:, :, :2], ember.abs(x[:, :, 2:]) + 0.1], axis=-1)
    y = m(x)
    assert y.shape == (4, 3)
    full = m.head(m.rnn(x[:, :, :2], timespans=x[:, :, 2])[0][:, -1, :])
    np.testing.assert_allclose(y.numpy(), full.numpy(), rtol=1e-6, atol=1e-6)
    again = ember_nn.deserialize(ember_nn.serialize(m))
    again.load_state_dict(m.state_dict())
    np.testing.assert_allclose(again(x).numpy(), y.numpy(), rtol=1e-6, atol=1e-6)
    lstm = ember_nn.SequenceRegressor(3, 2, rnn={"class": "LSTM", "hidden_size": 4}, key=0)
    assert lstm.head.in_features == 4 and lstm(x).shape == (4, 5, 2)
    ref = lstm.head(lstm.rnn(x)[0])
    np.testing.assert_allclose(lstm(x).numpy(), ref.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("old", "new", "match"), [
    ('scale = "none"', 'scale = "standard"', r"scale = 'standard' would rescale the time gaps"),
    ('timespans = "last_feature"', 'timespans = "first"', r"timespans must be one of"),
    ('rnn = {', 'rnn = { input_size = 2, batch_first = false, ', r"rnn sets \['batch_first', "
     r"'input_size'\]"),
    ('rnn = {{ class = "CfC"', 'rnn = {{ class = "LSTM", hidden_size = 4 }} # ',
     r"LSTM takes no timespans"),
    ('class = "CfC"', 'class = "Nope"', r"rnn class 'Nope' is not a registered layer"),
    ("wiring = false", "wiring = 1", r"\[output\] wiring must be true or false, got 1"),
    ("trajectory = false", "trajectory = { samples = 0 }", r"\[output\] trajectory must be"),
    ('units = 8, output_size', 'units = 8, bogus = 1, output_size', r"bogus"),
])
def test_bad_values_are_errors_naming_them(tmp_path: Path, old: str, new: str,
                                           match: str) -> None:
    old, new = old.replace("{{", "{"), new.replace("{{", "{").replace("}}", "}")
    path = _write(tmp_path, replace=(old, new))
    with pytest.raises(ember_nn.ConfigError, match=match):
        train_from_config(read_config(path), base_dir=tmp_path, output_dir=tmp_path / "out",
                          progress=False)


def test_wiring_and_trajectory_need_a_wired_sequence_model(tmp_path: Path) -> None:
    path = _write(tmp_path, wiring="true", replace=(
        'rnn = {{ class = "CfC", units = {{ class = "AutoNCP", units = 8, output_size = 2, '
        'seed = 1 }} }}'.replace("{{", "{").replace("}}", "}"),
        'rnn = { class = "CfC", units = 4, backbone_units = 8 }'))
    with pytest.raises(ember_nn.ConfigError, match=r"has no wired layer"):
        train_from_config(read_config(path), base_dir=tmp_path, output_dir=tmp_path / "o",
                          progress=False)
    path = _write(tmp_path, trajectory='{ names = ["x"] }')
    with pytest.raises(ember_nn.ConfigError, match=r"names \['x'\] must name all 2"):
        train_from_config(read_config(path), base_dir=tmp_path, output_dir=tmp_path / "o",
                          progress=False, epochs=1)
