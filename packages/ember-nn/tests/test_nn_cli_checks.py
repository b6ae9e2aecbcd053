"""`ember train / evaluate / predict` on a new user's programs: a model class of one's own,
NaN inputs to predict, a diverging run."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import ember
import ember_nn
import numpy as np
import pytest
from ember._cli import main
from ember_nn._core._module import _REGISTRY
from ember_nn.pipelines._predict import predict_lines

MODEL_CLASS = '''
import ember
import ember_nn


class TinyNet(ember_nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self.body = ember_nn.Dense(n_in, n_out, key=3)

    def forward(self, x):
        return self.body(x)
'''

LOADER = '''
def load():
    xs = [[float(i % 2), 1.0 - (i % 2), 0.1 * (i % 5)] for i in range(40)]
    return xs, [i % 2 for i in range(40)]
'''

RUN = """
{imports}
[data]
source = "python"
loader = "make.py:load"
scale = "none"
[model]
class = "TinyNet"
n_in = 3
n_out = 2
[optimizer]
class = "Adam"
learning_rate = 0.1
[training]
epochs = 10
batch_size = 8
loss = "sparse_categorical_cross_entropy"
metrics = ["accuracy"]
[output]
plot = false
"""


def _strict_json(line: str) -> dict:
    def refuse(c: str) -> None:
        raise AssertionError(f"not valid JSON: {c} in {line}")

    return json.loads(line, parse_constant=refuse)


def _forget(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """What a fresh `ember` process has: no class of that name registered, and none of the
    test's own modules imported (another parameter's `make`/`models`, from another directory,
    would otherwise be found in sys.modules and define nothing)."""
    monkeypatch.delitem(_REGISTRY, name)
    for module in ("make", "models"):
        monkeypatch.delitem(sys.modules, module, raising=False)


def _train(tmp: Path, backend: str, *, in_loader: bool, capsys: pytest.CaptureFixture[str]) -> Path:
    (tmp / "make.py").write_text((MODEL_CLASS if in_loader else "") + LOADER)
    if not in_loader:
        (tmp / "models.py").write_text(MODEL_CLASS)
    cfg = tmp / "run.toml"
    cfg.write_text(RUN.format(imports="" if in_loader else 'imports = ["models.py"]'))
    assert main(["train", str(cfg), "--backend", backend, "--output", str(tmp / "out"),
                 "--no-progress"]) == 0
    assert "trained TinyNet" in capsys.readouterr().out
    return tmp / "out" / "checkpoint"


@pytest.mark.parametrize("in_loader", [True, False])
def test_a_model_class_of_ones_own_evaluates_and_predicts(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], in_loader: bool) -> None:
    # evaluate and predict failed: "no module class named 'TinyNet' is registered", no way out
    ckpt = _train(tmp_path, backend, in_loader=in_loader, capsys=capsys)
    defined_in = tmp_path / ("make.py" if in_loader else "models.py")
    assert str(defined_in.resolve()) in ember_nn.load_checkpoint(ckpt).extra["imports"]
    inputs = tmp_path / "in.csv"
    inputs.write_text("a,b,c\n1,0,0.2\n0,1,0.4\n")
    _forget(monkeypatch, "TinyNet")
    assert main(["predict", str(ckpt), "--input", str(inputs), "--backend", backend]) == 1
    err = capsys.readouterr().err
    assert "no module class named 'TinyNet'" in err
    assert f"--import {defined_in.resolve()}" in err
    assert main(["predict", str(ckpt), "--input", str(inputs), "--backend", backend,
                 "--import", str(defined_in)]) == 0
    preds = [_strict_json(v) for v in capsys.readouterr().out.splitlines()]
    assert [p["class"] for p in preds] == [1, 0] and min(p["probability"] for p in preds) > 0.8
    # evaluate runs the saved run's loader and imports, as train did: nothing to pass
    _forget(monkeypatch, "TinyNet")
    assert main(["evaluate", str(ckpt), "--backend", backend]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("loss ")
    # a module on the path works as well as a file
    _forget(monkeypatch, "TinyNet")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["predict", str(ckpt), "--input", str(inputs), "--backend", backend,
                 "--import", defined_in.stem]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_bad_imports_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tmp_path / "ck"
    ember_nn.save(ember_nn.Dense(2, 2, key=0), ckpt)
    (tmp_path / "in.json").write_text("[[1, 2]]")
    assert main(["predict", str(ckpt), "--input", str(tmp_path / "in.json"), "--import",
                 str(tmp_path / "nope.py")]) == 1
    assert "import: file" in capsys.readouterr().err
    assert main(["predict", str(ckpt), "--input", str(tmp_path / "in.json"), "--import",
                 "no_such_module_here"]) == 1
    assert "no module named 'no_such_module_here'" in capsys.readouterr().err
    cfg = tmp_path / "run.toml"
    cfg.write_text(RUN.format(imports='imports = "models.py"'))
    (tmp_path / "make.py").write_text(MODEL_CLASS + LOADER)
    assert main(["train", str(cfg), "--output", str(tmp_path / "o")]) == 1
    assert "imports must be a list of .py files or module names" in capsys.readouterr().err


def test_predict_reports_non_finite_rows_as_valid_json(backend: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # a NaN row printed "class": 0, "probability": NaN: a wrong class, and not JSON
    ckpt = _train(tmp_path, backend, in_loader=True, capsys=capsys)
    inputs = tmp_path / "in.csv"
    inputs.write_text("a,b,c\n1,0,0.2\nnan,1,0.4\n0,1,\n0,inf,-inf\n0,1,0.4\n")
    assert main(["predict", str(ckpt), "--input", str(inputs), "--backend", backend]) == 0
    out = capsys.readouterr()
    preds = [_strict_json(v) for v in out.out.splitlines()]
    assert [p["sample"] for p in preds] == [0, 1, 2, 3, 4]
    assert [p["class"] for p in preds] == [1, None, None, None, 0]
    assert preds[1] == {"sample": 1, "class": None, "probability": None,
                        "error": "input columns [0] are NaN or missing; no prediction"}
    assert preds[2]["error"] == "input columns [2] are NaN or missing; no prediction"
    assert preds[3]["error"] == "input columns [1, 2] are infinite; no prediction"
    assert "3 of 5 samples have no prediction (samples 1, 2, 3)" in out.err
    # the good rows get what they get without the bad ones
    clean = tmp_path / "clean.csv"
    clean.write_text("1,0,0.2\n0,1,0.4\n")
    assert main(["predict", str(ckpt), "--input", str(clean), "--backend", backend]) == 0
    assert [_strict_json(v) for v in capsys.readouterr().out.splitlines()] == \
        [{**preds[0], "sample": 0}, {**preds[4], "sample": 1}]
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,0,0.2\n0,1\n")
    assert main(["predict", str(ckpt), "--input", str(ragged)]) == 1
    assert "sample 1 has 2 values, sample 0 has 3" in capsys.readouterr().err


def test_non_finite_outputs_get_no_prediction(backend: str) -> None:
    model = ember_nn.Dense(2, 2, key=0)
    state = model.state_dict()
    state["bias"] = ember.asarray(np.array([np.nan, 0.0], np.float32))
    model.load_state_dict(state)
    rows = [[1.0, 2.0], [3.0, 4.0]]
    for loss, empty in (("sparse_categorical_cross_entropy", {"class": None,
                                                              "probability": None}),
                        ("mse", {"output": None})):
        lines, failed = predict_lines(model, rows, loss=loss, scaling={})
        assert failed == [0, 1]
        assert [_strict_json(v) for v in lines] == [
            {"sample": i, **empty, "error": "the model's output is not finite (NaN or infinite)"}
            for i in range(2)]
    good = ember_nn.Dense(2, 2, key=0)
    lines, failed = predict_lines(good, rows, loss="mse", scaling={})
    want = good(ember.asarray(rows, dtype=ember.float32)).numpy()
    assert failed == []
    np.testing.assert_allclose([_strict_json(v)["output"] for v in lines], want, rtol=1e-6)


DIVERGING = """
[data]
source = "python"
loader = "make.py:load"
scale = "none"
[model]
class = "Dense"
in_features = 3
out_features = 1
[optimizer]
class = "SGD"
learning_rate = 50.0
[training]
epochs = 30
batch_size = 4
loss = "mse"
{guard}
[output]
plot = false
"""

REGRESSION = '''
def load():
    xs = [[float(i), float(i % 3), 1.0] for i in range(40)]
    return xs, [[3.0 * i] for i in range(40)]
'''


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # NumPy's own
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_ember_train_stops_a_diverging_run(backend: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # it logged nan/inf losses for every epoch with no warning
    (tmp_path / "make.py").write_text(REGRESSION)
    cfg = tmp_path / "run.toml"
    cfg.write_text(DIVERGING.format(guard=""))
    out = tmp_path / "out"
    assert main(["train", str(cfg), "--backend", backend, "--output", str(out),
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "TerminateOnNaN: the training loss became" in err and "at epoch 1, batch" in err
    assert "terminate_on_nan = false" in err and "No checkpoint was written" in err
    assert not (out / "checkpoint").exists()
    rows = (out / "history.csv").read_text().splitlines()
    assert rows[0] == "epoch,loss" and len(rows) == 2  # the epoch it stopped in
    # switched off, the run goes on; its JSON files stay valid JSON (NaN -> null)
    cfg.write_text(DIVERGING.format(guard="terminate_on_nan = false"))
    assert main(["train", str(cfg), "--backend", backend, "--output", str(out),
                 "--no-progress"]) == 0
    metrics = _strict_json((out / "metrics.json").read_text())
    assert metrics["epochs"] == 30 and metrics["final"]["loss"] is None
    extra = ember_nn.load_checkpoint(out / "checkpoint").extra
    assert extra["history"]["loss"][-1] is None and extra["test"]["loss"] is None
    assert all(v is None or math.isfinite(v) for v in extra["history"]["loss"])
    cfg.write_text(DIVERGING.format(guard='terminate_on_nan = "yes"'))
    assert main(["train", str(cfg), "--output", str(out)]) == 1
    assert "terminate_on_nan must be true or false, got 'yes'" in capsys.readouterr().err
