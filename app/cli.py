"""The ``lamina`` command: argument parsing, logging and one-line errors.

Each verb lives in a module of :mod:`lamina.commands` that exposes ``register(subparsers)``;
a verb's handler takes the parsed arguments and returns the exit status. Errors Lamina raises
on purpose (:class:`~lamina.model.errors.LaminaError`) and operating-system errors are printed as
one line on stderr with exit status 1, never as a traceback.
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit
from urllib.request import url2pathname

from lamina import __version__
from lamina.applog import setup_logging
from lamina.commands.common import add_common_options
from lamina.model.errors import LaminaError


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every verb."""
    parser = argparse.ArgumentParser(
        prog="lamina",
        description="Collaborative PDF annotator. Without a verb, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"lamina {__version__}")
    add_common_options(parser)
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    # Imported here so that `lamina --version` need not load Qt and PyMuPDF.
    from lamina.commands import desktop, document, scripting, server, tokens

    for module in (desktop, document, server, tokens, scripting):
        module.register(subparsers)
    from lamina.commands import migrate  # lamina migrate --from DATA_DIR --to postgresql://…

    migrate.register(subparsers)
    return parser


def implicit_verb(argv: Sequence[str]) -> list[str]:
    """Return ``argv`` with ``open`` or ``join`` put before a bare file or invite link.

    Desktop launchers run ``lamina %u``: a PDF path or a ``lamina://`` link with no verb.
    """
    args = list(argv)
    if not args or args[0].startswith("-"):
        return args
    first = args[0]
    if first.startswith("lamina://"):
        return ["join", *args]
    if first.startswith("file://"):
        return ["open", url2pathname(urlsplit(first).path), *args[1:]]
    if first.lower().endswith(".pdf"):
        return ["open", *args]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lamina`` command and return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:
        # Answer at once, without importing Qt and PyMuPDF for the verbs.
        print(f"lamina {__version__}")
        return 0
    parser = build_parser()
    args = parser.parse_args(implicit_verb(argv))
    verbose = bool(getattr(args, "verbose", False))
    setup_logging(verbose)
    handler = getattr(args, "func", None)
    if handler is None:
        from lamina.commands.desktop import run_app_default

        handler = run_app_default
    try:
        status: int = handler(args)
    except KeyboardInterrupt:
        return 130
    except (LaminaError, OSError) as exc:
        # Into the log file always; on the terminal only the one line below (and the
        # traceback with --verbose).
        logging.getLogger("lamina").info("%s failed", args.verb or "lamina", exc_info=True)
        print(f"lamina: error: {_describe(exc)}", file=sys.stderr)
        return 1
    return status


def _describe(exc: BaseException) -> str:
    """Return the one-line message for an error, without Python's ``[Errno N]`` prefix."""
    if not isinstance(exc, OSError) or not exc.strerror:
        return str(exc)
    if exc.filename is not None:
        return f"{exc.filename}: {exc.strerror.lower()}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{exc.strerror}: another server (often a lamina serve started earlier) holds "
            "the port; stop it, or choose another with --port"
        )
    return exc.strerror


if __name__ == "__main__":
    sys.exit(main())
