"""``AutoEncoder``: MAD-Lab's auto-encoder backbone (for its compression task): an encoder of
residual blocks pooled to one vector per sequence, and a fixed MLP decoder that reads that
vector at every position (plus sinusoidal positions) back into token logits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ember

from .. import init
from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ..layers._dense import Dense
from ..layers._dropout import Dropout
from ..layers._embedding import Embedding
from ..layers._support import brief_repr, new_variable, positive_int
from ._block import Block, make_norm
from ._language_model import EMBED_INIT, check_blocks, check_ids
from ._mad_init import LINEAR_INIT_STD, mad_autoencoder_init
from ._positions import check_position_embedding, sincos_positions

__all__ = ["POOLS", "AutoEncoder"]

POOLS = ("last", "avg", "cls")
#: MAD-Lab's auto-encoder initialises every Linear N(0, 0.02) with zero biases, the encoder's
#: mixers' included (``mad_autoencoder_init``)
_LINEAR_INIT = {"name": "normal", "stddev": LINEAR_INIT_STD}


class AutoEncoder(Module):
    """Encode a sequence to one vector, decode it back to every token (MAD-Lab's
    ``AutoEncoder``, which its compression task trains)::

        e = pool(blocks(embed(ids) + positions))                    # (batch, dim)
        h = e[:, None] + sincos(arange(length))                     # (batch, length, dim)
        h = gelu(W2 norm(gelu(W1 norm(h))))                         # MAD's fixed decoder
        logits = head(norm(h))                                      # (batch, length, vocab)

    The decoder's and head's linear maps start N(0, 0.02) with zero biases, as MAD-Lab's;
    ``blocks`` keep their weights (``from_layers`` draws the fresh ones it builds so too).

    Arguments:
        vocab_size, blocks, dim, max_length, position_embedding, norm, embed_dropout: as
            ``LanguageModel``'s (the encoder's position embedding; the decoder always adds the
            fixed sinusoids).
        global_pool: ``"last"`` (the last position, MAD-Lab's default), ``"avg"`` (the mean
            over positions) or ``"cls"`` (a learned token appended to the sequence, read at
            the end).

    >>> model = ember_nn.blocks.AutoEncoder.from_layers(["mlp", "mlp"], vocab_size=10, dim=8,
    ...                                                  max_length=16, key=0)
    >>> model(ember.tensor([[1, 2, 3]])).shape
    (1, 3, 10)
    """

    def __init__(self, vocab_size: int, blocks: Sequence[Block], *, dim: int = 128,
                 max_length: int = 1280, global_pool: str = "last",
                 position_embedding: str | None = None, norm: str = "rms",
                 embed_dropout: float = 0.0, key: Any = None) -> None:
        super().__init__()
        name = "AutoEncoder"
        self.vocab_size = positive_int(name, "vocab_size", vocab_size)
        self.dim = positive_int(name, "dim", dim)
        self.max_length = positive_int(name, "max_length", max_length)
        if global_pool not in POOLS:
            raise ConfigError(f"{name}: global_pool must be one of {list(POOLS)}, got "
                              f"{global_pool!r}")
        self.global_pool = global_pool
        self.position_kind = check_position_embedding(name, position_embedding)
        self.blocks = check_blocks(name, blocks, dim)
        base = next_key(key)

        def sub(i: int) -> Any:
            return ember.random.fold_in(base, i)

        self.token_embedding = Embedding(vocab_size, dim, init=EMBED_INIT, key=sub(0))
        self.position_embedding = (Embedding(max_length, dim, init=EMBED_INIT, key=sub(1))
                                   if position_embedding == "learned" else None)
        self.cls_token = (new_variable(name, init.normal, sub(2), (dim,), ember.float32,
                                       "cls_token") if global_pool == "cls" else None)
        self.embed_dropout = Dropout(embed_dropout, key=sub(3)) if embed_dropout else None
        self.decoder = [make_norm(name, norm, dim), Dense(dim, dim, kernel_init=_LINEAR_INIT,
                                                          key=sub(4)),
                        make_norm(name, norm, dim), Dense(dim, dim, kernel_init=_LINEAR_INIT,
                                                          key=sub(5))]
        self.norm = make_norm(name, norm, dim)
        self.head = Dense(dim, vocab_size, kernel_init=_LINEAR_INIT, key=sub(6))

    @classmethod
    def from_layers(cls, layers: Sequence[str | dict[str, Any]], *, vocab_size: int,
                    dim: int = 128, max_length: int = 1280, global_pool: str = "last",
                    norm: str = "rms", position_embedding: str | None = None,
                    embed_dropout: float = 0.0, key: Any = None) -> AutoEncoder:
        """One pre-norm residual block per layer name in the encoder, as MAD-Lab builds it
        (the layers see one more position with ``global_pool="cls"``), every linear map of the
        blocks drawn N(0, 0.02) with a zero bias (MAD-Lab's ``self.apply(_init_weights)``)."""
        from ._registry import blocks_from_layers

        inner = max_length + 1 if global_pool == "cls" else max_length
        blocks = blocks_from_layers(cls.__name__, layers, dim=dim, max_length=inner,
                                    norm=norm, key=key)
        # MAD-Lab's self.apply(_init_weights): every linear map N(0, 0.02), zero biases
        mad_autoencoder_init(blocks, ember.random.fold_in(next_key(key), (1 << 20) + 1))
        return cls(vocab_size, blocks, dim=dim, max_length=max_length, global_pool=global_pool,
                   position_embedding=position_embedding, norm=norm,
                   embed_dropout=embed_dropout, key=ember.random.fold_in(next_key(key), 1 << 20))

    def encode(self, ids: Any) -> ember.Tensor:
        """The ``(batch, dim)`` encoding of ``(batch, length)`` token ids."""
        ids = check_ids("AutoEncoder", ids)
        batch, length = ids.shape
        if length > self.max_length:
            raise ember.ShapeError(f"AutoEncoder: sequences of {length} exceed "
                                   f"max_length={self.max_length}")
        x = self.token_embedding(ids)
        if self.position_kind is not None:
            positions = ember.arange(length, backend=ids.backend, device=ids.device)
            x = x + (self.position_embedding(positions) if self.position_embedding is not None
                     else sincos_positions(positions, self.dim, x.dtype))
        if self.embed_dropout is not None:
            x = self.embed_dropout(x)
        if self.cls_token is not None:
            cls = ember.broadcast_to(ember.astype(self.cls_token, x.dtype), (batch, 1, self.dim))
            x = ember.concat([x, cls], axis=1)
        for block in self.blocks:
            x = block(x)
        return ember.mean(x, axis=1) if self.global_pool == "avg" else x[:, -1]

    def decode(self, encoding: ember.Tensor, length: int) -> ember.Tensor:
        """``(batch, length, vocab_size)`` logits from ``(batch, dim)`` encodings."""
        positions = ember.arange(length, backend=encoding.backend, device=encoding.device)
        h = encoding[:, None, :] + sincos_positions(positions, self.dim, encoding.dtype)[None]
        for i in range(0, len(self.decoder), 2):
            h = ember.nn.gelu(self.decoder[i + 1](self.decoder[i](h)))
        out: ember.Tensor = self.head(self.norm(h))
        return out

    def forward(self, ids: Any) -> ember.Tensor:
        ids = check_ids("AutoEncoder", ids)
        return self.decode(self.encode(ids), ids.shape[1])

    def extra_repr(self) -> str:
        return brief_repr(self)
