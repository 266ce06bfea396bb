"""Render a PDF with each of the four engines into plain RGB rasters.

poppler (``pdftoppm``), PDFium (``pypdfium2``), MuPDF (``pymupdf``) and pdf.js (node with
``pdfjs-dist`` and ``@napi-rs/canvas`` from this folder's package.json; ``.ci/run`` installs
them with ``npm ci``). :func:`missing` says why an engine cannot run here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PDFJS_SCRIPT = HERE / "render_pdfjs.mjs"
SCALE = 2.0
"""Pixels per PDF point (144 dpi)."""


@dataclass(frozen=True)
class Raster:
    """One rendered page: ``width`` x ``height`` pixels, 3 bytes (R, G, B) each, row by row."""

    width: int
    height: int
    rgb: bytes

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = 3 * (y * self.width + x)
        return self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]


def _rgb_from(data: bytes, width: int, height: int, stride: int, channels: int) -> bytes:
    if channels == 3 and stride == 3 * width:
        return bytes(data[: stride * height])
    out = bytearray()
    for y in range(height):
        row = data[y * stride : y * stride + width * channels]
        pixels = bytearray(width * 3)
        pixels[0::3] = row[0::channels]
        pixels[1::3] = row[1::channels]
        pixels[2::3] = row[2::channels]
        out += pixels
    return bytes(out)


def _ppm(data: bytes) -> Raster:
    parts = data.split(maxsplit=4)
    if parts[0] != b"P6" or parts[3] != b"255":
        raise ValueError("pdftoppm did not write an 8-bit P6 image")
    width, height = int(parts[1]), int(parts[2])
    return Raster(width, height, parts[4][: width * height * 3])


def render_poppler(pdf: bytes) -> list[Raster]:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder, "in.pdf")
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(round(72 * SCALE)), str(source), f"{folder}/page"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        pages = sorted(Path(folder).glob("page-*.ppm"), key=lambda p: int(p.stem.split("-")[1]))
        return [_ppm(p.read_bytes()) for p in pages]


def render_pdfium(pdf: bytes) -> list[Raster]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        document.init_forms()
        rasters = []
        for index in range(len(document)):
            page = document[index]
            bitmap = page.render(scale=SCALE, may_draw_forms=True, rev_byteorder=True)
            width, height = bitmap.width, bitmap.height
            data = bytes(bitmap.buffer)
            rgb = _rgb_from(data, width, height, bitmap.stride, bitmap.n_channels)
            rasters.append(Raster(width, height, rgb))
            page.close()
        return rasters
    finally:
        document.close()


def render_mupdf(pdf: bytes) -> list[Raster]:
    import pymupdf

    rasters = []
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        for page in document:
            pix = page.get_pixmap(matrix=pymupdf.Matrix(SCALE, SCALE), annots=True, alpha=False)
            rgb = _rgb_from(bytes(pix.samples), pix.width, pix.height, pix.stride, pix.n)
            rasters.append(Raster(pix.width, pix.height, rgb))
    return rasters


def render_pdfjs(pdf: bytes) -> list[Raster]:
    node = shutil.which("node")
    assert node is not None
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder, "in.pdf")
        source.write_bytes(pdf)
        done = subprocess.run(
            [node, str(PDFJS_SCRIPT), str(source), str(SCALE), folder],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=HERE,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pdf.js failed: {done.stderr.strip()}")
        rasters = []
        for line in done.stdout.splitlines():
            page = json.loads(line)
            data = Path(folder, f"page-{page['page']}.rgba").read_bytes()
            width, height = page["width"], page["height"]
            rasters.append(Raster(width, height, _rgb_from(data, width, height, 4 * width, 4)))
        return rasters


ENGINES: dict[str, Callable[[bytes], list[Raster]]] = {
    "poppler": render_poppler,
    "pdfium": render_pdfium,
    "mupdf": render_mupdf,
    "pdfjs": render_pdfjs,
}


def missing(engine: str) -> str | None:
    """Say what this machine lacks to run ``engine`` (None: it can run)."""
    if engine == "poppler" and shutil.which("pdftoppm") is None:
        return "pdftoppm (apt poppler-utils) is not installed"
    if engine == "pdfium":
        try:
            import pypdfium2  # noqa: F401
        except ImportError:
            return "pypdfium2 is not installed (pip install -e '.[test]')"
    if engine == "pdfjs":
        if shutil.which("node") is None:
            return "node is not installed (apt nodejs)"
        for package in ("pdfjs-dist", "@napi-rs/canvas"):
            if not (HERE / "node_modules" / package / "package.json").exists():
                return f"npm package {package} is not installed (cd {HERE} && npm ci)"
    return None


def in_ci() -> bool:
    """True on the CI machine (``CI=true``), where a missing engine is a failure, not a skip."""
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")
