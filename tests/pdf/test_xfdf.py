"""XFDF import and export (lamina.pdf.xfdf): the real XFDF corpus, every annotation type both
ways with Instant JSON, form field values, replies, hostile XML and pages past the end."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from lamina.model.instant_json import (
    PdfId,
    dumps_instant_json,
    instant_json_to_dict,
    parse_instant_json,
)
from lamina.model.records import (
    Annotation,
    Comment,
    FormField,
    FormFieldValue,
    ImageAnnotation,
    NoteAnnotation,
    PolylineAnnotation,
    Record,
    RectangleAnnotation,
    StampAnnotation,
    StrikeOutAnnotation,
    Text,
    TextAnnotation,
    UnknownAnnotation,
    WidgetAnnotation,
    record_from_json,
    record_to_json,
)
from lamina.pdf import open_pdf, read_records
from lamina.pdf.errors import PdfError, XfdfError
from lamina.pdf.geometry import PageGeometry
from lamina.pdf.values import DefaultAppearance, parse_default_appearance, pdf_date_to_iso
from lamina.pdf.xfdf import (
    EXTRA_KEY,
    WRITTEN_FIELDS,
    XFDF_NS,
    records_to_xfdf,
    xfdf_export_losses,
    xfdf_to_records,
)
from lamina.pdf.xfdf import vocabulary as v

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "xfdf"
FILES = sorted(CORPUS.glob("*.xfdf"))
NS = {"x": XFDF_NS}
LETTER = (612.0, 792.0)


def _pdf_pages(xfdf: Path) -> list[PageGeometry]:
    with open_pdf(xfdf.with_suffix(".pdf")) as doc:
        return [doc.page_geometry(i) for i in range(doc.page_count)]


def _pages_read(xfdf: Path) -> list[PageGeometry]:
    """The PDF's pages, repeated up to the highest page the file names.

    Some corpus files were exported from a longer document than the PDF published beside
    them; for the round trips their annotations go on copies of its last page.
    """
    pages = _pdf_pages(xfdf)
    highest = max((int(p) for p in re.findall(rb'\spage="(\d+)"', xfdf.read_bytes())), default=0)
    return pages + [pages[-1]] * (highest + 1 - len(pages))


def _as_json(record: Record) -> dict[str, Any]:
    return json.loads(json.dumps(record_to_json(record)))


def _field_values(record: Record) -> dict[str, Any]:
    """Every field of a record, by attribute name, JSON-normalised (tuples as lists).

    Colours compare without case (``#FF0000`` is ``#ff0000``; both occur in real exports).
    """

    def colour_case(value: Any) -> Any:
        if isinstance(value, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", value):
            return value.lower()
        return value

    return {
        name: json.loads(json.dumps(getattr(record, name), default=str), object_hook=None)
        if not isinstance(getattr(record, name), str)
        else colour_case(getattr(record, name))
        for name in record.__dataclass_fields__
    }


def _assert_same_records(first: tuple[Record, ...], second: tuple[Record, ...]) -> None:
    assert [type(r) for r in first] == [type(r) for r in second]
    for a, b in zip(first, second, strict=True):
        fa, fb = _field_values(a), _field_values(b)
        for name in fa:
            assert fa[name] == fb[name], f"{a.type} {a.id}: {name} changed"


def test_the_corpus_is_there() -> None:
    assert len(FILES) == 13, f"expected the 13 corpus files in {CORPUS}"


# -- XFDF -> records -> XFDF -> records, on every corpus file -----------------------------


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_corpus_xfdf_records_xfdf_records_keeps_every_field(path: Path) -> None:
    pages = _pages_read(path)
    first = xfdf_to_records(path.read_bytes(), pages)
    assert first.not_kept == ()
    assert first.records, "every corpus file has annotations or field values"
    written = records_to_xfdf(first.records, pages, pdf_name=first.pdf_name, pdf_id=first.pdf_id)
    second = xfdf_to_records(written, pages)
    _assert_same_records(first.records, second.records)
    assert (second.pdf_name, second.pdf_id) == (first.pdf_name, first.pdf_id)
    # The records are valid Instant JSON: they pass the model's own parser unchanged.
    document = instant_json_to_dict(first.document)
    assert instant_json_to_dict(parse_instant_json(document)) == document


_NUMERIC = {"rect", "coords", "start", "end", "width", "opacity", "intensity", "fringe"}
_NUMERIC |= {"dashes", "callout", "rotation", "page"}


def _attribute(name: str, value: str) -> Any:
    if name in _NUMERIC:
        return [round(float(x), 5) for x in re.split(r"[,;\s]+", value.strip()) if x]
    if name in ("creationdate", "date"):
        return pdf_date_to_iso(value) or value
    if name == "flags":
        return sorted(w for w in value.lower().split(",") if w)
    return value


def _attributes(elem: ET.Element) -> dict[str, Any]:
    return {k: _attribute(k, x) for k, x in elem.attrib.items()}


def _content(elem: ET.Element) -> Any:
    tag = elem.tag.split("}")[1]
    if tag in ("vertices", "gesture"):
        return [round(float(x), 5) for x in re.split(r"[,;\s]+", (elem.text or "").strip()) if x]
    if tag == "appearance":
        return "".join((elem.text or "").split())
    if tag == "inklist":
        return [_content(g) for g in elem]
    if tag == "popup":
        return _attributes(elem)
    return ET.canonicalize(ET.tostring(elem, encoding="unicode"))


def _annotation_elements(xfdf: bytes) -> dict[str, ET.Element]:
    root = ET.fromstring(xfdf)
    return {a.get("name", ""): a for a in root.iterfind("x:annots/*", NS)}


def _fields(xfdf: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(elem: ET.Element, prefix: str) -> None:
        for field in elem.iterfind("x:field", NS):
            name = f"{prefix}.{field.get('name')}" if prefix else str(field.get("name"))
            out[name] = [_content(c) for c in field if not c.tag.endswith("}field")]
            walk(field, name)

    for fields in ET.fromstring(xfdf).iterfind("x:fields", NS):
        walk(fields, "")
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_corpus_xfdf_written_back_has_every_attribute_and_element(path: Path) -> None:
    original = path.read_bytes()
    pages = _pages_read(path)
    content = xfdf_to_records(original, pages)
    written = records_to_xfdf(
        content.records, pages, pdf_name=content.pdf_name, pdf_id=content.pdf_id
    )
    _assert_same_xfdf(original, written)


@pytest.mark.parametrize("version", [2, 1])
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_corpus_xfdf_through_instant_json_text_and_back_keeps_every_field(
    path: Path, version: int
) -> None:
    """XFDF -> records -> Instant JSON file (v2, v1) -> records -> XFDF, for each corpus file.

    Every field both formats have comes back (the records compare field by field, then the
    XFDF written from the Instant JSON has every attribute and element of the original):
    what XFDF holds that Instant JSON has no field for rides in the records' ``xfdf`` key.
    The one field v1 lacks: a comment's text is a plain string there (``InstantComment.v1``),
    so a rich reply keeps its words and markup but not that they are XHTML.
    """
    original = path.read_bytes()
    pages = _pages_read(path)
    first = xfdf_to_records(original, pages)
    text = dumps_instant_json(first.document, version)
    document = parse_instant_json(text)
    assert document.pdf_id == first.pdf_id
    assert len(document.records) == len(first.records)
    by_id = {r.id: r for r in document.records}
    rich_comments = False
    for record in first.records:
        again = by_id[record.id]
        assert type(again) is type(record)
        before, after = _field_values(record), _field_values(again)
        for name in WRITTEN_FIELDS.get(type(record), set(before)) - {"v", "pdf_object_id"}:
            if version == 1 and isinstance(record, Comment) and name == "text":
                assert isinstance(again, Comment) and again.text.value == record.text.value
                rich_comments |= record.text.format != "plain"
                continue
            assert after[name] == before[name], f"{record.type} {record.id}: {name}"
    ordered = [by_id[r.id] for r in first.records]
    written = records_to_xfdf(ordered, pages, pdf_name=first.pdf_name, pdf_id=document.pdf_id)
    if not rich_comments:
        _assert_same_xfdf(original, written)
        _assert_same_records(first.records, xfdf_to_records(written, pages).records)


def _assert_same_xfdf(original: bytes, written: bytes) -> None:
    """``written`` has every annotation, attribute, element and field value of ``original``."""
    before, after = _annotation_elements(original), _annotation_elements(written)
    assert list(before) == list(after)
    for name, old in before.items():
        new = after[name]
        assert new.tag == old.tag
        old_attributes, new_attributes = _attributes(old), _attributes(new)
        for key, value in old_attributes.items():
            assert new_attributes.get(key) == value, f"{name}: attribute {key}"
        added = set(new_attributes) - set(old_attributes)
        # An ink's width 1 is the default the record states; it reads back the same.
        assert added <= ({"width"} if old.tag.endswith("}ink") else set()), added
        new_children = {c.tag: c for c in new}
        for child in old:
            assert child.tag in new_children, f"{name}: <{child.tag}> lost"
            assert _content(new_children[child.tag]) == _content(child), f"{name}: <{child.tag}>"
        # What is new is only the plain <contents> Acrobat leaves out beside rich text.
        assert {c.tag for c in new} - {c.tag for c in old} <= {f"{{{XFDF_NS}}}contents"}
    assert _fields(written) == _fields(original)
    root = ET.fromstring(original)
    for tag in ("f", "ids"):
        old_elem, new_elem = root.find(f"x:{tag}", NS), ET.fromstring(written).find(f"x:{tag}", NS)
        assert (old_elem is None) == (new_elem is None)
        if old_elem is not None and new_elem is not None:
            assert new_elem.attrib == old_elem.attrib


# -- pages past the end ------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_corpus_with_its_own_pdf_reads_or_names_the_annotation_past_the_end(path: Path) -> None:
    pages = _pdf_pages(path)
    text = path.read_text(encoding="utf-8-sig")
    past = [
        m.group(1)
        for m in re.finditer(r'<(?!popup)\w+\b[^>]*?\spage="(\d+)"', text)
        if int(m.group(1)) >= len(pages)
    ]
    if not past:
        assert xfdf_to_records(path.read_bytes(), pages).records
        return
    with pytest.raises(XfdfError) as caught:
        xfdf_to_records(path.read_bytes(), pages)
    message = str(caught.value)
    assert "\n" not in message
    first_name = re.search(r'<(?!popup)\w+\b[^>]*?\sname="([^"]+)"[^>]*?\spage="\d+"', text)
    assert first_name is not None
    assert first_name.group(1) in message
    assert "the pdf has 1 page" in message
    if len(past) > 1:
        assert f"{len(past) - 1} more annotations" in message


def test_arrow_file_names_its_first_note_and_counts_the_rest() -> None:
    path = CORPUS / "itext-acrobat-dc_line-arrow-review-replies.xfdf"
    with pytest.raises(XfdfError, match=r"c236c917-7a37-4da7-9540-cee9f8ced232.*13 more"):
        xfdf_to_records(path.read_bytes(), _pdf_pages(path))


def test_a_record_past_the_last_page_is_not_written_and_is_named() -> None:
    note = NoteAnnotation(id="n1", page_index=3, bbox=_rect(), text=Text("hi"))
    with pytest.raises(XfdfError, match=r"pspdfkit/note n1 .*page index 3.*2 pages"):
        records_to_xfdf([note], [LETTER, LETTER])


# -- hostile and malformed XML -----------------------------------------------------------

_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xfdf [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<xfdf xmlns="http://ns.adobe.com/xfdf/"><annots>
<text page="0" rect="0,0,1,1"><contents>&d;</contents></text></annots></xfdf>"""
_EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xfdf [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xfdf xmlns="http://ns.adobe.com/xfdf/"><fields>
<field name="a"><value>&secret;</value></field></fields></xfdf>"""
_EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE xfdf SYSTEM "http://127.0.0.1:9/evil.dtd">
<xfdf xmlns="http://ns.adobe.com/xfdf/"/>"""
_ENTITY_WITHOUT_DTD = b'<xfdf xmlns="http://ns.adobe.com/xfdf/"><f href="&undefined;"/></xfdf>'


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (_LAUGHS, "refused: it declares a document type"),
        (_EXTERNAL_ENTITY, "refused: it declares a document type"),
        (_EXTERNAL_DTD, "refused: it declares a document type"),
        (_ENTITY_WITHOUT_DTD, "not well-formed xml (undefined entity"),
        (b"", "not well-formed xml (no element found"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "not well-formed xml"),
        (b'{"format": "https://pspdfkit.com/instant-json/v1"}', "not well-formed xml"),
        (b'<xfdf xmlns="http://ns.adobe.com/xfdf/"><annots><text page="0"', "not well-formed"),
        (b"<html><body>hello</body></html>", "not xfdf: the root element is <html>"),
        (b'<xfdf xmlns="urn:other"/>', "not xfdf: the root element is <xfdf>"),
    ],
    ids=[
        "billion-laughs",
        "external-entity",
        "external-dtd",
        "undeclared-entity",
        "empty",
        "a-pdf",
        "json",
        "truncated",
        "html",
        "other-namespace",
    ],
)
def test_hostile_or_foreign_input_is_a_one_line_typed_error(data: bytes, says: str) -> None:
    with pytest.raises(XfdfError) as caught:
        xfdf_to_records(data, [LETTER])
    assert isinstance(caught.value, PdfError)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_rich_text_from_a_record_expands_no_entity() -> None:
    record = TextAnnotation(id="t1", bbox=_rect(), text=Text("<p>&ent;</p>", "xhtml"))
    with pytest.raises(
        XfdfError,
        match="pspdfkit/text t1 cannot be written as xfdf: its rich "
        "text is not well-formed xml \\(undefined entity",
    ):
        records_to_xfdf([record], [LETTER])


