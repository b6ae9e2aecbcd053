"""Text to token ids and back: a byte-level BPE (the ``tokenizers`` library) or a character
vocabulary, saved as one JSON file (beside a checkpoint, for a language model's run).

``tokenizers`` is optional (``pip install ember-nn[text]``) and imported only when a BPE is
trained, loaded or wrapped; the character vocabulary is plain Python. Both kinds encode the
strings of their special tokens found in a text as those tokens' ids (the ``tokenizers``
library's behaviour), so ``decode(encode(text)) == text`` for every text a byte-level BPE
is given and every text whose characters a character vocabulary holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, final

import ember

from .._core._errors import ConfigError
from . import _text_support as ts
from ._text_chars import FORMAT, CharVocab
from ._text_support import SPECIAL_TOKENS

__all__ = ["SPECIAL_TOKENS", "TOKENIZER_FILE", "Tokenizer"]

#: the name of a tokenizer saved beside a checkpoint (``Tokenizer.save_beside``)
TOKENIZER_FILE = "tokenizer.json"
_BYTES = 256  # a byte-level BPE's first tokens: one per byte


def _tokenizers() -> Any:
    """The ``tokenizers`` module, or ConfigError saying how to install it."""
    try:
        import tokenizers
    except ImportError:
        raise ConfigError(
            "a byte-level BPE tokenizer needs the tokenizers library, which is not installed: "
            "pip install ember-nn[text]  (or pip install tokenizers); "
            "Tokenizer.characters works without it") from None
    return tokenizers


@final
class Tokenizer:
    """Text to token ids and back: a byte-level BPE or a character vocabulary.

    Build one with ``Tokenizer.train_bpe`` (the ``tokenizers`` library; any text round-trips,
    no id is ever unk), ``Tokenizer.characters`` (one id per character of the corpus, plain
    Python), ``Tokenizer.from_tokenizers`` (wrap a ``tokenizers.Tokenizer``) or
    ``Tokenizer.load``. Special tokens come first (ids 0, 1, 2, 3 for the default
    ``("<pad>", "<unk>", "<bos>", "<eos>")``): the first four play the roles pad, unk, bos and
    eos (``pad_id``, ``unk_id``, ``bos_id``, ``eos_id``); their strings in a text encode as
    their ids.

    >>> tok = Tokenizer.characters(["hello world"])
    >>> tok.vocab_size, tok.encode("hole", eos=True)
    (12, [7, 9, 8, 6, 3])
    >>> tok.decode([7, 9, 8, 6, 3]), tok.decode([7, 9, 8, 6, 3], skip_special=True)
    ('hole<eos>', 'hole')
    """

    def __init__(self, _impl: ts.BPEVocab | ts.CharsVocab, _specials: tuple[str, ...],
                 _kind: str) -> None:
        """Private: use the constructors (``train_bpe``, ``characters``, ``load``...)."""
        self._impl = _impl
        self._kind = _kind
        self._special_tokens = _specials
        ids = []
        for t in _specials:
            i = _impl.token_to_id(t)
            if i is None:
                raise ConfigError(f"Tokenizer: the special token {t!r} is not in the "
                                  f"vocabulary; name tokens it has")
            ids.append(i)
        self._special_ids = tuple(ids)
        self._skip = frozenset(ids)

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def train_bpe(cls, texts: str | Iterable[str] | None = None, *,
                  files: Sequence[str | os.PathLike[str]] | None = None, vocab_size: int,
                  min_frequency: int = 2, special_tokens: Sequence[str] = SPECIAL_TOKENS,
                  show_progress: bool = False) -> Tokenizer:
        """Train a byte-level BPE (GPT-2's scheme) on ``texts`` or ``files`` (UTF-8 text).

        The ByteLevel pre-tokenizer maps every byte to a token first, so the vocabulary starts
        from all 256 bytes and any text (any language, emoji, newlines) encodes without unk
        and decodes back exactly; merges of frequent pairs fill it up to ``vocab_size``.
        Special tokens get the first ids.

        Arguments:
            texts: the corpus as strings (one str is one text); or
            files: paths of UTF-8 text files (read by the library, not by Python).
            vocab_size: the most tokens (specials + 256 bytes + merges); at least
                ``256 + len(special_tokens)``. Fewer come back when the corpus runs out of
                pairs seen ``min_frequency`` times (as in the example below).
            min_frequency: a pair must occur this often to be merged.
            special_tokens: pad, unk, bos, eos (in this order), then any extra ones.

        Raises ``ConfigError`` when ``tokenizers`` is not installed, ``ArgumentError`` for a
        bad argument (naming it).

        >>> tok = Tokenizer.train_bpe(["low lower lowest"] * 20, vocab_size=270)
        >>> tok.vocab_size, tok.encode("lowest"), tok.decode(tok.encode("naïve 🙂\\n"))
        (267, [261, 72, 264], 'naïve 🙂\\n')
        """
        where = "Tokenizer.train_bpe"
        specials = ts.special_tokens(special_tokens, where)
        lowest = _BYTES + len(specials)
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) \
                or vocab_size < lowest:
            raise ember.ArgumentError(
                f"{where}: vocab_size={vocab_size!r}; a byte-level BPE holds the 256 bytes and "
                f"the {len(specials)} special tokens before any merge: use at least {lowest}")
        if isinstance(min_frequency, bool) or not isinstance(min_frequency, int) \
                or min_frequency < 1:
            raise ember.ArgumentError(f"{where}: min_frequency must be a positive int (how "
                                      f"often a pair occurs to be merged), got {min_frequency!r}")
        corpus, paths = ts.corpus(texts, files, where)
        tk = _tokenizers()
        native = tk.Tokenizer(tk.models.BPE(unk_token=specials[1]))
        native.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
        native.decoder = tk.decoders.ByteLevel()
        trainer = tk.trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(specials),
            initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(),
            show_progress=show_progress)
        if paths is not None:
            native.train(paths, trainer=trainer)
        else:
            assert corpus is not None
            native.train_from_iterator(ts.checked_texts(corpus, where), trainer=trainer)
        return cls(ts.BPEVocab(native), specials, "bpe")

    @classmethod
    def characters(cls, texts: str | Iterable[str] | None = None, *,
                   files: Sequence[str | os.PathLike[str]] | None = None,
                   special_tokens: Sequence[str] = SPECIAL_TOKENS,
                   unknown: str = "unk") -> Tokenizer:
        """A character vocabulary: the special tokens, then every character (Unicode code
        point) of ``texts`` or ``files`` (UTF-8) sorted by code point, one id each.

        ``unknown`` says what encoding does with a character the corpus did not have:
        ``"unk"`` (the default) gives ``unk_id`` (decoded as the unk token's string),
        ``"error"`` raises ``ArgumentError`` naming the character and its position. Decoding
        is exact for every text whose characters the vocabulary holds.

        >>> tok = Tokenizer.characters(["abc"])
        >>> tok.encode("cab"), tok.encode("abd")
        ([6, 4, 5], [4, 5, 1])
        >>> strict = Tokenizer.characters(["abc"], unknown="error")
        >>> try:
        ...     strict.encode("abd")
        ... except ember.ArgumentError as e:
        ...     print(str(e)[:70])
        Tokenizer.encode: the character 'd' (U+0064) at position 2 is not in t
        """
        where = "Tokenizer.characters"
        specials = ts.special_tokens(special_tokens, where)
        corpus, paths = ts.corpus(texts, files, where)
        source = ts.read_files(paths) if paths is not None else corpus
        assert source is not None
        return cls(ts.CharsVocab(CharVocab.build(source, specials, unk=1, unknown=unknown)),
                   specials, "characters")

    @classmethod
    def from_tokenizers(cls, tokenizer: Any, *,
                        special_tokens: Sequence[str] | None = None) -> Tokenizer:
        """Wrap a ``tokenizers.Tokenizer`` (trained elsewhere, or a pretrained
        ``tokenizer.json``); ``encode`` then gives the library's ids without its
        post-processor (no special tokens are added unless ``bos``/``eos`` ask).

        ``special_tokens``: the tokens of the roles pad, unk, bos and eos, in this order
        (one token may play several roles); by default the library's special added tokens
        in id order, of which there must be at least four.
        """
        where = "Tokenizer.from_tokenizers"
        tk = _tokenizers()
        if not isinstance(tokenizer, tk.Tokenizer):
            raise ember.ArgumentError(f"{where}: expected a tokenizers.Tokenizer, got "
                                      f"{type(tokenizer).__name__}")
        added = sorted(tokenizer.get_added_tokens_decoder().items())
        found = tuple(t.content for _, t in added if t.special)
        if special_tokens is None:
            if len(found) < 4:
                raise ConfigError(
                    f"{where}: the tokenizer has {len(found)} special tokens {found!r}; name "
                    f"the tokens of the roles pad, unk, bos and eos: "
                    f"special_tokens=(pad, unk, bos, eos)")
            specials = found
        else:
            if isinstance(special_tokens, str) or len(special_tokens) < 4 \
                    or not all(isinstance(t, str) for t in special_tokens):
                raise ember.ArgumentError(f"{where}: special_tokens must be at least four "
                                          f"strings (pad, unk, bos, eos), got {special_tokens!r}")
            specials = tuple(special_tokens) + tuple(t for t in found
                                                      if t not in special_tokens)
        return cls(ts.BPEVocab(tokenizer), specials, "bpe")

    # -- encoding --------------------------------------------------------------------------
    def encode(self, text: str, *, bos: bool = False, eos: bool = False) -> list[int]:
        """The ids of ``text``, with ``bos_id`` first and ``eos_id`` last when asked."""
        if not isinstance(text, str):
            raise ember.ArgumentError(f"Tokenizer.encode: expected a str, got "
                                      f"{type(text).__name__}; decode bytes first")
        ids = self._impl.encode(text)
        return self._framed(ids, bos, eos)

    def encode_batch(self, texts: Sequence[str], *, bos: bool = False,
                     eos: bool = False) -> list[list[int]]:
        """``[encode(t) for t in texts]`` (a BPE encodes the batch in parallel threads)."""
        if isinstance(texts, str):
            raise ember.ArgumentError("Tokenizer.encode_batch: expected a sequence of str, got "
                                      "one str; use encode for one text")
        checked = list(ts.checked_texts(texts, "Tokenizer.encode_batch"))
        return [self._framed(ids, bos, eos) for ids in self._impl.encode_batch(checked)]

    def _framed(self, ids: list[int], bos: bool, eos: bool) -> list[int]:
        if bos:
            ids.insert(0, self.bos_id)
        if eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids: Any, *, skip_special: bool = False) -> str:
        """The text of ``ids`` (ints or a 1-D integer tensor); ``skip_special`` leaves the
        special tokens out (else they appear as their strings, so that decoding inverts
        encoding). Raises ``ArgumentError`` for an id outside the vocabulary."""
        checked = ts.checked_ids(ids, self.vocab_size, "Tokenizer.decode")
        return self._impl.decode(checked, self._skip if skip_special else frozenset())

    def decode_batch(self, batch: Iterable[Any], *, skip_special: bool = False) -> list[str]:
        """``[decode(ids) for ids in batch]`` (a 2-D tensor decodes row by row)."""
        if isinstance(batch, ember.Tensor):
            if batch.ndim != 2:
                raise ember.ArgumentError(f"Tokenizer.decode_batch: expected a 2-D tensor of "
                                          f"ids (batch, length), got shape {batch.shape}")
            batch = [batch[i] for i in range(batch.shape[0])]
        return [self.decode(ids, skip_special=skip_special) for ids in batch]

    # -- the vocabulary --------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``"bpe"`` or ``"characters"``."""
        return self._kind

    @property
    def vocab_size(self) -> int:
        """The number of ids (special tokens included): an embedding's ``num_embeddings``."""
        return len(self._impl)

    @property
    def special_tokens(self) -> tuple[str, ...]:
        """The special tokens: pad, unk, bos, eos, then any extra ones."""
        return self._special_tokens

    @property
    def pad_id(self) -> int:
        """The id of the padding token (``pad_batch``, ``pack_blocks(drop_last=False)``)."""
        return self._special_ids[0]

    @property
    def unk_id(self) -> int:
        """The id of the unknown token."""
        return self._special_ids[1]

    @property
    def bos_id(self) -> int:
        """The id of the begin-of-text token."""
        return self._special_ids[2]

    @property
    def eos_id(self) -> int:
        """The id of the end-of-text token (the separator of ``pack_blocks``' documents)."""
        return self._special_ids[3]

    @property
    def native(self) -> Any:
        """The wrapped ``tokenizers.Tokenizer`` of a BPE; None for a character vocabulary."""
        return self._impl.native if isinstance(self._impl, ts.BPEVocab) else None

    def token_to_id(self, token: str) -> int | None:
        """The id of ``token``, or None when the vocabulary lacks it."""
        return self._impl.token_to_id(token)

    def id_to_token(self, i: int) -> str | None:
        """The token of id ``i`` (a BPE's byte-level form: ``"Ġ"`` is a space), or None."""
        return self._impl.id_to_token(i)

    def __repr__(self) -> str:
        return f"Tokenizer(kind={self._kind!r}, vocab_size={self.vocab_size})"

    # -- files -----------------------------------------------------------------------------
    def to_json(self) -> str:
        """The tokenizer as JSON text: the ``tokenizers`` library's own format for a BPE
        (loadable by ``tokenizers.Tokenizer.from_str``), a small object for characters."""
        return self._impl.to_json()

    @classmethod
    def from_json(cls, text: str, *, special_tokens: Sequence[str] | None = None,
                  where: str = "Tokenizer.from_json") -> Tokenizer:
        """The tokenizer ``to_json`` wrote (or any ``tokenizers`` JSON; ``special_tokens`` as
        for ``from_tokenizers``). Raises ``ConfigError`` for text that is neither."""
        try:
            d = json.loads(text)
        except ValueError as e:
            raise ConfigError(f"{where}: not JSON ({e}); expected a file Tokenizer.save "
                              f"wrote") from None
        if isinstance(d, dict) and d.get("format") == FORMAT:
            vocab = CharVocab.from_dict(d, where)
            return cls(ts.CharsVocab(vocab), vocab.specials, "characters")
        if isinstance(d, dict) and "model" in d:
            tk = _tokenizers()
            try:
                native = tk.Tokenizer.from_str(text)
            except Exception as e:  # the library raises plain Exception
                raise ConfigError(f"{where}: the tokenizers library cannot read it: {e}") \
                    from None
            return cls.from_tokenizers(native, special_tokens=special_tokens)
        raise ConfigError(f"{where}: neither a tokenizers JSON (no 'model') nor a character "
                          f"vocabulary (format {FORMAT!r}); expected a file Tokenizer.save wrote")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``to_json()`` to ``path`` (one JSON file, replaced atomically); returns it.
        A BPE's file is the ``tokenizers`` library's ``tokenizer.json``: the special tokens'
        roles are their order (pad, unk, bos, eos first), which ``load`` reads back."""
        target = Path(path)
        if target.is_dir():
            raise ember.ArgumentError(f"Tokenizer.save: {target} is a directory; name a file "
                                      f"(or use save_beside(checkpoint_dir))")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        tmp.write_text(self.to_json(), encoding="utf-8")
        os.replace(tmp, target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str], *,
             special_tokens: Sequence[str] | None = None) -> Tokenizer:
        """The tokenizer ``save`` wrote to ``path`` (or a ``tokenizers`` ``tokenizer.json``);
        ``ConfigError`` when there is none or it cannot be read.

        >>> import tempfile, pathlib
        >>> tok = Tokenizer.characters(["hello"])
        >>> path = tok.save(pathlib.Path(tempfile.mkdtemp()) / "chars.json")
        >>> Tokenizer.load(path).encode("hello") == tok.encode("hello")
        True
        """
        where = f"Tokenizer.load({os.fspath(path)!r})"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{where}: no such file; save one with tokenizer.save(path)") \
                from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{where}: cannot be read: {e}") from None
        return cls.from_json(text, special_tokens=special_tokens, where=where)

    def save_beside(self, checkpoint_dir: str | os.PathLike[str]) -> Path:
        """Save as ``tokenizer.json`` in the directory holding ``checkpoint_dir`` (a run's
        output directory: ``runs/lm/checkpoint`` -> ``runs/lm/tokenizer.json``; a checkpoint
        directory holds only its versions). Returns the file's path."""
        return self.save(_beside(checkpoint_dir))

    @classmethod
    def load_beside(cls, checkpoint_dir: str | os.PathLike[str]) -> Tokenizer:
        """The tokenizer ``save_beside(checkpoint_dir)`` wrote."""
        path = _beside(checkpoint_dir)
        if not path.is_file():
            raise ConfigError(f"Tokenizer.load_beside: no {TOKENIZER_FILE} beside the "
                              f"checkpoint {os.fspath(checkpoint_dir)!r} (looked for {path}); "
                              f"save one with tokenizer.save_beside(checkpoint_dir)")
        return cls.load(path)


def _beside(checkpoint_dir: str | os.PathLike[str]) -> Path:
    return Path(checkpoint_dir).absolute().parent / TOKENIZER_FILE
