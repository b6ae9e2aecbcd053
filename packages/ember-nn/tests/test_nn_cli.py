"""`ember train / evaluate / predict` and the config files they read, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import ember
import ember_nn
import numpy as np
import pytest
from ember._cli import main
from ember_nn.pipelines._run import read_config, train_from_config

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "digits" / "digits.toml"


def _write(tmp: Path, text: str, name: str = "run.toml") -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def _blob_csv(path: Path, n: int = 60) -> None:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    x = np.stack([y * 3.0 - 1.5, -y * 2.0 + 1.0], 1) + 0.3 * rng.standard_normal((n, 2))
    rows = ["a,b,label"] + [f"{a:.4f},{b:.4f},{c}" for (a, b), c in zip(x, y)]
    path.write_text("\n".join(rows) + "\n")


CSV_RUN = """
seed = 1
[data]
source = "csv"
path = "blobs.csv"
label = "label"
test_size = 0.25
[model]
class = "MLP"
in_features = 2
hidden = [8]
out_features = 2
[optimizer]
class = "SGD"
learning_rate = 0.2
momentum = 0.9
[training]
epochs = 15
batch_size = 8
loss = "sparse_categorical_cross_entropy"
metrics = ["accuracy"]
[output]
plot = true
"""


def test_train_evaluate_predict_from_the_command_line(backend: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _blob_csv(tmp_path / "blobs.csv")
    cfg = _write(tmp_path, CSV_RUN)
    out = tmp_path / "out"
    assert main(["train", str(cfg), "--backend", backend, "--device", "cpu", "--output",
                 str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert f"on blobs.csv with {backend}" in text and "test: loss" in text
    metrics = json.loads((out / "metrics.json").read_text())
    assert ember_nn.load_checkpoint(out / "checkpoint").backend_saved == backend
    assert metrics["backend"] == backend and metrics["epochs"] == 15
    assert metrics["test"]["accuracy"] == 1.0
    assert (out / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((out / "history.csv").read_text().splitlines()) == 16
    # evaluate gives the same test metrics, on this backend and on numpy
    for b in {backend, "numpy"}:
        assert main(["evaluate", str(out / "checkpoint"), "--backend", b]) == 0
        line = capsys.readouterr().out.splitlines()[-1]
        assert line == ", ".join(f"{k} {v:.4f}" for k, v in metrics["test"].items())
    # predict on raw (unscaled) features: the saved scaling is applied
    inputs = tmp_path / "in.json"
    inputs.write_text(json.dumps([[1.5, -1.0], [-1.5, 1.0]]))
    assert main(["predict", str(out / "checkpoint"), "--input", str(inputs),
                 "--backend", backend]) == 0
    preds = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p["class"] for p in preds] == [1, 0] and all(p["probability"] > 0.9 for p in preds)


def test_config_errors_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(tmp_path, CSV_RUN.replace("epochs = 15", "epoch = 15"))
    assert main(["train", str(bad)]) == 1
    assert "unknown keys ['epoch'] in [training]" in capsys.readouterr().err
    with pytest.raises(ember_nn.ConfigError, match=r"unknown keys \['test_szie'\] in \[data\]"):
        read_config(_write(tmp_path, CSV_RUN.replace("test_size", "test_szie"), "typo.toml"))
    es = _write(tmp_path, CSV_RUN.replace("[output]", "early_stopping = { patiense = 3 }\n[output]"),
                "es.toml")
    _blob_csv(tmp_path / "blobs.csv")
    with pytest.raises(ember_nn.ConfigError, match=r"early_stopping: .*patiense"):
        train_from_config(read_config(es), base_dir=tmp_path, output_dir=tmp_path / "es")
    with pytest.raises(ember_nn.ConfigError, match=r"needs a \[model\] table"):
        train_from_config({"data": {}, "optimizer": {}})
    with pytest.raises(ember_nn.ConfigError, match="does not exist"):
        read_config(tmp_path / "missing.toml")
    with pytest.raises(ember_nn.ConfigError, match="not valid TOML"):
        read_config(_write(tmp_path, "x = = 1", "broken.toml"))
    _blob_csv(tmp_path / "blobs.csv")
    wrong = _write(tmp_path, CSV_RUN.replace('class = "MLP"', 'class = "MLPP"'), "w.toml")
    with pytest.raises(ember_nn.ConfigError, match="no module class named 'MLPP'"):
        train_from_config(read_config(wrong), base_dir=tmp_path)


def test_python_loader_and_json_config(backend: str, tmp_path: Path) -> None:
    (tmp_path / "make.py").write_text(
        "def load():\n"
        "    xs = [[float(i % 2), 1.0 - (i % 2)] for i in range(40)]\n"
        "    return xs, [i % 2 for i in range(40)]\n")
    cfg = {"data": {"source": "python", "loader": "make.py:load", "scale": "none"},
           "model": {"class": "Dense", "in_features": 2, "out_features": 2},
           "optimizer": {"class": "Adam", "learning_rate": 0.1},
           "training": {"epochs": 20, "batch_size": 8, "metrics": ["accuracy"],
                        "loss": "sparse_categorical_cross_entropy"},
           "output": {"dir": str(tmp_path / "o"), "plot": False}}
    path = _write(tmp_path, json.dumps(cfg), "run.json")
    result = train_from_config(read_config(path), base_dir=tmp_path, backend=backend,
                               progress=False)
    assert result.test["accuracy"] == 1.0 and result.plot is None
    assert result.data.scaling == {}


def test_the_digits_example_reaches_095_test_accuracy(backend: str, tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    result = train_from_config(read_config(EXAMPLE), base_dir=EXAMPLE.parent, backend=backend,
                               output_dir=tmp_path, progress=False)
    assert result.data.x_test.shape == (359, 64) and result.history.epochs == 40
    assert result.test["accuracy"] >= 0.95, result.test
    assert result.test["macro_accuracy"] >= 0.95, result.test
    loaded = ember_nn.load(result.checkpoint)
    assert loaded.num_parameters() == 85002
    with ember.use_backend(backend):
        x = result.data.x_test
        np.testing.assert_allclose(loaded.eval()(x).numpy(), result.model.eval()(x).numpy(),
                                   rtol=1e-5, atol=1e-5)
