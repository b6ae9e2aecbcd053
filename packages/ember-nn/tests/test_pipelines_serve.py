"""Config-driven pipelines in ``ember train``: the audio feature stage kinds a ``[pipeline]``
table names, the run's features saved with its checkpoint (``ember predict`` on raw inputs),
``[serve]`` (the trained model served to concurrent clients, checked against batched
prediction), the load tests behind it, and ``StageError`` as a ``DataError``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import ember
import ember_nn
import numpy as np
import pytest
from ember._cli import main
from ember_nn import ConfigError
from ember_nn.data import DataError
from ember_nn.features import MFCC, LogMel, Resample, Spectrogram
from ember_nn.pipelines._inference import InferencePipeline
from ember_nn.pipelines._load_test import one_at_a_time, serve_concurrently
from ember_nn.pipelines._pipeline import FeaturePipeline, Pipeline, StageError
from ember_nn.pipelines._serve_run import serve_options
from ember_nn.pipelines._stages import Argmax

WAVES = np.random.default_rng(0).standard_normal((3, 800)).astype(np.float32)

STAGES = [
    ({"kind": "spectrogram", "n_fft": 128, "hop_length": 64}, Spectrogram(128, hop_length=64)),
    ({"kind": "log_mel", "sample_rate": 8000, "n_fft": 128, "hop_length": 64, "n_mels": 16,
      "ref": "max", "channels_last": True},
     LogMel(8000, 128, 64, 16, ref="max", channels_last=True)),
    ({"kind": "mfcc", "sample_rate": 8000, "n_mfcc": 8, "n_fft": 128, "hop_length": 64,
      "n_mels": 16}, MFCC(8000, n_mfcc=8, n_fft=128, hop_length=64, n_mels=16)),
    ({"kind": "resample", "orig_freq": 8000, "new_freq": 6000}, Resample(8000, 6000)),
]


@pytest.mark.parametrize(("spec", "module"), STAGES, ids=[s["kind"] for s, _ in STAGES])
def test_feature_stage_kinds_are_the_feature_modules(backend: str, spec: dict[str, object],
                                                     module: ember_nn.Module) -> None:
    pipe = FeaturePipeline.from_config({"stages": [{"name": "f", **spec}]})
    got = pipe.run_batch(list(WAVES))
    want = module(ember.asarray(WAVES))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-4)
    # the config holds the arguments given (defaults left out) and survives TOML
    assert pipe.get_config() == {"stages": [{"name": "f", **spec}]}
    again = FeaturePipeline.from_toml(tomllib.loads(pipe.to_toml()))
    assert again.get_config() == pipe.get_config()


def test_batchable_pipelines_run_in_chunks_with_the_same_numbers(backend: str) -> None:
    from ember_nn.pipelines._stages import Cast, Normalize, Reshape

    spec, _ = STAGES[1]
    pipe = FeaturePipeline([("f", FeaturePipeline.from_config(
        {"stages": [{"name": "f", **spec}]})["f"]), ("n", Normalize(mean=1.0, std=2.0)),
        ("c", Cast("float32"))])
    assert pipe.batchable
    x = ember.asarray(np.concatenate([WAVES] * 3))
    chunked = pipe.run_batch(x, chunk=4)
    alone = ember.stack([pipe.run(x[i]) for i in range(x.shape[0])], axis=0)
    np.testing.assert_allclose(chunked.numpy(), alone.numpy(), rtol=1e-6, atol=1e-5)
    assert not FeaturePipeline([("r", Reshape([-1]))]).batchable  # a sample's shape
    # a failure in a chunk is found again sample by sample: the error names the sample
    bad = np.concatenate([WAVES, WAVES[:, :100]], axis=1)  # 900 values, 800 means
    pipe_bad = FeaturePipeline([("n", Normalize(mean=[0.0] * 800, std=[1.0] * 800))])
    with pytest.raises(StageError, match="stage 'n' \\(1 of 1\\) failed on item 0"):
        pipe_bad.run_batch(ember.asarray(bad))


def test_feature_stage_errors_name_the_kind() -> None:
    with pytest.raises(ConfigError, match=r"log_mel.*n_bands"):
        FeaturePipeline.from_config({"stages": [{"name": "f", "kind": "log_mel",
                                                 "sample_rate": 8000, "n_bands": 3}]})
    with pytest.raises(ConfigError, match="window"):
        FeaturePipeline.from_config({"stages": [{"name": "f", "kind": "spectrogram",
                                                 "window": "triangle-ish"}]})


def test_stage_error_is_a_data_error() -> None:
    pipe = Pipeline([("half", lambda v: v / 2), ("boom", lambda v: 1 / 0)])
    with pytest.raises(DataError) as info:
        pipe.map([1.0, 2.0])
    err = info.value
    assert isinstance(err, StageError) and (err.stage, err.index, err.position) == ("boom", 0, 1)
    assert err.epoch is None and isinstance(err.__cause__, ZeroDivisionError)
    assert "stage 'boom' (2 of 2) failed on item 0: ZeroDivisionError" in str(err)


# -- load tests ---------------------------------------------------------------------------

def _pipe() -> InferencePipeline:
    model = ember_nn.MLP(in_features=4, hidden=[8], out_features=3, key=0)
    return InferencePipeline(model, None, Pipeline([("label", Argmax())]))


def test_served_answers_are_the_batched_ones(backend: str) -> None:
    rows = np.random.default_rng(1).standard_normal((40, 4)).tolist()
    pipe = _pipe()
    want = pipe.predict(rows).tolist()
    alone = one_at_a_time(pipe, rows, warmup=2)
    assert alone.outputs == want and alone.mean_batch == 1.0 and len(alone.latencies) == 40
    served = serve_concurrently(pipe, rows, clients=8, max_batch_size=4, warmup=0)
    assert served.outputs == want and served.clients == 8
    assert 1.0 <= served.mean_batch <= 4.0
    summary = served.summary()
    assert summary["requests"] == 40 and summary["p50_ms"] <= summary["p95_ms"]


def test_load_test_arguments_are_checked() -> None:
    pipe = _pipe()
    with pytest.raises(ember.ArgumentError, match="no requests"):
        one_at_a_time(pipe, [])
    with pytest.raises(ember.ArgumentError, match="clients must be a positive integer, got 0"):
        serve_concurrently(pipe, [[0.0] * 4], clients=0)


def test_serve_table_is_checked() -> None:
    assert serve_options(None) is None
    assert serve_options({"clients": 4}) == {"requests": 2000, "clients": [4],
                                             "max_batch_size": 32, "max_wait_ms": 0.0}
    for bad, match in [({"client": 4}, "unknown keys \\['client'\\]"),
                       ({"clients": [4, 0]}, "clients must be a positive integer, got 0"),
                       ({"requests": 2.5}, "requests must be a positive integer"),
                       ({"max_wait_ms": -1}, "max_wait_ms"), ({"clients": []}, "at least one")]:
        with pytest.raises(ConfigError, match=match):
            serve_options(bad)


# -- ember train with [pipeline] and [serve] ----------------------------------------------

LOADER = """
import numpy as np

