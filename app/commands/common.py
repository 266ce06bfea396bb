"""Options and defaults shared by several verbs."""

from __future__ import annotations

import argparse
from pathlib import Path

import platformdirs


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
