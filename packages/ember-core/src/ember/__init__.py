"""Ember: write tensors, gradients and models once; run them on NumPy, PyTorch, MLX or a plugin.

>>> import ember
>>> with ember.use_backend("numpy"):
...     x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
...     (x @ x).tolist()
[[7.0, 10.0], [15.0, 22.0]]

The op namespace follows the Python Array API standard (2023.12); ``ember.linalg`` and
``ember.fft`` are its extensions, ``ember.nn`` holds neural-network ops and ``ember.random``
explicit-key random numbers. ``ember info`` on the command line lists the backends.
"""

from __future__ import annotations

from . import _dtypes, autodiff, distributed, fft, linalg, nn, ops, random
from ._backend import (
    Backend,
    BackendHooks,
    Capabilities,
    NativeArrays,
    NativeDevices,
    get_backend,
    set_backend,
    use_backend,
)
from ._catalogue import CATALOGUE, OpSpec
from ._compile import CompileStats, CompileWarning, compile, compiling
from ._dtypes import (
    DType,
    bfloat16,
    bool,
    complex64,
    complex128,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
)
from ._errors import (
    ArgumentError,
    BackendError,
    BackendMismatchError,
    BackendNotFoundError,
    CopyError,
    DTypeError,
    EmberError,
    LinAlgError,
    OutOfBoundsError,
    OutOfMemoryError,
    ShapeError,
    TapeError,
    UnsupportedError,
)
from ._info import __array_namespace_info__
from ._memory_info import MemoryInfo, memory_info, reset_peak_memory, set_memory_limit
from ._plugins import BackendInfo, backends, load_backend
from ._settings import (
    Settings,
    get_default_device,
    get_default_dtype,
    get_matmul_precision,
    set_default_device,
    set_default_dtype,
    set_matmul_precision,
    settings,
)
from ._tensor import Tensor
from .autodiff import (
    GradientTape,
    Variable,
    grad,
    jvp,
    stop_gradient,
    use_tape_engine,
    value_and_grad,
    vjp,
    vmap,
)
from .ops._creation import *  # noqa: F403 - the op functions, one module per topic
from .ops._dtypes import *  # noqa: F403
from .ops._elementwise import *  # noqa: F403
from .ops._indexing import getitem, index_update, take, take_along_axis
from .ops._linalg import matmul, matrix_transpose, tensordot, vecdot
from .ops._manipulation import *  # noqa: F403
from .ops._searching import *  # noqa: F403
from .ops._sets import *  # noqa: F403
from .ops._sorting import *  # noqa: F403
from .ops._statistical import *  # noqa: F403
from .ops._utility import *  # noqa: F403

__version__ = "0.1.0"
__array_api_version__ = "2023.12"

e = 2.718281828459045
inf = float("inf")
nan = float("nan")
newaxis = None
pi = 3.141592653589793

__all__ = [
    "ArgumentError", "GradientTape", "TapeError", "Variable", "autodiff", "grad", "jvp",
    "stop_gradient", "use_tape_engine", "value_and_grad", "vjp", "vmap", "compile",
    "CompileStats", "CompileWarning", "compiling",
    "__array_api_version__", "__array_namespace_info__",
    "CATALOGUE", "Backend", "BackendError", "BackendHooks", "BackendInfo", "BackendMismatchError",
    "BackendNotFoundError", "Capabilities", "CopyError", "DType", "DTypeError", "EmberError",
    "LinAlgError", "NativeArrays", "NativeDevices", "OpSpec", "OutOfBoundsError", "OutOfMemoryError", "ShapeError", "Tensor",
    "UnsupportedError", "backends", "bfloat16", "bool",
    "complex64", "complex128", "distributed", "e", "fft", "float16", "float32", "float64",
    "get_backend", "inf", "int8", "int16", "int32", "int64", "linalg",
    "load_backend", "nan", "newaxis", "nn", "pi", "random", "set_backend", "uint8", "uint16",
    "uint32", "uint64", "use_backend",
    "getitem", "index_update", "matmul", "matrix_transpose", "take", "take_along_axis",
    "tensordot", "vecdot",
    "MemoryInfo", "Settings", "get_default_device", "get_default_dtype", "get_matmul_precision",
    "memory_info", "reset_peak_memory", "set_default_device", "set_default_dtype",
    "set_matmul_precision", "set_memory_limit", "settings",
]
__all__ += ops._creation.__all__
__all__ += ops._dtypes.__all__
__all__ += ops._elementwise.__all__
__all__ += ops._manipulation.__all__
__all__ += ops._searching.__all__
__all__ += ops._sets.__all__
__all__ += ops._sorting.__all__
__all__ += ops._statistical.__all__
__all__ += ops._utility.__all__
del _dtypes
