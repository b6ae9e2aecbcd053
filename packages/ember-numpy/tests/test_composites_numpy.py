"""ember-core's composite ops, checked by the conformance kit without any fused kernel.

Every official backend replaces some composites (softmax, log_softmax, logsumexp, sigmoid,
layer_norm, attention, ...) with fused kernels, so the kit would never run ember-core's own
versions. Here a backend named "numpy-composite" is built from NumPy's primitive kernels only,
registered in-process, and the whole kit runs on it: each composite goes through ember-core.
"""

from __future__ import annotations

import sys
import types

import ember
from ember import _plugins
from ember.hookspecs import hookimpl
from ember.testing import BackendConformance, derived_backend


def _create() -> ember.Backend:
    return derived_backend("numpy", "numpy-composite", fused=False)


_module = types.ModuleType("ember_numpy_composite")
_module.create = _create  # type: ignore[attr-defined]
sys.modules["ember_numpy_composite"] = _module


class _Plugin:
    @staticmethod
    @hookimpl
    def ember_register_backends(register):  # type: ignore[no-untyped-def]
        register("numpy-composite", "ember_numpy_composite:create")


if "numpy-composite" not in _plugins.installed_names():
    _plugins.register_plugin(_Plugin, name="numpy-composite")


def test_no_op_is_fused_on_this_backend() -> None:
    b = ember.load_backend("numpy-composite")
    assert all(getattr(b.kernels, s.kernel_name) is None
               for s in ember.CATALOGUE if not s.primitive and s.kernel != "-")
    assert {s.name for s in ember.CATALOGUE if not s.primitive} <= {
        n for n, st in b.status.items() if st.status == "composite"}


class TestCompositesOnNumpyPrimitives(BackendConformance):
    backend = "numpy-composite"