# -- Instant JSON <-> XFDF, every annotation type ----------------------------------------

_CROPPED = PageGeometry(600.0, 800.0, 0, 10.0, 810.0)
"""A page whose CropBox starts at (10, 10): Instant (0, 0) is PDF (10, 810)."""

_COMMON = {
    "v": 2,
    "pageIndex": 1,
    "bbox": [50.5, 60.25, 120.0, 80.0],
    "opacity": 0.75,
    "creatorName": "Ana Zöller",
    "createdAt": "2024-03-01T10:20:30Z",
    "updatedAt": "2024-03-02T11:22:33Z",
    "subject": 'Review <1> & "2"',
    "flags": ["noZoom", "noRotate", "locked"],
}


def _annotation(kind: str, **fields: Any) -> dict[str, Any]:
    name = f"01HXFDF{kind.upper().replace('/', '').replace('-', '')[:19]:0<19}"
    return {"type": f"pspdfkit/{kind}", "id": name, "name": name, **_COMMON, **fields}


_NOTE = "line one\nline two — «ünïcode»"
INSTANT_ANNOTATIONS = [
    _annotation(
        "note", text={"format": "plain", "value": _NOTE}, icon="rightPointer", color="#11AA33"
    ),
    _annotation(
        "comment-marker",
        text={"format": "plain", "value": "thread"},
        icon="comment",
        color="#FF0000",
    ),
    _annotation(
        "shape/rectangle",
        note=_NOTE,
        strokeColor="#FF0000",
        fillColor="#00FF00",
        strokeWidth=2.5,
        cloudyBorderIntensity=2,
        cloudyBorderInset=[3.5, 3.5, 3.5, 3.5],
    ),
    _annotation("shape/ellipse", strokeColor="#0000FF", strokeWidth=1, strokeDashArray=[3, 1.5]),
    _annotation(
        "shape/line",
        strokeColor="#E52237",
        fillColor="#101010",
        strokeWidth=3,
        startPoint=[55.0, 65.0],
        endPoint=[160.5, 130.25],
        lineCaps={"start": "circle", "end": "openArrow"},
    ),
    _annotation(
        "shape/polyline",
        strokeColor="#E52237",
        strokeWidth=1,
        points=[[51.0, 61.0], [100.0, 120.0], [170.0, 139.0]],
        lineCaps={"end": "closedArrow"},
    ),
    _annotation(
        "shape/polygon",
        strokeColor="#E52237",
        fillColor="#FFFF00",
        strokeWidth=1,
        points=[[51.0, 61.0], [100.0, 120.0], [170.0, 139.0]],
        cloudyBorderIntensity=1.5,
    ),
    _annotation(
        "ink",
        strokeColor="#000000",
        lineWidth=4,
        lines={
            "points": [[[51.0, 61.0], [60.0, 70.5]], [[100.0, 100.0], [110.0, 120.0]]],
            "intensities": [[0.5, 0.5], [0.5, 0.5]],
        },
    ),
    *(
        _annotation(
            f"markup/{kind}",
            color="#FFFF00",
            rects=[[51.0, 61.0, 100.0, 12.0], [51.0, 75.0, 60.0, 12.0]],
        )
        for kind in ("highlight", "underline", "strikeout", "squiggly")
    ),
    _annotation(
        "markup/redaction",
        rects=[[51.0, 61.0, 100.0, 12.0]],
        outlineColor="#FF0000",
        fillColor="#000000",
        overlayText="REDACTED",
        repeatOverlayText=True,
    ),
    _annotation(
        "text",
        text={"format": "xhtml", "value": "<p>Hello <b>bold</b></p><p>second</p>"},
        font="Helvetica",
        fontSize=14,
        fontColor="#112233",
        fontStyle=["bold", "italic"],
        backgroundColor="#FFFFCC",
        horizontalAlign="center",
        rotation=90,
        borderStyle="dashed",
        borderWidth=2,
        borderColor="#FF0000",
        callout={
            "start": [40.0, 200.0],
            "knee": [60.0, 180.0],
            "end": [70.0, 140.25],
            "cap": "openArrow",
            "innerRectInset": [5.0, 5.0, 5.0, 5.0],
        },
    ),
    _annotation("stamp", stampType="Approved", color="#00AA00", rotation=270, note=_NOTE),
    _annotation("stamp", stampType="Custom", title="APPROUVÉ"),
    _annotation("link", action={"type": "uri", "uri": "https://example.org/?a=1&b=2"}),
    _annotation("link", action={"type": "goTo", "pageIndex": 0}, borderColor="#0000FF"),
    _annotation("unknown", customData={"pdfSubtype": "Caret"}, note="insert", color="#0000FF"),
]


