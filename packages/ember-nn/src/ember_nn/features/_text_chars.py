"""A character vocabulary: one id per character of a corpus, the special tokens first.

Plain Python (no ``tokenizers`` needed). Characters are Unicode code points (the items of a
Python ``str``), so decoding the ids of a text the vocabulary covers gives the text back
exactly. :class:`~ember_nn.features.Tokenizer` wraps it (``Tokenizer.characters``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import ember

from .._core._errors import ConfigError

__all__ = ["FORMAT", "UNKNOWN", "CharVocab"]

#: the ``format`` field of a saved character vocabulary (a small JSON file)
FORMAT = "ember-nn.characters"
#: what encoding does with a character the vocabulary lacks
UNKNOWN = ("unk", "error")


class CharVocab:
    """Ids ``0 .. len(specials) - 1`` are the special tokens, then one id per character of
    ``chars`` in the order given. ``unknown``: ``"unk"`` maps a character not in the
    vocabulary to the unk token (``specials[unk]``), ``"error"`` raises ``ArgumentError``."""

    def __init__(self, specials: Sequence[str], chars: Sequence[str], *, unk: int,
                 unknown: str = "unk") -> None:
        if unknown not in UNKNOWN:
            raise ember.ArgumentError(
                f"Tokenizer.characters: unknown={unknown!r}; use 'unk' (unknown characters "
                f"become the unk token) or 'error' (encoding them raises)")
        bad = [c for c in chars if not isinstance(c, str) or len(c) != 1]
        if bad:
            raise ConfigError(f"a character vocabulary holds single characters, got {bad[:5]!r}")
        clash = sorted(set(specials) & set(chars))
        if clash or len(set(chars)) != len(chars):
            raise ConfigError(f"a character vocabulary lists each token once; repeated: "
                              f"{clash or sorted({c for c in chars if chars.count(c) > 1})!r}")
        self.specials = tuple(specials)
        self.chars = tuple(chars)
        self.unk = unk
        self.unknown = unknown
        self.tokens = self.specials + self.chars
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self._char_ids = {c: i + len(self.specials) for i, c in enumerate(self.chars)}
        # the special tokens' strings found in a text become their ids (as in the tokenizers
        # library); the longest first, so that one special token containing another wins
        by_length = sorted(self.specials, key=len, reverse=True)
        self._split = re.compile("(" + "|".join(map(re.escape, by_length)) + ")") \
            if by_length else None

    @classmethod
    def build(cls, texts: Iterable[str], specials: Sequence[str], *, unk: int,
              unknown: str = "unk") -> CharVocab:
        """The vocabulary of every character in ``texts`` (sorted by code point)."""
        seen: set[str] = set()
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ember.ArgumentError(
                    f"Tokenizer.characters: text {i} is a {type(text).__name__}, not a str; "
                    f"pass strings (decode bytes first) or files=[paths]")
            seen.update(text)
        return cls(specials, sorted(seen - set(specials)), unk=unk, unknown=unknown)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        char_ids = self._char_ids
        offset = 0  # of the piece in the text
        for k, piece in enumerate(self._split.split(text) if self._split else [text]):
            if k % 2:  # a special token's string
                ids.append(self.ids[piece])
            elif self.unknown == "unk":
                unk = self.unk
                ids.extend([char_ids.get(c, unk) for c in piece])
            else:
                missing = next((i for i, c in enumerate(piece) if c not in char_ids), None)
                if missing is not None:
                    self._unknown(piece[missing], offset + missing)
                ids.extend([char_ids[c] for c in piece])
            offset += len(piece)
        return ids

    def _unknown(self, c: str, where: int) -> NoReturn:
        raise ember.ArgumentError(
            f"Tokenizer.encode: the character {c!r} (U+{ord(c):04X}) at position {where} is "
            f"not in this character vocabulary of {len(self.chars)} characters; build it from "
            f"a corpus that has it, or use unknown='unk' to map it to "
            f"{self.specials[self.unk]!r}")

    def decode(self, ids: Sequence[int], skip: frozenset[int]) -> str:
        tokens = self.tokens
        return "".join([tokens[i] for i in ids if i not in skip])

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": 1, "special_tokens": list(self.specials),
                           "unk": self.unk, "unknown": self.unknown,
                           "characters": "".join(self.chars)}, ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str) -> CharVocab:
        if d.get("version") != 1:
            raise ConfigError(f"{where}: character vocabulary version {d.get('version')!r}; "
                              f"this ember-nn reads version 1")
        try:
            return cls(list(d["special_tokens"]), list(d["characters"]), unk=int(d["unk"]),
                       unknown=str(d["unknown"]))
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigError(f"{where}: not a valid character vocabulary ({e!r}); save it "
                              f"again with Tokenizer.save") from None
