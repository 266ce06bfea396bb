"""Open a PDF with clear, typed errors (DESIGN §6), and describe its pages.

Threads: PyMuPDF is not thread-safe. A :class:`PdfDocument` must only be used by the thread
that opened it; a render thread opens its own :class:`PdfDocument` on the same file (opening
is cheap: pages are read on demand). PyMuPDF does not promise that two threads may even use
two different documents at once, so every public function of ``lamina.pdf`` that runs MuPDF
holds :data:`MUPDF_LOCK` (re-entrant) while it does: calls from several threads are
serialised, never interleaved. PyMuPDF holds the GIL while it draws anyway, so the lock costs
no parallelism.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import pymupdf
from lamina.model.instant_json import PdfId
from lamina.pdf.errors import (
    DamagedPdfError,
    EmptyFileError,
    NotAPdfError,
    PageOutOfRangeError,
    PasswordRequiredError,
    WrongPasswordError,
)
from lamina.pdf.geometry import PageGeometry

log = logging.getLogger(__name__)

# MuPDF prints repair warnings on stderr by itself; the caller learns about repairs from
# PdfDocument.repaired instead.
pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)


class _MupdfLock:
    """A re-entrant lock that knows whether another thread is waiting for it.

    :class:`LockSlices` hands the lock over only when someone waits: a handover costs a
    sleep (~0.2 ms asked, several ms on a busy machine), which a read nobody waits for
    must not pay every few milliseconds.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._count_lock = threading.Lock()
        self._waiting = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock (as :meth:`threading.RLock.acquire`)."""
        if self._lock.acquire(blocking=False):
            return True
        if not blocking:
            return False
        with self._count_lock:
            self._waiting += 1
        try:
            return self._lock.acquire(True, timeout)
        finally:
            with self._count_lock:
                self._waiting -= 1

    def release(self) -> None:
        """Give the lock back once (as :meth:`threading.RLock.release`)."""
        self._lock.release()

    @property
    def contended(self) -> bool:
        """Whether another thread is waiting to take the lock."""
        return self._waiting > 0

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()


MUPDF_LOCK = _MupdfLock()
"""Held by every ``lamina.pdf`` call that runs MuPDF (see the module docstring)."""

_P = ParamSpec("_P")
_T = TypeVar("_T")


def serialized(function: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run ``function`` while holding :data:`MUPDF_LOCK`."""

    @functools.wraps(function)
    def locked(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with MUPDF_LOCK:
            return function(*args, **kwargs)

    return locked


class LockSlices:
    """Hold :data:`MUPDF_LOCK` for a long job, letting other threads' calls in every few ms.

    A long read (every annotation of a big PDF) must not hold the lock for seconds: the
    window's thread waits on it to lay out its pages. Use it as a context manager and call
    :meth:`breathe` between MuPDF calls (never inside one); objects of the job's own document
    stay valid meanwhile. A caller that already holds the lock keeps it throughout.

    Args:
        seconds: how long to hold the lock at a time.
    """

    def __init__(self, seconds: float = 0.004) -> None:
        self._seconds = seconds
        self._since = 0.0

    def __enter__(self) -> LockSlices:
        MUPDF_LOCK.acquire()
        self._since = time.monotonic()
        return self

    def __exit__(self, *_exc: object) -> None:
        MUPDF_LOCK.release()

    def breathe(self) -> None:
        """Let a thread waiting for the lock have it, if this one held it long enough."""
        if not MUPDF_LOCK.contended or time.monotonic() - self._since < self._seconds:
            return
        MUPDF_LOCK.release()
        # A bare release and acquire would take the lock straight back: the waiter is woken
        # but has not run yet. Sleeping hands it over.
        time.sleep(0.0002)
        MUPDF_LOCK.acquire()
        self._since = time.monotonic()


_PDF_HEADER = b"%PDF-"
_HEADER_WINDOW = 1024  # readers accept the header anywhere in the first 1024 bytes
_DISPLAY_LIST_CACHE = 4


@dataclass(frozen=True)
class PageInfo:
    """Size and rotation of one page.

    ``width`` and ``height`` are the Instant JSON page size: the visible (CropBox) area of the
    *unrotated* page, in points. ``rotation`` (0, 90, 180, 270, clockwise) is how the page is
    shown; the displayed size of a 90/270 page swaps width and height.
    """

    width: float
    height: float
    rotation: int


class PdfDocument:
    """An open PDF. Use as a context manager, or call :meth:`close`.

    Attributes:
        name: the file name used in messages (``"document"`` for bytes).
        repaired: MuPDF had to repair the file to open it (say so to the user; saving writes
            a repaired copy).
        read_only_reason: None when annotations may be added; otherwise why not (the PDF's
            permissions forbid it).
        pdf_id: the trailer ``/ID`` as Instant JSON's ``pdfId``, None when the PDF has none.
    """

    def __init__(
        self, fitz_doc: Any, *, name: str, password: str | None, source: Path | bytes
    ) -> None:
        self._doc = fitz_doc
        self.name = name
        self.password = password
        self.source = source
        self.repaired: bool = bool(fitz_doc.is_repaired)
        self.read_only_reason: str | None = _read_only_reason(fitz_doc)
        self.pdf_id: PdfId | None = _pdf_id(fitz_doc)
        self.title: str = str((fitz_doc.metadata or {}).get("title") or "").strip()
        """The document's title (``/Title`` of its Info dictionary), ``""`` when none."""
        self._display_lists: OrderedDict[tuple[int, bool], Any] = OrderedDict()
        self._geometries: dict[int, PageGeometry] = {}
        """Page geometries read so far: a page's boxes never change while it is open, and the
        layout, outline, links and thumbnails each ask for them."""

    # -- lifetime -----------------------------------------------------------------------

    def __enter__(self) -> PdfDocument:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @serialized
    def close(self) -> None:
        """Release the document (idempotent)."""
        self._display_lists.clear()
        if not self._doc.is_closed:
            self._doc.close()

    # -- pages ----------------------------------------------------------------------------

    @property
    def page_count(self) -> int:
        return int(self._doc.page_count)

    def check_page(self, index: int) -> None:
        """Raise :class:`PageOutOfRangeError` unless ``index`` is a page of this document."""
        if not 0 <= index < self.page_count:
            raise PageOutOfRangeError(
                f"page {index} does not exist ({self.name} has {self.page_count} pages; "
                f"pages are numbered from 0)"
            )

    @serialized
    def fitz_page(self, index: int) -> Any:
        """Return PyMuPDF's page object (for code inside ``lamina.pdf`` only)."""
        self.check_page(index)
        return self._doc.load_page(index)

    @property
    def fitz_document(self) -> Any:
        """Return PyMuPDF's document (for code inside ``lamina.pdf`` only)."""
        return self._doc

    @serialized
    def page_info(self, index: int) -> PageInfo:
        """Return the Instant-space size and the rotation of page ``index``."""
        geometry = self.page_geometry(index)
        return PageInfo(geometry.width, geometry.height, geometry.rotation)

    @serialized
    def page_geometry(self, index: int) -> PageGeometry:
        """Return the coordinate conversions of page ``index`` (read once, then kept).

        Raises:
            PageOutOfRangeError: no such page.
            ValueError: the document is closed.
        """
        geometry = self._geometries.get(index)
        if geometry is None:
            geometry = self._geometries[index] = PageGeometry.from_fitz_page(self.fitz_page(index))
        elif self._doc.is_closed:
            raise ValueError("document closed")
        return geometry

    @serialized
    def display_list(self, index: int, annots: bool) -> Any:
        """Return the page's recorded drawing commands, kept for the last few pages.

        Rendering many tiles of one page replays the list instead of parsing the content
        stream again for each tile.
        """
        key = (index, annots)
        cached = self._display_lists.get(key)
        if cached is not None:
            self._display_lists.move_to_end(key)
            return cached
        display_list = self.fitz_page(index).get_displaylist(annots=annots)
        self._display_lists[key] = display_list
        while len(self._display_lists) > _DISPLAY_LIST_CACHE:
            self._display_lists.popitem(last=False)
        return display_list

    @serialized
    def forget_display_lists(self, index: int) -> None:
        """Drop the recorded drawing commands of page ``index`` (its annotations changed)."""
        self._display_lists.pop((index, True), None)
        self._display_lists.pop((index, False), None)


@serialized
def open_pdf(
    source: Path | str | bytes, password: str | None = None, *, name: str | None = None
) -> PdfDocument:
    """Open a PDF file or PDF bytes.

    Args:
        source: a path, or the PDF's bytes.
        password: the user or owner password of an encrypted PDF.
        name: the name used in messages (default: the file name, or ``"document"``).

    Raises:
        EmptyFileError: zero bytes.
        NotAPdfError: not a PDF (an image, text, ...).
        DamagedPdfError: damaged beyond repair (including a file truncated so much that no
            page is left).
        PasswordRequiredError: encrypted and ``password`` is None.
        WrongPasswordError: ``password`` does not open it.
        OSError: the file cannot be read.
    """
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        label = name or "document"
        stored: Path | bytes = data
    else:
        path = Path(source)
        label = name or path.name
        data = path.read_bytes()
        stored = path
    if not data:
        raise EmptyFileError(f"{label} is empty (0 bytes): it is not a pdf; choose another file")
    looks_like_pdf = _PDF_HEADER in data[:_HEADER_WINDOW]
    try:
        fitz_doc = pymupdf.open(stream=data, filetype="pdf" if looks_like_pdf else None)
    except (pymupdf.FileDataError, RuntimeError, ValueError) as exc:
        if not looks_like_pdf:
            raise NotAPdfError(
                f"{label} is not a pdf (it does not start with %PDF-); choose a pdf file"
            ) from exc
        raise DamagedPdfError(
            f"{label} is damaged and cannot be repaired ({_first_line(exc)}); "
            "get an intact copy of the file"
        ) from exc
    if not fitz_doc.is_pdf or not looks_like_pdf:
        kind = _kind_of(data)
        fitz_doc.close()
        raise NotAPdfError(f"{label} is not a pdf but {kind}; choose a pdf file")
    if fitz_doc.needs_pass:
        if password is None:
            fitz_doc.close()
            raise PasswordRequiredError(f"{label} is encrypted: a password is needed to open it")
        if not fitz_doc.authenticate(password):
            fitz_doc.close()
            raise WrongPasswordError(
                f"the password given does not open {label}; check it and try again"
            )
    elif password is not None and (fitz_doc.metadata or {}).get("encryption"):
        # Opens without a password but may restrict permissions: the owner password lifts
        # them. A password that does not match changes nothing, as in other viewers.
        fitz_doc.authenticate(password)
    if fitz_doc.page_count == 0:
        fitz_doc.close()
        raise DamagedPdfError(
            f"{label} is damaged (truncated or broken) and no page could be recovered; "
            "get an intact copy of the file"
        )
    if fitz_doc.is_repaired:
        log.info("%s was damaged and has been repaired on open", label)
    return PdfDocument(fitz_doc, name=label, password=password, source=stored)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].lower() if text else type(exc).__name__


