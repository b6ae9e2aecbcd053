"""``MixedPrecision``: float32 master weights, a low-precision copy of the model that computes.

The design: the model you pass stays float32 and holds the *master* weights; the optimiser
updates them, so its slots are float32 too, and ``model.state_dict()``, checkpoints,
``EarlyStopping``'s restore and anything else that reads the model see float32 values. The
helper owns a *compute copy*: the same module tree (each module shallow-copied, shared
modules and tied variables kept shared) whose floating variables are bfloat16 or float16
copies. Each ``step``:

1. forward and backward on the compute copy (the loss is cast to float32 and, for float16,
   multiplied by the ``LossScaler``'s scale before the backward pass);
2. the low-precision gradients are cast to float32 (and divided by the scale);
3. float16 only: if any is inf or NaN the update is skipped and the scale backs off;
4. ``optimizer.apply`` updates the float32 masters;
5. the masters are cast back into the compute copy, and the compute copy's non-trainable
   variables (BatchNorm's running statistics, which its forward pass updated) into the
   masters' (cast up).

So the optimiser, its state and checkpoints never see the low precision, while every matmul,
convolution and activation runs in it. ``sync()`` casts the masters into the compute copy
again after you change the model yourself (``load_weights``, ``load_state_dict``, ``to``).

>>> ember.set_backend("torch")  # or "mlx": NumPy has no bfloat16 (use "fp16-mixed" there)
>>> model = ember_nn.Dense(4, 2, key=0)
>>> mp = ember_nn.MixedPrecision(model, ember_nn.SGD(0.1), "bf16-mixed")
>>> x, y = ember.ones((8, 4)), ember.zeros((8, 2))
>>> loss = mp.step(lambda m, x, y: ember_nn.mse(m(x), y), ember.astype(x, ember.bfloat16), y)
>>> model.weight.dtype.name, mp.compute_model.weight.dtype.name, mp.optimizer.step
('float32', 'bfloat16', 1)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from typing import Any

import ember

from .._core._aux_losses import collect_losses
from .._core._errors import ConfigError, StateError
from .._core._module import Module
from ._loss_scale import LossScaler
from ._value_and_grad import with_aux_losses

__all__ = ["PRECISION_MODES", "MixedPrecision", "compute_dtype"]

#: ``precision=`` option -> what is computed and kept in which precision
PRECISION_MODES = {
    "32": "no mixed precision: the model computes and is updated in its own dtypes (float32 "
          "as built)",
    "bf16-mixed": "float32 master weights and optimiser state; forward and backward in "
                  "bfloat16 on a bfloat16 copy of the model; losses in float32; no loss scaling",
    "fp16-mixed": "float32 master weights and optimiser state; forward and backward in float16 "
                  "on a float16 copy of the model; losses in float32; dynamic loss scaling "
                  "(LossScaler), a step whose gradients overflow is skipped",
}


def compute_dtype(precision: str) -> ember.DType | None:
    """The dtype a ``precision`` mode computes in (None for ``"32"``)."""
    return {"bf16-mixed": ember.bfloat16, "fp16-mixed": ember.float16}.get(precision)


def check_precision(precision: Any, where: str) -> str:
    if not isinstance(precision, str) or precision not in PRECISION_MODES:
        raise ConfigError(f"{where}: precision must be one of {sorted(PRECISION_MODES)}, got "
                          f"{precision!r}")
    return precision


class MixedPrecision:
    """Mixed-precision training steps for a hand-written loop (``Trainer(precision=...)``
    uses it too).

    Arguments:
        model: the float32 model; it keeps the master weights, which the optimiser updates.
        optimizer: an ember_nn optimiser (or None for a helper that only evaluates).
        precision: ``"bf16-mixed"``, ``"fp16-mixed"`` or ``"32"`` (plain steps on ``model``).
        scaler: the ``LossScaler`` for ``"fp16-mixed"`` (default ``LossScaler()``: 2**16, x2
            every 2000 good steps, x0.5 at an overflow).

    Attributes:
        master_model: ``model``.
        compute_model: the low-precision copy the forward and backward passes run on
            (``model`` itself for ``"32"``).
        compute_dtype: ``ember.bfloat16``, ``ember.float16`` or None.
        scaler: the ``LossScaler`` (None unless ``"fp16-mixed"``).
        last_step_skipped: whether the last ``step`` skipped its update (overflow).

    Raises ``ConfigError`` for an unknown precision, a model whose trainable floating variables
    are not float32, or a backend without the compute dtype (NumPy has no bfloat16).
    """

    def __init__(self, model: Module, optimizer: Any, precision: str = "bf16-mixed", *,
                 scaler: LossScaler | None = None) -> None:
        if not isinstance(model, Module):
            raise ConfigError(f"MixedPrecision: model must be an ember_nn.Module, got "
                              f"{type(model).__name__}")
        self.precision = check_precision(precision, "MixedPrecision")
        self.compute_dtype = compute_dtype(precision)
        if scaler is not None and precision != "fp16-mixed":
            raise ConfigError(f"MixedPrecision: a scaler is for precision='fp16-mixed' only "
                              f"(bfloat16 has float32's range), got precision={precision!r}")
        if scaler is not None and not isinstance(scaler, LossScaler):
            raise ConfigError(f"MixedPrecision: scaler must be an ember_nn.LossScaler, got "
                              f"{type(scaler).__name__}")
        self.master_model, self.optimizer = model, optimizer
        self.scaler = (scaler or LossScaler()) if precision == "fp16-mixed" else None
        self.last_step_skipped = False
        #: called with the step's (float32, still scaled) gradients before the overflow check
        #: and the update, returning the ones to use: ``DataParallel.reduce`` averages them
        #: over the ranks there, so every rank skips the same steps
        self.gradient_hook: Callable[[list[Any]], list[Any]] | None = None
        self._scale_value: float | None = None
        self._scale_tensors: tuple[ember.Tensor, ember.Tensor] | None = None
        if self.compute_dtype is None:
            self.compute_model = model
        else:
            _check_masters(model, precision)
            _check_backend(model, self.compute_dtype, precision)
            self.compute_model = _low_precision_copy(model, self.compute_dtype)
        self._pair_up()

    # -- the step ------------------------------------------------------------------------------
    def step(self, loss_fn: Callable[..., Any], *batch: Any, has_aux: bool = False) -> Any:
        """One training step: ``loss_fn(compute_model, *batch)`` forward and backward in the
        low precision, the update on the float32 masters. Returns what ``loss_fn`` returned
        (``(loss, aux)`` with ``has_aux``); the loss is the unscaled one, plus the auxiliary
        losses the layers added (``ember_nn.add_loss``), as ``value_and_grad`` does.

        ``batch`` is passed as given: cast floating inputs to ``compute_dtype`` yourself
        (``ember.astype(x, mp.compute_dtype)``, as the Trainer does), or the first layer
        promotes them, and everything after it, back to float32.
        """
        if self.optimizer is None:
            raise ConfigError("MixedPrecision.step: this helper has no optimizer (None); pass "
                              "one, e.g. MixedPrecision(model, ember_nn.Adam(1e-3), ...)")
        pairs = self._pairs
        watched = [c for _, _, c in pairs]
        with ember.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(watched)
            with collect_losses() as extra:  # the layers' add_loss terms join the loss
                out = loss_fn(self.compute_model, *batch)
            out, loss = with_aux_losses(out, _loss_of(out, has_aux), has_aux, extra)
            target = loss
            if self.scaler is not None:
                if target.dtype is not ember.float32:
                    target = ember.astype(target, ember.float32)
                target = target * self._scales(loss)[0]
        grads = tape.gradient(target, watched)
        triples = [(path, master, g if g.dtype is master.dtype else ember.astype(g, master.dtype))
                   for (path, master, _), g in zip(pairs, grads, strict=True) if g is not None]
        if self.gradient_hook is not None:
            reduced = self.gradient_hook([g for _, _, g in triples])
            triples = [(p, m, g) for (p, m, _), g in zip(triples, reduced, strict=True)]
        self.last_step_skipped = False
        if self.scaler is not None:
            if not _all_finite([g for _, _, g in triples]):
                self.scaler.update(found_inf=True)
                self.last_step_skipped = True
                self._state_to_masters()
                return out
            inverse = self._scales(loss)[1]
            triples = [(path, master, g * inverse) for path, master, g in triples]
        self.optimizer.apply(triples)
        if self.compute_model is not self.master_model:
            for _, master, compute in pairs:
                compute.assign(master)  # cast down
        if self.scaler is not None:
            self.scaler.update(found_inf=False)
        self._state_to_masters()
        return out

    @property
    def loss_scale(self) -> float | None:
        """The current loss scale (None without a scaler)."""
        return self.scaler.scale if self.scaler is not None else None

    @property
    def skipped_steps(self) -> int:
        """Steps skipped so far because their gradients overflowed (0 without a scaler)."""
        return self.scaler.skipped_steps if self.scaler is not None else 0

    def sync(self) -> MixedPrecision:
        """Cast the master weights (all variables) into the compute copy again: after the
        master model changed by other means than ``step`` (``load_weights``,
        ``load_state_dict``, ``EarlyStopping``'s restore, ``model.to(device=...)``)."""
        self._pair_up()
        if self.compute_model is not self.master_model:
            for _, master, compute in self._pairs + self._state:
                compute.assign(master)
        return self

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"precision", "scaler"}`` (the scaler's ``state_dict()`` or None), JSON-able:
        ``ModelCheckpoint`` stores it in the checkpoint's extra as ``"mixed_precision"``."""
        return {"precision": self.precision,
                "scaler": self.scaler.state_dict() if self.scaler is not None else None}

    def load_state_dict(self, state: Mapping[str, Any]) -> MixedPrecision:
        """Take ``state_dict()``'s output (the loss scale, to resume float16 training where it
        was); the precision must be this helper's."""
        if not isinstance(state, Mapping) or state.get("precision") != self.precision:
            got = state.get("precision") if isinstance(state, Mapping) else state
            raise StateError(f"MixedPrecision.load_state_dict: the state is for precision "
                             f"{got!r:.80}, this helper's is {self.precision!r}")
        if self.scaler is not None:
            self.scaler.load_state_dict(state.get("scaler"))  # type: ignore[arg-type]
        return self

    def __repr__(self) -> str:
        scale = f", scale={self.loss_scale}" if self.scaler is not None else ""
        return (f"MixedPrecision({type(self.master_model).__name__}, "
                f"precision={self.precision!r}{scale})")

    # -- helpers -------------------------------------------------------------------------------
    def _pair_up(self) -> None:
        """(path, master, compute) for the trainable variables and the rest (by path)."""
        masters = dict(self.master_model.named_variables())
        computes = dict(self.compute_model.named_variables())
        if list(masters) != list(computes):
            raise StateError(
                f"MixedPrecision: the model's variables ({len(masters)}) no longer match its "
                f"compute copy's ({len(computes)}); the model's structure changed: make a new "
                f"MixedPrecision (or Trainer) for it")
        both = [(k, masters[k], computes[k]) for k in masters]
        self._pairs = [t for t in both if t[1].trainable]
        self._state = [t for t in both if not t[1].trainable] \
            if self.compute_model is not self.master_model else []

    def _state_to_masters(self) -> None:
        for _, master, compute in self._state:
            master.assign(compute)  # cast up

    def _scales(self, like: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor]:
        """0-d float32 tensors of the scale and its inverse (made again when it changes):
        tensors, not Python numbers, so that compiled replays take them as inputs."""
        assert self.scaler is not None
        scale = self.scaler.scale
        if self._scale_tensors is None or self._scale_value != scale:
            where = {"backend": like.backend, "device": like.device}
            self._scale_tensors = (ember.full((), scale, dtype=ember.float32, **where),
                                   ember.full((), 1.0 / scale, dtype=ember.float32, **where))
            self._scale_value = scale
        return self._scale_tensors


def _loss_of(out: Any, has_aux: bool) -> ember.Tensor:
    if has_aux:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise ember.ArgumentError(f"MixedPrecision.step(has_aux=True): loss_fn must return "
                                      f"a pair (loss, aux), got {type(out).__name__}")
        out = out[0]
    if not isinstance(out, ember.Tensor) or out.size != 1:
        raise ember.ShapeError(
            f"MixedPrecision.step: loss_fn must return a scalar loss, got {type(out).__name__} "
            f"of shape {getattr(out, 'shape', None)}; reduce it (e.g. ember.mean) first")
    return out


def _all_finite(grads: list[ember.Tensor]) -> bool:
    """Whether every (float32) gradient is finite, with one number read back: the sum of the
    sums. It cannot overflow for finite float16 gradients (each at most 65504 in magnitude, so
    float32 sums of fewer than ~5e33 of them stay finite), and inf or NaN anywhere makes it
    inf or NaN (inf - inf is NaN)."""
    if not grads:
        return True
    total = ember.sum(ember.stack([ember.sum(g) for g in grads]))
    return math.isfinite(float(total))


def _check_masters(model: Module, precision: str) -> None:
    bad = {k: v.dtype.name for k, v in model.named_variables()
           if v.trainable and v.dtype.kind == "f" and v.dtype is not ember.float32}
    if bad:
        first = dict(list(bad.items())[:5])
        raise ConfigError(
            f"MixedPrecision: precision={precision!r} keeps float32 master weights, but the "
            f"model's trainable variables {first} are not float32; build the model in float32 "
            f"(or cast it with model.to(dtype=ember.float32)), or use Trainer(dtype=...) for "
            f"training entirely in one precision")


def _check_backend(model: Module, dtype: ember.DType, precision: str) -> None:
    variables = model.variables
    backend = variables[0].backend if variables else ember.get_backend()
    device = variables[0].device if variables else None
    try:
        ember.zeros((), dtype=dtype, backend=backend, device=device)
    except ember.UnsupportedError as e:
        alternatives = ("precision='fp16-mixed' (float16)" if dtype is ember.bfloat16
                        else "precision='bf16-mixed' (bfloat16)")
        raise ConfigError(
            f"MixedPrecision: precision={precision!r} computes in {dtype.name}, which backend "
            f"{backend!r} does not support here ({e}); use {alternatives}, precision='32', or "
            f"a backend that has {dtype.name} (torch and mlx have bfloat16 and float16)") \
            from e


def _low_precision_copy(model: Module, dtype: ember.DType) -> Module:
    """The module tree again, each module shallow-copied, with every real floating variable
    cast to ``dtype`` (as ``model.to(dtype=...)`` would, without touching ``model``); a module
    or variable that appears twice (shared layers, tied weights) is copied once."""
    memo: dict[int, Any] = {}

    def clone(obj: Any) -> Any:
        done = memo.get(id(obj))
        if done is not None:
            return done
        if isinstance(obj, ember.Variable):
            value = ember.stop_gradient(obj)
            if obj.dtype.kind == "f":
                value = ember.astype(value, dtype)
            new: Any = ember.Variable(value, trainable=obj.trainable, name=obj.name)
        elif isinstance(obj, Module):
            new = copy.copy(obj)
            memo[id(obj)] = new
            for k, v in list(obj._attributes()):
                object.__setattr__(new, k, clone(v))
            return new
        elif isinstance(obj, list):
            new = [clone(x) for x in obj]
        elif isinstance(obj, tuple):
            new = tuple(clone(x) for x in obj)
        elif isinstance(obj, dict):
            new = {k: clone(x) for k, x in obj.items()}
        else:
            return obj
        memo[id(obj)] = new
        return new

    out: Module = clone(model)
    return out
