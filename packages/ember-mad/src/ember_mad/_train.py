"""``train``: one MAD run (a task setting, a layer list, a learning rate and a weight decay),
with MAD-Lab's training protocol, on any ember backend."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import ember
import ember_nn
import numpy as np

from ._compiled_forward import CompiledForward
from ._dataset import MADDataset, make_dataset
from ._divergence import EpochStart, describe, locate_divergence
from ._errors import MADError
from ._options import (
    DEFAULT_LAYERS,
    check_layers,
    check_positive,
    check_schedule,
    check_weight_decay,
    package_versions,
    resolve_auto,
    write_json,
)
from ._progress import Progress
from ._result import TrainResult
from ._scoring import macro_accuracy
from ._tasks import check_task

__all__ = ["DEFAULT_LAYERS", "TrainResult", "check_layers", "train"]

#: MAD-Lab's cosine schedule ends here
MIN_LR = 1e-6
#: MAD-Lab's early stop: a run ends after the first epoch whose test accuracy reaches this
STOP_ACCURACY = 0.999
IGNORE_INDEX = -100


def build_model(data: MADDataset, layers: Sequence[str], *, dim: int, seed: int) -> Any:
    """MAD-Lab's model for the task: a ``LanguageModel`` (an ``AutoEncoder`` for compression)
    of one pre-norm residual block per layer, RMS norms, no position embedding, an untied head,
    ``max_length`` the task's ``seq_len`` (as MAD-Lab's benchmark builds it)."""
    cls = ember_nn.blocks.AutoEncoder if data.backbone == "autoencoder" \
        else ember_nn.blocks.LanguageModel
    return cls.from_layers(list(layers), vocab_size=data.vocab_size, dim=dim,
                           max_length=int(data.params["seq_len"]), key=seed)


class _Bar:
    """One line per epoch: redrawn on a terminal, printed per epoch elsewhere."""

    def __init__(self, epochs: int, enabled: bool, stream: TextIO | None = None) -> None:
        self.epochs, self.enabled = epochs, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def show(self, epoch: int, row: dict[str, float], best: float, elapsed: float) -> None:
        if not self.enabled:
            return
        filled = int(24 * epoch / self.epochs)
        line = (f"epoch {epoch}/{self.epochs} [{'#' * filled}{'.' * (24 - filled)}] "
                f"{elapsed:.0f}s  loss {row['train_loss']:.4f}  test loss "
                f"{row['test_loss']:.4f}  test acc {row['test_accuracy']:.4f}  best {best:.4f}")
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _loss(logits: ember.Tensor, targets: ember.Tensor, reduction: str = "mean") -> ember.Tensor:
    """torch's ``CrossEntropyLoss(ignore_index=-100)`` over every position, in float32."""
    if logits.dtype != ember.float32:
        logits = ember.astype(logits, ember.float32)
    v = logits.shape[-1]
    return ember.nn.cross_entropy(ember.reshape(logits, (-1, v)), ember.reshape(targets, (-1,)),
                                  ignore_index=IGNORE_INDEX, reduction=reduction)


class _Run:
    """The pieces of one run: model, optimiser, the step for the precision and compile mode."""

    def __init__(self, model: Any, lr: float, weight_decay: float, epochs: int,
                 steps_per_epoch: int, precision: str, compile: bool,
                 schedule_name: str = "cosine") -> None:
        schedule: Any = lr if schedule_name == "constant" else ember_nn.optim.CosineAnnealing(
            lr, t_max=epochs, eta_min=MIN_LR, steps_per_epoch=steps_per_epoch)
        self.optimizer = ember_nn.AdamW(schedule, beta1=0.9, beta2=0.999, eps=1e-8,
                                        weight_decay=weight_decay)
        self.model = model
        self.mixed: ember_nn.MixedPrecision | None = None
        self.compiled: ember_nn.CompiledStep | None = None
        self.compute = model
        if precision != "32":
            self.mixed = ember_nn.MixedPrecision(model, self.optimizer, precision)
            self.compute = self.mixed.compute_model
        if compile and precision == "fp16-mixed":  # loss scaling: only the update compiles
            self.optimizer.compile_updates(True)
        elif compile:  # float32 or bf16-mixed: the whole step is one program
            compute = self.compute
            self.compiled = ember_nn.compile_step(model, lambda x, y: _loss(compute(x), y),
                                                  self.optimizer, mixed_precision=self.mixed)
        #: the test-set forward pass (compiled with the step)
        self.forward: Any = CompiledForward(self.compute) if compile else self.compute

    def step(self, x: ember.Tensor, y: ember.Tensor) -> ember.Tensor:
        if self.compiled is not None:
            loss: ember.Tensor = self.compiled(x, y)
            return loss
        if self.mixed is not None:
            out: ember.Tensor = self.mixed.step(lambda m, xb, yb: _loss(m(xb), yb), x, y)
            return out
        loss, grads = ember_nn.value_and_grad(self.model, lambda xb, yb: _loss(self.model(xb),
                                                                              yb))(x, y)
        self.optimizer.update(self.model, grads)
        return loss


