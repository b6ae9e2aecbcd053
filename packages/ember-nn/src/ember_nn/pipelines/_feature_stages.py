"""The audio feature modules of ``ember_nn.features`` as stage kinds, so that a ``[pipeline]``
table can compute features from raw samples (``kind = "log_mel"``, ...). Each stage holds the
module and its config is the module's constructor arguments::

    [[pipeline.stages]]
    name = "features"
    kind = "log_mel"
    sample_rate = 8000
    n_fft = 256
    hop_length = 128
    n_mels = 32
    channels_last = true
"""

from __future__ import annotations

import inspect
from typing import Any

from .._core._errors import ConfigError
from .._core._module import Module
from ..features._modules import MFCC, LogMel, MelSpectrogram, Resample, Spectrogram
from ._stages import Stage, register_stage

__all__ = ["FeatureStage", "LogMelStage", "MFCCStage", "MelSpectrogramStage", "ResampleStage",
           "SpectrogramStage"]


class FeatureStage(Stage):
    """A stage that runs a feature module (built from the stage's arguments) on its input.
    Subclasses name the module class in ``module``."""

    module: type[Module]
    batched = True  # the modules compute over the last axis, batch axes in front

    def __init__(self, **kwargs: Any) -> None:
        try:
            self.features = self.module(**kwargs)
        except (TypeError, ConfigError) as e:
            params = list(inspect.signature(self.module.__init__).parameters)[1:]
            raise ConfigError(f"kind {self.kind!r} ({self.module.__name__}): {e}; its arguments "
                              f"are {params}") from None

    def __call__(self, x: Any) -> Any:
        return self.features(x)

    def get_config(self) -> dict[str, Any]:
        """The module's arguments that differ from their defaults (a compact table)."""
        params = inspect.signature(self.module.__init__).parameters
        return {k: v for k, v in self.features.get_config().items()
                if k not in params or params[k].default is inspect.Parameter.empty
                or params[k].default != v}


@register_stage("spectrogram")
class SpectrogramStage(FeatureStage):
    """``ember_nn.features.Spectrogram`` as the stage kind ``"spectrogram"`` (the module's arguments)."""

    module = Spectrogram


@register_stage("mel_spectrogram")
class MelSpectrogramStage(FeatureStage):
    """``ember_nn.features.MelSpectrogram`` as the stage kind ``"mel_spectrogram"`` (the module's arguments)."""

    module = MelSpectrogram


@register_stage("log_mel")
class LogMelStage(FeatureStage):
    """``ember_nn.features.LogMel`` as the stage kind ``"log_mel"`` (the module's arguments)."""

    module = LogMel


@register_stage("mfcc")
class MFCCStage(FeatureStage):
    """``ember_nn.features.MFCC`` as the stage kind ``"mfcc"`` (the module's arguments)."""

    module = MFCC


@register_stage("resample")
class ResampleStage(FeatureStage):
    """``ember_nn.features.Resample`` as the stage kind ``"resample"`` (the module's arguments)."""

    module = Resample
