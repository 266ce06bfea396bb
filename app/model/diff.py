"""The Instant JSON diff rule (DESIGN §3) and its inverse: the one place both are written.

An Instant JSON document is a diff against the annotations already inside the PDF (the
*base*: records that carry ``pdfObjectId``):

1. a record that is not one of the base's (no ``pdfObjectId``, or one the base lacks) is
   listed;
2. a base record that changed is listed, keeping its ``pdfObjectId``, and that id goes into
   ``skippedPdfObjectIds``;
3. a base record that was deleted is only named in ``skippedPdfObjectIds``;
4. a base record that did not change is left out.

:func:`diff_against_base` builds such a document from what the user sees;
:func:`changes_for_diff` turns one back into the creates, updates and deletes that make a
layer's records say what the document says (``lamina push``, Import Instant JSON), so that
applying ``changes_for_diff(base_view, diff_against_base(base, current))`` to the base gives
``current``. :func:`key_changes` is the "update exactly the keys that differ" rule both
importing and :meth:`LaminaDocument.replace <lamina.client.document.LaminaDocument.replace>`
use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from lamina.model.ids import RecordId, record_id_for_pdf_object
from lamina.model.instant_json import Attachment, InstantDocument, document_from_records
from lamina.model.records import (
    JSON,
    ImageAnnotation,
    Record,
    record_class_for_type,
    record_to_json,
)

FIXED_KEYS = frozenset({"id", "type"})
"""Top-level keys an update never sets or unsets: a record's id and type do not change."""


def diff_against_base(
    base: Iterable[Record],
    current: Iterable[Record],
    *,
    attachments: Mapping[str, Attachment] | None = None,
) -> InstantDocument:
    """Return ``current`` as an Instant JSON diff against the PDF's own annotations ``base``.

    Records are matched to the base by ``pdfObjectId`` (rules 1-4 of the module docstring);
    records in ``base`` without one are ignored. Listed records keep the order of
    ``current``; ``skippedPdfObjectIds`` is sorted and always present (possibly empty).

    Args:
        base: the records read from the PDF.
        current: every record as the user (or the token) sees it now.
        attachments: image bytes by attachment id; those a listed record names (an image's
            ``imageAttachmentId``) are carried into the diff, the others are left out.
    """
    originals: dict[int, Record] = {}
    for record in base:
        if record.pdf_object_id is not None:
            originals[record.pdf_object_id] = record
    listed: list[Record] = []
    present: set[int] = set()
    skipped: set[int] = set()
    for record in current:
        pdf_object_id = record.pdf_object_id
        original = None if pdf_object_id is None else originals.get(pdf_object_id)
        if pdf_object_id is not None and original is not None:
            present.add(pdf_object_id)
            if record == original:
                continue
            skipped.add(pdf_object_id)
        listed.append(record)
    skipped.update(pdf_object_id for pdf_object_id in originals if pdf_object_id not in present)
    named = {name for record in listed if (name := _attachment_id_of(record)) is not None}
    carried = {key: value for key, value in (attachments or {}).items() if key in named}
    return document_from_records(listed, attachments=carried, skipped_pdf_object_ids=skipped)


def _attachment_id_of(record: Record) -> str | None:
    """Return the id of the attachment (image bytes) a record draws, or None."""
    if isinstance(record, ImageAnnotation):
        return record.image_attachment_id
    # A stamp (or a type Lamina does not model) may name an image too; it stays in extra.
    name = record.extra.get("imageAttachmentId")
    return name if isinstance(name, str) else None


@dataclass(frozen=True)
class KeyChanges:
    """The top-level keys to set and to remove to make one record equal another."""

    set: Mapping[str, JSON] = field(default_factory=dict)
    unset: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.set or self.unset)


