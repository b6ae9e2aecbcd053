"""Ember: write tensors, gradients and models once; run them on NumPy, PyTorch, MLX or a plugin."""

from __future__ import annotations

from . import _dtypes
from ._backend import Backend, Capabilities, get_backend, set_backend, use_backend
from ._catalogue import CATALOGUE
from ._dtypes import (
    DType,
    bfloat16,
    bool,
    can_cast,
    complex64,
    complex128,
    finfo,
    float16,
    float32,
    float64,
    iinfo,
    int8,
    int16,
    int32,
    int64,
    isdtype,
    uint8,
    uint16,
    uint32,
    uint64,
)
from ._errors import (
    BackendError,
    BackendMismatchError,
    BackendNotFoundError,
    DTypeError,
    EmberError,
    OutOfBoundsError,
    ShapeError,
    UnsupportedError,
)
from ._plugins import BackendInfo, backends, load_backend
from ._tensor import Tensor
from .ops import *  # noqa: F403
from .ops import __all__ as _ops_all
from .ops._creation import result_type
from . import fft, linalg, nn, random  # noqa: E402

e = 2.718281828459045
inf = float("inf")
nan = float("nan")
newaxis = None
pi = 3.141592653589793

__version__ = "0.1.0"
