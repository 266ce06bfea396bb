"""Draw annotation records with ``QPainter``, in Instant coordinates.

The page is rendered without its annotations (``annots=False``); the app draws every record
itself, so what is on screen is always the current records, whoever changed them. The caller
sets a transform from Instant coordinates to the page on screen (:func:`instant_transform`),
so rotation is handled once, here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from lamina.model.geometry import Point, Rect
from lamina.model.records import (
    NO_COLOR,
    Annotation,
    CommentMarkerAnnotation,
    EllipseAnnotation,
    HighlightAnnotation,
    InkAnnotation,
    LineAnnotation,
    MarkupAnnotation,
    NoteAnnotation,
    PolygonAnnotation,
    PolylineAnnotation,
    RectangleAnnotation,
    RedactionAnnotation,
    ShapeAnnotation,
    SquigglyAnnotation,
    StampAnnotation,
    StrikeOutAnnotation,
    TextAnnotation,
    UnderlineAnnotation,
    WidgetAnnotation,
)
from lamina.pdf import PageGeometry
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF, QTransform


def instant_transform(geometry: PageGeometry, zoom: float, dx: float, dy: float) -> QTransform:
    """Return the transform from Instant points to widget pixels of a page shown at ``zoom``.

    ``(dx, dy)`` is where the page's top-left corner is in the widget.
    """
    ox, oy = geometry.instant_to_display((0.0, 0.0), zoom)
    ax, ay = geometry.instant_to_display((1.0, 0.0), zoom)
    bx, by = geometry.instant_to_display((0.0, 1.0), zoom)
    return QTransform(ax - ox, ay - oy, bx - ox, by - oy, ox + dx, oy + dy)


def _color(value: str | None, default: str = "#000000") -> QColor | None:
    if value == NO_COLOR:
        return None
    return QColor(value or default)


def _qrect(rect: Rect) -> QRectF:
    return QRectF(rect.left, rect.top, rect.width, rect.height)


def _pen(color: QColor | None, width: float) -> QPen:
    if color is None:
        return QPen(Qt.PenStyle.NoPen)
    pen = QPen(color, max(width, 0.01))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def painted_bounds(annotation: Annotation) -> QRectF:
    """Return a rectangle in Instant points that holds all :func:`paint_annotation` draws
    of ``annotation``: its bbox and points, grown by its stroke and its line caps (a cap is
    at most four strokes wide, and at least 6 points)."""
    box = annotation.bbox
    xs, ys = [box.left, box.right], [box.top, box.bottom]
    width = 1.0
    if isinstance(annotation, InkAnnotation):
        width = annotation.line_width
        for segment in annotation.lines.points:
            xs.extend(p[0] for p in segment)
            ys.extend(p[1] for p in segment)
    elif isinstance(annotation, ShapeAnnotation):
        width = annotation.stroke_width if annotation.stroke_width is not None else 1.0
        if isinstance(annotation, LineAnnotation):
            points: list[Point] = [annotation.start_point, annotation.end_point]
        elif isinstance(annotation, PolylineAnnotation | PolygonAnnotation):
            points = list(annotation.points)
        else:
            points = []
        xs.extend(p[0] for p in points)
        ys.extend(p[1] for p in points)
    grow = max(6.0, width * 4) + width + 2.0
    return QRectF(
        min(xs) - grow, min(ys) - grow, max(xs) - min(xs) + 2 * grow, max(ys) - min(ys) + 2 * grow
    )


def paint_annotation(painter: QPainter, annotation: Annotation) -> None:
    """Draw one annotation; the painter's transform maps Instant points to the screen."""
    painter.save()
    try:
        painter.setOpacity(painter.opacity() * annotation.effective_opacity)
        if annotation.blend_mode == "multiply":
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Multiply)
        _PAINTERS.get(type(annotation), _paint_other)(painter, annotation)
    finally:
        painter.restore()


def _paint_ink(painter: QPainter, a: Annotation) -> None:
    assert isinstance(a, InkAnnotation)
    painter.setPen(_pen(_color(a.stroke_color), a.line_width))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for segment in a.lines.points:
        if not segment:
            continue
        if len(segment) == 1 or all(p == segment[0] for p in segment):
            painter.drawPoint(QPointF(*segment[0]))
            continue
        path = QPainterPath(QPointF(*segment[0]))
        for p in segment[1:]:
            path.lineTo(QPointF(*p))
        painter.drawPath(path)


def _shape_style(painter: QPainter, a: ShapeAnnotation) -> float:
    width = a.stroke_width if a.stroke_width is not None else 1.0
    painter.setPen(_pen(_color(a.stroke_color), width))
    fill = _color(a.fill_color, NO_COLOR) if a.fill_color else None
    painter.setBrush(QBrush(fill) if fill is not None else Qt.BrushStyle.NoBrush)
    return width


