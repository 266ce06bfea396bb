"""Load and set up PyMuPDF: without its optional add-ons, and naming new annotations in O(1).

PyMuPDF 1.26+ imports ``pymupdf.layout`` (which loads onnxruntime and numpy) and
``pymupdf4llm`` at every start: about 1 s and 200 MB that Lamina never uses. Marking the
modules absent before PyMuPDF is first imported makes those imports fail at once, as if the
add-ons were not installed. The package ``__init__`` imports this module before anything
else, so it runs first.
"""

import sys
import uuid

for _addon in ("pymupdf.layout", "pymupdf4llm"):
    sys.modules.setdefault(_addon, None)  # type: ignore[arg-type]

import pymupdf  # noqa: E402

if hasattr(pymupdf, "no_recommend_layout"):
    pymupdf.no_recommend_layout()  # and do not print a hint to install it


# --- naming new annotations -----------------------------------------------------------------
# Every ``Page.add_*_annot`` gives the new annotation a unique /NM through
# ``JM_add_annot_id``, which reads the /NM of every annotation already on the page: writing
# k annotations on a page cost O(k^2) (a 100,000-record layer PDF took over 15 minutes;
# DESIGN §7: export costs what the live data costs). Lamina's writer replaces that /NM with
# the record's own name right after. Here a new annotation is named at once, unique by a
# random part instead of by a scan; kept only while PyMuPDF's hook looks as expected.


def _name_new_annotation(annot: object, stem: str) -> None:
    obj = pymupdf.mupdf.pdf_annot_obj(annot)
    name = f"{pymupdf.JM_annot_id_stem}-{stem}-{uuid.uuid4().hex}"
    pymupdf.mupdf.pdf_dict_puts(obj, "NM", pymupdf.mupdf.pdf_new_text_string(name))
    pymupdf._pdf_annot_page(annot).doc().m_internal.resynth_required = 0


if all(
    hasattr(pymupdf, name) for name in ("JM_add_annot_id", "JM_annot_id_stem", "_pdf_annot_page")
):
    pymupdf.JM_add_annot_id = _name_new_annotation
