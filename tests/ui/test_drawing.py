"""Drawing, undo and text markup through the real widgets, with mouse and keyboard events."""

from __future__ import annotations

import math

import pytest
from lamina.model.records import HighlightAnnotation, InkAnnotation
from lamina.ui.main_window import MainWindow
from lamina.ui.page_view import page_rect_center
from PySide6.QtCore import Qt

from tests.conftest import corpus_pdf
from tests.ui.conftest import open_file

BOXES = corpus_pdf("geometry-rotations-offset-mediabox-cropbox")


def open_page(qtbot, window: MainWindow, page: int) -> None:  # type: ignore[no-untyped-def]
    open_file(qtbot, window, BOXES)
    view = window.view
    view.set_zoom(1.0)
    view.go_to_page(page)
    qtbot.waitUntil(lambda: view.current_page == page)


@pytest.mark.parametrize("page", [1, 3, 5])  # /Rotate 90, 270, and 90 with an offset MediaBox
def test_ink_drag_on_a_rotated_page_stores_pdf_coordinates_and_undo_removes_it(
    qtbot, window: MainWindow, page: int
) -> None:
    open_page(qtbot, window, page)
    view = window.view
    assert view.geometry_of(page).rotation in (90, 270)
    qtbot.keyClick(view, Qt.Key.Key_P)  # the pen tool's shortcut
    assert view.tool == "ink"
    targets = [(100.0, 150.0), (140.0, 170.0), (180.0, 230.0)]  # Instant points on the page
    pixels = [page_rect_center(view, page, p) for p in targets]
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=pixels[0])
    for px in pixels[1:]:
        qtbot.mouseMove(vp, px)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=pixels[-1])

    assert window.session is not None
    inks = [a for a in window.session.annotations() if isinstance(a, InkAnnotation)]
    assert len(inks) == 1
    ink = inks[0]
    assert ink.page_index == page
    points = ink.lines.points[0]
    # Every dragged point lands where it was aimed, within a pixel at 100 %.
    for target in targets:
        assert min(math.dist(target, p) for p in points) < 1.5
    assert ink.creator_name

    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not any(isinstance(a, InkAnnotation) for a in window.session.annotations())
    qtbot.keyClick(
        view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert any(isinstance(a, InkAnnotation) for a in window.session.annotations())


def test_select_text_and_highlight_shortcut_marks_the_right_words(
    qtbot, window: MainWindow
) -> None:
    open_page(qtbot, window, 0)
    view = window.view
    words = view.words_of(0)
    first = next(i for i, w in enumerate(words) if w.text == "green")
    last = next(i for i, w in enumerate(words) if w.text == "crop")
    a, b = words[first].rect, words[last].rect
    qtbot.keyClick(view, Qt.Key.Key_T)
    vp = view.viewport()
    start = page_rect_center(view, 0, (a.left + 1, a.top + a.height / 2))
    end = page_rect_center(view, 0, (b.right - 1, b.top + b.height / 2))
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(vp, end)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)
    assert view.selected_text() == "green at crop"

    qtbot.keyClick(
        view, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert window.session is not None
    marks = [x for x in window.session.annotations() if isinstance(x, HighlightAnnotation)]
    assert len(marks) == 1
    mark = marks[0]
    assert mark.page_index == 0 and len(mark.rects) == 1
    covered = [
        w.text
        for w in words
        if mark.rects[0].contains((w.rect.left + w.rect.width / 2, w.rect.top + w.rect.height / 2))
    ]
    assert covered == ["green", "at", "crop"]


def test_copy_puts_the_selected_text_on_the_clipboard(qtbot, window: MainWindow) -> None:
    open_page(qtbot, window, 0)
    view = window.view
    words = view.words_of(0)
    w = next(x for x in words if x.text == "Rotate:")
    qtbot.keyClick(view, Qt.Key.Key_T)
    vp = view.viewport()
    qtbot.mousePress(
        vp,
        Qt.MouseButton.LeftButton,
        pos=page_rect_center(view, 0, (w.rect.left + 1, w.rect.top + 3)),
    )
    qtbot.mouseRelease(
        vp,
        Qt.MouseButton.LeftButton,
        pos=page_rect_center(view, 0, (w.rect.right + 15, w.rect.top + 3)),
    )
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == "Rotate: 0"


def test_rectangle_then_move_with_the_select_tool(qtbot, window: MainWindow) -> None:
    open_page(qtbot, window, 0)
    view = window.view
    vp = view.viewport()
    qtbot.keyClick(view, Qt.Key.Key_R)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=page_rect_center(view, 0, (300, 300)))
    qtbot.mouseMove(vp, page_rect_center(view, 0, (350, 330)))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=page_rect_center(view, 0, (400, 360)))
    assert window.session is not None
    (rect,) = window.session.annotations()
    assert round(rect.bbox.left) == 300 and round(rect.bbox.width) == 100
    qtbot.keyClick(view, Qt.Key.Key_V)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=page_rect_center(view, 0, (350, 330)))
    qtbot.mouseMove(vp, page_rect_center(view, 0, (360, 340)))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=page_rect_center(view, 0, (370, 350)))
    (moved,) = window.session.annotations()
    assert round(moved.bbox.left) == 320 and round(moved.bbox.top) == 320
    assert view.selected_id == moved.id
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert window.session.annotations() == []
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [a.id for a in window.session.annotations()] == [moved.id]


