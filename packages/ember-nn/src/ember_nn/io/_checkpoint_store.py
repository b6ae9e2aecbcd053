"""Where a checkpoint's files live, and how a save replaces them without a moment of loss.

A checkpoint (format version 2) is a directory of immutable versions::

    ckpt/                  the path given to save and load
      v000007/             the checkpoint: complete before it got this name, never changed after
        model.safetensors
        config.json
        SHA256SUMS         the sha256 of both files, as `sha256sum` writes (and `-c` checks) them
      .lock                a saving process holds an exclusive lock on it while it saves
      .tmp-.../            a save in progress, or the remains of one that was killed
      .trash-.../          an older version being deleted

**Save** (holding the lock): delete the leftovers of earlier interrupted saves (``.tmp-*``,
``.trash-*``: under the lock no other save is running, so none is in progress; and versions
older than the newest, which a save killed after its commit leaves); write the files
into a new ``.tmp-*`` directory, each flushed and fsynced, ``SHA256SUMS`` last; fsync it;
``rename`` it to the next version name (the commit: one atomic rename to a name that does not
exist yet, on POSIX and Windows alike); fsync ``ckpt/``; then rename each older version to
``.trash-*`` and delete it, and delete the files of a version-1 checkpoint this one replaces.
**Load** takes the highest-numbered ``vNNNNNN`` directory. Every version directory is complete
from the moment it exists, so after a crash at any point the path holds the old checkpoint
(killed before the rename) or the new one (after), never nothing; the leftovers go at the next
save. A load never deletes anything; if a save replaces the version a load is reading, the
load starts again on the new one.

Why versioned directories rather than a pointer file replaced with ``os.replace`` or a symlink
swapped atomically: the commit is a rename to a fresh name, which POSIX and Windows both do
atomically without replacing anything (``os.replace`` over a file another process has open
fails on Windows, and symlinks need privileges there); a loader needs no second file that could
disagree with the versions on disk; and ``ls ckpt/v000007`` shows the two files users know.

**Concurrent saves and leftovers.** ``.lock`` is taken with ``fcntl.flock`` (``msvcrt.locking``
on Windows); the operating system releases it when its holder dies, even by SIGKILL, so a
leftover is never a live save's files: a second save to the same path waits for the first.
Where the file system refuses locks, a save deletes only leftovers untouched for
``STALE_SECONDS`` (an hour), and two saves that pick the same version number resolve it (the
rename fails for the second, which takes the next number). The ``.{name}.tmp-*`` and
``.{name}.old-*`` siblings that ember-nn 0.1's saves left beside ``ckpt`` go once a save
commits (the path then holds a newer checkpoint than any of them).

**Version 1** (ember-nn 0.1): ``model.safetensors`` and ``config.json`` directly in ``ckpt/``,
the weights' sha256 inside config.json and config.json itself not covered. Such checkpoints
still load; saving to the path replaces them with a version-2 checkpoint.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .._core._errors import CheckpointError
from . import _safetensors as st

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
SUMS = "SHA256SUMS"
LOCK = ".lock"
TMP = ".tmp-"
TRASH = ".trash-"
STALE_SECONDS = 3600.0
MAX_SUMS_BYTES = 1 << 16
_VERSION = re.compile(r"v(\d{6,})")
_SUM_LINE = re.compile(r"([0-9a-f]{64})  ([A-Za-z0-9][A-Za-z0-9._-]*)")


def _step(op: str, path: Path) -> None:
    """Called before each change a save makes to the file system (tests crash here)."""


# -- saving ----------------------------------------------------------------------------------
def check_target(target: Path) -> None:
    """Refuse a path that holds something other than a checkpoint (before writing anything)."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise CheckpointError(f"save: {target} exists and is not a directory; refusing to "
                              f"replace it; choose another path")
    if target.is_dir():
        other = sorted(p.name for p in target.iterdir() if not _ours(p.name))
        if other:
            raise CheckpointError(
                f"save: {target} is a directory holding other files ({', '.join(other[:5])}"
                f"{', ...' if len(other) > 5 else ''}), not a checkpoint; refusing to replace "
                f"it; choose another path or empty it")


def _ours(name: str) -> bool:
    return (name in (LOCK, WEIGHTS, CONFIG) or name.startswith((TMP, TRASH))
            or _VERSION.fullmatch(name) is not None)