def _paint_box(painter: QPainter, a: Annotation) -> None:
    assert isinstance(a, RectangleAnnotation | EllipseAnnotation)
    width = _shape_style(painter, a)
    rect = _qrect(a.bbox).adjusted(width / 2, width / 2, -width / 2, -width / 2)
    if isinstance(a, EllipseAnnotation):
        painter.drawEllipse(rect)
    else:
        painter.drawRect(rect)


def _arrow_head(painter: QPainter, tip: Point, tail: Point, size: float, closed: bool) -> None:
    angle = math.atan2(tip.y - tail.y, tip.x - tail.x)
    left = QPointF(
        tip.x - size * math.cos(angle - math.pi / 7), tip.y - size * math.sin(angle - math.pi / 7)
    )
    right = QPointF(
        tip.x - size * math.cos(angle + math.pi / 7), tip.y - size * math.sin(angle + math.pi / 7)
    )
    if closed:
        painter.setBrush(QBrush(painter.pen().color()))
        painter.drawPolygon(QPolygonF([QPointF(*tip), left, right]))
    else:
        painter.drawPolyline(QPolygonF([left, QPointF(*tip), right]))


def _caps(
    painter: QPainter,
    caps: object,
    first: Point,
    second: Point,
    last: Point,
    before_last: Point,
    width: float,
) -> None:
    if not isinstance(caps, dict):
        return
    size = max(6.0, width * 4)
    for which, tip, tail in (("start", first, second), ("end", last, before_last)):
        cap = caps.get(which)
        if cap in ("openArrow", "closedArrow"):
            _arrow_head(painter, tip, tail, size, cap == "closedArrow")
        elif cap in ("reverseOpenArrow", "reverseClosedArrow"):
            _arrow_head(painter, tail, tip, size, cap == "reverseClosedArrow")
        elif cap == "circle":
            painter.drawEllipse(QPointF(*tip), size / 3, size / 3)
        elif cap == "square":
            painter.drawRect(QRectF(tip.x - size / 3, tip.y - size / 3, size * 2 / 3, size * 2 / 3))


def _paint_line(painter: QPainter, a: Annotation) -> None:
    assert isinstance(a, LineAnnotation)
    width = _shape_style(painter, a)
    painter.drawLine(QPointF(*a.start_point), QPointF(*a.end_point))
    _caps(painter, a.line_caps, a.start_point, a.end_point, a.end_point, a.start_point, width)


def _paint_points(painter: QPainter, a: Annotation) -> None:
    assert isinstance(a, PolylineAnnotation | PolygonAnnotation)
    width = _shape_style(painter, a)
    polygon = QPolygonF([QPointF(*p) for p in a.points])
    if isinstance(a, PolygonAnnotation):
        painter.drawPolygon(polygon)
    else:
        painter.drawPolyline(polygon)
        if len(a.points) >= 2:
            pts = a.points
            _caps(painter, a.line_caps, pts[0], pts[1], pts[-1], pts[-2], width)