def test_a_pen_on_a_tablet_draws_with_its_pressure(qtbot, window: MainWindow) -> None:
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
    from PySide6.QtWidgets import QApplication

    open_page(qtbot, window, 1)
    view = window.view
    qtbot.keyClick(view, Qt.Key.Key_P)
    pen = QPointingDevice(
        "test pen",
        1,
        QInputDevice.DeviceType.Stylus,
        QPointingDevice.PointerType.Pen,
        QInputDevice.Capability.Position | QInputDevice.Capability.Pressure,
        1,
        3,
    )
    strokes = [
        (QEvent.Type.TabletPress, (100.0, 150.0), 0.2),
        (QEvent.Type.TabletMove, (130.0, 160.0), 0.6),
        (QEvent.Type.TabletMove, (160.0, 170.0), 0.9),
        (QEvent.Type.TabletRelease, (160.0, 170.0), 0.0),
    ]
    vp = view.viewport()
    for kind, target, pressure in strokes:
        pos = QPointF(page_rect_center(view, 1, target))
        pressed = kind != QEvent.Type.TabletRelease
        event = QTabletEvent(
            kind,
            pen,
            pos,
            QPointF(vp.mapToGlobal(pos.toPoint())),
            pressure,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            Qt.KeyboardModifier.NoModifier,
            Qt.MouseButton.LeftButton
            if kind != QEvent.Type.TabletMove
            else Qt.MouseButton.NoButton,
            Qt.MouseButton.LeftButton if pressed else Qt.MouseButton.NoButton,
        )
        QApplication.sendEvent(vp, event)
        assert event.isAccepted()

    assert window.session is not None
    inks = [a for a in window.session.annotations() if isinstance(a, InkAnnotation)]
    assert len(inks) == 1
    intensities = inks[0].lines.intensities[0]
    # The pen's pressure becomes the stroke's intensities (a mouse gives 0.5 everywhere).
    assert intensities[:3] == pytest.approx((0.2, 0.6, 0.9), abs=0.01)


def test_a_drawn_rectangle_is_written_to_the_local_store_off_the_gui_thread(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A durable SQLite commit is an fsync (milliseconds to tens of them on a busy disk): the
    # GUI thread hands it to the store's thread; the edit is durable before it is saved.
    import threading

    import lamina.client.store
    from lamina.client.store import LocalStore

    open_page(qtbot, window, 0)
    view = window.view
    assert window.session is not None
    gui = threading.get_ident()
    transactions: list[bool] = []  # on the GUI thread?
    real = lamina.client.store.StoreWriter.__init__

    def spy(self, conn):  # type: ignore[no-untyped-def]
        transactions.append(threading.get_ident() == gui)
        real(self, conn)

    monkeypatch.setattr(lamina.client.store.StoreWriter, "__init__", spy)
    qtbot.keyClick(view, Qt.Key.Key_R)
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=page_rect_center(view, 0, (50, 60)))
    qtbot.mouseMove(vp, page_rect_center(view, 0, (80, 90)))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=page_rect_center(view, 0, (110, 120)))
    assert len(window.session.annotations()) == 1 + len(window.session.document.base_records())

    store_path = window.session.document.store_path

    def outbox() -> int:
        other = LocalStore.open(store_path)
        try:
            return len(other.load().outbox)
        finally:
            other.close()

    qtbot.waitUntil(lambda: outbox() == 1, timeout=10000)
    assert transactions == [False]
