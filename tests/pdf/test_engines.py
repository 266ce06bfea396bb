"""The four-engine check: what Lamina writes draws right in poppler, PDFium, MuPDF and pdf.js.

Lamina writes every annotation type it knows (tests/pdf/engines/all_types.py: colours,
opacity, blend mode, free text font/alignment/rotation, stamps, note icons, cloudy borders,
ink, shapes, markups, an image, form values) onto blank pages, as annotations and flattened.
Each engine renders both files; for each annotation, each of its colours must show inside its
rectangle and nothing may be drawn in the rest of its cell. On the CI machine (``CI=true``) an
engine that is missing fails the test instead of skipping it.
"""

from __future__ import annotations

import functools

import pytest

from tests.pdf.engines.all_types import CASES, PAGE, Case, sample_pdf
from tests.pdf.engines.renderers import ENGINES, SCALE, Raster, in_ci, missing

pytestmark = pytest.mark.slow

TOLERANCE = 48
"""How far (largest channel difference, 0..255) a pixel may be from a colour and count as it."""
MIN_PIXELS = 12
"""How many pixels of each colour must show inside the rectangle (at 144 dpi)."""
MARGIN = 3.0
"""Points around the rectangle left out of the "nothing outside" check (antialiasing)."""
WHITE = 230

KNOWN = {
    ("link-border", "mupdf", False): (
        True,
        "MuPDF never draws a link annotation's appearance (it keeps links apart from "
        "annotations); the border shows in MuPDF once flattened",
    ),
}
"""Known defects and engine limits, by (case, engine or None for all, flatten or None for both):
(strict, reason)."""


def _known(case: str, engine: str, flatten: bool) -> tuple[bool, str] | None:
    for (key, where, flat), known in KNOWN.items():
        if key == case and where in (None, engine) and flat in (None, flatten):
            return known
    return None


def _need(engine: str) -> None:
    reason = missing(engine)
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI=true and the {engine} engine cannot run: {reason}")
    pytest.skip(f"{engine} cannot run here: {reason}")


@functools.cache
def _rendered(engine: str, flatten: bool) -> tuple[Raster, ...]:
    return tuple(ENGINES[engine](sample_pdf(flatten)))


def _pixels(box: tuple[float, float, float, float], raster: Raster) -> tuple[int, int, int, int]:
    left, top, width, height = box
    x0, y0 = max(0, round(left * SCALE)), max(0, round(top * SCALE))
    x1 = min(raster.width, round((left + width) * SCALE))
    y1 = min(raster.height, round((top + height) * SCALE))
    return x0, y0, x1, y1


def _near(pixel: tuple[int, int, int], color: tuple[int, int, int]) -> bool:
    return max(abs(a - b) for a, b in zip(pixel, color, strict=True)) <= TOLERANCE


