"""The safetensors format: dtype codes, building a header, and validating one that was read.

The format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
length N, N bytes of JSON ``{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]},
..., "__metadata__": {str: str}}`` padded with spaces to a multiple of 8, then the tensors'
bytes (C order, little-endian), contiguous, offsets relative to the end of the header. Tensors
are laid out as the reference writer does (widest dtype first, then by name), so every tensor
starts aligned to its element size and files match the reference byte for byte.

A header read from a file is validated whole before any tensor is made: its length against
the file size (and the reference reader's 100 MB limit), the JSON (size, nesting at most 3
levels, duplicate keys), each dtype code, each shape (non-negative ints, at most 64 dimensions,
at most 2**62 elements), that ``data_offsets`` span exactly ``prod(shape) * itemsize`` bytes,
and that the tensors tile the data without holes or overlaps up to the end of the file. Each
problem is a ``CheckpointError`` naming the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import ember

from .._core._errors import CheckpointError
from . import _bounded_json

__all__ = ["CODES", "FOREIGN", "MAX_HEADER", "Entry"]

#: safetensors dtype codes ember has, in the reference writer's dtype order (it writes the
#: last ones first)
CODES: dict[str, ember.DType] = {
    "BOOL": ember.bool, "U8": ember.uint8, "I8": ember.int8, "I16": ember.int16,
    "U16": ember.uint16, "F16": ember.float16, "BF16": ember.bfloat16, "I32": ember.int32,
    "U32": ember.uint32, "F32": ember.float32, "C64": ember.complex64, "F64": ember.float64,
    "I64": ember.int64, "U64": ember.uint64,
}
_CODE_OF = {d: c for c, d in CODES.items()}
_RANK = {c: i for i, c in enumerate(CODES)}
#: codes of the format that ember has no dtype for
FOREIGN = ("F4", "F6_E2M3", "F6_E3M2", "F8_E5M2", "F8_E4M3", "F8_E8M0")
MAX_HEADER = 100_000_000  # the reference reader's limit
MAX_RANK = 64  # NumPy's; no backend has more
MAX_ELEMENTS = 2**62  # the product of the non-zero dimensions (a size no array can have)
_METADATA = "__metadata__"
_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}


@dataclass(frozen=True)
class Entry:
    """One tensor of a file's header."""

    name: str
    dtype: ember.DType
    shape: tuple[int, ...]
    begin: int
    end: int


