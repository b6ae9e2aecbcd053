"""ember_mad.train: a tiny in-context recall learns on every backend (the issue's CI item), the
loss and accuracy equal torch's CrossEntropyLoss(ignore_index=-100) and torchmetrics per batch,
the optimiser step equals torch.optim.AdamW under CosineAnnealingLR stepped per epoch, the
result JSON, and the errors."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import ember
import ember_mad
import ember_nn
import numpy as np
import pytest
from ember_mad._train import _evaluate, _loss, _Run, build_model
from mad_support import backends

TINY = {"task_params": {"vocab_size": 16, "seq_len": 32}, "num_train_examples": 512,
        "num_test_examples": 128, "dim": 32}


@pytest.fixture(params=backends())
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    with ember.use_backend(request.param):
        yield request.param


def test_tiny_in_context_recall_learns(backend: str, tmp_path: Path) -> None:
    """The CI configuration: vocab 16, sequences of 32, 512 training sequences, width 32, 8
    epochs. Values are 8 of the 16 tokens, so guessing values gives a macro accuracy near
    1/8; the run must reach twice that."""
    r = ember_mad.train("in-context-recall", epochs=8, lr=3e-3, batch_size=32,
                        progress=False, out=tmp_path, backend=backend, **TINY)  # type: ignore[arg-type]
    accs = [h["test_accuracy"] for h in r.history]
    assert r.best_accuracy == max(accs) > 0.25, accs
    assert accs[-1] > accs[0]
    assert r.epochs_run == 8 and not r.stopped_early
    assert r.settings["backend"] == backend and r.settings["precision"] == "32"
    # the cosine schedule, per epoch, from lr to 1e-6 over the 8 epochs
    want = [1e-6 + (3e-3 - 1e-6) * (1 + math.cos(math.pi * e / 8)) / 2 for e in range(8)]
    assert [h["lr"] for h in r.history] == pytest.approx(want, rel=1e-12)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert ember_mad.TrainResult.from_dict(saved) == r
    assert saved["settings"]["task_params"]["vocab_size"] == 16
    assert saved["settings"]["versions"]["ember-mad"]


def test_killed_run_resumes_with_the_same_numbers(backend: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A run killed after its second epoch resumes from ``out/progress`` (weights, AdamW's
    slots and step, the schedule, the shuffling generator) and ends as an uninterrupted run."""
    import ember_mad._progress as progress
    import ember_mad._train as train_module

    kw = dict(epochs=4, lr=3e-3, batch_size=64, progress=False, backend=backend, **TINY)
    whole = ember_mad.train("in-context-recall", out=tmp_path / "whole", **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(progress, "SAVE_SECONDS", 0.0)
    real, calls = train_module._evaluate, []

    def dies_in_epoch_3(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "_evaluate", dies_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        ember_mad.train("in-context-recall", out=tmp_path / "cut", **kw)  # type: ignore[arg-type]
    assert (tmp_path / "cut" / "progress").is_dir()
    assert not (tmp_path / "cut" / "result.json").exists()
    monkeypatch.setattr(train_module, "_evaluate", real)
    resumed = ember_mad.train("in-context-recall", out=tmp_path / "cut", **kw)  # type: ignore[arg-type]
    assert "resuming" in capsys.readouterr().err
    assert len(calls) == 3  # the resumed run evaluated epochs 3 and 4 only (through `real`)
    assert not (tmp_path / "cut" / "progress").exists()  # the result replaced it
    assert resumed.epochs_run == whole.epochs_run == 4
    for a, b in zip(resumed.history, whole.history, strict=True):
        assert a["epoch"] == b["epoch"] and a["lr"] == b["lr"]
        for k in ("train_loss", "test_loss", "test_accuracy"):
            assert a[k] == pytest.approx(b[k], rel=1e-5, abs=1e-6), (a["epoch"], k)


def test_killed_run_goes_on_in_another_place(backend: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A run killed after its second epoch on NumPy goes on in another place (this backend;
    compiled where it is NumPy again), with the uninterrupted run's numbers up to float
    rounding; the result and the report say which epochs ran where."""
    import ember_mad._progress as progress
    import ember_mad._train as train_module
    from ember_mad._report import score_runs

    kw = dict(epochs=4, lr=3e-3, batch_size=64, progress=False, **TINY)
    whole = ember_mad.train("in-context-recall", backend="numpy", **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(progress, "SAVE_SECONDS", 0.0)
    real = train_module._evaluate

    def dies_in_epoch_3(*args, **kwargs):  # type: ignore[no-untyped-def]
        dies_in_epoch_3.calls += 1  # type: ignore[attr-defined]
        if dies_in_epoch_3.calls == 3:  # type: ignore[attr-defined]
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    dies_in_epoch_3.calls = 0  # type: ignore[attr-defined]
    monkeypatch.setattr(train_module, "_evaluate", dies_in_epoch_3)
    run = tmp_path / "in-context-recall" / "baseline" / "lr3e-3_wd0"
    with pytest.raises(KeyboardInterrupt):
        ember_mad.train("in-context-recall", out=run, backend="numpy", compile=False, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(train_module, "_evaluate", real)
    compile = backend == "numpy"  # another place on NumPy too: the compiled step
    resumed = ember_mad.train("in-context-recall", out=run, backend=backend, compile=compile,
                              **kw)  # type: ignore[arg-type]
    device = resumed.settings["device"]
    where = f"{backend}/{device} ({'compiled' if compile else 'eager'})"
    assert (f"resuming {run / 'progress'} after epoch 2 (so far on numpy/cpu (eager) for "
            f"epochs 1-2; going on on {where})") in capsys.readouterr().err
    assert resumed.places == [
        {"backend": "numpy", "device": "cpu", "compile": False, "epochs": 2},
        {"backend": backend, "device": device, "compile": compile, "epochs": 2}]
    assert f"on numpy/cpu (eager) for epochs 1-2, then {where} for epochs 3-4 (32)" in (
        resumed.summary())
    saved = json.loads((run / "result.json").read_text())
    assert ember_mad.TrainResult.from_dict(saved) == resumed
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    for a, b in zip(resumed.history, whole.history, strict=True):
        for k in ("train_loss", "test_loss", "test_accuracy"):
            assert a[k] == pytest.approx(b[k], rel=1e-4, abs=1e-5), (a["epoch"], k)
    scores = score_runs(tmp_path)
    assert scores["backend"] == sorted({"numpy", backend})
    assert scores["device"] == sorted({"cpu", device})


def test_progress_of_other_settings_is_not_resumed(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import ember_mad._progress as progress
    import ember_mad._train as train_module

    monkeypatch.setattr(progress, "SAVE_SECONDS", 0.0)
    real = train_module._evaluate
    kw = dict(epochs=2, batch_size=64, progress=False, backend="numpy", **TINY)

    def dies_in_epoch_2(*args, **kwargs):  # type: ignore[no-untyped-def]
        if dies_in_epoch_2.calls == 1:  # type: ignore[attr-defined]
            raise KeyboardInterrupt
        dies_in_epoch_2.calls += 1  # type: ignore[attr-defined]
        return real(*args, **kwargs)

    dies_in_epoch_2.calls = 0  # type: ignore[attr-defined]
    monkeypatch.setattr(train_module, "_evaluate", dies_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        ember_mad.train("in-context-recall", out=tmp_path, lr=1e-3, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(train_module, "_evaluate", real)
    r = ember_mad.train("in-context-recall", out=tmp_path, lr=2e-3, **kw)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "holds a run of other settings (lr); starting over" in err
    assert r.epochs_run == 2 and r.history[0]["lr"] == 2e-3


def test_compiled_forward_follows_the_weights(backend: str) -> None:
    """The compiled test-set forward equals the eager one, after the weights change too (they
    are inputs of the program, not constants), and leaves the variables' values as they were."""
    from ember_mad._compiled_forward import CompiledForward

    data = ember_mad.make_dataset("in-context-recall", vocab_size=16, seq_len=32,
                                  num_train_examples=8, num_test_examples=8)
    net = build_model(data, ["mh-attention", "swiglu"], dim=16, seed=0)
    forward = CompiledForward(net)
    x = ember.asarray(data.test_inputs)
    for round_ in range(2):
        before = [v.numpy() for v in net.variables]
        np.testing.assert_allclose(forward(x).numpy(), net(x).numpy(), rtol=1e-5, atol=1e-5)
        for v, b in zip(net.variables, before, strict=True):
            np.testing.assert_array_equal(v.numpy(), b)
            v.assign(ember.asarray(b * 1.5 + 0.01 * round_))  # new weights for the next round


def test_early_stop_and_autoencoder(backend: str) -> None:
    """Compression trains the AutoEncoder; a run stops after the first epoch at 0.999
    (memorization of a 7-key table by one attention layer takes a few epochs)."""
    r = ember_mad.train("compression", ["mlp", "mlp"], epochs=1, dim=16, progress=False,
                        task_params={"vocab_size": 8, "seq_len": 8}, num_train_examples=32,
                        num_test_examples=16)
    assert r.settings["backbone"] == "autoencoder" and r.epochs_run == 1
    r = ember_mad.train("memorization", ["attention", "swiglu"], epochs=60, lr=1e-2, dim=16,
                        progress=False, batch_size=16,
                        task_params={"vocab_size": 8, "seq_len": 8}, num_train_examples=32,
                        num_test_examples=16)
    assert r.stopped_early and r.history[-1]["test_accuracy"] >= 0.999
    assert all(h["test_accuracy"] < 0.999 for h in r.history[:-1]) and r.epochs_run < 60


def test_loss_and_accuracy_equal_torch_and_torchmetrics(backend: str) -> None:
    """_evaluate's numbers on the same logits: Lightning's epoch loss (the mean of the batch
    losses of torch's CrossEntropyLoss(ignore_index=-100), weighted by batch size), the
    perplexity (exp of the mean loss per token, torchmetrics' Perplexity) and MAD-Lab's
    accuracy (torchmetrics' macro accuracy per batch, averaged)."""
    torch = pytest.importorskip("torch")
    cls = pytest.importorskip("torchmetrics.classification")
    text = pytest.importorskip("torchmetrics.text")
    rng = np.random.default_rng(0)
    n, length, vocab, batch = 37, 6, 7, 8
    logits = rng.standard_normal((n, length, vocab)).astype(np.float32)
    targets = rng.integers(0, vocab, (n, length))
    targets[rng.random((n, length)) < 0.4] = -100
    with ember.use_backend(backend):
        class Fixed(ember_nn.Module):
            def forward(self, x: ember.Tensor) -> ember.Tensor:
                return ember.take(ember.asarray(logits), x[:, 0], axis=0)

        ids = np.repeat(np.arange(n)[:, None], length, axis=1)
        loss, ppl, acc = _evaluate(Fixed(), ember.asarray(ids), targets, ember.asarray(targets),
                                   batch, vocab)
        assert float(_loss(ember.asarray(logits), ember.asarray(targets))) == pytest.approx(
            float(torch.nn.CrossEntropyLoss(ignore_index=-100)(
                torch.tensor(logits).reshape(-1, vocab), torch.tensor(targets).reshape(-1))),
            rel=1e-6)
    ce = torch.nn.CrossEntropyLoss(ignore_index=-100)
    metric = cls.MulticlassAccuracy(num_classes=vocab, average="macro", ignore_index=-100)
    perplexity = text.Perplexity(ignore_index=-100)
    losses, accs, sizes = [], [], []
    for s in range(0, n, batch):
        lg, tg = torch.tensor(logits[s:s + batch]), torch.tensor(targets[s:s + batch])
        losses.append(float(ce(lg.reshape(-1, vocab), tg.reshape(-1))))
        accs.append(float(metric(lg.argmax(-1), tg)))
        perplexity.update(lg, tg)
        sizes.append(len(lg))
    assert loss == pytest.approx(np.average(losses, weights=sizes), rel=1e-6)
    assert acc == pytest.approx(np.average(accs, weights=sizes), rel=1e-6)
    assert ppl == pytest.approx(float(perplexity.compute()), rel=1e-5)


@pytest.mark.parametrize("schedule", ["cosine", "constant"])
def test_step_equals_torch_adamw_with_epoch_cosine(backend: str, schedule: str) -> None:
    """Three epochs of two steps of the run's step (float32, eager) against torch.optim.AdamW
    (its defaults but lr and weight decay) with CosineAnnealingLR(T_max, eta_min=1e-6) stepped
    after each epoch, or with no scheduler (``"constant"``: MAD-Lab's Lightning run, which
    drops its scheduler), fed the same gradients: the weights agree."""
    torch = pytest.importorskip("torch")
    data = ember_mad.make_dataset("in-context-recall", num_train_examples=16, num_test_examples=4,
                                  vocab_size=8, seq_len=8)
    with ember.use_backend(backend):
        model = build_model(data, ["mlp"], dim=8, seed=3)
        run = _Run(model, 1e-2, 0.1, 3, 2, "32", False, schedule)
        names = [k for k, _ in model.named_variables()]
        ref = [torch.nn.Parameter(torch.tensor(v.numpy())) for _, v in model.named_variables()]
        opt = torch.optim.AdamW(ref, lr=1e-2, weight_decay=0.1)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=3, eta_min=1e-6) \
            if schedule == "cosine" else torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0)
        x, y = ember.asarray(data.train_inputs), ember.asarray(data.train_targets)
        for _ in range(3):
            for i in range(2):
                xb, yb = x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]
                _, grads = ember_nn.value_and_grad(model, lambda a, b: _loss(model(a), b))(xb, yb)
                for p, k in zip(ref, names, strict=True):
                    p.grad = torch.tensor(grads[k].numpy())
                run.step(xb, yb)
                opt.step()
            sched.step()
        for p, (k, v) in zip(ref, model.named_variables(), strict=True):
            np.testing.assert_allclose(v.numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=k)


