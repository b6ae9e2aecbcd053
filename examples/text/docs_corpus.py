"""The repository's own documentation as a language-modelling corpus: the data of
``docs_lm.toml``.

``load`` trains a byte-level BPE (``ember_nn.features.Tokenizer.train_bpe``, the
``tokenizers`` library: ``pip install ember-nn[text]``) of ``VOCAB_SIZE`` tokens on
``docs/*.md``, saves it as ``TOKENIZER`` (``runs/text/tokenizer.json`` under the directory
``ember train`` runs in: beside the run's checkpoint, where the config's ``[output]
tokenizer`` finds it to decode the generated text), encodes every file as one document and
packs the stream (documents separated by the ``<eos>`` token) into blocks of ``BLOCK + 1``
tokens with ``pack_blocks``. The inputs are each block's first ``BLOCK`` tokens and the
targets the next token at every position, both ``(blocks, BLOCK)`` int64.

Nothing is downloaded, and the files are read in sorted order, so every backend trains on the
same blocks (the corpus changes when the docs do).
"""

from __future__ import annotations

from pathlib import Path

import ember
from ember_nn.features import Tokenizer, pack_blocks

DOCS = Path(__file__).resolve().parents[2] / "docs"   # the repository's docs/
VOCAB_SIZE = 512          # 4 special tokens + 256 bytes + 252 merges
BLOCK = 64                # tokens a model sees at once
TOKENIZER = Path("runs/text/tokenizer.json")   # relative to the working directory


def corpus_files(docs: Path = DOCS) -> list[Path]:
    """The Markdown files of ``docs``, sorted by name."""
    files = sorted(docs.glob("*.md"))
    if not files:
        raise FileNotFoundError(f"no .md files in {docs}: run from a clone of the repository")
    return files


def load(files: list[Path] | None = None, *, vocab_size: int = VOCAB_SIZE,
         block: int = BLOCK, tokenizer: Path = TOKENIZER
         ) -> tuple[ember.Tensor, ember.Tensor]:
    """``(inputs, targets)``: blocks of ``block`` token ids and their next tokens, on the
    current backend; the tokenizer is saved at ``tokenizer``."""
    files = corpus_files() if files is None else files
    tok = Tokenizer.train_bpe(files=[str(f) for f in files], vocab_size=vocab_size)
    tok.save(tokenizer)
    documents = tok.encode_batch([f.read_text(encoding="utf-8") for f in files])
    blocks = pack_blocks(documents, block, eos_id=tok.eos_id)
    return blocks[:, :-1], blocks[:, 1:]
