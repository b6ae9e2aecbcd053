"""The op layer: public functions, each a fast path to the backend's kernel."""

from __future__ import annotations

from . import _methods
from ._creation import *  # noqa: F403
from ._creation import __all__ as _c
from ._elementwise import *  # noqa: F403
from ._elementwise import __all__ as _e
from ._indexing import index_update, take
from ._linalg import matmul, matrix_transpose, tensordot, vecdot
from ._manipulation import *  # noqa: F403
from ._manipulation import __all__ as _m
from ._reductions import *  # noqa: F403
from ._reductions import __all__ as _r
from ._searching import *  # noqa: F403
from ._searching import __all__ as _s

_methods.bind()

__all__ = [*_c, *_e, *_m, *_r, *_s, "index_update", "take", "matmul", "matrix_transpose",
           "tensordot", "vecdot"]
