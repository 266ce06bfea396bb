"""Save, export and import: the file side of the main window, with work off the GUI thread."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from lamina.client.review_model import ReviewModel
from lamina.model.diff import CreateRecord, UpdateRecord, changes_for_diff
from lamina.model.errors import LaminaError
from lamina.model.ids import new_record_id
from lamina.model.instant_json import InstantDocument, dumps_instant_json, parse_instant_json
from lamina.model.records import record_from_json, record_to_json
from lamina.model.undo import Change, Create, Delete, Update
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QProgressDialog, QWidget

if TYPE_CHECKING:
    from lamina.ui.main_window import MainWindow


def _ask_path(window: MainWindow, title: str, suggestion: Path, pattern: str) -> Path | None:
    path, _ = QFileDialog.getSaveFileName(window, title, str(suggestion), pattern)
    return Path(path) if path else None


def export_suggestion(window: MainWindow, suffix: str) -> Path:
    """Return the file an export proposes: next to a local PDF, with its name; for a review
    (whose PDF is an internal cache file named by a hash), in the Documents folder, named
    after the document's title (its ``/Title``, else the window's title)."""
    assert window.pdf_path is not None
    if window.claims is None:
        return window.pdf_path.with_name(window.pdf_path.stem + suffix)
    documents = Path.home() / "Documents"
    folder = documents if documents.is_dir() else Path.home()
    title = (window.pdf.title if window.pdf is not None else "") or window.title
    return folder / (safe_file_name(title) + suffix)


def safe_file_name(title: str) -> str:
    """Return ``title`` as a file name: no path separators or control characters, short."""
    cleaned = "".join("-" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in title)
    cleaned = " ".join(cleaned.split()).strip(" .-")
    return cleaned[:80].rstrip(" .-") or "review"


def write_instant_json(window: MainWindow, path: Path) -> None:
    """Write the user's changes as an Instant JSON file (the client's diff against the PDF)."""
    assert window.session is not None
    text = dumps_instant_json(parse_instant_json(window.session.document.export_instant_json()))
    path.write_text(text, encoding="utf-8")


def export_instant_json(window: MainWindow, path: Path | None = None) -> None:
    if window.session is None or window.pdf_path is None:
        return
    path = path or _ask_path(
        window,
        "Export Instant JSON",
        export_suggestion(window, ".instant.json"),
        "Instant JSON (*.json)",
    )
    if path is None:
        return
    try:
        write_instant_json(window, path)
    except (LaminaError, OSError) as exc:
        window.show_error("Export failed", str(exc))
        return
    window.statusBar().showMessage(f"Exported Instant JSON to {path}", 8000)


def export_pdf(
    window: MainWindow, flatten: bool, path: Path | None = None
) -> asyncio.Task[None] | None:
    """Write the PDF with the annotations (burnt in when ``flatten``) to a new file.

    The client document writes it, from the same diff against the PDF's own annotations as
    Export Instant JSON and Ctrl+S (an original the user deleted stays deleted).
    """
    if window.session is None or window.pdf_path is None:
        return None
    suffix = ".flattened.pdf" if flatten else ".annotated.pdf"
    path = path or _ask_path(
        window,
        "Export flattened PDF" if flatten else "Export PDF",
        export_suggestion(window, suffix),
        "PDF files (*.pdf)",
    )
    if path is None:
        return None
    return _write_pdf(window, path, flatten, [], f"Exported to {path}")


def save_into_pdf(window: MainWindow) -> asyncio.Task[None] | None:
    """Save the document (Ctrl+S) without blocking the window.

    A local PDF gets its annotations written into the file atomically (the client keeps a
    backup of the original on the first save); a review sends what is pending and waits
    for the server to keep it.
    """
    if window.session is None or window.pdf_path is None:
        return None
    from lamina.ui.documents import ensure_loop

    document = window.session.document
    standalone = document.standalone
    name = window.pdf_path.name

    async def run() -> None:
        if not standalone:
            window.statusBar().showMessage("Sending pending changes…", 3000)
        try:
            await document.save()
        except (LaminaError, OSError) as exc:
            window.show_error("Save failed", str(exc))
            return
        if standalone:
            window.statusBar().showMessage(f"Saved into {name}", 8000)
        else:
            window.statusBar().showMessage("All changes are on the server", 8000)

    return ensure_loop().create_task(run(), name="lamina-save")


def import_instant_json(window: MainWindow, path: Path | None = None) -> None:
    """Apply an Instant JSON file's changes to the document (one undo step)."""
    if window.session is None:
        return
    if path is None:
        name, _ = QFileDialog.getOpenFileName(
            window, "Import Instant JSON", "", "Instant JSON (*.json)"
        )
        if not name:
            return
        path = Path(name)
    try:
        document = parse_instant_json(path.read_bytes())
    except (LaminaError, OSError) as exc:
        window.show_error("Cannot import this file", str(exc))
        return
    model = window.session
    changes = changes_to_import(model, document)
    model.apply_step(f"import {path.name}", changes)
    window.statusBar().showMessage(f"Imported {len(changes)} changes from {path.name}", 8000)