def _header(tensors: Mapping[str, ember.Tensor],
            metadata: Mapping[str, str] | None) -> tuple[bytes, list[Entry]]:
    """The padded header JSON and the entries in file order; checks every argument first."""
    if not isinstance(tensors, Mapping):
        raise ember.ArgumentError(
            f"save_file: tensors must be a dict of names to tensors, got {type(tensors).__name__}")
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise ember.ArgumentError(f"save_file: tensor names must be str, got {name!r}")
        if name == _METADATA:
            raise ember.ArgumentError(f"save_file: {_METADATA!r} is reserved; pass metadata=")
        if not isinstance(t, ember.Tensor):
            raise ember.ArgumentError(
                f"save_file: {name!r} is a {type(t).__name__}, not an ember.Tensor; convert it "
                f"with ember.asarray first")
        if t.dtype not in _CODE_OF:
            raise ember.DTypeError(
                f"save_file: {name!r} is {t.dtype}, which safetensors cannot store (no code "
                f"for it); cast it (e.g. to complex64) or store its real and imaginary parts")
    if metadata is not None and (not isinstance(metadata, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise ember.ArgumentError(
            f"save_file: metadata must map str to str, got {metadata!r:.100}; convert values "
            f"with str() or json.dumps()")
    order = sorted(tensors, key=lambda n: (-_RANK[_CODE_OF[tensors[n].dtype]], n))
    entries, offset, body = [], 0, {}
    for name in order:
        t = tensors[name]
        size = math.prod(t.shape) * t.dtype.itemsize
        entries.append(Entry(name, t.dtype, t.shape, offset, offset + size))
        body[name] = {"dtype": _CODE_OF[t.dtype], "shape": list(t.shape),
                      "data_offsets": [offset, offset + size]}
        offset += size
    head = {_METADATA: dict(metadata)} if metadata else {}
    raw = json.dumps({**head, **body}, separators=(",", ":"), ensure_ascii=False).encode()
    raw += b" " * (-len(raw) % 8)
    return raw, entries


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise CheckpointError(
            f"{path}: is a directory, not a safetensors file (a checkpoint directory loads "
            f"with ember_nn.load)") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read: {exc}") from exc


def _read_header(f: BinaryIO, path: Path, size: int) -> tuple[dict[str, str], list[Entry], int]:
    """(metadata, entries in offset order, where the data starts), or a CheckpointError."""

    def bad(problem: str) -> CheckpointError:
        return CheckpointError(f"{path}: {problem}")

    if size < 8:
        raise bad(f"truncated: {size} bytes, but a safetensors file starts with an 8-byte "
                  f"header length; the file is incomplete or not a safetensors file")
    n = int.from_bytes(f.read(8), "little")
    if n > MAX_HEADER:
        raise bad(f"header length {n} is over the {MAX_HEADER}-byte limit: not a safetensors "
                  f"file, or its first 8 bytes are corrupted")
    if 8 + n > size:
        raise bad(f"truncated: header says it is {n} bytes, file has {size - 8} after the "
                  f"header length; the file is incomplete (an interrupted copy or download?)")
    raw = f.read(n)
    if not raw.startswith(b"{"):
        raise bad("the header is not valid safetensors JSON (it does not start with '{'): "
                  "corrupted or not a safetensors file")
    # {name: {"shape": [...]}} is 3 levels deep; nothing in a valid header is deeper
    doc = _bounded_json.loads(raw, str(path), max_bytes=MAX_HEADER, max_depth=3,
                              kind="safetensors JSON")
    if not isinstance(doc, dict):
        raise bad(f"the header is JSON {type(doc).__name__}, not an object: corrupted")
    metadata = doc.pop(_METADATA, {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise bad(f"{_METADATA} must map strings to strings, got {metadata!r:.100}")
    entries = sorted((_entry(name, info, bad) for name, info in doc.items()),
                     key=lambda e: (e.begin, e.end))
    end = 0
    for e in entries:
        if e.begin != end:
            what = "a gap" if e.begin > end else "an overlap"
            raise bad(f"tensor {e.name!r} starts at byte {e.begin} of the data, but the "
                      f"previous tensor ends at {end} ({what}): corrupted header")
        end = e.end
    have = size - 8 - n
    if end > have:
        raise bad(f"truncated: header says {end} bytes of data, file has {have}; the file is "
                  f"incomplete (an interrupted copy or download?): copy or save it again")
    if end < have:
        raise bad(f"{have - end} bytes after the last tensor's data (header says {end} bytes "
                  f"of data, file has {have}): corrupted, or another file was appended")
    return metadata, entries, 8 + n


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _entry(name: str, info: Any, bad: Any) -> Entry:
    if not isinstance(info, dict) or set(info) != _ENTRY_KEYS:
        got = sorted(info) if isinstance(info, dict) else type(info).__name__
        raise bad(f"tensor {name!r}: expected the keys {sorted(_ENTRY_KEYS)}, got {got}")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(code, str) or code not in CODES:
        if code in FOREIGN:
            raise bad(f"tensor {name!r} has dtype {code}, which ember has no dtype for; "
                      f"convert the file's tensors to F16/BF16/F32 first")
        raise bad(f"tensor {name!r} has unknown dtype {code!r:.40} (known: {', '.join(CODES)})")
    if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
        raise bad(f"tensor {name!r}: shape must be a list of non-negative ints, got "
                  f"{shape!r:.100}")
    if len(shape) > MAX_RANK or math.prod(s for s in shape if s) > MAX_ELEMENTS:
        raise bad(f"tensor {name!r}: shape {shape!s:.100} is beyond any array (at most "
                  f"{MAX_RANK} dimensions, {MAX_ELEMENTS} elements): corrupted header")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_is_int, offsets))
            or not 0 <= offsets[0] <= offsets[1]):
        raise bad(f"tensor {name!r}: data_offsets must be [begin, end] with 0 <= begin <= "
                  f"end, got {offsets!r:.100}")
    d = CODES[code]
    need = math.prod(shape) * d.itemsize
    if offsets[1] - offsets[0] != need:
        raise bad(f"tensor {name!r}: dtype {code} shape {shape} needs {need} bytes, but "
                  f"data_offsets {offsets} span {offsets[1] - offsets[0]}: corrupted header")
    return Entry(name, d, tuple(shape), offsets[0], offsets[1])
