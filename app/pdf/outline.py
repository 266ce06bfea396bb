"""Navigation a PDF carries: its outline (bookmarks) and the links on its pages.

Both are read-only views for the desktop's outline panel and link clicks; targets are
resolved to a page index and, where the PDF names one, a point in Instant coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lamina.model.geometry import Point, Rect
from lamina.pdf.document import PdfDocument, serialized


@dataclass(frozen=True)
class Destination:
    """Where a bookmark or link goes: a page of this PDF (and a point on it), or a URI."""

    page: int | None = None
    point: Point | None = None
    uri: str | None = None


@dataclass(frozen=True)
class OutlineEntry:
    """One bookmark: its title, depth (0 = top level) and destination."""

    title: str
    level: int
    target: Destination


@dataclass(frozen=True)
class PageLink:
    """One link on a page: the area that is clicked (Instant coordinates) and its target."""

    rect: Rect
    target: Destination


@serialized
def has_outline(doc: PdfDocument) -> bool:
    """Return whether the PDF has an outline with entries (cheap: none is resolved)."""
    first = doc.fitz_document.outline
    if first is None:
        return False
    try:
        return first.title is not None
    except AttributeError:  # PyMuPDF's item for an /Outlines dictionary without entries
        return False


@serialized
def read_outline(doc: PdfDocument) -> list[OutlineEntry]:
    """Return the PDF's outline in document order (empty when it has none)."""
    fitz_doc = doc.fitz_document
    entries = []
    for row in fitz_doc.get_toc(simple=False):
        level, title, page_number = int(row[0]), str(row[1]), int(row[2])
        dest: dict[str, Any] = row[3] if len(row) > 3 and isinstance(row[3], dict) else {}
        page = page_number - 1 if 0 < page_number <= doc.page_count else None
        entries.append(
            OutlineEntry(title.strip() or "(untitled)", level - 1, _destination(doc, page, dest))
        )
    return entries


@serialized
def page_links(doc: PdfDocument, page_index: int) -> list[PageLink]:
    """Return the links of a page that go somewhere (another page, or a URI).

    Raises:
        PageOutOfRangeError: no such page.
    """
    page = doc.fitz_page(page_index)
    geometry = doc.page_geometry(page_index)
    links = []
    for link in page.get_links():
        area = link.get("from")
        if area is None:
            continue
        target_page = link.get("page")
        page_no = target_page if isinstance(target_page, int) and target_page >= 0 else None
        if page_no is not None and page_no >= doc.page_count:
            page_no = None
        target = _destination(doc, page_no, link)
        if target.page is None and target.uri is None:
            continue
        links.append(PageLink(geometry.pymupdf_to_instant_rect(area), target))
    return links


def _destination(doc: PdfDocument, page: int | None, dest: dict[str, Any]) -> Destination:
    uri = dest.get("uri")
    if isinstance(uri, str) and uri:
        return Destination(uri=uri)
    if page is None:
        return Destination()
    point = None
    to = dest.get("to")
    if to is not None:
        # PyMuPDF gives the target point in its own page space (unrotated, y down).
        point = doc.page_geometry(page).pymupdf_to_instant_point(to)
    return Destination(page=page, point=point)
