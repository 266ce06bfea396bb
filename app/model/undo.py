"""Per-user undo history: one gesture is one step, and undo only reverses the user's own work.

The history stores *what this user changed*, never snapshots of the document, so undoing
cannot clobber what other people did in the meantime:

- undoing a create deletes the record, if it still exists;
- undoing an update puts back only the fields this user changed (fields someone else changed
  since stay as they are); if the record is gone, the step is skipped;
- undoing a delete creates the record again with its last version.

Changes that arrive from other users are never recorded. A step may group several changes
(``begin`` ... ``commit``), e.g. a multi-record move; ``abort`` drops the open group.

The history does not apply anything itself: :meth:`UndoHistory.undo` and
:meth:`UndoHistory.redo` return the changes to apply, computed against the current state
that the caller passes as a lookup function.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from lamina.model.errors import LaminaError
from lamina.model.ids import RecordId
from lamina.model.records import Record


class UndoError(LaminaError, AssertionError):
    """The history was misused (commit without begin, nested begin): a bug in the caller."""


@dataclass(frozen=True)
class Create:
    """A record came into being."""

    record: Record


@dataclass(frozen=True)
class Update:
    """A record changed from ``before`` to ``after``."""

    before: Record
    after: Record


@dataclass(frozen=True)
class Delete:
    """A record was deleted; ``record`` is its last version."""

    record: Record


Change: TypeAlias = Create | Update | Delete

Lookup: TypeAlias = Callable[[RecordId], Record | None]
"""Return the current version of a record, or None when it does not exist (now)."""


@dataclass(frozen=True)
class UndoStep:
    """One undoable step: the changes of one gesture, in the order they were made."""

    label: str
    changes: tuple[Change, ...]


def changed_fields(before: Record, after: Record) -> dict[str, object]:
    """Return the dataclass fields whose value differs, with their ``after`` values."""
    out: dict[str, object] = {}
    for f in dataclasses.fields(before):
        value = getattr(after, f.name)
        if getattr(before, f.name) != value:
            out[f.name] = value
    return out


def _invert(change: Change, lookup: Lookup) -> Change | None:
    """Return the change that reverses ``change`` given the current state, or None."""
    if isinstance(change, Create):
        current = lookup(change.record.id)
        return Delete(current) if current is not None else None
    if isinstance(change, Delete):
        if lookup(change.record.id) is not None:
            return None
        return Create(change.record)
    current = lookup(change.after.id)
    if current is None:
        return None
    restore = {
        name: getattr(change.before, name)
        for name, value in changed_fields(change.before, change.after).items()
        # A field someone else changed after us is theirs now; leave it alone.
        if getattr(current, name) == value
    }
    restore.pop("updated_at", None)
    if not restore:
        return None
    return Update(current, dataclasses.replace(current, **restore))


class UndoHistory:
    """The undo and redo stacks of one user on one document layer.

    Args:
        limit: how many steps to keep; the oldest fall off.
    """

    def __init__(self, limit: int = 200) -> None:
        self._undo: list[UndoStep] = []
        self._redo: list[UndoStep] = []
        self._open: list[Change] | None = None
        self._open_label = ""
        self._limit = limit

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        """The label of the step :meth:`undo` would reverse."""
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].label if self._redo else None

    def begin(self, label: str) -> None:
        """Open a step; changes recorded until :meth:`commit` become one step.

        Raises:
            UndoError: a step is already open.
        """
        if self._open is not None:
            raise UndoError(f"undo step {self._open_label!r} is still open")
        self._open = []
        self._open_label = label

    def commit(self) -> UndoStep | None:
        """Close the open step and push it (an empty step is dropped).

        Raises:
            UndoError: no step is open.
        """
        if self._open is None:
            raise UndoError("commit without begin")
        changes, self._open = tuple(self._open), None
        if not changes:
            return None
        step = UndoStep(self._open_label, changes)
        self._push(step)
        return step

    def abort(self) -> None:
        """Drop the open step without recording it (the gesture was cancelled)."""
        self._open = None

    def record(self, change: Change, label: str | None = None) -> None:
        """Record one change by this user: into the open step, or as a step of its own."""
        if self._open is not None:
            self._open.append(change)
            return
        self._push(UndoStep(label or _default_label(change), (change,)))

    def _push(self, step: UndoStep) -> None:
        self._undo.append(step)
        del self._undo[: -self._limit]
        self._redo.clear()

    def undo(self, lookup: Lookup) -> list[Change]:
        """Pop the last step and return the changes that reverse it (maybe none).

        A step whose changes were all overtaken by others is dropped and the next one is
        tried, so one press of Ctrl+Z always does something visible when it can.
        """
        while self._undo:
            step = self._undo.pop()
            inverse = _apply_inverse(step.changes, lookup)
            if inverse:
                self._redo.append(UndoStep(step.label, tuple(inverse)))
                return inverse
        return []

    def redo(self, lookup: Lookup) -> list[Change]:
        """Pop the last undone step and return the changes that do it again."""
        while self._redo:
            step = self._redo.pop()
            inverse = _apply_inverse(step.changes, lookup)
            if inverse:
                self._undo.append(UndoStep(step.label, tuple(inverse)))
                return inverse
        return []

    def clear(self) -> None:
        """Forget everything (another document was opened)."""
        self._undo.clear()
        self._redo.clear()
        self._open = None


def _apply_inverse(changes: Sequence[Change], lookup: Lookup) -> list[Change]:
    """Invert ``changes`` last to first, seeing the effect of each inverse on the next."""
    overlay: dict[RecordId, Record | None] = {}

    def view(record_id: RecordId) -> Record | None:
        if record_id in overlay:
            return overlay[record_id]
        return lookup(record_id)

    out: list[Change] = []
    for change in reversed(changes):
        inverse = _invert(change, view)
        if inverse is None:
            continue
        out.append(inverse)
        if isinstance(inverse, Delete):
            overlay[inverse.record.id] = None
        elif isinstance(inverse, Create):
            overlay[inverse.record.id] = inverse.record
        else:
            overlay[inverse.after.id] = inverse.after
    return out


def _default_label(change: Change) -> str:
    if isinstance(change, Create):
        return f"create {change.record.type.rsplit('/', 1)[-1]}"
    if isinstance(change, Delete):
        return f"delete {change.record.type.rsplit('/', 1)[-1]}"
    return f"edit {change.after.type.rsplit('/', 1)[-1]}"