def commit(target: Path, write: Callable[[Path], None]) -> Path:
    """Make a new version of the checkpoint at ``target``: ``write(directory)`` fills a fresh
    directory (each file fsynced); it becomes the newest version by one rename. Returns it."""
    if not target.is_dir():
        _step("mkdir", target)
        target.mkdir(parents=True, exist_ok=True)
        st.fsync_dir(target.parent)
    with _locked(target) as locked:
        _clear_leftovers(target, locked)
        _step("mkdtemp", target)
        tmp = Path(tempfile.mkdtemp(dir=target, prefix=TMP))
        try:
            os.chmod(tmp, st.default_mode(directory=True))
            write(tmp)
            _step("fsync", tmp)
            st.fsync_dir(tmp)
            final = _rename_in(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _step("fsync", target)
        st.fsync_dir(target)
        _prune(target, final)
        _clear_legacy(target)
    return final


def write_file(path: Path, body: Callable[[BinaryIO], object]) -> object:
    """Create ``path`` (in a save's private directory), write it through ``body(file)``,
    flush and fsync it; returns what ``body`` returns."""
    _step("create", path)
    with open(path, "xb") as f:
        result = body(f)
        f.flush()
        _step("fsync", path)
        os.fsync(f.fileno())
    return result


def sums_text(digests: dict[str, str]) -> bytes:
    """``SHA256SUMS``'s bytes for ``{file name: sha256 hex}``."""
    return "".join(f"{d}  {name}\n" for name, d in sorted(digests.items())).encode("ascii")


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[bool]:
    """Hold ``target/.lock`` exclusively; yields False where the file system has no locks."""
    _step("lock", target / LOCK)
    fd = os.open(target / LOCK, os.O_RDWR | os.O_CREAT, st.default_mode())
    try:
        yield _lock(fd)
    finally:
        os.close(fd)  # releases the lock


def _lock(fd: int) -> bool:
    try:
        if sys.platform == "win32":
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # gives up after 10 s: try again
                    return True
                except OSError as exc:
                    if exc.errno != errno.EDEADLK:
                        raise
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
            return True
    except OSError as exc:
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return False
        raise


def _clear_leftovers(target: Path, locked: bool) -> None:
    """Delete what killed saves left: ``.tmp-*`` and ``.trash-*`` (all of them under the lock,
    else those untouched for STALE_SECONDS) and the versions older than the newest (a save
    killed between its commit and its clean-up leaves them; the newest supersedes them)."""
    now = time.time()
    for p in sorted(target.iterdir()):
        if p.name.startswith((TMP, TRASH)) and (locked or now - _touched(p) > STALE_SECONDS):
            _step("rmtree", p)
            shutil.rmtree(p, ignore_errors=True)
    versions = _versions(target)
    if versions:
        _prune(target, versions[-1][1])


def _touched(p: Path) -> float:
    """The latest modification time of ``p`` and what is directly inside it."""
    times = [0.0]
    with contextlib.suppress(OSError):
        times.append(p.stat().st_mtime)
        times.extend(c.stat().st_mtime for c in p.iterdir())
    return max(times)


def _versions(target: Path) -> list[tuple[int, Path]]:
    try:
        names = os.listdir(target)
    except OSError:
        return []
    out = []
    for name in names:
        m = _VERSION.fullmatch(name)
        if m is not None:
            out.append((int(m[1]), target / name))
    return sorted(out)


def _rename_in(tmp: Path, target: Path) -> Path:
    versions = _versions(target)
    n = versions[-1][0] + 1 if versions else 1
    for _ in range(1000):
        final = target / f"v{n:06d}"
        _step("commit", final)
        try:
            os.rename(tmp, final)
            return final
        except OSError:
            if not final.exists():
                raise
            n += 1  # another save took the number (a file system without locks)
    raise CheckpointError(f"save: {target}: could not find a free version name after 1000 "
                          f"tries; delete old vNNNNNN directories")


def _prune(target: Path, keep: Path) -> None:
    """Delete the versions older than ``keep`` and a version-1 checkpoint's files."""
    newest = int(keep.name[1:])
    for n, p in _versions(target):
        if n < newest:
            trash = target / f"{TRASH}{p.name}-{secrets.token_hex(4)}"
            _step("rename", p)
            try:
                os.rename(p, trash)
            except OSError:  # e.g. a reader holds a file open on Windows: the next save
                continue
            _step("rmtree", trash)
            shutil.rmtree(trash, ignore_errors=True)
    for name in (WEIGHTS, CONFIG):
        if (target / name).is_file():
            _step("unlink", target / name)
            with contextlib.suppress(OSError):
                (target / name).unlink()


def _clear_legacy(target: Path) -> None:
    name = glob.escape(target.name)  # a name like "ck[1]" must not match ".ck1.tmp-*"
    for pattern in (f".{name}.tmp-*", f".{name}.old-*"):
        for p in sorted(target.parent.glob(pattern)):
            if p.is_dir() and not p.is_symlink():
                _step("rmtree", p)
                shutil.rmtree(p, ignore_errors=True)


# -- loading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """One complete version of a checkpoint: its directory and layout (1 or 2)."""

    root: Path
    dir: Path
    layout: int

    def read(self, name: str, max_bytes: int) -> bytes:
        """A small file of the version, whole (at most ``max_bytes``)."""
        p = self.dir / name
        try:
            with open(p, "rb") as f:
                size = os.fstat(f.fileno()).st_size  # read(n) would allocate n bytes first
                data = f.read(min(size, max_bytes) + 1)
        except FileNotFoundError:
            raise self._missing(name) from None
        except OSError as exc:
            raise CheckpointError(f"{p}: cannot be read: {exc}") from exc
        if len(data) > max_bytes:
            raise CheckpointError(f"{p}: over the {max_bytes:,}-byte limit for this file: not "
                                  f"a file ember wrote, or corrupted")
        return data

    def weights(self) -> st.Reader:
        """The version's weights file, open, its header validated."""
        p = self.dir / WEIGHTS
        if not p.exists():
            raise self._missing(WEIGHTS)
        return st.Reader(p)

    def _missing(self, name: str) -> CheckpointError:
        where = self.dir.relative_to(self.root) / name if self.dir != self.root else name
        return CheckpointError(f"{self.root}: incomplete checkpoint: {where} is missing; it was "
                               f"not written by ember_nn.save or was damaged: save it again")

    def sums(self) -> dict[str, str]:
        """``SHA256SUMS`` as ``{file name: sha256}``, checked for form (version 2 only)."""
        raw = self.read(SUMS, MAX_SUMS_BYTES)
        where = self.dir / SUMS
        out: dict[str, str] = {}
        try:
            lines = raw.decode("ascii").splitlines()
        except UnicodeDecodeError:
            lines = ["(not ASCII)"]
        for line in lines:
            m = _SUM_LINE.fullmatch(line)
            if m is None or m[2] in out:
                raise CheckpointError(f"{where}: the line {line!r:.100} is not '<sha256>  <file>'"
                                      f" (or repeats a file): corrupted; save the checkpoint "
                                      f"again")
            out[m[2]] = m[1]
        missing = [n for n in (CONFIG, WEIGHTS) if n not in out]
        if missing:
            raise CheckpointError(f"{where}: lists no checksum for {missing}: corrupted; save "
                                  f"the checkpoint again")
        return out

    def current(self) -> bool:
        """Whether this is still the newest version (a save may have replaced it)."""
        try:
            return latest(self.root) == self
        except CheckpointError:
            return False


def latest(target: Path) -> Snapshot:
    """The newest complete version of the checkpoint at ``target``, or a CheckpointError that
    says what is there instead."""
    if not target.exists():
        raise CheckpointError(f"{target}: no checkpoint here (the directory does not exist); "
                              f"check the path, or save one with ember_nn.save(model, path)"
                              f"{_legacy_hint(target)}")
    if not target.is_dir():
        raise CheckpointError(
            f"{target}: is a file, not a checkpoint directory; for a bare safetensors file use "
            f"ember_nn.load_file or ember_nn.load_weights")
    versions = _versions(target)
    if versions:
        return Snapshot(target, versions[-1][1], 2)
    if (target / SUMS).is_file():  # a version directory itself: ckpt/v000007
        return Snapshot(target, target, 2)
    if (target / CONFIG).exists() or (target / WEIGHTS).exists():
        return Snapshot(target, target, 1)
    if any(p.name.startswith(TMP) or p.name == LOCK for p in target.iterdir()):
        raise CheckpointError(f"{target}: no complete checkpoint: the first save into it was "
                              f"interrupted before it finished (there was no earlier one); "
                              f"save again")
    raise CheckpointError(f"{target}: not a checkpoint: it holds no version directory "
                          f"(vNNNNNN) and no {CONFIG}; check the path"
                          f"{_legacy_hint(target)}")


def _legacy_hint(target: Path) -> str:
    """Where ember-nn 0.1 may have left the checkpoint when a save was killed mid-swap."""
    name = glob.escape(target.name)
    found = sorted(target.parent.glob(f".{name}.old-*/old"))
    found += sorted(p for p in target.parent.glob(f".{name}.tmp-*")
                    if (p / CONFIG).is_file() and (p / WEIGHTS).is_file())
    if not found:
        return ""
    return (f"; an interrupted save of ember-nn 0.1 left complete copies at "
            f"{', '.join(map(str, found[:4]))}: move the newest back to {target}")
