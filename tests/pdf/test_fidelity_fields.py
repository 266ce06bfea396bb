"""Instant JSON -> apply -> dump keeps every field of every type, v1 and v2 (issue 10).

One record per type carries every field the spec lists for it (nutrient-spec.md §1.4, §1.5),
values chosen unlike any default; after ``apply`` onto a blank PDF and ``dump``, each field
is compared on its own. Only what the PDF decides differs: ``id``/``pdfObjectId`` (the
object number), and ``imageAttachmentId`` (the SHA-256 of the bytes, compared as bytes).
"""

from __future__ import annotations

import base64
import io
from typing import Any

import pymupdf
import pypdf
import pytest
from lamina.model.instant_json import instant_json_to_dict, parse_instant_json
from lamina.pdf import apply_instant_json, dump_instant_json, open_pdf

PNG_RED = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)

COMMON: dict[str, Any] = {
    "pageIndex": 0,
    "opacity": 0.75,
    "createdAt": "2024-05-01T10:00:00Z",
    "updatedAt": "2024-05-02T11:30:00Z",
    "creatorName": "Ada Lovelace",
    "name": "named-by-the-client",
    "subject": "Review",
    "flags": ["noZoom", "locked"],
    "customData": {"ticket": 42, "tags": ["a", "b"], "nested": {"ok": True}},
}
SHAPE: dict[str, Any] = {
    "strokeWidth": 2.5,
    "strokeColor": "#123456",
    "fillColor": "#abcdef",
    "strokeDashArray": [3.5, 1.25],
    "note": "a shape note",
    "measurementScale": {"unitFrom": "cm", "unitTo": "m", "from": 1, "to": 2},
    "measurementPrecision": "twoDp",
}
CLOUDY = {"cloudyBorderIntensity": 2, "cloudyBorderInset": [4, 4, 4, 4]}

RECORDS: dict[str, dict[str, Any]] = {
    "ink": {
        "type": "pspdfkit/ink",
        "bbox": [100, 100, 120, 80],
        "lines": {
            "points": [[[105, 105], [150, 170], [215, 110]], [[110, 150], [200, 150]]],
            "intensities": [[0.1, 0.9, 0.4], [0.3, 0.7]],
        },
        "lineWidth": 3,
        "strokeColor": "#0000ff",
        "backgroundColor": "#eeeeee",
        "isDrawnNaturally": True,
        "isSignature": True,
        "blendMode": "multiply",
        "note": "ink note",
    },
    "rectangle": {
        "type": "pspdfkit/shape/rectangle",
        "bbox": [100, 100, 150, 90],
        **SHAPE,
        **CLOUDY,
        "blendMode": "darken",
    },
    "ellipse": {"type": "pspdfkit/shape/ellipse", "bbox": [100, 100, 150, 90], **SHAPE, **CLOUDY},
    "line": {
        "type": "pspdfkit/shape/line",
        "bbox": [100, 100, 200, 100],
        **SHAPE,
        "startPoint": [105, 195],
        "endPoint": [295, 105],
        "lineCaps": {"start": "circle", "end": "closedArrow"},
    },
    "polyline": {
        "type": "pspdfkit/shape/polyline",
        "bbox": [100, 100, 200, 100],
        **SHAPE,
        **CLOUDY,
        "points": [[105, 195], [150, 105], [200, 195], [295, 105]],
        "lineCaps": {"start": "openArrow", "end": "square"},
    },
    "polygon": {
        "type": "pspdfkit/shape/polygon",
        "bbox": [100, 100, 200, 100],
        **SHAPE,
        "cloudyBorderIntensity": 1,
        "points": [[105, 195], [150, 105], [295, 150]],
    },
    "highlight": {
        "type": "pspdfkit/markup/highlight",
        "bbox": [100, 100, 200, 30],
        "rects": [[100, 100, 200, 14], [100, 116, 150, 14]],
        "color": "#ffcc00",
        "blendMode": "multiply",
        "note": "highlighted",
        "isCommentThreadRoot": True,
    },
    "underline": {
        "type": "pspdfkit/markup/underline",
        "bbox": [100, 100, 200, 14],
        "rects": [[100, 100, 200, 14]],
        "color": "#00aa00",
        "note": "underlined",
    },
    "strikeout": {
        "type": "pspdfkit/markup/strikeout",
        "bbox": [100, 100, 200, 14],
        "rects": [[100, 100, 200, 14]],
        "color": "#aa0000",
    },
    "squiggly": {
        "type": "pspdfkit/markup/squiggly",
        "bbox": [100, 100, 200, 14],
        "rects": [[100, 100, 200, 14]],
        "color": "#0000aa",
    },
    "text": {
        "type": "pspdfkit/text",
        "bbox": [100, 100, 220, 80],
        "text": {"format": "plain", "value": "Καλημέρα, free text"},
        "fontSize": 14,
        "font": "Courier",
        "fontColor": "#ff0000",
        "fontStyle": ["bold"],
        "backgroundColor": "#ffffcc",
        "horizontalAlign": "center",
        "verticalAlign": "bottom",
        "rotation": 90,
        "isFitting": True,
        "callout": {
            "start": [60, 60],
            "knee": [80, 80],
            "end": [100, 100],
            "cap": "openArrow",
            "innerRectInset": [10, 10, 10, 10],
        },
        "borderStyle": "dashed",
        "borderWidth": 2,
        "borderColor": "#00ff00",
        "lineHeightFactor": 1.5,
    },
    "note": {
        "type": "pspdfkit/note",
        "bbox": [100, 100, 32, 32],
        "text": {"format": "plain", "value": "sticky"},
        "icon": "rightPointer",
        "color": "#ff8800",
    },
    "comment-marker": {
        "type": "pspdfkit/comment-marker",
        "bbox": [100, 100, 32, 32],
        "icon": "comment",
        "color": "#3366ff",
        "isCommentThreadRoot": True,
    },
    "stamp": {
        "type": "pspdfkit/stamp",
        "bbox": [100, 100, 200, 60],
        "stampType": "Custom",
        "title": "APPROUVÉ",
        "subtitle": "par Ada, 2024-05-01",
        "color": "#00aa00",
        "rotation": 270,
        "note": "stamp note",
    },
    "stamp-standard": {
        "type": "pspdfkit/stamp",
        "bbox": [100, 100, 200, 60],
        "stampType": "InformationOnly",
        "rotation": 90,
    },
    "image": {
        "type": "pspdfkit/image",
        "bbox": [100, 100, 80, 80],
        "imageAttachmentId": "red",
        "contentType": "image/png",
        "fileName": "red.png",
        "description": "a red dot",
        "rotation": 180,
        "isSignature": True,
    },
    "link": {
        "type": "pspdfkit/link",
        "bbox": [100, 100, 80, 20],
        "action": {"type": "uri", "uri": "https://example.com/a?b=c"},
        "borderColor": "#ff00ff",
        "borderStyle": "dashed",
        "borderWidth": 2,
    },
    "redaction": {
        "type": "pspdfkit/markup/redaction",
        "bbox": [100, 100, 200, 14],
        "rects": [[100, 100, 200, 14]],
        "outlineColor": "#ff0000",
        "fillColor": "#000000",
        "overlayText": "REDACTED",
        "repeatOverlayText": True,
        "color": "#ffffff",
        "rotation": 90,
    },
}

