"""Find in the document and go to a page: the navigation bar's fields and what they do."""

from __future__ import annotations

from lamina.pdf import PdfDocument, search_page
from lamina.ui.page_canvas import PageCanvas, SearchHit
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel, QLineEdit, QSpinBox

PAGES_PER_SLICE = 16
"""Pages searched between two turns of the event loop (the window stays responsive)."""


class DocumentSearch(QObject):
    """The find field, its result label and the "Page N of M" field of a page view.

    Enter searches (or steps to the next hit of the same query); hits are shown on the
    page view, the first at or after the current page picked.

    Signals: none.
    """

    def __init__(self, view: PageCanvas, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.pdf: PdfDocument | None = None
        self.search_box = QLineEdit()
        self.search_box.setObjectName("searchBox")
        self.search_box.setPlaceholderText("Find in document (Ctrl+F)")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setMaximumWidth(260)
        self.search_box.returnPressed.connect(self._on_enter)
        self.search_label = QLabel("")
        self.page_box = QSpinBox()
        self.page_box.setObjectName("pageBox")
        self.page_box.setMinimum(1)
        self.page_box.setKeyboardTracking(False)
        self.page_box.valueChanged.connect(lambda v: self.view.go_to_page(v - 1))
        self.page_count_label = QLabel(" of 0 ")
        self._hits: list[SearchHit] = []
        self._index = -1
        self._pending: list[int] = []
        self._query = ""

    def set_document(self, pdf: PdfDocument | None) -> None:
        """Search ``pdf`` from now on (None: nothing is open); forget the last search."""
        self.pdf = pdf
        self._pending = []
        self._hits = []
        self._index = -1
        self._query = ""
        self.search_label.setText("")
        if pdf is not None:
            self.page_box.setMaximum(pdf.page_count)
            self.page_count_label.setText(f" of {pdf.page_count} ")

    def show_page(self, page: int) -> None:
        """Show ``page`` (0-based) in the page field without going there again."""
        self.page_box.blockSignals(True)
        self.page_box.setValue(page + 1)
        self.page_box.blockSignals(False)

    def start(self) -> None:
        """Put the keyboard in the find field (Ctrl+F)."""
        self.search_box.setFocus()
        self.search_box.selectAll()

    def start_goto(self) -> None:
        """Put the keyboard in the page field (Ctrl+G)."""
        self.page_box.setFocus()
        self.page_box.selectAll()

    def _on_enter(self) -> None:
        query = self.search_box.text().strip()
        if query and query == self._query and self._hits:
            self.step(1)
            return
        self.run(query)

    def run(self, query: str) -> None:
        """Search every page in small slices, so a long document never freezes the window."""
        self._query = query
        self._hits = []
        self._index = -1
        self.view.set_search_hits([])
        if not query or self.pdf is None:
            self.search_label.setText("")
            return
        start = self.view.current_page
        self._pending = list(range(start, self.view.page_count)) + list(range(0, start))
        self.search_label.setText(" searching…")
        QTimer.singleShot(0, self._slice)

    def _slice(self) -> None:
        if self.pdf is None:
            return
        for _ in range(PAGES_PER_SLICE):
            if not self._pending:
                break
            page = self._pending.pop(0)
            for rects in search_page(self.pdf, page, self._query):
                self._hits.append(SearchHit(page, rects))
        if self._pending:
            QTimer.singleShot(0, self._slice)
            if self._index < 0 and self._hits:
                self._index = 0
                self.view.set_search_hits(self._hits, 0)
            return
        self._hits.sort(key=lambda h: (h.page, h.rects[0].top, h.rects[0].left))
        if self._hits:
            start = self.view.current_page
            self._index = next((i for i, h in enumerate(self._hits) if h.page >= start), 0)
        self.view.set_search_hits(self._hits, self._index)
        self._update_label()

    def step(self, step: int) -> None:
        """Go to the next (``1``) or previous (``-1``) hit; search first if nothing is found."""
        if not self._hits:
            if self.search_box.text().strip():
                self.run(self.search_box.text().strip())
            return
        self._index = (self._index + step) % len(self._hits)
        self.view.set_search_hits(self._hits, self._index)
        self._update_label()

    def _update_label(self) -> None:
        if not self._hits:
            self.search_label.setText(" no matches")
        else:
            self.search_label.setText(f" {self._index + 1} of {len(self._hits)}")
