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
    kernels = {s.kernel_name: getattr(b, s.kernel_name) for s in CATALOGUE
               if s.primitive or (fused and s.name in b.fused)}
    return ember.Backend(
        name=name, version=b.version, kernels=kernels, native_types=b.native_types,
        dtypes=b.to_native_dtype, capabilities=b.capabilities, devices=b.devices,
        default_device=b.default_device, device_of=b.device_of, to_device=b.native_device,
        to_numpy=b.to_numpy,
    )
