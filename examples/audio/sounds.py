"""Six kinds of synthetic sound, as log-mel spectrograms: the data of ``sounds.toml``.

Nothing is downloaded: every clip is drawn from a fixed seed with NumPy (so every backend
trains and tests on the same waveforms), then turned into log-mel features by
``ember_nn.features.log_mel_spectrogram`` on the current backend. A clip is ``DURATION``
seconds at ``SAMPLE_RATE`` Hz of one of

    0 tone        a steady sine at a random pitch
    1 up-chirp    a sine sweeping up (exponentially) over an octave or two
    2 down-chirp  the same, sweeping down
    3 chord       two sines at once, a random musical interval apart
    4 two beeps   two short tones one after the other, at different pitches
    5 noise      a burst of white noise, low- or high-passed at a random corner

each with a random level, onset and length (within the clip), a short fade in and out, and
background noise at a random signal-to-noise ratio. The features are ``(clips, frames,
N_MELS)``: ``1 + SAMPLES // HOP`` frames of ``N_MELS`` log-mel bands in dB relative to the
clip's loudest band (``ref="max"``, floored 60 dB below it), the layout a recurrent layer
reads (time first): ``librosa.power_to_db(librosa.feature.melspectrogram(...), ref=np.max,
top_db=60)``, transposed.
"""

from __future__ import annotations

import ember
import numpy as np
from ember_nn.features import log_mel_spectrogram

CLASSES = ("tone", "up-chirp", "down-chirp", "chord", "two beeps", "noise")
CLIPS_PER_CLASS = 300       # 1800 clips (the config's test_size splits them)
SAMPLE_RATE = 8000          # Hz
DURATION = 0.5              # seconds: 4000 samples a clip
N_FFT, HOP, N_MELS = 256, 128, 32   # 32 ms windows every 16 ms: 32 frames of 32 bands
PITCH = (150.0, 2500.0)     # Hz, drawn log-uniformly
SNR_DB = (5.0, 30.0)        # background noise, drawn uniformly
SEED = 0
SAMPLES = int(SAMPLE_RATE * DURATION)


def _envelope(rng: np.random.Generator, n: int, start: int, length: int) -> np.ndarray:
    """1 between ``start`` and ``start + length`` with 5 ms raised-cosine fades, else 0."""
    env = np.zeros(n)
    env[start:start + length] = 1.0
    fade = min(int(0.005 * SAMPLE_RATE), length // 2)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade))
    env[start:start + fade] *= ramp
    env[start + length - fade:start + length] *= ramp[::-1]
    return env


def _sine(freq: np.ndarray | float, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A sine of (instantaneous) frequency ``freq`` at times ``t``, random phase."""
    phase = 2 * np.pi * np.cumsum(np.broadcast_to(freq, t.shape)) / SAMPLE_RATE
    return np.sin(phase + rng.uniform(0, 2 * np.pi))


def _pitch(rng: np.random.Generator, low: float = PITCH[0], high: float = PITCH[1]) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def clip(kind: int, rng: np.random.Generator) -> np.ndarray:
    """One clip of class ``kind`` (an index into ``CLASSES``), ``SAMPLES`` float32 values."""
    n = SAMPLES
    t = np.arange(n) / SAMPLE_RATE
    length = int(rng.uniform(0.6, 0.9) * n)
    start = int(rng.integers(0, n - length + 1))
    if kind == 0:
        sound = _sine(_pitch(rng), t, rng)
    elif kind in (1, 2):
        octaves = rng.uniform(1.0, 2.0)
        low = _pitch(rng, PITCH[0], PITCH[1] / 2**octaves)
        ramp = np.clip((t - start / SAMPLE_RATE) / (length / SAMPLE_RATE), 0.0, 1.0)
        ramp = ramp if kind == 1 else 1.0 - ramp
        sound = _sine(low * 2 ** (octaves * ramp), t, rng)
    elif kind == 3:
        f = _pitch(rng, PITCH[0], PITCH[1] / 1.6)
        interval = 2 ** (rng.choice([3, 4, 5, 7, 8]) / 12)  # minor third ... minor sixth
        sound = 0.5 * (_sine(f, t, rng) + _sine(f * interval, t, rng))
    elif kind == 4:
        f1 = _pitch(rng)
        f2 = f1 * 2 ** (rng.choice([-1, 1]) * rng.uniform(0.3, 1.0))
        half = length // 2
        gap = int(rng.uniform(0.02, 0.06) * SAMPLE_RATE)
        a = _envelope(rng, n, start, half - gap // 2)
        b = _envelope(rng, n, start + half + gap // 2, length - half - gap // 2)
        sound = a * _sine(f1, t, rng) + b * _sine(f2, t, rng)
    elif kind == 5:
        white = rng.normal(0.0, 1.0, n)
        spectrum = np.fft.rfft(white)
        freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
        corner = _pitch(rng, 300.0, 2500.0)
        keep = freqs <= corner if rng.random() < 0.5 else freqs >= corner
        sound = np.fft.irfft(spectrum * keep, n)
        sound /= np.std(sound) * np.sqrt(2)  # the level of a unit sine
    else:
        raise ValueError(f"kind must be in 0..{len(CLASSES) - 1}, got {kind}")
    if kind != 4:
        sound = sound * _envelope(rng, n, start, length)
    level = 10 ** (rng.uniform(-20.0, 0.0) / 20)  # -20 dB ... 0 dB
    snr = 10 ** (rng.uniform(*SNR_DB) / 20)
    noise = rng.normal(0.0, level / (snr * np.sqrt(2)), n)  # relative to a unit sine's RMS
    return (level * sound + noise).astype(np.float32)


def waveforms(clips_per_class: int = CLIPS_PER_CLASS, seed: int = SEED
              ) -> tuple[np.ndarray, np.ndarray]:
    """``(waves, labels)``: ``(6 * clips_per_class, SAMPLES)`` float32 and int64, classes
    interleaved (0, 1, ..., 5, 0, 1, ...)."""
    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(len(CLASSES)), clips_per_class)
    return np.stack([clip(int(k), rng) for k in labels]), labels.astype(np.int64)


def features(waves: object) -> ember.Tensor:
    """Log-mel features ``(clips, frames, N_MELS)`` in dB of ``waves`` ``(clips, samples)``,
    on the current backend."""
    db = log_mel_spectrogram(ember.asarray(waves), SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP,
                             n_mels=N_MELS, ref="max", top_db=60.0)   # (clips, N_MELS, frames)
    return ember.permute_dims(db, (0, 2, 1))


def load(clips_per_class: int = CLIPS_PER_CLASS, seed: int = SEED
         ) -> tuple[ember.Tensor, ember.Tensor]:
    """``(features, labels)``: ``(6 * clips_per_class, 32, 32)`` log-mel dB and the classes."""
    waves, labels = waveforms(clips_per_class, seed)
    return features(waves), ember.asarray(labels)


def load_waveforms(clips_per_class: int = CLIPS_PER_CLASS, seed: int = SEED
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``(waves, labels)`` for ``sounds.toml``, whose ``[pipeline]`` computes the same
    log-mel features as :func:`features` from each raw clip (so a served or ``ember
    predict``-ed model takes raw audio)."""
    return waveforms(clips_per_class, seed)
