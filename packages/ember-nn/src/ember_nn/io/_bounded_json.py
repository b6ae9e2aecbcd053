"""JSON read from files that may be damaged or hostile: bounded size and nesting, one error type.

``json.loads`` recurses once per nesting level (``[[[[...]]]]`` raises ``RecursionError``),
accepts duplicate keys (the last wins) and its size is the caller's business. :func:`loads`
refuses text over ``max_bytes``, nesting deeper than ``max_depth`` (checked on the parsed value
without recursion; input deep enough to exhaust Python's recursion limit first gets the same
message), duplicate keys and invalid UTF-8, and raises ``CheckpointError`` naming the file for
each. :func:`depth` measures what a writer is about to write, so what is saved loads.
"""

from __future__ import annotations

import json
from typing import Any

from .._core._errors import CheckpointError

__all__ = ["depth", "loads"]


def depth(value: Any) -> int:
    """The nesting depth of a JSON-like value (0 for a scalar, 1 for ``[1]`` or ``{}``),
    computed with an explicit stack (any depth, no recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list | tuple):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v)
    return deepest


def loads(raw: bytes, where: str, *, max_bytes: int, max_depth: int, kind: str = "JSON") -> Any:
    """Parse ``raw`` (UTF-8 JSON) from the file ``where``, or raise ``CheckpointError`` (its
    message calls the text ``kind``: "JSON", "safetensors JSON", ...)."""
    if len(raw) > max_bytes:
        raise CheckpointError(f"{where}: {len(raw):,} bytes of {kind}, over the {max_bytes:,}-byte "
                              f"limit: not a file ember wrote, or corrupted")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{where}: not valid UTF-8 ({exc}): corrupted") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise CheckpointError(f"{where}: {kind} nested deeper than the limit of {max_depth} "
                              f"levels: corrupted or not a file ember wrote") from None
    except ValueError as exc:
        raise CheckpointError(f"{where}: not valid {kind} ({exc}): corrupted") from None
    found = depth(value)
    if found > max_depth:
        raise CheckpointError(f"{where}: {kind} nested {found} levels deep, over the limit of "
                              f"{max_depth}: corrupted or not a file ember wrote")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"the key {k!r} appears twice")
        out[k] = v
    return out
