"""The records of the user's own layer as a review window reads them: by id, page and thread.

:class:`RecordIndex` is the mirror :class:`~lamina.client.review_model.ReviewModel` keeps of
its document: records in a stable order (creation order; a changed record keeps its place),
annotations by page, comments by the root annotation of their thread, and the ids of the
PDF's own annotations (the copies every layer starts with). :class:`IdChanges` sums up what
several changes did to it, to report them as one event.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from lamina.model.ids import RecordId
from lamina.model.records import Annotation, Comment, Record


class RecordIndex:
    """Records by id (in stable order), annotations by page, comments by thread root."""

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self._records: dict[RecordId, Record] = {}
        self._pages: dict[int, dict[RecordId, Annotation]] = {}
        self._threads: dict[RecordId, dict[RecordId, Comment]] = {}
        self._pdf_ids: set[RecordId] = set()
        for record in records:
            self.put(record)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._records

    def __iter__(self) -> Iterator[Record]:
        return iter(list(self._records.values()))

    def get(self, record_id: str) -> Record | None:
        """Return the record with this id, or None."""
        return self._records.get(RecordId(record_id))

    def ids(self) -> set[RecordId]:
        """Return the ids of every record here."""
        return set(self._records)

    def is_pdf(self, record_id: str) -> bool:
        """Return whether ``record_id`` is one of the PDF's own annotations seen here (kept
        after it is deleted)."""
        return record_id in self._pdf_ids

    def page(self, page: int) -> list[Annotation]:
        """Return the annotations on ``page`` (0-based), in stable order."""
        return list(self._pages.get(page, {}).values())

    def pages(self) -> list[int]:
        """Return the pages that have annotations here (in no particular order)."""
        return list(self._pages)

    def thread(self, root_id: str) -> list[Comment]:
        """Return the comments whose root is ``root_id``, in the order they came."""
        return list(self._threads.get(RecordId(root_id), {}).values())

    def roots(self) -> list[RecordId]:
        """Return the roots of every thread that has comments here."""
        return list(self._threads)

    def put(self, record: Record) -> tuple[bool, set[RecordId]]:
        """Add or replace ``record``; return (whether it is new, thread roots it touched)."""
        old = self._records.get(record.id)
        roots = self._unindex(old) if old is not None else set()
        if old is None and record.pdf_object_id is not None:
            self._pdf_ids.add(record.id)
        self._records[record.id] = record
        if isinstance(record, Annotation):
            self._pages.setdefault(record.page_index, {})[record.id] = record
        elif isinstance(record, Comment):
            self._threads.setdefault(record.root_id, {})[record.id] = record
            roots.add(record.root_id)
        return old is None, roots

    def pop(self, record_id: str) -> tuple[bool, set[RecordId]]:
        """Remove a record; return (whether it was here, thread roots it touched)."""
        old = self._records.pop(RecordId(record_id), None)
        if old is None:
            return False, set()
        return True, self._unindex(old)

    def _unindex(self, record: Record) -> set[RecordId]:
        if isinstance(record, Annotation):
            page = self._pages.get(record.page_index, {})
            page.pop(record.id, None)
            if not page:
                self._pages.pop(record.page_index, None)
        elif isinstance(record, Comment):
            thread = self._threads.get(record.root_id, {})
            thread.pop(record.id, None)
            if not thread:
                self._threads.pop(record.root_id, None)
            return {record.root_id}
        return set()


@dataclass
class IdChanges:
    """The ids several changes added, changed and removed, as one change would name them.

    A record created then deleted in the same run is not named; one deleted then created
    again is ``changed``. ``roots`` are the threads whose comments changed.
    """

    added: dict[RecordId, None] = field(default_factory=dict)
    changed: dict[RecordId, None] = field(default_factory=dict)
    removed: dict[RecordId, None] = field(default_factory=dict)
    roots: dict[RecordId, None] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def add(
        self,
        added: Iterable[RecordId],
        changed: Iterable[RecordId],
        removed: Iterable[RecordId],
        roots: Iterable[RecordId] = (),
    ) -> None:
        """Fold in what one more change did."""
        for rid in added:
            if rid in self.removed:
                del self.removed[rid]
                self.changed[rid] = None
            else:
                self.added[rid] = None
        for rid in changed:
            if rid not in self.added:
                self.changed[rid] = None
        for rid in removed:
            self.changed.pop(rid, None)
            if rid in self.added:
                del self.added[rid]
            else:
                self.removed[rid] = None
        self.roots.update(dict.fromkeys(roots))
