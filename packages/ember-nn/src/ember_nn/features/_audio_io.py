"""Reading and writing audio files with ``soundfile`` (libsndfile: WAV, FLAC, OGG, MP3 ...),
imported on first use: ``pip install ember-nn[audio]`` installs it."""

from __future__ import annotations

import os
from typing import Any

import ember

from .._core._errors import ConfigError
from ._support import positive_int

__all__ = ["read_audio", "write_audio"]


def _soundfile(fn: str) -> Any:
    try:
        import soundfile
    except ImportError as e:
        raise ConfigError(f"{fn} needs the soundfile package ({e}); install it with "
                          f"`pip install ember-nn[audio]`") from None
    except OSError as e:  # soundfile installed, its libsndfile missing
        raise ConfigError(f"{fn}: soundfile could not load libsndfile ({e}); reinstall it "
                          f"with `pip install --force-reinstall ember-nn[audio]`") from None
    return soundfile


def read_audio(path: str | os.PathLike[str], *, always_2d: bool = False, backend: Any = None,
               device: str | None = None) -> tuple[ember.Tensor, int]:
    """An audio file as ``(samples, sample_rate)``: float32 samples in [-1, 1], shaped
    ``(samples,)`` for a mono file and ``(channels, samples)`` otherwise (always the latter
    with ``always_2d=True``, as ``torchaudio.load``), on ``backend``/``device``.

    Raises FileNotFoundError for a missing file, ConfigError when soundfile is not installed
    (``pip install ember-nn[audio]``) or cannot decode the file (naming it).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> ember_nn.features.write_audio(path, ember.zeros((2, 800)), 8000)
    >>> x, sr = ember_nn.features.read_audio(path)
    >>> x.shape, x.dtype, sr
    ((2, 800), ember.float32, 8000)
    """
    sf = _soundfile("read_audio")
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise FileNotFoundError(f"read_audio: no audio file at {name!r}")
    try:
        data, rate = sf.read(name, dtype="float32", always_2d=True)
    except Exception as e:  # soundfile.LibsndfileError, RuntimeError, ...
        raise ConfigError(f"read_audio: soundfile cannot decode {name!r}: {e}") from None
    frames, channels = data.shape
    if channels == 1 and not always_2d:
        return ember.frombuffer(data.tobytes(), ember.float32, (frames,), backend=backend,
                                device=device), int(rate)
    return ember.frombuffer(data.T.tobytes(), ember.float32, (channels, frames),
                            backend=backend, device=device), int(rate)


def write_audio(path: str | os.PathLike[str], samples: Any, sample_rate: int, *,
                subtype: str | None = None) -> None:
    """Write ``samples`` (``(samples,)`` mono or ``(channels, samples)``, floats in [-1, 1])
    to ``path`` at ``sample_rate``; the format follows the file's extension (``.wav``,
    ``.flac``, ``.ogg`` ...), ``subtype`` as soundfile's (default: 16-bit PCM for WAV/FLAC).

    Raises ShapeError for other shapes, ConfigError when soundfile is missing or refuses the
    format. Example: see ``read_audio``.
    """
    sf = _soundfile("write_audio")
    positive_int("write_audio", "sample_rate", sample_rate)
    x = samples if isinstance(samples, ember.Tensor) else ember.asarray(samples)
    if x.ndim not in (1, 2):
        raise ember.ShapeError(f"write_audio: samples must be (samples,) or (channels, "
                               f"samples), got shape {x.shape}")
    if x.dtype.is_complex or not (x.dtype.is_floating or x.dtype in (ember.int16, ember.int32)):
        raise ember.DTypeError(f"write_audio: samples must be real floats (or int16/int32 "
                               f"PCM), got {x.dtype}")
    if x.dtype in (ember.float16, ember.bfloat16):
        x = x.astype(ember.float32)
    data = x.numpy()
    try:
        sf.write(os.fspath(path), data.T if x.ndim == 2 else data, int(sample_rate),
                 subtype=subtype)
    except Exception as e:
        raise ConfigError(f"write_audio: soundfile cannot write {os.fspath(path)!r}: {e}"
                          ) from None