def _hex(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def check(case: Case, raster: Raster) -> list[str]:
    """Return what is wrong with ``case`` on ``raster`` (empty: it draws right)."""
    problems = []
    x0, y0, x1, y1 = _pixels(case.rect, raster)
    for color in case.colors:
        wanted = _hex(color)
        count = sum(
            1 for y in range(y0, y1) for x in range(x0, x1) if _near(raster.pixel(x, y), wanted)
        )
        if count < MIN_PIXELS:
            problems.append(f"{color} shows on {count} pixels inside the rectangle")
    left, top, width, height = case.rect
    grown = (left - MARGIN, top - MARGIN, width + 2 * MARGIN, height + 2 * MARGIN)
    gx0, gy0, gx1, gy1 = _pixels(grown, raster)
    cx0, cy0, cx1, cy1 = _pixels(case.cell_rect, raster)
    stray = [
        (x, y)
        for y in range(cy0, cy1, 2)
        for x in range(cx0, cx1, 2)
        if not (gx0 <= x < gx1 and gy0 <= y < gy1) and min(raster.pixel(x, y)) < WHITE
    ]
    if stray:
        x, y = stray[0]
        problems.append(
            f"{len(stray)} sampled pixels drawn outside the rectangle, first at "
            f"({x / SCALE:.0f}, {y / SCALE:.0f}) pt: {raster.pixel(x, y)}"
        )
    problems.extend(_placement(case, raster))
    return problems


def _region(case: Case, fractions: tuple[float, float, float, float]) -> tuple[int, ...]:
    left, top, width, height = case.rect
    fx0, fy0, fx1, fy1 = fractions
    box = (left + fx0 * width, top + fy0 * height, (fx1 - fx0) * width, (fy1 - fy0) * height)
    return tuple(round(v * SCALE) for v in (box[0], box[1], box[0] + box[2], box[1] + box[3]))


def _placement(case: Case, raster: Raster) -> list[str]:
    """Check where inside its rectangle a case draws (its ``extra``, see Case)."""
    problems = []
    x0, y0, x1, y1 = _pixels(case.rect, raster)
    for color, fractions in case.extra.get("only_in", ()):
        wanted = _hex(color)
        rx0, ry0, rx1, ry1 = _region(case, fractions)
        seen = [
            (x, y)
            for y in range(y0, y1)
            for x in range(x0, x1)
            if _near(raster.pixel(x, y), wanted)
        ]
        outside = [(x, y) for x, y in seen if not (rx0 <= x < rx1 and ry0 <= y < ry1)]
        if not seen or len(outside) > 0.03 * len(seen):
            problems.append(f"{len(outside)} of {len(seen)} {color} pixels outside {fractions}")
    for color, fractions in case.extra.get("in", ()):
        wanted = _hex(color)
        rx0, ry0, rx1, ry1 = _region(case, fractions)
        count = sum(
            1 for y in range(ry0, ry1) for x in range(rx0, rx1) if _near(raster.pixel(x, y), wanted)
        )
        if count < MIN_PIXELS:
            problems.append(f"{color} shows on {count} pixels in {fractions}")
    if case.extra.get("wavy_top"):
        tops = []
        for x in range(x0 + (x1 - x0) // 5, x1 - (x1 - x0) // 5):
            ink = [y for y in range(y0, y1) if min(raster.pixel(x, y)) < WHITE]
            if ink:
                tops.append(ink[0])
        if not tops or max(tops) - min(tops) < 2 * SCALE:
            spread = max(tops) - min(tops) if tops else None
            problems.append(f"the top border is straight (its ink starts {spread} pixels apart)")
    return problems


def ink_mask(case: Case, raster: Raster) -> list[list[bool]]:
    """Return which pixels of ``case``'s rectangle are drawn on (rows of columns)."""
    x0, y0, x1, y1 = _pixels(case.rect, raster)
    return [[min(raster.pixel(x, y)) < WHITE for x in range(x0, x1)] for y in range(y0, y1)]


def turned_agreement(turned: list[list[bool]], reference: list[list[bool]]) -> float:
    """Return how well ``turned`` is ``reference`` turned a quarter left (intersection over
    union of their ink, 0 to 1)."""
    height, width = len(reference), len(reference[0])
    both = either = 0
    for y, row in enumerate(turned):
        for x, ink in enumerate(row):
            # A quarter left: the reference's column u, row v land at column v, row W - u.
            u, v = width - 1 - y, x
            ref = 0 <= u < width and 0 <= v < height and reference[v][u]
            both += ink and ref
            either += ink or ref
    return both / either if either else 0.0


def _params() -> list[object]:
    params = []
    for engine in ENGINES:
        for flatten in (False, True):
            for case in CASES:
                known = _known(case.key, engine, flatten)
                marks = [pytest.mark.xfail(strict=known[0], reason=known[1])] if known else []
                mode = "flattened" if flatten else "annotations"
                params.append(
                    pytest.param(
                        engine, flatten, case, marks=marks, id=f"{engine}-{mode}-{case.key}"
                    )
                )
    return params


@pytest.mark.parametrize(("engine", "flatten", "case"), _params())
def test_annotation_draws_inside_its_rectangle_in_its_colour(
    engine: str, flatten: bool, case: Case
) -> None:
    _need(engine)
    rasters = _rendered(engine, flatten)
    assert len(rasters) == 2
    raster = rasters[case.page]
    assert (raster.width, raster.height) == (round(PAGE[0] * SCALE), round(PAGE[1] * SCALE))
    assert check(case, raster) == []


@pytest.mark.parametrize("engine", list(ENGINES))
def test_the_page_outside_every_cell_stays_blank_and_each_engine_sees_both_pages(
    engine: str,
) -> None:
    _need(engine)
    for flatten in (False, True):
        rasters = _rendered(engine, flatten)
        assert len(rasters) == 2
        used = {(c.page, c.cell) for c in CASES}
        for page, raster in enumerate(rasters):
            empty = [c for c in range(24) if (page, c) not in used]
            for cell in empty:
                blank = Case(f"empty-{cell}", page, cell, (), None)
                box = blank.cell_rect
                x0, y0, x1, y1 = _pixels(box, raster)
                dark = [
                    (x, y)
                    for y in range(y0, y1, 3)
                    for x in range(x0, x1, 3)
                    if min(raster.pixel(x, y)) < WHITE
                ]
                assert dark == [], f"page {page} cell {cell} is not blank (flatten={flatten})"


TURNED = [c for c in CASES if "turned_from" in c.extra]


@pytest.mark.parametrize("flatten", [False, True], ids=["annotations", "flattened"])
@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("case", TURNED, ids=[c.key for c in TURNED])
def test_a_rotated_stamp_draws_its_content_turned(engine: str, flatten: bool, case: Case) -> None:
    """Its ink is the unrotated stamp's, turned a quarter left (not squeezed into the box)."""
    _need(engine)
    rasters = _rendered(engine, flatten)
    (reference,) = [c for c in CASES if c.key == case.extra["turned_from"]]
    turned = ink_mask(case, rasters[case.page])
    assert turned_agreement(turned, ink_mask(reference, rasters[reference.page])) > 0.5


def test_the_placement_checks_can_fail() -> None:
    """A case drawn at the top, a straight border, an unturned stamp: each is found."""
    _need("mupdf")
    raster = _rendered("mupdf", False)[0]
    (centred,) = [c for c in CASES if c.key == "free-text-centred"]
    at_top = Case(
        centred.key,
        centred.page,
        centred.cell,
        centred.colors,
        centred.record,
        extra={"only_in": [("#c00000", (0.0, 0.0, 1.0, 0.2))]},
    )
    assert any("outside" in p for p in check(at_top, raster))
    (plain,) = [c for c in CASES if c.key == "rectangle-stroke"]
    wavy = Case(
        plain.key, plain.page, plain.cell, plain.colors, plain.record, extra={"wavy_top": True}
    )
    assert any("straight" in p for p in check(wavy, raster))
    page2 = _rendered("mupdf", False)[1]
    (wide,) = [c for c in CASES if c.key == "stamp-wide"]
    (turned,) = TURNED
    mask = ink_mask(wide, page2)
    assert turned_agreement(ink_mask(turned, page2), mask) > 0.5
    # the wide stamp squeezed into the tall box, unturned, does not agree
    squeezed = [
        [
            mask[min(len(mask) - 1, y * len(mask) // len(mask[0]))][
                min(len(mask[0]) - 1, x * len(mask[0]) // len(mask))
            ]
            for x in range(len(mask))
        ]
        for y in range(len(mask[0]))
    ]
    assert turned_agreement(squeezed, mask) < 0.5


def test_the_check_finds_a_wrong_colour_and_a_stray_mark() -> None:
    """The check itself can fail: a case drawn in another colour, or outside its box."""
    _need("mupdf")
    raster = _rendered("mupdf", False)[0]
    (red,) = [c for c in CASES if c.key == "rectangle-stroke"]
    assert check(red, raster) == []
    wrong = Case(red.key, red.page, red.cell, ("#00ff00",), red.record)
    assert "shows on 0 pixels" in check(wrong, raster)[0]
    left, top = red.rect[:2]
    small = Case(
        red.key, red.page, red.cell, red.colors, red.record, bbox=(left + 20, top + 20, 30, 30)
    )
    assert any("outside the rectangle" in p for p in check(small, raster))


def test_a_missing_engine_fails_in_ci_and_skips_with_its_reason_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.pdf.engines import renderers

    monkeypatch.setattr(renderers, "missing", lambda engine: "node is not installed")
    monkeypatch.setitem(globals(), "missing", renderers.missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and the pdfjs engine cannot run"):
        _need("pdfjs")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="node is not installed"):
        _need("pdfjs")
