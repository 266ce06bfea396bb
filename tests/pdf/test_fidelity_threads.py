"""Comment markers with their threads, and replace-text groups (issue 10, defect 4).

Checked with pypdf: the replies' ``/IRT`` and where they sit, and ``/IRT`` + ``/RT /Group``.
"""

from __future__ import annotations

import io

import pymupdf
import pypdf
from lamina.model.geometry import Rect
from lamina.model.instant_json import InstantDocument
from lamina.model.records import Comment, CommentMarkerAnnotation, Text
from lamina.pdf import apply_instant_json, dump_instant_json, open_pdf

from tests.conftest import corpus_pdf
from tests.pdf.test_fidelity_corpus import strip_with_pypdf

MARKER = "01HZ0000000000000000000M01"


def _blank() -> bytes:
    doc = pymupdf.open()
    doc.new_page(width=595, height=842)
    return bytes(doc.tobytes())


def test_a_comment_marker_thread_is_written_at_the_marker_and_comes_back_whole() -> None:
    marker = CommentMarkerAnnotation(
        id=MARKER, page_index=0, bbox=Rect(300, 500, 24, 24), icon="comment", color="#3366ff"
    )
    comments = tuple(
        Comment(
            id=f"01HZ0000000000000000000C0{i}",
            root_id=MARKER,
            page_index=0,
            text=Text(f"reply {i}"),
            creator_name="Ada",
        )
        for i in (1, 2)
    )
    out = apply_instant_json(_blank(), InstantDocument(annotations=(marker,), comments=comments))
    with open_pdf(out) as doc:
        dumped = dump_instant_json(doc)
    (back,) = dumped.annotations
    assert isinstance(back, CommentMarkerAnnotation)
    assert [(c.root_id, c.text.value) for c in dumped.comments] == [
        (back.id, "reply 1"),
        (back.id, "reply 2"),
    ]
    reader = pypdf.PdfReader(io.BytesIO(out))
    texts = [
        a.get_object() for a in reader.pages[0]["/Annots"] if a.get_object()["/Subtype"] == "/Text"
    ]  # type: ignore[union-attr]
    replies = [t for t in texts if "/IRT" in t]
    assert len(replies) == 2
    for reply in replies:
        assert reply.raw_get("/IRT").idnum == back.pdf_object_id
        x0, _, _, y1 = (float(v) for v in reply["/Rect"])
        assert abs(x0 - 300) < 1 and abs(y1 - (842 - 500)) < 30  # at the marker, not a corner


def test_a_replace_text_group_survives_dump_and_apply_onto_the_stripped_pdf() -> None:
    path = corpus_pdf("annot-irt-group-inverted-rect")
    with open_pdf(path) as doc:
        dumped = dump_instant_json(doc)
    out = apply_instant_json(strip_with_pypdf(path), dumped)
    reader = pypdf.PdfReader(io.BytesIO(out))
    grouped = [
        a.get_object()
        for page in reader.pages
        for a in page.get("/Annots") or ()  # type: ignore[union-attr]
        if a.get_object().get("/RT") == "/Group"
    ]
    assert len(grouped) == 1
    (strike,) = grouped
    assert strike["/Subtype"] == "/StrikeOut"
    assert strike["/IRT"].get_object()["/Subtype"] == "/Caret"
