"""The user's own edits of a document as undo steps: one gesture is one step (napari's strokes).

:class:`UserEdits` applies :mod:`lamina.model.undo` changes to a client document and records
what the document did in an :class:`~lamina.model.undo.UndoHistory`. Undo and redo edit the
document too; they reverse only what the user changed (the history's rule), so another
person's edit made since stays.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager

from lamina.client.port import LocalEdit, ReviewDocument
from lamina.client.review_events import UndoChanged
from lamina.model.undo import Change, Create, Delete, Lookup, UndoError, UndoHistory, Update


class UserEdits:
    """Apply the user's changes to ``document``, one undo step per gesture.

    Args:
        document: the document edited.
        lookup: the current version of a record of the user's layer (for undo and redo).
        batched: a context in which the document's edits are reported as one event.
        on_undo_changed: called with the new state whenever what Undo or Redo would do
            changes.
    """

    def __init__(
        self,
        document: ReviewDocument,
        lookup: Lookup,
        batched: Callable[[], AbstractContextManager[None]],
        on_undo_changed: Callable[[UndoChanged], None],
    ) -> None:
        self.document = document
        self.history = UndoHistory()
        self._lookup = lookup
        self._batched = batched
        self._on_undo_changed = on_undo_changed
        self._step: list[Change] | None = None
        self._state = self._undo_state()

    @contextlib.contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Make every change performed inside one undo step, one gesture and one event.

        A step inside a step joins the outer one; a step that changed nothing is not kept.
        What was applied before an error is kept as the step (it did happen).
        """
        if self._step is not None:
            yield
            return
        self._step = []
        try:
            with self._batched():
                yield
        finally:
            changes, self._step = self._step, None
            if changes:
                self.history.begin(label)
                for change in changes:
                    self.history.record(change)
                self.history.commit()
            self._report()

    def perform(self, change: Change) -> None:
        """Apply one change as part of the open :meth:`step`.

        Raises:
            UndoError: no step is open (a bug in the caller).
            ClientError: the document refused the change (nothing is recorded for it).
        """
        if self._step is None:
            raise UndoError("perform outside a step")
        self._step.append(apply_change(self.document, change))

    def apply(self, changes: Iterable[Change]) -> None:
        """Apply changes as one gesture and one event, without recording them."""
        with self._batched():
            for change in changes:
                apply_change(self.document, change)

    def undo(self) -> bool:
        """Undo the user's last step; return whether anything changed."""
        with self._batched():
            changes = self.history.undo(self._lookup)
            for change in changes:
                apply_change(self.document, change)
        self._report()
        return bool(changes)

    def redo(self) -> bool:
        """Redo the last undone step; return whether anything changed."""
        with self._batched():
            changes = self.history.redo(self._lookup)
            for change in changes:
                apply_change(self.document, change)
        self._report()
        return bool(changes)

    def _undo_state(self) -> UndoChanged:
        h = self.history
        return UndoChanged(h.can_undo, h.can_redo, h.undo_label, h.redo_label)

    def _report(self) -> None:
        state = self._undo_state()
        if state != self._state:
            self._state = state
            self._on_undo_changed(state)


def apply_change(document: ReviewDocument, change: Change) -> Change:
    """Apply one change to ``document``; return it as the document made it (for undo).

    Raises:
        ReadOnlyLayerError: the record is on another layer being viewed.
        ClientError: the record does not exist (update, delete) or exists already (create).
    """
    if isinstance(change, Create):
        edit = document.create(change.record)
        return Create(edit.after) if edit.after is not None else change
    if isinstance(change, Update):
        return _as_update(document.replace(change.after), change)
    edit = document.delete(change.record.id)
    return Delete(edit.before) if edit.before is not None else change


def _as_update(edit: LocalEdit, asked: Update) -> Change:
    if edit.before is None or edit.after is None:
        return asked
    return Update(edit.before, edit.after)
