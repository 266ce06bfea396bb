"""Form values: radio groups, check boxes and text fields, both ways (issue 10, defects 2, 7).

The form is written by hand (another program's radio group: kids with on states a, b, c and
``/V /b``), so nothing of PyMuPDF's own form writing is in the fixture; what Lamina writes is
checked with pypdf and poppler (``pdftoppm``).
"""

from __future__ import annotations

import io
import subprocess

import pymupdf
import pypdf
import pytest
from lamina.model.instant_json import InstantDocument, instant_json_to_dict, parse_instant_json
from lamina.model.records import FormFieldValue, form_field_value_id
from lamina.pdf import (
    apply_instant_json,
    diff_documents,
    dump_instant_json,
    open_pdf,
    read_records,
)


def radio_pdf(selected: str = "b") -> bytes:
    """A page with a radio group 'size' (kids a, b, c; 'selected' on) and a check box."""
    objs = {}
    objs[1] = (
        "<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[4 0 R 20 0 R]/NeedAppearances false>>>>"
    )
    objs[2] = "<</Type/Pages/Kids[3 0 R]/Count 1>>"
    objs[3] = "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Annots[5 0 R 6 0 R 7 0 R 20 0 R]>>"
    objs[4] = f"<</FT/Btn/Ff 49152/T(size)/V/{selected}/Kids[5 0 R 6 0 R 7 0 R]>>"
    for i, (num, on) in enumerate(((5, "a"), (6, "b"), (7, "c"))):
        x = 50 + 40 * i
        state = f"/{on}" if on == selected else "/Off"
        objs[num] = (
            f"<</Type/Annot/Subtype/Widget/Parent 4 0 R/Rect[{x} 750 {x + 20} 770]"
            f"/AS{state}/MK<</CA(l)>>/AP<</N<</{on} 10 0 R/Off 11 0 R>>>>/F 4>>"
        )
    objs[20] = (
        "<</Type/Annot/Subtype/Widget/FT/Btn/T(agree)/V/Off/AS/Off/Rect[50 700 70 720]"
        "/AP<</N<</Yes 11 0 R/Off 11 0 R>>>>/F 4>>"
    )
    streams = {10: b"0 0 1 rg 4 4 12 12 re f", 11: b""}
    out = b"%PDF-1.7\n"
    offsets = {}
    for num in sorted(set(objs) | set(streams)):  # objects, then the xref table by hand
        offsets[num] = len(out)
        if num in streams:
            data = streams[num]
            head = f"{num} 0 obj\n<</Type/XObject/Subtype/Form/BBox[0 0 20 20]"
            head += f"/Length {len(data)}>>\nstream\n"
            out += head.encode() + data + b"\nendstream\nendobj\n"
        else:
            out += f"{num} 0 obj\n{objs[num]}\nendobj\n".encode()
    size = max(offsets) + 1
    xref = len(out)
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for n in range(1, size):
        out += (
            f"{offsets[n]:010d} 00000 n \n" if n in offsets else "0000000000 65535 f \n"
        ).encode()
    out += f"trailer\n<</Size {size}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def _values(data: bytes) -> dict[str, object]:
    with open_pdf(data) as doc:
        return {r.name: r.value for r in read_records(doc) if isinstance(r, FormFieldValue)}


def _fill(data: bytes, name: str, value: object, indexes: tuple[int, ...] | None = None) -> bytes:
    record = FormFieldValue(
        id=form_field_value_id(name), name=name, value=value, option_indexes=indexes
    )
    return apply_instant_json(data, InstantDocument(form_field_values=(record,)))


def _states(data: bytes) -> tuple[list[str], object]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    kids = [reader.get_object(n) for n in (5, 6, 7)]
    parent = reader.get_object(4)
    return [str(k["/AS"]) for k in kids], parent["/V"]  # type: ignore[index]


def test_a_radio_group_set_by_another_program_reads_as_its_choice() -> None:
    assert _values(radio_pdf("b"))["size"] == ["b"]
    assert _values(radio_pdf("Off"))["size"] == []


