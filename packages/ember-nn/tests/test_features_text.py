"""Text features: the byte-level BPE against the ``tokenizers`` library used directly, the
character vocabulary against hand-computed ids, exact round trips, save/load (beside a real
checkpoint), padding and packing values on every backend, and the errors."""

from __future__ import annotations

import doctest
import json
import sys
from pathlib import Path

import ember
import ember_nn
import numpy as np
import pytest
import tokenizers
from ember_nn._core._errors import ConfigError
from ember_nn.features import _text, _text_blocks, _text_chars
from ember_nn.features._text import Tokenizer
from ember_nn.features._text_blocks import detokenize, pack_blocks, pad_batch
from hypothesis import given, settings
from hypothesis import strategies as st

CORPUS = [
    "The quick brown fox jumps over the lazy dog.\n",
    "Ember runs the same model on NumPy, PyTorch and MLX.\n\n",
    "naïve café, Ünïcödé, 日本語のテキスト, Ελληνικά, עברית\n",
    "emoji 🙂🎉 and a family 👨‍👩‍👧 (ZWJ), tabs\tand  spaces\r\n",
] * 8
TRICKY = [
    "",
    " leading and trailing spaces  ",
    "line one\nline two\n\n\tindented\r\nwindows",
    "emoji 🙂🎉👨‍👩‍👧🏳️‍🌈 and flags 🇫🇷",
    "combining: e\u0301 a\u0308, CJK 漢字, RTL עברית, math ∑∫√",
    "never seen: ẞ ǅ \U0001d518\U0001d52b\U0001d526 \x00 \x7f",
    "special strings <eos> and <pad> in text",
]


@pytest.fixture(scope="module")
def bpe() -> Tokenizer:
    return Tokenizer.train_bpe(CORPUS, vocab_size=320, min_frequency=2)


def direct_bpe(texts: list[str], vocab_size: int, min_frequency: int) -> tokenizers.Tokenizer:
    """The same byte-level BPE built with the tokenizers library directly."""
    tok = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency,
        special_tokens=["<pad>", "<unk>", "<bos>", "<eos>"],
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


# -- byte-level BPE ----------------------------------------------------------------------------
def test_bpe_matches_the_tokenizers_library_used_directly(bpe: Tokenizer) -> None:
    ref = direct_bpe(CORPUS, 320, 2)
    assert bpe.to_json() == ref.to_str()
    assert bpe.vocab_size == ref.get_vocab_size() == 320
    for text in CORPUS[:4] + TRICKY:
        assert bpe.encode(text) == ref.encode(text).ids
        assert bpe.decode(bpe.encode(text)) == ref.decode(ref.encode(text).ids,
                                                          skip_special_tokens=False)
    assert bpe.encode_batch(TRICKY) == [e.ids for e in ref.encode_batch(TRICKY)]
    # the library's ids through a wrapper of the library's own object
    wrapped = Tokenizer.from_tokenizers(ref)
    assert [wrapped.encode(t) for t in TRICKY] == [e.ids for e in ref.encode_batch(TRICKY)]


def test_bpe_special_tokens_come_first_and_bytes_next(bpe: Tokenizer) -> None:
    assert (bpe.pad_id, bpe.unk_id, bpe.bos_id, bpe.eos_id) == (0, 1, 2, 3)
    assert bpe.special_tokens == ("<pad>", "<unk>", "<bos>", "<eos>")
    assert bpe.kind == "bpe" and bpe.native is not None
    # the 256 byte tokens follow the specials; a merge learnt from the corpus is one token
    assert all(bpe.id_to_token(i) is not None for i in range(4, 260))
    assert len(bpe.encode(" the")) < len(b" the")
    assert repr(bpe) == "Tokenizer(kind='bpe', vocab_size=320)"


@pytest.mark.parametrize("text", TRICKY + CORPUS[:4])
def test_bpe_round_trips_any_text_exactly_and_never_gives_unk(bpe: Tokenizer, text: str) -> None:
    ids = bpe.encode(text)
    assert bpe.decode(ids) == text
    assert bpe.unk_id not in ids
    framed = bpe.encode(text, bos=True, eos=True)
    assert framed == [bpe.bos_id, *ids, bpe.eos_id]
    assert bpe.decode(framed, skip_special=True) == text.replace("<eos>", "").replace("<pad>", "")
    assert bpe.decode(framed) == "<bos>" + text + "<eos>"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_bpe_round_trips_generated_unicode(text: str) -> None:
    tok = _shared_bpe()
    assert tok.decode(tok.encode(text)) == text


