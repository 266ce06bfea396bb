"""The Comments panel's rows as a Qt item model, kept up to date row by row.

:class:`CommentsModel` lists annotations in page order (page, then top to bottom, then left
to right), each followed by one row per comment of its thread. Every change touches only the
rows it names: a new annotation is one ``rowsInserted`` where the page puts it, an edit one
``dataChanged`` (or one ``rowsMoved`` when it moved on the page), a delete one
``rowsRemoved``; the other rows keep their index. Text, tooltips and icons are made when a
view asks for them (only the rows on screen). The model is flat (a table): a tree view lays
out every row again on each insert, which costs one Python call per row.

The author and layer filters live here too: rows they leave out are not in the model.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from lamina.model.records import (
    Annotation,
    Comment,
    CommentMarkerAnnotation,
    LinkAnnotation,
    NoteAnnotation,
    Record,
    TextAnnotation,
    WidgetAnnotation,
)
from lamina.ui.properties_panel import annotation_color
from lamina.ui.swatches import color_icon
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QIcon

CommentRow = tuple[Annotation, str, str, list[Comment]]
"""``(annotation, author, layer, comments of its thread)``: one annotation row of the panel
and the comment rows under it."""

RowKey = tuple[int, float, float, int, int]
"""Where a row sorts: page, top, left, the annotation's serial (ties: first listed first),
then 0 for the annotation's own row and n for the n-th comment of its thread."""

COMMENT_PREFIX = "    \u21b3 "
"""What a comment row's text starts with (it answers the annotation above)."""

_Index = QModelIndex | QPersistentModelIndex


def record_text(record: Record) -> str:
    """Return the text a record carries (note text, free text, comment), or ''."""
    texts = Comment | TextAnnotation | NoteAnnotation | CommentMarkerAnnotation
    if isinstance(record, texts) and record.text is not None and record.text.value:
        return record.text.value
    if isinstance(record, Annotation):
        return record.note or ""
    return ""


def page_order(annotation: Annotation) -> tuple[int, float, float]:
    """Sort key of the rows: by page, then top to bottom, then left to right."""
    return (annotation.page_index, round(annotation.bbox.top, 1), annotation.bbox.left)


def listed_in_comments(annotation: Annotation) -> bool:
    """Return whether an annotation gets a row: links and form widgets are part of the
    document, not review comments."""
    return not isinstance(annotation, LinkAnnotation | WidgetAnnotation)


def annotation_label(annotation: Annotation) -> str:
    """Return an annotation row's text: ``p. 3 · Note: the text``."""
    text = record_text(annotation)
    # The page first: a narrow panel elides the end of a label, never the page number.
    kind = annotation.type.rsplit("/", 1)[-1].replace("-", " ").capitalize()
    return f"p. {annotation.page_index + 1} \u00b7 {kind}" + (f": {text}" if text else "")


_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.UserRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.DecorationRole,
    }
)
"""The roles :meth:`CommentsModel.data` answers."""


