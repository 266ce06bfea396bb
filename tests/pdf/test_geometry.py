"""Page geometry on the geometry-* corpus files: rotations, CropBox offsets, MediaBox origins."""

from __future__ import annotations

import io

import pymupdf
import pypdf
import pytest
from lamina.model.geometry import Rect
from lamina.pdf import open_pdf

from tests.conftest import corpus_pdf

GEOMETRY_FILES = [
    "geometry-rotations-offset-mediabox-cropbox",
    "geometry-mixed-sizes-offset-origin",
    "geometry-huge-mediabox-offset-cropbox-rot270",
    "rtl-arabic-4-rotations",
]


def _pages() -> list[tuple[str, int]]:
    out = []
    for prefix in GEOMETRY_FILES:
        with open_pdf(corpus_pdf(prefix)) as doc:
            out.extend((prefix, i) for i in range(doc.page_count))
    return out


def test_boxes_file_has_every_rotation_and_the_cropbox_size() -> None:
    with open_pdf(corpus_pdf("geometry-rotations")) as doc:
        infos = [doc.page_info(i) for i in range(doc.page_count)]
    assert [i.rotation for i in infos] == [0, 90, 180, 270] * 2
    # CropBox [10 20 582 752]: 572 x 732 whatever the rotation.
    assert {(i.width, i.height) for i in infos} == {(572, 732)}


def test_huge_mediabox_page_is_the_a4_cropbox_rotated() -> None:
    with open_pdf(corpus_pdf("geometry-huge-mediabox")) as doc:
        geometry = doc.page_geometry(0)
    assert geometry.rotation == 270
    assert geometry.width == pytest.approx(841.89, abs=0.01)
    assert geometry.height == pytest.approx(595.27, abs=0.01)
    assert geometry.display_size(1.0) == pytest.approx((595.27, 841.89), abs=0.01)


@pytest.mark.parametrize(("prefix", "index"), _pages())
def test_rect_written_at_an_instant_position_lands_there_in_the_file(
    prefix: str, index: int
) -> None:
    path = corpus_pdf(prefix)
    with open_pdf(path) as doc:
        geometry = doc.page_geometry(index)
    target = Rect(30, 50, 120, 40)  # 30 pt from the left, 50 pt from the top of the page
    fitz_doc = pymupdf.open(path)
    page = fitz_doc[index]
    page.add_freetext_annot(geometry.instant_to_pymupdf_rect(target), "here")
    reader = pypdf.PdfReader(io.BytesIO(fitz_doc.tobytes()))
    pdf_page = reader.pages[index]
    written = pdf_page["/Annots"][-1].get_object()
    x0, y0, x1, y1 = (float(v) for v in written["/Rect"])
    crop = [float(v) for v in pdf_page.cropbox]
    # Independent check against the raw boxes pypdf reads: left edge from the CropBox left,
    # top edge from the CropBox top (PDF y grows upwards).
    assert x0 - crop[0] == pytest.approx(target.left, abs=0.5)
    assert crop[3] - y1 == pytest.approx(target.top, abs=0.5)
    assert (x1 - x0, y1 - y0) == pytest.approx((target.width, target.height), abs=0.5)
    assert geometry.pdf_to_instant_rect(x0, y0, x1, y1) == pytest.approx(target, abs=0.5)


@pytest.mark.parametrize(("prefix", "index"), _pages())
def test_display_transform_matches_mupdf_and_round_trips(prefix: str, index: int) -> None:
    with open_pdf(corpus_pdf(prefix)) as doc:
        geometry = doc.page_geometry(index)
        page = doc.fitz_page(index)
        zoom = 1.5
        to_screen = page.rotation_matrix * pymupdf.Matrix(zoom, zoom)
        page_size = (page.rect.width * zoom, page.rect.height * zoom)
    for point in ((0, 0), (10, 20), (geometry.width, 0), (geometry.width / 3, geometry.height)):
        expected = pymupdf.Point(point) * to_screen
        shown = geometry.instant_to_display(point, zoom)
        assert shown == pytest.approx((expected.x, expected.y), abs=1e-3)
        back = geometry.display_to_instant(*shown, zoom)
        assert back == pytest.approx(point, abs=1e-6)
    w, h = geometry.display_size(zoom)
    assert (w, h) == pytest.approx(page_size)


def test_top_left_of_the_page_is_where_the_rotation_puts_it() -> None:
    with open_pdf(corpus_pdf("geometry-rotations")) as doc:
        corners = [doc.page_geometry(i).instant_to_display((0, 0), 1.0) for i in range(4)]
    # Instant (0, 0) is the top-left of the unrotated page: after a clockwise quarter turn it
    # is the top-right of the screen, after a half turn the bottom-right, and so on.
    assert corners == [(0, 0), (732, 0), (572, 732), (0, 572)]


def test_a_page_geometry_is_read_once_and_not_after_close(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = open_pdf(corpus_pdf("geometry-rotations-offset-mediabox-cropbox"))
    loads: list[int] = []
    real = type(doc.fitz_document).load_page

    def counted(self, index):  # type: ignore[no-untyped-def]
        loads.append(index)
        return real(self, index)

    monkeypatch.setattr(type(doc.fitz_document), "load_page", counted)
    first = doc.page_geometry(1)
    assert doc.page_geometry(1) is first
    assert loads == [1]
    doc.close()
    with pytest.raises(ValueError):
        doc.page_geometry(1)
