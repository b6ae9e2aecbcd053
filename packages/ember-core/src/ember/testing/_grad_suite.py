"""Gradient tests of the conformance kit (mixed into ``BackendConformance``).

* every VJP rule against central finite differences in float64 (generic engine);
* the backend's own engine (if it has one) against the generic engine, float32 and float64;
* second derivatives of the element-wise ops through nested tapes, on every engine;
* the coverage guard: every catalogue op has a gradient case or a reason it has none.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ember
from ember._catalogue import CATALOGUE

from ._grad import compare, fd_gradients, loss_fn, second_loss, tape_gradients, weights_for
from ._grad_cases import NOT_DIFFERENTIABLE, GradCase, load_grad_cases

__all__ = ["GradientChecks"]


def _has(b: ember.Backend, d: Any) -> bool:
    try:
        b.native_dtype(d)
        return True
    except ember.EmberError:
        return False


class GradientChecks:
    """Gradient tests; the host class provides ``backend``, ``_load`` and ``_settings``."""

    backend: ClassVar[str]
    #: hypothesis examples per gradient case (finite differences cost 2 calls per element)
    grad_examples: ClassVar[int] = 3

    def _grad_params(self, metafunc: Any) -> None:
        names = metafunc.fixturenames
        cases = load_grad_cases()
        if "grad_case" in names:
            metafunc.parametrize("grad_case", cases, ids=[c.id for c in cases])
        if "second_case" in names:
            second = [c for c in cases if c.second]
            metafunc.parametrize("second_case", second, ids=[c.id for c in second])

    def _grad_gate(self, case: GradCase, dtype: Any) -> ember.Backend:
        b = self._load()  # type: ignore[attr-defined]
        if not _has(b, dtype):
            pytest.skip(f"backend {self.backend!r} has no {dtype} on its default device")
        if case.complex and not _has(b, ember.complex128 if dtype is ember.float64 else ember.complex64):
            pytest.skip(f"backend {self.backend!r} has no complex dtype for {dtype}")
        status = b.status.get(case.op)
        if status is not None and status.status == "unsupported":
            pytest.xfail(f"{case.op} declared unsupported by {self.backend!r}: {status.note}")
        return b

    def _run(self, case: GradCase, body: Any) -> None:
        settings = self._settings(case.examples or self.grad_examples)  # type: ignore[attr-defined]

        @settings
        @given(data=st.data())
        def check(data: Any) -> None:
            call = case.build(data)
            seed = data.draw(st.integers(0, 2**31 - 1), label="weights seed")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                try:
                    body(call, seed)
                except AssertionError as err:
                    shapes = ", ".join(f"{a.dtype}{list(a.shape)}" for a in call.args)
                    raise AssertionError(f"{case.id} on {self.backend!r} (inputs {shapes}"
                                         f"{'; ' + call.note if call.note else ''}): {err}") from None

        check()

    # -- the tests -----------------------------------------------------------------------------
    def test_gradient_coverage(self) -> None:
        """Every catalogue op has a gradient case, or is listed as not differentiable."""
        have = {c.op for c in load_grad_cases()}
        missing = sorted(s.name for s in CATALOGUE if s.name not in have and s.name not in NOT_DIFFERENTIABLE)
        assert not missing, f"ops without a gradient case or a reason: {missing}"
        both = sorted(have & set(NOT_DIFFERENTIABLE))
        assert not both, f"ops both with gradient cases and listed as not differentiable: {both}"

    def test_vjp_matches_finite_differences(self, grad_case: GradCase) -> None:
        """The generic engine's gradient (the VJP rules) equals central differences (float64)."""
        self._grad_gate(grad_case, ember.float64)

        def body(call: Any, seed: int) -> None:
            ws = weights_for(call, self.backend, seed)
            loss = loss_fn(call.fn, ws)
            got = tape_gradients(loss, call.args, self.backend, ember.float64, "generic")
            want = fd_gradients(loss, call.args, self.backend, grad_case.step)
            compare(got, want, 1e-5 * grad_case.tol, 1e-6 * grad_case.tol, "tape vs finite differences")

        self._run(grad_case, body)

    def test_engine_matches_generic(self, grad_case: GradCase) -> None:
        """The backend's own engine gives the generic engine's gradients (float32 and float64)."""
        b = self._grad_gate(grad_case, ember.float32)
        if b.hooks.tape_engine is None:
            pytest.skip(f"backend {self.backend!r} has no gradient engine of its own")
        pairs = ((ember.float32, ember.complex64), (ember.float64, ember.complex128))
        dtypes = [d for d, c in pairs if _has(b, d) and (not grad_case.complex or _has(b, c))]
        gaps: list[str] = []

        def body(call: Any, seed: int) -> None:
            ws = weights_for(call, self.backend, seed, dtypes[0])
            loss = loss_fn(call.fn, ws)
            for d in dtypes:
                try:
                    want = tape_gradients(loss, call.args, self.backend, d, "generic")
                except ember.UnsupportedError as exc:  # a declared gap of the op (and dtype)
                    gaps.append(f"{d}: {exc}")
                    continue
                got = tape_gradients(loss, call.args, self.backend, d, "auto")
                tol = 1e-4 if d is ember.float32 else 1e-9
                compare(got, want, tol * grad_case.tol, tol * grad_case.tol, f"own engine vs generic ({d})")

        self._run(grad_case, body)
        if gaps and len({g.split(":")[0] for g in gaps}) == len(dtypes):
            pytest.skip(f"{grad_case.op} is unsupported here in every dtype: {gaps[0]}")

    def test_second_derivative(self, second_case: GradCase) -> None:
        """Nested tapes give the second derivative (finite differences of the first), on the
        generic engine and on the backend's own."""
        b = self._grad_gate(second_case, ember.float64)
        engines = ["generic"] + (["auto"] if b.hooks.tape_engine is not None else [])

        def body(call: Any, seed: int) -> None:
            rng = np.random.default_rng(seed)
            x = call.args[0]
            w, v = rng.uniform(-1, 1, x.shape), rng.uniform(-1, 1, x.shape)
            for engine in engines:
                loss = second_loss(call.fn, w, v, engine)
                got = tape_gradients(loss, call.args, self.backend, ember.float64, engine)
                want = fd_gradients(loss, call.args, self.backend)
                compare(got, want, 1e-5 * second_case.tol, 1e-6 * second_case.tol,
                        f"second derivative ({engine} engine) vs finite differences")

        self._run(second_case, body)