@pytest.mark.parametrize(
    ("obj", "version"),
    [
        (obj, version)
        for obj in INSTANT_ANNOTATIONS
        for version in (1, 2)
        if not (version == 1 and obj["type"] == "pspdfkit/text")  # v1 text: a plain string
    ],
    ids=lambda x: x["type"] if isinstance(x, dict) else f"v{x}",
)
def test_instant_json_to_xfdf_and_back_keeps_every_field_xfdf_has(
    obj: dict[str, Any], version: int
) -> None:
    record = record_from_json(record_to_json(record_from_json(obj), version))
    assert isinstance(record, Annotation)
    assert xfdf_export_losses([record]) == ()
    pages = [LETTER, _CROPPED]
    content = xfdf_to_records(records_to_xfdf([record], pages), pages)
    (back,) = content.records
    assert type(back) is type(record)
    before, after = _field_values(record), _field_values(back)
    for name in WRITTEN_FIELDS[type(record)] - {"extra", "v", "pdf_object_id"}:
        assert after[name] == before[name], f"{record.type}: {name}"
    assert record_to_json(back, version)["v"] == version


def test_instant_bbox_becomes_pdf_user_space_on_a_cropped_page() -> None:
    record = NoteAnnotation(id="n", page_index=0, bbox=_rect(10, 20, 100, 50), text=Text(""))
    elem = _annotation_elements(records_to_xfdf([record], [_CROPPED]))["n"]
    # Instant (10, 20)-(110, 70) from the CropBox's top-left (10, 810) in PDF space, y up.
    assert elem.get("rect") == "20,740,120,790"
    assert elem.get("page") == "0"


