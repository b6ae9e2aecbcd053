"""What ``Tokenizer`` builds on: argument checks for corpora, special tokens and ids, and the
two vocabularies behind one small interface (a ``tokenizers.Tokenizer``, a ``CharVocab``)."""

from __future__ import annotations

import operator
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import ember

from ._text_chars import CharVocab

__all__ = ["SPECIAL_TOKENS", "BPEVocab", "CharsVocab", "checked_ids", "checked_texts", "corpus",
           "read_files", "special_tokens"]

#: the default special tokens, in their roles' order: padding, unknown, begin and end of text
SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>")


def special_tokens(special_tokens: Any, where: str) -> tuple[str, ...]:
    """``special_tokens`` checked: at least four distinct non-empty strings."""
    if isinstance(special_tokens, str) or not isinstance(special_tokens, Sequence):
        raise ember.ArgumentError(
            f"{where}: special_tokens must be a sequence of strings (pad, unk, bos, eos, then "
            f"any extra ones), got {special_tokens!r}")
    tokens = tuple(special_tokens)
    if (len(tokens) < 4 or not all(isinstance(t, str) and t for t in tokens)
            or len(set(tokens)) != len(tokens)):
        raise ember.ArgumentError(
            f"{where}: special_tokens must be at least four distinct non-empty strings, for "
            f"the roles pad, unk, bos and eos in this order (then any extra ones), got "
            f"{special_tokens!r}; the default is {SPECIAL_TOKENS!r}")
    return tokens


def corpus(texts: Any, files: Any, where: str) -> tuple[Iterable[str] | None, list[str] | None]:
    """Exactly one of ``texts`` (a str or an iterable of str) and ``files`` (paths), checked."""
    if (texts is None) == (files is None):
        raise ember.ArgumentError(
            f"{where}: pass the corpus as texts (strings) or as files=[paths], exactly one of "
            f"them; got {'both' if texts is not None else 'neither'}")
    if files is not None:
        if isinstance(files, str | os.PathLike):
            files = [files]
        paths = [os.fspath(f) for f in files]
        missing = [p for p in paths if not Path(p).is_file()]
        if missing or not paths:
            raise ember.ArgumentError(f"{where}: files must name existing text files; "
                                      f"{'missing: ' + repr(missing[:5]) if missing else 'none'}")
        return None, paths
    if isinstance(texts, str):
        return [texts], None
    if isinstance(texts, bytes) or not isinstance(texts, Iterable):
        raise ember.ArgumentError(f"{where}: texts must be a str or an iterable of str, got "
                                  f"{type(texts).__name__}; decode bytes first")
    return texts, None


def checked_texts(texts: Iterable[str], where: str) -> Iterator[str]:
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ember.ArgumentError(f"{where}: text {i} is a {type(text).__name__}, not a "
                                      f"str; pass strings (decode bytes first) or files=[paths]")
        yield text


def read_files(paths: list[str]) -> Iterator[str]:
    for p in paths:
        yield Path(p).read_text(encoding="utf-8")


def token_ids(ids: Any, where: str, vocab_size: int | None = None) -> list[int]:
    """``ids`` (ints, a 1-D integer tensor or anything with ``tolist``) as a list of ints
    ``>= 0`` (and ``< vocab_size`` when given); an ArgumentError naming the first bad one
    (``where[i] = ...``) otherwise."""
    if isinstance(ids, ember.Tensor):
        if ids.ndim != 1 or not ember.isdtype(ids.dtype, "integral"):
            raise ember.ArgumentError(f"{where} must be a 1-D integer tensor of token ids, got "
                                      f"shape {ids.shape} {ids.dtype}")
        ids = ids.tolist()
    elif hasattr(ids, "tolist"):
        ids = ids.tolist()
    if isinstance(ids, str | bytes) or not isinstance(ids, Iterable):
        raise ember.ArgumentError(f"{where} must be a sequence of token ids (ints), got "
                                  f"{type(ids).__name__}; encode text with a Tokenizer first")
    out = list(ids)
    if not all(type(v) is int for v in out):  # the fast path: plain ints (Tokenizer's output)
        out = [_int(v, f"{where}[{i}]") for i, v in enumerate(out)]
    high = vocab_size
    if out and (min(out) < 0 or (high is not None and max(out) >= high)):
        i, k = next((i, k) for i, k in enumerate(out)
                    if k < 0 or (high is not None and k >= high))
        if high is None:
            raise ember.ArgumentError(f"{where}[{i}] = {k} is negative; token ids are >= 0")
        raise ember.ArgumentError(f"{where}[{i}] = {k} is outside this tokenizer's vocabulary "
                                  f"of {high} tokens (ids 0..{high - 1})")
    return out


def _int(value: Any, where: str) -> int:
    """``value`` as an int (a Python or NumPy int, not a bool); ArgumentError otherwise."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise ember.ArgumentError(f"{where} = {value!r} is not an int") from None


def checked_ids(ids: Any, n: int, where: str) -> list[int]:
    """``token_ids`` of ``ids`` in ``[0, n)``, errors naming ``where``'s ``ids``."""
    return token_ids(ids, f"{where}: ids", n)


class BPEVocab:
    """A ``tokenizers.Tokenizer`` behind the small interface ``Tokenizer`` uses."""

    def __init__(self, native: Any) -> None:
        self.native = native

    def __len__(self) -> int:
        return int(self.native.get_vocab_size(with_added_tokens=True))

    def encode(self, text: str) -> list[int]:
        return list(self.native.encode(text, add_special_tokens=False).ids)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [list(e.ids) for e in self.native.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[int], skip: frozenset[int]) -> str:
        return str(self.native.decode([i for i in ids if i not in skip],
                                      skip_special_tokens=False))

    def token_to_id(self, token: str) -> int | None:
        return self.native.token_to_id(token)

    def id_to_token(self, i: int) -> str | None:
        return self.native.id_to_token(i)

    def to_json(self) -> str:
        return str(self.native.to_str())


class CharsVocab:
    """A :class:`CharVocab` behind the same interface."""

    def __init__(self, vocab: CharVocab) -> None:
        self.vocab = vocab

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        return self.vocab.encode(text)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [self.vocab.encode(t) for t in texts]

    def decode(self, ids: list[int], skip: frozenset[int]) -> str:
        return self.vocab.decode(ids, skip)

    def token_to_id(self, token: str) -> int | None:
        return self.vocab.ids.get(token)

    def id_to_token(self, i: int) -> str | None:
        return self.vocab.tokens[i] if 0 <= i < len(self.vocab) else None

    def to_json(self) -> str:
        return self.vocab.to_json()