def test_choosing_one_radio_ticks_that_widget_only_and_stores_a_name() -> None:
    out = _fill(radio_pdf("b"), "size", ["c"])
    states, value = _states(out)
    assert states == ["/Off", "/Off", "/c"]
    assert isinstance(value, pypdf.generic.NameObject) and value == "/c"
    assert _values(out)["size"] == ["c"]


def test_option_indexes_choose_the_widget_by_its_place_in_the_field() -> None:
    out = _fill(radio_pdf("b"), "size", None, indexes=(0,))
    assert _states(out)[0] == ["/a", "/Off", "/Off"]


def test_diff_sees_a_radio_choice_another_program_changed() -> None:
    for old, new in (("b", "c"), ("a", "b"), ("Off", "c")):
        with open_pdf(radio_pdf(old)) as before, open_pdf(radio_pdf(new)) as after:
            diff = diff_documents(before, after)
        assert [(v.name, v.value) for v in diff.form_field_values] == [("size", [new])]


def _dark_pixels_in_the_check_box(data: bytes) -> int:
    ppm = subprocess.run(
        ["pdftoppm", "-r", "72", "-gray", "-x", "50", "-y", "122", "-W", "20", "-H", "20"],
        input=data,
        capture_output=True,
        check=True,
    ).stdout
    # P5 header: magic, width height, max, then the pixels
    header_end = 0
    for _ in range(3):
        header_end = ppm.index(b"\n", header_end) + 1
    return sum(1 for b in ppm[header_end:] if b < 128)


def test_a_check_box_lamina_ticks_is_drawn_ticked_by_poppler_also_flattened() -> None:
    # The regenerated check mark's ZapfDingbats has no /Encoding (a symbol font must not:
    # some poppler versions then find no glyph); this poppler draws it either way.
    assert _dark_pixels_in_the_check_box(radio_pdf()) == 0
    out = _fill(radio_pdf(), "agree", ["Yes"])
    assert _values(out)["agree"] == ["Yes"]
    assert _dark_pixels_in_the_check_box(out) > 5
    record = FormFieldValue(id=form_field_value_id("agree"), name="agree", value=["Yes"])
    flat = apply_instant_json(
        radio_pdf(), InstantDocument(form_field_values=(record,)), flatten=True
    )
    assert _dark_pixels_in_the_check_box(flat) > 5


def _text_field_pdf() -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    widget = pymupdf.Widget()
    widget.field_type = pymupdf.PDF_WIDGET_TYPE_TEXT
    widget.field_name = "city"
    widget.rect = pymupdf.Rect(50, 50, 250, 70)
    widget.field_value = "Lyon"
    page.add_widget(widget)
    return bytes(doc.tobytes())


def test_a_prefilled_text_field_can_be_cleared() -> None:
    assert _values(_text_field_pdf())["city"] == "Lyon"
    for empty in ("", None):
        assert _values(_fill(_text_field_pdf(), "city", empty))["city"] in ("", None)


def test_dump_lists_the_form_fields_with_their_widgets() -> None:
    with open_pdf(radio_pdf()) as doc:
        dumped = instant_json_to_dict(dump_instant_json(doc))
    fields = {f["name"]: f for f in dumped["formFields"]}
    assert fields["size"]["type"] == "pspdfkit/form-field/radio"
    assert fields["size"]["annotationIds"] == ["5", "6", "7"]
    assert fields["agree"]["type"] == "pspdfkit/form-field/checkbox"
    widget_ids = {a["id"] for a in dumped["annotations"] if a["type"] == "pspdfkit/widget"}
    assert {i for f in fields.values() for i in f["annotationIds"]} == widget_ids
    # and a dump with its form fields applies again
    apply_instant_json(radio_pdf(), parse_instant_json(dumped))


def test_a_pdf_without_a_form_has_no_fields_and_no_page_is_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Opening the 429-page PDF read every page's widgets on the GUI thread (64 ms)."""
    from lamina.pdf import open_pdf
    from lamina.pdf.form_fields import read_form_fields

    from tests.support.corpus import corpus_pdf

    doc = open_pdf(corpus_pdf("long-429p-broken-xref"))
    loads: list[int] = []
    monkeypatch.setattr(doc, "fitz_page", lambda index: loads.append(index))
    assert read_form_fields(doc) == {}
    assert loads == []
    doc.close()
