"""Where things sit on screen: thumbnails of rotated pages, where a wide page opens, and the
status bar in a narrow window."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lamina.pdf import open_pdf
from lamina.ui.controller import AppController
from lamina.ui.hosting import PRESETS_BY_KEY, LocalReviewServer
from lamina.ui.page_view import MARGIN, PageView
from lamina.ui.render import TileRenderer
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import QLabel

from tests.conftest import corpus_pdf
from tests.ui.test_review import joined_window, run, stroke

ROTATIONS = "geometry-rotations-offset-mediabox-cropbox"


def test_rotated_page_thumbnail_highlight_fits_the_thumbnail(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    assert window.open_path(corpus_pdf(ROTATIONS))
    thumbs = window.thumbnails
    renderer = window.renderer
    # Page 2 is rotated 90 degrees: landscape. Page 1 is portrait.
    portrait, landscape = thumbs.item(0), thumbs.item(1)

    def rendered() -> None:
        for page in (0, 1):
            key = thumbs._key(page)
            assert renderer.cached(key) is not None

    qtbot.waitUntil(rendered, timeout=20_000)
    thumbs.setCurrentRow(1)
    qtbot.wait(50)  # the list lays its items out again after the icons changed
    wide = thumbs.visualItemRect(landscape)
    tall = thumbs.visualItemRect(portrait)
    icon_w, icon_h = thumbs._sizes[1]
    label_h = thumbs.fontMetrics().height()
    assert icon_w > icon_h  # the thumbnail itself is landscape
    # The highlighted item is the thumbnail plus its page-number label, not a portrait box.
    assert wide.height() <= icon_h + label_h + 12
    assert wide.height() < tall.height() - 30
    assert wide.width() >= icon_w
    # The next page follows right under it (no portrait-sized gap).
    assert thumbs.visualItemRect(thumbs.item(2)).top() - wide.bottom() <= 12


def test_thumbnails_follow_the_page_once_scrolling_stops(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    assert window.open_path(corpus_pdf(ROTATIONS))
    thumbs = window.thumbnails
    for page in (2, 3, 4, 5, 6):  # a fast scroll through several pages
        window.view.go_to_page(page)
    qtbot.waitUntil(lambda: thumbs.currentRow() == 6, timeout=5000)
    # It scrolled to the thumbnail of the page shown.
    assert thumbs.viewport().rect().intersects(thumbs.visualItemRect(thumbs.item(6)))


HUGE = "largepage-8400pt-ccitt"


@pytest.fixture
def bare_view(qtbot) -> Iterator[PageView]:  # type: ignore[no-untyped-def]
    view = PageView()
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    yield view
    if view._renderer is not None:
        view._renderer.stop()
    if view._doc is not None:
        view._doc.close()


def _open_in(view: PageView, prefix: str) -> None:
    path = corpus_pdf(prefix)
    view.set_document(open_pdf(path), TileRenderer(path, cache_bytes=8 * 1024 * 1024))


def test_wide_page_opens_at_its_top_left_after_the_view_narrows(qtbot, bare_view) -> None:  # type: ignore[no-untyped-def]
    view = bare_view
    view.resize(1300, 700)
    _open_in(view, HUGE)
    assert view.page_rect(0).width() < view.viewport().width()  # fits: centred
    # The side panels appear after the document is shown: the view narrows and fits again.
    view.resize(420, 700)
    qtbot.wait(20)
    rect = view.page_rect(0)
    assert rect.width() > view.viewport().width()  # 8400 pt at the 10 % minimum zoom
    assert view.horizontalScrollBar().maximum() > 0
    assert view.horizontalScrollBar().value() == 0
    assert rect.left() == MARGIN  # the page's left edge is in view
    assert view.verticalScrollBar().value() == 0


def test_new_document_opens_at_the_top_left_after_a_zoomed_one(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    assert window.open_path(corpus_pdf(ROTATIONS))
    view = window.view
    view.set_zoom(3.0)
    view.horizontalScrollBar().setValue(view.horizontalScrollBar().maximum())
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum() // 2)
    assert window.open_path(corpus_pdf(HUGE))
    qtbot.wait(20)
    assert view.horizontalScrollBar().value() == 0
    assert view.verticalScrollBar().value() == 0
    assert view.page_rect(0).left() == MARGIN
    assert view.current_page == 0


def test_page_narrower_than_the_view_stays_centred(qtbot, bare_view) -> None:  # type: ignore[no-untyped-def]
    view = bare_view
    view.resize(900, 700)
    _open_in(view, ROTATIONS)
    view.set_zoom(0.5)
    rect = view.page_rect(0)
    left_gap = rect.left()
    right_gap = view.viewport().width() - rect.right()
    assert abs(left_gap - right_gap) <= 1


def _shows_all_of(label: QLabel) -> bool:
    """Return whether ``label`` shows its whole (plain) text inside the window."""
    text = QTextDocumentFragment.fromHtml(label.text()).toPlainText()
    inside = label.mapTo(label.window(), label.contentsRect().topRight()).x()
    return (
        label.isVisible()
        and label.fontMetrics().horizontalAdvance(text) <= label.contentsRect().width()
        and inside <= label.window().width()
    )


def test_pending_changes_stay_readable_in_a_narrow_window(
    qtbot, controller: AppController, server: LocalReviewServer
) -> None:
    document_id = run(qtbot, server.add_document(corpus_pdf(ROTATIONS)))
    lead = PRESETS_BY_KEY["lead"]
    ann = joined_window(qtbot, controller, server.invite(document_id, lead, name="Ann"), "Ann")
    big = ann.statusBar().font()
    big.setPointSizeF(big.pointSizeF() * 1.8)  # a large system font
    ann.statusBar().setFont(big)
    for name in ("Bartholomew Longname-Smythe", "Christabel Featherstonehaugh"):
        joined_window(qtbot, controller, server.invite(document_id, lead, name=name), name)
    qtbot.waitUntil(lambda: "Christabel" in ann.presence_label.toolTip(), timeout=10000)
    for dock in ann.docks.values():
        dock.close()  # the side panels closed: the window can be made narrow
    qtbot.wait(50)
    ann.resize(360, 700)
    qtbot.wait(50)
    assert _shows_all_of(ann.connection_label)
    assert _shows_all_of(ann.sync_label)
    # The names give way first (elided); all of them are in the tooltip.
    presence = ann.presence_label
    assert "here" in presence.text().lower()  # shortened, not cut
    assert _shows_all_of(presence)
    assert "Bartholomew Longname-Smythe" in presence.toolTip()
    assert "Christabel Featherstonehaugh" in presence.toolTip()

    assert ann.session is not None
    run(qtbot, ann.session.document.disconnect())
    qtbot.waitUntil(lambda: ann.connection_label.text() == "Offline")
    stroke(qtbot, ann, [(100, 400), (150, 420)])
    assert ann.sync_label.text() == "1 change pending"
    qtbot.wait(50)
    assert _shows_all_of(ann.sync_label)
    assert _shows_all_of(ann.connection_label)
