"""Token ids to tensors and back: padded batches with a mask, fixed-length blocks for language
modelling, and detokenisation of padded batches.

The tensors are int64 (ids) and bool (masks) on the current backend (or ``backend=``,
``device=``), built from Python lists through their bytes (``ember.frombuffer``: no scan of
the list for tensors), so every backend gives the same values.
"""

from __future__ import annotations

import array
import sys
from collections.abc import Sequence
from typing import Any

import ember

from ._text_support import _int, token_ids

__all__ = ["detokenize", "pack_blocks", "pad_batch"]

_SIDES = ("right", "left")


def _sequence(seq: Any, where: str) -> list[int]:
    """One sequence of token ids (ints, or a 1-D integer tensor) as a list of ints >= 0."""
    return token_ids(seq, where)


def _int64(values: list[int], shape: tuple[int, int], backend: str | None,
           device: str | None) -> ember.Tensor:
    """``values`` as an int64 tensor of ``shape`` (little-endian bytes, as frombuffer reads)."""
    try:
        packed = array.array("q", values)
    except OverflowError:
        raise ember.ArgumentError(f"token ids must fit int64, got {max(values)}") from None
    if sys.byteorder == "big":
        packed.byteswap()
    return ember.frombuffer(packed.tobytes(), ember.int64, shape, backend=backend, device=device)


def _optional_id(value: Any, name: str, where: str) -> int | None:
    if value is None:
        return None
    k = _int(value, f"{where}: {name}")
    if k < 0:
        raise ember.ArgumentError(f"{where}: {name} = {k} is negative; token ids are >= 0")
    return k


def pad_batch(sequences: Sequence[Any], pad_id: int, length: int | None = None,
              side: str = "right", *, truncate: bool = False, backend: str | None = None,
              device: str | None = None) -> tuple[ember.Tensor, ember.Tensor]:
    """Sequences of token ids of different lengths as one ``(batch, length)`` int64 tensor
    padded with ``pad_id``, and the bool mask of the real tokens (True) beside it.

    Arguments:
        sequences: lists of ints or 1-D integer tensors (``Tokenizer.encode_batch``'s output).
        pad_id: the id filling the padding (``tokenizer.pad_id``).
        length: the padded length; the longest sequence's when None.
        side: ``"right"`` pads after the tokens, ``"left"`` before them (for generation).
        truncate: cut sequences longer than ``length`` (keeping their first ``length`` ids
            with ``side="right"``, their last with ``side="left"``); by default a longer
            sequence raises ``ArgumentError``.
        backend, device: where the tensors go (the current backend by default).

    >>> ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=0)
    >>> ids.tolist(), mask.tolist()
    ([[5, 6, 7], [8, 0, 0]], [[True, True, True], [True, False, False]])
    >>> pad_batch([[5, 6, 7], [8]], pad_id=0, length=4, side="left")[0].tolist()
    [[0, 5, 6, 7], [0, 0, 0, 8]]
    """
    where = "pad_batch"
    if isinstance(sequences, ember.Tensor | str | bytes) \
            or not isinstance(sequences, Sequence) or not sequences:
        raise ember.ArgumentError(f"{where}: sequences must be a non-empty list of token-id "
                                  f"sequences, got {type(sequences).__name__}"
                                  f"{' (empty)' if isinstance(sequences, Sequence) else ''}")
    if side not in _SIDES:
        raise ember.ArgumentError(f"{where}: side={side!r}; use 'right' (pad after the tokens) "
                                  f"or 'left' (pad before them)")
    pad = _optional_id(pad_id, "pad_id", where)
    if pad is None:
        raise ember.ArgumentError(f"{where}: pad_id is None; pass the padding id "
                                  f"(tokenizer.pad_id)")
    rows = [_sequence(s, f"{where}: sequences[{i}]") for i, s in enumerate(sequences)]
    longest = max(len(r) for r in rows)
    if length is None:
        n = longest
    else:
        n = _int(length, f"{where}: length")
        if n < 1:
            raise ember.ArgumentError(f"{where}: length = {n}; use a positive length or None "
                                      f"(the longest sequence's, here {longest})")
        if longest > n and not truncate:
            i = next(i for i, r in enumerate(rows) if len(r) > n)
            raise ember.ArgumentError(
                f"{where}: sequences[{i}] has {len(rows[i])} tokens, more than length={n}; "
                f"use a larger length, length=None, or truncate=True")
    ids: list[int] = []
    mask: list[bool] = []
    for r in rows:
        r = (r[:n] if side == "right" else r[len(r) - n:]) if len(r) > n else r
        fill = n - len(r)
        if side == "right":
            ids += r + [pad] * fill
            mask += [True] * len(r) + [False] * fill
        else:
            ids += [pad] * fill + r
            mask += [False] * fill + [True] * len(r)
    shape = (len(rows), n)
    return (_int64(ids, shape, backend, device),
            ember.frombuffer(bytes(mask), ember.bool, shape, backend=backend, device=device))


