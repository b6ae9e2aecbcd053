"""Checkpoints: exact round trips on every backend, loading on every other backend, optimiser
state that resumes training exactly, atomic writes, and a clear error for each damaged case."""

from __future__ import annotations

import hashlib
import io
import json
import tokenize
from pathlib import Path

import ember
import ember_nn
import pytest
from ember_nn import CheckpointError
from ember_nn import _checkpoint as ck
from ember_nn import _safetensors as st
from ember_nn._checkpoint import Checkpoint, load, load_checkpoint, load_weights, save
from ember_nn._optimizers import SGD, Adam

SRC = Path(ember_nn.__file__).parent


class CkAffine(ember_nn.Module):
    def __init__(self, n: int, *, dtype: ember.DType = ember.float32) -> None:
        super().__init__()
        self.scale = ember.Variable(ember.ones((n,), dtype=dtype))
        self.shift = ember.Variable(ember.zeros((n,), dtype=dtype), trainable=False)
        self.calls = ember.Variable(ember.zeros((), dtype=ember.int64), trainable=False)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return x * self.scale + self.shift


class CkStack(ember_nn.Module):
    def __init__(self, *parts: ember_nn.Module) -> None:
        super().__init__()
        self.parts = list(parts)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        for p in self.parts:
            x = p(x)
        return x


def _loadable() -> list[str]:
    names = []
    for info in ember.backends(probe=False):
        try:
            ember.load_backend(info.name)
        except ember.EmberError:
            continue
        names.append(info.name)
    return names


def _trained(n: int = 3, seed: int = 0) -> CkStack:
    """A model whose weights its config cannot reproduce (random values assigned after)."""
    m = CkStack(CkAffine(n), CkAffine(n))
    for i, (_, v) in enumerate(m.named_variables()):
        k = ember.random.key(seed * 100 + i)
        if v.dtype.is_floating:
            v.assign(ember.random.normal(k, v.shape, dtype=v.dtype))
        else:
            v.assign(ember.full(v.shape, 7 + i, dtype=v.dtype))
    return m


def _bytes(m: ember_nn.Module) -> dict[str, tuple[str, bytes]]:
    return {k: (v.dtype.name, v.tobytes()) for k, v in m.named_variables()}


# -- round trips -------------------------------------------------------------------------------
def test_round_trip_preserves_config_and_values_exactly(backend: str, tmp_path: Path) -> None:
    m = _trained()
    out = save(m, tmp_path / "ckpt", extra={"history": {"loss": [0.5, 0.25]}, "epoch": 2})
    assert out == tmp_path / "ckpt"
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporaries left
    m2 = load(out)
    assert type(m2) is CkStack and ember_nn.serialize(m2) == ember_nn.serialize(m)
    assert _bytes(m2) == _bytes(m)
    assert {v.backend for v in m2.variables} == {backend}
    assert [v.trainable for v in m2.variables] == [v.trainable for v in m.variables]
    x = ember.tensor([1.0, -2.0, 0.5])
    assert m2(x).tobytes() == m(x).tobytes()
    c = load_checkpoint(out)
    assert isinstance(c, Checkpoint) and c.optimizer is None and c.step is None
    assert c.extra == {"history": {"loss": [0.5, 0.25]}, "epoch": 2}
    assert c.backend_saved == backend


def test_config_json_records_the_format(backend: str, tmp_path: Path) -> None:
    m = _trained()
    out = save(m, tmp_path / "ckpt")
    config = json.loads((out / "config.json").read_text())
    assert config["format"] == "ember-checkpoint" and config["version"] == 1
    assert config["ember_nn"] == ember_nn.__version__ and config["backend"] == backend
    assert config["model"] == ember_nn.serialize(m) and config["optimizer"] is None
    assert config["dtypes"]["parts.0.scale"] == "float32"
    assert config["dtypes"]["parts.1.calls"] == "int64"
    assert config["sha256"] == hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()
    assert set(st.load_file(out / "model.safetensors")) == set(m.state_dict())


def test_cross_backend_load_gives_equal_values(backend: str, tmp_path: Path) -> None:
    m = _trained(seed=1)
    out = save(m, tmp_path / "ckpt")
    for target in _loadable():
        m2 = load(out, backend=target, device="cpu")
        assert {v.backend for v in m2.variables} == {target}
        assert _bytes(m2) == _bytes(m), target
        c = load_checkpoint(out, backend=target)
        assert c.backend_saved == backend and _bytes(c.model) == _bytes(m)


def test_saved_dtypes_come_back(backend: str, tmp_path: Path) -> None:
    """A model cast after construction loads in the dtype it was saved in."""
    have = _dtypes(backend)
    dtype = ember.bfloat16 if ember.bfloat16 in have else ember.float16
    m = _trained().to(dtype=dtype)
    out = save(m, tmp_path / "ckpt")
    m2 = load(out)
    assert [v.dtype for v in m2.variables] == [dtype, dtype, ember.int64] * 2
    assert _bytes(m2) == _bytes(m)
    for target in _loadable():
        if dtype in _dtypes(target):
            assert _bytes(load(out, backend=target)) == _bytes(m)
        else:
            with pytest.raises(CheckpointError, match=f"is {dtype}, which cannot be loaded here"):
                load(out, backend=target)


