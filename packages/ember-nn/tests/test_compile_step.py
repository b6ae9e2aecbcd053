"""``ember_nn.compile_step``: one compiled program per step with the eager step's numbers, on every
backend; recompiles only for new shapes, structure or hyperparameters; clean fallbacks.

torch compiles with inductor, which takes ~30-60 s on a CPU: one equivalence test runs on torch
in the default session, the others in ``nox -s slow`` (EMBER_SLOW=1)."""

from __future__ import annotations

import logging
import os
import warnings

import ember
import ember_nn
import numpy as np
import pytest
from optim_support import training_step


def _slow_on_torch(backend: str) -> None:
    if backend == "torch" and not os.environ.get("EMBER_SLOW"):
        pytest.skip("inductor takes ~30-60 s per program on a CPU: runs in `nox -s slow`")


def _model(batchnorm: bool = True) -> ember_nn.Module:
    with ember_nn.seeded(0):
        layers = [ember_nn.Dense(6, 12), ember_nn.ReLU()]
        if batchnorm:
            layers.append(ember_nn.BatchNorm(12))
        return ember_nn.Sequential(*layers, ember_nn.Dense(12, 3))


def _batches(n: int, rows: int = 16) -> list[tuple[ember.Tensor, ember.Tensor]]:
    rng = np.random.default_rng(1)
    return [(ember.asarray(rng.standard_normal((rows, 6)).astype(np.float32)),
             ember.asarray(rng.standard_normal((rows, 3)).astype(np.float32)))
            for _ in range(n)]


def _run(make_opt, compiled: bool, batches, batchnorm: bool = True):  # type: ignore[no-untyped-def]
    model, opt = _model(batchnorm), make_opt()

    def loss_fn(x, y):  # type: ignore[no-untyped-def]
        return ember.mean((model(x) - y) ** 2)

    step = training_step(model, loss_fn, opt, compiled)

    losses = [float(step(x, y)) for x, y in batches]
    state = opt.state_dict()
    return losses, [v.numpy() for v in model.variables], state, step


def _same(eager, compiled, tol: float) -> None:  # type: ignore[no-untyped-def]
    np.testing.assert_allclose(compiled[0], eager[0], rtol=tol, atol=tol)
    for a, b in zip(eager[1], compiled[1], strict=True):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)
    assert compiled[2]["step"] == eager[2]["step"] == len(compiled[0])
    for path, slots in eager[2]["slots"].items():
        for name, value in slots.items():
            np.testing.assert_allclose(compiled[2]["slots"][path][name].numpy(), value.numpy(),
                                       rtol=tol, atol=tol)


def test_adam_step_matches_the_eager_step(backend: str) -> None:
    """Adam with L2 weight decay and clipping, BatchNorm's running statistics (buffers the step
    returns): losses, variables and slots agree with the eager step after 4 steps."""
    batches = _batches(4)

    def make():  # type: ignore[no-untyped-def]
        return ember_nn.Adam(1e-2, weight_decay=0.01, clip_norm=1.0)

    eager = _run(make, False, batches)
    compiled = _run(make, True, batches)
    _same(eager, compiled, 1e-5)
    step = compiled[3]
    compiles = ember.load_backend(backend).hooks.compiler is not None
    assert step.stats.traces == (1 if compiles else 0)
    assert step.fallback is None and step.recompiles == 0


@pytest.mark.parametrize("make", [
    lambda: ember_nn.SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda: ember_nn.AdamW(1e-2, weight_decay=0.1),
    lambda: ember_nn.RMSprop(1e-2, momentum=0.5, centered=True),
], ids=["sgd-nesterov", "adamw", "rmsprop-centered"])
def test_other_optimisers_match_the_eager_step(backend: str, make) -> None:  # type: ignore[no-untyped-def]
    _slow_on_torch(backend)
    batches = _batches(3)
    _same(_run(make, False, batches, False), _run(make, True, batches, False), 1e-5)