def test_corpus_rects_and_points_come_out_in_instant_space() -> None:
    square = CORPUS / "itext-acrobat-dc_square-and-sticky-note.xfdf"
    records = xfdf_to_records(square.read_bytes(), [(595.0, 842.0)] * 2).records
    (rectangle,) = [r for r in records if isinstance(r, RectangleAnnotation)]
    # rect="345.425903,653.087280,376.195129,683.856445" on a 595 x 842 page
    expected = (345.425903, 842 - 683.856445, 376.195129 - 345.425903, 683.856445 - 653.08728)
    assert rectangle.bbox == pytest.approx(expected, abs=1e-6)
    assert rectangle.stroke_color == "#E52237"
    polyline = CORPUS / "itext-acrobat-dc_polyline.xfdf"
    (line,) = xfdf_to_records(polyline.read_bytes(), [LETTER] * 2).records
    assert isinstance(line, PolylineAnnotation)
    assert line.points[0] == pytest.approx((191.101959, 792 - 731.757019), abs=1e-6)
    assert len(line.points) == 11


_FREETEXT = b"""<xfdf xmlns="http://ns.adobe.com/xfdf/" xml:space="preserve"><annots
><freetext page="0" rect="100,600,300,700" name="ft" color="#FFFFCC" justification="centered"
 rotation="90" width="2" style="dash" IT="FreeTextCallout" head="OpenArrow"
 callout="80,560,90,580,100,620" fringe="4,5,6,7"
><contents-richtext><body xmlns="http://www.w3.org/1999/xhtml" style="font-size:12pt"
><p>Call <b>out</b></p></body></contents-richtext
><defaultappearance>0 0 1 rg /Helv 12 Tf</defaultappearance
><defaultstyle>font: Helvetica,sans-serif 12.0pt; text-align:center; color:#0000FF</defaultstyle
></freetext></annots></xfdf>"""


