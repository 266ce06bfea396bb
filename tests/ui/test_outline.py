"""The outline panel and links (issue 14): a bookmark goes to its page, an internal link goes to
its target, an external one opens only after the user says yes."""

from __future__ import annotations

import pymupdf
from lamina.pdf.outline import Destination
from lamina.ui import view_modes
from lamina.ui.main_window import MainWindow
from lamina.ui.page_view import page_rect_center
from PySide6.QtCore import Qt

from tests.support.corpus import corpus_pdf
from tests.ui.conftest import open_file

LONG = "long-429p-broken-xref"


def test_outline_lists_the_bookmarks_and_a_click_goes_to_the_page(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    path = corpus_pdf(LONG)
    open_file(qtbot, window, path)
    outline = window.viewer.outline
    toc = pymupdf.open(path).get_toc()
    assert len(outline.entries()) == len(toc) > 100
    assert window.docks["outline"].isVisibleTo(window)
    # A bookmark far down the document: the page view goes there.
    _level, title, page_number = next(row for row in toc if row[2] > 200)
    item = outline.item_for(title)
    assert item is not None
    outline.scrollToItem(item)
    qtbot.mouseClick(
        outline.viewport(),
        Qt.MouseButton.LeftButton,
        pos=outline.visualItemRect(item).center(),
    )
    assert window.view.current_page == page_number - 1


def _link_page(path) -> tuple[int, dict, dict]:  # type: ignore[no-untyped-def]
    """Return a page with an internal link and an external one (or None for the latter)."""
    doc = pymupdf.open(path)
    for page in doc:
        links = page.get_links()
        internal = next((x for x in links if x.get("kind") == pymupdf.LINK_GOTO), None)
        if internal is not None and internal["page"] != page.number:
            return page.number, internal, next((x for x in links if x.get("uri")), None)
    raise AssertionError("the corpus file has internal links")


def test_clicking_an_internal_link_goes_to_its_target(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    path = corpus_pdf(LONG)
    open_file(qtbot, window, path)
    page, link, _external = _link_page(path)
    view = window.view
    view.go_to_page(page)
    links = view.links_of(page)
    target = next(x for x in links if x.target.page == link["page"])
    centre = (target.rect.left + target.rect.width / 2, target.rect.top + target.rect.height / 2)
    view.scroll_to_rect(page, target.rect)
    vp = view.viewport()
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=page_rect_center(view, page, centre))
    assert view.current_page == link["page"]


def test_an_external_link_opens_only_after_confirmation(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = corpus_pdf(LONG)
    open_file(qtbot, window, path)
    asked: list[str] = []
    opened: list[str] = []
    answer = {"yes": False}

    def confirm(_parent, uri: str) -> bool:  # type: ignore[no-untyped-def]
        asked.append(uri)
        return answer["yes"]

    monkeypatch.setattr(view_modes, "confirm_external_link", confirm)
    monkeypatch.setattr(view_modes, "open_external", lambda uri: opened.append(uri) or True)
    page_before = window.view.current_page
    window.view.link_activated.emit(Destination(uri="https://example.org/"))
    assert asked == ["https://example.org/"] and opened == []
    answer["yes"] = True
    window.view.link_activated.emit(Destination(uri="https://example.org/"))
    assert opened == ["https://example.org/"]
    assert window.view.current_page == page_before


def test_bookmarks_are_read_after_the_first_page_is_on_screen(  # type: ignore[no-untyped-def]
    qtbot, window, monkeypatch
) -> None:
    """Resolving 196 bookmarks read the size of 144 pages before anything was painted: the
    panel is shown at once (the PDF has an outline) and filled once the page view has read
    every page size, without anybody asking for its entries."""
    from lamina.ui import outline_panel

    reads: list[str] = []
    real = outline_panel.read_outline

    def counted(doc):  # type: ignore[no-untyped-def]
        reads.append("read")
        return real(doc)

    monkeypatch.setattr(outline_panel, "read_outline", counted)
    at_first_paint: list[int] = []
    window.view.first_paint.connect(lambda: at_first_paint.append(len(reads)))
    assert window.open_path(corpus_pdf(LONG))
    qtbot.waitUntil(lambda: bool(at_first_paint), timeout=20_000)
    assert at_first_paint == [0]
    assert window.docks["outline"].isVisibleTo(window)
    outline = window.viewer.outline
    qtbot.waitUntil(lambda: outline.topLevelItemCount() > 0, timeout=20_000)
    assert reads == ["read"]


def test_an_empty_outline_shows_no_outline_panel(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """The sample PDF has an /Outlines dictionary without entries."""
    from lamina.assets import resource_path

    open_file(qtbot, window, resource_path("sample.pdf"))
    assert not window.docks["outline"].isVisibleTo(window)
    assert window.viewer.outline.entries() == []
