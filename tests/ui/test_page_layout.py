"""Where things sit on screen: thumbnails of rotated pages, where a wide page opens, and the
status bar in a narrow window."""

from __future__ import annotations

from tests.conftest import corpus_pdf

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