def test_free_text_reads_its_font_alignment_callout_and_writes_them_back() -> None:
    (text,) = xfdf_to_records(_FREETEXT, [LETTER]).records
    assert isinstance(text, TextAnnotation)
    assert (text.font, text.font_size, text.font_color) == ("Helvetica", 12.0, "#0000FF")
    assert (text.horizontal_align, text.rotation, text.background_color) == (
        "center",
        90,
        "#FFFFCC",
    )
    assert (text.border_width, text.border_style) == (2.0, "dashed")
    assert text.text == Text("<p>Call <b>out</b></p>", "xhtml")
    assert text.callout == {
        "start": [80.0, 232.0],
        "knee": [90.0, 212.0],
        "end": [100.0, 172.0],
        "cap": "openArrow",
        "innerRectInset": [4.0, 5.0, 6.0, 7.0],
    }
    elem = _annotation_elements(records_to_xfdf([text], [LETTER]))["ft"]
    assert elem.get("IT") == "FreeTextCallout"
    assert _attribute("callout", elem.get("callout", "")) == [80, 560, 90, 580, 100, 620]
    da, ds = elem.find("x:defaultappearance", NS), elem.find("x:defaultstyle", NS)
    assert da is not None and da.text == "0 0 1 rg /Helv 12 Tf"
    assert ds is not None and ds.text is not None and ds.text.startswith("font: Helvetica,sans")
    body = elem.find("x:contents-richtext/{http://www.w3.org/1999/xhtml}body", NS)
    assert body is not None and body.get("style") == "font-size:12pt"


def _odd_pages_pdf() -> bytes:
    """Two pages with a square whose /Rect is [50 100 150 160]: a plain page, and a page
    rotated 90 degrees whose MediaBox starts at (-20, -30) and whose CropBox is smaller."""
    doc = pymupdf.open()
    for _ in range(2):
        doc.new_page(width=400, height=600)
    odd = doc[1]
    doc.xref_set_key(odd.xref, "MediaBox", "[-20 -30 380 570]")
    doc.xref_set_key(odd.xref, "CropBox", "[10 20 300 500]")
    doc.xref_set_key(odd.xref, "Rotate", "90")
    for page in doc:
        annot = page.add_rect_annot(pymupdf.Rect(0, 0, 10, 10))
        doc.xref_set_key(annot.xref, "Rect", "[50 100 150 160]")
        doc.xref_set_key(annot.xref, "NM", "(sq)")
    data: bytes = doc.tobytes()
    doc.close()
    return data


def test_xfdf_rects_agree_with_the_pdf_reader_on_offset_and_rotated_pages() -> None:
    with open_pdf(_odd_pages_pdf()) as doc:
        pages = [doc.page_geometry(i) for i in range(doc.page_count)]
        from_pdf = [r for r in read_records(doc) if isinstance(r, RectangleAnnotation)]
    assert len(from_pdf) == 2
    assert from_pdf[0].bbox != from_pdf[1].bbox  # the odd page really is odd
    for index, record in enumerate(from_pdf):
        xfdf = (
            f'<xfdf xmlns="{XFDF_NS}"><annots><square page="{index}" rect="50,100,150,160" '
            'name="sq"/></annots></xfdf>'
        ).encode()
        (square,) = xfdf_to_records(xfdf, pages).records
        assert square.bbox == pytest.approx(record.bbox, abs=1e-4)
        written = _annotation_elements(records_to_xfdf([record], pages))
        assert _attribute("rect", written["sq"].get("rect", "")) == [50, 100, 150, 160]


def test_comments_become_replies_to_their_root_and_come_back() -> None:
    root = StrikeOutAnnotation(
        id="root-1", name="root-1", page_index=0, bbox=_rect(), rects=(_rect(),), color="#FF0000"
    )
    first = Comment(id="c-1", root_id="root-1", page_index=0, text=Text("first"), creator_name="A")
    rich = "<p>second <b>rich</b></p>"
    second = Comment(id="c-2", root_id="root-1", page_index=0, text=Text(rich, "xhtml"))
    written = records_to_xfdf([root, first, second], [LETTER])
    elements = _annotation_elements(written)
    assert elements["c-1"].get("inreplyto") == "root-1"
    assert elements["c-1"].tag == f"{{{XFDF_NS}}}text"
    assert elements["c-1"].get("replyType") is None
    back = xfdf_to_records(written, [LETTER]).records
    comments = [r for r in back if isinstance(r, Comment)]
    assert (comments[0].id, comments[0].root_id, comments[0].text.value) == (
        "c-1",
        "root-1",
        "first",
    )
    assert comments[0].creator_name == "A"
    assert comments[1].text.format == "xhtml"
    assert "<b>rich</b>" in comments[1].text.value
    assert isinstance(back[0], StrikeOutAnnotation) and back[0].is_comment_thread_root


