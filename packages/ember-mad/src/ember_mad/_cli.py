"""``ember mad``: the command group of the MAD benchmark (registered with the ``ember`` command
through the ``ember.commands`` entry point). Its subcommands come later."""

from __future__ import annotations

from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the ``mad`` command group to the ``ember`` argument parser's subparsers."""
    p = sub.add_parser("mad", help="the MAD synthetic-task benchmark (ember-mad)")
    p.add_subparsers(dest="mad_command", metavar="COMMAND")
    p.set_defaults(run=lambda args: (p.print_help(), 0)[1])
