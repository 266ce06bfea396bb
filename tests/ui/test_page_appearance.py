"""Annotations the PDF already had are shown with their own appearance streams (issue 10,
defect 11): the pixels in each one's box match MuPDF's own rendering of the page, and once an
annotation is edited the app draws the edited record instead of the original."""

from __future__ import annotations

import dataclasses

import pymupdf
import pytest
from lamina.model.geometry import Rect
from lamina.model.records import Annotation
from lamina.pdf.appearance_repair import without_empty_clips
from lamina.ui.main_window import MainWindow
from PySide6.QtGui import QImage

from tests.support.corpus import corpus_pdf
from tests.ui.conftest import open_file


def _wait_painted(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    view = window.view
    renderer = window.renderer
    assert renderer is not None

    def done() -> None:
        view.viewport().repaint()
        tiles = view.visible_tiles()
        assert tiles and all(
            renderer.cached(k) is not None and not renderer.stale(k) for k in tiles
        )

    qtbot.waitUntil(done, timeout=20_000)
    view.viewport().repaint()


def _shot(window: MainWindow) -> QImage:
    return window.view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def _difference(window: MainWindow, shot: QImage, reference: pymupdf.Pixmap, box: Rect) -> float:
    """Return the mean difference (0-255) between the view and ``reference`` inside ``box``."""
    view = window.view
    rect = view.page_rect(0)
    zoom = view.zoom
    x0, y0, x1, y1 = view.geometry_of(0).instant_to_display_rect(box, zoom)
    total = count = 0
    for y in range(int(y0) + 2, int(y1) - 2, 2):
        for x in range(int(x0) + 2, int(x1) - 2, 2):
            sx, sy = round(rect.left() + x), round(rect.top() + y)
            if not (0 <= sx < shot.width() and 0 <= sy < shot.height()):
                continue
            seen = shot.pixelColor(sx, sy)
            # The page may start at a fractional pixel: allow one pixel of offset.
            near = [reference.pixel(x + dx, y + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
            total += min(
                abs(seen.red() - w[0]) + abs(seen.green() - w[1]) + abs(seen.blue() - w[2])
                for w in near
            )
            count += 3
    assert count > 20, f"the box {box} is on screen"
    return total / count


def _mupdf(path, zoom: float, *, annots: bool, drop: int | None = None) -> pymupdf.Pixmap:  # type: ignore[no-untyped-def]
    doc = pymupdf.open(path)
    page = doc[0]
    if annots:
        # as the app draws them: clips with no path mended (tests/ui/test_native_note_icon.py)
        for xref, *_ in page.annot_xrefs():
            kind, value = doc.xref_get_key(xref, "AP/N")
            if kind == "xref":
                ap = int(value.split()[0])
                fixed = without_empty_clips(doc.xref_stream(ap))
                if fixed is not None:
                    doc.update_stream(ap, fixed)
        page = doc[0]
    if drop is not None:
        page.delete_annot(page.load_annot(drop))
    return page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), annots=annots)


def _originals(window: MainWindow) -> list[Annotation]:
    assert window.session is not None
    return [a for a in window.session.annotations() if a.pdf_object_id is not None]


@pytest.mark.parametrize("name", ["annot-stamps-acrobat", "annot-all-markup-types"])
def test_unedited_annotations_show_their_own_appearance(qtbot, window, name: str) -> None:  # type: ignore[no-untyped-def]
    path = corpus_pdf(name)
    open_file(qtbot, window, path)
    _wait_painted(qtbot, window)
    assert window.view.viewport().devicePixelRatioF() == 1.0
    shot = _shot(window)
    reference = _mupdf(path, window.view.zoom, annots=True)
    bare = _mupdf(path, window.view.zoom, annots=False)
    checked = 0
    for annotation in _originals(window):
        box = annotation.bbox
        if annotation.page_index != 0 or box.width < 12 or box.height < 12:
            continue
        if window.view.instant_to_viewport(0, (box.right, box.bottom)).y() > 790:
            continue  # below the window's bottom edge
        if (
            _difference(window, shot, bare, box) < 6.0
            and _difference(window, shot, reference, box) < 6.0
        ):
            continue  # it draws nothing visible here (a link, a hidden annotation ...)
        assert _difference(window, shot, reference, box) < 12.0, annotation
        checked += 1
    # The boxes really held the annotations' own drawing (it differs from the bare page).
    assert checked >= 3


def test_an_edited_stamp_is_drawn_by_the_app_and_the_original_goes(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    path = corpus_pdf("annot-stamps-acrobat")
    open_file(qtbot, window, path)
    _wait_painted(qtbot, window)
    zoom = window.view.zoom
    custom = next(a for a in _originals(window) if a.pdf_object_id == 34)
    reference = _mupdf(path, zoom, annots=True)
    assert _difference(window, _shot(window), reference, custom.bbox) < 6.0
    # Move it down by 400 points, to blank paper.
    old_box = custom.bbox
    moved = dataclasses.replace(
        custom, bbox=Rect(old_box.left, old_box.top + 400, old_box.width, old_box.height)
    )
    window.session.update(moved)
    _wait_painted(qtbot, window)
    shot = _shot(window)
    # Where it was, the page shows what MuPDF draws without it ...
    without = _mupdf(path, zoom, annots=True, drop=34)
    assert _difference(window, shot, without, old_box) < 6.0
    # ... and where it went, the app draws the edited record (not white paper).
    assert window.view.native(moved) is False
    blank = _mupdf(path, zoom, annots=False)
    assert _difference(window, shot, blank, moved.bbox) > 1.0
    # Undo brings the original, drawn from its own appearance again.
    assert window.session.undo()
    _wait_painted(qtbot, window)
    assert _difference(window, _shot(window), reference, old_box) < 6.0


def test_an_edit_changes_what_the_tiles_show_by_the_edit_only(  # type: ignore[no-untyped-def]
    qtbot, window, monkeypatch
) -> None:
    """Issue 15: every edit rebuilt the set of the PDF's own annotations the tiles draw from
    all of them (O(N) per edit). Now the view is told what changed: the edited record and
    its page; undo gives it back to the tiles the same way."""
    from lamina.ui.page_canvas import PageCanvas

    open_file(qtbot, window, corpus_pdf("annot-stamps-acrobat"))
    _wait_painted(qtbot, window)
    view = window.view
    rebuilt: list[int] = []
    monkeypatch.setattr(
        PageCanvas, "show_native", lambda self, records: rebuilt.append(len(list(records)))
    )
    renderer = window.renderer
    told: list[tuple[int, set[int]]] = []
    real = type(renderer).show_annotations

    def spy(self, xrefs, pages):  # type: ignore[no-untyped-def]
        pages = set(pages)
        told.append((len(xrefs or ()), pages))
        return real(self, xrefs, pages)

    monkeypatch.setattr(type(renderer), "show_annotations", spy)
    originals = _originals(window)
    custom = next(a for a in originals if a.pdf_object_id == 34)
    natives = len(view.native_xrefs() or ())
    moved = dataclasses.replace(custom, bbox=custom.bbox.translated(0, 400))
    window.session.update(moved)
    assert rebuilt == []  # nothing rebuilt from every record
    assert told == [(natives - 1, {custom.page_index})]
    assert not view.native(moved) and 34 not in (view.native_xrefs() or ())
    assert window.session.undo()
    assert told[-1] == (natives, {custom.page_index})
    assert view.native(custom)


def test_records_the_app_paints_are_drawn_into_the_tiles_once_not_every_frame(  # type: ignore[no-untyped-def]
    qtbot, window, monkeypatch
) -> None:
    """Issue 15: every frame painted every new or edited record over the tiles on the GUI
    thread. They are drawn into a copy of each tile once and kept with it: repainting the
    same view draws no record again; a change of the page's records draws it again; what
    shows on screen is the same."""
    from lamina.model.records import RectangleAnnotation
    from lamina.ui import baked_tiles, page_canvas, page_view

    open_file(qtbot, window, corpus_pdf("annot-stamps-acrobat"))
    _wait_painted(qtbot, window)
    before = _shot(window)
    assert window.session is not None
    box = Rect(100, 560, 300, 120)
    window.session.create(
        RectangleAnnotation(
            id="01J00000000000000000BAKED1",
            page_index=0,
            bbox=box,
            stroke_color="#1E88E5",
            fill_color="#1E88E5",
            stroke_width=4,
        )
    )
    calls: list[str] = []
    real = page_canvas.paint_annotation
    # (the page view paints previews with it, the baked tiles records into tiles)
    for module in (baked_tiles, page_canvas, page_view):
        monkeypatch.setattr(
            module, "paint_annotation", lambda p, a: (calls.append(a.id), real(p, a))[1]
        )
    _wait_painted(qtbot, window)
    shot = _shot(window)
    view = window.view
    centre = view.instant_to_viewport(0, (box.left + box.width / 2, box.top + box.height / 2))
    dpr = shot.devicePixelRatio()
    drawn = shot.pixelColor(round(centre.x() * dpr), round(centre.y() * dpr))
    assert drawn.blue() > 150 and drawn.red() < 120  # the blue rectangle is on screen
    assert before.pixelColor(round(centre.x() * dpr), round(centre.y() * dpr)) != drawn
    assert calls  # drawn (into the tiles that show it)
    calls.clear()
    for _ in range(3):
        view.viewport().repaint()
    assert calls == []  # frames copy the tiles; no record is painted again
    assert _shot(window) == shot


def test_a_record_added_to_a_busy_page_draws_that_record_only(  # type: ignore[no-untyped-def]
    qtbot, window, monkeypatch
) -> None:
    """Issue 15: one edit on a page with many records the app paints drew every record of the
    page again into every tile of it. Now a record added on top is painted into the tiles it
    reaches, and a tile it does not reach is kept; the screen is what a full redraw gives."""
    from lamina.model.records import RectangleAnnotation
    from lamina.ui import baked_tiles, page_canvas, page_view

    open_file(qtbot, window, corpus_pdf("annot-stamps-acrobat"))
    assert window.session is not None
    many = 120
    with window.session.step("many"):
        for i in range(many):
            window.session.create(
                RectangleAnnotation(
                    id=f"01J0000000000000000MANY{i:03d}",
                    page_index=0,
                    bbox=Rect(40 + (i % 12) * 45, 40 + (i // 12) * 70, 30, 40),
                    stroke_color="#E53935",
                    stroke_width=2,
                )
            )
    _wait_painted(qtbot, window)
    view = window.view
    assert len(view.painted_annotations(0)) >= many
    calls: list[str] = []
    real = page_canvas.paint_annotation
    for module in (baked_tiles, page_canvas, page_view):
        monkeypatch.setattr(
            module, "paint_annotation", lambda p, a: (calls.append(a.id), real(p, a))[1]
        )
    box = Rect(60, 60, 20, 20)  # near the top left: one or two tiles at most
    window.session.create(
        RectangleAnnotation(
            id="01J00000000000000000ADDED1",
            page_index=0,
            bbox=box,
            stroke_color="#1E88E5",
            fill_color="#1E88E5",
            stroke_width=2,
        )
    )
    view.viewport().repaint()
    tiles = len(view.visible_tiles())
    assert set(calls) == {"01J00000000000000000ADDED1"}
    assert len(calls) < tiles or tiles == 1
    incremental = _shot(window)
    view._baked.clear()  # everything drawn again from scratch
    view.viewport().repaint()
    assert _shot(window) == incremental
    # A move redraws the tiles the record leaves and reaches; the others are kept.
    moved = window.session.record("01J0000000000000000MANY005")
    assert isinstance(moved, RectangleAnnotation)
    window.session.update(dataclasses.replace(moved, bbox=moved.bbox.translated(200, 500)))
    view.viewport().repaint()
    after_move = _shot(window)
    view._baked.clear()
    view.viewport().repaint()
    assert _shot(window) == after_move
    assert after_move != incremental
