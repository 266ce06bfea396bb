"""The form fields of one layer by name, and the group rule of their values and widgets.

Nutrient: form field values and widgets "always inherit the group of the associated form
field". Permission checks read the field itself (``lamina.auth.record_meta``), so they never
depend on the rules below; these keep the records' own ``group`` true, so that every replica
(and every catch-up) holds what its token may see:

F1  A new value or widget of an existing form field is created with the field's group,
    whatever group its change names (a field without a group leaves it alone).
F2  When a commit moves a form field to another group, the next commit moves the field's
    live values and widgets along (an update of ``group`` only, by the server). Whoever
    could see a moved record before judges it as it was: unlinked from its field, with the
    field's former group (a value also with its former creator).
F3  A lookup by name finds the field being pushed first, then the latest one in a write in
    flight (prepared, not committed), then the committed one, so a field and its widgets in
    one push, or in pushes of one group commit, find each other.

Which field a value or widget names is ``lamina.auth``'s rule (``form_field_name``); the
server passes it in as a :data:`FieldNameOf`, since the sync core does not import auth.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from lamina.model.ids import RecordId, new_record_id
from lamina.sync.layer import AllowAll, LayerCommit, LayerState
from lamina.sync.state import Actor, Change, CreateChange, RecordState, UpdateChange

FORM_FIELD = "form-field"

FieldNameOf: TypeAlias = Callable[[str, Mapping[str, Any] | None], str | None]
"""Return the name of the form field a record of ``kind`` with ``content`` belongs to (a
value's ``name``, a widget's ``formFieldName``), else None."""


def _own_name(content: Mapping[str, Any] | None) -> str | None:
    name = (content or {}).get("name")
    return name if isinstance(name, str) and name else None


class FormFields:
    """The form fields of one layer, by their fully qualified name (F1-F3).

    Args:
        layer: the layer; its form fields are indexed now, later ones through
            :meth:`committed`.
        field_name_of: which field a value or widget names (``lamina.auth.form_field_name``).
    """

    def __init__(self, layer: LayerState, field_name_of: FieldNameOf) -> None:
        self._layer = layer
        self._field_name_of = field_name_of
        self._ids: dict[str, RecordId] = {}
        self._names: dict[RecordId, str] = {}
        self._in_flight: dict[str, RecordState] = {}
        self._pushed: dict[str, RecordState] = {}
        self.committed(layer.records())

    # --- looking up -----------------------------------------------------------------------

    def named(self, name: str) -> RecordState | None:
        """Return the form field called ``name`` (a tombstone too), or None (F3)."""
        field = self._pushed.get(name) or self._in_flight.get(name)
        if field is not None:
            return field
        record_id = self._ids.get(name)
        return None if record_id is None else self._layer.get(record_id)

    def outside_push(self, name: str) -> RecordState | None:
        """Return the form field called ``name`` as the writes in flight or the committed
        layer hold it (a tombstone too), ignoring the push being prepared, or None."""
        field = self._in_flight.get(name)
        if field is not None:
            return field
        record_id = self._ids.get(name)
        return None if record_id is None else self._layer.get(record_id)

    def field_of(self, kind: str, content: Mapping[str, Any] | None) -> RecordState | None:
        """Return the form field whose group a value or widget inherits, or None."""
        name = self._field_name_of(kind, content)
        field = None if name is None else self.named(name)
        return field if field is not None and field.kind == FORM_FIELD else None

    # --- one push -------------------------------------------------------------------------

    def inherit_groups(self, changes: Sequence[Change], actor: Actor) -> Sequence[Change]:
        """Return ``changes`` with F1 applied, and start the push (F3): until
        :meth:`end_push`, the form fields it creates are found by name.

        Args:
            changes: the push's changes.
            actor: who pushes (a new field's creator and default group).
        """
        out: list[Change] | None = None
        for i, change in enumerate(changes):
            if not isinstance(change, CreateChange):
                continue
            if change.kind == FORM_FIELD:
                name = _own_name(change.content)
                if name is not None:
                    self._pushed[name] = RecordState(
                        id=change.record_id,
                        kind=FORM_FIELD,
                        rev=1,
                        seq=0,
                        content=change.content,
                        creator_id=actor.user_id,
                        group=change.group if change.group is not None else actor.default_group,
                    )
                continue
            field = self.field_of(change.kind, change.content)
            if field is None or field.group == change.group or field.group is None:
                continue
            if out is None:
                out = list(changes)
            out[i] = dataclasses.replace(change, group=field.group)
        return changes if out is None else out

    def end_push(self, commit: LayerCommit | None) -> None:
        """End the push begun by :meth:`inherit_groups`; ``commit`` is what it prepared
        (None when preparing failed): its form fields count as in flight until
        :meth:`forget_in_flight` (F3)."""
        self._pushed.clear()
        if commit is None or not commit.changed:
            return
        for record in commit.records:
            name = _own_name(record.content) if record.kind == FORM_FIELD else None
            if name is not None:
                self._in_flight[name] = record

    def follow_group_moves(
        self, commit: LayerCommit, *, after: LayerCommit | None, now: str
    ) -> tuple[LayerCommit, Mapping[RecordId, RecordState | None]] | None:
        """Prepare the commit that moves values and widgets after their fields (F2).

        Args:
            commit: a commit just prepared.
            after: the commit to prepare on top of (the last one in flight).
            now: the commit time.

        Returns:
            The follow-up commit and, per record, how it looked before to judge who could
            see it (pass it to the relay), or None when ``commit`` moved no field's records.
        """
        moved = []
        for record in commit.records:
            before = commit.previous.get(record.id)
            if record.kind == FORM_FIELD and before is not None and before.group != record.group:
                moved.append((record, before))
        if not moved:
            return None
        changes: list[Change] = []
        shown_before: dict[RecordId, RecordState | None] = {}
        for field, before in moved:
            name = _own_name(field.content)
            if name is None:
                continue  # nothing can name a field without a name
            for dep in self._layer.records():
                if dep.deleted or dep.group == field.group:
                    continue
                if self._field_name_of(dep.kind, dep.content) != name:
                    continue
                changes.append(
                    UpdateChange(str(new_record_id()), dep.id, base_rev=dep.rev, group=field.group)
                )
                shown_before[dep.id] = _detached(dep, before)
        if not changes:
            return None
        follow = self._layer.prepare(changes, Actor(), AllowAll(), now, after=after)
        if not follow.records:
            return None
        return follow, {**follow.previous, **shown_before}

    # --- after the store ------------------------------------------------------------------

    def committed(self, records: Iterable[RecordState]) -> None:
        """Index the form fields among ``records``, now part of the layer."""
        for record in records:
            if record.kind != FORM_FIELD:
                continue
            old = self._names.pop(record.id, None)
            if old is not None and self._ids.get(old) == record.id:
                del self._ids[old]
            name = _own_name(record.content)
            if name is not None:
                self._ids[name] = record.id
                self._names[record.id] = name

    def forget_in_flight(self) -> None:
        """Forget the fields of writes in flight: the last one committed, or they failed."""
        self._in_flight.clear()


def _detached(dep: RecordState, field_before: RecordState) -> RecordState:
    """Return ``dep`` as it was judged before its field moved (F2): unlinked from the field,
    with the field's former group (and, for a value, creator)."""
    content = dict(dep.content or {})
    content.pop("name" if dep.kind == "form-field-value" else "formFieldName", None)
    creator = field_before.creator_id if dep.kind == "form-field-value" else dep.creator_id
    return dataclasses.replace(dep, content=content, group=field_before.group, creator_id=creator)
