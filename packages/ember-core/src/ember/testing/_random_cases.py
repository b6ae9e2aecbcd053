"""Random ops: the same numbers for the same key on every backend.

Each case draws with key 0 (twice) and key 1 on the backend under test and checks: the same
key repeats, another key differs, the samples have the right dtype, shape, range and
distribution, the first values equal the recorded known answers (``_random_known``), and the
whole draw equals the reference backend's (NumPy) draw: bit for bit where ember promises it,
within ``ulps`` units of ``eps`` (times max(1, |x|)) where the draw goes through ``erfinv``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import ember

from ._random_known import KNOWN, kat_draw, kat_vector_check, stream_check

__all__ = ["RANDOM_CASES", "RandomCase"]

E = ember
N = 10_000


@dataclass(frozen=True)
class RandomCase:
    op: str
    variant: str
    draw: Callable[[Any, str, Any], Any]  # (key, backend, dtype) -> Tensor
    dtype: Any = None  # requested dtype (skipped if the backend lacks it)
    result_dtype: Any = None  # expected result dtype (default: dtype)
    shape: tuple[int, ...] = (N,)
    lo: float | None = None  # all samples >= lo
    hi: float | None = None  # all samples < hi (<= when closed)
    closed: bool = False
    mean: float | None = None
    std: float | None = None
    tol: float = 0.05  # absolute bound on |mean - expected| and |std - expected|
    check: Callable[[np.ndarray], None] | None = None
    ulps: float = 0.0  # 0: equal to the reference and known answers bit for bit
    mismatch: float = 0.0  # fraction of elements allowed to differ from the reference
    keyed: bool = True  # False: the draw ignores the key (known-answer tests of Philox)

    @property
    def id(self) -> str:
        d = self.dtype.name if self.dtype is not None else ""
        return "-".join(p for p in (self.op, d, self.variant) if p)

    def _sample(self, seed: int, name: str) -> tuple[Any, np.ndarray]:
        with E.use_backend(name):
            out = self.draw(E.random.key(seed), name, self.dtype)
        t = out if out.dtype is not E.bfloat16 else E.astype(out, E.float32)
        return out, np.asarray(t.numpy())

    def run(self, name: str, dtypes: Any, reference: str | None = None) -> None:
        import pytest

        if self.dtype is not None and self.dtype not in dtypes:
            pytest.skip(f"backend {name!r} has no {self.dtype}")
        t1, a = self._sample(0, name)
        _, b = self._sample(0, name)
        where = f"{self.id} on {name!r}"
        want = self.result_dtype or self.dtype
        if want is not None:
            assert t1.dtype is want, f"{where}: dtype {t1.dtype}, expected {want}"
        assert a.shape == self.shape, f"{where}: shape {a.shape}, expected {self.shape}"
        assert np.array_equal(a, b, equal_nan=True), f"{where}: the same key gave different samples"
        if self.keyed and a.size > 8:
            _, c = self._sample(1, name)
            assert not np.array_equal(a, c), f"{where}: keys 0 and 1 gave the same samples"
        self._distribution(a, where)
        if self.check is not None:
            self.check(a)
        known = KNOWN.get(self.id)
        if known is not None:
            got = a.ravel()[:len(known)]
            assert self._agree(got, np.asarray(known), 0.0), (
                f"{where}: first values {got.tolist()}, the known answers are {list(known)} "
                f"(the same for every backend{'' if not self.ulps else f', to {self.ulps} ulps'})")
        if reference is not None and reference != name:
            self._against(a, reference, where)

    def _distribution(self, a: np.ndarray, where: str) -> None:
        x = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
        assert np.isfinite(x).all(), f"{where}: non-finite samples"
        x = x.real
        if self.lo is not None:
            assert x.min() >= self.lo, f"{where}: sample {x.min()} below {self.lo}"
        if self.hi is not None:
            top = x.max()
            assert top <= self.hi if self.closed else top < self.hi, (
                f"{where}: sample {top} above {'' if self.closed else 'or at '}{self.hi}")
        if self.mean is not None:
            assert abs(x.mean() - self.mean) < self.tol, (
                f"{where}: mean {x.mean():.4f}, expected {self.mean} +- {self.tol}")
        if self.std is not None:
            assert abs(x.std() - self.std) < self.tol, (
                f"{where}: std {x.std():.4f}, expected {self.std} +- {self.tol}")

    def _agree(self, got: np.ndarray, want: np.ndarray, allowed: float) -> bool:
        if got.shape != want.shape:
            return False
        if not self.ulps:
            same = got == want
        else:
            eps = float(E.finfo(self.dtype).eps) if self.dtype is not None else 0.0
            scale = np.maximum(1.0, np.abs(want.astype(np.complex128)))
            same = np.abs(got.astype(np.complex128) - want) <= self.ulps * eps * scale
        return bool(same.all()) if not allowed else float(1.0 - same.mean()) <= allowed

    def _against(self, a: np.ndarray, reference: str, where: str) -> None:
        """The reference backend's draw for the same key (when it has the dtype)."""
        ref_b = E.load_backend(reference)
        if self.dtype is not None and self.dtype not in ref_b.to_native_dtype:
            return  # NumPy has no bfloat16: the known answers pin those draws
        _, r = self._sample(0, reference)
        if not self._agree(a, r, self.mismatch):
            diff = np.flatnonzero(a.ravel() != r.ravel())
            i = int(diff[0]) if diff.size else 0
            raise AssertionError(
                f"{where}: differs from {reference!r} for the same key at {diff.size} of {a.size} "
                f"elements (first at flat index {i}: {a.ravel()[i]!r} vs {r.ravel()[i]!r}); "
                + ("ember promises the same bits on every backend" if not self.ulps else
                   f"allowed: {self.ulps} ulps" + (f", {self.mismatch:.2%} mismatches"
                                                   if self.mismatch else "")))


