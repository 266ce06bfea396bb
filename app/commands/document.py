"""The PDF verbs: ``lamina dump``, ``lamina apply``, ``lamina diff`` (see app/cli.py).

``dump --format xfdf`` writes XFDF instead of Instant JSON; ``apply`` reads its changes as
XFDF when the file is named ``*.xfdf`` or starts with an XML declaration or ``<xfdf``.
Errors (a PDF that cannot be opened, Instant JSON or XFDF that is not valid, a file that
cannot be written) end as one line on stderr with exit status 1, and no output file is
written: output goes to a temporary file in the same directory that replaces the target only
when complete. What XFDF cannot carry is said on stderr, one ``lamina: warning:`` line each.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lamina.fsutil import write_bytes_atomically
from lamina.model.errors import InstantJsonError, LaminaError
from lamina.model.instant_json import dumps_instant_json, parse_instant_json

# The PDF bridge (and PyMuPDF under it) is imported by the verbs that use it, when they
# run: every ``lamina`` command builds this parser, and ``lamina serve`` must not carry
# PyMuPDF's ~40 MB for a layer PDF it builds in its export workers.


class CommandError(LaminaError):
    """A command-line argument that cannot be used."""


def register(subparsers: Any) -> None:
    """Add ``dump``, ``apply`` and ``diff`` to the ``lamina`` parser."""
    from lamina.commands.common import add_common_options

    dump = subparsers.add_parser(
        "dump",
        help="print the annotations, comments and form values of a PDF as Instant JSON or XFDF",
        description=(
            "Write every annotation, comment and form field value already in IN.pdf as "
            "Instant JSON (each keeps its pdfObjectId) or, with --format xfdf, as XFDF. "
            "Example: lamina dump in.pdf -o in.json; lamina dump --format xfdf in.pdf -o in.xfdf"
        ),
    )
    dump.add_argument("pdf", type=Path, metavar="IN.pdf", help="the PDF to read")
    dump.add_argument(
        "-o", "--output", type=Path, metavar="OUT.json", help="write here (default: stdout)"
    )
    dump.add_argument(
        "--format",
        choices=("instant-json", "xfdf"),
        default="instant-json",
        help="instant-json (default) or xfdf (Acrobat's comment and form data file)",
    )
    dump.add_argument(
        "--instant-json-version",
        type=int,
        choices=(1, 2),
        default=2,
        help="annotation format version (default: 2)",
    )
    dump.add_argument("--password", metavar="PW", help="password of an encrypted PDF")
    add_common_options(dump)
    dump.set_defaults(func=run_dump)

    apply = subparsers.add_parser(
        "apply",
        help="write an Instant JSON diff or an XFDF file into a PDF as standard annotations",
        description=(
            "Apply CHANGES.json (Instant JSON: new annotations, skippedPdfObjectIds for "
            "updated and deleted originals, comments, form values) or CHANGES.xfdf (XFDF: "
            "its annotations are added, replacing the PDF's annotation of the same name, and "
            "its field values set) to IN.pdf and write OUT.pdf. "
            "Example: lamina apply in.pdf changes.json -o out.pdf"
        ),
    )
    apply.add_argument("pdf", type=Path, metavar="IN.pdf", help="the original PDF")
    apply.add_argument(
        "changes",
        type=Path,
        metavar="CHANGES.json",
        help="the Instant JSON diff, or an XFDF file (*.xfdf, or XML content)",
    )
    apply.add_argument(
        "-o", "--output", type=Path, required=True, metavar="OUT.pdf", help="the PDF to write"
    )
    apply.add_argument(
        "--flatten", action="store_true", help="burn the annotations into the page content"
    )
    apply.add_argument("--password", metavar="PW", help="password of an encrypted PDF")
    add_common_options(apply)
    apply.set_defaults(func=run_apply)

    diff = subparsers.add_parser(
        "diff",
        help="compute the Instant JSON diff between the annotations of two PDFs",
        description=(
            "Write the Instant JSON that turns ORIGINAL.pdf's annotations into EDITED.pdf's "
            "(matched by object number). Example: lamina diff a.pdf b.pdf -o changes.json"
        ),
    )
    diff.add_argument("original", type=Path, metavar="ORIGINAL.pdf")
    diff.add_argument("edited", type=Path, metavar="EDITED.pdf")
    diff.add_argument(
        "-o", "--output", type=Path, metavar="CHANGES.json", help="write here (default: stdout)"
    )
    diff.add_argument(
        "--instant-json-version", type=int, choices=(1, 2), default=2, help=argparse.SUPPRESS
    )
    diff.add_argument("--password", metavar="PW", help="password of both PDFs if encrypted")
    add_common_options(diff)
    diff.set_defaults(func=run_diff)


def run_dump(args: argparse.Namespace) -> int:
    """Handle ``lamina dump``."""
    from lamina.pdf import dump_instant_json, open_pdf
    from lamina.pdf.xfdf.document import export_xfdf

    if args.format == "xfdf":
        with open_pdf(args.pdf, password=args.password) as doc:
            export = export_xfdf(doc)
        for line in export.losses:
            sys.stderr.write(f"lamina: warning: {line}\n")
        _emit_text(export.data.decode("utf-8"), args.output)
        return 0
    with open_pdf(args.pdf, password=args.password) as doc:
        text = dumps_instant_json(dump_instant_json(doc), version=args.instant_json_version)
    _emit_text(text + "\n", args.output)
    return 0


def run_apply(args: argparse.Namespace) -> int:
    """Handle ``lamina apply``."""
    from lamina.pdf import apply_instant_json, open_pdf
    from lamina.pdf.errors import XfdfError
    from lamina.pdf.xfdf.document import import_xfdf, xfdf_as_diff

    _check_output(args.output, args.pdf, args.changes)
    changes = _read(args.changes)
    if is_xfdf(args.changes, changes):
        with open_pdf(args.pdf, password=args.password) as doc:
            try:
                content = import_xfdf(doc, changes)
            except XfdfError as exc:
                raise CommandError(f"{args.changes.name} is not usable XFDF: {exc}") from exc
            diff = xfdf_as_diff(doc, content)
        for line in content.not_kept:
            sys.stderr.write(f"lamina: warning: {line}\n")
    else:
        try:
            diff = parse_instant_json(changes)
        except InstantJsonError as exc:
            raise CommandError(f"{args.changes.name} is not valid Instant JSON: {exc}") from exc
    data = apply_instant_json(args.pdf, diff, flatten=args.flatten, password=args.password)
    write_bytes_atomically(args.output, data)
    return 0


def run_diff(args: argparse.Namespace) -> int:
    """Handle ``lamina diff``."""
    from lamina.pdf import diff_documents, open_pdf

    with (
        open_pdf(args.original, password=args.password) as original,
        open_pdf(args.edited, password=args.password) as edited,
    ):
        text = dumps_instant_json(diff_documents(original, edited), args.instant_json_version)
    _emit_text(text + "\n", args.output)
    return 0


def is_xfdf(path: Path, data: bytes) -> bool:
    """Tell XFDF from Instant JSON: by the ``.xfdf`` extension, else by the first bytes."""
    if path.suffix.lower() == ".xfdf":
        return True
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith((b"<?xml", b"<xfdf", b"<!"))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise CommandError(f"{path} does not exist") from exc


def _check_output(output: Path, *inputs: Path) -> None:
    for source in inputs:
        if source.exists() and output.exists() and output.resolve() == source.resolve():
            raise CommandError(f"output {output} would overwrite an input; choose another name")
    if not output.parent.exists():
        raise CommandError(f"directory {output.parent} does not exist")


def _emit_text(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    if not output.parent.exists():
        raise CommandError(f"directory {output.parent} does not exist")
    write_bytes_atomically(output, text.encode("utf-8"))
