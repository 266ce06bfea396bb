"""Errors of the PDF bridge.

Every message is one lowercase line that says what happened and what to do, so the command
line prints it as is and the desktop app can show it in a dialog::

    PdfError
    ├── EmptyFileError         the file has no bytes at all
    ├── NotAPdfError           the file is something else (an image, text, ...)
    ├── DamagedPdfError        MuPDF could not repair it (or nothing usable was left)
    ├── PasswordRequiredError  encrypted: ask the user for the password
    │   └── WrongPasswordError the password given does not open it: ask again
    ├── PageOutOfRangeError    a page index outside the document
    ├── PdfWriteError          the annotations could not be written into the PDF
    └── XfdfError              an XFDF file that cannot be read, or records XFDF cannot hold

``WrongPasswordError`` derives from ``PasswordRequiredError`` so a UI that catches the latter to
show a password prompt also handles a wrong password; check the subclass to say "try again".
"""

from __future__ import annotations

from lamina.model.errors import LaminaError


class PdfError(LaminaError):
    """Base class of the PDF bridge's errors."""


class EmptyFileError(PdfError):
    """The file is zero bytes long."""


class NotAPdfError(PdfError):
    """The file is not a PDF (PyMuPDF would open an image as a one-page document)."""


class DamagedPdfError(PdfError):
    """The PDF is damaged beyond what MuPDF can repair."""


class PasswordRequiredError(PdfError):
    """The PDF is encrypted and no password was given."""


class WrongPasswordError(PasswordRequiredError):
    """The password given does not open the PDF."""


class PageOutOfRangeError(PdfError, IndexError):
    """A page index outside ``0 .. page_count - 1``."""


class PdfWriteError(PdfError):
    """Writing annotations into the PDF failed, or the document forbids it."""


class XfdfError(PdfError, ValueError):
    """XFDF that is not well-formed, hostile (entities, a DTD), not XFDF, or does not fit.

    Also raised when an annotation lies on a page the PDF does not have, and when a record
    cannot be written as XFDF; the message names the annotation or record.
    """