def test_compiles_once_per_shape_and_not_for_a_schedule(backend: str) -> None:
    _slow_on_torch(backend)
    if ember.load_backend(backend).hooks.compiler is None:
        pytest.skip(f"{backend} has no compiler: the plain step runs")
    schedule = ember_nn.CosineDecay(0.05, decay_steps=10)
    model, opt = _model(False), ember_nn.Adam(schedule)
    step = ember_nn.compile_step(model, lambda x, y: ember.mean((model(x) - y) ** 2), opt)
    for x, y in _batches(3) + _batches(2, rows=5) + _batches(1):
        step(x, y)
    assert step.stats.traces == 2  # 16 rows, then 5 rows; the rate changed at every step
    opt.beta1 = 0.8  # a hyperparameter the program branches on: a new program
    step(*_batches(1)[0])
    assert step.stats.traces == 3
    model.layers[0].bias.assign(ember.zeros((12,)))  # a value: no recompilation
    step(*_batches(1)[0])
    assert step.stats.traces == 3 and step.recompiles == 0


def test_rate_and_step_inputs_follow_the_optimizer(backend: str) -> None:
    """The rate's and the step number's input tensors are reused while their values hold and
    the step is advanced on the device; an optimiser whose step goes back (its state loaded
    from earlier) or whose rate changes gets new ones: the eager step's numbers throughout."""
    _slow_on_torch(backend)
    sides = []
    for compiled in (False, True):
        model = _model(False)
        opt = ember_nn.Adam(ember_nn.CosineDecay(0.05, decay_steps=4))

        def loss_fn(x, y, model=model):  # type: ignore[no-untyped-def]
            return ember.mean((model(x) - y) ** 2)

        step = training_step(model, loss_fn, opt, compiled)
        batches = _batches(6)
        losses = [float(step(x, y)) for x, y in batches[:2]]
        early = opt.state_dict()
        losses += [float(step(x, y)) for x, y in batches[2:4]]
        opt.load_state_dict(early)  # back to step 2 (the weights keep going)
        losses += [float(step(x, y)) for x, y in batches[4:]]
        opt.learning_rate = 0.01  # a constant rate from here
        losses += [float(step(x, y)) for x, y in batches[:2]]
        sides.append((losses, [v.numpy() for v in model.variables], opt.step))
    (eager, eager_w, eager_step), (comp, comp_w, comp_step) = sides
    assert comp_step == eager_step == 6
    np.testing.assert_allclose(comp, eager, rtol=1e-5, atol=1e-6)
    for a, b in zip(eager_w, comp_w, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_a_structure_change_rebuilds_the_program_with_right_numbers(backend: str, caplog) -> None:  # type: ignore[no-untyped-def]
    _slow_on_torch(backend)
    batches = _batches(4)

    def run(compiled: bool):  # type: ignore[no-untyped-def]
        model, opt = _model(False), ember_nn.SGD(0.1, momentum=0.9)

        def loss_fn(x, y):  # type: ignore[no-untyped-def]
            return ember.mean((model(x) - y) ** 2)

        step = ember_nn.compile_step(model, loss_fn, opt) if compiled else None
        losses = []
        for i, (x, y) in enumerate(batches):
            if i == 2:  # replace a variable: a new structure
                model.layers[2].weight = ember.Variable(ember.ones((12, 3)) * 0.1)
            if step is not None:
                losses.append(float(step(x, y)))
            else:
                loss, grads = ember_nn.value_and_grad(model, loss_fn)(x, y)
                opt.update(model, grads)
                losses.append(float(loss))
        return losses, [v.numpy() for v in model.variables], step

    with caplog.at_level(logging.DEBUG, logger="ember.compile"):
        compiled = run(True)
    eager = run(False)
    np.testing.assert_allclose(compiled[0], eager[0], rtol=1e-5, atol=1e-6)
    for a, b in zip(eager[1], compiled[1], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert compiled[2].recompiles == 1
    assert "structure changed" in caplog.text


def test_dropout_in_training_mode_runs_eagerly_with_a_warning(backend: str) -> None:
    if ember.load_backend(backend).hooks.compiler is None:
        pytest.skip(f"{backend} has no compiler: the plain step runs, without a warning")
    with ember_nn.seeded(0):
        model = ember_nn.Sequential(ember_nn.Dense(6, 8), ember_nn.Dropout(0.5),
                                    ember_nn.Dense(8, 3))
    opt = ember_nn.SGD(0.1)
    step = ember_nn.compile_step(model, lambda x, y: ember.mean((model(x) - y) ** 2), opt)
    (x, y), = _batches(1)
    with pytest.warns(ember.CompileWarning, match="Dropout layer in training mode"):
        first = float(step(x, y))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ember.CompileWarning)  # said once
        step(x, y)
    assert "layers.1" in (step.fallback or "") and opt.step == 2 and np.isfinite(first)
    for _ in range(20):  # the Dropout's call counter changes the tree at every step
        step(x, y)
    assert step.recompiles == 0 and len(step._structures) <= 16  # no program, a bounded cache


def test_bad_arguments_and_a_failing_loss(backend: str) -> None:
    model, opt = _model(False), ember_nn.SGD(0.1)
    with pytest.raises(ember.ArgumentError, match=r"ember_nn\.Module"):
        ember_nn.compile_step(lambda x: x, lambda x: x, opt)  # type: ignore[arg-type]
    with pytest.raises(ember.ArgumentError, match="optimiser"):
        ember_nn.compile_step(model, lambda x: x, "adam")  # type: ignore[arg-type]
    before = [v.numpy() for v in model.variables]
    step = ember_nn.compile_step(model, lambda x, y: model(x) - y, opt)  # not a scalar
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ember.CompileWarning)
        with pytest.raises(ember.ShapeError, match="scalar loss"):
            step(*_batches(1)[0])
    for a, v in zip(before, model.variables, strict=True):  # the variables are untouched
        np.testing.assert_array_equal(v.numpy(), a)
    assert opt.step == 0