def load():
    # two classes of 400-sample clips: a low tone (300 Hz) or a high one (2500 Hz), in noise
    rng = np.random.default_rng(0)
    t = np.arange(400) / 8000
    y = np.arange(48) % 2
    f = np.where(y == 1, 2500.0, 300.0)[:, None]
    x = np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3, (48, 1))) + 0.3 * rng.standard_normal((48, 400))
    return x.astype(np.float32), y
"""

RUN = """
seed = 0
[data]
source = "python"
loader = "tones.py:load"
test_size = 0.25
[[pipeline.stages]]
name = "features"
kind = "log_mel"
sample_rate = 8000
n_fft = 128
hop_length = 64
n_mels = 8
channels_last = true
[[pipeline.stages]]
name = "flat"
kind = "reshape"
shape = [-1]
[model]
class = "MLP"
in_features = 56
hidden = [16]
out_features = 2
[optimizer]
class = "Adam"
learning_rate = 0.01
[training]
epochs = 15
batch_size = 8
loss = "sparse_categorical_cross_entropy"
metrics = ["accuracy"]
[output]
plot = false
[serve]
requests = 30
clients = [1, 5]
max_batch_size = 4
"""


def test_train_with_pipeline_and_serve(backend: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tones.py").write_text(LOADER)
    (tmp_path / "run.toml").write_text(RUN)
    out = tmp_path / "out"
    assert main(["train", str(tmp_path / "run.toml"), "--backend", backend, "--output",
                 str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert f"serving:    {out / 'serving.json'}" in text and "one at a time" in text
    report = json.loads((out / "serving.json").read_text())
    assert report["requests"] == 30 and report["test_inputs"] == 12
    assert [r["clients"] for r in report["runs"]] == [1, 1, 5]
    test_acc = json.loads((out / "metrics.json").read_text())["test"]["accuracy"]
    assert test_acc >= 0.9
    for r in report["runs"]:  # every served answer is the batched one
        assert r["agree_with_batch"] == 30 and r["requests"] == 30
        assert r["accuracy"] >= 0.9
    # ember predict takes raw clips: the saved [pipeline] makes the features
    ns: dict[str, object] = {}
    exec(LOADER, ns)
    x, y = ns["load"]()  # type: ignore[operator]
    np.savetxt(tmp_path / "clips.csv", x[:10], delimiter=",")
    assert main(["predict", str(out / "checkpoint"), "--input", str(tmp_path / "clips.csv"),
                 "--backend", backend]) == 0
    got = [json.loads(line)["class"] for line in capsys.readouterr().out.splitlines()]
    assert sum(int(g == t) for g, t in zip(got, y[:10].tolist(), strict=True)) >= 9
    # ember train wrote inference.json beside the checkpoint: one call rebuilds the pipeline
    assert (out / "inference.json").is_file()
    served = InferencePipeline.load(out, backend=backend)
    assert ember.argmax(served.predict(ember.asarray(x[:10])), axis=-1).tolist() == got


def test_bad_pipeline_table_fails_before_training(tmp_path: Path) -> None:
    (tmp_path / "tones.py").write_text(LOADER)
    (tmp_path / "run.toml").write_text(RUN.replace('kind = "log_mel"', 'kind = "log_mell"'))
    from ember_nn.pipelines._run import read_config, train_from_config

    with pytest.raises(ConfigError, match=r"\[pipeline\].*unknown stage kind 'log_mell'"):
        train_from_config(read_config(tmp_path / "run.toml"), base_dir=tmp_path,
                          output_dir=tmp_path / "out", progress=False)


def test_docstring_examples() -> None:
    import doctest

    from ember_nn.pipelines import _inference, _load_test, _stages

    with ember.use_backend("numpy"):
        for module in (_load_test, _inference):
            globs = {"ember": ember, "ember_nn": ember_nn, "asyncio": __import__("asyncio"),
                     "tempfile": __import__("tempfile"),
                     **{k: getattr(module, k) for k in dir(module) if not k.startswith("__")},
                     **{k: getattr(_stages, k) for k in _stages.__all__}}
            result = doctest.testmod(module, globs=globs, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
            assert result.attempted > 0 and result.failed == 0, module


def test_the_serving_example_config(backend: str, tmp_path: Path) -> None:
    """examples/serving/digits_served.toml as the README runs it, with fewer epochs and
    requests."""
    from ember_nn.pipelines._run import read_config, train_from_config

    example = Path(__file__).resolve().parents[3] / "examples" / "serving" / "digits_served.toml"
    cfg = read_config(example)
    cfg["serve"].update(requests=100, clients=[1, 16])
    result = train_from_config(cfg, base_dir=example.parent, backend=backend,
                               output_dir=tmp_path, epochs=3, progress=False)
    assert result.serving == tmp_path / "serving.json"
    report = json.loads(result.serving.read_text())
    assert [r["clients"] for r in report["runs"]] == [1, 1, 16]
    assert all(r["agree_with_batch"] == 100 for r in report["runs"])
    assert report["runs"][2]["mean_batch"] > 1.0  # 16 clients: the server batched them
    assert report["runs"][0]["accuracy"] >= 0.8
