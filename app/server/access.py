"""What one connection may see and do: its token's claims applied to record states (§4.8, §4.9).

:class:`Access` filters every record before it is sent (``view``) and implements the sync
layer's change policy with :class:`lamina.auth.PermissionEvaluator` (``write``, ``edit``,
``delete``, ``set-group``, ``reply``, ``fill``, and the creator rule of §4.8).

Form field values and widget annotations have no group of their own: Nutrient says they
"always inherit the group of the associated form field", so every check (view, fill, edit,
delete) evaluates them with the group of the form field they name (a value's ``name``, a
widget's ``formFieldName``), looked up in the same layer through a :data:`FieldLookup`. A value
also takes its field's creator (``lamina.auth.permissions``: "a form field value's group and
creator are those of its form field"). Without such a field they keep their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from lamina.auth.errors import PermissionDenied
from lamina.auth.permissions import WIDGET_TYPE, PermissionEvaluator, RecordMeta
from lamina.auth.tokens import READ_DOCUMENT, WRITE, TokenClaims
from lamina.sync.state import RecordState

FieldLookup: TypeAlias = Callable[[str], RecordState | None]
"""Return the form field record of a layer by its fully qualified name, or None."""


def associated_field_name(kind: str, content: Mapping[str, Any] | None) -> str | None:
    """Return the name of the form field a value or widget belongs to, else None."""
    body = content or {}
    if kind == "form-field-value":
        name = body.get("name")
    elif kind == "annotation" and body.get("type") == WIDGET_TYPE:
        name = body.get("formFieldName")
    else:
        return None
    return name if isinstance(name, str) and name else None


def inherited_field(
    kind: str, content: Mapping[str, Any] | None, fields: FieldLookup | None
) -> RecordState | None:
    """Return the form field whose group a value or widget inherits, or None."""
    if fields is None:
        return None
    name = associated_field_name(kind, content)
    if name is None:
        return None
    field = fields(name)
    return field if field is not None and field.kind == "form-field" else None


def record_meta(
    record: RecordState,
    content: Mapping[str, Any] | None = None,
    fields: FieldLookup | None = None,
) -> RecordMeta:
    """Return what the permission evaluator needs to know about ``record``.

    A form field value or widget takes the group of its form field (a value also its
    creator), found through ``fields``.
    """
    body = record.content if content is None else content
    body = body or {}
    record_type = body.get("type")
    creator_name = body.get("creatorName")
    creator_id = record.creator_id
    group = record.group
    field = inherited_field(record.kind, body, fields)
    if field is not None:
        group = field.group
        if record.kind == "form-field-value":
            creator_id = field.creator_id
            field_name = (field.content or {}).get("creatorName")
            creator_name = field_name if isinstance(field_name, str) else None
    return RecordMeta(
        kind=record.kind,
        record_type=record_type if isinstance(record_type, str) else "",
        creator_id=creator_id,
        creator_name=creator_name if isinstance(creator_name, str) else None,
        group=group,
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
        return self.evaluator.can_view(record_meta(record, fields=fields))

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
        record_type = content.get("type")
        creator_id = self.claims.user_id
        creator_name = self.claims.creator_name
        field = inherited_field(kind, content, fields)
        if field is not None:
            if not self.may_view(field, fields):
                # Do not reveal (or attach to) a field the token cannot see.
                raise PermissionDenied(
                    f"form field {associated_field_name(kind, content)!r} does not exist"
                )
            if kind == "form-field-value":
                creator_id = field.creator_id
                name = (field.content or {}).get("creatorName")
                creator_name = name if isinstance(name, str) else None
        meta = RecordMeta(
            kind=kind,
            record_type=record_type if isinstance(record_type, str) else "",
            creator_id=creator_id,
            creator_name=creator_name,
            group=group,
        )
        root = None if thread_root is None else record_meta(thread_root, fields=fields)
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
        meta = record_meta(record, fields=fields)
        if new_group is None:
            self.evaluator.check_update(meta)
            return
        field = inherited_field(record.kind, record.content, fields)
        if field is not None and new_group != meta.group:
            raise PermissionDenied(
                f"{record.kind} records take the group of their form field "
                f"{associated_field_name(record.kind, record.content)!r}: change the field's "
                "group instead"
            )
        self.evaluator.check_update(meta, new_group=new_group)

    def check_delete(self, record: RecordState, fields: FieldLookup | None = None) -> None:
        """Raise :class:`PermissionDenied` unless this token may delete ``record``."""
        if not self.can_write:
            raise PermissionDenied("token lacks the write permission: records cannot be deleted")
        self.evaluator.check_delete(record_meta(record, fields=fields))

    def _check_creator(self, content: Mapping[str, Any]) -> None:
        # §4.8: a change may not name another user as creator.
        creator_id = content.get("creator_id", content.get("creatorId"))
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
