"""The ``lamina`` command: argument parsing, logging and one-line errors.

Each verb lives in a module of :mod:`app.commands` that exposes ``register(subparsers)``;
a verb's handler takes the parsed arguments and returns the exit status. Errors Lamina raises
on purpose (:class:`~app.model.errors.LaminaError`) and operating-system errors are printed as
one line on stderr with exit status 1, never as a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from app import __version__
from app.applog import setup_logging
from app.commands import desktop, document, scripting, server, tokens
from app.model.errors import LaminaError

_VERB_MODULES = (desktop, document, server, tokens, scripting)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every verb."""
    parser = argparse.ArgumentParser(
        prog="lamina",
        description="Collaborative PDF annotator. Without a verb, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"lamina {__version__}")
    add_common_options(parser)
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    for module in _VERB_MODULES:
        module.register(subparsers)
    return parser


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Add the options every verb takes (``--verbose``)."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log debug messages to stderr",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lamina`` command and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = bool(getattr(args, "verbose", False))
    setup_logging(verbose)
    handler = getattr(args, "func", None)
    if handler is None:
        handler = desktop.run_app_default
    try:
        status: int = handler(args)
    except KeyboardInterrupt:
        return 130
    except (LaminaError, OSError) as exc:
        if verbose:
            logging.getLogger("lamina").exception("failed")
        print(f"lamina: error: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