def test_errors() -> None:
    with pytest.raises(ember_mad.MADError, match="unknown MAD task 'recall'"):
        ember_mad.train("recall")
    with pytest.raises(ember_mad.MADError, match=r"unknown layer 'attn'.*mh-attention"):
        ember_mad.train("memorization", ["attn", "swiglu"])
    with pytest.raises(ember_mad.MADError, match="lr must be a finite number > 0, got 0"):
        ember_mad.train("memorization", lr=0)
    with pytest.raises(ember_mad.MADError, match="weight_decay must be a finite number >= 0"):
        ember_mad.train("memorization", weight_decay=-0.1)
    with pytest.raises(ember_mad.MADError, match="precision must be 'auto' or one of"):
        ember_mad.train("memorization", precision="bf16")
    with pytest.raises(ember_mad.MADError, match="memorization takes no parameter 'seq_length'"):
        ember_mad.train("memorization", task_params={"seq_length": 8})
    with pytest.raises(ember_mad.MADError, match="epochs must be an integer >= 1"):
        ember_mad.train("memorization", epochs=0)
    with pytest.raises(ember_mad.MADError, match=r"schedule must be one of \['cosine', "
                                                 r"'constant'\].*got 'linear'"):
        ember_mad.train("memorization", schedule="linear")


