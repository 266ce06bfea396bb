"""Rendering pages and tiles: the pixels match PyMuPDF's own, tiles line up with pages."""

from __future__ import annotations

import pymupdf
import pytest
from lamina.pdf import (
    BGRA_FORMAT,
    PIXEL_FORMAT,
    RenderTooLargeError,
    open_pdf,
    render_page,
    render_tile,
    tile_grid,
)

from tests.conftest import corpus_pdf


def _rgb_rows(image_data: memoryview, width: int, height: int, stride: int) -> bytes:
    out = bytearray()
    for y in range(height):
        row = image_data[y * stride : y * stride + width * 4]
        for x in range(width):
            out += row[x * 4 : x * 4 + 3]
    return bytes(out)


def test_page_pixels_equal_pymupdf_get_pixmap_for_a_rotated_page() -> None:
    path = corpus_pdf("rtl-arabic-4-rotations")
    with open_pdf(path) as doc:
        image = render_page(doc, 0, 0.5)
    raw = pymupdf.open(path)[0].get_pixmap(matrix=pymupdf.Matrix(0.5, 0.5), alpha=False)
    assert image.format == PIXEL_FORMAT == "RGBA8888"
    assert (image.width, image.height) == (raw.width, raw.height)
    assert image.width > image.height  # 90 degrees: shown in landscape
    assert _rgb_rows(image.data, image.width, image.height, image.stride) == raw.samples
    assert {image.data[i] for i in range(3, len(image.data), 4)} == {255}


def test_tiles_reassemble_the_page() -> None:
    with open_pdf(corpus_pdf("geometry-rotations")) as doc:
        zoom = 0.75
        page = render_page(doc, 3, zoom)
        width, height = doc.page_geometry(3).display_size(zoom)
        for x0, y0, x1, y1 in tile_grid(width, height, 128):
            tile = render_tile(doc, 3, zoom, (x0, y0, x1, y1))
            assert (tile.x, tile.y, tile.width, tile.height) == (x0, y0, x1 - x0, y1 - y0)
            for x, y in ((x0, y0), (x1 - 1, y1 - 1), ((x0 + x1) // 2, (y0 + y1) // 2)):
                assert tile.pixel(x - x0, y - y0) == page.pixel(x, y)


def test_annots_false_leaves_the_pdf_annotations_out() -> None:
    with open_pdf(corpus_pdf("annot-all-markup-types")) as doc:
        with_annots = render_page(doc, 0, 0.5)
        without = render_page(doc, 0, 0.5, annots=False)
        size = (0, 0, with_annots.width, with_annots.height)
        tile_without = render_tile(doc, 0, 0.5, size, annots=False)
    assert bytes(with_annots.data) != bytes(without.data)
    # Replaying a display list may shade an edge pixel one level differently.
    assert max(abs(a - b) for a, b in zip(tile_without.data, without.data, strict=True)) <= 8


def test_huge_page_renders_as_tiles_but_not_whole() -> None:
    with open_pdf(corpus_pdf("largepage-8400pt")) as doc:
        with pytest.raises(RenderTooLargeError, match="render the page as tiles"):
            render_page(doc, 0, 1.0)
        tile = render_tile(doc, 0, 1.0, (8000, 8000, 8400, 8400))
        assert (tile.width, tile.height) == (400, 400)
        # The scan is black and white; somewhere in the page there is ink.
        middle = render_tile(doc, 0, 0.05, (0, 0, 420, 420))
    assert any(middle.data[i] < 240 for i in range(0, len(middle.data), 4))


def test_bgra_byte_order_is_the_same_picture_with_red_and_blue_swapped() -> None:
    with open_pdf(corpus_pdf("annot-all-markup-types")) as doc:
        rgba = render_page(doc, 0, 0.5)
        bgra = render_page(doc, 0, 0.5, byte_order="BGRA")
        tile = render_tile(doc, 0, 0.5, (10, 10, 60, 60), byte_order="BGRA")
    assert bgra.format == BGRA_FORMAT == "BGRA8888"
    assert (bgra.width, bgra.height) == (rgba.width, rgba.height)
    swapped = bytearray(rgba.data)
    swapped[0::4], swapped[2::4] = rgba.data[2::4], rgba.data[0::4]
    assert bytes(bgra.data) == bytes(swapped)
    assert tile.pixel(0, 0) == bgra.pixel(10, 10)
    with pytest.raises(ValueError, match="byte_order"):
        render_page(open_pdf(corpus_pdf("annot-all-markup-types")), 0, 0.5, byte_order="RGB")