def test_trainer_compile_gives_the_eager_history(backend: str) -> None:
    _slow_on_torch(backend)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((48, 6)).astype(np.float32)
    y = rng.integers(0, 3, 48)
    histories = []
    for compiled in (False, True):
        with ember_nn.seeded(0):
            model = ember_nn.MLP(6, [16], 3)
        trainer = ember_nn.Trainer(model, ember_nn.Adam(1e-2), metrics=["accuracy"],
                                   loss="sparse_categorical_cross_entropy", compile=compiled,
                                   progress=False)
        histories.append(trainer.fit(x, y, epochs=3, batch_size=16).history)
        if compiled and ember.load_backend(backend).hooks.compiler is not None:
            step = trainer.compiled_step
            assert step is not None and step.stats.traces == 1 and step.fallback is None
    for name in histories[0]:
        np.testing.assert_allclose(histories[1][name], histories[0][name], rtol=1e-5)
    with pytest.raises(ember_nn.ConfigError, match="compile must be True or False"):
        ember_nn.Trainer(_model(False), ember_nn.SGD(0.1), compile="yes")  # type: ignore[arg-type]


def test_compiled_updates_compile_once_under_a_schedule(backend: str) -> None:
    """``Optimizer.compile_updates`` (the mixed-precision Trainer's compile): the rate and the
    step number are inputs of the compiled update, so a schedule does not compile a new
    version at every step."""
    _slow_on_torch(backend)
    models = [_model(False) for _ in range(2)]
    opts = [ember_nn.Adam(ember_nn.CosineDecay(0.05, decay_steps=10)) for _ in range(2)]
    opts[1].compile_updates(True)
    for model, opt in zip(models, opts, strict=True):
        vg = ember_nn.value_and_grad(model, lambda x, y, m=model: ember.mean((m(x) - y) ** 2))
        for x, y in _batches(4):
            opt.update(model, vg(x, y)[1])
    for a, b in zip(models[0].variables, models[1].variables, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-6)
    compiles = ember.load_backend(backend).hooks.compiler is not None
    assert opts[1]._update_fn.stats.traces == (1 if compiles else 0)


def test_binary_cross_entropy_compiles(backend: str) -> None:
    """The losses' host-side value checks are skipped inside a compiled program (they would
    stop it compiling) and still run in eager code."""
    _slow_on_torch(backend)
    with ember_nn.seeded(0):
        model = ember_nn.Dense(6, 1)
    opt = ember_nn.SGD(0.1)
    x = _batches(1)[0][0]
    y = ember.asarray((np.arange(16) % 2).reshape(16, 1).astype(np.float32))

    def loss_fn(x, y):  # type: ignore[no-untyped-def]
        return ember_nn.binary_cross_entropy(model(x), y)

    step = ember_nn.compile_step(model, loss_fn, opt)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ember.CompileWarning)
        first, second = float(step(x, y)), float(step(x, y))
    assert second < first and step.fallback is None
    with pytest.raises(ember.ArgumentError, match=r"must be in \[0, 1\]"):
        loss_fn(x, y * 3.0)  # eager: checked


