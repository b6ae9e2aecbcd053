"""A device that does not exist here is the same ember error on every backend, raised where the
device is named (torch would otherwise fail later with a raw RuntimeError)."""

from __future__ import annotations

import ember
import pytest


def _absent(devices: list[str]) -> list[str]:
    """Device names that no backend has here (some depend on the machine)."""
    out = ["cuda:99", "gpu:1", "cpu:1", "tpu"]
    if not any(d.startswith("cuda") for d in devices):
        out += ["cuda", "cuda:0"]
    out += [d for d in ("gpu", "mps") if d not in devices]
    return out


_MAKERS = {
    "ones": lambda dev: ember.ones((2,), device=dev),
    "zeros_like": lambda dev: ember.zeros_like(ember.ones((2,)), device=dev),
    "full": lambda dev: ember.full((2,), 1.0, device=dev),
    "arange": lambda dev: ember.arange(3, device=dev),
    "eye": lambda dev: ember.eye(2, device=dev),
    "asarray": lambda dev: ember.asarray([1.0], device=dev),
    "to": lambda dev: ember.ones((2,)).to(device=dev),
    "to_device": lambda dev: ember.ones((2,)).to_device(dev),
    "random.normal": lambda dev: ember.random.normal(ember.random.key(0), (2,), device=dev),
}


@pytest.mark.parametrize("maker", list(_MAKERS))
def test_missing_device_is_the_same_error_everywhere(backend: str, maker: str) -> None:
    devices = ember.load_backend(backend).devices.names()
    for dev in _absent(devices):
        with pytest.raises(ember.UnsupportedError) as err:
            _MAKERS[maker](dev)
        assert str(err.value) == (
            f"backend {backend!r} has no device {dev!r}; its devices: {', '.join(devices)}")


def test_existing_devices_work(backend: str) -> None:
    for dev in ember.load_backend(backend).devices.names():
        assert ember.ones((2,), device=dev).tolist() == [1.0, 1.0]
    assert ember.ones((2,), device="cpu:0").device == "cpu"