def test_constant_schedule_keeps_the_rate_and_is_recorded() -> None:
    kw = dict(epochs=10, stop_after=3, lr=1e-2, batch_size=64, progress=False, backend="numpy",
              **TINY)
    const = ember_mad.train("in-context-recall", schedule="constant", **kw)  # type: ignore[arg-type]
    cos = ember_mad.train("in-context-recall", **kw)  # type: ignore[arg-type]
    assert [h["lr"] for h in const.history] == [1e-2] * 3
    assert cos.history[2]["lr"] < cos.history[1]["lr"] < cos.history[0]["lr"] == 1e-2
    assert const.settings["schedule"] == "constant" and "schedule" not in cos.settings
    # the first epoch runs at the same rate: the same numbers
    assert const.history[0]["test_loss"] == cos.history[0]["test_loss"]
    assert const.history[2]["train_loss"] != cos.history[2]["train_loss"]


def test_a_run_whose_loss_is_not_finite_stops(tmp_path: Path) -> None:
    """A step size of 1e30 overflows the weights in the first epoch: the run stops after that
    epoch, says so, and keeps its best epoch as the result (the paper's rule)."""
    r = ember_mad.train("in-context-recall", epochs=5, lr=1e30, batch_size=64, progress=False,
                        out=tmp_path, backend="numpy", **TINY)  # type: ignore[arg-type]
    assert r.diverged_epoch == r.epochs_run < 5
    assert not math.isfinite(r.history[-1]["train_loss"])
    assert all(math.isfinite(h["train_loss"]) for h in r.history[:-1])
    assert r.best_accuracy == max(h["test_accuracy"] for h in r.history)
    assert "not finite at epoch" in r.summary()
    saved = json.loads((tmp_path / "result.json").read_text())  # NaN != NaN: compare as JSON
    assert json.dumps(ember_mad.TrainResult.from_dict(saved).to_dict()) == json.dumps(r.to_dict())
    del saved["diverged_epoch"]  # results written before the field read back as None
    assert ember_mad.TrainResult.from_dict(saved).diverged_epoch is None