_BPE_CACHE: list[Tokenizer] = []


def _shared_bpe() -> Tokenizer:
    if not _BPE_CACHE:
        _BPE_CACHE.append(Tokenizer.train_bpe(CORPUS, vocab_size=300))
    return _BPE_CACHE[0]


def test_bpe_from_files_equals_bpe_from_texts(tmp_path: Path) -> None:
    paths = []
    for i, text in enumerate(CORPUS[:4]):
        p = tmp_path / f"doc{i}.txt"
        p.write_text(text * 8, encoding="utf-8")
        paths.append(p)
    from_files = Tokenizer.train_bpe(files=paths, vocab_size=300)
    ref = direct_bpe([], 300, 2)  # untrained: trained on the files below
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=300, min_frequency=2, special_tokens=["<pad>", "<unk>", "<bos>", "<eos>"],
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    ref.train([str(p) for p in paths], trainer=trainer)
    assert from_files.to_json() == ref.to_str()
    assert from_files.decode(from_files.encode(TRICKY[3])) == TRICKY[3]


def test_bpe_with_extra_special_tokens_keeps_the_roles() -> None:
    tok = Tokenizer.train_bpe(CORPUS, vocab_size=300,
                              special_tokens=("[P]", "[U]", "[B]", "[E]", "[MASK]"))
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 1, 2, 3)
    assert tok.encode("[MASK]") == [4]
    assert tok.decode([2, 4, 3], skip_special=True) == ""


# -- the character vocabulary ------------------------------------------------------------------
def test_characters_ids_are_specials_then_sorted_code_points() -> None:
    tok = Tokenizer.characters(["banana\n", "🙂 ab"])
    chars = sorted(set("banana\n🙂 ab"))  # ['\n', ' ', 'a', 'b', 'n', '🙂']
    assert tok.vocab_size == 4 + len(chars) == 10
    assert [tok.id_to_token(i) for i in range(10)] == ["<pad>", "<unk>", "<bos>", "<eos>",
                                                        *chars]
    assert tok.encode("nab 🙂\n") == [8, 6, 7, 5, 9, 4]
    assert tok.decode([8, 6, 7, 5, 9, 4]) == "nab 🙂\n"
    assert tok.kind == "characters" and tok.native is None


@pytest.mark.parametrize("text", TRICKY[:5] + CORPUS[:4])
def test_characters_round_trip_exactly(text: str) -> None:
    tok = Tokenizer.characters(CORPUS + TRICKY[:5])
    ids = tok.encode(text, bos=True, eos=True)
    assert tok.decode(ids, skip_special=True) == text.replace("<eos>", "").replace("<pad>", "")
    assert tok.decode(ids[1:-1]) == text
    assert len(ids) == len(text) + 2 - 4 * text.count("<eos>") - 4 * text.count("<pad>")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab \n🙂é<>eospad", max_size=40))
def test_characters_round_trip_generated_text(text: str) -> None:
    tok = Tokenizer.characters(["ab \n🙂é<>eospad"])
    assert tok.decode(tok.encode(text)) == text


def test_characters_unknown_becomes_unk_or_an_error() -> None:
    tok = Tokenizer.characters(["abc"])
    assert tok.encode("abz!") == [4, 5, tok.unk_id, tok.unk_id]
    assert tok.decode(tok.encode("abz")) == "ab<unk>"
    strict = Tokenizer.characters(["abc"], unknown="error")
    with pytest.raises(ember.ArgumentError, match=r"'🙂' \(U\+1F642\) at position 7 .*"
                                                  r"unknown='unk'"):
        strict.encode("ab<eos>🙂")  # position counts the special token's characters
    with pytest.raises(ember.ArgumentError, match="unknown='maybe'; use 'unk'"):
        Tokenizer.characters(["abc"], unknown="maybe")


