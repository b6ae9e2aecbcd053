"""The MAD training step on CUDA: ``compile_step``'s program is captured as one CUDA graph (no
fallback warning) for the paper's three backbones, and the compiled run gives the eager run's
numbers. Needs a CUDA GPU (CI has none: these run on the GPU machine)."""

from __future__ import annotations

import warnings

import ember
import ember_mad
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ember_torch")
if not torch.cuda.is_available():
    pytest.skip("needs a CUDA GPU", allow_module_level=True)

from ember_torch import _compiler  # noqa: E402

TINY = {"task_params": {"vocab_size": 16, "seq_len": 32}, "num_train_examples": 256,
        "num_test_examples": 64, "dim": 32, "epochs": 3, "lr": 3e-3, "batch_size": 32,
        "progress": False, "backend": "torch", "device": "cuda", "precision": "32"}


@pytest.mark.parametrize("mixer", ["mh-attention", "mamba", "mh-hyena"])
def test_mad_step_is_one_cuda_graph(mixer: str) -> None:
    start = _compiler.CapturedGraph.count
    layers = f"{mixer},swiglu,{mixer},swiglu"
    eager = ember_mad.train("in-context-recall", layers, compile=False, **TINY)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ember.CompileWarning)  # a failed capture warns
        compiled = ember_mad.train("in-context-recall", layers, compile=True, **TINY)  # type: ignore[arg-type]
    assert _compiler.CapturedGraph.count > start, "no CUDA graph was captured"
    for a, b in zip(compiled.history, eager.history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=2e-3)
        assert a["test_accuracy"] == pytest.approx(b["test_accuracy"], abs=0.02)