# What the PDF decides, not the record.
_DERIVED = {"id", "pdfObjectId", "v", "imageAttachmentId"}


def _blank() -> bytes:
    doc = pymupdf.open()
    doc.new_page(width=595, height=842)
    return bytes(doc.tobytes())


def _round_trip(record: dict[str, Any], version: int) -> tuple[dict[str, Any], dict[str, Any]]:
    sent = {"v": version, "id": "01HZ0000000000000000000042", **COMMON, **record}
    if version == 1 and isinstance(sent.get("text"), dict):
        sent["text"] = sent["text"]["value"]  # v1 text is a plain string
    document = {
        "format": "https://pspdfkit.com/instant-json/v1",
        "annotations": [sent],
        "attachments": {
            "red": {"binary": base64.b64encode(PNG_RED).decode(), "contentType": "image/png"}
        },
    }
    out = apply_instant_json(_blank(), parse_instant_json(document))
    with open_pdf(out) as doc:
        dumped = instant_json_to_dict(dump_instant_json(doc), version=version)
    (back,) = dumped["annotations"]
    return sent, {"pdf": out, "record": back, "document": dumped}


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("kind", sorted(RECORDS))
def test_every_field_survives_apply_then_dump(kind: str, version: int) -> None:
    sent, result = _round_trip(RECORDS[kind], version)
    back = result["record"]
    for key, value in sent.items():
        if key in _DERIVED:
            continue
        assert key in back, f"{kind}: {key} lost"
        if isinstance(value, float | int) and not isinstance(value, bool):
            assert back[key] == pytest.approx(value, abs=0.01), f"{kind}: {key}"
        elif key in ("bbox", "rects", "points", "startPoint", "endPoint", "lines", "callout"):
            assert _close(back[key], value), f"{kind}: {key} {back[key]} != {value}"
        else:
            assert back[key] == value, f"{kind}: {key}"
    extra = set(back) - set(sent) - _DERIVED
    assert not extra, f"{kind}: fields it did not have: {sorted(extra)}"
    assert back["v"] == version
    if kind == "image":
        attachment = result["document"]["attachments"][back["imageAttachmentId"]]
        assert attachment["contentType"] == "image/png"
    # and what it wrote is a standard annotation with an appearance, as pypdf reads it
    reader = pypdf.PdfReader(io.BytesIO(result["pdf"]))
    annots = [a.get_object() for a in reader.pages[0].get("/Annots") or ()]
    main = [a for a in annots if a["/Subtype"] != "/Popup"]
    assert len(main) == 1
    if main[0]["/Subtype"] != "/Link":
        assert "/N" in main[0]["/AP"]


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) <= 0.01
    return bool(a == b)
