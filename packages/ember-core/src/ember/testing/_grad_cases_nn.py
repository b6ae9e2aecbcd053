"""Gradient cases of the neural-network ops (``ember.nn``)."""

from __future__ import annotations
