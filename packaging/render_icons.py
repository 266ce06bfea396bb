"""Render resources/icons/lamina.svg to the PNG sizes desktops ask for.

Run from the repository root: ``python3 packaging/render_icons.py``. It writes
``resources/icons/hicolor/<N>x<N>/apps/lamina.png`` for every size in :data:`SIZES` (the
freedesktop hicolor layout, so install-desktop-files.sh copies the tree as is) and
``resources/icons/lamina.png`` (256 px, for the app window). The PNGs are committed; run this
again only after changing the SVG.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # the platform is chosen above, before Qt loads
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"


def render(renderer: QSvgRenderer, size: int, target: Path) -> None:
    """Render the SVG to a square transparent PNG of ``size`` pixels."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    target.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(target)):
        raise OSError(f"cannot write {target}")


def main(argv: list[str]) -> int:
    """Write every PNG size and report them.

    Args:
        argv: ``[--out DIR]``; DIR defaults to resources/icons.
    """
    parser = argparse.ArgumentParser(description="Render lamina.svg to the hicolor PNG sizes.")
    parser.add_argument("--out", type=Path, default=ICONS, help="output directory")
    out: Path = parser.parse_args(argv).out
    _app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(ICONS / "lamina.svg"))
    if not renderer.isValid():
        print(f"render_icons: {ICONS / 'lamina.svg'} is not a valid SVG", file=sys.stderr)
        return 1
    for size in SIZES:
        target = out / "hicolor" / f"{size}x{size}" / "apps" / "lamina.png"
        render(renderer, size, target)
        print(target)
    render(renderer, 256, out / "lamina.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
