"""The client's outbox and replica containers, indexed so one edit costs O(1) (DESIGN §7).

:class:`Outbox` keeps the unacknowledged changes in order (§6.1) with two indexes: by change
id (an edit of an unsent change replaces it in place, §6.2; an ack removes the head) and by
record id (the rebase of §6.2, the coalescing of an edit, and replaying one record's pending
changes for the view, §6.3, look at that record's changes only). Nothing here scans the
whole outbox except iteration itself.

:class:`TrackedRecords` and :class:`TrackedIds` are the replica dict and the set of sent
change ids; like the outbox they remember what changed since their owner last wrote them to a
store (:meth:`Outbox.unsaved`, :meth:`TrackedRecords.unsaved`), so a persist writes what an
edit changed, never the whole replica.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar, overload

from lamina.model.ids import RecordId
from lamina.sync.state import Change, RecordState

K = TypeVar("K")
V = TypeVar("V")


class Outbox:
    """Unacknowledged changes, oldest first, indexed by change id and by record id.

    Iteration, ``len`` and ``outbox[0]`` behave as on the list it replaces; ``outbox[i]`` for
    ``i > 0`` and slices walk from the head (fine for tests and the push batch, which reads
    at most a few hundred).
    """

    def __init__(self, changes: Iterable[Change] = ()) -> None:
        # OrderedDict, not dict: removing the head again and again must stay O(1), and a
        # plain dict's iteration would walk over the deleted head slots each time.
        self._changes: OrderedDict[str, Change] = OrderedDict()
        self._by_record: dict[RecordId, list[str]] = {}
        self._written: OrderedDict[str, None] = OrderedDict()
        self._removed: set[str] = set()
        self.rewritten = True
        """Whether the store must be rewritten from scratch (a new outbox), see :meth:`saved`."""
        for change in changes:
            self.put(change)

    # --- reading --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Change]:
        return iter(self._changes.values())

    def __len__(self) -> int:
        return len(self._changes)

    def __bool__(self) -> bool:
        return bool(self._changes)

    @overload
    def __getitem__(self, index: int) -> Change: ...
    @overload
    def __getitem__(self, index: slice) -> list[Change]: ...
    def __getitem__(self, index: int | slice) -> Change | list[Change]:
        if isinstance(index, slice):
            return list(self._changes.values())[index]
        if index == 0 and self._changes:
            return next(iter(self._changes.values()))
        return list(self._changes.values())[index]

    def __contains__(self, change_id: object) -> bool:
        return change_id in self._changes

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Outbox | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Outbox({list(self._changes.values())!r})"

    def get(self, change_id: str) -> Change | None:
        """Return the change with this id, or None."""
        return self._changes.get(change_id)

    def of_record(self, record_id: RecordId) -> list[Change]:
        """Return the pending changes of one record, oldest first (O(its changes))."""
        ids = self._by_record.get(record_id)
        if not ids:
            return []
        return [self._changes[cid] for cid in ids]

    def last_of_record(self, record_id: RecordId) -> Change | None:
        """Return the newest pending change of one record, or None."""
        ids = self._by_record.get(record_id)
        return self._changes[ids[-1]] if ids else None

    def has_record(self, record_id: RecordId) -> bool:
        """Whether any change of this record is pending."""
        return record_id in self._by_record

    # --- changing -------------------------------------------------------------------------

    def put(self, change: Change) -> None:
        """Append ``change``, or replace the change with its id in place (same position)."""
        cid = change.change_id
        old = self._changes.get(cid)
        if old is not None and old.record_id != change.record_id:
            self._unindex(old)
            old = None
        self._changes[cid] = change
        if old is None:
            self._by_record.setdefault(change.record_id, []).append(cid)
        if not self.rewritten:  # a rewrite writes everything anyway
            self._written[cid] = None
            self._removed.discard(cid)

    def append(self, change: Change) -> None:
        """Append ``change`` (the list method; see :meth:`put`)."""
        self.put(change)

    def remove(self, change_id: str) -> Change | None:
        """Remove the change with this id (an ack); return it, or None if it is not here."""
        change = self._changes.pop(change_id, None)
        if change is None:
            return None
        self._unindex(change)
        if not self.rewritten:
            self._written.pop(change_id, None)
            self._removed.add(change_id)
        return change

    def remove_many(self, change_ids: Iterable[str]) -> None:
        """Remove every change with one of these ids."""
        for cid in change_ids:
            self.remove(cid)

    def _unindex(self, change: Change) -> None:
        ids = self._by_record[change.record_id]
        ids.remove(change.change_id)
        if not ids:
            del self._by_record[change.record_id]

    # --- writing to a store ---------------------------------------------------------------

    def unsaved(self) -> tuple[list[Change], list[str]]:
        """Return the changes put and the change ids removed since :meth:`saved`.

        The changes come in the order they were first put, so new ones reach a store in
        outbox order. After a rewrite (:attr:`rewritten`) that is every change.
        """
        if self.rewritten:
            return list(self._changes.values()), []
        written = [self._changes[cid] for cid in self._written]
        return written, sorted(self._removed)

    def saved(self) -> None:
        """Forget what :meth:`unsaved` reported: it is in the store now."""
        self._written.clear()
        self._removed.clear()
        self.rewritten = False


class TrackedRecords(dict[RecordId, RecordState]):
    """The synced replica (a dict by record id) that remembers which ids changed.

    :meth:`unsaved` reports the ids set or removed since :meth:`saved`, or that the whole
    dict was cleared (a snapshot replaced it).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dirty: set[RecordId] = set()
        self.rewritten = True
        """Whether the store must be rewritten from scratch (cleared, or a new replica)."""

    def __setitem__(self, key: RecordId, value: RecordState) -> None:
        super().__setitem__(key, value)
        if not self.rewritten:
            self._dirty.add(key)

    def __delitem__(self, key: RecordId) -> None:
        super().__delitem__(key)
        if not self.rewritten:
            self._dirty.add(key)

    def pop(self, key: RecordId, *default: Any) -> Any:
        if key in self and not self.rewritten:
            self._dirty.add(key)
        return super().pop(key, *default)

    def popitem(self) -> tuple[RecordId, RecordState]:
        key, value = super().popitem()
        if not self.rewritten:
            self._dirty.add(key)
        return key, value

    def setdefault(self, key: RecordId, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        super().clear()
        self._dirty.clear()
        self.rewritten = True

    def __ior__(self, other: Any) -> TrackedRecords:  # type: ignore[override,misc]
        self.update(other)
        return self

    def unsaved(self) -> set[RecordId]:
        """Return the ids set or removed since :meth:`saved` (all of them after a rewrite)."""
        return set(self) if self.rewritten else set(self._dirty)

    def saved(self) -> None:
        """Forget what :meth:`unsaved` reported: it is in the store now."""
        self._dirty.clear()
        self.rewritten = False


class TrackedIds(set[str]):
    """The ids of changes sent at least once, remembering which were added since saved."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        super().__init__(ids)
        self._added: set[str] = set()

    def add(self, item: str) -> None:
        if item not in self:
            self._added.add(item)
        super().add(item)

    def update(self, *others: Iterable[str]) -> None:
        for other in others:
            for item in other:
                self.add(item)

    def __ior__(self, other: Any) -> TrackedIds:  # type: ignore[override,misc]
        self.update(other)
        return self

    def discard(self, item: object) -> None:
        super().discard(item)
        self._added.discard(item)

    def difference_update(self, *others: Iterable[object]) -> None:
        for other in others:
            for item in list(other):
                self.discard(item)

    def __isub__(self, other: Any) -> TrackedIds:  # type: ignore[misc]
        self.difference_update(other)
        return self

    def clear(self) -> None:
        super().clear()
        self._added.clear()

    def unsaved(self) -> set[str]:
        """Return the ids added since :meth:`saved`."""
        return set(self._added)

    def saved(self) -> None:
        """Forget what :meth:`unsaved` reported."""
        self._added.clear()
