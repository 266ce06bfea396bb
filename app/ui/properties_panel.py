"""The Properties panel: colour, width, opacity and font size of the selection or the next tool."""

from __future__ import annotations

import dataclasses

from lamina.model.records import (
    STAMP_TYPES,
    Annotation,
    CommentMarkerAnnotation,
    InkAnnotation,
    MarkupAnnotation,
    NoteAnnotation,
    Record,
    ShapeAnnotation,
    StampAnnotation,
    TextAnnotation,
    WidgetAnnotation,
)
from lamina.model.tools import ToolStyle
from lamina.ui.swatches import color_icon
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSlider,
    QWidget,
)


class PropertiesPanel(QWidget):
    """Colour, width, opacity and font size of the selection or of the next annotation.

    Signals:
        style_changed(object): the user changed a property; the new :class:`ToolStyle`.
    """

    style_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._style = ToolStyle()
        layout = QFormLayout(self)
        self.target = QLabel("New annotations")
        layout.addRow(self.target)
        self.color_button = QPushButton("Colour…")
        self.color_button.setObjectName("colorButton")
        self.color_button.clicked.connect(self._pick_color)
        layout.addRow("Colour", self.color_button)
        self.width_box = QDoubleSpinBox()
        self.width_box.setRange(0.5, 48)
        self.width_box.setSingleStep(0.5)
        self.width_box.valueChanged.connect(self._changed)
        layout.addRow("Width", self.width_box)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(5, 100)
        self.opacity.valueChanged.connect(self._changed)
        layout.addRow("Opacity", self.opacity)
        self.font_size = QDoubleSpinBox()
        self.font_size.setRange(4, 144)
        self.font_size.valueChanged.connect(self._changed)
        layout.addRow("Font size", self.font_size)
        self.stamp = QComboBox()
        self.stamp.addItems(list(STAMP_TYPES))
        self.stamp.currentTextChanged.connect(self._changed)
        layout.addRow("Stamp", self.stamp)
        self._loading = False
        self.show_style(self._style)

    def show_style(
        self, style: ToolStyle, target: str = "New annotations", editable: bool = True
    ) -> None:
        """Show ``style``; ``editable`` False shows it read-only (another layer's record,
        or one the token may not edit: the controls are disabled, ``target`` says why)."""
        self._loading = True
        for control in (self.color_button, self.width_box, self.opacity, self.font_size):
            control.setEnabled(editable)
        self.stamp.setEnabled(editable)
        self._style = style
        self.target.setText(target)
        self.color_button.setIcon(color_icon(style.color))
        self.color_button.setText(style.color)
        self.width_box.setValue(style.width)
        self.opacity.setValue(round(style.opacity * 100))
        self.font_size.setValue(style.font_size)
        self.stamp.setCurrentText(style.stamp_type)
        self._loading = False

    @property
    def tool_style(self) -> ToolStyle:
        return self._style

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(QColor(self._style.color), self, "Annotation colour")
        if color.isValid():
            self._style = ToolStyle(**{**self._style.__dict__, "color": color.name().upper()})
            self.show_style(self._style, self.target.text())
            self.style_changed.emit(self._style)

    def _changed(self) -> None:
        if self._loading:
            return
        self._style = ToolStyle(
            **{
                **self._style.__dict__,
                "width": self.width_box.value(),
                "opacity": self.opacity.value() / 100,
                "font_size": self.font_size.value(),
                "stamp_type": self.stamp.currentText(),
            }
        )
        self.style_changed.emit(self._style)


def restyled(record: Annotation, style: ToolStyle) -> Annotation:
    """Return ``record`` with the colour, width, opacity and font size of ``style``."""
    changes: dict[str, object] = {"opacity": round(style.opacity, 3) if style.opacity < 1 else None}
    names = {f.name for f in dataclasses.fields(record)}
    for name in ("stroke_color", "color", "font_color"):
        if name in names:
            changes[name] = style.color
    if "line_width" in names:
        changes["line_width"] = style.width
    if "stroke_width" in names:
        changes["stroke_width"] = style.width
    if "font_size" in names:
        changes["font_size"] = style.font_size
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


def annotation_color(record: Record) -> str | None:
    """Return the colour an annotation is drawn in (stroke, markup or icon), if it has one."""
    if isinstance(record, InkAnnotation | ShapeAnnotation):
        return record.stroke_color
    if isinstance(
        record, MarkupAnnotation | NoteAnnotation | CommentMarkerAnnotation | StampAnnotation
    ):
        return record.color
    return None


def text_color(record: Record) -> str | None:
    """Return the colour of an annotation's text (free text, form widget), if it has one."""
    if isinstance(record, TextAnnotation | WidgetAnnotation):
        return record.font_color
    return None


def style_of_record(record: Annotation, base: ToolStyle) -> ToolStyle:
    """Return the style the panel shows for ``record`` (``base`` where it has none)."""
    color = annotation_color(record) or text_color(record)
    width: float | None = None
    if isinstance(record, InkAnnotation):
        width = record.line_width
    elif isinstance(record, ShapeAnnotation):
        width = record.stroke_width
    font_size: object = None
    if isinstance(record, TextAnnotation | WidgetAnnotation):
        font_size = record.font_size
    return dataclasses.replace(
        base,
        color=color if isinstance(color, str) and color.startswith("#") else base.color,
        width=float(width or base.width),
        opacity=record.effective_opacity,
        font_size=float(font_size)
        if isinstance(font_size, int | float) and font_size
        else base.font_size,
    )
