"""Checkpoints survive crashes: a SIGKILL at random moments of ``save``, a kill just before each
file-system change it makes, and an ``OSError`` from each OS call always leave the old or the
new checkpoint loadable, with nothing lost; leftovers do not pile up; concurrent saves and
loads of one path; version-1 checkpoints and ember-nn 0.1's leftovers."""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ember
import ember_nn
import pytest
from ckpt_support import newest, tree
from ember_nn import CheckpointError
from ember_nn.io import _checkpoint_store as store
from ember_nn.io import _safetensors as st

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork and SIGKILL "
                                "(POSIX); the crash guarantees on Windows are not tested")
SLOW = os.environ.get("EMBER_SLOW") == "1"
CHILD = Path(__file__).with_name("crash_child.py")


class Child:
    """crash_child.py, running; ``ask`` sends a command and returns its reply."""

    def __init__(self) -> None:
        env = {**os.environ, "EMBER_BACKEND": "numpy", "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "PYTHONPATH": str(CHILD.parent)}
        self.proc = subprocess.Popen([sys.executable, str(CHILD)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)

    def ask(self, **cmd: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"crash_child.py died (exit code {self.proc.wait()})"
        reply = json.loads(line)
        assert "error" not in reply, reply["error"]
        return reply


@pytest.fixture(scope="module")
def child() -> Iterator[Child]:
    c = Child()
    yield c
    assert c.proc.stdin is not None
    c.proc.stdin.close()
    c.proc.wait(timeout=60)


def _value(path: Path, backend: str = "numpy") -> int:
    """The value a checkpoint written by crash_child.py holds, checked to be one value
    throughout (every variable and the config's extra agree: nothing half-written)."""
    ck = ember_nn.load_checkpoint(path, backend=backend)
    k = ck.extra["k"]
    for name, v in ck.model.named_variables():
        assert set(v.numpy().ravel().tolist()) == {k}, (name, k)
    return int(k)


def _entries(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_random_sigkills_during_save_lose_nothing(child: Child, backend: str,
                                                  tmp_path: Path) -> None:
    """20 kills at random moments (100 with EMBER_SLOW=1): after each, the checkpoint is the
    last one whose save returned or the one being saved, and leftovers stay bounded. The kill
    times are drawn up to three calibrated saves; should a busy machine make every kill land
    on one side of the commit, up to twice as many rounds more widen or narrow that range."""
    path = tmp_path / "ckpt"
    seconds = max(child.ask(cmd="calibrate", path=str(path))["seconds"], 0.002)
    one = _size(path)
    rng = random.Random(9)
    value, kinds = 0, {"old": 0, "new": 0}
    rounds, r, scale = (100 if SLOW else 20), 0, 1.0
    while r < rounds or (min(kinds.values()) == 0 and r < 3 * rounds):
        r += 1
        if r > rounds:  # the calibration misjudged this machine's saves
            scale = min(scale * 2.0, 32.0) if kinds["new"] == 0 else max(scale / 2.0, 1 / 32)
        base = 1000 * r
        done = child.ask(cmd="random", path=str(path), base=base,
                         delay=rng.uniform(0.0, 3.0 * seconds * scale))["done"]
        before = done[-1] if done else value
        value = _value(path, backend)
        assert value in (before, done[-1] + 1 if done else base), (r, done, value)
        kinds["new" if value != before else "old"] += 1
        names = _entries(path)
        assert all(store._ours(n) for n in names), names
        assert len(names) <= 3 and _size(path) <= 2 * one + 4096, (names, _size(path))
    assert min(kinds.values()) > 0, kinds  # kills landed both before and after the commit
    child.ask(cmd="calibrate", path=str(path))
    assert _entries(path) == [".lock", newest(path).name] and _value(path) == 0


def _pristine(tmp_path: Path, layout: int) -> Path:
    """A checkpoint holding 1, with the leftovers of earlier killed saves (layout 2) or in
    ember-nn 0.1's format (layout 1)."""
    path = tmp_path / "pristine" / "ckpt"
    with ember.use_backend("numpy"):
        m = ember_nn.Sequential(ember_nn.Dense(256, 256, key=0), ember_nn.BatchNorm(256))
        for v in m.variables:
            v.assign(ember.full(v.shape, 1, dtype=v.dtype))
        ember_nn.save(m, path, extra={"k": 1})
    if layout == 1:
        _to_version_1(path)
    else:
        (path / ".tmp-killed").mkdir()
        (path / ".tmp-killed" / "model.safetensors").write_bytes(b"half")
        (path / ".trash-v000000-dead").mkdir()
        (path.parent / ".ckpt.old-x" / "old").mkdir(parents=True)  # ember-nn 0.1's leftovers
        (path.parent / ".ckpt.tmp-y").mkdir()
    return path


def _to_version_1(path: Path) -> None:
    """Rewrite a checkpoint in ember-nn 0.1's layout (files directly in the directory)."""
    v = newest(path)
    config = json.loads((v / "config.json").read_text())
    weights = v / "model.safetensors"
    with st.Reader(weights) as r:
        config.update(version=1, sha256=st.sha256_of(weights),
                      dtypes={e.name: e.dtype.name for e in r.entries})
    shutil.move(weights, path / "model.safetensors")
    (path / "config.json").write_text(json.dumps(config))
    shutil.rmtree(v)
    (path / ".lock").unlink()


@pytest.mark.parametrize("layout", [2, 1])
def test_a_kill_before_each_file_operation_of_save(child: Child, tmp_path: Path,
                                                  layout: int) -> None:
    """The saver dies just before its 1st, 2nd, ... change to the file system until one save
    completes: the checkpoint is the old one up to the commit (the rename to v00000N) and the
    new one from then on; the next save leaves nothing else behind."""
    pristine = _pristine(tmp_path, layout)
    seen: list[tuple[str, int]] = []
    for k in range(1, 60):
        root = tmp_path / f"k{k}"
        shutil.copytree(pristine.parent, root, symlinks=True)
        path = root / "ckpt"
        reply = child.ask(cmd="step", path=str(path), value=2, kill_at=k)
        value = _value(path)
        op = "complete" if not reply["killed"] else f"before op {k}"
        seen.append((op, value))
        ops = [o for o, _ in reply["ops"]]
        committed = "commit" in ops
        assert value == (2 if committed else 1), (k, ops, value)
        with ember.use_backend("numpy"):
            ember_nn.save(ember_nn.Sequential(ember_nn.Dense(256, 256, key=0),
                                              ember_nn.BatchNorm(256)), path, extra={"k": 5})
        assert _entries(path) == [".lock", newest(path).name], (k, _entries(path))
        assert sorted(p.name for p in root.iterdir()) == ["ckpt"], (k, list(root.iterdir()))
        if not reply["killed"]:
            break
    values = [v for _, v in seen]
    assert seen[-1][0] == "complete" and len(seen) > 10, seen
    first_new = values.index(2)
    assert values == [1] * first_new + [2] * (len(values) - first_new), seen  # one switch
    assert first_new > 5 and len(values) - first_new >= 2, seen  # the commit is mid-save


_OS_CALLS = ("rename", "replace", "fsync", "mkdir", "rmdir", "unlink", "open")


def test_an_os_error_at_each_call_of_save_leaves_a_loadable_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.rename/replace/fsync/mkdir/rmdir/unlink/open raise ENOSPC at the k-th call of a save,
    for every k: the save raises or completes, the old or new checkpoint loads, a failed save
    leaves no temporary directory, and the next save cleans up everything."""
    pristine = _pristine(tmp_path, 2)
    real = {name: getattr(os, name) for name in _OS_CALLS}
    outcomes = []
    for k in range(1, 80):
        root = tmp_path / f"k{k}"
        shutil.copytree(pristine.parent, root, symlinks=True)
        path = root / "ckpt"
        calls = [0]

        def failing(name: str, k: int = k, calls: list[int] = calls) -> Any:
            def call(*args: Any, **kwargs: Any) -> Any:
                calls[0] += 1
                if calls[0] == k:
                    raise OSError(errno.ENOSPC, f"injected: no space left ({name})")
                return real[name](*args, **kwargs)
            return call

        with ember.use_backend("numpy"):
            m = ember_nn.Sequential(ember_nn.Dense(256, 256, key=0), ember_nn.BatchNorm(256))
            for v in m.variables:
                v.assign(ember.full(v.shape, 2, dtype=v.dtype))
            for name in _OS_CALLS:
                monkeypatch.setattr(os, name, failing(name))
            try:
                ember_nn.save(m, path, extra={"k": 2})
                outcome = "saved"
            except OSError as exc:
                assert "injected" in str(exc), exc
                outcome = "raised"
            finally:
                for name in _OS_CALLS:
                    monkeypatch.setattr(os, name, real[name])
        value = _value(path)
        outcomes.append((outcome, value))
        assert value in (1, 2)
        if outcome == "raised":
            assert not any(n.startswith(".tmp-") and n != ".tmp-killed" for n in _entries(path))
        if calls[0] < k:  # the save made fewer calls: every point has been tried
            break
        with ember.use_backend("numpy"):
            ember_nn.save(m, path, extra={"k": 2})
        assert _entries(path) == [".lock", newest(path).name]
    assert outcomes[-1] == ("saved", 2) and ("raised", 1) in outcomes, outcomes
    assert len(outcomes) > 10, outcomes


def test_concurrent_saves_and_loads_of_one_path(child: Child, tmp_path: Path) -> None:
    """Two processes save to one path 15 times each while this one loads it: every load sees
    one complete checkpoint, and the saves leave one version."""
    path = tmp_path / "ckpt"
    child.ask(cmd="calibrate", path=str(path))
    result: dict[str, Any] = {}
    waiter = threading.Thread(target=lambda: result.update(
        child.ask(cmd="writers", path=str(path), bases=[100, 200], saves=15)))
    waiter.start()
    loads = 0
    while waiter.is_alive() or loads < 5:
        k = _value(path)
        assert k == 0 or 100 <= k < 115 or 200 <= k < 215, k
        loads += 1
    waiter.join()
    assert result["codes"] == [0, 0]
    assert _value(path) in (114, 214)
    assert _entries(path) == [".lock", newest(path).name]
    assert int(newest(path).name[1:]) == 31  # every save committed a version of its own


def test_a_load_restarts_when_a_save_replaces_its_version(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ckpt"
    with ember.use_backend("numpy"):
        m = ember_nn.Dense(2, 2, key=0)
        ember_nn.save(m, path, extra={"k": 1})
        real = st.Reader.__init__
        calls = [0]

        def reader(self: st.Reader, p: Path) -> None:
            calls[0] += 1
            if calls[0] == 1:  # a save lands between choosing the version and opening it
                m.weight.assign(ember.full((2, 2), 7.0))
                ember_nn.save(m, path, extra={"k": 2})
            real(self, p)

        monkeypatch.setattr(st.Reader, "__init__", reader)
        ck = ember_nn.load_checkpoint(path)
    assert calls[0] == 2 and ck.extra == {"k": 2}
    assert ck.model.weight.tolist() == [[7.0, 7.0], [7.0, 7.0]]


def test_leftovers_of_a_live_save_are_kept_until_its_lock_is_released(tmp_path: Path) -> None:
    path = tmp_path / "ckpt"
    with ember.use_backend("numpy"):
        m = ember_nn.Dense(2, 2, key=0)
        ember_nn.save(m, path)
        errors: list[BaseException] = []
        with store._locked(path):  # another save holds the lock, its files in .tmp-live
            (path / ".tmp-live").mkdir()

            def second() -> None:
                try:
                    ember_nn.save(m, path)
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)

            t = threading.Thread(target=second)
            t.start()
            t.join(0.5)
            assert t.is_alive() and (path / ".tmp-live").is_dir()  # it waits; nothing deleted
        t.join()
    assert errors == [] and _entries(path) == [".lock", "v000002"]


def test_without_locks_only_stale_leftovers_are_deleted(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the file system refuses locks, a leftover is deleted once untouched for an hour
    (a concurrent save's files are fresher than that)."""
    path = tmp_path / "ckpt"
    monkeypatch.setattr(store, "_lock", lambda fd: False)
    with ember.use_backend("numpy"):
        m = ember_nn.Dense(2, 2, key=0)
        ember_nn.save(m, path)
        for name in (".tmp-old", ".tmp-fresh", ".trash-v000000-old"):
            (path / name).mkdir()
            (path / name / "model.safetensors").write_bytes(b"x")
        hours_ago = time.time() - 2 * store.STALE_SECONDS
        for name in (".tmp-old", ".trash-v000000-old"):
            for p in (path / name / "model.safetensors", path / name):
                os.utime(p, (hours_ago, hours_ago))
        ember_nn.save(m, path)
    assert _entries(path) == [".lock", ".tmp-fresh", "v000002"]


def test_version_1_checkpoints_load_and_are_replaced(backend: str, tmp_path: Path) -> None:
    pristine = _pristine(tmp_path, 1)
    assert _entries(pristine) == ["config.json", "model.safetensors"]
    assert _value(pristine, backend) == 1
    weights = pristine / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(CheckpointError, match=r"ckpt/model.safetensors: corrupted: its sha256 "
                                              r"is [0-9a-f]+, but config.json records"):
        _value(pristine)
    weights.write_bytes(good)
    m = ember_nn.Dense(2, 2)
    ember_nn.save(m, pristine, extra={"k": 3})
    assert _entries(pristine) == [".lock", "v000001"]
    assert ember_nn.load_checkpoint(pristine).extra == {"k": 3}


def test_ember_nn_0_1_leftovers_are_named_when_the_path_is_gone_and_deleted_by_a_save(
        tmp_path: Path) -> None:
    """ember-nn 0.1 moved the old checkpoint to .ckpt.old-*/old before moving the new one in;
    a kill between left nothing at the path."""
    pristine = _pristine(tmp_path, 1)
    old = tmp_path / "pristine" / ".ckpt.old-abc" / "old"
    old.parent.mkdir()
    shutil.move(pristine, old)
    with pytest.raises(CheckpointError, match=r"no checkpoint here .*an interrupted save of "
                                              r"ember-nn 0.1 left complete copies at .*\.ckpt\."
                                              r"old-abc/old"):
        ember_nn.load(pristine)
    assert _value(old) == 1
    with ember.use_backend("numpy"):
        ember_nn.save(ember_nn.Dense(2, 2), pristine)
    assert sorted(p.name for p in pristine.parent.iterdir()) == ["ckpt"]


def test_saves_never_delete_what_is_not_theirs(tmp_path: Path) -> None:
    """Other files beside the checkpoint, and a checkpoint directory holding foreign files."""
    path = tmp_path / "ckpt"
    (tmp_path / "ckpt.notes").write_text("keep")
    (tmp_path / ".other.tmp-1").mkdir()
    with ember.use_backend("numpy"):
        ember_nn.save(ember_nn.Dense(2, 2), path)
        (path / "README").write_text("mine")
        with pytest.raises(CheckpointError, match=r"holding other files \(README\)"):
            ember_nn.save(ember_nn.Dense(2, 2), path)
    assert tree(tmp_path) == {"ckpt.notes": b"keep", "ckpt/README": b"mine",
                              **{f"ckpt/v000001/{k}": v for k, v in tree(newest(path)).items()}}
    assert (tmp_path / ".other.tmp-1").is_dir()
    (tmp_path / ".ck1.old-x" / "old").mkdir(parents=True)  # ember-nn 0.1's, of ck1: not ours
    with ember.use_backend("numpy"):
        ember_nn.save(ember_nn.Dense(2, 2), tmp_path / "ck[1]")  # a glob pattern matching ck1
    assert (tmp_path / ".ck1.old-x" / "old").is_dir()