def test_corpus_replies_hang_off_their_thread_root() -> None:
    path = CORPUS / "itext-acrobat-dc_line-arrow-review-replies.xfdf"
    pages = _pages_read(path)
    records = {r.id: r for r in xfdf_to_records(path.read_bytes(), pages).records}
    comments = {i: r for i, r in records.items() if isinstance(r, Comment)}
    assert len(comments) == 6
    for comment in comments.values():
        assert isinstance(records[comment.root_id], NoteAnnotation)
    # f6c6748a answers f5f4d1b7, itself an answer to c8f23a8d: the thread's root.
    assert comments["f6c6748a-5fbb-4199-a115-01f019e8aac7"].root_id == (
        "c8f23a8d-3acd-4a1f-8a32-081d59ad7189"
    )
    written = _annotation_elements(records_to_xfdf(records.values(), pages))
    assert written["f6c6748a-5fbb-4199-a115-01f019e8aac7"].get("inreplyto") == (
        "f5f4d1b7-e946-475e-b875-2f939591415e"
    )


def test_replace_text_group_stays_an_annotation_with_its_group() -> None:
    path = CORPUS / "itext-acrobat-dc_replace-text-strikeout-caret-group.xfdf"
    records = xfdf_to_records(path.read_bytes(), _pdf_pages(path)).records
    (strikeout,) = [r for r in records if isinstance(r, StrikeOutAnnotation)]
    (caret,) = [r for r in records if isinstance(r, UnknownAnnotation)]
    assert caret.custom_data == {"pdfSubtype": "Caret"}
    assert caret.extra["color"] == "#0000FF"
    assert caret.note == "Note"
    assert strikeout.extra[EXTRA_KEY]["attributes"]["replyType"] == "group"
    assert strikeout.extra[EXTRA_KEY]["attributes"]["inreplyto"] == caret.id
    assert len(strikeout.rects) == 1


def test_stamp_icon_and_appearance_are_kept() -> None:
    path = CORPUS / "itext-acrobat-dc_stamp-approved-with-appearance.xfdf"
    (stamp,) = xfdf_to_records(path.read_bytes(), _pdf_pages(path)).records
    assert isinstance(stamp, StampAnnotation)
    assert stamp.stamp_type == "Approved"
    appearance = base64.b64decode(stamp.extra[EXTRA_KEY]["appearance"])
    assert appearance.startswith(b'<DICT KEY="AP">')
    assert len(appearance) == 8633
    elem = next(iter(_annotation_elements(records_to_xfdf([stamp], _pdf_pages(path))).values()))
    assert elem.get("icon") == "SBApproved"


# -- form field values -------------------------------------------------------------------

_FIELDS_XFDF = b"""<?xml version="1.0" encoding="UTF-8"?>
<xfdf xmlns="http://ns.adobe.com/xfdf/" xml:space="preserve"><fields>
<field name="root"><field name="child"><field name="text1"><value>test &amp; more</value>
</field></field></field>
<field name="agree"><value>Off</value></field>
<field name="subscribe"><value>Yes</value></field>
<field name="colour"><value>Off</value></field>
<field name="size"><value>Large</value></field>
<field name="country"><value>France</value></field>
<field name="languages"><value>de</value><value>fr</value></field>
<field name="note"><value-richtext><body xmlns="http://www.w3.org/1999/xhtml"
><p>Rich <b>text</b></p></body></value-richtext></field>
<field name="empty"><value/></field>
</fields></xfdf>"""
_KINDS = {
    "root.child.text1": "text",
    "agree": "checkbox",
    "subscribe": "checkbox",
    "colour": "radio",
    "size": "radio",
    "country": "combobox",
    "languages": "listbox",
    "note": "text",
    "empty": "text",
}
_EXPECTED_VALUES = {
    "root.child.text1": "test & more",
    "agree": [],
    "subscribe": ["Yes"],
    "colour": None,
    "size": "Large",
    "country": "France",
    "languages": ["de", "fr"],
    "note": "Rich text",
    "empty": "",
}


def _form_fields() -> list[FormField]:
    return [
        FormField(id=f"ff-{n}", name=n, field_type=f"pspdfkit/form-field/{k}")
        for n, k in _KINDS.items()
    ]


def test_field_values_of_each_kind_read_by_the_pdf_s_field_kinds() -> None:
    records = xfdf_to_records(_FIELDS_XFDF, [], form_fields=_form_fields()).records
    assert all(isinstance(r, FormFieldValue) for r in records)
    values = {r.name: r.value for r in records if isinstance(r, FormFieldValue)}
    assert values == _EXPECTED_VALUES
    assert records[0].id == "form-field-value/root.child.text1"


def test_field_values_without_kinds_are_strings_or_lists() -> None:
    records = xfdf_to_records(_FIELDS_XFDF, []).records
    values = {r.name: r.value for r in records if isinstance(r, FormFieldValue)}
    assert values["agree"] == "Off"
    assert values["languages"] == ["de", "fr"]


def test_field_values_written_back_nest_and_read_the_same() -> None:
    first = xfdf_to_records(_FIELDS_XFDF, [], form_fields=_form_fields()).records
    written = records_to_xfdf([*_form_fields(), *first], [])
    assert _fields(written) == _fields(_FIELDS_XFDF)
    root = ET.fromstring(written)
    text1 = root.find("x:fields/x:field[@name='root']/x:field[@name='child']/x:field", NS)
    assert text1 is not None and text1.get("name") == "text1"
    again = xfdf_to_records(written, [], form_fields=_form_fields()).records
    assert {r.name: r.value for r in again if isinstance(r, FormFieldValue)} == _EXPECTED_VALUES


