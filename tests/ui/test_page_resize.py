"""The page stays put when the view's width changes (issue 14, defect 11: "the page jumps
sideways when the right panel narrows")."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt

from tests.support.corpus import corpus_pdf
from tests.ui.conftest import open_file


def test_the_point_at_the_centre_stays_when_the_right_panel_changes_width(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    open_file(qtbot, window, corpus_pdf("long-429p-broken-xref"))
    view = window.view
    view.set_zoom(3.0)  # wider than the view: it scrolls sideways
    view.go_to_page(3)
    bar = view.horizontalScrollBar()
    bar.setValue(bar.maximum() // 2)
    qtbot.wait(50)
    vp = view.viewport()
    located = view._locate(QPointF(vp.width() / 2, vp.height() / 2))
    assert located is not None
    page, point = located
    dock = window.docks["properties"]
    for width in (dock.width() - 120, dock.width() + 60):
        before = vp.width()
        window.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
        qtbot.waitUntil(lambda before=before: vp.width() != before)
        seen = view.instant_to_viewport(page, (point.x, point.y))
        assert abs(seen.x() - vp.width() / 2) < 3, (width, seen.x(), vp.width())