RANDOM_CASES: list[RandomCase] = []


def rc(op: str, variant: str, draw: Callable[..., Any], **kw: Any) -> None:
    RANDOM_CASES.append(RandomCase(op, variant, draw, **kw))


def _composite(k: Any, n: int, backend: str) -> Any:
    """The words of ember-core's generator in ember ops, past any ``random_bits`` kernel."""
    from ember.ops._random._philox import composite_words

    return composite_words(k.value, n, E.load_backend(backend), None)


_TN_STD = 0.8796  # std of the standard normal truncated to [-2, 2]
_UNIFORM_STD = (1 / 12) ** 0.5
_ULPS = 8.0  # erfinv differs by a few ulps between backends (float16: the float32 result rounded)

rc("random.bits", "words", lambda k, b, d: E.random.bits(k, (N,), backend=b),
   result_dtype=E.uint32, lo=0, hi=2**32, mean=2**31, tol=2**31 * 0.02,
   check=stream_check)
rc("random.bits", "random123", kat_draw, result_dtype=E.int64, shape=(3, 4), keyed=False,
   check=kat_vector_check)
rc("random.bits", "composite", lambda k, b, d: _composite(k, N, b),
   result_dtype=E.int64, lo=0, hi=2**32, check=stream_check)
# more words than one pass of the generator takes on a CPU (2**15 blocks), an odd count
rc("random.bits", "chunks", lambda k, b, d: E.random.bits(k, (4 * 2**15 + 13,), backend=b),
   result_dtype=E.uint32, shape=(4 * 2**15 + 13,), check=stream_check)
rc("random.bits", "composite-chunks", lambda k, b, d: _composite(k, 4 * 2**15 + 13, b),
   result_dtype=E.int64, shape=(4 * 2**15 + 13,), check=stream_check)
rc("random.bits", "key-zero", lambda k, b, d: E.random.bits(E.random.Key(0), (4,), backend=b),
   result_dtype=E.uint32, shape=(4,), keyed=False)
for _d in (E.float16, E.bfloat16, E.float32, E.float64):
    _t = 0.05 if _d.bits > 16 else 0.08
    rc("random.uniform", "unit", lambda k, b, d: E.random.uniform(k, (N,), d, backend=b),
       dtype=_d, lo=0.0, hi=1.0, mean=0.5, std=_UNIFORM_STD, tol=_t)
    rc("random.normal", "standard", lambda k, b, d: E.random.normal(k, (N,), d, backend=b),
       dtype=_d, mean=0.0, std=1.0, tol=_t, ulps=_ULPS)
    rc("random.truncated_normal", "pm2",
       lambda k, b, d: E.random.truncated_normal(k, -2.0, 2.0, (N,), d, backend=b),
       dtype=_d, lo=-2.0, hi=2.0, closed=True, mean=0.0, std=_TN_STD, tol=_t, ulps=_ULPS)
rc("random.uniform", "low-high",
   lambda k, b, d: E.random.uniform(k, (N,), d, low=-3.0, high=5.0, backend=b),
   dtype=E.float32, lo=-3.0, hi=5.0, mean=1.0, std=8 * _UNIFORM_STD, tol=0.2)
rc("random.uniform", "complex", lambda k, b, d: E.random.uniform(k, (N,), d, backend=b),
   dtype=E.complex128, lo=0.0, hi=1.0, mean=0.5, std=_UNIFORM_STD,
   check=lambda a: np.testing.assert_allclose(a.imag.mean(), 0.5, atol=0.02))
rc("random.normal", "loc-scale",
   lambda k, b, d: E.random.normal(k, (100, 100), d, loc=2.0, scale=3.0, backend=b),
   dtype=E.float32, shape=(100, 100), mean=2.0, std=3.0, tol=0.15, ulps=_ULPS)
rc("random.normal", "complex", lambda k, b, d: E.random.normal(k, (N,), d, backend=b),
   dtype=E.complex64, mean=0.0, std=0.5**0.5, ulps=_ULPS,
   check=lambda a: np.testing.assert_allclose(np.mean(np.abs(a) ** 2), 1.0, atol=0.05))
