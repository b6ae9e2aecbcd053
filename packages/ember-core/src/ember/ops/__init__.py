"""The op layer: public functions, each a fast path to the backend's kernel."""

from __future__ import annotations

from . import _creation, _elementwise, _manipulation, _methods, _reductions, _searching
from ._creation import *  # noqa: F403
from ._elementwise import *  # noqa: F403
from ._indexing import index_update, take
from ._linalg import matmul, matrix_transpose, tensordot, vecdot
from ._manipulation import *  # noqa: F403
from ._reductions import *  # noqa: F403
from ._searching import *  # noqa: F403

_methods.bind()

__all__ = ["index_update", "matmul", "matrix_transpose", "take", "tensordot", "vecdot"]
__all__ += _creation.__all__
__all__ += _elementwise.__all__
__all__ += _manipulation.__all__
__all__ += _reductions.__all__
__all__ += _searching.__all__