class CommentsModel(QAbstractTableModel):
    """Annotations in page order with their comments below them; filtered by author/layer.

    Columns: the label (page, kind, text), the author, the layer. Every row's
    ``Qt.ItemDataRole.UserRole`` is its record id. Feed it with :meth:`reset`, :meth:`put`,
    :meth:`set_thread` and :meth:`remove`; each costs what it names (plus a bisection).

    Signals: those of :class:`QAbstractItemModel` (rows inserted, removed, moved, changed).
    """

    HEADERS = ("Annotation", "Author", "Layer")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: dict[str, CommentRow] = {}
        """Every annotation listed, filtered out or not."""
        self._keys: list[RowKey] = []
        """The rows shown, sorted."""
        self._key: dict[str, RowKey] = {}
        """The key of each annotation's own row (whether the filters show it or not)."""
        self._serials: dict[str, int] = {}
        # Kept after a row goes: an undone delete comes back to the place it had.
        self._by_serial: dict[int, str] = {}
        self._roots: dict[str, str] = {}
        """Comment id → the annotation whose thread it is in."""
        self._authors: Counter[str] = Counter()
        self._layers: Counter[str] = Counter()
        self._author: str | None = None
        self._layer: str | None = None
        self._icons: dict[str, QIcon] = {}

    # --- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        """How many annotations are listed (filtered out or not)."""
        return len(self._rows)

    def ids(self) -> list[str]:
        """Return the annotation ids listed, in page order (filtered out or not)."""
        return [self._by_serial[key[3]] for key in sorted(self._key.values())]

    def row_data(self, record_id: str) -> CommentRow | None:
        """Return the row of an annotation listed, or None."""
        return self._rows.get(record_id)

    def authors(self) -> list[str]:
        """Return the authors of the annotations listed, sorted (``""``: no author)."""
        return sorted(self._authors)

    def layers(self) -> list[str]:
        """Return the layers of the annotations listed, sorted."""
        return sorted(self._layers)

    def row_of(self, record_id: str) -> int | None:
        """Return the row shown for an annotation or comment (None: not shown)."""
        root = self._roots.get(record_id)
        if root is not None:
            row = self.row_of(root)
            if row is None:
                return None
            comments = self._rows[root][3]
            subs = [i for i, c in enumerate(comments, 1) if c.id == record_id]
            return row + subs[0] if subs else None
        key = self._key.get(record_id)
        if key is None:
            return None
        row = bisect.bisect_left(self._keys, key)
        return row if row < len(self._keys) and self._keys[row] == key else None

    def id_at(self, row: int) -> str | None:
        """Return the record id of a row shown (an annotation's or a comment's)."""
        if not 0 <= row < len(self._keys):
            return None
        record = self._record_at(row)
        return record.id if record is not None else None

    def _record_at(self, row: int) -> Annotation | Comment | None:
        key = self._keys[row]
        found = self._rows.get(self._by_serial[key[3]])
        if found is None:
            return None
        if key[4] == 0:
            return found[0]
        comments = found[3]
        return comments[key[4] - 1] if key[4] <= len(comments) else None

    # --- Qt's model interface ------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._keys)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.HEADERS)
        ):
            return self.HEADERS[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _ROLES:
            return None  # most of what a view asks for each visible cell (fonts, colours, ...)
        row, column = index.row(), index.column()
        if not index.isValid() or not 0 <= row < len(self._keys):
            return None
        key = self._keys[row]
        found = self._rows.get(self._by_serial[key[3]])
        if found is None:
            return None
        annotation, who, layer, comments = found
        if role == Qt.ItemDataRole.UserRole:
            record = self._record_at(row)
            return record.id if record is not None else None
        if key[4] > 0:
            comment = comments[key[4] - 1] if key[4] <= len(comments) else None
            if comment is None or role != Qt.ItemDataRole.DisplayRole:
                return None
            return (COMMENT_PREFIX + record_text(comment), comment.creator_name or "", "")[column]
        if role == Qt.ItemDataRole.DisplayRole:
            return (annotation_label(annotation), who, layer)[column]
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            return f"{annotation_label(annotation)}\nby {who or 'no author'}, layer {layer}"
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            color = annotation_color(annotation)
            if isinstance(color, str) and color.startswith("#"):
                icon = self._icons.get(color)
                if icon is None:
                    icon = self._icons[color] = color_icon(color)
                return icon
        return None

    # --- changing ----------------------------------------------------------------------------

    def reset(self, rows: Iterable[CommentRow]) -> None:
        """List these rows and only these (one model reset: a document opened)."""
        self.beginResetModel()
        self._rows.clear()
        self._key.clear()
        self._roots.clear()
        self._authors.clear()
        self._layers.clear()
        keys: list[RowKey] = []
        for row in rows:
            self._remember(row)
            if self._shows(row):
                keys.extend(self._block(row))
        keys.sort()
        self._keys = keys
        self.endResetModel()

    def set_filter(self, author: str | None, layer: str | None) -> None:
        """Show only the rows of ``author`` and ``layer`` (None: any); one model reset."""
        if (author, layer) == (self._author, self._layer):
            return
        self.beginResetModel()
        self._author, self._layer = author, layer
        keys = [k for row in self._rows.values() if self._shows(row) for k in self._block(row)]
        keys.sort()
        self._keys = keys
        self.endResetModel()

    def put(self, rows: Sequence[CommentRow]) -> None:
        """Add these rows or update them in place (moved where the page now puts them)."""
        new: list[CommentRow] = []
        for row in rows:
            old = self._rows.get(row[0].id)
            if old is None:
                new.append(row)
            else:
                self._replace(old, row)
        if new:
            self._insert(new)

    def set_thread(self, root_id: str, comments: Sequence[Comment]) -> None:
        """Show these comments under the row of ``root_id`` (ignored when not listed)."""
        row = self._rows.get(root_id)
        if row is not None:
            self._replace(row, (row[0], row[1], row[2], list(comments)))

    def remove(self, record_ids: Iterable[str]) -> bool:
        """Take the rows of these annotations out; return whether any was listed."""
        removed = False
        for record_id in record_ids:
            row = self._rows.get(record_id)
            if row is None:
                continue
            first = self.row_of(record_id)
            if first is not None:
                last = first + len(row[3])
                self.beginRemoveRows(QModelIndex(), first, last)
                del self._keys[first : last + 1]
                self._forget(row)
                self.endRemoveRows()
            else:
                self._forget(row)
            removed = True
        return removed

    # --- the bookkeeping -----------------------------------------------------------------------

    def _shows(self, row: CommentRow) -> bool:
        return (self._author is None or row[1] == self._author) and (
            self._layer is None or row[2] == self._layer
        )

    def _block(self, row: CommentRow) -> list[RowKey]:
        """Return the keys of an annotation's row and of its comments' rows."""
        head = self._key[row[0].id]
        if not row[3]:
            return [head]
        page, top, left, serial, _ = head
        return [head, *((page, top, left, serial, i) for i in range(1, len(row[3]) + 1))]

    def _remember(self, row: CommentRow) -> None:
        annotation = row[0]
        rid = annotation.id
        serial = self._serials.get(rid)
        if serial is None:
            serial = self._serials[rid] = len(self._serials)
            self._by_serial[serial] = rid
        self._rows[rid] = row
        self._key[rid] = (*page_order(annotation), serial, 0)
        if row[3]:
            self._roots.update((c.id, rid) for c in row[3])
        self._authors[row[1]] += 1
        self._layers[row[2]] += 1

    def _forget(self, row: CommentRow) -> None:
        rid = row[0].id
        del self._rows[rid]
        del self._key[rid]
        for comment in row[3]:
            if self._roots.get(comment.id) == rid:
                del self._roots[comment.id]
        for counter, value in ((self._authors, row[1]), (self._layers, row[2])):
            counter[value] -= 1
            if counter[value] <= 0:
                del counter[value]

    def _insert(self, rows: Sequence[CommentRow]) -> None:
        for row in rows:
            self._remember(row)
        shown = sorted((r for r in rows if self._shows(r)), key=lambda r: self._key[r[0].id])
        if not shown:
            return
        if not self._keys or self._key[shown[0][0].id] > self._keys[-1]:
            # All after the last row (a document's rows arriving in page order): one insert.
            keys = [k for row in shown for k in self._block(row)]
            self.beginInsertRows(QModelIndex(), len(self._keys), len(self._keys) + len(keys) - 1)
            self._keys.extend(keys)
            self.endInsertRows()
            return
        for row in shown:
            keys = self._block(row)
            at = bisect.bisect_left(self._keys, keys[0])
            self.beginInsertRows(QModelIndex(), at, at + len(keys) - 1)
            self._keys[at:at] = keys
            self.endInsertRows()

    def _replace(self, old: CommentRow, new: CommentRow) -> None:
        rid = old[0].id
        first = self.row_of(rid)
        was_shown = first is not None
        self._forget(old)
        self._remember(new)
        if not self._shows(new):
            if first is not None:
                self.beginRemoveRows(QModelIndex(), first, first + len(old[3]))
                del self._keys[first : first + len(old[3]) + 1]
                self.endRemoveRows()
            return
        if not was_shown or first is None:
            self._insert_block(new)
            return
        first = self._move(first, len(old[3]) + 1, self._key[rid])
        self._resize_thread(first, len(old[3]), new)
        last = first + len(new[3])
        self.dataChanged.emit(self.index(first, 0), self.index(last, len(self.HEADERS) - 1))

    def _insert_block(self, row: CommentRow) -> None:
        keys = self._block(row)
        at = bisect.bisect_left(self._keys, keys[0])
        self.beginInsertRows(QModelIndex(), at, at + len(keys) - 1)
        self._keys[at:at] = keys
        self.endInsertRows()

    def _move(self, first: int, size: int, head: RowKey) -> int:
        """Move a block of rows to where ``head`` sorts (keys given the new head); return
        its first row after the move."""
        block = [(*head[:4], k[4]) for k in self._keys[first : first + size]]
        if (first == 0 or self._keys[first - 1] < head) and (
            first + size >= len(self._keys) or head < self._keys[first + size]
        ):
            # The rows around it still bracket it: it stays where it is.
            self._keys[first : first + size] = block
            return first
        rest_at = bisect.bisect_left(self._keys, head)
        self.beginMoveRows(QModelIndex(), first, first + size - 1, QModelIndex(), rest_at)
        del self._keys[first : first + size]
        at = rest_at if rest_at < first else rest_at - size
        self._keys[at:at] = block
        self.endMoveRows()
        return at

    def _resize_thread(self, first: int, old_count: int, row: CommentRow) -> None:
        head = self._key[row[0].id]
        new_count = len(row[3])
        if new_count > old_count:
            self.beginInsertRows(QModelIndex(), first + old_count + 1, first + new_count)
            self._keys[first + old_count + 1 : first + old_count + 1] = [
                (*head[:4], i) for i in range(old_count + 1, new_count + 1)
            ]
            self.endInsertRows()
        elif new_count < old_count:
            self.beginRemoveRows(QModelIndex(), first + new_count + 1, first + old_count)
            del self._keys[first + new_count + 1 : first + old_count + 1]
            self.endRemoveRows()