rc("random.truncated_normal", "one-sided",
   lambda k, b, d: E.random.truncated_normal(k, 0.0, 3.0, (N,), d, backend=b),
   dtype=E.float32, lo=0.0, hi=3.0, closed=True, mean=0.7911, tol=0.05, ulps=_ULPS)
for _d in (E.int8, E.uint8, E.int32, E.int64):
    rc("random.randint", "range", lambda k, b, d: E.random.randint(k, (N,), -5 if d.kind == "i" else 0, 11, d, backend=b),
       dtype=_d, lo=-5 if _d.kind == "i" else 0, hi=11, mean=2.5 if _d.kind == "i" else 5.0, tol=0.2)
rc("random.randint", "wide", lambda k, b, d: E.random.randint(k, (N,), -2**40, 2**40, d, backend=b),
   dtype=E.int64, lo=-2**40, hi=2**40, mean=0.0, tol=2**40 * 0.05)
rc("random.randint", "full", lambda k, b, d: E.random.randint(k, (N,), -2**63, 2**63, d, backend=b),
   dtype=E.int64, mean=0.0, tol=2**63 * 0.05)
rc("random.randint", "full", lambda k, b, d: E.random.randint(k, (N,), 0, 2**64, d, backend=b),
   dtype=E.uint64, mean=2**63, tol=2**63 * 0.05)


def _all_values(n: int) -> Callable[[np.ndarray], None]:
    def check(a: np.ndarray) -> None:
        assert set(np.unique(a).tolist()) == set(range(n)), f"not every value in [0, {n}) drawn"

    return check


rc("random.randint", "all-values", lambda k, b, d: E.random.randint(k, (N,), 0, 16, d, backend=b),
   dtype=E.int16, lo=0, hi=16, check=_all_values(16))
rc("random.bernoulli", "p", lambda k, b, d: E.random.bernoulli(k, 0.3, (N,), backend=b),
   result_dtype=E.bool, mean=0.3, tol=0.03)
rc("random.bernoulli", "tensor-p",
   lambda k, b, d: E.random.bernoulli(k, E.asarray(np.full((N,), 0.8, np.float32), backend=b)),
   result_dtype=E.bool, mean=0.8, tol=0.03)


def _cat_check(a: np.ndarray) -> None:
    freq = np.bincount(a, minlength=3) / a.size
    want = np.array([0.1, 0.3, 0.6])
    assert np.abs(freq - want).max() < 0.03, f"class frequencies {freq}, expected {want}"


# categorical goes through log: backends may differ on near-ties (documented), so a few
# mismatches in 10,000 draws are allowed
rc("random.categorical", "logits",
   lambda k, b, d: E.random.categorical(k, E.asarray(np.log(np.tile([0.1, 0.3, 0.6], (N, 1))).astype(np.float32), backend=b)),
   result_dtype=E.int64, lo=0, hi=3, check=_cat_check, mismatch=1e-3)
rc("random.categorical", "batch-shape",
   lambda k, b, d: E.random.categorical(k, E.asarray(np.log([0.1, 0.3, 0.6]).astype(np.float32), backend=b), shape=(N,)),
   result_dtype=E.int64, lo=0, hi=3, check=_cat_check, mismatch=1e-3)


def _perm_check(n: int) -> Callable[[np.ndarray], None]:
    def check(a: np.ndarray) -> None:
        assert np.array_equal(np.sort(a, axis=0), np.arange(n)[:, None] * np.ones_like(a[:1]) if a.ndim > 1
                              else np.arange(n)), "not a permutation"

    return check


rc("random.permutation", "int", lambda k, b, d: E.random.permutation(k, E.arange(N, backend=b)),
   result_dtype=E.int64, lo=0, hi=N, mean=(N - 1) / 2, tol=1.0, check=_perm_check(N))
rc("random.permutation", "n", lambda k, b, d: E.random.permutation(k, N),
   result_dtype=E.int64, lo=0, hi=N, check=_perm_check(N))
rc("random.permutation", "rows",
   lambda k, b, d: E.random.permutation(k, E.broadcast_to(E.reshape(E.arange(N, backend=b), (N, 1)), (N, 2))),
   result_dtype=E.int64, shape=(N, 2), lo=0, hi=N, check=_perm_check(N))


def _dropout_check(rate: float) -> Callable[[np.ndarray], None]:
    def check(a: np.ndarray) -> None:
        kept = a != 0
        assert abs(kept.mean() - (1 - rate)) < 0.03, f"kept fraction {kept.mean()}, expected {1 - rate}"
        assert np.allclose(a[kept], 2.0 / (1 - rate), rtol=1e-2), "kept values are not x / (1 - rate)"

    return check


rc("nn.dropout", "rate",
   lambda k, b, d: E.nn.dropout(E.asarray(np.full((N,), 2.0, np.float32), backend=b), 0.25, k),
   result_dtype=E.float32, lo=0.0, check=_dropout_check(0.25))
