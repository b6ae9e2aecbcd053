"""``LanguageModel``: token embedding, optional position embedding, residual blocks, a final
norm and an untied head (MAD-Lab's language-model backbone), with generation that steps the
blocks' recurrent forms (KV caches, scan states) where every block has one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ..layers._dense import Dense
from ..layers._dropout import Dropout
from ..layers._embedding import Embedding
from ..layers._support import brief_repr, positive_int
from ._block import Block, make_norm
from ._mad_init import mad_language_model_init
from ._positions import check_position_embedding, sincos_positions

__all__ = ["LanguageModel", "TORCH_LINEAR_INIT", "check_ids", "check_blocks"]

#: torch.nn.Linear's default weight init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as MAD-Lab keeps
TORCH_LINEAR_INIT = {"name": "variance_scaling", "scale": 1.0 / 3.0, "mode": "fan_in",
                     "distribution": "uniform"}
#: MAD-Lab's token embedding init, N(0, 0.02)
EMBED_INIT = {"name": "normal", "stddev": 0.02}


def check_ids(layer: str, ids: Any) -> ember.Tensor:
    ids = ids if isinstance(ids, ember.Tensor) else ember.asarray(ids)
    if ids.ndim != 2 or not ids.dtype.is_integer:
        raise ember.ShapeError(f"{layer}: token ids must be an integer (batch, length) tensor, "
                               f"got {ids.dtype} of shape {ids.shape}")
    return ids


def check_blocks(layer: str, blocks: Any, dim: int) -> list[Block]:
    if isinstance(blocks, Module) or not isinstance(blocks, Sequence) or not blocks:
        raise ConfigError(f"{layer}: blocks must be a non-empty list of blocks, got "
                          f"{type(blocks).__name__}")
    for i, b in enumerate(blocks):
        if not isinstance(b, Block):
            raise ConfigError(f"{layer}: blocks[{i}] is a {type(b).__name__}, not an "
                              f"ember_nn.blocks.Block (wrap a mixer as Block(mixer))")
        if b.dim != dim:
            raise ConfigError(f"{layer}: blocks[{i}] is {b.dim} wide, the model {dim}")
    return list(blocks)


class LanguageModel(Module):
    """A causal language model: ``head(norm(blocks(embed(ids) + positions)))``.

    Arguments:
        vocab_size: the number of token ids.
        blocks: a list of ``ember_nn.blocks.Block`` (any mixers), each ``dim`` wide.
        dim: the model width.
        max_length: the longest sequence (the position table's size; generation stops there).
        position_embedding: None (MAD-Lab's default: the mixers carry positions, e.g. rotary),
            ``"learned"`` (a ``(max_length, dim)`` table, N(0, 0.02)) or ``"sincos"`` (fixed).
        norm: the final norm, ``"rms"`` or ``"layer"``.
        embed_dropout: dropout on the embeddings (training mode).

    Token embeddings start N(0, 0.02) and the head (``Dense(dim, vocab_size)``, untied from
    the embedding, with a zero bias) as torch.nn.Linear, as in MAD-Lab; ``blocks`` keep their
    weights (``from_layers`` re-initialises the fresh ones it builds, as MAD-Lab).
    ``model(ids)`` maps ``(batch, length)`` integer ids to ``(batch, length, vocab_size)``
    logits.
    ``LanguageModel.from_layers(names, vocab_size=...)`` builds one from MAD-Lab layer names.

    >>> model = ember_nn.blocks.LanguageModel.from_layers(["mlp", "mlp"], vocab_size=10, dim=8,
    ...                                                    max_length=16, key=0)
    >>> model(ember.tensor([[1, 2, 3]])).shape
    (1, 3, 10)
    >>> model.eval().generate(ember.tensor([[1, 2, 3]]), 4).shape
    (1, 7)
    """

    def __init__(self, vocab_size: int, blocks: Sequence[Block], *, dim: int = 128,
                 max_length: int = 1280, position_embedding: str | None = None,
                 norm: str = "rms", embed_dropout: float = 0.0, key: Any = None) -> None:
        super().__init__()
        name = "LanguageModel"
        self.vocab_size = positive_int(name, "vocab_size", vocab_size)
        self.dim = positive_int(name, "dim", dim)
        self.max_length = positive_int(name, "max_length", max_length)
        self.position_kind = check_position_embedding(name, position_embedding)
        self.blocks = check_blocks(name, blocks, dim)
        base = next_key(key)
        self.token_embedding = Embedding(vocab_size, dim, init=EMBED_INIT,
                                         key=ember.random.fold_in(base, 0))
        self.position_embedding = (
            Embedding(max_length, dim, init=EMBED_INIT, key=ember.random.fold_in(base, 1))
            if position_embedding == "learned" else None)
        self.embed_dropout = (Dropout(embed_dropout, key=ember.random.fold_in(base, 2))
                              if embed_dropout else None)
        self.norm = make_norm(name, norm, dim)
        self.head = Dense(dim, vocab_size, kernel_init=TORCH_LINEAR_INIT,
                          key=ember.random.fold_in(base, 3))

    @classmethod
    def from_layers(cls, layers: Sequence[str | dict[str, Any]], *, vocab_size: int,
                    dim: int = 128, max_length: int = 1280, norm: str = "rms",
                    position_embedding: str | None = None, embed_dropout: float = 0.0,
                    key: Any = None) -> LanguageModel:
        """A model of one pre-norm residual block per layer name, as MAD-Lab builds its
        language models (``["mh-attention", "swiglu", "mh-attention", "swiglu"]`` is 4 blocks).
        An entry may be a table ``{"name": "mamba", "d_state": 16}`` overriding defaults.
        As MAD-Lab's constructor (``self.apply(_init_weights)``), every linear bias of the
        blocks starts at zero (Mamba's ``dt_proj`` keeps its own)."""
        from ._registry import blocks_from_layers

        blocks = blocks_from_layers(cls.__name__, layers, dim=dim, max_length=max_length,
                                    norm=norm, key=key)
        mad_language_model_init(blocks)
        return cls(vocab_size, blocks, dim=dim, max_length=max_length,
                   position_embedding=position_embedding, norm=norm,
                   embed_dropout=embed_dropout, key=ember.random.fold_in(next_key(key), 1 << 20))

    def _embed(self, ids: ember.Tensor, start: int) -> ember.Tensor:
        length = ids.shape[1]
        if start + length > self.max_length and self.position_kind is not None:
            raise ember.ShapeError(f"LanguageModel: positions up to {start + length} exceed "
                                   f"max_length={self.max_length}")
        x = self.token_embedding(ids)
        if self.position_kind is not None:
            positions = ember.arange(start, start + length, backend=ids.backend,
                                     device=ids.device)
            if self.position_embedding is not None:
                x = x + self.position_embedding(positions)
            else:
                x = x + sincos_positions(positions, self.dim, x.dtype)
        return x if self.embed_dropout is None else self.embed_dropout(x)

    def forward(self, ids: Any) -> ember.Tensor:
        ids = check_ids("LanguageModel", ids)
        x = self._embed(ids, 0)
        for block in self.blocks:
            x = block(x)
        out: ember.Tensor = self.head(self.norm(x))
        return out

    @property
    def has_step(self) -> bool:
        """Whether every block has a recurrent form (generation then steps, one position at a
        time, instead of re-running the whole sequence per new token)."""
        return all(b.has_step for b in self.blocks)

    def init_state(self, batch: int, dtype: Any = None) -> list[Any]:
        """The blocks' states before the first position (``step``'s second argument)."""
        return [b.init_state(batch, dtype) for b in self.blocks]

    def step(self, ids_t: Any, state: list[Any], position: int
             ) -> tuple[ember.Tensor, list[Any]]:
        """Logits ``(batch, vocab_size)`` for token ids ``(batch,)`` at ``position``, and the
        new state."""
        ids_t = ids_t if isinstance(ids_t, ember.Tensor) else ember.asarray(ids_t)
        x = self._embed(ember.reshape(ids_t, (-1, 1)), position)[:, 0]
        new = []
        for block, s in zip(self.blocks, state, strict=True):
            x, s = block.step(x, s)
            new.append(s)
        return self.head(self.norm(x)), new

    def generate(self, ids: Any, max_new_tokens: int, *, temperature: float = 0.0,
                 key: Any = None) -> ember.Tensor:
        """``ids`` ``(batch, length)`` followed by ``max_new_tokens`` generated ids: greedy
        (``temperature=0``) or sampled from ``softmax(logits / temperature)`` with ``key``.
        Steps the blocks' recurrent forms when all have one (``has_step``), else re-runs the
        whole sequence per token. Call ``model.eval()`` first to turn dropout off."""
        ids = check_ids("LanguageModel.generate", ids)
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) \
                or max_new_tokens < 0:
            raise ember.ArgumentError(f"LanguageModel.generate: max_new_tokens must be an int "
                                      f">= 0, got {max_new_tokens!r}")
        if not temperature >= 0:
            raise ember.ArgumentError(f"LanguageModel.generate: temperature must be >= 0, got "
                                      f"{temperature!r}")
        base = next_key(key) if temperature > 0 else None

        def pick(logits: ember.Tensor, i: int) -> ember.Tensor:
            if base is None:
                return ember.astype(ember.argmax(logits, axis=-1), ids.dtype)
            drawn = ember.random.categorical(ember.random.fold_in(base, i), logits / temperature)
            return ember.astype(drawn, ids.dtype)

        out = [ids[:, t] for t in range(ids.shape[1])]
        if not max_new_tokens:
            return ids
        if self.has_step:
            state = self.init_state(ids.shape[0], self.head.weight.dtype)
            for t, tok in enumerate(out):
                logits, state = self.step(tok, state, t)
            for i in range(max_new_tokens):
                out.append(pick(logits, i))
                if i + 1 < max_new_tokens:
                    logits, state = self.step(out[-1], state, len(out) - 1)
        else:
            for i in range(max_new_tokens):
                logits = self(ember.stack(out, axis=1))[:, -1]
                out.append(pick(logits, i))
        return ember.stack(out, axis=1)

    def extra_repr(self) -> str:
        return brief_repr(self)
