"""Load PyMuPDF without its optional layout-analysis add-on.

PyMuPDF 1.26+ imports ``pymupdf.layout`` (which loads onnxruntime and numpy) at every start:
about 0.9 s and 200 MB that Lamina never uses. Marking the module absent before PyMuPDF is
first imported makes that import fail at once, as if the add-on were not installed. The
package ``__init__`` imports this module before anything else, so it runs first.
"""

import sys

sys.modules.setdefault("pymupdf.layout", None)  # type: ignore[arg-type]

import pymupdf  # noqa: E402

if hasattr(pymupdf, "no_recommend_layout"):
    pymupdf.no_recommend_layout()  # and do not print a hint to install it