def _dtypes(backend: str) -> set[ember.DType]:
    b = ember.load_backend(backend)
    allowed = b.capabilities.dtypes.get(b.default_device().split(":")[0])
    return {d for d in b.to_native_dtype if allowed is None or d in allowed}


def test_optimizer_state_resumes_training_exactly(backend: str, tmp_path: Path) -> None:
    m = _trained()
    opt = Adam(0.01)
    grads = {k: ember.full(v.shape, 0.5 + i, dtype=v.dtype)
             for i, (k, v) in enumerate(m.named_trainable_variables().items())}
    opt.update(m, grads)
    opt.update(m, grads)
    out = save(m, tmp_path / "ckpt", optimizer=opt, extra={"epoch": 2})
    keys = set(st.load_file(out / "model.safetensors"))
    assert {k for k in keys if k.startswith("optimizer/")} == {
        f"optimizer/{p}/{s}" for p in grads for s in ("exp_avg", "exp_avg_sq")}
    c = load_checkpoint(out)
    assert type(c.optimizer) is Adam and c.step == 2 and c.optimizer.step == 2
    assert c.optimizer.get_config() == opt.get_config()
    opt.update(m, grads)
    c.optimizer.update(c.model, grads)
    assert _bytes(c.model) == _bytes(m)
    config = json.loads((out / "config.json").read_text())
    assert config["optimizer"] == {"class": "Adam", "config": opt.get_config(), "step": 2}


def test_optimizer_without_slots_and_load_ignores_it(backend: str, tmp_path: Path) -> None:
    m = _trained()
    opt = SGD(0.1)
    opt.update(m, {k: ember.ones_like(v) for k, v in m.named_trainable_variables().items()})
    out = save(m, tmp_path / "ckpt", optimizer=opt)
    c = load_checkpoint(out)
    assert type(c.optimizer) is SGD and c.step == 1 and c.optimizer.learning_rate == 0.1
    assert _bytes(load(out)) == _bytes(m)


def test_load_weights_into_an_existing_model(backend: str, tmp_path: Path) -> None:
    m = _trained()
    out = save(m, tmp_path / "ckpt")
    fresh = CkStack(CkAffine(3), CkAffine(3))
    assert load_weights(fresh, out) is fresh and _bytes(fresh) == _bytes(m)
    bare = st.save_file(m.state_dict(), tmp_path / "bare.safetensors")
    other = CkStack(CkAffine(3), CkAffine(3))
    assert _bytes(load_weights(other, bare)) == _bytes(m)


# -- atomicity ---------------------------------------------------------------------------------
def test_replacing_a_checkpoint(backend: str, tmp_path: Path) -> None:
    target = tmp_path / "ckpt"
    save(_trained(seed=1), target)
    m = _trained(seed=2)
    save(m, target, extra={"v": 2})
    assert _bytes(load(target)) == _bytes(m) and load_checkpoint(target).extra == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]
    nested = save(m, tmp_path / "runs" / "a" / "ckpt")  # parents are created
    assert _bytes(load(nested)) == _bytes(m)


