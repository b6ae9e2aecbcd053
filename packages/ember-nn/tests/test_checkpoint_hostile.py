"""Damaged and hostile checkpoints: an edit to config.json or the weights is caught by the
checksums; a hostile file with consistent checksums (deep nesting, bad dtypes and keys, absurd
shapes, huge declared sizes, unknown classes, constructors that fail) is a CheckpointError
naming the file and the problem; a config that names a huge model beside a small weights file
fails before any weight memory is taken or any initialiser runs."""

from __future__ import annotations

import json
import re
import struct
import tracemalloc
from pathlib import Path
from typing import Any

import ember
import ember_nn
import pytest
from ckpt_support import config_of, newest, rewrite, rewrite_config
from ember_nn import CheckpointError, ConfigError
from ember_nn.io import _safetensors as st


class Fragile(ember_nn.Module):
    """Its constructor fails with an AttributeError on a wrong-typed argument."""

    def __init__(self, n: Any = 2) -> None:
        super().__init__()
        self.w = ember.Variable(ember.ones((n.bit_length(),)))


def _model() -> ember_nn.Module:
    return ember_nn.Sequential(ember_nn.Dense(3, 4, key=1), ember_nn.BatchNorm(4),
                               ember_nn.LayerNorm(4), ember_nn.Dense(4, 2, key=2))


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    with ember.use_backend("numpy"):
        m = _model()
        opt = ember_nn.Adam(0.01, weight_decay=0.1)
        opt.update(m, {k: ember.ones_like(v) for k, v in m.named_trainable_variables().items()})
        return ember_nn.save(m, tmp_path / "ckpt", optimizer=opt, extra={"epoch": 1})


# -- edits the checksums catch -----------------------------------------------------------------
@pytest.mark.parametrize("edit", ["batchnorm eps", "adam weight_decay", "backend", "extra"])
def test_editing_config_json_is_caught(saved: Path, edit: str) -> None:
    config = config_of(saved)
    text = (newest(saved) / "config.json").read_text()
    if edit == "batchnorm eps":
        assert '"eps": 1e-05' in text
        text = text.replace('"eps": 1e-05', '"eps": 0.1', 1)
    elif edit == "adam weight_decay":
        text = text.replace('"weight_decay": 0.1', '"weight_decay": 0.0')
    elif edit == "backend":
        text = text.replace(f'"backend": "{config["backend"]}"', '"backend": "torch"')
    else:
        text = text.replace('"epoch": 1', '"epoch": 9')
    assert text != (newest(saved) / "config.json").read_text()
    (newest(saved) / "config.json").write_text(text)
    for load in (ember_nn.load, ember_nn.load_checkpoint):
        with pytest.raises(CheckpointError, match=r"v000001/config.json: corrupted or edited: "
                                                  r"its sha256 is [0-9a-f]{64}, but SHA256SUMS"):
            load(saved)
    with ember.use_backend("numpy"), pytest.raises(CheckpointError, match="corrupted or edited"):
        ember_nn.load_weights(_model(), saved)


