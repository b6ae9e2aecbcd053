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
from ckpt_support import CkAffine, CkStack, config_of, newest, rewrite, rewrite_config, tree
from ckpt_support import trained as _trained
from ckpt_support import values as _bytes
from ember.testing import loadable_backends
from ember_nn import CheckpointError
from ember_nn.io import Checkpoint, load, load_checkpoint, load_weights, read_extra, save
from ember_nn.io import _checkpoint_store as store
from ember_nn.io import _safetensors as st
from ember_nn.optim._optimizers import SGD, Adam

SRC = Path(ember_nn.__file__).parent


# -- round trips -------------------------------------------------------------------------------
def test_round_trip_preserves_config_and_values_exactly(backend: str, tmp_path: Path) -> None:
    m = _trained()
    out = save(m, tmp_path / "ckpt", extra={"history": {"loss": [0.5, 0.25]}, "epoch": 2})
    assert out == tmp_path / "ckpt"
    assert sorted(p.name for p in out.iterdir()) == [".lock", "v000001"]
    assert sorted(p.name for p in (out / "v000001").iterdir()) == [
        "SHA256SUMS", "config.json", "model.safetensors"]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporaries left
    m2 = load(out)
    assert type(m2) is CkStack and ember_nn.serialize(m2) == ember_nn.serialize(m)
    assert _bytes(m2) == _bytes(m)
    assert {v.backend for v in m2.variables} == {backend}
    assert [v.trainable for v in m2.variables] == [v.trainable for v in m.variables]
    x = ember.tensor([1.0, -2.0, 0.5])
    assert m2(x).tobytes() == m(x).tobytes()
    assert _bytes(load(out / "v000001")) == _bytes(m)  # a version directory loads too
    c = load_checkpoint(out)
    assert isinstance(c, Checkpoint) and c.optimizer is None and c.step is None
    assert c.extra == {"history": {"loss": [0.5, 0.25]}, "epoch": 2}
    assert c.backend_saved == backend


def test_config_json_records_the_format(backend: str, tmp_path: Path) -> None:
    m = _trained()
    out = save(m, tmp_path / "ckpt")
    config = config_of(out)
    assert set(config) == {"format", "version", "ember_nn", "model", "optimizer", "backend",
                           "extra"}
    assert config["format"] == "ember-checkpoint" and config["version"] == 2
    assert config["ember_nn"] == ember_nn.__version__ and config["backend"] == backend
    assert config["model"] == ember_nn.serialize(m) and config["optimizer"] is None
    files = newest(out)
    assert (files / "SHA256SUMS").read_text() == "".join(
        f"{hashlib.sha256((files / n).read_bytes()).hexdigest()}  {n}\n"
        for n in ("config.json", "model.safetensors"))  # what `sha256sum -c` reads
    weights = st.load_file(files / "model.safetensors")
    assert {k: v.dtype for k, v in weights.items()} == {k: v.dtype for k, v in m.state_dict().items()}


def test_read_extra_reads_the_newest_extra_without_the_weights(backend: str,
                                                              tmp_path: Path) -> None:
    m = _trained()
    save(m, tmp_path / "ckpt", extra={"epoch": 1})
    out = save(m, tmp_path / "ckpt", extra={"epoch": 2, "history": [0.5, 0.25]})
    (newest(out) / "model.safetensors").write_bytes(b"not read")
    assert read_extra(out) == {"epoch": 2, "history": [0.5, 0.25]}
    (newest(out) / "config.json").write_text("{}")
    with pytest.raises(CheckpointError):
        read_extra(out)


def test_cross_backend_load_gives_equal_values(backend: str, tmp_path: Path) -> None:
    m = _trained(seed=1)
    out = save(m, tmp_path / "ckpt")
    for target in loadable_backends():
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
    for target in loadable_backends():
        if dtype in _dtypes(target):
            assert _bytes(load(out, backend=target)) == _bytes(m)
        else:
            with pytest.raises(CheckpointError, match=f"is {dtype}, which cannot be loaded here"):
                load(out, backend=target)


