"""Load PyMuPDF without its optional add-ons for text extraction to Markdown.

PyMuPDF 1.26+ imports ``pymupdf.layout`` (which loads onnxruntime and numpy) and
``pymupdf4llm`` at every start: about 1 s and 200 MB that Lamina never uses. Marking the
modules absent before PyMuPDF is first imported makes those imports fail at once, as if the
add-ons were not installed. The package ``__init__`` imports this module before anything
else, so it runs first.
"""

import sys

for _addon in ("pymupdf.layout", "pymupdf4llm"):
    sys.modules.setdefault(_addon, None)  # type: ignore[arg-type]

import pymupdf  # noqa: E402

if hasattr(pymupdf, "no_recommend_layout"):
    pymupdf.no_recommend_layout()  # and do not print a hint to install it
