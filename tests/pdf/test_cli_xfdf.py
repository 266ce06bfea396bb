"""``lamina dump --format xfdf`` and ``lamina apply IN.pdf CHANGES.xfdf``, run as a user would."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pymupdf
import pypdf
import pytest
from lamina.pdf.xfdf import XFDF_NS

from tests.support.corpus import SHARED

XFDF_CORPUS = SHARED / "corpus" / "xfdf"
REVIEW = XFDF_CORPUS / "itext-acrobat-dc_polygon-cloud-review-replies"
FIELDS = XFDF_CORPUS / "aspose_fields-export-5-fields"
NS = {"x": XFDF_NS}


def _lamina(*args: str | Path) -> subprocess.CompletedProcess[str]:
    lamina = shutil.which("lamina")
    assert lamina, "the lamina command is not installed (pip install -e .)"
    return subprocess.run(
        [lamina, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def _dump(pdf: Path) -> dict[str, Any]:
    done = _lamina("dump", pdf)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _stripped(pdf: Path, target: Path) -> Path:
    """Write ``pdf`` without its annotations (widgets stay: their values are the form's)."""
    doc = pymupdf.open(pdf)
    for page in doc:
        while page.first_annot is not None:
            page.delete_annot(page.first_annot)
    doc.save(target)
    return target


def _plain(text: Any) -> str:
    """The words of a comment's text (rich text written into a PDF: see the xfail below)."""
    value = text.get("value", "") if isinstance(text, dict) else str(text or "")
    return re.sub(r"<[^>]+>", "", value).strip()


def _kinds(document: dict[str, Any]) -> list[tuple[str, str]]:
    """Each annotation as (type, name), each comment as (type, its text): what must come back.

    A comment has no name in Instant JSON and a new id once written again (its object
    number), so its text stands for it.
    """
    annotations = [(a["type"], a.get("name") or a["id"]) for a in document.get("annotations", [])]
    comments = [(c["type"], _plain(c.get("text"))) for c in document.get("comments", [])]
    return sorted(annotations + comments)


def test_dump_writes_xfdf_with_every_annotation_reply_and_the_pdf_s_id(tmp_path: Path) -> None:
    out = tmp_path / "review.xfdf"
    done = _lamina("dump", "--format", "xfdf", REVIEW.with_suffix(".pdf"), "-o", out)
    assert done.returncode == 0, done.stderr
    root = ET.fromstring(out.read_bytes())
    assert root.tag == f"{{{XFDF_NS}}}xfdf"
    names = [e.get("name") for e in root.find("x:annots", NS) or ()]
    document = _dump(REVIEW.with_suffix(".pdf"))
    records = [*document["annotations"], *document["comments"]]
    assert sorted(n or "" for n in names) == sorted(r.get("name") or r["id"] for r in records)
    ids = root.find("x:ids", NS)
    permanent = base64.b64decode(document["pdfId"]["permanent"]).hex().upper()
    assert ids is not None and ids.get("original") == permanent
    assert root.find("x:f", NS).get("href") == REVIEW.with_suffix(".pdf").name  # type: ignore[union-attr]


def test_dump_xfdf_to_stdout_is_the_same_file(tmp_path: Path) -> None:
    out = tmp_path / "review.xfdf"
    assert (
        _lamina("dump", "--format", "xfdf", REVIEW.with_suffix(".pdf"), "-o", out).returncode == 0
    )
    done = _lamina("dump", "--format", "xfdf", REVIEW.with_suffix(".pdf"))
    assert done.returncode == 0
    assert done.stdout.encode() == out.read_bytes()


def test_dumped_xfdf_applied_to_the_stripped_pdf_gives_back_every_annotation(
    tmp_path: Path,
) -> None:
    source = REVIEW.with_suffix(".pdf")
    xfdf = tmp_path / "review.xfdf"
    assert _lamina("dump", "--format", "xfdf", source, "-o", xfdf).returncode == 0
    bare = _stripped(source, tmp_path / "bare.pdf")
    assert _dump(bare).get("annotations", []) == []
    out = tmp_path / "out.pdf"
    done = _lamina("apply", bare, xfdf, "-o", out)
    assert done.returncode == 0, done.stderr
    before, after = _dump(source), _dump(out)
    assert _kinds(after) == _kinds(before)
    boxes = {a.get("name"): a["bbox"] for a in before["annotations"]}
    for annotation in after["annotations"]:
        if annotation["type"] != "pspdfkit/shape/polygon":  # cloudy: see the xfail below
            assert annotation["bbox"] == pytest.approx(boxes[annotation.get("name")], abs=0.01)


def test_a_cloudy_polygon_from_xfdf_keeps_its_rect(tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    bare = _stripped(REVIEW.with_suffix(".pdf"), tmp_path / "bare.pdf")
    assert _lamina("apply", bare, REVIEW.with_suffix(".xfdf"), "-o", out).returncode == 0
    (polygon,) = [a for a in _dump(out)["annotations"] if a["type"].endswith("polygon")]
    assert polygon["bbox"] == pytest.approx([63.0291, 114.436, 360.2699, 200.725], abs=0.01)
    assert polygon.get("cloudyBorderIntensity")


def test_a_rich_text_reply_from_xfdf_reads_back_as_rich_text_and_shows_its_words(
    tmp_path: Path,
) -> None:
    """Issue 10 defect 3 (rich text): a reply's xhtml was written into /Contents as markup and
    read back as plain text '<p>…</p>'."""
    out = tmp_path / "out.pdf"
    bare = _stripped(REVIEW.with_suffix(".pdf"), tmp_path / "bare.pdf")
    assert _lamina("apply", bare, REVIEW.with_suffix(".xfdf"), "-o", out).returncode == 0
    comments = _dump(out)["comments"]
    marked = [c["text"] for c in comments if "<p" in str(c["text"]["value"])]
    assert marked and all(t["format"] == "xhtml" for t in marked)
    # every viewer shows the words: /Contents holds no markup, /RC holds it (pypdf reads)
    reader = pypdf.PdfReader(out)
    replies = [
        a.get_object()
        for page in reader.pages
        for a in page.get("/Annots") or ()  # type: ignore[union-attr]
        if "/IRT" in a.get_object()
    ]
    assert replies
    assert not any("<p" in str(r.get("/Contents", "")) for r in replies)
    assert sum("/RC" in r for r in replies) == len(marked)


def test_applying_the_pdf_s_own_xfdf_replaces_its_annotations_instead_of_doubling_them(
    tmp_path: Path,
) -> None:
    source = REVIEW.with_suffix(".pdf")
    out = tmp_path / "out.pdf"
    done = _lamina("apply", source, REVIEW.with_suffix(".xfdf"), "-o", out)
    assert done.returncode == 0, done.stderr
    assert _kinds(_dump(out)) == _kinds(_dump(source))


def test_xfdf_is_recognised_by_its_content_whatever_the_file_is_called(tmp_path: Path) -> None:
    changes = tmp_path / "changes.txt"
    root = ET.fromstring(FIELDS.with_suffix(".xfdf").read_bytes())
    for value in root.iter(f"{{{XFDF_NS}}}value"):
        value.text = "Changed by the test"
        break
    changes.write_bytes(ET.tostring(root, xml_declaration=True, encoding="UTF-8"))
    out = tmp_path / "out.pdf"
    done = _lamina("apply", FIELDS.with_suffix(".pdf"), changes, "-o", out)
    assert done.returncode == 0, done.stderr
    values = [v["value"] for v in _dump(out)["formFieldValues"]]
    assert "Changed by the test" in values


HOSTILE = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
    b'<xfdf xmlns="http://ns.adobe.com/xfdf/"><annots><text page="0" rect="1,1,2,2">'
    b"<contents>&a;</contents></text></annots></xfdf>"
)
PAST_THE_END = (
    b'<?xml version="1.0"?><xfdf xmlns="http://ns.adobe.com/xfdf/"><annots>'
    b'<square page="7" rect="1,1,20,20" name="far-away" color="#FF0000"/></annots></xfdf>'
)


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (HOSTILE, "hostile.xfdf", "is not usable XFDF"),
        (PAST_THE_END, "far.xfdf", "far-away"),
        (b"<xfdf><annots><square page=", "broken.xfdf", "is not usable XFDF"),
        (b'<?xml version="1.0"?><html/>', "page.xml", "not xfdf"),
    ],
)
def test_bad_xfdf_is_one_line_exit_1_and_no_output(
    data: bytes, name: str, says: str, tmp_path: Path
) -> None:
    changes = tmp_path / name
    changes.write_bytes(data)
    done = _lamina("apply", REVIEW.with_suffix(".pdf"), changes, "-o", tmp_path / "out.pdf")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("lamina: error: ") and says in lines[0]
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_dump_xfdf_of_a_pdf_that_cannot_open_is_one_line_and_writes_nothing(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    done = _lamina("dump", "--format", "xfdf", empty, "-o", tmp_path / "out.xfdf")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "is empty (0 bytes)" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.pdf"]