def _evaluate(net: Any, x: ember.Tensor, y_host: np.ndarray, y: ember.Tensor,
              batch_size: int, vocab: int) -> tuple[float, float, float]:
    """(Lightning's epoch test loss, perplexity, MAD-Lab's epoch macro accuracy)."""
    n = x.shape[0]
    sums, preds = [], []
    for start in range(0, n, batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        logits = net(xb)
        sums.append(_loss(logits, yb, "sum"))
        preds.append(ember.argmax(logits, axis=-1))
    nll = ember.stack(sums).numpy().astype(np.float64)
    pred = ember.concat(preds, axis=0).numpy()
    counts = np.array([(y_host[s:s + batch_size] != IGNORE_INDEX).sum()
                       for s in range(0, n, batch_size)], dtype=np.float64)
    sizes = np.array([min(batch_size, n - s) for s in range(0, n, batch_size)], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        batch_loss = nll / counts
    loss = float((batch_loss * sizes).sum() / sizes.sum())
    perplexity = float(np.exp(nll.sum() / max(counts.sum(), 1.0)))
    acc = macro_accuracy(pred, y_host, num_classes=vocab, batch_size=batch_size)
    return loss, perplexity, acc


def train(task: str, layers: Sequence[str] | str = DEFAULT_LAYERS, *, lr: float = 5e-4,
          weight_decay: float = 0.0, epochs: int = 200, batch_size: int = 128, dim: int = 128,
          seed: int = 12345, backend: str | None = None, device: str | None = None,
          precision: str = "auto", compile: bool | str = "auto",
          task_params: Mapping[str, Any] | None = None, num_train_examples: int | None = None,
          num_test_examples: int | None = None, progress: bool = True,
          out: str | os.PathLike[str] | None = None, stop_after: int | None = None,
          matmul_precision: str = "high", schedule: str = "cosine") -> TrainResult:
    """Train a model of ``layers`` on a MAD task with MAD-Lab's protocol; return its result.

    The protocol (MAD-Lab's ``train.py``): the task's data drawn with ``seed``
    (:func:`make_dataset`); MAD-Lab's backbone (``LanguageModel``, ``AutoEncoder`` for
    compression) of width ``dim`` built with the key ``seed``; AdamW (betas 0.9/0.999, eps
    1e-8) with ``lr`` and ``weight_decay``; torch's ``CosineAnnealingLR(T_max=epochs,
    eta_min=1e-6)`` stepped once per epoch; batches of ``batch_size`` shuffled every epoch (a
    NumPy generator seeded with ``seed``); cross entropy over every position, -100 ignored;
    after each epoch the test set in batches of ``batch_size``, its accuracy the mean of the
    batches' macro accuracies (MAD-Lab's logged ``test/Accuracy_epoch``); the run stops after
    the first epoch at 0.999 test accuracy.

    Arguments:
        task: one of ``ember_mad.TASKS``.
        layers: MAD-Lab layer names (``ember_nn.blocks.layer_names()``), a list or a
            comma-separated string; one pre-norm residual block each.
        lr, weight_decay: AdamW's (the benchmark's grid: ``LR_GRID`` x ``WD_GRID``).
        epochs: the most epochs (the schedule's ``T_max``); batch_size, dim, seed: as above.
        backend, device: where to train (default: the current backend and its default
            device), e.g. ``"torch"``, ``"cuda"``.
        precision: ``"auto"`` (``"bf16-mixed"`` on a torch or MLX accelerator, MAD-Lab's
            ``bf16``; else ``"32"``), ``"32"``, ``"bf16-mixed"`` or ``"fp16-mixed"``.
        compile: ``"auto"`` (``ember_nn.compile_step`` on MLX and on torch off the CPU; with
            fp16-mixed only the optimiser update is compiled, with bf16-mixed the whole step), True
            or False.
        task_params: the task's parameters (``task_defaults(task)`` has them; default the
            baseline).
        num_train_examples, num_test_examples: default the baseline's (``task_settings``).
        progress: a line per epoch with the test accuracy (on stderr).
        out: a directory: ``out/result.json`` (``TrainResult.to_dict()``) is written
            atomically at the end. While it trains, ``out/progress`` holds the run so far
            (every 30 s at most, after an epoch); a run killed before its end resumes from
            there when called again with the same settings, with the same numbers.
        stop_after: end the run after this many epochs of its ``epochs``-epoch schedule (a
            probe of a run's first epochs with the run's own learning rates); default none.
        matmul_precision: float32 matrix products on torch: ``"high"`` (MAD-Lab's
            ``torch.set_float32_matmul_precision("high")``: TF32 on GPUs that have it) or
            ``"highest"`` (full float32); recorded in ``settings`` when not ``"high"``.
        schedule: ``"cosine"`` (the paper's: torch's ``CosineAnnealingLR`` to 1e-6, as above) or
            ``"constant"`` (``lr`` throughout: what MAD-Lab's code runs, as Lightning drops its
            scheduler); recorded in ``settings`` when not ``"cosine"``.

    Returns:
        A :class:`TrainResult`.

    Raises:
        MADError: an unknown task, layer or parameter, a value out of range.

    >>> r = train("in-context-recall", ["mlp", "mlp"], epochs=2, dim=16, backend="numpy",
    ...           task_params={"vocab_size": 8, "seq_len": 16}, num_train_examples=64,
    ...           num_test_examples=32, progress=False)
    >>> r.epochs_run, len(r.history), 0 <= r.best_accuracy <= 1
    (2, 2, True)
    """
    t_start = time.perf_counter()
    check_task(task)
    layers = check_layers(layers)
    lr = check_positive("lr", lr, float)
    weight_decay = check_weight_decay(weight_decay)
    epochs = check_positive("epochs", epochs)
    batch_size = check_positive("batch_size", batch_size)
    dim = check_positive("dim", dim)
    if stop_after is not None:
        stop_after = check_positive("stop_after", stop_after)
    if matmul_precision not in ("high", "highest"):
        raise MADError(f"matmul_precision must be 'high' or 'highest', got {matmul_precision!r}")
    schedule = check_schedule(schedule)
    from ._tasks import task_settings

    base = task_settings(task, "baseline")[0]
    params = {k: v for k, v in base.items() if not k.startswith("num_")}
    if task_params is not None:
        if not isinstance(task_params, Mapping):
            raise MADError(f"task_params must be a mapping of task parameters, got "
                           f"{type(task_params).__name__}")
        params.update(task_params)
    n_train = base["num_train_examples"] if num_train_examples is None else num_train_examples
    n_test = base["num_test_examples"] if num_test_examples is None else num_test_examples
    data = make_dataset(task, seed=seed, num_train_examples=n_train, num_test_examples=n_test,
                        **params)
    backend = backend or ember.get_backend()
    with ember.use_backend(backend):
        device = str(device or ember.get_default_device())
        precision, compile = resolve_auto(backend, device, precision, compile)
        # MAD-Lab's torch.set_float32_matmul_precision("high"); only torch's GPUs round by it
        ember.set_matmul_precision(matmul_precision)
        model = build_model(data, layers, dim=dim, seed=seed)
        model.to(device=device)
        steps = -(-len(data.train_inputs) // batch_size)
        run = _Run(model, lr, weight_decay, epochs, steps, precision, compile, schedule)

        def put(a: np.ndarray) -> ember.Tensor:
            return ember.asarray(a, device=device)

        x_train, y_train = put(data.train_inputs), put(data.train_targets)

        def batch(order: ember.Tensor, i: int) -> tuple[ember.Tensor, ember.Tensor]:
            """The epoch's ``i``-th training batch, ``order`` its shuffled indices."""
            idx = order[i * batch_size:(i + 1) * batch_size]
            return ember.take(x_train, idx, axis=0), ember.take(y_train, idx, axis=0)

        x_test, y_test = put(data.test_inputs), put(data.test_targets)
        settings = {
            "task": task, "task_params": dict(data.params), "num_train_examples": int(n_train),
            "num_test_examples": int(n_test), "layers": list(layers), "lr": lr,
            "weight_decay": weight_decay, "epochs": epochs, "batch_size": batch_size,
            "dim": dim, "seed": seed, "backend": backend, "device": device,
            "precision": precision, "compile": compile, "backbone": data.backbone,
            "parameters": int(model.num_parameters()), "versions": package_versions(backend)}
        if matmul_precision != "high":  # results written before the option have no entry
            settings["matmul_precision"] = matmul_precision
        if schedule != "cosine":  # (as matmul_precision)
            settings["schedule"] = schedule
        rng = np.random.default_rng(seed)
        saved = Progress.resume(out, run, settings)  # a killed run's epochs, if any
        if saved.rng is not None:
            rng.bit_generator.state = saved.rng
        bar = _Bar(epochs, progress)
        history = saved.history
        best = max((r["test_accuracy"] for r in history), default=-1.0)
        diverged: int | None = None
        divergence: dict[str, Any] | None = None
        try:
            for epoch in range(saved.epoch, epochs):
                t0 = time.perf_counter()
                lr_now = run.optimizer.learning_rate
                model.train()
                if run.mixed is not None:
                    run.compute.train()
                order = put(rng.permutation(len(data.train_inputs)))
                start = EpochStart.take(run)  # to replay this epoch should its loss be NaN
                total: ember.Tensor | None = None
                for i in range(steps):
                    xb, yb = batch(order, i)
                    loss = run.step(xb, yb) * float(xb.shape[0])
                    total = loss if total is None else total + loss
                assert total is not None  # an epoch has at least one step
                train_loss = float(total) / len(data.train_inputs)  # the epoch's one sync
                seconds = time.perf_counter() - t0
                saved.train_seconds += seconds
                saved.tokens += data.train_inputs.size
                model.eval()
                if run.mixed is not None:
                    run.compute.eval()
                test_loss, ppl, acc = _evaluate(run.forward, x_test, data.test_targets, y_test,
                                                batch_size, data.vocab_size)
                row = {"epoch": epoch + 1, "lr": lr_now, "train_loss": train_loss,
                       "test_loss": test_loss, "test_perplexity": ppl, "test_accuracy": acc,
                       "seconds": time.perf_counter() - t0}
                history.append(row)
                best = max(best, acc)
                bar.show(epoch + 1, row, best, time.perf_counter() - t_start)
                if acc >= STOP_ACCURACY or (stop_after is not None and epoch + 1 >= stop_after):
                    break
                if not math.isfinite(train_loss):  # NaN weights: nothing more to learn
                    diverged = epoch + 1
                    batches = [batch(order, i) for i in range(steps)]
                    eager = build_model(data, layers, dim=dim, seed=seed)
                    eager.to(device=device)
                    divergence = locate_divergence(diverged, start, run, _Run(
                        eager, lr, weight_decay, epochs, steps, precision, False, schedule),
                        batches)
                    print(f"ember mad: the loss was not finite at epoch {diverged}"
                          f"{describe(divergence)}", file=sys.stderr)
                    break
                saved.save(out, run, settings, rng.bit_generator.state,
                           time.perf_counter() - t_start)
        finally:
            bar.close()
    best_row = max(history, key=lambda r: r["test_accuracy"])  # the first of equals
    low_row = min(history, key=lambda r: (math.inf if math.isnan(r["test_perplexity"])
                                          else r["test_perplexity"]))
    result = TrainResult(
        task=task, layers=layers, settings=settings,
        best_accuracy=best_row["test_accuracy"], best_epoch=int(best_row["epoch"]),
        lowest_loss_accuracy=low_row["test_accuracy"], lowest_loss_epoch=int(low_row["epoch"]),
        epochs_run=len(history), stopped_early=history[-1]["test_accuracy"] >= STOP_ACCURACY,
        seconds=saved.seconds + time.perf_counter() - t_start,
        train_seconds=saved.train_seconds,
        tokens_per_second=(saved.tokens / saved.train_seconds if saved.train_seconds > 0
                           else 0.0),
        history=history, diverged_epoch=diverged, divergence=divergence,
        places=places if len(places := saved.places(settings)) > 1 else None)
    if out is not None:
        write_json(Path(out) / "result.json", result.to_dict())
        Progress.clear(out)
    return result
