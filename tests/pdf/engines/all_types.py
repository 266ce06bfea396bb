"""The all-types sample: every annotation type Lamina writes, one per cell, with known colours.

:func:`sample_pdf` writes it through Lamina's own writer (``apply_instant_json``) onto a blank
two-page PDF that has a text field and a check box; :data:`CASES` says, for each annotation,
its rectangle and the colour it must show. Cells are 153 x 132 pt and an annotation keeps
20 pt from its cell's edges, so whatever is drawn outside its rectangle is seen.
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass, field
from typing import Any

import pymupdf
from lamina.model.instant_json import parse_instant_json
from lamina.pdf import apply_instant_json

PAGE = (612.0, 792.0)
COLUMNS, ROWS = 4, 6
CELL = (PAGE[0] / COLUMNS, PAGE[1] / ROWS)
INSET = 20.0
TEXT_FIELD, CHECK_BOX = "engine.name", "engine.agree"
IMAGE_COLOR = "#00c0c0"
IMAGE_LEFT, IMAGE_RIGHT = "#00b000", "#b000b0"
"""The two halves of the image that is drawn turned."""


@dataclass(frozen=True)
class Case:
    """One annotation of the sample and what an engine must show of it.

    Attributes:
        key: the test id (and the record's ``id``/``name``).
        page, cell: where it is (cell counts row by row from the top left).
        colors: colours that must each show inside its rectangle (``#rrggbb``, already
            mixed with the white page where the annotation is translucent).
        record: the Instant JSON annotation without id, page and bbox (None: a form field
            value, whose widget the base PDF has).
        bbox: the rectangle in Instant space (default: the cell less its inset).
        extra: further checks (tests/pdf/test_engines.py): ``only_in`` [(colour, region)],
            every pixel of that colour is inside the region (fractions of the rectangle:
            left, top, right, bottom); ``in`` [(colour, region)], it shows in the region;
            ``wavy_top``, the top border is a cloud, not a straight line; ``turned_from``,
            the key of a case it draws turned a quarter left.
    """

    key: str
    page: int
    cell: int
    colors: tuple[str, ...]
    record: dict[str, Any] | None
    bbox: tuple[float, float, float, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cell_rect(self) -> tuple[float, float, float, float]:
        column, row = self.cell % COLUMNS, self.cell // COLUMNS
        return (column * CELL[0], row * CELL[1], CELL[0], CELL[1])

    @property
    def rect(self) -> tuple[float, float, float, float]:
        if self.bbox is not None:
            return self.bbox
        left, top, width, height = self.cell_rect
        return (left + INSET, top + INSET, width - 2 * INSET, height - 2 * INSET)


def mixed(color: str, opacity: float) -> str:
    """Return ``color`` drawn at ``opacity`` over white."""
    channels = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(opacity * c + (1 - opacity) * 255):02x}" for c in channels)


def _small(cell: int, size: float = 32.0) -> tuple[float, float, float, float]:
    cell %= COLUMNS * ROWS
    column, row = cell % COLUMNS, cell // COLUMNS
    left = column * CELL[0] + (CELL[0] - size) / 2
    top = row * CELL[1] + (CELL[1] - size) / 2
    return (left, top, size, size)


def _box(cell: int, width: float, height: float) -> tuple[float, float, float, float]:
    """A ``width`` x ``height`` box in the middle of ``cell``."""
    cell %= COLUMNS * ROWS
    column, row = cell % COLUMNS, cell // COLUMNS
    left = column * CELL[0] + (CELL[0] - width) / 2
    top = row * CELL[1] + (CELL[1] - height) / 2
    return (left, top, width, height)


def _points(cell: int, *relative: tuple[float, float]) -> list[list[float]]:
    left, top, width, height = Case("", 0, cell % (COLUMNS * ROWS), (), None).rect
    return [[left + x * width, top + y * height] for x, y in relative]


def _rects(cell: int) -> list[list[float]]:
    left, top, width, height = Case("", 0, cell % (COLUMNS * ROWS), (), None).rect
    # Markup rects keep a tenth of the width from the sides: a highlight's rounded ends
    # reach past its rects (as in Acrobat), which is not a mark outside its rectangle.
    third, side = height / 3, width / 10
    return [
        [left + side, top, width - 2 * side, third],
        [left + side, top + 2 * third, width * 0.6, third],
    ]


def _cases() -> list[Case]:
    c: list[Case] = []

    def add(
        key: str, cell: int, colors: tuple[str, ...], record: dict[str, Any] | None, **kw: Any
    ) -> None:
        c.append(Case(key, cell // (COLUMNS * ROWS), cell % (COLUMNS * ROWS), colors, record, **kw))

    shape = "pspdfkit/shape/"
    add(
        "rectangle-stroke",
        0,
        ("#e01010",),
        {"type": shape + "rectangle", "strokeColor": "#e01010", "strokeWidth": 4},
    )
    add(
        "rectangle-fill-opacity",
        1,
        (mixed("#1040e0", 0.5),),
        {
            "type": shape + "rectangle",
            "fillColor": "#1040e0",
            "strokeColor": "#1040e0",
            "strokeWidth": 2,
            "opacity": 0.5,
        },
    )
    add(
        "rectangle-cloudy",
        2,
        ("#108010",),
        {
            "type": shape + "rectangle",
            "strokeColor": "#108010",
            "strokeWidth": 2,
            "cloudyBorderIntensity": 2,
            "cloudyBorderInset": [9, 9, 9, 9],
        },
        extra={"wavy_top": True},
    )
    add(
        "ellipse-fill",
        3,
        ("#f0a000", "#a05000"),
        {
            "type": shape + "ellipse",
            "fillColor": "#f0a000",
            "strokeColor": "#a05000",
            "strokeWidth": 3,
        },
    )
    add(
        "ellipse-dashed",
        4,
        ("#8000c0",),
        {
            "type": shape + "ellipse",
            "strokeColor": "#8000c0",
            "strokeWidth": 3,
            "strokeDashArray": [6, 3],
        },
    )
    add(
        "line-arrows",
        5,
        ("#0090a0",),
        {
            "type": shape + "line",
            "strokeColor": "#0090a0",
            "strokeWidth": 4,
            "startPoint": _points(5, (0.25, 0.25))[0],
            "endPoint": _points(5, (0.8, 0.8))[0],
            "lineCaps": {"start": "circle", "end": "closedArrow"},
            "fillColor": "#0090a0",
        },
    )
    add(
        "polyline-arrow",
        6,
        ("#c00060",),
        {
            "type": shape + "polyline",
            "strokeColor": "#c00060",
            "strokeWidth": 3,
            "points": _points(6, (0.1, 0.9), (0.4, 0.1), (0.6, 0.9), (0.9, 0.2)),
            "lineCaps": {"end": "openArrow"},
        },
    )
    add(
        "polygon-fill",
        7,
        ("#40c040", "#206020"),
        {
            "type": shape + "polygon",
            "fillColor": "#40c040",
            "strokeColor": "#206020",
            "strokeWidth": 3,
            "points": _points(7, (0.5, 0.05), (0.95, 0.95), (0.05, 0.95)),
        },
    )
    add(
        "polygon-cloudy",
        8,
        ("#2060c0",),
        {
            "type": shape + "polygon",
            "strokeColor": "#2060c0",
            "strokeWidth": 2,
            "cloudyBorderIntensity": 1,
            "points": _points(8, (0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8)),
        },
        extra={"wavy_top": True},
    )
    add(
        "ink",
        9,
        ("#d02090",),
        {
            "type": "pspdfkit/ink",
            "strokeColor": "#d02090",
            "lineWidth": 5,
            "isDrawnNaturally": False,
            "lines": {
                "points": [_points(9, (0.1, 0.5), (0.3, 0.1), (0.5, 0.9), (0.7, 0.1), (0.9, 0.5))],
                "intensities": [[0.5, 0.6, 0.7, 0.8, 0.9]],
            },
        },
    )
    markup = "pspdfkit/markup/"
    add(
        "highlight-multiply",
        10,
        ("#ffe000",),
        {
            "type": markup + "highlight",
            "color": "#ffe000",
            "blendMode": "multiply",
            "rects": _rects(10),
        },
    )
    add(
        "underline",
        11,
        ("#0000ff",),
        {"type": markup + "underline", "color": "#0000ff", "rects": _rects(11)},
    )
    add(
        "strikeout",
        12,
        ("#ff0000",),
        {"type": markup + "strikeout", "color": "#ff0000", "rects": _rects(12)},
    )
    add(
        "squiggly",
        13,
        ("#00a000",),
        {"type": markup + "squiggly", "color": "#00a000", "rects": _rects(13)},
    )
    add(
        "redaction",
        14,
        ("#e00000",),
        {
            "type": markup + "redaction",
            "outlineColor": "#e00000",
            "fillColor": "#000000",
            "rects": _rects(14),
        },
    )
    text = "pspdfkit/text"
    add(
        "free-text-centred",
        15,
        ("#c00000", "#ffff80"),
        {
            "type": text,
            "text": {"format": "plain", "value": "Lamina MM"},
            "fontColor": "#c00000",
            "backgroundColor": "#ffff80",
            "font": "Times",
            "fontSize": 16,
            "horizontalAlign": "center",
            "verticalAlign": "center",
        },
        # vertically centred: the words are in the middle of the box, not at its top
        extra={"only_in": [("#c00000", (0.0, 0.3, 1.0, 0.7))]},
    )
    add(
        "free-text-rotated",
        16,
        ("#0000c0",),
        {
            "type": text,
            "text": {"format": "plain", "value": "Rotated MM"},
            "fontColor": "#0000c0",
            "font": "Courier",
            "fontSize": 14,
            "horizontalAlign": "right",
            "verticalAlign": "bottom",
            "rotation": 90,
        },
        # turned a quarter left, the lines' bottom is the box's right side
        extra={"only_in": [("#0000c0", (0.6, 0.0, 1.0, 1.0))]},
    )
    add(
        "stamp-approved",
        17,
        ("#008000",),
        {"type": "pspdfkit/stamp", "stampType": "Approved", "color": "#008000"},
    )
    add(
        "stamp-completed",
        18,
        ("#2040c0",),
        {"type": "pspdfkit/stamp", "stampType": "Completed", "color": "#2040c0"},
    )
    add(
        "stamp-custom",
        19,
        ("#008000",),
        {
            "type": "pspdfkit/stamp",
            "stampType": "Custom",
            "title": "APPROUVÉ",
            "subtitle": "par Lamina",
            "color": "#008000",
        },
    )
    add(
        "note-comment",
        20,
        ("#ffd000",),
        {
            "type": "pspdfkit/note",
            "icon": "comment",
            "color": "#ffd000",
            "text": {"format": "plain", "value": "a note"},
        },
        bbox=_small(20),
    )
    add(
        "note-check",
        21,
        ("#e04000",),
        {
            "type": "pspdfkit/note",
            "icon": "check",
            "color": "#e04000",
            "text": {"format": "plain", "value": "checked"},
        },
        bbox=_small(21),
    )
    add(
        "image",
        22,
        (IMAGE_COLOR,),
        {"type": "pspdfkit/image", "imageAttachmentId": "engine-image", "contentType": "image/png"},
    )
    add(
        "comment-marker",
        23,
        ("#ff8000",),
        {"type": "pspdfkit/comment-marker", "color": "#ff8000", "icon": "comment"},
        bbox=_small(23),
    )
    # page 2
    add(
        "note-cross",
        24,
        ("#a000a0",),
        {
            "type": "pspdfkit/note",
            "icon": "cross",
            "color": "#a000a0",
            "text": {"format": "plain", "value": "x"},
        },
        bbox=_small(24),
    )
    add(
        "link-border",
        25,
        ("#ff00ff",),
        {
            "type": "pspdfkit/link",
            "borderColor": "#ff00ff",
            "borderWidth": 3,
            "borderStyle": "solid",
            "action": {"type": "uri", "uri": "https://example.com/"},
        },
    )
    add(
        "stamp-rotated",
        26,
        ("#c00000",),
        {"type": "pspdfkit/stamp", "stampType": "Rejected", "color": "#c00000", "rotation": 90},
        bbox=_box(26, 40, 100),
        # drawn as "stamp-wide" turned a quarter left (test_engines compares the two)
        extra={"turned_from": "stamp-wide"},
    )
    add(
        "free-text-callout",
        27,
        ("#0000ff", "#008080"),
        {
            "type": text,
            "text": {"format": "plain", "value": "Call"},
            "fontColor": "#008080",
            "fontSize": 12,
            "borderColor": "#0000ff",
            "borderWidth": 2,
            "callout": {
                "start": _points(27, (0.05, 0.95))[0],
                "knee": _points(27, (0.2, 0.6))[0],
                "end": _points(27, (0.45, 0.3))[0],
                "cap": "closedArrow",
                "innerRectInset": [50, 0, 0, 45],
            },
        },
        # the callout line and its arrow reach the bottom left corner, outside the text box
        extra={"in": [("#0000ff", (0.0, 0.7, 0.3, 1.0))]},
    )
    add(
        "stamp-wide",
        30,
        ("#c00000",),
        {"type": "pspdfkit/stamp", "stampType": "Rejected", "color": "#c00000"},
        bbox=_box(30, 100, 40),
    )
    add(
        "image-rotated",
        31,
        (IMAGE_LEFT, IMAGE_RIGHT),
        {
            "type": "pspdfkit/image",
            "imageAttachmentId": "engine-image-halves",
            "contentType": "image/png",
            "rotation": 90,
        },
        bbox=_box(31, 40, 80),
        # turned a quarter left: the image's left half is at the bottom, its right at the top
        extra={
            "only_in": [(IMAGE_LEFT, (0.0, 0.45, 1.0, 1.0)), (IMAGE_RIGHT, (0.0, 0.0, 1.0, 0.55))]
        },
    )
    add(
        "form-text-value",
        28,
        ("#000000",),
        None,
        bbox=(28 % 4 * CELL[0] + INSET, CELL[1] + 40, 113, 24),
    )
    add(
        "form-check-box", 29, ("#000000",), None, bbox=(29 % 4 * CELL[0] + 50, CELL[1] + 40, 24, 24)
    )
    return c


ALL_CASES: tuple[Case, ...] = tuple(_cases())
CASES: tuple[Case, ...] = ALL_CASES
BY_KEY = {case.key: case for case in ALL_CASES}


@functools.cache
def image_png() -> bytes:
    """A small PNG of one flat colour (:data:`IMAGE_COLOR`)."""
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 16, 16), False)
    pixmap.set_rect(pixmap.irect, tuple(int(IMAGE_COLOR[i : i + 2], 16) for i in (1, 3, 5)))
    return bytes(pixmap.tobytes("png"))


@functools.cache
def halves_png() -> bytes:
    """A 32 x 16 PNG: its left half :data:`IMAGE_LEFT`, its right half :data:`IMAGE_RIGHT`."""
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 32, 16), False)
    for irect, color in (((0, 0, 16, 16), IMAGE_LEFT), ((16, 0, 32, 16), IMAGE_RIGHT)):
        pixmap.set_rect(pymupdf.IRect(*irect), tuple(int(color[i : i + 2], 16) for i in (1, 3, 5)))
    return bytes(pixmap.tobytes("png"))


@functools.cache
def base_pdf() -> bytes:
    """The blank pages, with the text field and the check box the form values fill."""
    doc = pymupdf.open()
    for _ in range(2):
        doc.new_page(width=PAGE[0], height=PAGE[1])
    page = doc[1]
    for case, kind in ((BY_KEY["form-text-value"], "text"), (BY_KEY["form-check-box"], "check")):
        left, top, width, height = case.rect
        widget = pymupdf.Widget()
        widget.rect = pymupdf.Rect(left, top, left + width, top + height)
        if kind == "text":
            widget.field_type = pymupdf.PDF_WIDGET_TYPE_TEXT
            widget.field_name = TEXT_FIELD
            widget.text_fontsize = 12
            widget.field_value = ""
        else:
            widget.field_type = pymupdf.PDF_WIDGET_TYPE_CHECKBOX
            widget.field_name = CHECK_BOX
            widget.field_value = False
        widget.border_width = 0
        page.add_widget(widget)
    return bytes(doc.tobytes())


def instant_json(cases: tuple[Case, ...] | None = None) -> dict[str, Any]:
    """The Instant JSON that writes ``cases`` (default: every case of the sample), v2."""
    annotations = []
    for case in CASES if cases is None else cases:
        if case.record is None:
            continue
        annotations.append(
            {
                "v": 2,
                "id": f"01J0ENGINE{len(annotations):016d}",
                "name": case.key,
                "pageIndex": case.page,
                "bbox": list(case.rect),
                "createdAt": "2026-12-01T12:00:00Z",
                "updatedAt": "2026-12-01T12:00:00Z",
                "creatorName": "Engine check",
                **case.record,
            }
        )
    return {
        "format": "https://pspdfkit.com/instant-json/v1",
        "annotations": annotations,
        "formFieldValues": [
            {"v": 1, "type": "pspdfkit/form-field-value", "name": TEXT_FIELD, "value": "Filled"},
            {"v": 1, "type": "pspdfkit/form-field-value", "name": CHECK_BOX, "value": ["Yes"]},
        ],
        "attachments": {
            "engine-image": {
                "binary": base64.b64encode(image_png()).decode("ascii"),
                "contentType": "image/png",
            },
            "engine-image-halves": {
                "binary": base64.b64encode(halves_png()).decode("ascii"),
                "contentType": "image/png",
            },
        },
    }


@functools.cache
def sample_pdf(flatten: bool, only: str | None = None) -> bytes:
    """The all-types sample written by Lamina (``flatten``: burnt into the page).

    ``only``: the PDF of that one case.
    """
    cases = None if only is None else (BY_KEY[only],)
    diff = parse_instant_json(json.dumps(instant_json(cases)).encode())
    return apply_instant_json(base_pdf(), diff, flatten=flatten)