@pytest.mark.parametrize("stage", ["weights", "config", "swap"])
def test_a_failure_while_saving_leaves_the_old_checkpoint(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    target = tmp_path / "ckpt"
    old = _trained(seed=1)
    save(old, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(f"disk full while writing the {stage}")

    if stage == "weights":
        monkeypatch.setattr(st, "_write_body", boom)
    elif stage == "config":
        monkeypatch.setattr(st, "atomic_write", boom)
    else:
        monkeypatch.setattr(ck, "_swap_in", boom)
    with pytest.raises(OSError, match="disk full"):
        save(_trained(seed=2), target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]
    assert _bytes(load(target)) == _bytes(old)


def test_save_refuses_to_replace_what_is_not_a_checkpoint(tmp_path: Path) -> None:
    with ember.use_backend("numpy"):
        m = _trained()
        (tmp_path / "notes").mkdir()
        (tmp_path / "notes" / "todo.txt").write_text("keep me")
        with pytest.raises(CheckpointError, match=r"holding other files \(todo.txt\)"):
            save(m, tmp_path / "notes")
        (tmp_path / "file").write_text("keep me")
        with pytest.raises(CheckpointError, match="exists and is not a directory"):
            save(m, tmp_path / "file")
        assert (tmp_path / "notes" / "todo.txt").read_text() == "keep me"
        with pytest.raises(ember_nn.ConfigError, match=r"extra\['t'\] is a Tensor.*tolist"):
            save(m, tmp_path / "x", extra={"t": ember.ones((2,))})
        with pytest.raises(ember_nn.ConfigError, match="has the key 1"):
            save(m, tmp_path / "x", extra={1: "a"})
        with pytest.raises(ember.ArgumentError, match=r"expected an ember_nn.Module, got dict"):
            save({}, tmp_path / "x")  # type: ignore[arg-type]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "notes"]


# -- damaged and mismatched checkpoints ----------------------------------------------------------
@pytest.fixture
def saved(tmp_path: Path) -> Path:
    with ember.use_backend("numpy"):
        return save(_trained(), tmp_path / "ckpt", optimizer=None)


def _edit_config(path: Path, **changes: object) -> None:
    config = json.loads((path / "config.json").read_text())
    config.update(changes)
    (path / "config.json").write_text(json.dumps(config))


def test_missing_checkpoints_and_parts(saved: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="nope: no checkpoint here"):
        load(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="is a file, not a checkpoint directory"):
        load(saved / "config.json")
    (saved / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"incomplete checkpoint: model.safetensors is missing"):
        load(saved)
    (saved / "config.json").unlink()
    with pytest.raises(CheckpointError, match=r"config.json is missing"):
        load_checkpoint(saved)


def test_corrupted_and_truncated_weights(saved: Path) -> None:
    weights = saved / "model.safetensors"
    good = weights.read_bytes()
    flipped = bytearray(good)
    flipped[-3] ^= 0xFF
    weights.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match=r"model.safetensors: corrupted: its sha256 is"):
        load(saved)
    weights.write_bytes(good[:-4])
    with pytest.raises(CheckpointError, match="truncated: header says 64 bytes of data, file has 60"):
        load(saved)
    weights.write_bytes(good)
    (saved / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"config.json: not valid JSON"):
        load(saved)


def test_unknown_format_version_and_class(saved: Path) -> None:
    config = json.loads((saved / "config.json").read_text())
    _edit_config(saved, format="keras")
    with pytest.raises(CheckpointError, match="not an ember checkpoint \\(format 'keras'"):
        load(saved)
    _edit_config(saved, format="ember-checkpoint", version=2)
    with pytest.raises(CheckpointError, match=r"version 2 is not one this ember-nn reads.*upgrade"):
        load(saved)
    _edit_config(saved, version=1, model={**config["model"], "class": "NoSuchModel"})
    with pytest.raises(CheckpointError, match="no module class named 'NoSuchModel' is registered"):
        load(saved)
    _edit_config(saved, model=config["model"], dtypes={})
    with pytest.raises(CheckpointError, match="list different tensors or dtypes"):
        load(saved)


def test_weights_that_do_not_fit_the_model(saved: Path) -> None:
    config = json.loads((saved / "config.json").read_text())
    wider = json.loads(json.dumps(config["model"]).replace('"n": 3', '"n": 4'))
    _edit_config(saved, model=wider)
    with pytest.raises(CheckpointError, match=r"do not fit CkStack: .*parts.0.scale \(given "
                                              r"\(3,\), model has \(4,\)\)"):
        load(saved)
    _edit_config(saved, model=config["model"])
    with ember.use_backend("numpy"):
        with pytest.raises(CheckpointError, match="holds a 'CkStack' model, not 'CkAffine'"):
            load_weights(CkAffine(3), saved)
        with pytest.raises(CheckpointError, match=r"missing: \['parts.2.scale'"):
            load_weights(CkStack(CkAffine(3), CkAffine(3), CkAffine(3)), saved)
        shorter = CkStack(CkAffine(3))
        with pytest.raises(CheckpointError, match=r"unexpected: \[.parts.1.calls., .parts.1.scale."):
            load_weights(shorter, saved)
        load_weights(shorter, saved, strict=False)
        assert shorter.parts[0].scale.tobytes() == load(saved).parts[0].scale.tobytes()


def test_no_pickle_or_marshal_anywhere_in_ember_nn() -> None:
    """Names and strings in the code (not comments or docstrings' words) of every source."""
    banned = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle",
              "joblib", "torch.load", "__reduce__", "__reduce_ex__", "__setstate__"}
    found = []
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 5
    for f in files:
        for tok in tokenize.generate_tokens(io.StringIO(f.read_text()).readline):
            text = tok.string.strip("'\"")
            if (tok.type == tokenize.NAME and tok.string in banned) or (
                    tok.type == tokenize.STRING and text in banned):
                found.append(f"{f.name}:{tok.start[0]}: {tok.string}")
    assert found == []


def test_checkpoint_files_get_the_umask_mode_not_owner_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import stat

    class One(ember_nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = ember.Variable(ember.ones((2,)))

    old = os.umask(0o022)
    try:
        path = ember_nn.save(One(), tmp_path / "ck")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert {stat.S_IMODE(f.stat().st_mode) for f in path.iterdir()} == {0o644}
