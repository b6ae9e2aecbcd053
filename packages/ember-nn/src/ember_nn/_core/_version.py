"""ember-nn's version (written into every checkpoint's config)."""

__version__ = "0.1.0"