def pack_blocks(tokens: Any, block_size: int, *, bos_id: int | None = None,
                eos_id: int | None = None, drop_last: bool = True, pad_id: int | None = None,
                backend: str | None = None, device: str | None = None) -> ember.Tensor:
    """Token ids cut into blocks of ``block_size + 1`` for a language model: an int64 tensor
    ``(n_blocks, block_size + 1)`` whose ``blocks[:, :-1]`` are the inputs and
    ``blocks[:, 1:]`` the targets (the next token at each position).

    The stream: ``tokens`` as one sequence (a list of ints or a 1-D integer tensor), or a
    list of documents (lists or 1-D tensors), concatenated each as ``[bos_id] + document +
    [eos_id]`` (each part when given: with ``eos_id`` the model learns where a document
    ends; a flat sequence gets neither). Block ``i`` is ``stream[i * block_size :
    i * block_size + block_size + 1]``: consecutive blocks share one token (the last target
    of one is the first input of the next), so each token after the first is a target
    exactly once. There are ``(len(stream) - 1) // block_size`` full blocks.

    The tail (the last ``(len(stream) - 1) % block_size`` targets, fewer than a block) is
    dropped with ``drop_last=True`` (the default), or kept as one more block padded at the
    end with ``pad_id`` with ``drop_last=False`` (mask its targets with ``targets !=
    pad_id``: use a pad id no document contains, not the eos id).

    Raises ``ArgumentError`` for a ``block_size`` below 1, ids that are not non-negative
    ints, ``drop_last=False`` without ``pad_id``, or a stream too short for one block.

    >>> pack_blocks(list(range(1, 11)), 4).tolist()
    [[1, 2, 3, 4, 5], [5, 6, 7, 8, 9]]
    >>> pack_blocks(list(range(1, 11)), 4, drop_last=False, pad_id=0).tolist()
    [[1, 2, 3, 4, 5], [5, 6, 7, 8, 9], [9, 10, 0, 0, 0]]
    >>> pack_blocks([[5, 6], [7, 8, 9]], 3, eos_id=2).tolist()
    [[5, 6, 2, 7], [7, 8, 9, 2]]
    """
    where = "pack_blocks"
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ember.ArgumentError(f"{where}: block_size = {block_size!r}; use a positive int "
                                  f"(the tokens a model sees at once; blocks hold block_size + 1)")
    bos = _optional_id(bos_id, "bos_id", where)
    eos = _optional_id(eos_id, "eos_id", where)
    pad = _optional_id(pad_id, "pad_id", where)
    if not drop_last and pad is None:
        raise ember.ArgumentError(f"{where}: drop_last=False pads the last block and needs "
                                  f"pad_id (tokenizer.pad_id); or drop the tail (drop_last=True)")
    stream = _stream(tokens, bos, eos, where)
    full = (len(stream) - 1) // block_size if stream else 0
    rest = len(stream) - 1 - full * block_size if stream else 0
    n = full + (1 if rest > 0 and not drop_last else 0)
    if n == 0:
        raise ember.ArgumentError(
            f"{where}: the stream of {len(stream)} tokens makes no block of block_size + 1 = "
            f"{block_size + 1}; use a smaller block_size, more text"
            f"{', or drop_last=False (with pad_id)' if drop_last and len(stream) > 1 else ''}")
    width = block_size + 1
    flat: list[int] = []
    for i in range(full):
        flat += stream[i * block_size:i * block_size + width]
    if n > full:
        assert pad is not None
        tail = stream[full * block_size:]
        flat += tail + [pad] * (width - len(tail))
    return _int64(flat, (n, width), backend, device)