def export_xfdf(window: MainWindow, path: Path | None = None) -> None:
    """Write the records the user's layer holds as an XFDF file (File → Export XFDF…).

    What XFDF cannot carry (images; customData, blend modes, ... of the others) is left out
    and said in the status bar; the file is written atomically.
    """
    if window.session is None or window.pdf_path is None:
        return
    path = path or _ask_path(
        window, "Export XFDF", window.pdf_path.with_suffix(".xfdf"), "XFDF (*.xfdf)"
    )
    if path is None:
        return
    from lamina.fsutil import write_bytes_atomically
    from lamina.pdf import open_pdf
    from lamina.pdf.xfdf.document import export_xfdf as write_xfdf

    try:
        with open_pdf(window.pdf_path) as doc:
            export = write_xfdf(doc, window.session.records())
        write_bytes_atomically(path, export.data)
    except (LaminaError, OSError) as exc:
        window.show_error("Export failed", str(exc))
        return
    lost = f" ({len(export.losses)} not fully kept: {export.losses[0]})" if export.losses else ""
    window.statusBar().showMessage(f"Exported XFDF to {path}{lost}", 8000)


def import_xfdf(window: MainWindow, path: Path | None = None) -> None:
    """Add an XFDF file's annotations, replies and field values (one undo step).

    A record the layer has (same id, from the XFDF ``name``) is updated; the others are
    created; nothing else is touched.
    """
    if window.session is None or window.pdf_path is None:
        return
    if path is None:
        name, _ = QFileDialog.getOpenFileName(window, "Import XFDF", "", "XFDF (*.xfdf *.xml)")
        if not name:
            return
        path = Path(name)
    from lamina.pdf import open_pdf
    from lamina.pdf.xfdf.document import import_xfdf as read_xfdf

    try:
        data = path.read_bytes()
        with open_pdf(window.pdf_path) as doc:
            content = read_xfdf(doc, data)
    except (LaminaError, OSError) as exc:
        window.show_error("Cannot import this file", str(exc))
        return
    model = window.session
    changes = changes_to_import(model, content.document)
    model.apply_step(f"import {path.name}", changes)
    window.statusBar().showMessage(f"Imported {len(changes)} changes from {path.name}", 8000)