@pytest.mark.parametrize(("backend", "compiled"), [(b, False) for b in backends()]
                         + [("torch", True)] * ("torch" in backends()))
def test_a_diverged_epoch_is_replayed_to_its_first_nonfinite_step(backend: str,
                                                                  compiled: bool) -> None:
    """The epoch whose loss went NaN is replayed from its start (the run's step, compiled
    where the run was, then the eager step on a new model): both find the step a fresh eager
    run of that epoch finds."""
    kw = dict(lr=1e30, batch_size=64, seed=3, progress=False, backend=backend,
              compile=compiled)
    r = ember_mad.train("in-context-recall", epochs=3, **kw, **TINY)  # type: ignore[arg-type]
    assert r.diverged_epoch == 1 and r.divergence is not None
    # the reference: epoch 1's batches stepped one by one from the initial weights
    from ember_mad._train import _Run, build_model

    data = ember_mad.make_dataset("in-context-recall", seed=3, num_train_examples=512,
                                  num_test_examples=128, **TINY["task_params"])
    with ember.use_backend(backend):
        model = build_model(data, ember_mad.DEFAULT_LAYERS, dim=32, seed=3)
        run = _Run(model, 1e30, 0.0, 3, 8, "32", False)
        order = np.random.default_rng(3).permutation(512)
        losses = [float(run.step(ember.asarray(data.train_inputs[order[i:i + 64]]),
                                 ember.asarray(data.train_targets[order[i:i + 64]])))
                  for i in range(0, 512, 64)]
    first = next(i + 1 for i, v in enumerate(losses) if not math.isfinite(v))
    assert first > 1  # the weights overflow after a step or more, not at the start
    assert r.divergence == {"epoch": 1, "steps": 8, "run_step": first, "eager_step": first}
    assert f"step {first} of 8 was not finite with the run's step" in r.summary()


