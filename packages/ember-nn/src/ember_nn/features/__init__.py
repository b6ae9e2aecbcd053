"""Feature extraction. Text: ``Tokenizer`` (byte-level BPE through the ``tokenizers`` library,
or a character vocabulary; saved beside a checkpoint), ``pad_batch``, ``pack_blocks`` (fixed
length blocks for language modelling) and ``detokenize``. Audio features as differentiable
ember ops on every backend: windows, framing and
overlap-add, STFT/iSTFT, power and magnitude spectrograms, decibels, mel filter banks, mel and
log-mel spectrograms, the DCT and MFCCs, band-limited resampling, audio file I/O (soundfile),
and module shells (``Spectrogram``, ``MelSpectrogram``, ``LogMel``, ``MFCC``, ``Resample``).

Every function takes batched signals ``(..., samples)`` and is written in ember ops
(``ember.fft.rfft``/``irfft``, matmul, slicing), so ``ember.GradientTape`` differentiates it on
NumPy, PyTorch and MLX. Each function's docstring names its reference (librosa or
torchaudio) and how to get the other's convention where they differ. MLX computes FFTs in
complex64 only: float64 signals raise ``ember.UnsupportedError`` there (cast to float32).
"""

from ._audio_io import read_audio as read_audio
from ._audio_io import write_audio as write_audio
from ._frames import PAD_MODES as PAD_MODES
from ._frames import frame as frame
from ._frames import overlap_add as overlap_add
from ._frames import pad as pad
from ._mel import MEL_SCALES as MEL_SCALES
from ._mel import hz_to_mel as hz_to_mel
from ._mel import log_mel_spectrogram as log_mel_spectrogram
from ._mel import mel_filterbank as mel_filterbank
from ._mel import mel_spectrogram as mel_spectrogram
from ._mel import mel_to_hz as mel_to_hz
from ._mfcc import dct as dct
from ._mfcc import mfcc as mfcc
from ._modules import MFCC as MFCC
from ._modules import LogMel as LogMel
from ._modules import MelSpectrogram as MelSpectrogram
from ._modules import Resample as Resample
from ._modules import Spectrogram as Spectrogram
from ._resample import resample as resample
from ._spectrogram import amplitude_to_db as amplitude_to_db
from ._spectrogram import power_to_db as power_to_db
from ._spectrogram import spectrogram as spectrogram
from ._stft import istft as istft
from ._stft import stft as stft
from ._text import SPECIAL_TOKENS as SPECIAL_TOKENS
from ._text import TOKENIZER_FILE as TOKENIZER_FILE
from ._text import Tokenizer as Tokenizer
from ._text_blocks import detokenize as detokenize
from ._text_blocks import pack_blocks as pack_blocks
from ._text_blocks import pad_batch as pad_batch
from ._windows import WINDOWS as WINDOWS
from ._windows import blackman_window as blackman_window
from ._windows import get_window as get_window
from ._windows import hamming_window as hamming_window
from ._windows import hann_window as hann_window

__all__ = ["MEL_SCALES", "MFCC", "PAD_MODES", "SPECIAL_TOKENS", "TOKENIZER_FILE", "WINDOWS",
           "Tokenizer", "detokenize", "pack_blocks", "pad_batch", "LogMel", "MelSpectrogram", "Resample",
           "Spectrogram", "amplitude_to_db", "blackman_window", "dct", "frame", "get_window",
           "hamming_window", "hann_window", "hz_to_mel", "istft", "log_mel_spectrogram",
           "mel_filterbank", "mel_spectrogram", "mel_to_hz", "mfcc", "overlap_add", "pad",
           "power_to_db", "read_audio", "resample", "spectrogram", "stft", "write_audio"]