def _stream(tokens: Any, bos: int | None, eos: int | None, where: str) -> list[int]:
    """The one sequence ``pack_blocks`` cuts: ``tokens`` itself, or its documents framed."""
    if isinstance(tokens, ember.Tensor) or hasattr(tokens, "tolist"):
        if getattr(tokens, "ndim", 1) != 1:
            raise ember.ArgumentError(f"{where}: a tensor of tokens must be 1-D (one stream), "
                                      f"got shape {tuple(tokens.shape)}; pass documents as a "
                                      f"list of 1-D tensors or lists")
        return _sequence(tokens, f"{where}: tokens")
    if isinstance(tokens, str | bytes) or not isinstance(tokens, Sequence):
        raise ember.ArgumentError(f"{where}: tokens must be a list of ids or a list of "
                                  f"documents (lists of ids), got {type(tokens).__name__}; "
                                  f"encode text with a Tokenizer first")
    if not tokens or not _is_document(tokens[0]):
        return _sequence(tokens, f"{where}: tokens")
    stream: list[int] = []
    for i, doc in enumerate(tokens):
        if not _is_document(doc):
            raise ember.ArgumentError(f"{where}: tokens[{i}] = {doc!r} is not a document (a "
                                      f"list of ids) while tokens[0] is; pass one stream or a "
                                      f"list of documents")
        if bos is not None:
            stream.append(bos)
        stream += _sequence(doc, f"{where}: tokens[{i}]")
        if eos is not None:
            stream.append(eos)
    return stream


def _is_document(x: Any) -> bool:
    return isinstance(x, ember.Tensor | list | tuple) or (
        hasattr(x, "tolist") and getattr(x, "ndim", 0) == 1)


def detokenize(tokenizer: Any, ids: Any, mask: Any = None, *,
               skip_special: bool = False) -> str | list[str]:
    """Text back from ids: one str for one sequence (a list of ints or a 1-D tensor), a list
    of str for a batch (a 2-D tensor or a list of sequences). ``mask`` (``pad_batch``'s, True
    at real tokens) leaves the padding out; ``skip_special`` leaves out every special token.

    >>> tok = Tokenizer.characters(["hi there"])
    >>> ids, mask = pad_batch(tok.encode_batch(["hi", "there"]), tok.pad_id)
    >>> detokenize(tok, ids, mask)
    ['hi', 'there']
    """
    batched = (isinstance(ids, ember.Tensor) and ids.ndim == 2) or (
        not isinstance(ids, ember.Tensor) and isinstance(ids, Sequence) and ids
        and _is_document(ids[0]))
    if not batched:
        seq = _sequence(ids, "detokenize: ids")
        if mask is not None:
            keep = _mask_row(mask, len(seq), "detokenize")
            seq = [t for t, k in zip(seq, keep, strict=True) if k]
        return str(tokenizer.decode(seq, skip_special=skip_special))
    rows = [_sequence(r, f"detokenize: ids[{i}]") for i, r in enumerate(
        ids.tolist() if isinstance(ids, ember.Tensor) else ids)]
    if mask is not None:
        masks = mask.tolist() if hasattr(mask, "tolist") else list(mask)
        if len(masks) != len(rows):
            raise ember.ArgumentError(f"detokenize: mask has {len(masks)} rows for "
                                      f"{len(rows)} sequences of ids")
        rows = [[t for t, k in zip(r, _mask_row(m, len(r), f"detokenize: row {i}"),
                                   strict=True) if k]
                for i, (r, m) in enumerate(zip(rows, masks, strict=True))]
    return [str(tokenizer.decode(r, skip_special=skip_special)) for r in rows]


def _mask_row(mask: Any, n: int, where: str) -> list[bool]:
    row = mask.tolist() if hasattr(mask, "tolist") else list(mask)
    if len(row) != n:
        raise ember.ArgumentError(f"{where}: the mask has {len(row)} entries for {n} ids; "
                                  f"pass pad_batch's mask with its ids")
    return [bool(k) for k in row]
