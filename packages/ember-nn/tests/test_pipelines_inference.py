"""InferencePipeline: batched prediction against the model's own numbers, save/load in one
call (its own directory, or what ``ember train`` writes), and dynamic batching of concurrent
async requests: few model calls, each caller its own row, per-caller errors."""

from __future__ import annotations

import asyncio
import doctest
import json
import math
import threading
from pathlib import Path
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError
from ember_nn.pipelines import _inference
from ember_nn.pipelines._inference import InferencePipeline
from ember_nn.pipelines._pipeline import FeaturePipeline, Pipeline, StageError
from ember_nn.pipelines._stages import Argmax, Cast, Normalize, Softmax

MEAN, STD = [1.0, -2.0, 0.5, 3.0], [2.0, 0.5, 1.0, 4.0]


def _model() -> ember_nn.Module:
    return ember_nn.MLP(in_features=4, hidden=[16], out_features=3, key=0)


def _reference(model: ember_nn.Module, x: np.ndarray) -> np.ndarray:
    """The MLP's logits for ``x`` in NumPy, from its weights."""
    w = {k: v.numpy() for k, v in model.state_dict().items()}
    kernels = sorted(k for k in w if k.endswith("weight"))
    biases = sorted(k for k in w if k.endswith("bias"))
    h = (x - np.array(MEAN)) / np.array(STD)
    for i, (k, b) in enumerate(zip(kernels, biases, strict=True)):
        h = h @ w[k] + w[b]
        if i < len(kernels) - 1:
            h = np.maximum(h, 0)
    return h


def _inputs(n: int) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(n, 4)).astype(np.float32)


class Counting:
    """A model wrapper that counts calls and the batch size of each."""

    def __init__(self, model: Any) -> None:
        self.model, self.sizes = model, []
        self.lock = threading.Lock()

    def __call__(self, x: ember.Tensor) -> ember.Tensor:
        with self.lock:
            self.sizes.append(int(x.shape[0]))
        return self.model(x)


def _pipe(**kw: Any) -> InferencePipeline:
    return InferencePipeline(_model(), Pipeline([("cast", Cast()), ("scale", Normalize(MEAN, STD))]),
                             **kw)


def test_predict_matches_the_model_in_batches(backend: str) -> None:
    pipe = _pipe(batch_size=3)
    x = _inputs(10)
    counting = Counting(pipe.model)
    pipe.model = counting
    out = pipe.predict(x.tolist())
    assert out.backend == backend and out.shape == (10, 3)
    np.testing.assert_allclose(out.numpy(), _reference(counting.model, x), rtol=1e-4, atol=1e-5)
    assert counting.sizes == [3, 3, 3, 1]
    labelled = InferencePipeline(counting.model, pipe.preprocess, Pipeline([("label", Argmax())]))
    np.testing.assert_array_equal(labelled.predict(ember.asarray(x)).numpy(),
                                  _reference(counting.model, x).argmax(-1))


def test_a_feature_pipeline_runs_on_each_sample(backend: str) -> None:
    feats = FeaturePipeline([("cast", Cast()), ("scale", Normalize(MEAN, STD))])
    pipe = InferencePipeline(_model(), feats, batch_size=4)
    x = _inputs(6)
    np.testing.assert_allclose(pipe.predict(x.tolist()).numpy(),
                               _reference(pipe.model, x), rtol=1e-4, atol=1e-5)
    with pytest.raises(StageError, match=r"stage 'scale' .* failed on item 5: ShapeError"):
        pipe.predict([[0.0] * 4] * 5 + [[0.0] * 3])


def test_save_and_load_in_one_call(backend: str, tmp_path: Path) -> None:
    pipe = InferencePipeline(_model(), FeaturePipeline([("cast", Cast()),
                                                        ("scale", Normalize(MEAN, STD))]),
                             Pipeline([("probs", Softmax())]), batch_size=7)
    assert pipe.save(tmp_path / "served") == tmp_path / "served"
    spec = json.loads((tmp_path / "served" / "inference.json").read_text())
    assert spec["format"] == "ember-inference" and spec["batch_size"] == 7
    assert spec["preprocess"]["class"] == "FeaturePipeline"
    assert spec["postprocess"] == {"class": "Pipeline", "stages": [
        {"name": "probs", "kind": "softmax", "axis": -1}]}
    x = _inputs(9)
    for path in (tmp_path / "served", tmp_path / "served" / "checkpoint"):
        again = InferencePipeline.load(path)
        assert isinstance(again.preprocess, FeaturePipeline) and again.batch_size == 7
        np.testing.assert_allclose(again.predict(x.tolist()).numpy(), pipe.predict(x.tolist()).numpy(),
                                   rtol=1e-6)
        assert again.predict(x.tolist()).backend == backend
    pipe.save(tmp_path / "served")  # saving again replaces both
    (tmp_path / "served" / "inference.json").write_text('{"format": "other"}')
    with pytest.raises(ConfigError, match="not an ember-inference file"):
        InferencePipeline.load(tmp_path / "served")


def test_load_a_training_checkpoint_uses_its_scaling(backend: str, tmp_path: Path) -> None:
    model = _model()
    ember_nn.save(model, tmp_path / "run" / "checkpoint",
                  extra={"scaling": {"mean": MEAN, "std": STD}, "loss": "mse"})
    pipe = InferencePipeline.load(tmp_path / "run" / "checkpoint")
    assert pipe.preprocess is not None and pipe.preprocess.names == ["float32", "scale"]
    assert pipe.postprocess is None
    x = _inputs(5)
    np.testing.assert_allclose(pipe.predict(x.tolist()).numpy(), _reference(model, x),
                               rtol=1e-4, atol=1e-5)


