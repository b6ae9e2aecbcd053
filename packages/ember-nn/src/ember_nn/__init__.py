"""ember-nn: backend-agnostic neural-network modules for Ember.

This package is written against ``ember`` only: it never imports NumPy, PyTorch or MLX, so the
same model runs on every backend. Modules, layers, losses, optimisers and training arrive with
the ember-nn issue; for now the package holds its public surface and the import rule.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