def _kind_of(data: bytes) -> str:
    signatures = (
        (b"\x89PNG", "a png image"),
        (b"\xff\xd8\xff", "a jpeg image"),
        (b"GIF8", "a gif image"),
        (b"II*\x00", "a tiff image"),
        (b"MM\x00*", "a tiff image"),
        (b"PK\x03\x04", "a zip archive"),
    )
    for magic, kind in signatures:
        if data.startswith(magic):
            return kind
    return "another kind of file"


def _read_only_reason(fitz_doc: Any) -> str | None:
    permissions = int(fitz_doc.permissions)
    if not permissions & pymupdf.PDF_PERM_ANNOTATE:  # type: ignore[attr-defined]
        return (
            "the pdf's security settings forbid adding or changing annotations "
            "(open it with the owner password to annotate)"
        )
    return None


_HEX_ID = re.compile(r"<([0-9A-Fa-f]*)>")


_ESCAPES = {"n": 10, "r": 13, "t": 9, "b": 8, "f": 12}


def _literal_strings(text: str) -> tuple[bytes, bytes]:
    """Return the two PDF literal strings of ``[(...)(...)]`` as bytes (escapes decoded).

    Raises:
        ValueError: not exactly two literal strings.
    """
    found: list[bytes] = []
    i = 0
    while i < len(text):
        if text[i] != "(":
            i += 1
            continue
        out = bytearray()
        depth, i = 1, i + 1
        while i < len(text) and depth:
            ch = text[i]
            if ch == "\\" and i + 1 < len(text):
                nxt = text[i + 1]
                octal = re.match(r"[0-7]{1,3}", text[i + 1 : i + 4])
                if octal:
                    out.append(int(octal.group(0), 8) & 0xFF)
                    i += 1 + len(octal.group(0))
                    continue
                out.append(_ESCAPES.get(nxt, ord(nxt) & 0xFF))
                i += 2
                continue
            depth += ch == "("
            depth -= ch == ")"
            if depth:
                out.append(ord(ch) & 0xFF)
            i += 1
        found.append(bytes(out))
    if len(found) != 2:
        raise ValueError(f"expected two ids, got {len(found)}")
    return found[0], found[1]


def _pdf_id(fitz_doc: Any) -> PdfId | None:
    kind, value = fitz_doc.xref_get_key(-1, "ID")
    if kind != "array":
        return None
    try:
        if value.lstrip("[ ").startswith("("):
            # Literal strings, as some writers put them (issue 10, defect 7).
            permanent, changing = _literal_strings(value)
        else:
            parts = _HEX_ID.findall(value)
            if len(parts) != 2:
                return None
            permanent, changing = (bytes.fromhex(p) for p in parts)
    except ValueError:
        return None
    return PdfId(
        base64.b64encode(permanent).decode("ascii"), base64.b64encode(changing).decode("ascii")
    )
