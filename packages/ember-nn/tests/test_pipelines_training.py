"""TrainingPipeline: what ``ember train`` runs, from a config, then served in one call from the
output directory (the checkpoint and inference.json beside it)."""

from __future__ import annotations

import json
from pathlib import Path

import ember
import numpy as np
import pytest
from ember._cli import main
from ember_nn import ConfigError
from ember_nn.pipelines._inference import InferencePipeline
from ember_nn.pipelines._pipeline import Pipeline
from ember_nn.pipelines._stages import Argmax
from ember_nn.pipelines._training import TrainingPipeline

RUN = """
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
epochs = 12
batch_size = 8
loss = "sparse_categorical_cross_entropy"
metrics = ["accuracy"]
[output]
plot = false
"""


def _blobs(path: Path, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    x = np.stack([y * 3.0 + 4.0, -y * 2.0 + 10.0], 1) + 0.3 * rng.standard_normal((n, 2))
    rows = ["a,b,label"] + [f"{a:.4f},{b:.4f},{c}" for (a, b), c in zip(x, y, strict=True)]
    path.write_text("\n".join(rows) + "\n")
    return x, y


def test_train_then_serve_from_the_output_directory(backend: str, tmp_path: Path) -> None:
    x, y = _blobs(tmp_path / "blobs.csv")
    (tmp_path / "run.toml").write_text(RUN)
    run = TrainingPipeline.from_toml(tmp_path / "run.toml",
                                     postprocess=Pipeline([("label", Argmax())]))
    result = run.run(backend=backend, output_dir=tmp_path / "out")
    assert result.test["accuracy"] >= 0.9
    spec = json.loads((tmp_path / "out" / "inference.json").read_text())
    assert spec["checkpoint"] == "checkpoint"
    assert [s["kind"] for s in spec["preprocess"]["stages"]] == ["cast", "normalize"]
    served = InferencePipeline.load(tmp_path / "out", backend=backend)
    labels = served.predict(x.tolist())
    assert labels.backend == backend
    assert (labels.numpy() == y).mean() >= 0.9
    # the same as the trained model on the run's own scaled inputs
    sc = result.data.scaling
    raw = result.model(ember.asarray(((x - sc["mean"]) / np.array(sc["std"])).astype(np.float32)))
    np.testing.assert_array_equal(labels.numpy(), ember.argmax(raw, axis=-1).numpy())
    # the bare checkpoint serves too (scaling from the run, raw outputs)
    bare = InferencePipeline.load(result.checkpoint, backend=backend)
    assert bare.postprocess is not None  # inference.json beside it is found
    assert run.inference(result).predict(x.tolist()).tolist() == labels.tolist()
    # `ember predict` runs the pipeline saved beside the checkpoint: its argmax gives "output"
    (tmp_path / "x.csv").write_text("\n".join(f"{a},{b}" for a, b in x[:4]) + "\n")
    assert main(["predict", str(result.checkpoint), "--input", str(tmp_path / "x.csv"),
                 "--backend", backend, "--output", str(tmp_path / "p.jsonl")]) == 0
    lines = [json.loads(v) for v in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert lines == [{"sample": i, "output": int(c)} for i, c in enumerate(labels.tolist()[:4])]


def test_config_checks(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown keys"):
        TrainingPipeline({"data": {}, "model": {}, "optimizer": {}, "trainig": {}})
    with pytest.raises(ConfigError, match=r"needs a \[model\] table"):
        TrainingPipeline({"data": {}, "optimizer": {}})
    run = TrainingPipeline({"data": {}, "model": {"class": "MLP", "in_features": 2,
                                                  "hidden": [4], "out_features": 3},
                            "optimizer": {"class": "SGD", "learning_rate": 0.1}})
    assert run.build_model()(ember.ones((1, 2))).shape == (1, 3)
    assert type(run.build_optimizer()).__name__ == "SGD"
    assert run.get_config()["optimizer"]["class"] == "SGD"