def test_a_layer_without_variables_swapped_is_a_new_program(backend: str) -> None:
    """Swapping ReLU for Tanh changes no variable but changes the program; eval and train
    again reuse the programs already compiled."""
    _slow_on_torch(backend)
    batches = _batches(3)

    def run(compiled: bool):  # type: ignore[no-untyped-def]
        model, opt = _model(False), ember_nn.SGD(0.1)

        def loss_fn(x, y):  # type: ignore[no-untyped-def]
            return ember.mean((model(x) - y) ** 2)

        step = ember_nn.compile_step(model, loss_fn, opt) if compiled else None
        vg = ember_nn.value_and_grad(model, loss_fn)
        losses = []
        for i, (x, y) in enumerate(batches):
            if i == 1:
                model.layers[1] = ember_nn.Tanh()
            if step is not None:
                losses.append(float(step(x, y)))
            else:
                loss, grads = vg(x, y)
                opt.update(model, grads)
                losses.append(float(loss))
        return losses, step

    compiled, eager = run(True), run(False)
    np.testing.assert_allclose(compiled[0], eager[0], rtol=1e-5, atol=1e-6)
    step = compiled[1]
    assert step.recompiles == 1
    traces = step.stats.traces
    step.model.eval()
    step.model.train()
    step(*batches[0])
    assert step.recompiles == 1 and step.stats.traces == traces  # the same program again


def test_an_lstm_compiles_with_the_eager_numbers(backend: str) -> None:
    """On torch the fused LSTM kernel (CPU: aten.mkldnn_rnn_layer) cannot be traced: inside a
    trace ember.nn.lstm runs its composite, so the step compiles instead of falling back."""
    rng = np.random.default_rng(0)
    x = ember.asarray(rng.standard_normal((4, 5, 3)).astype(np.float32))
    y = ember.asarray(rng.standard_normal((4, 5, 6)).astype(np.float32))
    losses = []
    for compiled in (False, True):
        model, opt = ember_nn.LSTM(3, 6, batch_first=True, key=0), ember_nn.SGD(0.1)

        def loss_fn(x, y, model=model):  # type: ignore[no-untyped-def]
            return ember.mean((model(x)[0] - y) ** 2)

        if compiled:
            step = ember_nn.compile_step(model, loss_fn, opt)
        else:
            vg = ember_nn.value_and_grad(model, loss_fn)

            def step(x, y, vg=vg, model=model, opt=opt):  # type: ignore[no-untyped-def]
                loss, grads = vg(x, y)
                opt.update(model, grads)
                return loss
        with warnings.catch_warnings():
            warnings.simplefilter("error", ember.CompileWarning)
            losses.append([float(step(x, y)) for _ in range(3)])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5, atol=1e-6)


def test_a_cfc_language_model_trains_alike_eager_and_compiled(backend: str) -> None:
    """CfC's backbone weight is used through its transpose, so its gradient is a transposed
    view: torch's fused AdamW read it scrambled in the eager step (the compiled step, whose
    update is traced in foreach form, was right), and the two steps parted at once."""
    rng = np.random.default_rng(0)
    batches = [(ember.asarray(rng.integers(0, 8, (3, 5))), ember.asarray(rng.integers(0, 8, (3, 5))))
               for _ in range(3)]
    runs = []
    for compiled in (False, True):
        model = ember_nn.blocks.LanguageModel.from_layers(["cfc", "swiglu"], vocab_size=8, dim=8,
                                                          key=0)
        opt = ember_nn.AdamW(1e-2, weight_decay=0.1)

        def loss_fn(x, y, model=model):  # type: ignore[no-untyped-def]
            logits = model(x)
            return ember.nn.cross_entropy(ember.reshape(logits, (-1, 8)), ember.reshape(y, (-1,)))

        step = training_step(model, loss_fn, opt, compiled)
        losses = [float(step(x, y)) for x, y in batches]
        runs.append((losses, {k: v.numpy() for k, v in model.named_variables()}))
    (eager, eager_vars), (comp, comp_vars) = runs
    np.testing.assert_allclose(comp, eager, rtol=1e-5, atol=1e-6)
    for k, v in eager_vars.items():  # an AdamW step moves a weight by about lr: 1e-2
        np.testing.assert_allclose(comp_vars[k], v, rtol=1e-4, atol=1e-4, err_msg=k)
