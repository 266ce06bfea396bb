"""A record's Instant JSON ``id`` survives apply -> dump, whatever its ``name`` (issue 10,
defect 8).

The id comes back from the annotation's own dictionary (Lamina's private copy), so it does
not depend on ``/NM``; replies name their root by that id; an annotation whose dictionary a
program duplicated does not give two records one id; an object-number id stays the PDF's.
"""

from __future__ import annotations

import io

import pymupdf
import pypdf
import pytest
from lamina.model.geometry import Rect
from lamina.model.instant_json import InstantDocument
from lamina.model.records import Comment, RectangleAnnotation, Text
from lamina.pdf import apply_instant_json, dump_instant_json, open_pdf

ULID = "01HZ0000000000000000000042"


def _blank() -> bytes:
    doc = pymupdf.open()
    doc.new_page(width=595, height=842)
    return bytes(doc.tobytes())


def _rectangle(name: str | None) -> RectangleAnnotation:
    return RectangleAnnotation(
        id=ULID, name=name, page_index=0, bbox=Rect(100, 100, 80, 60), stroke_color="#ff0000"
    )


@pytest.mark.parametrize("name", [None, ULID, "a-uuid-name-from-ios", "Rectangle 1"])
def test_the_id_comes_back_whatever_the_name(name: str | None) -> None:
    reply = Comment(id="01HZ00000000000000000000C1", root_id=ULID, page_index=0, text=Text("hi"))
    out = apply_instant_json(
        _blank(), InstantDocument(annotations=(_rectangle(name),), comments=(reply,))
    )
    with open_pdf(out) as doc:
        dumped = dump_instant_json(doc)
    (back,) = dumped.annotations
    assert back.id == ULID
    assert back.name == (name or ULID)  # /NM: the name, else the id
    assert back.pdf_object_id is not None and back.pdf_object_id > 0
    (comment,) = dumped.comments
    assert comment.id == reply.id
    assert comment.root_id == ULID
    # the PDF itself still says which object the reply belongs to (independent reader)
    reader = pypdf.PdfReader(io.BytesIO(out))
    texts = [a.get_object() for a in reader.pages[0]["/Annots"]]  # type: ignore[union-attr]
    (irt,) = [t.raw_get("/IRT").idnum for t in texts if "/IRT" in t]
    assert irt == back.pdf_object_id


def test_an_id_kept_twice_by_a_copied_dictionary_is_given_once() -> None:
    out = apply_instant_json(_blank(), InstantDocument(annotations=(_rectangle("r"),)))
    # another program duplicates the annotation dictionary, private key and all
    doc = pymupdf.open(stream=out)
    page = doc[0]
    (xref,) = [x for x, _, _ in page.annot_xrefs()]
    copy = doc.get_new_xref()
    doc.update_object(copy, doc.xref_object(xref))
    doc.xref_set_key(page.xref, "Annots", f"[{xref} 0 R {copy} 0 R]")
    edited = doc.tobytes()
    with open_pdf(edited) as opened:
        ids = [r.id for r in dump_instant_json(opened).annotations]
    assert ids == [ULID, str(copy)]


def test_an_object_number_id_stays_the_pdfs_own() -> None:
    out = apply_instant_json(
        _blank(),
        InstantDocument(
            annotations=(RectangleAnnotation(id="77", page_index=0, bbox=Rect(1, 1, 9, 9)),)
        ),
    )
    with open_pdf(out) as doc:
        (back,) = dump_instant_json(doc).annotations
    assert back.id == str(back.pdf_object_id)
