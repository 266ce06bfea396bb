"""Verbs of the `lamina` command (see app/cli.py)."""

from __future__ import annotations

from typing import Any


def register(subparsers: Any) -> None:
    """Add this module's verbs to the `lamina` parser."""
