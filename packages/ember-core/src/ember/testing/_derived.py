"""A backend that reuses another one's kernels under a new name (for tests of plugins,
discovery and ember-core's composite ops)."""

from __future__ import annotations

import ember
from ember._catalogue import CATALOGUE


def derived_backend(base: str, name: str, *, fused: bool = True) -> ember.Backend:
    """``base``'s kernels as a new backend called ``name``.

    With ``fused=False`` only the primitive kernels are taken, so every composite op runs
    ember-core's own implementation (the official backends fuse several of them).
    """
    b = ember.load_backend(base)
    table = b.kernels._asdict()
    kernels = {s.kernel_name: table[s.kernel_name] for s in CATALOGUE
               if s.kernel != "-" and table[s.kernel_name] is not None
               and (s.primitive or fused)}
    return ember.Backend(name=name, version=b.version, kernels=kernels, arrays=b.arrays,
                         devices=b.devices, capabilities=b.capabilities)
