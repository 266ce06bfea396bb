"""A long session: painting many frames does not end the app.

PySide6 6.12.0 drops a reference to ``None`` on painting calls that return nothing, so a few
minutes of scrolling abort Python ("none_dealloc"); pyproject.toml excludes that release.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# About as many painting calls as a few minutes of scrolling make; None starts with ~26,000
# references, and with PySide6 6.12.0 each of these calls dropped one.
SCRIPT = """
import sys
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from lamina.ui.app import ensure_application

ensure_application()
image = QImage(8, 8, QImage.Format.Format_RGB32)
tile = QImage(4, 4, QImage.Format.Format_RGB32)
painter = QPainter(image)
rect = QRectF(0, 0, 4, 4)
color = QColor("#5f6368")
for _ in range(100_000):
    painter.fillRect(rect, color)
    painter.drawImage(rect, tile)
painter.end()
print("painted")
"""


def test_many_frames_of_painting_do_not_abort_the_app() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "painted"