def _dtypes(backend: str) -> set[ember.DType]:
    b = ember.load_backend(backend)
    allowed = b.capabilities.dtypes.get(b.devices.default().split(":")[0])
    return {d for d in b.to_native_dtype if allowed is None or d in allowed}


def test_optimizer_state_resumes_training_exactly(backend: str, tmp_path: Path) -> None:
    m = _trained()
    opt = Adam(0.01)
    grads = {k: ember.full(v.shape, 0.5 + i, dtype=v.dtype)
             for i, (k, v) in enumerate(m.named_trainable_variables().items())}
    opt.update(m, grads)
    opt.update(m, grads)
    out = save(m, tmp_path / "ckpt", optimizer=opt, extra={"epoch": 2})
    keys = set(st.load_file(newest(out) / "model.safetensors"))
    assert {k for k in keys if k.startswith("optimizer/")} == {
        f"optimizer/{p}/{s}" for p in grads for s in ("exp_avg", "exp_avg_sq")}
    c = load_checkpoint(out)
    assert type(c.optimizer) is Adam and c.step == 2 and c.optimizer.step == 2
    assert c.optimizer.get_config() == opt.get_config()
    opt.update(m, grads)
    c.optimizer.update(c.model, grads)
    assert _bytes(c.model) == _bytes(m)
    assert config_of(out)["optimizer"] == {"class": "Adam", "config": opt.get_config(), "step": 2}


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
    assert sorted(p.name for p in target.iterdir()) == [".lock", "v000002"]  # v000001 deleted
    nested = save(m, tmp_path / "runs" / "a" / "ckpt")  # parents are created
    assert _bytes(load(nested)) == _bytes(m)


