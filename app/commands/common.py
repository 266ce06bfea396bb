"""Options and defaults shared by several verbs.

Verb modules take their shared options from here, never from :mod:`lamina.cli` (which imports
the verb modules): the arrow points one way, commands <- cli.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import platformdirs


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Add the options every verb takes (``--verbose``)."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log debug messages to stderr",
    )


def default_data_dir() -> Path:
    """Return the server's default data directory (the user data directory of ``lamina``)."""
    return Path(platformdirs.user_data_dir("lamina", appauthor=False)) / "server"


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--data DIR`` (the server data directory: keys, store, assets)."""
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"server data directory (default: {default_data_dir()})",
    )


def data_dir_from(args: argparse.Namespace) -> Path:
    """Return ``--data`` or the default data directory."""
    data: Path | None = getattr(args, "data", None)
    return data if data is not None else default_data_dir()
