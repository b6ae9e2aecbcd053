"""Pipeline objects: named stages, the stage registry and built-in kinds (against NumPy), config
and TOML round trips, errors that name the stage and the item."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError
from ember_nn.pipelines import _pipeline, _serving, _stages
from ember_nn.pipelines._pipeline import FeaturePipeline, Pipeline, StageError
from ember_nn.pipelines._stages import (
    Argmax,
    Call,
    Cast,
    Normalize,
    OneHot,
    Reshape,
    Softmax,
    Stage,
    build_stage,
    register_stage,
)


@register_stage("test_offset")
def offset(x, amount=1.0):
    return ember.asarray(x) + amount


@register_stage("test_clip")
class Clip(Stage):
    def __init__(self, low: float = 0.0, high: float = 1.0) -> None:
        self.low, self.high = low, high

    def __call__(self, x):
        return ember.clip(ember.asarray(x), self.low, self.high)

    def get_config(self) -> dict:
        return {"low": self.low, "high": self.high}


def test_builtin_stages_match_numpy(backend: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    mean, std = [0.5, -1.0, 2.0], [2.0, 0.5, 1.5]
    got = Normalize(mean=mean, std=std)(ember.asarray(x))
    assert got.backend == backend
    np.testing.assert_allclose(got.numpy(), (x - np.array(mean)) / np.array(std), rtol=1e-6)
    np.testing.assert_allclose(Normalize(mean=1.0, std=4.0)(x.tolist()).numpy(), (x - 1) / 4,
                               rtol=1e-6)
    assert Cast("float32")([1, 2]).dtype == ember.float32
    assert Reshape([-1, 5])(ember.asarray(x)).shape == (3, 5)
    np.testing.assert_array_equal(OneHot(4)([0, 3, 1]).numpy(), np.eye(4, dtype=np.float32)[[0, 3, 1]])
    np.testing.assert_array_equal(Argmax()(ember.asarray(x)).numpy(), x.argmax(-1))
    np.testing.assert_array_equal(Argmax(axis=0)(ember.asarray(x)).numpy(), x.argmax(0))
    e = np.exp(x - x.max(-1, keepdims=True))
    np.testing.assert_allclose(Softmax()(ember.asarray(x)).numpy(), e / e.sum(-1, keepdims=True),
                               rtol=1e-5)
    assert Normalize(mean=2.0, std=2.0)([2, 4]).dtype == ember.float32  # ints become float32


def test_pipeline_runs_stages_in_order(backend: str) -> None:
    pipe = Pipeline([("offset", Call("test_offset", amount=1.0)), ("scale", Normalize(0.0, 2.0)),
                     ("label", Argmax())])
    x = np.array([[1.0, 5.0, 3.0], [9.0, 0.0, 1.0]], np.float32)
    assert pipe.run(ember.asarray(x)).tolist() == [1, 0]
    assert pipe.names == ["offset", "scale", "label"]
    assert isinstance(pipe["scale"], Normalize) and len(pipe) == 3
    assert pipe.map([[1.0, 2.0], [3.0, 0.0]])[1].item() == 0
    twice = Pipeline({"twice": lambda v: 2 * v, "plus": lambda v: v + 1})
    assert twice.map([1, 2, 3]) == [3, 5, 7]
    batch = Pipeline([("cast", Cast())]).run_batch([[1, 2], [3, 4], [5, 6]])
    assert batch.shape == (3, 2) and batch.dtype == ember.float32


def test_config_round_trip_rebuilds_the_same_pipeline(backend: str) -> None:
    pipe = Pipeline([("cast", Cast("float32")), ("norm", Normalize([1.0, 2.0], [3.0, 4.0])),
                     ("clip", Clip(0.0, 0.5)), ("offset", Call("test_offset", amount=2.5)),
                     ("fn", offset), ("shape", Reshape([2, 1])), ("soft", Softmax(axis=0)),
                     ("label", Argmax(axis=0)), ("hot", OneHot(3))])
    cfg = pipe.get_config()
    assert json.loads(json.dumps(cfg)) == cfg
    assert cfg["stages"][1] == {"name": "norm", "kind": "normalize", "mean": [1.0, 2.0],
                                "std": [3.0, 4.0]}
    assert cfg["stages"][3] == {"name": "offset", "kind": "call", "fn": "test_offset",
                                "amount": 2.5}
    assert cfg["stages"][4] == {"name": "fn", "kind": "call", "fn": "test_offset"}
    again = Pipeline.from_config(cfg)
    assert again.get_config() == cfg
    x = [4.0, 6.0]
    np.testing.assert_array_equal(again.run(x).numpy(), pipe.run(x).numpy())
    # a registered function also works as a kind of its own
    assert build_stage({"kind": "test_offset", "amount": 3})(1).item() == 4


def test_toml_form(tmp_path: Path) -> None:
    text = """