def test_a_cleared_text_field_and_an_unset_one_stay_apart() -> None:
    cleared = FormFieldValue(id="form-field-value/a", name="a", value="")
    unset = FormFieldValue(id="form-field-value/b", name="b", value=None)
    back = xfdf_to_records(records_to_xfdf([cleared, unset], []), []).records
    assert [r.value for r in back if isinstance(r, FormFieldValue)] == ["", None]


def test_aspose_fields_read_with_the_kinds_of_its_pdf() -> None:
    path = CORPUS / "aspose_fields-export-5-fields.xfdf"
    kinds = {"CheckBox": "checkbox", "ComboBox": "combobox", "ListBox": "listbox", "Text": "text"}
    fields = []
    with pymupdf.open(path.with_suffix(".pdf")) as doc:
        for widget in doc[0].widgets() or ():
            kind = kinds[widget.field_type_string]
            fields.append(
                FormField(
                    id=widget.field_name,
                    name=widget.field_name,
                    field_type=f"pspdfkit/form-field/{kind}",
                )
            )
    assert len(fields) == 5
    records = xfdf_to_records(path.read_bytes(), [LETTER], form_fields=fields).records
    values = {r.name: r.value for r in records if isinstance(r, FormFieldValue)}
    assert values == {
        "textfield": "",
        "checkboxfield": [],
        "comboboxfield": "",
        "listboxfield": [""],
        "multilinetextfield": "",
    }


def test_rich_text_field_value_keeps_its_xhtml() -> None:
    path = CORPUS / "itext-acrobat-dc_field-value-richtext.xfdf"
    (value,) = xfdf_to_records(path.read_bytes(), _pdf_pages(path)).records
    assert isinstance(value, FormFieldValue)
    assert (value.name, value.value) == ("Input field", "ABCDEFGH")
    assert "font-family:Helvetica" in value.extra[EXTRA_KEY]["richText"]
    edited = FormFieldValue(id=value.id, name=value.name, value="changed", extra=value.extra)
    root = ET.fromstring(records_to_xfdf([edited], []))
    assert root.find("x:fields/x:field/x:value", NS) is not None
    assert root.find("x:fields/x:field/x:value-richtext", NS) is None


# -- what is kept, what is reported ------------------------------------------------------


def test_unknown_attributes_and_elements_are_kept_and_written_back() -> None:
    data = b"""<xfdf xmlns="http://ns.adobe.com/xfdf/" xml:space="preserve"><annots>
<square page="0" rect="10,10,50,50" name="s" foo="bar" icon="x"
><zzz a="1">kept <b>text</b></zzz></square>
<fileattachment page="0" rect="1,1,9,9" name="fa" icon="PushPin" file="a.txt"
><data MODE="raw" encoding="hex" length="2">4142</data></fileattachment>
</annots><pdf-info producer="x"/></xfdf>"""
    content = xfdf_to_records(data, [LETTER])
    assert content.not_kept == ("<pdf-info> of <xfdf>",)
    square, attachment = content.records
    assert isinstance(square, RectangleAnnotation)
    assert square.extra[EXTRA_KEY]["attributes"] == {"foo": "bar", "icon": "x"}
    assert isinstance(attachment, UnknownAnnotation)
    assert attachment.custom_data == {"pdfSubtype": "FileAttachment"}
    written = _annotation_elements(records_to_xfdf(content.records, [LETTER]))
    assert written["s"].get("foo") == "bar"
    zzz = written["s"].find("x:zzz", NS)
    assert zzz is not None and zzz.get("a") == "1" and "".join(zzz.itertext()) == "kept text"
    assert written["fa"].tag == f"{{{XFDF_NS}}}fileattachment"
    assert written["fa"].get("file") == "a.txt"
    data_elem = written["fa"].find("x:data", NS)
    assert data_elem is not None and data_elem.text == "4142"


def test_export_losses_name_what_xfdf_cannot_carry() -> None:
    ink = record_from_json(
        _annotation(
            "ink",
            lines={"points": [[[1.0, 2.0], [3.0, 4.0]]], "intensities": [[0.2, 0.9]]},
            customData={"k": 1},
            blendMode="multiply",
        )
    )
    text = record_from_json(_annotation("text", text="t", fontSize=12, verticalAlign="bottom"))
    stamp = record_from_json(_annotation("stamp", stampType="Draft", subtitle="by Ana"))
    losses = xfdf_export_losses([ink, text, stamp])
    assert "customData" in losses[0] and "blendMode" in losses[0]
    assert "lines.intensities" in losses[0]
    assert "verticalAlign" in losses[1]
    assert "subtitle" in losses[2]


def test_an_image_cannot_be_written_and_is_named() -> None:
    image = ImageAnnotation(id="img-7", bbox=_rect(), image_attachment_id="abc")
    assert xfdf_export_losses([image]) == (
        "pspdfkit/image img-7 cannot be written: xfdf would need the image as an appearance "
        "stream, which lamina does not build",
    )
    with pytest.raises(XfdfError, match="pspdfkit/image img-7 cannot be written as xfdf"):
        records_to_xfdf([image], [LETTER])


def test_unwritable_records_can_be_left_out_once_listed() -> None:
    image = ImageAnnotation(id="img-7", bbox=_rect(), image_attachment_id="abc")
    note = NoteAnnotation(id="n", bbox=_rect(), text=Text("kept"))
    written = records_to_xfdf([image, note], [LETTER], skip_unwritable=True)
    assert list(_annotation_elements(written)) == ["n"]


