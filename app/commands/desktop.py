"""Verbs of the `lamina` command that start the desktop app (see app/cli.py).

- ``lamina`` (no verb) opens the app with its welcome page;
- ``lamina open FILE.pdf`` opens a file;
- ``lamina join INVITE`` opens the review an invite link points to.

Qt is imported only when the app starts, so the other verbs stay fast and work headless.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lamina.commands.common import add_common_options


def register(subparsers: Any) -> None:
    """Add this module's verbs to the `lamina` parser."""
    opener = subparsers.add_parser(
        "open",
        help="open a PDF in the desktop app",
        description="Open a PDF in the desktop app (annotations autosave to the local store).",
    )
    opener.add_argument("file", type=Path, metavar="FILE.pdf", help="the PDF to open")
    opener.add_argument(
        "--password",
        help="the PDF's password: the user password of an encrypted PDF, or the owner "
        "password that lifts a PDF's ban on annotating",
    )
    add_common_options(opener)
    opener.set_defaults(func=run_open)
    joiner = subparsers.add_parser(
        "join",
        help="join a review from an invite link",
        description="Open the review an invite link (lamina://join?...) points to.",
    )
    joiner.add_argument("invite", metavar="INVITE", help="the invite link")
    add_common_options(joiner)
    joiner.set_defaults(func=run_join)


def _start_render_worker() -> None:
    """Start the app's first render worker before Qt is imported (the two overlap)."""
    from lamina.pdf.render_worker import start_spare_early

    start_spare_early()


def run_app_default(args: argparse.Namespace) -> int:
    """Open the desktop app with no document (``lamina`` without a verb)."""
    _start_render_worker()
    from lamina.ui.app import run_app

    return run_app()


def run_open(args: argparse.Namespace) -> int:
    """Open ``args.file`` in the desktop app."""
    path: Path = args.file
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    _start_render_worker()
    from lamina.ui.app import run_app

    return run_app(open_file=path, password=args.password)


def run_join(args: argparse.Namespace) -> int:
    """Join the review of ``args.invite``."""
    from lamina.auth.invite import parse_invite_link

    parse_invite_link(args.invite)
    _start_render_worker()
    from lamina.ui.app import run_app

    return run_app(invite=args.invite)
