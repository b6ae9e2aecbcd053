"""The op layer: public functions, each a fast path to the backend's kernel.

One private module per topic of the catalogue (``_<topic>.py``; ``_random/`` is a package),
holding exactly that topic's public functions; ``docs/architecture.md`` has the map. The
top-level ``ember`` namespace re-exports the topics below; ``ember.linalg``, ``ember.fft``,
``ember.nn`` and ``ember.random`` re-export the others.
"""

from __future__ import annotations

from . import (
    _creation,
    _dtypes,
    _elementwise,
    _manipulation,
    _methods,
    _searching,
    _sets,
    _sorting,
    _statistical,
    _utility,
)
from ._autodiff import stop_gradient
from ._creation import *  # noqa: F403
from ._dtypes import *  # noqa: F403
from ._elementwise import *  # noqa: F403
from ._indexing import getitem, index_update, take, take_along_axis
from ._linalg import matmul, matrix_transpose, tensordot, vecdot
from ._manipulation import *  # noqa: F403
from ._searching import *  # noqa: F403
from ._sets import *  # noqa: F403
from ._sorting import *  # noqa: F403
from ._statistical import *  # noqa: F403
from ._utility import *  # noqa: F403

_methods.bind()

__all__ = ["getitem", "index_update", "matmul", "matrix_transpose", "stop_gradient", "take",
           "take_along_axis", "tensordot", "vecdot"]
__all__ += _creation.__all__
__all__ += _dtypes.__all__
__all__ += _elementwise.__all__
__all__ += _manipulation.__all__
__all__ += _searching.__all__
__all__ += _sets.__all__
__all__ += _sorting.__all__
__all__ += _statistical.__all__
__all__ += _utility.__all__
