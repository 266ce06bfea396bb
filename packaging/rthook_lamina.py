"""PyInstaller runtime hook: settings the frozen ``lamina`` needs before any import."""

import os

# The bundle leaves out pymupdf's optional layout analyser (onnxruntime, numpy); without this,
# PyMuPDF prints a suggestion to install it on stdout, which would corrupt `lamina dump`.
os.environ.setdefault("PYMUPDF_SUGGEST_LAYOUT_ANALYZER", "0")