def _paint_markup(painter: QPainter, a: Annotation) -> None:
    assert isinstance(a, MarkupAnnotation)
    color = _color(a.color, "#FFEB3B") or QColor("#FFEB3B")
    if isinstance(a, RedactionAnnotation):
        painter.setPen(_pen(_color(a.outline_color, "#E53935"), 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for r in a.rects or (a.bbox,):
            painter.drawRect(_qrect(r))
        return
    for r in a.rects or (a.bbox,):
        thickness = max(0.8, r.height / 14)
        if isinstance(a, UnderlineAnnotation):
            painter.setPen(_pen(color, thickness))
            y = r.bottom - thickness / 2
            painter.drawLine(QPointF(r.left, y), QPointF(r.right, y))
        elif isinstance(a, StrikeOutAnnotation):
            painter.setPen(_pen(color, thickness))
            y = r.top + r.height / 2
            painter.drawLine(QPointF(r.left, y), QPointF(r.right, y))
        elif isinstance(a, SquigglyAnnotation):
            painter.setPen(_pen(color, thickness))
            step = max(2.0, r.height / 6)
            path = QPainterPath(QPointF(r.left, r.bottom - step))
            x, up = r.left, False
            while x < r.right:
                x = min(r.right, x + step)
                path.lineTo(QPointF(x, r.bottom - (step if up else 0)))
                up = not up
            painter.drawPath(path)
        else:
            if a.blend_mode is None:
                painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Multiply)
            painter.fillRect(_qrect(r), color)


def _paint_text(painter: QPainter, a: Annotation) -> None:
    assert isinstance(a, TextAnnotation)
    rect = _qrect(a.bbox)
    background = _color(a.background_color, NO_COLOR) if a.background_color else None
    if background is not None:
        painter.fillRect(rect, background)
    border = _color(a.border_color, NO_COLOR) if a.border_color else None
    if border is not None:
        painter.setPen(_pen(border, a.border_width or 1.0))
        painter.drawRect(rect)
    font = QFont(a.font or "Helvetica")
    font.setPointSizeF(max(1.0, a.font_size or 12.0))
    # Instant points are 1/72 inch; the painter's transform already scales them to pixels.
    font.setPixelSize(max(1, round(a.font_size or 12.0)))
    painter.setFont(font)
    painter.setPen(_color(a.font_color) or QColor("#000000"))
    align = {
        "center": Qt.AlignmentFlag.AlignHCenter,
        "right": Qt.AlignmentFlag.AlignRight,
    }.get(a.horizontal_align or "", Qt.AlignmentFlag.AlignLeft)
    painter.drawText(
        rect.adjusted(2, 1, -2, -1), int(align) | int(Qt.TextFlag.TextWordWrap), a.text.value
    )


def _paint_note(painter: QPainter, a: Annotation) -> None:
    assert isinstance(a, NoteAnnotation | CommentMarkerAnnotation)
    color = _color(a.color, "#FFC107") or QColor("#FFC107")
    rect = _qrect(a.bbox)
    painter.setPen(_pen(color.darker(160), 1.0))
    painter.setBrush(QBrush(color))
    painter.drawRoundedRect(rect.adjusted(1, 1, -1, -5), 3, 3)
    tail = QPolygonF(
        [
            QPointF(rect.left() + rect.width() * 0.3, rect.bottom() - 5),
            QPointF(rect.left() + rect.width() * 0.3, rect.bottom()),
            QPointF(rect.left() + rect.width() * 0.55, rect.bottom() - 5),
        ]
    )
    painter.drawPolygon(tail)
    painter.setPen(_pen(color.darker(200), 1.2))
    inner = rect.adjusted(5, 5, -5, -9)
    for i in range(3):
        y = inner.top() + inner.height() * (i + 0.5) / 3
        painter.drawLine(QPointF(inner.left(), y), QPointF(inner.right(), y))


def stamp_label(a: StampAnnotation) -> str:
    """Return the text a stamp shows: its title, or its standard name spelled out."""
    if a.title:
        return a.title
    name = a.stamp_type
    words: list[str] = []
    for ch in name:
        if ch.isupper() and words:
            words.append(" ")
        words.append(ch)
    return "".join(words).upper()


def _paint_stamp(painter: QPainter, a: Annotation) -> None:
    assert isinstance(a, StampAnnotation)
    color = _color(a.color, "#2E7D32") or QColor("#2E7D32")
    rect = _qrect(a.bbox).adjusted(1.5, 1.5, -1.5, -1.5)
    painter.setPen(_pen(color, 3.0))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(rect, 6, 6)
    font = QFont("Helvetica")
    font.setBold(True)
    label = stamp_label(a)
    font.setPixelSize(
        max(1, int(min(rect.height() * 0.5, rect.width() / max(4, len(label)) * 1.6)))
    )
    painter.setFont(font)
    painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), label)


def _paint_widget(painter: QPainter, a: Annotation) -> None:
    assert isinstance(a, WidgetAnnotation)
    painter.setPen(_pen(QColor(60, 110, 200, 160), 0.8))
    painter.setBrush(QBrush(QColor(120, 160, 255, 40)))
    painter.drawRect(_qrect(a.bbox))


def _paint_other(painter: QPainter, a: Annotation) -> None:
    # Links and types the app does not draw stay invisible, as in other viewers.
    return


_PAINTERS: dict[type[Annotation], Callable[[QPainter, Annotation], None]] = {
    InkAnnotation: _paint_ink,
    RectangleAnnotation: _paint_box,
    EllipseAnnotation: _paint_box,
    LineAnnotation: _paint_line,
    PolylineAnnotation: _paint_points,
    PolygonAnnotation: _paint_points,
    **{
        cls: _paint_markup
        for cls in (
            HighlightAnnotation,
            UnderlineAnnotation,
            StrikeOutAnnotation,
            SquigglyAnnotation,
            RedactionAnnotation,
        )
    },
    TextAnnotation: _paint_text,
    NoteAnnotation: _paint_note,
    CommentMarkerAnnotation: _paint_note,
    StampAnnotation: _paint_stamp,
    WidgetAnnotation: _paint_widget,
}


def paint_selection(painter: QPainter, bbox: Rect, handle: float) -> None:
    """Draw the selection frame and its four corner handles (``handle`` in points)."""
    painter.save()
    pen = QPen(QColor("#1565C0"), 0)
    pen.setStyle(Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(_qrect(bbox))
    painter.setPen(QPen(QColor("#1565C0"), 0))
    painter.setBrush(QBrush(QColor("#FFFFFF")))
    for x, y in (
        (bbox.left, bbox.top),
        (bbox.right, bbox.top),
        (bbox.left, bbox.bottom),
        (bbox.right, bbox.bottom),
    ):
        painter.drawRect(QRectF(x - handle / 2, y - handle / 2, handle, handle))
    painter.restore()
