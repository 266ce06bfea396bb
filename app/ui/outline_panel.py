"""The outline panel: the PDF's bookmarks as a tree; picking one goes to its destination."""

from __future__ import annotations

from lamina.pdf import PdfDocument, PdfError
from lamina.pdf.outline import Destination, OutlineEntry, has_outline, read_outline
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

_TARGET = Qt.ItemDataRole.UserRole


class OutlinePanel(QTreeWidget):
    """The bookmarks of the open PDF, nested as the PDF nests them.

    Signals:
        destination_chosen(Destination): the user clicked a bookmark (or pressed Enter).
    """

    destination_chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("outline")
        self.setHeaderHidden(True)
        self.setUniformRowHeights(True)
        self._entries: list[OutlineEntry] = []
        self._unread: PdfDocument | None = None
        """The document whose bookmarks are still to be read (see :meth:`fill`)."""
        self.itemActivated.connect(self._on_item)
        self.itemClicked.connect(self._on_item)

    def set_document(self, doc: PdfDocument | None) -> bool:
        """Show the outline of ``doc`` (None: nothing); return whether it has one.

        The bookmarks are read by :meth:`fill` (or the first :meth:`entries`): resolving
        every destination reads the size of the pages they point to, which the page view
        reads anyway once the first page is on screen, so the window opens without waiting.
        """
        self.clear()
        self._entries = []
        self._unread = None
        if doc is None:
            return False
        try:
            present = has_outline(doc)
        except (PdfError, RuntimeError, ValueError):
            present = False  # a damaged outline: the panel stays empty, the PDF still opens
        self._unread = doc if present else None
        return present

    def fill(self) -> None:
        """Read the bookmarks of the document shown, if not read yet, and list them."""
        doc, self._unread = self._unread, None
        if doc is None:
            return
        try:
            self._entries = read_outline(doc)
        except (PdfError, RuntimeError, ValueError):
            self._entries = []  # a damaged outline: the panel stays empty, the PDF still opens
        parents: list[QTreeWidgetItem] = []
        for entry in self._entries:
            level = min(entry.level, len(parents))
            del parents[level:]
            item = QTreeWidgetItem([entry.title])
            item.setData(0, _TARGET, entry.target)
            item.setToolTip(0, entry.title)
            if parents:
                parents[-1].addChild(item)
            else:
                self.addTopLevelItem(item)
            parents.append(item)
        self.expandToDepth(0)

    def entries(self) -> list[OutlineEntry]:
        """Return the bookmarks shown, in document order (read now if not read yet)."""
        self.fill()
        return list(self._entries)

    def item_for(self, title: str) -> QTreeWidgetItem | None:
        """Return the first item titled ``title`` (tests, scripts)."""
        self.fill()
        found = self.findItems(title, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive)
        return found[0] if found else None

    def _on_item(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        target = item.data(0, _TARGET)
        if isinstance(target, Destination):
            self.destination_chosen.emit(target)
