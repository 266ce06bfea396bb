"""Add many annotations to one page at O(1) each: MuPDF sees only a short batch of them.

Each time an annotation's appearance is generated (``Annot.update()``, which every
``Page.add_*_annot`` and :func:`~lamina.pdf.annotation_finish.finish` call), MuPDF's
``pdf_update_annot`` re-checks every annotation of every open page, twice
(``update_all_appearances``: the change set ``resynth_required``). Writing k annotations
on one page cost O(k^2): 1.5 ms per annotation with 3,000 on the page, and a
100,000-record layer PDF (2,000 per page) took 316 s of CPU instead of about 135 s
(DESIGN §7: export costs what the live data costs).

:class:`PageBatches` loads the page being written with an empty ``/Annots``, so MuPDF's list
holds only the annotations added since; every :data:`BATCH` of them it sets them aside and
loads the page again. When the page is done it puts the page's own ``/Annots`` back with the
new annotations appended in the order they were written (a direct copy if it was an indirect
array, as ``pdf_create_annot`` makes): the same objects, in the same order, with the same
appearance streams, as adding them to the page as it was. MuPDF draws an appearance from
the annotation and its page's geometry alone, never from the other annotations.
"""

from __future__ import annotations

from typing import Any

import pymupdf
from pymupdf import mupdf

BATCH = 32
"""At most this many new annotations are on MuPDF's list of the page while one is added:
the appearance work per annotation is O(BATCH), and the page is loaded again every BATCH."""


class PageBatches:
    """The page annotations are being added to, one page at a time.

    While a page is held (:meth:`page` until :meth:`close`), its ``/Annots`` in the PDF holds
    only the latest batch: anything that reads the page's annotations (a deletion, a form
    fill, renumbering) must come after :meth:`close`. The caller must hold no other
    reference to the page returned (MuPDF would keep it, with its list, open) and no other
    page of the document (MuPDF checks those too).
    """

    def __init__(self, fitz_doc: Any) -> None:
        self._fitz = fitz_doc
        self._pdf = pymupdf._as_pdf_document(fitz_doc)
        self._index: int | None = None
        self._page: Any = None
        self._page_obj: Any = None
        self._own: Any = None  # the page's own /Annots as it was (None: it had none)
        self._added: Any = None  # the annotations added in earlier batches, in order

    def page(self, index: int) -> Any:
        """Return page ``index`` (PyMuPDF) to add one annotation to.

        Holding another page first puts that page's annotations back (:meth:`close`).
        """
        if self._index != index:
            self.close()
            self._start(index)
        elif self._batch_len() >= BATCH:
            self._next_batch()
        return self._page

    def close(self) -> None:
        """Put the held page's ``/Annots`` back, the new annotations appended; drop the page."""
        self._page = None  # dropped first: MuPDF keeps its list until then
        if self._index is None:
            return
        self._set_aside()
        own, added = self._own, self._added
        if own is not None and mupdf.pdf_array_len(added):
            if mupdf.pdf_is_indirect(own):
                # As pdf_create_annot does: an indirect array may be shared by other pages,
                # so the page gets a direct copy.
                own = mupdf.pdf_copy_array(own)
            for i in range(mupdf.pdf_array_len(added)):
                mupdf.pdf_array_push(own, mupdf.pdf_array_get(added, i))
            mupdf.pdf_dict_puts(self._page_obj, "Annots", own)
        elif own is not None:
            mupdf.pdf_dict_puts(self._page_obj, "Annots", own)
        elif mupdf.pdf_array_len(added):
            mupdf.pdf_dict_puts(self._page_obj, "Annots", self._added)
        else:
            mupdf.pdf_dict_dels(self._page_obj, "Annots")
        self._index = self._page_obj = self._own = self._added = None

    def _start(self, index: int) -> None:
        page_obj = mupdf.pdf_lookup_page_obj(self._pdf, index)
        own = mupdf.pdf_dict_gets(page_obj, "Annots")
        if own.m_internal and not mupdf.pdf_is_array(own):
            # Not an array (a damaged PDF): add to the page as it is, as PyMuPDF would.
            self._index, self._page = None, self._fitz.load_page(index)
            return
        self._index, self._page_obj = index, page_obj
        self._own = own if own.m_internal else None
        self._added = mupdf.pdf_new_array(self._pdf, 0)
        mupdf.pdf_dict_puts(page_obj, "Annots", mupdf.pdf_new_array(self._pdf, 0))
        self._page = self._fitz.load_page(index)

    def _batch_len(self) -> int:
        if self._index is None:
            return 0
        return int(mupdf.pdf_array_len(mupdf.pdf_dict_gets(self._page_obj, "Annots")))

    def _next_batch(self) -> None:
        index = self._index
        self._page = None
        self._set_aside()
        mupdf.pdf_dict_puts(self._page_obj, "Annots", mupdf.pdf_new_array(self._pdf, 0))
        self._page = self._fitz.load_page(index)

    def _set_aside(self) -> None:
        batch = mupdf.pdf_dict_gets(self._page_obj, "Annots")
        for i in range(mupdf.pdf_array_len(batch)):
            mupdf.pdf_array_push(self._added, mupdf.pdf_array_get(batch, i))
