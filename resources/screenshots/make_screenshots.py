"""Make the README screenshots of the main window (offscreen; run from the repository root).

    python resources/screenshots/make_screenshots.py

Writes ``main-window.png``: an annotated corpus PDF with the comments and layers panels
open, drawn through the real widgets with mouse events like a user would; and
``live-review.png``: "Try the sample review" — two windows joined to the review server the
app starts on 127.0.0.1, a drawing in each; the user (layer "me") overlays Sam's layer "sam"
read-only, as the Layers panel shows; sync state in the status bars; ``form-filled.png``
(the corpus 1040 with fields filled and a text field being typed in) and
``invites-list.png`` (Host review with three invites, one revoked).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# A fresh user data directory: the sample review's server and local stores go there.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="lamina-shots-")

from lamina.ui.app import ensure_application
from lamina.ui.controller import AppController
from lamina.ui.page_view import page_rect_center
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtTest import QTest

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent.parent / "shared" / "corpus" / "pdfs"
PDF = CORPUS / "annot-preview-incremental-14p__comments.pdf"


def pump(app: object, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def drag(view: object, page: int, points: list[tuple[float, float]]) -> None:
    vp = view.viewport()  # type: ignore[attr-defined]
    px: list[QPoint] = [page_rect_center(view, page, p) for p in points]  # type: ignore[arg-type]
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, px[0])
    for p in px[1:]:
        QTest.mouseMove(vp, p)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, px[-1])


def main() -> int:
    app = ensure_application()
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "lamina.ini"), QSettings.Format.IniFormat)
    settings.setValue("display_name", "Ann Reviewer")
    controller = AppController(settings)
    window = controller.new_window()
    window.resize(1400, 900)
    window.show()
    window.open_path(PDF)
    pump(app, 1.5)
    view = window.view
    view.set_zoom(1.0)
    view.go_to_page(0)
    pump(app, 0.5)
    words = view.words_of(0)
    if len(words) > 6:
        view.set_tool("text")
        a, b = words[2].rect, words[5].rect
        drag(view, 0, [(a.left + 1, a.top + a.height / 2), (b.right - 1, b.top + b.height / 2)])
        window.markup_selection("highlight")
    window.set_tool("ink")
    drag(view, 0, [(80 + i * 6, 420 + 18 * ((i % 6) - 3) ** 2 / 9) for i in range(30)])
    window.set_tool("rectangle")
    drag(view, 0, [(330, 380), (520, 470)])
    window.set_tool("arrow")
    drag(view, 0, [(300, 560), (420, 500)])
    window.set_tool("stamp")
    drag(view, 0, [(430, 620), (430, 620)])
    # Free text and a sticky note, typed in place like a user does.
    for tool, at, text in (
        ("free_text", (80, 520), "Check these numbers"),
        ("note", (540, 400), "Source for this figure?"),
    ):
        window.set_tool(tool)
        drag(view, 0, [at, at])
        editor = window.inline_editor
        if editor is not None:
            QTest.keyClicks(editor, text)
            QTest.keyClick(editor, Qt.Key.Key_Return)
    window.set_tool("select")
    window.docks["comments"].raise_()
    window.docks["layers"].raise_()
    pump(app, 1.5)
    out = HERE / "main-window.png"
    window.grab().save(str(out))
    print(f"wrote {out}")
    window.close_document()
    live_review(app, controller)
    viewer_shots(app, controller)
    work_shots(app, controller)
    os._exit(0)


def wait_for(app: object, condition: object, seconds: float = 20.0) -> None:
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:  # type: ignore[operator]
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)
    if not condition():  # type: ignore[operator]
        raise SystemExit("timed out waiting for the sample review")


def live_review(app: object, controller: AppController) -> None:
    """Click "Try the sample review", draw in both windows, grab them side by side."""
    window = controller.new_window()
    window.resize(980, 700)
    window.show()
    QTest.mouseClick(window.welcome.sample_button, Qt.MouseButton.LeftButton)
    wait_for(app, lambda: len(controller.windows) >= 3)
    other = controller.windows[-1]
    other.resize(980, 700)
    for w in (window, other):
        wait_for(app, lambda w=w: "Online" in w.connection_label.text())
    wait_for(app, lambda: window.layers.visible_layers() == ["me", "sam"])
    before = len(window.session.annotations())  # type: ignore[union-attr]  # the sample's own
    for w in (window, other):
        w.docks["thumbnails"].hide()
        w.docks["properties"].hide()
        w.view.set_zoom(0.85)
        w.view.go_to_page(0)
        # Wide enough for the Comments panel's Layer column.
        w.resizeDocks([w.docks["comments"]], [330], Qt.Orientation.Horizontal)
    pump(app, 0.5)
    window.set_tool("ink")
    drag(window.view, 0, [(110 + i * 8, 520 + 30 * ((i % 8) - 4) ** 2 / 16) for i in range(40)])
    other.set_tool("rectangle")
    drag(other.view, 0, [(300, 560), (500, 660)])
    window.set_tool("select")
    other.set_tool("select")
    wait_for(app, lambda: len(window.session.annotations()) == before + 1)  # type: ignore[union-attr]
    wait_for(app, lambda: len(window.view.layer_marks()) == 1)  # Sam's rectangle, read-only
    wait_for(app, lambda: window.sync_label.text() == "All changes saved")
    pump(app, 1.0)
    left, right = window.grab(), other.grab()
    gap = 16
    canvas = QPixmap(left.width() + right.width() + gap, max(left.height(), right.height()))
    canvas.fill(QColor("#d0d4da"))
    painter = QPainter(canvas)
    painter.drawPixmap(0, 0, left)
    painter.drawPixmap(left.width() + gap, 0, right)
    painter.end()
    out = HERE / "live-review.png"
    canvas.save(str(out))
    print(f"wrote {out}")


def viewer_shots(app: object, controller: AppController) -> None:
    """The viewer: the Outline panel on a long PDF, and two pages side by side in dark mode."""
    long_pdf = CORPUS / "long-429p-broken-xref__govdocs1-027613.pdf"
    window = controller.new_window()
    window.resize(1300, 860)
    window.show()
    window.open_path(long_pdf)
    wait_for(app, lambda: window.session is not None)
    viewer = window.viewer  # type: ignore[attr-defined]
    window.docks["outline"].raise_()
    window.resizeDocks([window.docks["outline"]], [300], Qt.Orientation.Horizontal)
    outline = viewer.outline
    outline.fill()
    item = outline.topLevelItem(2)
    if item is not None:
        outline.setCurrentItem(item)
        viewer.follow(item.data(0, Qt.ItemDataRole.UserRole))
        item.setExpanded(True)
    pump(app, 2.0)
    out = HERE / "outline-panel.png"
    window.grab().save(str(out))
    print(f"wrote {out}")
    viewer.actions["dark"].setChecked(True)
    viewer.actions["invert"].setChecked(True)
    viewer.actions["two_pages"].setChecked(True)
    window.docks["thumbnails"].raise_()
    window.view.go_to_page(12)
    pump(app, 2.0)
    out = HERE / "two-page-dark.png"
    window.grab().save(str(out))
    print(f"wrote {out}")
    viewer.actions["dark"].setChecked(False)
    window.close_document()


def work_shots(app: object, controller: AppController) -> None:
    """A filled form (the corpus 1040: text fields and check boxes filled by clicks), and
    the Host review dialog's Invites list with one invite revoked."""
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="lamina-form-"))
    form = folder / "f1040.pdf"
    shutil.copyfile(CORPUS / "form-acroform-242-widgets__prefilled_f1040.pdf", form)
    window = controller.new_window()
    window.resize(1300, 860)
    window.show()
    window.open_path(form)
    wait_for(app, lambda: window.session is not None)
    for name in ("thumbnails", "properties", "layers"):
        window.docks[name].hide()
    view = window.view
    pump(app, 0.5)
    view.fit_width()
    view.go_to_page(0)
    pump(app, 1.0)
    filler = view.filler
    assert filler is not None
    texts = sorted(
        (fw for fw in filler.field_widgets(0) if fw.field.kind == "text"),
        key=lambda fw: (round(fw.widget.bbox.top), fw.widget.bbox.left),
    )
    # In reading order: first name, last name, SSN; the spouse's; the street.
    values = ("Ann", "Reviewer", "123-45-6789", "Sam", "Reviewer", "987-65-4321")
    for fw, value in zip(texts[4:5] + texts[3:4] + texts[5:9], values, strict=False):
        filler.fill(fw.field.name, value)
    checks = sorted(
        (fw for fw in filler.field_widgets(0) if fw.field.kind == "checkbox"),
        key=lambda fw: (round(fw.widget.bbox.top), fw.widget.bbox.left),
    )
    for fw in checks[1:2] + checks[6:8]:
        filler.activate(fw)
    view.go_to_page(0)
    pump(app, 0.5)
    if len(texts) > 9:
        editor = filler.open_editor(texts[9])
        QTest.keyClicks(editor, "1 Example Street")
    window.docks["comments"].raise_()
    pump(app, 1.5)
    out = HERE / "form-filled.png"
    window.grab().save(str(out))
    print(f"wrote {out}")
    if filler.editor is not None:
        filler.close_editor(commit=True)

    from lamina.ui.host_dialog import HostReviewDialog

    window.host_action.trigger()
    wait_for(app, lambda: bool(controller.dialogs))
    dialog = controller.dialogs[-1]
    assert isinstance(dialog, HostReviewDialog)
    for name, preset in (("Dana Lee", "reviewer"), ("Sam Okafor", "reviewer"), ("Kim", "viewer")):
        dialog.name_box.setText(name)
        dialog.preset_box.setCurrentIndex(dialog.preset_box.findData(preset))
        dialog.create_invite()
    tree = dialog.invites.tree
    tree.topLevelItem(1).setSelected(True)
    dialog.invites.revoke_selected()
    tree.setCurrentItem(tree.topLevelItem(2))
    pump(app, 1.0)
    out = HERE / "invites-list.png"
    dialog.grab().save(str(out))
    print(f"wrote {out}")
    dialog.close()
    window.close_document()


if __name__ == "__main__":
    sys.exit(main())
