"""Let MuPDF draw appearance streams that other viewers draw: clips with no path.

Some producers begin an appearance with ``q W n`` before any path is built (the yellow
sticky note of the corpus ``annot-all-markup-types``, made by a Chinese PDF editor).
poppler, PDFium and pdf.js ignore a clip with no current path; MuPDF clips to nothing, so
the app would show no icon where every other viewer shows one. :func:`repair_page` removes
such clips from the appearance streams of a page's annotations in one open copy of a PDF,
for drawing only: call it on a copy that is never saved (the render worker's, printing's,
the desktop window's own, which it lends the render thread for the first tiles). It holds
:data:`~lamina.pdf.document.MUPDF_LOCK`, as every call on a shared copy must.
"""

from __future__ import annotations

import re
import weakref
from typing import Any

from lamina.pdf.document import PdfDocument, serialized

# Content stream tokens: strings (with one level of nesting and escapes), hex strings,
# dictionaries' brackets, names, numbers and operators. A stream with an inline image is
# left alone (its binary data cannot be tokenized this way).
_TOKEN = re.compile(
    rb"\((?:\\.|[^\\()]|\((?:\\.|[^\\()])*\))*\)"
    rb"|<<|>>|<[0-9A-Fa-f\s]*>|\[|\]|/[^\s/\[\]()<>{}%]*"
    rb"|%[^\r\n]*|[^\s/\[\]()<>{}%]+",
    re.DOTALL,
)
_BUILDS_PATH = {b"m", b"l", b"c", b"v", b"y", b"h", b"re"}
_CLIPS = {b"W", b"W*"}
_ENDS_PATH = {b"S", b"s", b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*", b"n"}
_OPERATOR = re.compile(rb"[A-Za-z'\"][A-Za-z0-9*'\"]*")

_repaired: weakref.WeakKeyDictionary[PdfDocument, set[int]] = weakref.WeakKeyDictionary()


def without_empty_clips(stream: bytes) -> bytes | None:
    """Return ``stream`` without its clips that have no path (``W n`` after no path), or
    None when it has none (or holds an inline image, which is left as it is)."""
    if b"W" not in stream or re.search(rb"(?:^|\s)BI\s", stream):
        return None
    out: list[bytes] = []
    removed = False
    building = False
    dropping_n = False
    last = 0
    for match in _TOKEN.finditer(stream):
        token = match.group()
        if not _OPERATOR.fullmatch(token) or token in (b"true", b"false", b"null"):
            continue
        if dropping_n:
            dropping_n = False
            if token == b"n":
                last = match.end()
                continue
        if token in _BUILDS_PATH:
            building = True
        elif token in _CLIPS and not building:
            out.append(stream[last : match.start()])
            last = match.end()
            removed = dropping_n = True
        elif token in _ENDS_PATH:
            building = False
    if not removed:
        return None
    out.append(stream[last:])
    return b"".join(out)


@serialized
def repair_page(doc: PdfDocument, page: int) -> None:
    """Remove clips with no path from the appearances of page ``page``'s annotations (once
    per page and open document; its recorded drawing is dropped when one changed)."""
    done = _repaired.setdefault(doc, set())
    if page in done:
        return
    done.add(page)
    fitz_doc = doc.fitz_document
    changed = False
    for xref, *_kind in doc.fitz_page(page).annot_xrefs():
        for stream_xref in _appearance_streams(fitz_doc, xref):
            fixed = without_empty_clips(fitz_doc.xref_stream(stream_xref) or b"")
            if fixed is not None:
                fitz_doc.update_stream(stream_xref, fixed)
                changed = True
    if changed:
        doc.forget_display_lists(page)


def _appearance_streams(fitz_doc: Any, xref: int) -> list[int]:
    kind, value = fitz_doc.xref_get_key(xref, "AP/N")
    if kind == "xref":
        return [int(value.split()[0])]
    if kind == "dict":  # one stream per state (check boxes, radio buttons)
        return [int(n) for n in re.findall(r"(\d+) 0 R", value)]
    return []
