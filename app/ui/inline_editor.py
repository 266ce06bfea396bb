"""Type the text of a new free text or sticky note in place, over the page.

The editor is a small text box on the page view's viewport where the annotation goes: Enter
keeps the text, Shift+Enter starts a new line, Escape drops the annotation. Clicking elsewhere
keeps what was typed (and drops an empty annotation).
"""

from __future__ import annotations

from collections.abc import Callable

from lamina.model.records import NoteAnnotation, TextAnnotation
from lamina.ui.page_view import PageView
from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QPlainTextEdit, QWidget


class InlineTextEditor(QPlainTextEdit):
    """A text box that ends with Enter (keep) or Escape (drop).

    Signals:
        committed(str): the user finished; the text typed (stripped, may be empty).
        cancelled(): the user pressed Escape.
    """

    committed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QWidget, placeholder: str) -> None:
        super().__init__(parent)
        self.setObjectName("inlineTextEditor")
        self.setPlaceholderText(placeholder)
        self.setToolTip("Enter: done · Shift+Enter: new line · Esc: cancel")
        self.setTabChangesFocus(True)
        self.setStyleSheet(
            "QPlainTextEdit { background: #FFFDE7; color: #212121; border: 2px solid #1565C0; }"
        )
        self._done = False

    @property
    def finished(self) -> bool:
        """Return whether the editor has already committed or cancelled."""
        return self._done

    def show_at(self, top_left: QPoint, size: QSize) -> None:
        """Show the editor at ``top_left`` of its parent and give it the keyboard."""
        self.resize(size)
        self.move(top_left)
        self.show()
        self.raise_()
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def commit(self) -> None:
        """Finish with the text typed so far."""
        if not self._done:
            self._done = True
            self.committed.emit(self.toPlainText().strip())

    def cancel(self) -> None:
        """Finish without text (the annotation is dropped)."""
        if not self._done:
            self._done = True
            self.cancelled.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.cancel()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self.commit()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.insertPlainText("\n")
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        # A click elsewhere keeps what was typed, as in other editors. Popups (a context
        # menu of the editor itself) take the focus only for a moment: ignore them.
        if event.reason() != Qt.FocusReason.PopupFocusReason:
            self.commit()


def type_text_over(
    view: PageView, record: TextAnnotation | NoteAnnotation, done: Callable[[str], None]
) -> InlineTextEditor:
    """Show an editor for the text of ``record`` over its box; call ``done(text)`` once.

    The editor follows the page while the user scrolls or zooms: over the box of a free
    text, beside the icon of a note (as its pop-up). It is gone when ``done`` runs; the text
    is ``""`` when the user pressed Escape or typed nothing.
    """
    note = isinstance(record, NoteAnnotation)
    editor = InlineTextEditor(view.viewport(), "Type the note…" if note else "Type the text…")
    bars = (view.verticalScrollBar(), view.horizontalScrollBar())
    moves = (bars[0].valueChanged, bars[1].valueChanged, view.zoom_changed)

    def place() -> None:
        if editor.finished or view.page_count == 0:
            return
        box = record.bbox
        corners = [
            view.instant_to_viewport(record.page_index, p)
            for p in ((box.left, box.top), (box.right, box.bottom))
        ]
        left = min(c.x() for c in corners)
        top = min(c.y() for c in corners)
        width = max(c.x() for c in corners) - left
        height = max(c.y() for c in corners) - top
        if note:
            editor.show_at(QPoint(round(left + width + 4), round(top)), QSize(240, 110))
        else:
            editor.show_at(
                QPoint(round(left), round(top)),
                QSize(max(round(width), 200), max(round(height), 60)),
            )

    def finish(text: str) -> None:
        for signal in moves:
            signal.disconnect(place)
        editor.hide()
        editor.deleteLater()
        view.setFocus()
        done(text)

    for signal in moves:
        signal.connect(place)
    editor.committed.connect(finish)
    editor.cancelled.connect(lambda: finish(""))
    place()
    return editor
