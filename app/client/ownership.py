"""Who a record of this replica belongs to, pending edits included (DESIGN §5).

The rule itself is :func:`lamina.auth.record_meta` (the server judges with the same one);
this module only gathers what the client knows for it: the creator and group the server
stamped (sync §2.3), or, for a record created here and not acknowledged yet, the token's
``user_id`` and the group it was created with; a pending group change counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.auth import form_field_name, record_meta
from lamina.auth.permissions import RecordMeta
from lamina.auth.tokens import TokenClaims
from lamina.model.ids import RecordId
from lamina.sync import client_session as cs
from lamina.sync.state import CreateChange, UpdateChange


def replica_record_meta(
    session: cs.ClientSession,
    view: Mapping[RecordId, Mapping[str, Any]],
    claims: TokenClaims,
    record_id: RecordId,
) -> RecordMeta:
    """Return the :class:`RecordMeta` of a record in ``view`` (it must be there).

    A form field value or widget is judged with its form field's group (a value also with
    its creator), when the field is in the view.
    """
    content = view[record_id]
    kind, creator_id, group = _owner_of(session, claims, record_id)
    field_meta = None
    name = form_field_name(kind, content)
    if name is not None:
        for rid, other in view.items():
            if other.get("name") != name:
                continue
            field_kind, field_creator, field_group = _owner_of(session, claims, rid)
            if field_kind == "form-field":
                field_meta = record_meta(
                    field_kind, other, creator_id=field_creator, group=field_group
                )
                break
    return record_meta(kind, content, creator_id=creator_id, group=group, form_field=field_meta)


def _owner_of(
    session: cs.ClientSession, claims: TokenClaims, rid: RecordId
) -> tuple[str, str | None, str | None]:
    """Return ``(kind, creator_id, group)`` of a record, pending edits included."""
    synced = session.state.replica.get(rid)
    kind = synced.kind if synced is not None else "annotation"
    creator_id = synced.creator_id if synced is not None and not synced.deleted else None
    group = synced.group if synced is not None and not synced.deleted else None
    for change in session.state.outbox.of_record(rid):
        if isinstance(change, CreateChange):
            # Not acknowledged yet: the server will make the token's user the creator.
            kind = change.kind
            creator_id = claims.user_id
            group = change.group if change.group is not None else claims.default_group
        elif isinstance(change, UpdateChange) and change.group is not None:
            group = change.group
    return kind, creator_id, group