@pytest.mark.parametrize("stage", ["weights", "config", "sums", "commit"])
def test_a_failure_while_saving_leaves_the_old_checkpoint(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    target = tmp_path / "ckpt"
    old = _trained(seed=1)
    save(old, target)
    before = tree(target)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(f"disk full while writing the {stage}")

    if stage == "weights":
        monkeypatch.setattr(st, "write_stream", boom)
    elif stage == "commit":
        monkeypatch.setattr(store, "_rename_in", boom)
    else:
        name = {"config": "config.json", "sums": "SHA256SUMS"}[stage]
        real = store.write_file

        def write_file(path: Path, body: object) -> object:
            if path.name == name:
                boom()
            return real(path, body)  # type: ignore[arg-type]

        monkeypatch.setattr(store, "write_file", write_file)
    with pytest.raises(OSError, match="disk full"):
        save(_trained(seed=2), target)
    assert tree(target) == before
    assert sorted(p.name for p in target.iterdir()) == [".lock", "v000001"]  # no .tmp left
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


def test_missing_checkpoints_and_parts(saved: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="nope: no checkpoint here"):
        load(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="is a file, not a checkpoint directory"):
        load(newest(saved) / "config.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=r"empty: not a checkpoint: it holds no version"):
        load(tmp_path / "empty")
    config = (newest(saved) / "config.json").read_bytes()
    (newest(saved) / "config.json").unlink()
    with pytest.raises(CheckpointError,
                       match=r"ckpt: incomplete checkpoint: v000001/config.json is missing"):
        load_checkpoint(saved)
    (newest(saved) / "config.json").write_bytes(config)
    (newest(saved) / "model.safetensors").unlink()
    with pytest.raises(CheckpointError,
                       match=r"ckpt: incomplete checkpoint: v000001/model.safetensors is missing"):
        load(saved)
    (newest(saved) / "model.safetensors").write_bytes((2).to_bytes(8, "little") + b"{}")
    (newest(saved) / "SHA256SUMS").write_text("")
    with pytest.raises(CheckpointError, match=r"SHA256SUMS: lists no checksum for "
                                              r"\['config.json', 'model.safetensors'\]"):
        load(saved)


def test_corrupted_and_truncated_weights(saved: Path) -> None:
    weights = newest(saved) / "model.safetensors"
    good = weights.read_bytes()
    flipped = bytearray(good)
    flipped[-3] ^= 0xFF
    weights.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match=r"v000001/model.safetensors: corrupted: its sha256 "
                                              r"is [0-9a-f]{64}, but SHA256SUMS records"):
        load(saved)
    weights.write_bytes(good[:-4])
    with pytest.raises(CheckpointError, match="truncated: header says 64 bytes of data, file has 60"):
        load(saved)
    weights.write_bytes(good)
    (newest(saved) / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"config.json: corrupted or edited: its sha256"):
        load(saved)


def test_unknown_format_version_and_class(saved: Path) -> None:
    """Configs whose checksum was updated with them (a hostile or hand-made file)."""
    config = config_of(saved)
    rewrite(saved, "config.json", b"{not json")
    with pytest.raises(CheckpointError, match=r"config.json: not valid JSON \(Expecting"):
        load(saved)
    rewrite(saved, "config.json", json.dumps({**config, "format": "keras"}).encode())
    with pytest.raises(CheckpointError, match="not an ember checkpoint \\(format 'keras'"):
        load(saved)
    rewrite_config(saved, format="ember-checkpoint", version=3)
    with pytest.raises(CheckpointError, match=r"version 3 is not one this ember-nn reads.*upgrade"):
        load(saved)
    rewrite_config(saved, version=2, model={**config["model"], "class": "NoSuchModel"})
    with pytest.raises(CheckpointError, match="no module class named 'NoSuchModel' is registered"):
        load(saved)
    rewrite_config(saved, model=config["model"], backend=7)
    with pytest.raises(CheckpointError, match=r"missing or malformed entries \['backend'\]"):
        load(saved)


def test_weights_that_do_not_fit_the_model(saved: Path) -> None:
    config = config_of(saved)
    wider = json.loads(json.dumps(config["model"]).replace('"n": 3', '"n": 4'))
    rewrite_config(saved, model=wider)
    with pytest.raises(CheckpointError, match=r"do not fit CkStack \(as config.json describes it\)"
                                              r": mis-shaped: parts.0.scale \(file has \(3,\), "
                                              r"model has \(4,\)\)"):
        load(saved)
    rewrite_config(saved, model=config["model"])
    with ember.use_backend("numpy"):
        with pytest.raises(CheckpointError, match="holds a 'CkStack' model, not 'CkAffine'"):
            load_weights(CkAffine(3), saved)
        with pytest.raises(CheckpointError, match=r"missing: \['parts.2.scale'"):
            load_weights(CkStack(CkAffine(3), CkAffine(3), CkAffine(3)), saved)
        shorter = CkStack(CkAffine(3))
        with pytest.raises(CheckpointError, match=r"fit CkStack: unexpected: \['parts.1.calls', 'parts.1.scale', 'parts.1.shift'\]"):
            load_weights(shorter, saved)
        load_weights(shorter, saved, strict=False)
        assert shorter.parts[0].scale.tobytes() == load(saved).parts[0].scale.tobytes()
        floats = CkStack(CkAffine(3), CkAffine(3))
        floats.parts[0].calls = ember.Variable(ember.zeros(()), trainable=False)
        with pytest.raises(CheckpointError, match=r"would lose information: parts.0.calls \(file "
                                                  r"has int64, model has float32\)"):
            load_weights(floats, saved)


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
    assert stat.S_IMODE(newest(path).stat().st_mode) == 0o755
    assert {stat.S_IMODE(f.stat().st_mode) for f in newest(path).iterdir()} == {0o644}
    assert stat.S_IMODE((path / ".lock").stat().st_mode) == 0o644
