"""``BackendConformance``: the test class a backend package subclasses to run the kit.

    from ember.testing import BackendConformance

    class TestMyLib(BackendConformance):
        backend = "mylib"

Every case of the table runs on the backend under test and on the reference (NumPy) with the
same generated inputs; results must agree in dtype and shape exactly and in value within the
dtype's tolerance. Ops the backend declares unsupported are expected failures with the
backend's reason; a backend that fails to load fails every test.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ember
from ember._backend import UNSUPPORTED, Backend
from ember._catalogue import CATALOGUE

from . import _strategies as S
from ._array_api_suite import ArrayAPIChecks
from ._cases import BACKEND, CONTEXT, Call, Case, load_all, resolve
from ._compare import assert_results_match, flatten
from ._error_cases import ERROR_CASES, MISMATCH_CASES, ErrorCase
from ._grad_suite import GradientChecks
from ._linalg_failures import LinalgFailures
from ._random_cases import RANDOM_CASES, RandomCase
from ._settings_suite import SettingsChecks
from ._tape_suite import TapeSemantics

__all__ = ["BackendConformance", "covered_ops"]


@dataclass(frozen=True)
class Run:
    """One parametrisation of ``test_op``: a case with one dtype (or bfloat16 emulation)."""

    case: Case
    dtype: Any
    bf16: bool = False

    @property
    def id(self) -> str:
        d = "bfloat16" if self.bf16 else (self.dtype.name if self.dtype is not None else "")
        return "-".join(p for p in (self.case.op, d, self.case.variant) if p)


def covered_ops() -> set[str]:
    """Catalogue ops with at least one case in the kit."""
    return ({c.op for c in load_all()} | {c.op for c in RANDOM_CASES}
            | {c.op for c in ERROR_CASES if c.counts})


def _dtypes_of(b: Backend) -> frozenset[Any]:
    dev = b.devices.default().split(":")[0]
    allowed = b.capabilities.dtypes.get(dev)
    have = frozenset(b.to_native_dtype)
    return have if allowed is None else have & frozenset(allowed)


def _runs(name: str, reference: str) -> list[Run]:
    cases = load_all()
    try:
        have = _dtypes_of(ember.load_backend(name)) & _dtypes_of(ember.load_backend(reference))
        bf16 = ember.bfloat16 in _dtypes_of(ember.load_backend(name))
    except Exception:  # every test will fail in _load() with the load error
        have, bf16 = frozenset(S.ALL), False
    out: list[Run] = []
    for c in cases:
        if not c.dtypes:
            out.append(Run(c, None))
            continue
        out += [Run(c, d) for d in c.dtypes if d in have]
        if c.bf16 and bf16:
            out.append(Run(c, ember.float32, bf16=True))
    return out


class _Flag(Exception):
    pass


def _convert(obj: Any, name: str, bf16: bool) -> Any:
    if isinstance(obj, np.ndarray):
        t = ember.asarray(obj, backend=name)
        if bf16 and obj.dtype == np.float32:
            t = ember.astype(t, ember.bfloat16)
        return t
    if obj is BACKEND:
        return name
    if type(obj) in (list, tuple):
        return type(obj)(_convert(o, name, bf16) for o in obj)
    if isinstance(obj, dict):
        return {k: _convert(v, name, bf16) for k, v in obj.items()}
    return obj


def _round_bf16(obj: Any) -> Any:
    if isinstance(obj, np.ndarray) and obj.dtype == np.float32:
        return S.bf16_round(obj)
    if type(obj) in (list, tuple):
        return type(obj)(_round_bf16(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _round_bf16(v) for k, v in obj.items()}
    return obj


def invoke(c: Call, op: str, name: str, bf16: bool = False) -> tuple[Any, BaseException | None]:
    """Run a call on backend ``name``; returns (flattened result, None) or (None, exception)."""
    fn = c.fn or resolve(op)
    if fn is None:
        raise AssertionError(f"kit bug: {op} has no public function")
    try:
        args = _convert(c.args, name, bf16)
        kwargs = _convert(c.kwargs, name, bf16)
        with ember.use_backend(name), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return flatten(fn(*args, **kwargs)), None
    except Exception as exc:
        return None, exc


def _summary(obj: Any) -> str:
    if isinstance(obj, np.ndarray):
        body = np.array2string(obj, threshold=20, precision=4) if obj.size <= 24 else "..."
        return f"{obj.dtype}{list(obj.shape)} {body}"
    if type(obj) in (list, tuple):
        return "(" + ", ".join(_summary(o) for o in obj) + ")"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k}={_summary(v)}" for k, v in obj.items()) + "}"
    return repr(obj)


class BackendConformance(GradientChecks, TapeSemantics, LinalgFailures, ArrayAPIChecks,
                         SettingsChecks):
    """Subclass with ``backend = "<name>"``; pytest then runs the kit on that backend."""

    backend: ClassVar[str] = ""
    reference: ClassVar[str] = "numpy"
    #: hypothesis examples per case (EMBER_CONFORMANCE_EXAMPLES overrides)
    max_examples: ClassVar[int] = 6

    # -- parametrisation -----------------------------------------------------------------------
    def pytest_generate_tests(self, metafunc: Any) -> None:
        names = metafunc.fixturenames
        if "run" in names:
            runs = _runs(self.backend, self.reference)
            metafunc.parametrize("run", runs, ids=[r.id for r in runs])
        if "error_case" in names:
            metafunc.parametrize("error_case", ERROR_CASES, ids=[e.id for e in ERROR_CASES])
        if "mismatch_case" in names:
            metafunc.parametrize("mismatch_case", MISMATCH_CASES, ids=[e.id for e in MISMATCH_CASES])
        if "random_case" in names:
            metafunc.parametrize("random_case", RANDOM_CASES, ids=[r.id for r in RANDOM_CASES])
        self._grad_params(metafunc)

    # -- helpers -------------------------------------------------------------------------------
    def _load(self) -> Backend:
        if not self.backend:
            pytest.fail(f"{type(self).__name__} must set `backend = '<name>'`")
        try:
            return ember.load_backend(self.backend)
        except Exception as exc:
            pytest.fail(f"backend {self.backend!r} failed to load: {type(exc).__name__}: {exc}",
                        pytrace=False)

    def _gate(self, op: str) -> Backend:
        """Load the backend; xfail a declared-unsupported op; skip an op ember lacks."""
        b = self._load()
        ember.load_backend(self.reference)
        status = b.status.get(op)
        if status is not None and status.status == UNSUPPORTED:
            pytest.xfail(f"{op} declared unsupported by {self.backend!r}: {status.note}")
        return b

    def _settings(self, n: int | None) -> settings:
        env = os.environ.get("EMBER_CONFORMANCE_EXAMPLES")
        return settings(max_examples=int(env) if env else (n or self.max_examples), deadline=None,
                        derandomize=True, database=None, print_blob=False,
                        suppress_health_check=list(HealthCheck))

    # -- the tests -----------------------------------------------------------------------------
    def test_catalogue_coverage(self) -> None:
        """Every op of the catalogue has at least one case in the kit."""
        missing = sorted({s.name for s in CATALOGUE} - covered_ops())
        assert not missing, f"ops without a conformance case: {missing}"

    def test_op(self, run: Run) -> None:
        case = run.case
        b = self._gate(case.op)
        if case.op.split(".")[0] in ("nn", "random") and resolve(case.op) is None \
                and case.op != "nn.conv":
            pytest.skip(f"ember-core does not define ember.{case.op} yet")
        unsupported: list[str] = []
        CONTEXT["backends"] = (self.backend, self.reference)

        @self._settings(case.examples)
        @given(data=st.data())
        def check(data: Any) -> None:
            self._check(run, data, b, unsupported)

        check()
        if unsupported:
            pytest.xfail(unsupported[0])

    def _check(self, run: Run, data: Any, b: Backend, unsupported: list[str]) -> None:
        case = run.case
        c = case.build(data, run.dtype)
        if run.bf16:
            c = Call(_round_bf16(c.args), _round_bf16(c.kwargs), c.fn)
        where = f"{case.op} [{run.id}] on {self.backend!r} vs {self.reference!r}"
        expected, ref_exc = invoke(c, case.op, self.reference)
        if ref_exc is not None:
            raise AssertionError(
                f"{where}: the reference raised on generated input (a kit bug or a reference "
                f"bug): {type(ref_exc).__name__}: {ref_exc}\n  inputs: {_summary(c.args)} "
                f"{_summary(c.kwargs)}") from ref_exc
        actual, exc = invoke(c, case.op, self.backend, run.bf16)
        if exc is not None:
            if isinstance(exc, ember.UnsupportedError):  # a declared gap (op or dtype)
                unsupported.append(f"{case.op}: {exc}")
                return
            raise AssertionError(
                f"{where}: raised {type(exc).__name__}: {exc}\n  inputs: {_summary(c.args)} "
                f"{_summary(c.kwargs)}") from exc
        expect = (lambda d: ember.bfloat16 if d is ember.float32 else d) if run.bf16 else None
        try:
            assert_results_match(actual, expected, factor=case.tol, expect_dtype=expect,
                                 values=case.values and case.check is None)
            if case.check is not None:
                case.check(actual, expected, c.args, case.tol)
        except AssertionError as err:
            raise AssertionError(f"{where}: {err}\n  inputs: {_summary(c.args)} "
                                 f"{_summary(c.kwargs)}") from None

    def test_error(self, error_case: ErrorCase) -> None:
        """Bad input raises the same ember exception type as on the reference, naming the op."""
        self._gate(error_case.op)
        ref = error_case.raised(self.reference)
        assert isinstance(ref, ember.EmberError), (
            f"kit bug: the reference gave {ref!r} for {error_case.id}, expected an ember error")
        got = error_case.raised(self.backend)
        assert got is not None, f"{error_case.id}: no error on {self.backend!r}; reference raised {ref!r}"
        assert type(got) is type(ref), (
            f"{error_case.id}: {type(got).__name__}({got}) on {self.backend!r}, but the reference "
            f"raises {type(ref).__name__}({ref})")
        assert error_case.names_op(got), f"{error_case.id}: message does not name the op: {got}"

    def test_mixed_backends(self, mismatch_case: ErrorCase) -> None:
        """Tensors of two backends in one op raise BackendMismatchError naming the op."""
        self._load()
        other = self.reference if self.reference != self.backend else None
        if other is None:
            for n in ember._plugins.installed_names():
                if n != self.backend:
                    try:
                        ember.load_backend(n)
                        other = n
                        break
                    except Exception:
                        continue
        if other is None:
            pytest.skip("needs a second loadable backend")
        got = mismatch_case.raised(self.backend, other)
        assert isinstance(got, ember.BackendMismatchError), (
            f"{mismatch_case.id}: expected BackendMismatchError, got {got!r}")
        assert mismatch_case.names_op(got), f"{mismatch_case.id}: message does not name the op: {got}"

    def test_random(self, random_case: RandomCase) -> None:
        """Same key -> same numbers, on this backend and the reference (known answers too);
        other keys -> other numbers; sane distribution."""
        self._gate(random_case.op)
        if resolve(random_case.op) is None:
            pytest.skip(f"ember-core does not define ember.{random_case.op} yet")
        random_case.run(self.backend, _dtypes_of(self._load()), self.reference)