def test_stop_after_ends_a_run_on_its_own_schedule() -> None:
    """``stop_after`` runs the first epochs of the ``epochs``-epoch cosine schedule: the same
    numbers as a longer stop of that schedule, not a shorter schedule's."""
    kw = dict(epochs=10, lr=1e-2, batch_size=64, progress=False, backend="numpy", **TINY)
    two = ember_mad.train("in-context-recall", stop_after=2, **kw)  # type: ignore[arg-type]
    three = ember_mad.train("in-context-recall", stop_after=3, **kw)  # type: ignore[arg-type]
    assert two.epochs_run == 2 and three.epochs_run == 3 and not two.stopped_early
    keys = ("lr", "train_loss", "test_loss", "test_accuracy")
    assert [[h[k] for k in keys] for h in two.history] == \
        [[h[k] for k in keys] for h in three.history[:2]]
    # torch's CosineAnnealingLR(T_max=10, eta_min=1e-6) at its second epoch
    assert two.history[1]["lr"] == pytest.approx(1e-6 + (1e-2 - 1e-6) * (1 + math.cos(math.pi
                                                                                    / 10)) / 2)
    with pytest.raises(ember_mad.MADError, match="stop_after must be an integer >= 1"):
        ember_mad.train("in-context-recall", stop_after=0, **kw)  # type: ignore[arg-type]


def test_matmul_precision_is_set_and_recorded() -> None:
    kw = dict(epochs=1, batch_size=64, progress=False, backend="numpy", **TINY)
    before = ember.get_matmul_precision()
    try:
        r = ember_mad.train("memorization", matmul_precision="highest", **kw)  # type: ignore[arg-type]
        assert ember.get_matmul_precision() == "highest"
        assert r.settings["matmul_precision"] == "highest"
        r = ember_mad.train("memorization", **kw)  # type: ignore[arg-type]
        assert ember.get_matmul_precision() == "high"  # MAD-Lab's
        assert "matmul_precision" not in r.settings  # the default, as results before it
    finally:
        ember.set_matmul_precision(before)
    with pytest.raises(ember_mad.MADError, match="matmul_precision must be 'high' or 'highest'"):
        ember_mad.train("memorization", matmul_precision="medium", **kw)  # type: ignore[arg-type]