def test_characters_from_files_and_without_the_tokenizers_library(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "corpus.txt"
    p.write_text("héllo\nwörld 🙂", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # the library is not installed
    tok = Tokenizer.characters(files=[p])
    assert tok.encode("wörld 🙂") == Tokenizer.characters(["héllo\nwörld 🙂"]).encode("wörld 🙂")
    loaded = Tokenizer.load(tok.save(tmp_path / "chars.json"))
    assert loaded.encode("héllo\n🙂") == tok.encode("héllo\n🙂")


def test_bpe_without_the_tokenizers_library_names_the_extra(
        monkeypatch: pytest.MonkeyPatch, bpe: Tokenizer, tmp_path: Path) -> None:
    path = bpe.save(tmp_path / "bpe.json")
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(ConfigError, match=r"pip install ember-nn\[text\]"):
        Tokenizer.train_bpe(CORPUS, vocab_size=300)
    with pytest.raises(ConfigError, match=r"pip install ember-nn\[text\]"):
        Tokenizer.load(path)


# -- save / load -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["bpe", "characters"])
def test_save_load_gives_identical_ids(kind: str, bpe: Tokenizer, tmp_path: Path) -> None:
    tok = bpe if kind == "bpe" else Tokenizer.characters(CORPUS + TRICKY, unknown="error")
    path = tok.save(tmp_path / "sub" / "tok.json")
    loaded = Tokenizer.load(path)
    texts = CORPUS[:4] + TRICKY[:5]
    assert loaded.encode_batch(texts) == tok.encode_batch(texts)
    assert loaded.to_json() == tok.to_json() == path.read_text(encoding="utf-8")
    assert loaded.special_tokens == tok.special_tokens and loaded.eos_id == tok.eos_id
    assert loaded.vocab_size == tok.vocab_size and loaded.kind == kind
    if kind == "bpe":  # the library's own format: it reads the file itself
        ref = tokenizers.Tokenizer.from_file(str(path))
        assert [e.ids for e in ref.encode_batch(texts)] == tok.encode_batch(texts)
    else:
        saved = json.loads(path.read_text(encoding="utf-8"))
        assert saved["format"] == "ember-nn.characters" and saved["unknown"] == "error"
        with pytest.raises(ember.ArgumentError, match="not in this character vocabulary"):
            loaded.encode("Ж")


def test_save_beside_a_checkpoint_leaves_the_checkpoint_saveable(bpe: Tokenizer,
                                                                 tmp_path: Path) -> None:
    model = ember_nn.Dense(3, 2, key=ember.random.key(0))
    ckpt = tmp_path / "run" / "checkpoint"
    ember_nn.save(model, ckpt)
    path = bpe.save_beside(ckpt)
    assert path == (tmp_path / "run" / "tokenizer.json").absolute()
    ember_nn.save(model, ckpt)  # the checkpoint directory holds nothing of ours
    assert Tokenizer.load_beside(ckpt).encode(TRICKY[3]) == bpe.encode(TRICKY[3])
    with pytest.raises(ConfigError, match=r"no tokenizer.json beside the checkpoint .*"
                                          r"save_beside"):
        Tokenizer.load_beside(tmp_path / "elsewhere" / "checkpoint")


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file; save one"):
        Tokenizer.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not JSON"):
        Tokenizer.load(bad)
    bad.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(ConfigError, match="neither a tokenizers JSON"):
        Tokenizer.load(bad)
    bad.write_text('{"format": "ember-nn.characters", "version": 9}', encoding="utf-8")
    with pytest.raises(ConfigError, match="version 9"):
        Tokenizer.load(bad)
    bad.write_text('{"format": "ember-nn.characters", "version": 1}', encoding="utf-8")
    with pytest.raises(ConfigError, match="not a valid character vocabulary"):
        Tokenizer.load(bad)
    with pytest.raises(ember.ArgumentError, match="is a directory"):
        Tokenizer.characters(["a"]).save(tmp_path)


def test_from_tokenizers_needs_four_roles() -> None:
    lib = tokenizers.Tokenizer(tokenizers.models.BPE())
    lib.add_special_tokens(["<|endoftext|>"])
    with pytest.raises(ConfigError, match=r"has 1 special tokens.*special_tokens=\(pad"):
        Tokenizer.from_tokenizers(lib)
    tok = Tokenizer.from_tokenizers(lib, special_tokens=("<|endoftext|>",) * 4)
    assert (tok.pad_id, tok.eos_id) == (0, 0)
    with pytest.raises(ConfigError, match="'<nope>' is not in the vocabulary"):
        Tokenizer.from_tokenizers(lib, special_tokens=("<nope>",) * 4)


def test_tokenizer_argument_errors(bpe: Tokenizer, tmp_path: Path) -> None:
    with pytest.raises(ember.ArgumentError, match=r"vocab_size=100; .* use at least 260"):
        Tokenizer.train_bpe(CORPUS, vocab_size=100)
    with pytest.raises(ember.ArgumentError, match="min_frequency must be a positive int"):
        Tokenizer.train_bpe(CORPUS, vocab_size=300, min_frequency=0)
    with pytest.raises(ember.ArgumentError, match="exactly one of them; got neither"):
        Tokenizer.train_bpe(vocab_size=300)
    with pytest.raises(ember.ArgumentError, match="got both"):
        Tokenizer.characters(["a"], files=["a.txt"])
    with pytest.raises(ember.ArgumentError, match="missing"):
        Tokenizer.characters(files=[tmp_path / "nope.txt"])
    with pytest.raises(ember.ArgumentError, match="text 1 is a bytes"):
        Tokenizer.train_bpe(["a", b"b"], vocab_size=300)
    with pytest.raises(ember.ArgumentError, match="four distinct non-empty strings"):
        Tokenizer.characters(["a"], special_tokens=("<pad>", "<pad>", "<bos>", "<eos>"))
    with pytest.raises(ember.ArgumentError, match="four distinct"):
        Tokenizer.characters(["a"], special_tokens=("<pad>",))
    with pytest.raises(ember.ArgumentError, match="expected a str, got bytes"):
        bpe.encode(b"abc")  # type: ignore[arg-type]
    with pytest.raises(ember.ArgumentError, match="one str; use encode"):
        bpe.encode_batch("abc")
    with pytest.raises(ember.ArgumentError, match=r"ids\[1\] = 320 is outside .* 320 tokens"):
        bpe.decode([5, 320])
    with pytest.raises(ember.ArgumentError, match=r"ids\[0\] = -1 is outside"):
        bpe.decode([-1])
    with pytest.raises(ember.ArgumentError, match=r"ids\[0\] = 'a' is not an int"):
        bpe.decode(["a"])
    with pytest.raises(ember.ArgumentError, match="1-D integer tensor"):
        bpe.decode(ember.asarray([1.0, 2.0]))


def test_decode_takes_tensors_on_every_backend(backend: str, bpe: Tokenizer) -> None:
    text = TRICKY[3]
    ids = ember.asarray(bpe.encode(text))
    assert ids.backend == backend
    assert bpe.decode(ids) == text
    padded, _ = pad_batch([bpe.encode(t) for t in TRICKY[1:3]], bpe.pad_id)
    assert bpe.decode_batch(padded, skip_special=True) == TRICKY[1:3]


# -- padding -----------------------------------------------------------------------------------
def test_pad_batch_values_on_every_backend(backend: str) -> None:
    seqs = [[5, 6, 7], [8], [], [9, 10]]
    ids, mask = pad_batch(seqs, pad_id=0)
    assert (ids.backend, mask.backend) == (backend, backend)
    assert (ids.dtype, mask.dtype, ids.shape) == (ember.int64, ember.bool, (4, 3))
    np.testing.assert_array_equal(ids.numpy(), [[5, 6, 7], [8, 0, 0], [0, 0, 0], [9, 10, 0]])
    np.testing.assert_array_equal(mask.numpy(), np.array(
        [[1, 1, 1], [1, 0, 0], [0, 0, 0], [1, 1, 0]], dtype=bool))
    ids, mask = pad_batch(seqs, 1, 5, "left")
    np.testing.assert_array_equal(ids.numpy(), [[1, 1, 5, 6, 7], [1, 1, 1, 1, 8],
                                                [1, 1, 1, 1, 1], [1, 1, 1, 9, 10]])
    np.testing.assert_array_equal(mask.numpy(), ids.numpy() != 1)
    # tensors in, truncation keeps the first ids (right) or the last ones (left)
    tensors = [ember.asarray(s, dtype=ember.int64) for s in ([1, 2, 3, 4], [5, 6])]
    right, _ = pad_batch(tensors, 0, length=3, truncate=True)
    left, lmask = pad_batch(tensors, 0, length=3, side="left", truncate=True)
    np.testing.assert_array_equal(right.numpy(), [[1, 2, 3], [5, 6, 0]])
    np.testing.assert_array_equal(left.numpy(), [[2, 3, 4], [0, 5, 6]])
    np.testing.assert_array_equal(lmask.numpy(), [[True] * 3, [False, True, True]])
    # the mask selects exactly the real tokens (an embedding would then ignore padding)
    tok = Tokenizer.characters(CORPUS)
    ids, mask = pad_batch(tok.encode_batch(CORPUS[:4]), tok.pad_id)
    assert int(ember.sum(ember.astype(mask, ember.int64)).item()) == sum(
        len(t) for t in CORPUS[:4])
    assert detokenize(tok, ids, mask) == CORPUS[:4]
    assert detokenize(tok, ids, skip_special=True) == CORPUS[:4]
    assert detokenize(tok, ids[1], mask[1]) == CORPUS[1]


def test_pad_batch_errors() -> None:
    with pytest.raises(ember.ArgumentError, match=r"sequences\[0\] has 3 tokens, more than "
                                                  r"length=2.*truncate=True"):
        pad_batch([[1, 2, 3]], 0, length=2)
    with pytest.raises(ember.ArgumentError, match="side='middle'"):
        pad_batch([[1]], 0, side="middle")
    with pytest.raises(ember.ArgumentError, match="non-empty list"):
        pad_batch([], 0)
    with pytest.raises(ember.ArgumentError, match=r"sequences\[1\]\[0\] = -3 is negative"):
        pad_batch([[1], [-3]], 0)
    with pytest.raises(ember.ArgumentError, match="pad_id is None"):
        pad_batch([[1]], None)  # type: ignore[arg-type]
    with pytest.raises(ember.ArgumentError, match="length = 0"):
        pad_batch([[1]], 0, length=0)
    with pytest.raises(ember.ArgumentError, match="encode text with a Tokenizer first"):
        pad_batch(["abc"], 0)
    with pytest.raises(ember.ArgumentError, match="1-D integer tensor"):
        pad_batch([ember.asarray([[1, 2]])], 0)


# -- packing -----------------------------------------------------------------------------------
def _reference_blocks(stream: list[int], block: int, pad: int | None) -> np.ndarray:
    """NumPy: windows of block + 1 tokens at strides of block; a padded tail when pad."""
    n_full = (len(stream) - 1) // block
    rows = [stream[i * block:i * block + block + 1] for i in range(n_full)]
    tail = stream[n_full * block:]
    if pad is not None and len(tail) > 1:
        rows.append(tail + [pad] * (block + 1 - len(tail)))
    return np.array(rows, dtype=np.int64).reshape(-1, block + 1)


@pytest.mark.parametrize("block", [1, 3, 7, 16])
def test_pack_blocks_values_on_every_backend(backend: str, block: int) -> None:
    rng = np.random.default_rng(block)
    docs = [rng.integers(4, 50, size=int(n)).tolist() for n in rng.integers(1, 20, size=6)]
    stream = [t for d in docs for t in [2, *d, 3]]
    blocks = pack_blocks(docs, block, bos_id=2, eos_id=3)
    assert (blocks.backend, blocks.dtype) == (backend, ember.int64)
    np.testing.assert_array_equal(blocks.numpy(), _reference_blocks(stream, block, None))
    padded = pack_blocks([ember.asarray(d) for d in docs], block, bos_id=2, eos_id=3,
                         drop_last=False, pad_id=0)
    np.testing.assert_array_equal(padded.numpy(), _reference_blocks(stream, block, 0))
    # every token after the first is a target exactly once (the padding aside)
    targets = padded.numpy()[:, 1:].ravel()
    np.testing.assert_array_equal(targets[targets != 0], stream[1:])
    elsewhere = "numpy" if backend != "numpy" else "torch"
    if elsewhere in ember_nn_backends():
        moved = pack_blocks(docs, block, bos_id=2, eos_id=3, backend=elsewhere)
        assert moved.backend == elsewhere
        np.testing.assert_array_equal(moved.numpy(), blocks.numpy())
        ids, mask = pad_batch(docs, 0, backend=elsewhere)
        assert (ids.backend, mask.backend) == (elsewhere, elsewhere)
    flat = pack_blocks(ember.asarray(stream), block)
    np.testing.assert_array_equal(flat.numpy(), blocks.numpy())
    inputs, outputs = flat[:, :-1], flat[:, 1:]
    assert inputs.shape == outputs.shape == ((len(stream) - 1) // block, block)


def test_pack_blocks_hand_computed() -> None:
    assert pack_blocks([[5, 6], [7, 8, 9]], 3, eos_id=2).tolist() == [[5, 6, 2, 7],
                                                                       [7, 8, 9, 2]]
    assert pack_blocks([[5, 6], [7]], 3, bos_id=1).tolist() == [[1, 5, 6, 1]]
    assert pack_blocks([[5, 6], [7]], 3, bos_id=1, drop_last=False, pad_id=0).tolist() == [
        [1, 5, 6, 1], [1, 7, 0, 0]]
    assert pack_blocks([[5, 6], [7]], 2, bos_id=1).tolist() == [[1, 5, 6], [6, 1, 7]]
    assert pack_blocks([1, 2, 3, 4, 5], 2).tolist() == [[1, 2, 3], [3, 4, 5]]
    # a flat stream gets no separators even with eos_id; documents without eos run together
    assert pack_blocks([1, 2, 3], 2, eos_id=9).tolist() == [[1, 2, 3]]
    assert pack_blocks([[1, 2], [3]], 2).tolist() == [[1, 2, 3]]


def test_pack_blocks_errors() -> None:
    for bad in (0, -1, 2.5, True, "8"):
        with pytest.raises(ember.ArgumentError, match=f"block_size = {bad!r}; use a positive"):
            pack_blocks([1, 2, 3], bad)  # type: ignore[arg-type]
    with pytest.raises(ember.ArgumentError, match="stream of 3 tokens makes no block of "
                                                  r"block_size \+ 1 = 5.*drop_last=False"):
        pack_blocks([1, 2, 3], 4)
    with pytest.raises(ember.ArgumentError, match="stream of 0 tokens"):
        pack_blocks([], 4)
    with pytest.raises(ember.ArgumentError, match="needs pad_id"):
        pack_blocks([1, 2, 3], 1, drop_last=False)
    with pytest.raises(ember.ArgumentError, match=r"tokens\[1\] = 7 is not a document"):
        pack_blocks([[1, 2], 7], 1)
    with pytest.raises(ember.ArgumentError, match=r"tokens\[0\]\[1\] = -2 is negative"):
        pack_blocks([[1, -2]], 1)
    with pytest.raises(ember.ArgumentError, match="must be 1-D"):
        pack_blocks(ember.asarray([[1, 2], [3, 4]]), 1)
    with pytest.raises(ember.ArgumentError, match="encode text with a Tokenizer first"):
        pack_blocks("some text", 2)
    with pytest.raises(ember.ArgumentError, match="eos_id = -1 is negative"):
        pack_blocks([[1, 2]], 1, eos_id=-1)


def test_train_pack_and_detokenize_a_language_model_corpus(backend: str) -> None:
    tok = Tokenizer.train_bpe(CORPUS, vocab_size=300)
    blocks = pack_blocks(tok.encode_batch(CORPUS[:4]), 8, eos_id=tok.eos_id)
    rows = blocks.numpy()
    stream = [*rows[0], *[t for r in rows[1:] for t in r[1:]]]
    text = tok.decode(stream)
    assert "".join(t + "<eos>" for t in CORPUS[:4]).startswith(text) and len(text) > 100
    assert detokenize(tok, blocks[0]) == tok.decode(rows[0].tolist())


def ember_nn_backends() -> list[str]:
    from ember.testing import loadable_backends
    return loadable_backends()


def test_pad_batch_of_empty_sequences_has_length_zero(backend: str) -> None:
    ids, mask = pad_batch([[], []], 0)
    assert ids.shape == mask.shape == (2, 0) and ids.backend == backend


# -- docstrings --------------------------------------------------------------------------------
@pytest.mark.parametrize("module", [_text, _text_chars, _text_blocks])
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module, extraglobs={  # type: ignore[arg-type]
        "ember": ember, "Tokenizer": Tokenizer, "pad_batch": pad_batch,
        "pack_blocks": pack_blocks, "detokenize": detokenize}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