def _serve(pipe: InferencePipeline, rows: list[Any], **kw: Any) -> tuple[list[Any], Any]:
    async def main() -> tuple[list[Any], Any]:
        async with pipe.serve_async(**kw) as server:
            out = await asyncio.gather(*(server.predict(r) for r in rows),
                                       return_exceptions=True)
        return out, server.stats

    return asyncio.run(main())


@pytest.mark.parametrize(("n", "max_batch"), [(10, 4), (32, 8), (5, 16), (1, 1)])
def test_dynamic_batching_few_calls_each_caller_its_row(backend: str, n: int,
                                                        max_batch: int) -> None:
    pipe = _pipe()
    counting = Counting(pipe.model)
    pipe.model = counting
    x = _inputs(n)
    out, stats = _serve(pipe, x.tolist(), max_batch_size=max_batch, max_wait_ms=50)
    assert len(counting.sizes) <= math.ceil(n / max_batch)
    assert stats.batches == len(counting.sizes) and stats.requests == n
    assert max(counting.sizes) <= max_batch and sum(counting.sizes) == n
    ref = _reference(counting.model, x)
    for i, y in enumerate(out):
        assert isinstance(y, ember.Tensor) and y.backend == backend and y.shape == (3,)
        np.testing.assert_allclose(y.numpy(), ref[i], rtol=1e-4, atol=1e-5)
    assert not [t for t in threading.enumerate() if t.name.startswith("ember-serve")]


def test_a_bad_request_fails_alone_a_failing_model_fails_its_batch(backend: str) -> None:
    pipe = _pipe()
    rows: list[Any] = _inputs(4).tolist()
    rows[2] = [1.0, 2.0]  # the wrong number of features
    out, stats = _serve(pipe, rows, max_batch_size=8, max_wait_ms=50)
    assert isinstance(out[2], ember.ShapeError) and "this request's input has shape (2,)" \
        in str(out[2])
    assert all(isinstance(out[i], ember.Tensor) for i in (0, 1, 3)) and stats.batches == 1

    def broken(x: ember.Tensor) -> ember.Tensor:
        raise RuntimeError("out of memory")

    pipe.model = broken
    out, _ = _serve(pipe, rows[:2], max_batch_size=8, max_wait_ms=50)
    assert all(isinstance(e, RuntimeError) and "out of memory" in str(e) for e in out)


def test_postprocessed_labels_per_caller(backend: str) -> None:
    pipe = InferencePipeline(_model(), Pipeline([("scale", Normalize(MEAN, STD))]),
                             Pipeline([("label", Argmax())]))
    x = _inputs(12)
    out, stats = _serve(pipe, x.tolist(), max_batch_size=5, max_wait_ms=50)
    assert [y.item() for y in out] == _reference(pipe.model, x).argmax(-1).tolist()
    assert stats.batch_sizes == [5, 5, 2]


def test_predict_async_and_cancelled_callers(backend: str) -> None:
    pipe = _pipe(batch_size=4)
    x = _inputs(6)

    async def main() -> list[Any]:
        calls = [asyncio.create_task(pipe.predict_async(r)) for r in x.tolist()]
        await asyncio.sleep(0)
        calls[1].cancel()  # this caller gives up before its batch runs
        out = await asyncio.gather(*calls, return_exceptions=True)
        await pipe.aclose()
        return out

    out = asyncio.run(main())
    assert isinstance(out[1], asyncio.CancelledError)
    ref = _reference(pipe.model, x)
    for i in (0, 2, 3, 4, 5):
        np.testing.assert_allclose(out[i].numpy(), ref[i], rtol=1e-4, atol=1e-5)
    assert not [t for t in threading.enumerate() if t.name.startswith("ember-serve")]


def test_closed_servers_and_bad_arguments() -> None:
    pipe = _pipe()

    async def main() -> None:
        server = pipe.serve_async()
        await server.aclose()
        with pytest.raises(ember.ArgumentError, match="the server is closed"):
            await server.predict([0.0] * 4)

    asyncio.run(main())
    with pytest.raises(ember.ArgumentError, match="max_batch_size must be a positive integer"):
        pipe.serve_async(max_batch_size=0)
    with pytest.raises(ember.ArgumentError, match="max_wait_ms must be a number >= 0"):
        pipe.serve_async(max_wait_ms=-1)
    with pytest.raises(ember.ArgumentError, match="batch_size must be a positive integer"):
        InferencePipeline(_model(), batch_size=0)
    with pytest.raises(ConfigError, match="preprocess must be a Pipeline"):
        InferencePipeline(_model(), preprocess=3)
    with pytest.raises(ember.ArgumentError, match=r"the model must be an ember_nn\.Module"):
        InferencePipeline(abs).save("nowhere")
    with pytest.raises(ember.ArgumentError, match="no inputs"):
        pipe.predict([])


def test_docstring_examples() -> None:
    with ember.use_backend("numpy"):
        globs = {"ember": ember, "ember_nn": ember_nn, "asyncio": asyncio,
                 "InferencePipeline": InferencePipeline, "Pipeline": Pipeline, "Argmax": Argmax,
                 "scaling_preprocess": _inference.scaling_preprocess, "Cast": Cast}
        assert doctest.testmod(_inference, globs=globs).failed == 0