def key_changes(current: Mapping[str, JSON], new: Mapping[str, JSON]) -> KeyChanges:
    """Return the update that turns Instant JSON ``current`` into ``new``: exactly the keys
    that differ (a key ``new`` has as ``null`` and ``current`` lacks is set), never ``id`` or
    ``type`` (:data:`FIXED_KEYS`)."""
    set_ = {
        key: value
        for key, value in new.items()
        if key not in FIXED_KEYS and (key not in current or current[key] != value)
    }
    unset = tuple(key for key in current if key not in new and key not in FIXED_KEYS)
    return KeyChanges(set_, unset)


@dataclass(frozen=True)
class CreateRecord:
    """Create a record; ``record_id`` None lets the session mint one (sync §2.2)."""

    record_id: RecordId | None
    kind: str
    content: Mapping[str, JSON]


@dataclass(frozen=True)
class UpdateRecord:
    """Set and remove top-level keys of an existing record."""

    record_id: RecordId
    kind: str
    set: Mapping[str, JSON]
    unset: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeleteRecord:
    """Delete an existing record."""

    record_id: RecordId
    kind: str


PlannedChange: TypeAlias = CreateRecord | UpdateRecord | DeleteRecord
"""One change :func:`changes_for_diff` plans; the caller applies it to its session."""


def changes_for_diff(
    view: Mapping[RecordId, Mapping[str, JSON]] | Mapping[str, Mapping[str, JSON]],
    diff: InstantDocument,
) -> list[PlannedChange]:
    """Return the changes that make the records ``view`` (Instant JSON by record id) say what
    the Instant JSON ``diff`` says.

    A listed record that the view has (matched by ``pdfObjectId`` first, then by id) becomes
    an update of exactly the keys that differ (none when equal: no change); one the view
    lacks is created, under its own id (or its ``pdfObjectId``'s, or a fresh one). A skipped
    ``pdfObjectId`` that no listed annotation replaces deletes the view's record of it. Records
    of the view the diff does not mention are left alone. Creates and updates come in the
    diff's order, then deletes by ``pdfObjectId``.
    """
    by_pdf_object: dict[int, RecordId] = {}
    for record_id, content in view.items():
        pdf_object_id = content.get("pdfObjectId")
        if isinstance(pdf_object_id, int) and not isinstance(pdf_object_id, bool):
            by_pdf_object.setdefault(pdf_object_id, RecordId(record_id))
    plan: list[PlannedChange] = []
    for record in diff.records:
        content = record_to_json(record)
        target = _target_of(record, view, by_pdf_object)
        if target is None:
            plan.append(CreateRecord(_own_id(record), record.KIND, content))
            continue
        changes = key_changes(view[target], content)
        if changes:
            plan.append(UpdateRecord(target, record.KIND, changes.set, changes.unset))
    for pdf_object_id in sorted(diff.deleted_pdf_object_ids):
        target = by_pdf_object.get(pdf_object_id)
        if target is None and record_id_for_pdf_object(pdf_object_id) in view:
            target = record_id_for_pdf_object(pdf_object_id)
        if target is not None:
            plan.append(DeleteRecord(target, _kind_of(view[target])))
    return plan


def _own_id(record: Record) -> RecordId | None:
    if record.id:
        return record.id
    if record.pdf_object_id is not None:
        return record_id_for_pdf_object(record.pdf_object_id)
    return None


def _target_of(
    record: Record,
    view: Mapping[RecordId, Mapping[str, JSON]] | Mapping[str, Mapping[str, JSON]],
    by_pdf_object: Mapping[int, RecordId],
) -> RecordId | None:
    if record.pdf_object_id is not None:
        target = by_pdf_object.get(record.pdf_object_id)
        if target is not None:
            return target
    if record.id and record.id in view:
        return record.id
    if record.pdf_object_id is not None:
        own = record_id_for_pdf_object(record.pdf_object_id)
        if own in view:
            return own
    return None


def _kind_of(content: Mapping[str, JSON]) -> str:
    type_name = content.get("type")
    return record_class_for_type(type_name).KIND if isinstance(type_name, str) else "annotation"
