"""``DataParallel``: one model trained by several processes on different samples, on the
collectives of ``ember.distributed`` (torch.distributed's gloo/NCCL, MLX's ring/MPI).

Every rank holds the whole model. At the start the weights (and the optimiser's state, on a
resumed run) are broadcast from rank 0; each step every rank computes the gradient of its own
samples, the gradients are averaged over the ranks (``all_reduce_many``: a few large
collectives of about ``bucket_bytes`` each, as torch's DDP buckets them) and every rank applies
the same update, so the weights stay identical. The average is weighted by each rank's sample
count when the counts differ (a short last batch), so a step equals the single-process step on
the global batch for a loss that is a mean over samples (every ember_nn loss is).

The gradients are reduced after the backward pass, not during it: ember's tapes hand back all
gradients at once (``GradientTape.gradient``), so communication does not overlap the backward
pass as DDP's per-bucket hooks do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module

__all__ = ["DataParallel", "check_same"]

DEFAULT_BUCKET_BYTES = 25 << 20


def check_same(text: str, what: str, *, device: str | None = None) -> None:
    """Raise ``ember.distributed.DistributedError`` on every rank unless every rank passed the
    same ``text`` (compared through a SHA-256 digest gathered from every rank); the message
    names the ranks that differ from rank 0. ``what`` names the thing compared ("the config");
    ``device``: where the digest goes (a CUDA device under NCCL).

    >>> with ember.use_backend("numpy"):
    ...     check_same("lr = 0.1", "the config")  # a world of one: nothing to compare
    """
    d = ember.distributed
    if d.world_size() == 1:
        return
    digest = hashlib.sha256(text.encode()).digest()[:16]
    mine = ember.asarray([int.from_bytes(digest[i:i + 4], "little", signed=True)
                          for i in range(0, 16, 4)], dtype=ember.int32, device=device)
    every = d.all_gather(mine).tolist()
    bad = [r for r, v in enumerate(every) if v != every[0]]
    if bad:
        names = ", ".join(str(r) for r in bad)
        raise d.DistributedError(
            f"{what} differs across ranks: rank{'s' if len(bad) > 1 else ''} {names} "
            f"{'have' if len(bad) > 1 else 'has'} another than rank 0's (this is rank "
            f"{d.rank()} of {d.world_size()}); start every rank with the same one")


class DataParallel:
    """Data-parallel training of ``model`` across the ranks of a job (``Trainer(distributed=True)``
    uses one; use it directly in a loop of your own).

    Arguments:
        model: the module every rank trains (the same architecture on every rank).
        bucket_bytes: the most bytes one gradient all-reduce carries (default 25 MiB).
        timeout: seconds a collective may wait for the other ranks (``ember.distributed.init``'s
            timeout; used when this call starts the job).
        broadcast: broadcast the model's variables from rank 0 now (default True).

    Joins the job (``ember.distributed.init()`` on the model's backend) unless it was joined
    already; a process started without a launcher is rank 0 of 1, where every method returns its
    input. Raises ``ember.UnsupportedError`` when several processes were launched on a backend
    without collectives (NumPy), ``ember.distributed.DistributedError`` when the ranks' models
    differ in structure (naming the ranks) or another rank fails.

    >>> model = ember_nn.Dense(3, 1, key=0)
    >>> dp = ember_nn.DataParallel(model)
    >>> dp.rank, dp.world_size
    (0, 1)
    >>> step = dp.value_and_grad(lambda x: ember.sum(model(x)))
    >>> loss, grads = step(ember.ones((2, 3)))
    >>> grads["bias"].tolist()
    [2.0]
    """

    def __init__(self, model: Module, *, bucket_bytes: int = DEFAULT_BUCKET_BYTES,
                 timeout: float | None = 300.0, broadcast: bool = True) -> None:
        if not isinstance(model, Module):
            raise ConfigError(f"DataParallel: model must be an ember_nn.Module, got "
                              f"{type(model).__name__}")
        if isinstance(bucket_bytes, bool) or not isinstance(bucket_bytes, int) \
                or bucket_bytes <= 0:
            raise ConfigError(f"DataParallel: bucket_bytes must be a positive int, got "
                              f"{bucket_bytes!r}")
        variables = model.variables
        self.backend = variables[0].backend if variables else ember.get_backend()
        self.device = variables[0].device if variables else None
        d = ember.distributed
        if not d.is_initialized():
            with ember.use_backend(self.backend):
                d.init(timeout=timeout)
        self.model, self.bucket_bytes = model, bucket_bytes
        self.rank, self.world_size = d.rank(), d.world_size()
        decorrelate_dropout(model, self.rank)
        #: every rank's sample count in the current step (None: equal counts)
        self.counts: list[int] | None = None
        if broadcast:
            self.broadcast_parameters()

    def __repr__(self) -> str:
        return (f"DataParallel({type(self.model).__name__}, rank {self.rank} of "
                f"{self.world_size})")

    @property
    def local_count(self) -> int | None:
        """This rank's samples in the current step (None when not set)."""
        return None if self.counts is None else self.counts[self.rank]

    # -- state ---------------------------------------------------------------------------------
    def broadcast_parameters(self) -> None:
        """Every variable of the model (weights and buffers) takes rank 0's value, after a
        check that every rank's model has the same variables (paths, shapes, dtypes)."""
        named = list(self.model.named_variables())
        if self.world_size == 1:
            return
        check_same(repr([(p, v.shape, v.dtype.name) for p, v in named]),
                   f"the model's variables ({type(self.model).__name__}, {len(named)})",
                   device=self.device)
        for (_, v), t in zip(named, self._broadcast([v for _, v in named]), strict=True):
            v.assign(t)

    def broadcast_optimizer(self, optimizer: Any) -> None:
        """The optimiser's state (step count and slots, as ``state_dict`` has them) takes rank
        0's, after a check that every rank's has the same entries: a run resumed from a
        checkpoint goes on identically on every rank, whatever the number of ranks."""
        if self.world_size == 1 or optimizer is None:
            return
        state = optimizer.state_dict()
        slots = state["slots"]
        items = [(p, n, t if (t.backend, t.device) == (self.backend, self.device)
                  else t.to(self.backend, device=self.device))
                 for p, s in sorted(slots.items()) for n, t in sorted(s.items())]
        check_same(repr([state["step"] > 0] + [(p, n, tuple(t.shape), t.dtype.name)
                                                for p, n, t in items]),
                   "the optimiser's state (its slots)", device=self.device)
        step = self._broadcast([ember.asarray([state["step"]], dtype=ember.int64,
                                              backend=self.backend, device=self.device)])[0]
        values = self._broadcast([t for _, _, t in items])
        new: dict[str, dict[str, Any]] = {}
        for (p, n, _), t in zip(items, values, strict=True):
            new.setdefault(p, {})[n] = t
        optimizer.load_state_dict({"config": state["config"], "step": int(step[0].item()),
                                   "slots": new})

    def _broadcast(self, tensors: Sequence[ember.Tensor]) -> list[ember.Tensor]:
        """Rank 0's values of ``tensors``, one collective per dtype."""
        out: list[Any] = [None] * len(tensors)
        by_dtype: dict[Any, list[int]] = {}
        for i, t in enumerate(tensors):
            by_dtype.setdefault(t.dtype, []).append(i)
        for idx in by_dtype.values():
            parts = [ember.reshape(ember.stop_gradient(tensors[i]), (-1,)) for i in idx]
            flat = ember.distributed.broadcast(ember.concat(parts) if len(parts) > 1
                                               else parts[0], src=0)
            start = 0
            for i in idx:
                t = tensors[i]
                out[i] = ember.reshape(flat[start:start + t.size], t.shape)
                start += t.size
        return out

    def sync_buffers(self) -> None:
        """The model's non-trainable variables (a norm layer's running statistics, which each
        rank updates from its own samples): floating ones averaged over the ranks, the others
        (counters) rank 0's. ``Trainer(distributed=True)`` calls it at the end of each epoch."""
        if self.world_size == 1:
            return
        buffers = [v for _, v in self.model.named_variables() if not v.trainable]
        floats = [v for v in buffers if v.dtype.is_floating]
        for v, t in zip(floats, ember.distributed.all_reduce_many(
                [ember.stop_gradient(v) for v in floats], "mean",
                bucket_bytes=self.bucket_bytes), strict=True):
            v.assign(t)
        rest = [v for v in buffers if not v.dtype.is_floating]
        for v, t in zip(rest, self._broadcast(rest), strict=True):
            v.assign(t)

    # -- gradients -----------------------------------------------------------------------------
    def reduce(self, grads: Sequence[ember.Tensor | None]) -> list[ember.Tensor | None]:
        """``grads`` averaged over the ranks (None entries stay None: every rank must have the
        same ones), weighted by ``counts`` when the ranks' sample counts differ."""
        if self.world_size == 1:
            return list(grads)
        live = [i for i, g in enumerate(grads) if g is not None]
        ts: list[ember.Tensor] = [grads[i] for i in live]  # type: ignore[misc]
        counts = self.counts
        if counts is None or len(set(counts)) == 1:
            reduced = ember.distributed.all_reduce_many(ts, "mean",
                                                        bucket_bytes=self.bucket_bytes)
        else:
            w = counts[self.rank] / sum(counts)
            reduced = ember.distributed.all_reduce_many([g * w for g in ts], "sum",
                                                        bucket_bytes=self.bucket_bytes)
        out: list[ember.Tensor | None] = [None] * len(grads)
        for i, g in zip(live, reduced, strict=True):
            out[i] = g
        return out

    def reduce_triples(self, triples: Sequence[tuple[str, Any, Any]]) -> list[tuple[str, Any, Any]]:
        """``(path, variable, gradient)`` triples with the gradients reduced (``reduce``)."""
        grads = self.reduce([g for _, _, g in triples])
        return [(p, v, g) for (p, v, _), g in zip(triples, grads, strict=True)]

    def sync_gradients(self, grads: Mapping[str, ember.Tensor | None], *,
                       samples: int | None = None) -> dict[str, ember.Tensor | None]:
        """``grads`` (a dict of variable paths to gradients, as ``ember_nn.value_and_grad``
        gives) averaged over the ranks. ``samples``: this rank's sample count in the step,
        when the ranks' counts may differ (one small extra collective gathers them, and the
        average is weighted by them); None assumes equal counts.

        >>> model = ember_nn.Dense(2, 1, key=0)
        >>> dp = ember_nn.DataParallel(model)
        >>> g = dp.sync_gradients({"bias": ember.ones(1), "weight": None}, samples=4)
        >>> g["bias"].tolist(), g["weight"]
        ([1.0], None)
        """
        if not isinstance(grads, Mapping):
            raise ember.ArgumentError(f"sync_gradients: grads must be a dict of variable paths "
                                      f"to gradients, got {type(grads).__name__}")
        if samples is not None:
            self.counts = self.gather_counts(samples)
        try:
            return dict(zip(grads, self.reduce(list(grads.values())), strict=True))
        finally:
            if samples is not None:
                self.counts = None

    def value_and_grad(self, fn: Callable[..., Any], *,
                       has_aux: bool = False) -> Callable[..., tuple[Any, dict[str, Any]]]:
        """``ember_nn.value_and_grad(model, fn)`` whose gradients are averaged over the ranks
        (the value is this rank's own)."""
        from ._value_and_grad import value_and_grad

        inner = value_and_grad(self.model, fn, has_aux=has_aux)

        def wrapped(*args: Any, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
            out, grads = inner(*args, **kwargs)
            return out, self.sync_gradients(grads)

        return wrapped

    # -- data ----------------------------------------------------------------------------------
    def gather_counts(self, n: int) -> list[int]:
        """Every rank's ``n`` (rank order), through one small collective."""
        if self.world_size == 1:
            return [n]
        t = ember.asarray([n], dtype=ember.int32, backend=self.backend, device=self.device)
        return [int(v[0]) for v in ember.distributed.all_gather(t).tolist()]

    def array_batches(self, data: Any, batch_size: int, *, key: Any,
                      drop_last: bool) -> Iterator[list[ember.Tensor]]:
        """This rank's slice of each global batch of ``data`` (``_shards``), setting
        ``counts`` for each."""
        from ._shards import array_shard_batches

        for arrays, counts in array_shard_batches(data, batch_size, key=key,
                                                  drop_last=drop_last, rank=self.rank,
                                                  world=self.world_size):
            self.counts = counts
            yield arrays

    def shard_stream(self, ds: Any) -> Any:
        """This rank's part of a dataset of batches: every ``world_size``-th batch from
        ``rank`` (``Dataset.shard``), unless the pipeline has a ``shard`` stage already (then
        it was sharded by the user and is read as it is)."""
        from ..data._stages import Shard

        node = ds
        while node is not None:
            if isinstance(node, Shard):
                return ds
            node = node.parent
        return ds.shard(self.world_size, self.rank) if self.world_size > 1 else ds

    def stream_batches(self, batches: Iterable[tuple[ember.Tensor, ember.Tensor]]
                       ) -> Iterator[tuple[ember.Tensor, ember.Tensor]]:
        """The batches of ``batches`` while every rank has one: the sample counts are gathered
        each step (``counts``), and the epoch ends on every rank when one rank's part ends
        (its other ranks' last batches are left out, at most ``world_size - 1``)."""
        it = iter(batches)
        while True:
            batch = next(it, None)
            counts = self.gather_counts(0 if batch is None else int(batch[0].shape[0]))
            if batch is None or 0 in counts:
                self.counts = None
                return
            self.counts = counts
            yield batch

    def eval_range(self, n: int) -> tuple[int, int]:
        """This rank's contiguous part ``[start, stop)`` of ``n`` evaluation samples."""
        from ._shards import rank_range

        return rank_range(n, self.rank, self.world_size)

    # -- results -------------------------------------------------------------------------------
    def sum_floats(self, values: Sequence[float]) -> list[float]:
        """Each number summed over the ranks (one collective)."""
        if self.world_size == 1:
            return list(values)
        t = ember.asarray(list(values), dtype=ember.float32, backend=self.backend,
                          device=self.device)
        return [float(v) for v in ember.distributed.all_reduce(t, "sum").tolist()]

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any rank (one collective)."""
        if self.world_size == 1:
            return flag
        t = ember.asarray([int(flag)], dtype=ember.int32, backend=self.backend,
                          device=self.device)
        return bool(ember.distributed.all_reduce(t, "max").tolist()[0])

    def reduce_metrics(self, streams: Sequence[Any]) -> None:
        """Each streaming metric's counts summed over the ranks, in place (``Accuracy``,
        ``BinaryAccuracy``, ``MacroAccuracy``, ``Mean``), so ``result()`` is the metric of
        every rank's samples."""
        if self.world_size == 1:
            return
        from ..metrics._streaming import Accuracy, MacroAccuracy, Mean

        d = ember.distributed
        where: dict[str, Any] = {"backend": self.backend, "device": self.device}
        for m in streams:
            if isinstance(m, Accuracy):
                t = d.all_reduce(ember.asarray([m._correct, m._count], dtype=ember.int64,
                                               **where)).tolist()
                m._correct, m._count = int(t[0]), int(t[1])
            elif isinstance(m, MacroAccuracy):
                k = int(d.all_reduce(ember.asarray([len(m._total)], dtype=ember.int32, **where),
                                     "max").tolist()[0])
                pad = [0] * (k - len(m._total))
                t = d.all_reduce(ember.asarray(m._correct + pad + m._total + pad,
                                               dtype=ember.int64, **where)).tolist()
                m._correct, m._total = [int(v) for v in t[:k]], [int(v) for v in t[k:]]
            elif isinstance(m, Mean):
                m._total, m._weight = self.sum_floats([m._total, m._weight])
            else:
                raise ember.UnsupportedError(
                    f"DataParallel: cannot combine the streaming metric {type(m).__name__} "
                    f"across ranks; the ones it can are Accuracy, BinaryAccuracy, "
                    f"MacroAccuracy and Mean")

    def here(self, callbacks: Sequence[Any]) -> list[Any]:
        """The callbacks that run on this rank: all of them on rank 0; elsewhere those that do
        not write files (``ModelCheckpoint`` and ``CSVLogger`` and any callback whose class
        sets ``rank_zero_only = True`` run on rank 0 only)."""
        if self.rank == 0:
            return list(callbacks)
        from ._callbacks import CSVLogger, ModelCheckpoint

        return [cb for cb in callbacks
                if not isinstance(cb, ModelCheckpoint | CSVLogger)
                and not getattr(cb, "rank_zero_only", False)]


#: where a module with a dropout call counter (``calls``) keeps its mask key
_DROPOUT_KEYS = ("key", "dropout_key")


def decorrelate_dropout(model: Module, rank: int) -> int:
    """Give rank ``rank``'s dropout layers a mask stream of their own (their key folded with
    the rank), so that the samples of the global batch get independent masks, as in one
    process; rank 0 keeps its keys (a one-process run's masks). Returns the layers changed.

    >>> model = ember_nn.Sequential(ember_nn.Dense(2, 2, key=0), ember_nn.Dropout(0.5, key=1))
    >>> decorrelate_dropout(model, 0), decorrelate_dropout(model, 1)
    (0, 1)
    """
    if rank == 0:
        return 0
    changed = 0
    for _, m in model.named_modules():
        if not hasattr(m, "calls"):
            continue
        for attr in _DROPOUT_KEYS:
            key = getattr(m, attr, None)
            if key is not None:
                setattr(m, attr, ember.random.fold_in(key, rank))
                changed += 1
                break
    return changed

