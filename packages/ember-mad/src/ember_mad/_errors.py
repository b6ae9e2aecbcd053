"""ember-mad's exception type."""

from __future__ import annotations

import ember

__all__ = ["MADError"]


class MADError(ember.ArgumentError):
    """An unknown MAD task or parameter, or a value the task cannot be generated with. The
    message names the value and the range allowed. An :class:`ember.ArgumentError`."""
