"""What one connection may see and do: its token's claims applied to record states (§4.8, §4.9).

:class:`Access` filters every record before it is sent (``view``) and implements the sync
layer's change policy with :class:`lamina.auth.PermissionEvaluator` (``write``, ``edit``,
``delete``, ``set-group``, ``reply``, ``fill``, and the creator rule of §4.8).

Records are described to the evaluator by :func:`lamina.auth.record_meta` (the rule of form
field inheritance is written there); this module only finds the form field a value or widget
names, in the same layer, through a :data:`FieldLookup`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from lamina.auth.errors import PermissionDenied
from lamina.auth.ownership import form_field_name, record_meta
from lamina.auth.permissions import PermissionEvaluator, RecordMeta
from lamina.auth.tokens import READ_DOCUMENT, WRITE, TokenClaims
from lamina.sync.state import RecordState

FieldLookup: TypeAlias = Callable[[str], RecordState | None]
"""Return the form field record of a layer by its fully qualified name, or None."""


def inherited_field(
    kind: str, content: Mapping[str, Any] | None, fields: FieldLookup | None
) -> RecordState | None:
    """Return the form field whose group a value or widget inherits, or None."""
    if fields is None:
        return None
    name = form_field_name(kind, content)
    if name is None:
        return None
    field = fields(name)
    return field if field is not None and field.kind == "form-field" else None


def meta_of(record: RecordState, fields: FieldLookup | None = None) -> RecordMeta:
    """Return what the permission evaluator needs to know about a stored ``record`` (a
    tombstone counts as its last content), its form field found through ``fields``."""
    field = inherited_field(record.kind, record.content, fields)
    return record_meta(
        record.kind,
        record.content,
        creator_id=record.creator_id,
        group=record.group,
        form_field=None if field is None else meta_of(field),
    )


class Access:
    """A token's rights over the records of the layers it may open."""

    def __init__(self, claims: TokenClaims) -> None:
        self.claims = claims
        self.evaluator = PermissionEvaluator(claims)
        self.can_read = claims.has(READ_DOCUMENT)
        self.can_write = claims.has(WRITE)
        # Connections whose view rights are equal share one encoding of every relayed frame.
        cp = claims.collaboration_permissions
        if not self.can_read:
            self.view_key: tuple[Any, ...] = ("nothing",)
        elif cp is None:
            self.view_key = ("everything",)
        else:
            self.view_key = ("rules", claims.user_id, tuple(sorted(cp)))

    @property
    def sees_everything(self) -> bool:
        """Whether no record is ever filtered out for this token."""
        return self.view_key == ("everything",)

    def may_view(self, record: RecordState, fields: FieldLookup | None = None) -> bool:
        """Return whether the connection may receive ``record`` (a tombstone counts as its
        last content); ``fields`` finds the form field a value or widget inherits from."""
        if not self.can_read:
            return False
        if self.sees_everything:
            return True
        return self.evaluator.can_view(meta_of(record, fields))

    def view_rule(self, fields: FieldLookup | None) -> Callable[[RecordState], bool] | None:
        """Return the session's view rule for one layer: None when every record is visible."""
        if self.sees_everything:
            return None

        def visible(record: RecordState) -> bool:
            return self.may_view(record, fields)

        return visible

    # --- enforcement (§4.8) ---------------------------------------------------------------

    def check_create(
        self,
        kind: str,
        content: Mapping[str, Any],
        group: str | None,
        thread_root: RecordState | None,
        fields: FieldLookup | None = None,
    ) -> None:
        """Raise :class:`PermissionDenied` unless this token may create the record.

        ``group`` is the group the record gets; for a value or widget of an existing form
        field, that is the field's (the caller passes it).
        """
        if not self.can_write:
            raise PermissionDenied("token lacks the write permission: records cannot be created")
        self._check_creator(content)
        field = inherited_field(kind, content, fields)
        if field is not None and not self.may_view(field, fields):
            # Do not reveal (or attach to) a field the token cannot see.
            raise PermissionDenied(f"form field {form_field_name(kind, content)!r} does not exist")
        meta = record_meta(
            kind,
            content,
            creator_id=self.claims.user_id,
            group=group,
            form_field=None if field is None else meta_of(field),
        )
        root = None if thread_root is None else meta_of(thread_root, fields)
        self.evaluator.check_create(meta, thread_root=root)

    def check_update(
        self,
        record: RecordState,
        set_: Mapping[str, Any],
        new_group: str | None,
        fields: FieldLookup | None = None,
    ) -> None:
        """Raise :class:`PermissionDenied` unless this token may change ``record``."""
        if not self.can_write:
            raise PermissionDenied("token lacks the write permission: records cannot be changed")
        self._check_creator(set_)
        meta = meta_of(record, fields)
        if new_group is None:
            self.evaluator.check_update(meta)
            return
        field = inherited_field(record.kind, record.content, fields)
        if field is not None and new_group != meta.group:
            raise PermissionDenied(
                f"{record.kind} records take the group of their form field "
                f"{form_field_name(record.kind, record.content)!r}: change the field's "
                "group instead"
            )
        self.evaluator.check_update(meta, new_group=new_group)

    def check_delete(self, record: RecordState, fields: FieldLookup | None = None) -> None:
        """Raise :class:`PermissionDenied` unless this token may delete ``record``."""
        if not self.can_write:
            raise PermissionDenied("token lacks the write permission: records cannot be deleted")
        self.evaluator.check_delete(meta_of(record, fields))

    def _check_creator(self, content: Mapping[str, Any]) -> None:
        # §4.8: a change may not name another user as creator.
        # Each key on its own: {"creator_id": null, "creatorId": "teacher"} names the teacher.
        for key in ("creator_id", "creatorId"):
            creator_id = content.get(key)
            if creator_id is not None and creator_id != self.claims.user_id:
                raise PermissionDenied(
                    f"the change names {creator_id!r} as creator, but this token is "
                    f"{self.claims.user_id!r}: the server sets the creator"
                )
        forced = self.claims.creator_name
        name = content.get("creatorName")
        if forced is not None and name is not None and name != forced:
            raise PermissionDenied(
                f"the change names {name!r} as creator, but this token creates as {forced!r}"
            )
