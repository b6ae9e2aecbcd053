"""Gradient cases (filled in by topic)."""

from __future__ import annotations