def test_a_character_xml_cannot_hold_names_the_record() -> None:
    note = NoteAnnotation(id="n-5", bbox=_rect(), text=Text("bell \x07"))
    with pytest.raises(XfdfError, match=r"pspdfkit/note n-5 cannot be written.*U\+0007"):
        records_to_xfdf([note], [LETTER])
    value = FormFieldValue(id="form-field-value/a", name="a", value="\x00")
    with pytest.raises(XfdfError, match="pspdfkit/form-field-value form-field-value/a"):
        records_to_xfdf([value], [LETTER])


def test_a_popup_outside_its_annotation_is_reported() -> None:
    data = b'<xfdf xmlns="http://ns.adobe.com/xfdf/"><annots><popup page="0" rect="0,0,1,1"/>'
    content = xfdf_to_records(data + b"</annots></xfdf>", [LETTER])
    assert content.records == ()
    assert content.not_kept == ("xfdf annotation <popup> number 1 of <annots> alone",)


def test_widgets_and_field_definitions_are_passed_over_and_listed() -> None:
    widget = WidgetAnnotation(id="w", bbox=_rect(), form_field_name="a")
    field = FormField(id="f", name="a", field_type="pspdfkit/form-field/text")
    value = FormFieldValue(id="form-field-value/a", name="a", value="x")
    root = ET.fromstring(records_to_xfdf([widget, field, value], [LETTER]))
    assert root.find("x:annots", NS) is None
    value_elem = root.find("x:fields/x:field/x:value", NS)
    assert value_elem is not None and value_elem.text == "x"
    assert len(xfdf_export_losses([widget, field, value])) == 2


# -- what Acrobat reads --------------------------------------------------------------------


def test_written_xfdf_has_acrobat_s_namespace_space_href_and_ids_of_the_pdf() -> None:
    path = CORPUS / "itext-acrobat-dc_ink-pencil.xfdf"
    with open_pdf(path.with_suffix(".pdf")) as doc:
        pdf_id = doc.pdf_id
        trailer = doc.fitz_document.xref_get_key(-1, "ID")[1]
    assert pdf_id is not None
    original, modified = re.findall(r"<([0-9A-Fa-f]+)>", trailer)
    note = NoteAnnotation(id="n", bbox=_rect(), text=Text("x"))
    written = records_to_xfdf([note], [LETTER], pdf_name="review copy.pdf", pdf_id=pdf_id)
    assert written.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<xfdf xmlns="')
    root = ET.fromstring(written)
    assert root.tag == f"{{{XFDF_NS}}}xfdf"
    assert root.get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"
    f = root.find("x:f", NS)
    ids = root.find("x:ids", NS)
    assert f is not None and f.get("href") == "review copy.pdf"
    assert ids is not None
    assert (ids.get("original"), ids.get("modified")) == (original.upper(), modified.upper())
    content = xfdf_to_records(written, [LETTER])
    assert content.pdf_id == pdf_id
    assert content.pdf_name == "review copy.pdf"


def test_no_whitespace_text_between_elements_so_xml_space_preserve_adds_nothing() -> None:
    note = NoteAnnotation(id="n", bbox=_rect(), text=Text("x"), color="#FF0000")
    root = ET.fromstring(records_to_xfdf([note], [LETTER], pdf_id=PdfId("AAAA", "AAAA")))
    for elem in root.iter():
        if len(elem):
            assert not (elem.text or "").strip(" \n") or elem.tag.endswith("contents")
            assert all(not (child.tail or "") for child in elem)


def test_rich_free_text_keeps_its_markup_and_gets_plain_contents_too() -> None:
    record = TextAnnotation(
        id="t", bbox=_rect(), text=Text("<p>one</p><p>two &amp; <i>three</i></p>", "xhtml")
    )
    elem = _annotation_elements(records_to_xfdf([record], [LETTER]))["t"]
    contents = elem.find("x:contents", NS)
    assert contents is not None and contents.text == "one\ntwo & three"
    body = elem.find("x:contents-richtext/{http://www.w3.org/1999/xhtml}body", NS)
    assert body is not None
    (back,) = xfdf_to_records(records_to_xfdf([record], [LETTER]), [LETTER]).records
    assert isinstance(back, TextAnnotation) and back.text.format == "xhtml"
    assert "<i>three</i>" in back.text.value


def test_malformed_rich_text_names_the_record() -> None:
    record = Comment(id="c9", root_id="r", page_index=0, text=Text("<p>open", "xhtml"))
    with pytest.raises(XfdfError, match=r"pspdfkit/comment c9 cannot be written.*not well-formed"):
        records_to_xfdf([record], [LETTER])


def _rect(left: float = 10, top: float = 10, width: float = 50, height: float = 30) -> Any:
    from lamina.model.geometry import Rect

    return Rect(left, top, width, height)


@pytest.mark.parametrize(
    ("da", "expected"),
    [
        ("0 0 1 rg /Helv 12 Tf", DefaultAppearance(12.0, "#0000ff", None, "Helv")),
        ("/Cour 0 Tf 0.5 g", DefaultAppearance(None, "#808080", None, "Cour")),
        ("1 0 0 RG 0 1 0 rg /TiRo 9.5 Tf", DefaultAppearance(9.5, "#00ff00", "#ff0000", "TiRo")),
        ("", DefaultAppearance()),
        (None, DefaultAppearance()),
    ],
)
def test_default_appearance_strings_read_in_one_public_place(
    da: str | None, expected: DefaultAppearance
) -> None:
    assert parse_default_appearance(da) == expected
    assert v.parse_default_appearance is parse_default_appearance
