"""A PDF with many annotations opens without freezing the window (DESIGN §7), not timed.

The records are read and parsed off the GUI thread, what the page view draws is grouped
there too, and the Comments panel lists them a slice at a time with the event loop running
in between; in the end every one is listed.
"""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path

import lamina.client.replica
import lamina.ui.documents
import lamina.ui.drawn_records
import lamina.ui.page_canvas
import pytest
from lamina.model.records import Annotation
from lamina.ui.comments_panel import FILL_SLICE, listed_in_comments, page_order
from lamina.ui.main_window import MainWindow
from PySide6.QtCore import QTimer

from tests.support.many_annotations import write_many_annotations

COUNT = 2 * FILL_SLICE + 200


def test_opening_parses_off_the_gui_thread_and_lists_in_slices_with_the_loop_running(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = write_many_annotations(tmp_path / "many.pdf", COUNT)
    gui = threading.get_ident()
    parsed_on_gui: list[str] = []
    real = lamina.client.replica.record_from_json

    def spy(content):  # type: ignore[no-untyped-def]
        if threading.get_ident() == gui:
            parsed_on_gui.append(str(content.get("id")))
        return real(content)

    monkeypatch.setattr(lamina.client.replica, "record_from_json", spy)
    seen: list[int] = []  # rows listed, each time a 0 ms timer fired
    ticker = QTimer()
    ticker.setInterval(0)
    ticker.timeout.connect(lambda: seen.append(window.comments.row_count()))
    ticker.start()
    assert window.open_path(pdf)
    qtbot.waitUntil(
        lambda: window.session is not None and window.comments.row_count() == COUNT,
        timeout=60000,
    )
    ticker.stop()

    assert parsed_on_gui == []  # every record was parsed in the worker
    # The timer ran while the list was partly filled: the loop turned between slices.
    assert any(0 < n < COUNT for n in seen)
    model = window.session
    listed = [a for a in model.annotations() if isinstance(a, Annotation) and listed_in_comments(a)]
    assert len(listed) == COUNT
    assert window.comments.listed_ids() == [a.id for a in sorted(listed, key=page_order)]
    assert len(window.view.annotations()) == COUNT


def test_what_the_page_view_draws_is_grouped_off_the_gui_thread(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Deciding which records the tiles draw (each compared with the PDF's own) and grouping
    # them by page is O(records): 10,000 of them held the GUI thread ~300 ms in one go.
    pdf = write_many_annotations(tmp_path / "many.pdf", COUNT)
    gui = threading.get_ident()
    compared: dict[bool, int] = {True: 0, False: 0}  # on the GUI thread or not
    real_unedited = lamina.ui.drawn_records._unedited
    real_drawing_of = lamina.ui.page_canvas.drawing_of
    grouped_on_gui: list[int] = []

    def unedited(base, annotation):  # type: ignore[no-untyped-def]
        compared[threading.get_ident() == gui] += 1
        return real_unedited(base, annotation)

    def drawing_of(annotations, natives):  # type: ignore[no-untyped-def]
        annotations, natives = list(annotations), list(natives)
        if threading.get_ident() == gui:
            grouped_on_gui.append(len(annotations) + len(natives))
        return real_drawing_of(annotations, natives)

    monkeypatch.setattr(lamina.ui.drawn_records, "_unedited", unedited)
    monkeypatch.setattr(lamina.ui.drawn_records, "drawing_of", drawing_of)
    assert window.open_path(pdf)
    qtbot.waitUntil(
        lambda: window.session is not None and len(window.view.annotations()) == COUNT,
        timeout=60000,
    )
    assert compared == {True: 0, False: COUNT}
    assert grouped_on_gui == []
    # And the tiles draw every one of them (none was edited), the canvas none.
    assert window.view.native_xrefs() is not None
    assert len(window.view.native_xrefs()) == COUNT
    assert all(not window.view.painted_annotations(p) for p in range(window.pdf.page_count))


def test_building_the_records_runs_no_full_collection_and_freezes_them(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    # A full collection walks every object, holding the GIL on whichever thread it runs: with
    # 10,000 records it froze the window 100-300 ms, several times while they were built.
    pdf = write_many_annotations(tmp_path / "many.pdf", 5 * COUNT)
    full: list[str] = []  # the thread of each full collection until the window has them

    def heard(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2 and window.session is None:
            full.append(threading.current_thread().name)

    gc.callbacks.append(heard)
    try:
        assert window.open_path(pdf)
        qtbot.waitUntil(
            lambda: window.session is not None and len(window.view.annotations()) == 5 * COUNT,
            timeout=60000,
        )
    finally:
        gc.callbacks.remove(heard)
    assert full == []
    # What the document holds is out of the next full collection's walk.
    tracked = {id(o) for o in gc.get_objects()}
    annotations = window.session.annotations()
    assert annotations and not any(id(a) in tracked for a in annotations)
    assert gc.isenabled()


def test_a_closed_documents_frozen_cycles_are_freed_once_it_has_closed(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    # Frozen with its records, a closed document's reference cycles would never be freed.
    pdf = write_many_annotations(tmp_path / "many.pdf", COUNT)
    assert window.open_path(pdf)
    qtbot.waitUntil(lambda: window.session is not None, timeout=60000)
    model = weakref.ref(window.session)
    document = weakref.ref(window.session.document)
    window.close_document()
    qtbot.waitUntil(lambda: model() is None and document() is None, timeout=10000)


def test_the_first_comment_rows_wait_for_the_turn_after_the_window_attached(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Attaching 10,000 records held the GUI thread 35 ms, half of it the first 200 rows.
    pdf = write_many_annotations(tmp_path / "many.pdf", COUNT)
    real = window.attach_document
    rows_when_attached: list[int] = []

    def attach(*args, **kwargs):  # type: ignore[no-untyped-def]
        real(*args, **kwargs)
        rows_when_attached.append(window.comments.row_count())

    monkeypatch.setattr(window, "attach_document", attach)
    assert window.open_path(pdf)
    qtbot.waitUntil(lambda: window.comments.row_count() == COUNT, timeout=60000)
    assert rows_when_attached == [0]


def test_a_small_pdfs_records_are_read_only_once_its_first_tile_is_on_screen(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Opening the store and parsing took the CPU and the GIL from the first page's tile.
    pdf = write_many_annotations(tmp_path / "many.pdf", COUNT)
    real = window.documents.open_local
    painted_when_read: list[bool] = []

    async def open_local(*args, **kwargs):  # type: ignore[no-untyped-def]
        painted_when_read.append(window.view.has_painted())
        return await real(*args, **kwargs)

    monkeypatch.setattr(window.documents, "open_local", open_local)
    assert window.open_path(pdf)
    qtbot.waitUntil(lambda: window.session is not None, timeout=60000)
    assert painted_when_read == [True]