def changes_to_import(model: ReviewModel, document: InstantDocument) -> list[Change]:
    """Return the undoable changes that make the user's layer say what ``document`` says.

    Which records are created, updated (only the keys that differ) or deleted is the one
    rule of :func:`lamina.model.diff.changes_for_diff`; this only turns its plan into
    :mod:`lamina.model.undo` changes, so that the import is one undo step.
    """
    view = {r.id: record_to_json(r) for r in model.records()}
    changes: list[Change] = []
    for planned in changes_for_diff(view, document):
        if isinstance(planned, CreateRecord):
            content = {**planned.content, "id": planned.record_id or new_record_id()}
            changes.append(Create(record_from_json(content)))
            continue
        before = model.record(planned.record_id)
        if before is None:
            continue
        if isinstance(planned, UpdateRecord):
            content = {k: v for k, v in view[planned.record_id].items() if k not in planned.unset}
            changes.append(Update(before, record_from_json({**content, **planned.set})))
        else:
            changes.append(Delete(before))
    return changes


def export_merged_pdf(
    window: MainWindow, layers: list[str], flatten: bool, path: Path | None = None
) -> asyncio.Task[None] | None:
    """Write one PDF with the user's annotations and those of ``layers`` (viewed layers).

    The client writes it (``export_pdf(path, layers=...)``) on a worker thread, behind the
    same progress dialog as the other exports; the file appears complete or not at all.
    Cancel discards the result: the file is removed when the write ends.
    """
    if window.session is None or window.pdf_path is None:
        return None
    suffix = ".merged-flattened.pdf" if flatten else ".merged.pdf"
    path = path or _ask_path(
        window,
        "Export merged PDF of chosen layers",
        export_suggestion(window, suffix),
        "PDF files (*.pdf)",
    )
    if path is None:
        return None
    merged = ", ".join(layers) if layers else "no other layer"
    return _write_pdf(window, path, flatten, layers, f"Exported to {path} (merged: {merged})")


def _write_pdf(
    window: MainWindow, target: Path, flatten: bool, layers: list[str], message: str
) -> asyncio.Task[None]:
    """Have the client write the PDF behind a progress dialog; ``message`` says it is done.

    The client writes on a worker thread; the file appears complete or not at all. Cancel
    cannot stop the write half-way: it discards the result (the file is removed at the end).
    """
    from lamina.ui.documents import ensure_loop

    assert window.session is not None
    document = window.session.document
    dialog = QProgressDialog(f"Writing {target.name}…", "Cancel", 0, 0, window)
    dialog.setObjectName("exportProgress")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(400)
    cancelled: list[bool] = []
    dialog.canceled.connect(lambda: cancelled.append(True))
    window._open_dialogs.append(dialog)

    async def run() -> None:
        error: Exception | None = None
        try:
            await document.export_pdf(target, flatten=flatten, layers=layers)
        except (LaminaError, OSError) as exc:
            error = exc
        dialog.reset()
        dialog.hide()
        if dialog in window._open_dialogs:
            window._open_dialogs.remove(dialog)
        if cancelled:
            if error is None:
                target.unlink(missing_ok=True)
            return
        if error is not None:
            window.show_error("Export failed", str(error))
            return
        window.statusBar().showMessage(message, 8000)
        window.exported.emit(str(target))

    return ensure_loop().create_task(run(), name="lamina-export-pdf")


def choose_layers_to_export(window: MainWindow) -> QWidget | None:
    """Ask which layers to merge, then write them into one PDF (File → Export)."""
    from lamina.ui.export_layers_dialog import ExportLayersDialog

    model, layer_views = window.session, window.layer_views
    if model is None or layer_views is None:
        return None
    own = f"{layer_views.own_label()} (always included)"
    rows = [(model.own_layer, own, True, False)]
    for name in model.shown_layers():
        rows.append((name, f"{name} layer", True, True))
    dialog = ExportLayersDialog(rows, window)
    window._open_dialogs.append(dialog)

    def finished(result: int) -> None:
        if dialog in window._open_dialogs:
            window._open_dialogs.remove(dialog)
        if result == ExportLayersDialog.DialogCode.Accepted:
            layers = [n for n in dialog.chosen() if n != model.own_layer]
            export_merged_pdf(window, layers, dialog.flatten.isChecked())

    dialog.finished.connect(finished)
    dialog.open()
    return dialog