backend = "numpy"
[pipeline]
[[pipeline.stages]]
name = "features"
kind = "normalize"
mean = [1.0, 1.0]
std = [2.0, 2.0]

[[pipeline.stages]]
name = "label"
kind = "argmax"
"""
    path = tmp_path / "p.toml"
    path.write_text(text)
    pipe = Pipeline.from_toml(path)
    assert pipe.names == ["features", "label"]
    assert pipe.run([[3.0, 1.0], [1.0, 9.0]]).tolist() == [0, 1]
    import tomllib

    doc = tomllib.loads(text)
    assert Pipeline.from_toml(doc).get_config() == pipe.get_config()
    assert Pipeline.from_toml(doc["pipeline"]).get_config() == pipe.get_config()
    assert Pipeline.from_toml(tomllib.loads(pipe.to_toml())).get_config() == pipe.get_config()
    nested = tomllib.loads(pipe.to_toml("serve.preprocess"))
    assert Pipeline.from_toml(nested, table="serve.preprocess").names == ["features", "label"]
    feats = FeaturePipeline.from_toml(path)
    assert isinstance(feats, FeaturePipeline)
    with pytest.raises(ConfigError, match=r"no \[preprocess\] table"):
        Pipeline.from_toml(path, table="preprocess")
    (tmp_path / "bad.toml").write_text("[pipeline\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Pipeline.from_toml(tmp_path / "bad.toml")


def test_stage_errors_name_the_stage_and_the_item(backend: str) -> None:
    pipe = Pipeline([("cast", Cast()), ("norm", Normalize([0.0, 0.0], [1.0, 1.0])),
                     ("label", Argmax())])
    with pytest.raises(StageError) as info:
        pipe.map([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0, 3.0]])
    err = info.value
    assert (err.stage, err.position, err.index) == ("norm", 1, 2)
    assert "stage 'norm' (2 of 3) failed on item 2: ShapeError" in str(err)
    assert isinstance(err.__cause__, ember.ShapeError)
    with pytest.raises(StageError, match=r"stage 'cast' \(1 of 3\) failed: "):
        pipe.run("text")
    with pytest.raises(ember.ShapeError, match="item 1 gives shape"):
        Pipeline([("id", Cast())]).run_batch([[1, 2], [1, 2, 3]])


def test_bad_configs_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="two stages are named 'a'"):
        Pipeline([("a", Cast()), ("a", Argmax())])
    with pytest.raises(ConfigError, match="stage 'a' is int, not callable"):
        Pipeline([("a", 3)])
    with pytest.raises(ConfigError, match="stage 0 must be a"):
        Pipeline([Cast()])
    with pytest.raises(ConfigError, match=r"unknown stage kind 'nope'.*known kinds"):
        Pipeline.from_config({"stages": [{"name": "x", "kind": "nope"}]})
    with pytest.raises(ConfigError, match=r"pipeline stage 1 needs a name"):
        Pipeline.from_config({"stages": [{"kind": "cast"}]})
    with pytest.raises(ConfigError, match=r"stage 'x' \(1\) \(kind 'cast'\).*unexpected"):
        Pipeline.from_config({"stages": [{"name": "x", "kind": "cast", "dtyp": "float32"}]})
    with pytest.raises(ConfigError, match="std must be positive"):
        Normalize(0.0, 0.0)
    with pytest.raises(ConfigError, match="dtype must be a dtype name"):
        Cast("float33")
    with pytest.raises(ConfigError, match="no function registered as 'missing'"):
        Call("missing")
    with pytest.raises(ConfigError, match=r"stage 'anon' \(1\) is .*lambda.*register"):
        Pipeline([("anon", lambda v: v)]).get_config()
    with pytest.raises(ConfigError, match="already taken"):
        register_stage("cast")(Clip)
    with pytest.raises(ConfigError, match="unknown keys"):
        Pipeline.from_config({"stages": [], "extra": 1})


def test_feature_pipeline_returns_numeric_tensors(backend: str) -> None:
    feats = FeaturePipeline([("scale", Normalize(mean=0.0, std=10.0))])
    out = feats.run_batch([[10, 20], [30, 40]])
    assert out.backend == backend
    np.testing.assert_allclose(out.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    assert feats.feature_shape([1, 2]) == (2,)
    with pytest.raises(ember.DTypeError, match="add a 'cast' stage"):
        FeaturePipeline([("same", lambda v: v)]).run(ember.asarray([True, False]))


@pytest.mark.parametrize("module", [_stages, _pipeline, _serving])
def test_docstring_examples(module: object) -> None:
    with ember.use_backend("numpy"):
        globs = {"ember": ember, "ember_nn": ember_nn, "asyncio": __import__("asyncio"),
                 **{k: getattr(module, k) for k in dir(module) if not k.startswith("__")},
                 **{k: getattr(_stages, k) for k in _stages.__all__}}
        result = doctest.testmod(module, globs=globs, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.failed == 0