def test_every_byte_flip_and_truncation_of_the_weights_is_caught(saved: Path) -> None:
    weights = newest(saved) / "model.safetensors"
    good = weights.read_bytes()
    positions = sorted({*range(0, len(good), max(1, len(good) // 97)), 0, 7, 8, len(good) - 1})
    for i in positions:
        bad = bytearray(good)
        bad[i] ^= 0x20
        weights.write_bytes(bytes(bad))
        with pytest.raises(CheckpointError, match=str(weights.parent.name)):
            ember_nn.load(saved)
    for n in (0, 7, 8, 100, len(good) - 1):
        weights.write_bytes(good[:n])
        with pytest.raises(CheckpointError, match=r"model.safetensors: .*truncated"):
            ember_nn.load(saved)
    weights.write_bytes(good)
    (newest(saved) / "SHA256SUMS").write_text("not a checksum\n")
    with pytest.raises(CheckpointError, match=r"SHA256SUMS: the line 'not a checksum' is not"):
        ember_nn.load(saved)


# -- hostile files with consistent checksums ---------------------------------------------------
def _nested_sequentials(depth: int) -> str:
    """The JSON of Sequential(Sequential(... Identity())) ``depth`` deep (built as text: the
    json module itself recurses)."""
    inner = '{"class": "Identity", "config": {}}'
    head = '{"class": "Sequential", "config": {"layers": [{"__module__": '
    return head * depth + inner + "}]}}" * depth


def _raw(**changes: Any) -> Any:
    """A config change given as raw JSON text (for values too deep for the json module)."""
    return {k: _Raw(v) for k, v in changes.items()}


class _Raw(str):
    pass


def _dense(**config: Any) -> dict[str, Any]:
    base = ember_nn.serialize(ember_nn.Dense(3, 4, key=1))
    return {"class": "Sequential", "config": {"layers": [
        {"__module__": {"class": "Dense", "config": {**base["config"], **config}}}]}}


HOSTILE_CONFIGS: list[tuple[str, Any, str]] = [
    ("deep extra", _raw(extra="[" * 5000 + "]" * 5000),
     # which message depends on the recursion limit when the parser runs: where an earlier test
     # raised it (the slow session runs every package in one process), all 5000 levels parse
     r"config.json: JSON nested (deeper than the limit of 320 levels|500\d levels deep, over "
     r"the limit of 320)"),
    ("70 nested Sequentials", _raw(model=_nested_sequentials(70)),
     "modules nested more than 64 deep"),
    ("200 nested Sequentials", _raw(model=_nested_sequentials(200)),
     r"config.json: JSON nested (deeper than the limit of 320|\d+ levels deep, over the limit "
     r"of 320)"),
    ("dtype name not a dtype", {"model": _dense(dtype={"__dtype__": "set_backend"})},
     r"\{'__dtype__': 'set_backend'\} is not the name of an ember dtype"),
    ("dtype a number", {"model": _dense(dtype={"__dtype__": 5})}, "is not the name of an ember"),
    ("dtype a dict", {"model": _dense(dtype={"__dtype__": {"a": 1}})}, "is not the name"),
    ("key a string", {"model": _dense(key={"__key__": "x"})}, r"is not a random key"),
    ("key negative", {"model": _dense(key={"__key__": -1})}, r"is not a random key"),
    ("key huge", {"model": _dense(key={"__key__": 2**70})}, r"is not a random key"),
    ("key a bool", {"model": _dense(key={"__key__": True})}, r"is not a random key"),
    ("activation a list", {"model": _dense(activation={"__callable__": [1]})},
     "is not an activation's name"),
    ("unknown activation", {"model": _dense(activation={"__callable__": "nope"})},
     "unknown activation 'nope'"),
    ("class a list", {"model": {"class": [1], "config": {}}},
     r"missing or malformed entries \['model.class'\]"),
    ("nested class a number", {"model": {"class": "Sequential", "config": {"layers": [
        {"__module__": {"class": 5, "config": {}}}]}}}, r"expected \{'class': name"),
    ("config a string", {"model": {"class": "Dense", "config": "x"}}, r"expected \{'class'"),
    ("unknown class", {"model": {"class": "Sequential", "config": {"layers": [
        {"__module__": {"class": "Evil", "config": {}}}]}}},
     "no module class named 'Evil' is registered"),
    ("positional args not a list", {"model": {"class": "Sequential", "config": {"layers": 3}}},
     r"'layers' \(the \*layers arguments\) must be a list"),
    ("constructor AttributeError", {"model": {"class": "Fragile", "config": {"n": "x"}}},
     r"cannot rebuild the model: AttributeError: 'str' object has no attribute 'bit_length'"),
    ("wrong argument", {"model": _dense(nope=1)}, "unexpected keyword argument 'nope'"),
    ("absurd size", {"model": _dense(in_features=10**12, out_features=10**12)},
     r"cannot rebuild the model|do not fit"),
    ("optimizer class", {"optimizer": {"class": "Evil", "config": {}, "step": 1}},
     "cannot rebuild the optimizer"),
    ("optimizer step", {"optimizer": {"class": "SGD", "config": {}, "step": "x"}},
     r"malformed entries \['optimizer'\]"),
    ("not an object", None, "not an ember checkpoint"),
]


@pytest.mark.parametrize(("what", "changes", "message"), HOSTILE_CONFIGS,
                         ids=[c[0] for c in HOSTILE_CONFIGS])
def test_hostile_configs_are_checkpoint_errors(saved: Path, what: str, changes: Any,
                                               message: str) -> None:
    if changes is None:
        rewrite(saved, "config.json", b"[1, 2]")
    elif any(isinstance(v, _Raw) for v in changes.values()):
        config = config_of(saved)
        text = json.dumps({**config, **{k: f"@{k}@" for k in changes}})
        for k, v in changes.items():
            text = text.replace(f'"@{k}@"', v)
        rewrite(saved, "config.json", text.encode())
    else:
        rewrite_config(saved, **changes)
    with pytest.raises(CheckpointError, match=message) as info:
        ember_nn.load_checkpoint(saved)
    assert str(newest(saved)) in str(info.value)


def _header_file(header: object, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(raw)) + raw + data


HOSTILE_HEADERS: list[tuple[str, bytes, str]] = [
    ("deep metadata", _header_file(b'{"__metadata__": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
     r"safetensors JSON nested (deeper than|\d+ levels deep, over) the limit of 3"),
    ("zero-size absurd shape", _header_file({"w": {"dtype": "F32", "shape": [0, 2**70],
                                                   "data_offsets": [0, 0]}}),
     r"shape \[0, 1180591620717411303424\] is beyond any array"),
    ("too many dimensions", _header_file({"w": {"dtype": "F32", "shape": [1] * 65,
                                                "data_offsets": [0, 4]}}, bytes(4)),
     "is beyond any array"),
    ("huge declared size", _header_file({"w": {"dtype": "F32", "shape": [2**60],
                                               "data_offsets": [0, 2**62]}}, bytes(64)),
     "truncated: header says 4611686018427387904 bytes of data, file has 64"),
    ("dtype a list", _header_file({"w": {"dtype": ["F32"], "shape": [1],
                                         "data_offsets": [0, 4]}}, bytes(4)),
     r"unknown dtype \['F32'\]"),
    ("shape a string", _header_file({"w": {"dtype": "F32", "shape": "12",
                                           "data_offsets": [0, 4]}}, bytes(4)),
     "shape must be a list of non-negative ints"),
    ("offsets floats", _header_file({"w": {"dtype": "F32", "shape": [1],
                                           "data_offsets": [0.0, 4.0]}}, bytes(4)),
     "data_offsets must be"),
    ("unknown tensors", _header_file({"w": {"dtype": "F32", "shape": [1],
                                            "data_offsets": [0, 4]}}, bytes(4)),
     r"do not fit Sequential \(as config.json describes it\): missing: "),
]


@pytest.mark.parametrize(("what", "data", "message"), HOSTILE_HEADERS,
                         ids=[c[0] for c in HOSTILE_HEADERS])
def test_hostile_weight_headers_are_checkpoint_errors(saved: Path, what: str, data: bytes,
                                                      message: str) -> None:
    rewrite(saved, "model.safetensors", data)
    with pytest.raises(CheckpointError, match=message) as info:
        ember_nn.load(saved)
    assert str(newest(saved) / "model.safetensors") in str(info.value)
    path = saved.parent / "bare.safetensors"
    path.write_bytes(data)
    if what != "unknown tensors":
        with pytest.raises(CheckpointError, match=re.escape(str(path))):
            st.load_file(path)


def test_weights_of_another_dtype_kind_are_refused(saved: Path) -> None:
    """A float32 variable cannot come back as int32, nor an int one as float (a float dtype may
    differ: a model saved in bfloat16 loads in bfloat16)."""
    with st.Reader(newest(saved) / "model.safetensors") as r:
        tensors = r.tensors(backend="numpy")[0]
    tensors["layers.0.weight"] = ember.astype(tensors["layers.0.weight"], ember.int32)
    tensors["layers.0.bias"] = ember.astype(tensors["layers.0.bias"], ember.float64)
    st.save_file(tensors, saved.parent / "w.safetensors", metadata={"format": "ember-checkpoint"})
    rewrite(saved, "model.safetensors", (saved.parent / "w.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match=r"layers.0.weight \(file has int32, model has "
                                              r"float32\)$"):
        ember_nn.load(saved)


def test_optimizer_slots_that_do_not_fit_are_refused(saved: Path) -> None:
    with st.Reader(newest(saved) / "model.safetensors") as r:
        tensors = r.tensors(backend="numpy")[0]
    tensors["optimizer/layers.0.weight/exp_avg"] = ember.ones((3,), dtype=ember.float32)
    st.save_file(tensors, saved.parent / "w.safetensors", metadata={"format": "ember-checkpoint"})
    rewrite(saved, "model.safetensors", (saved.parent / "w.safetensors").read_bytes())
    assert ember_nn.load(saved).layers[0].weight.shape == (3, 4)  # the model alone loads
    with pytest.raises(CheckpointError, match=r"v000001: the optimizer state does not load: "
                                              r".*'layers.0.weight': slots of different shapes"):
        ember_nn.load_checkpoint(saved)


# -- memory before validation -------------------------------------------------------------------
def _count_random(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    for name in ("uniform", "normal", "truncated_normal"):
        real = getattr(ember.random, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(ember.random, name, spy)
    return calls


def test_a_huge_model_beside_small_weights_fails_before_allocating(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dense(20000, 20000) in config.json, a 2x2 weight in the file: the error comes from the
    header check, with no initialiser run and no 1.6 GB taken (NumPy reports its allocations to
    tracemalloc)."""
    with ember.use_backend("numpy"):
        path = ember_nn.save(ember_nn.Dense(2, 2, key=0), tmp_path / "ckpt")
        config = config_of(path)
        config["model"]["config"].update(in_features=20000, out_features=20000)
        rewrite(path, "config.json", json.dumps(config).encode())
        calls = _count_random(monkeypatch)
        tracemalloc.start()
        try:
            with pytest.raises(CheckpointError, match=r"mis-shaped: weight \(file has \(2, 2\), "
                                                      r"model has \(20000, 20000\)\), bias \(file"):
                ember_nn.load(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert calls == [] and peak < 20_000_000, (calls, peak)


def test_loading_runs_no_initialiser_and_fills_every_variable(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = ember_nn.Sequential(ember_nn.Dense(3, 4, key=1), ember_nn.BatchNorm(4),
                            ember_nn.Conv2d(1, 2, 3, key=2), ember_nn.Embedding(5, 3, key=3),
                            ember_nn.LayerNorm(3), ember_nn.RMSNorm(3))
    for i, v in enumerate(m.variables):  # buffers too: BatchNorm's running statistics
        v.assign(ember.full(v.shape, 0.5 + i, dtype=v.dtype))
    path = ember_nn.save(m, tmp_path / "ckpt")
    calls = _count_random(monkeypatch)
    loaded = ember_nn.load(path)
    assert calls == []
    assert {k: v.tolist() for k, v in loaded.named_variables()} == {
        k: v.tolist() for k, v in m.named_variables()}
    assert [v.trainable for v in loaded.variables] == [v.trainable for v in m.variables]
    assert loaded.layers[1].running_mean.tolist() == m.layers[1].running_mean.tolist()


def test_deep_models_save_and_load_up_to_the_nesting_limit(tmp_path: Path) -> None:
    with ember.use_backend("numpy"):
        m: ember_nn.Module = ember_nn.Dense(2, 2, key=0)
        for _ in range(63):
            m = ember_nn.Sequential(m)
        path = ember_nn.save(m, tmp_path / "deep")
        loaded = ember_nn.load(path)
        assert [v.tolist() for v in loaded.variables] == [v.tolist() for v in m.variables]
        with pytest.raises(ConfigError, match="nests modules 65 deep, over the limit of 64"):
            ember_nn.save(ember_nn.Sequential(m), tmp_path / "deeper")
        with pytest.raises(ConfigError, match=r"nests \d+ levels deep, over the limit of 320"):
            ember_nn.save(ember_nn.Dense(2, 2), tmp_path / "x", extra=json.loads("[" * 400 +
                                                                                  "]" * 400))
    assert not (tmp_path / "deeper").exists() and not (tmp_path / "x").exists()
