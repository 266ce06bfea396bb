"""Verbs of the `lamina` command that start the desktop app (see app/cli.py)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add this module's verbs to the `lamina` parser."""


def run_app_default(args: argparse.Namespace) -> int:
    """Open the desktop app with no document (``lamina`` without a verb)."""
    raise NotImplementedError("the desktop app is not built yet")
