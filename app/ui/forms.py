"""Filling a PDF's form: text fields, check boxes, radio groups and choice lists.

With the select tool, a click on a field fills it, as in Acrobat Reader or Okular: a check
box toggles, a radio button is chosen, a text field or choice list opens an editor over the
field (Enter or leaving it keeps the value, Escape drops it). Each value is the field's
``pspdfkit/form-field-value`` record, set through :meth:`ReviewModel.fill`, so it is one undo
step, is kept in the local store, and syncs like any record; the ``form-fields:fill``
permission decides (the model refuses, the status bar says why).

The page tiles show the PDF's own appearance of each widget; a value that differs from the
PDF's is painted over its widget by :class:`FormPageView`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lamina.client.errors import ClientError
from lamina.client.review_events import RecordsChanged
from lamina.client.review_model import ActionRefusedError, ReviewModel
from lamina.model.records import FormFieldValue, WidgetAnnotation, form_field_value_id
from lamina.pdf import PdfDocument
from lamina.pdf.form_fields import FormFieldInfo, read_form_fields
from lamina.ui.annotation_painter import instant_transform
from lamina.ui.bridge import ReviewBridge
from lamina.ui.eraser_view import EraserPageView
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QComboBox, QLineEdit, QListWidget, QWidget

CLICK_SLOP = 4.0
"""Pixels a press may move and still be a click on a field."""

_FILLED_BACKGROUND = QColor("#F4F8FF")
_FILLED_INK = QColor("#102A6B")


@dataclass(frozen=True)
class FieldWidget:
    """One widget of a fillable field, where it is and what it stands for."""

    widget: WidgetAnnotation
    field: FormFieldInfo

    @property
    def on_state(self) -> str:
        """The state this widget sets when chosen (check boxes and radio buttons)."""
        return self.field.on_states.get(self.widget.id, "Yes")


class FormFiller(QObject):
    """Fill a document's form fields from clicks on a :class:`FormPageView`.

    Args:
        view: the page view (its ``filler`` becomes this object).
        model: the open document's review model.
        bridge: the model's Qt bridge; this object is its child and goes with it.
        pdf: the PDF shown (its AcroForm gives each field's kind and options).
        report: shows a one-line message (the status bar).
    """

    def __init__(
        self,
        view: FormPageView,
        model: ReviewModel,
        bridge: ReviewBridge,
        pdf: PdfDocument,
        report: Callable[[str], None],
    ) -> None:
        super().__init__(bridge)
        self.view = view
        self.model = model
        self._report = report
        self.fields = read_form_fields(pdf)
        self.editor: QWidget | None = None
        """The editor open over a text field or choice list, if any."""
        self._editing: FieldWidget | None = None
        bridge.records_changed.connect(self._on_records)
        view.filler = self
        view.destroyed.connect(self._forget)
        self._on_records(None)

    def _forget(self) -> None:
        self.editor = None

    # -- what is where ------------------------------------------------------------------

    def field_widgets(self, page: int) -> list[FieldWidget]:
        """Return the fillable widgets on ``page``."""
        out = []
        for a in self.model.page_annotations(page):
            if isinstance(a, WidgetAnnotation) and a.form_field_name in self.fields:
                out.append(FieldWidget(a, self.fields[a.form_field_name]))
        return out

    def at(self, page: int, x: float, y: float) -> FieldWidget | None:
        """Return the fillable widget under an Instant point of ``page``."""
        for fw in reversed(self.field_widgets(page)):
            box = fw.widget.bbox
            if box.left <= x <= box.right and box.top <= y <= box.bottom:
                return fw
        return None

    def value(self, name: str) -> object:
        """Return the value of field ``name`` as the document has it now."""
        record = self.model.record(form_field_value_id(name))
        if isinstance(record, FormFieldValue):
            return record.value
        info = self.fields.get(name)
        if info is None or info.value is None:
            return None
        return list(info.value) if isinstance(info.value, tuple) else info.value

    def changed(self, name: str) -> bool:
        """Return whether field ``name`` has a value other than the PDF's own."""
        info = self.fields[name]
        own = list(info.value) if isinstance(info.value, tuple) else info.value
        return _same_value(self.value(name), own) is False

    # -- filling ------------------------------------------------------------------------

    def activate(self, fw: FieldWidget) -> None:
        """Fill the field of a clicked widget (toggle, choose, or open its editor)."""
        field = fw.field
        if field.read_only:
            self._report(f"The field {_short(field.name)} is read-only in this PDF.")
            return
        if field.kind == "checkbox":
            on = _same_value(self.value(field.name), [fw.on_state])
            self.fill(field.name, [] if on else [fw.on_state])
        elif field.kind == "radio":
            self.fill(field.name, [fw.on_state])
        else:
            self.open_editor(fw)

    def fill(self, name: str, value: str | list[str] | None) -> bool:
        """Set a field's value; return whether it was set (a refusal is reported)."""
        try:
            self.model.fill(name, value)
        except (ActionRefusedError, ClientError) as exc:
            self._report(f"Cannot fill {_short(name)}: {exc}")
            return False
        return True

    def open_editor(self, fw: FieldWidget) -> QWidget:
        """Open the editor of a text field or choice list over its widget; return it."""
        self.close_editor(commit=True)
        field, view = fw.field, self.view
        rect = view.widget_rect(fw.widget)
        current = self.value(field.name)
        editor: QWidget
        if field.kind == "text":
            line = QLineEdit(view.viewport())
            line.setText("" if current is None else str(current))
            line.selectAll()
            line.returnPressed.connect(lambda: self.close_editor(commit=True))
            line.editingFinished.connect(lambda: self.close_editor(commit=True))
            editor = line
        elif field.kind == "combobox":
            combo = QComboBox(view.viewport())
            combo.addItems(list(field.options))
            chosen = _first(current)
            if chosen in field.options:
                combo.setCurrentIndex(field.options.index(chosen))
            combo.activated.connect(lambda _i: self.close_editor(commit=True))
            editor = combo
            rect = QRectF(rect.left(), rect.top(), max(rect.width(), 120.0), max(rect.height(), 24))
        else:
            listing = QListWidget(view.viewport())
            listing.addItems(list(field.options))
            chosen = _first(current)
            if chosen in field.options:
                listing.setCurrentRow(field.options.index(chosen))
            listing.itemActivated.connect(lambda _item: self.close_editor(commit=True))
            listing.itemClicked.connect(lambda _item: self.close_editor(commit=True))
            editor = listing
            rect = QRectF(rect.left(), rect.top(), max(rect.width(), 120.0), max(rect.height(), 60))
        editor.setObjectName("formFieldEditor")
        editor.setGeometry(rect.toAlignedRect())
        editor.installEventFilter(self)
        editor.show()
        editor.setFocus()
        self.editor, self._editing = editor, fw
        return editor

    def close_editor(self, commit: bool) -> None:
        """Close the open editor, keeping its value when ``commit``."""
        editor, fw = self.editor, self._editing
        if editor is None or fw is None:
            return
        self.editor = self._editing = None
        if commit:
            value: str | list[str] | None
            if isinstance(editor, QLineEdit):
                value = editor.text()
            elif isinstance(editor, QComboBox):
                value = [editor.currentText()] if editor.currentIndex() >= 0 else []
            else:
                assert isinstance(editor, QListWidget)
                value = [item.text() for item in editor.selectedItems()]
            if not _same_value(value, self.value(fw.field.name)):
                self.fill(fw.field.name, value)
        editor.removeEventFilter(self)
        editor.hide()
        editor.deleteLater()
        self.view.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.editor and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Escape:
                self.close_editor(commit=False)
                return True
        return False

    def _on_records(self, _event: RecordsChanged | None) -> None:
        self.view.viewport().update()


class FormPageView(EraserPageView):
    """A page view that fills form fields on click (select tool) and shows filled values.

    ``filler`` is set by the :class:`FormFiller` of the document shown (None: no form).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filler: FormFiller | None = None
        self._field_press: tuple[FieldWidget, QPointF] | None = None
        self.verticalScrollBar().valueChanged.connect(self._close_editor)
        self.horizontalScrollBar().valueChanged.connect(self._close_editor)

    def _close_editor(self) -> None:
        if self.filler is not None:
            self.filler.close_editor(commit=True)

    def widget_rect(self, widget: WidgetAnnotation) -> QRectF:
        """Return where a widget is in viewport pixels."""
        page = widget.page_index
        rect = self.page_rect(page)
        transform = instant_transform(self.geometry_of(page), self.zoom, rect.left(), rect.top())
        b = widget.bbox
        return transform.mapRect(QRectF(b.left, b.top, b.width, b.height))

    def field_under(self, pos: QPointF) -> FieldWidget | None:
        """Return the fillable widget under a viewport position (select tool only)."""
        if self.filler is None or self.tool != "select" or self.read_only:
            return None
        located = self._locate(pos)
        if located is None:
            return None
        page, point = located
        return self.filler.at(page, point.x, point.y)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            fw = self.field_under(event.position())
            if fw is not None:
                self.setFocus()
                self._field_press = (fw, event.position())
                return  # a field is filled, not dragged
        self._field_press = None
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        # A quick second click on a field (another radio button) is a click, not a double one.
        if event.button() == Qt.MouseButton.LeftButton and self.field_under(event.position()):
            self.mousePressEvent(event)
            return
        super().mouseDoubleClickEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._field_press is None:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        pressed, self._field_press = self._field_press, None
        if pressed is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        fw, start = pressed
        moved = event.position() - start
        if abs(moved.x()) + abs(moved.y()) <= CLICK_SLOP and self.filler is not None:
            self.set_selected(None)
            self.filler.activate(fw)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        filler = self.filler
        if filler is None or self.page_count == 0:
            return
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for page in self.visible_pages():
            for fw in filler.field_widgets(page):
                if filler.changed(fw.field.name):
                    self._paint_value(painter, fw, filler.value(fw.field.name))
        painter.end()

    def _paint_value(self, painter: QPainter, fw: FieldWidget, value: object) -> None:
        rect = self.widget_rect(fw.widget)
        painter.fillRect(rect, _FILLED_BACKGROUND)
        painter.setPen(QPen(_FILLED_INK, max(1.0, rect.height() / 10)))
        kind = fw.field.kind
        if kind in ("checkbox", "radio"):
            if not _same_value(value, [fw.on_state]):
                return
            inner = rect.adjusted(
                rect.width() * 0.2, rect.height() * 0.2, -rect.width() * 0.2, -rect.height() * 0.2
            )
            if kind == "radio":
                painter.setBrush(_FILLED_INK)
                painter.drawEllipse(inner)
                painter.setBrush(Qt.BrushStyle.NoBrush)
            else:
                painter.drawLine(inner.topLeft(), inner.bottomRight())
                painter.drawLine(inner.topRight(), inner.bottomLeft())
            return
        if kind == "listbox":
            shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        else:
            shown = _first(value) or ""
        font = QFont()
        font.setPixelSize(max(6, int(min(rect.height() * 0.7, 14 * self.zoom))))
        painter.setFont(font)
        painter.drawText(
            rect.adjusted(2, 0, -2, 0),
            int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
            shown,
        )


def _first(value: object) -> str | None:
    if isinstance(value, list | tuple):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def _same_value(a: object, b: object) -> bool:
    """Compare two field values, a one-item list equal to its item ("Red" == ["Red"])."""
    if isinstance(a, tuple):
        a = list(a)
    if isinstance(b, tuple):
        b = list(b)
    if a == b:
        return True
    if isinstance(a, list) and len(a) == 1 and not isinstance(b, list):
        return a[0] == b
    if isinstance(b, list) and len(b) == 1 and not isinstance(a, list):
        return b[0] == a
    return a in (None, "", []) and b in (None, "", [])


def _short(name: str) -> str:
    """Return the last part of a fully qualified field name, for messages."""
    return name.rsplit(".", 1)[-1]
