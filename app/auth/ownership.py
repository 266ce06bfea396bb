"""Who a record belongs to, as the permission rules see it: the one :class:`RecordMeta` builder.

The server (enforcing), the client and the UI (greying out) all describe a record to the
:class:`~lamina.auth.permissions.PermissionEvaluator` through :func:`record_meta`, so they
judge it alike (DESIGN §5). Each caller passes what it knows:

- the record's ``kind`` (app/sync §2.1) and its Instant JSON ``content``;
- its ``creator_id`` and ``group`` as the server stamped them (sync §2.3), or, for a record
  made here and not acknowledged yet, the token's ``user_id`` and the group it was created
  with;
- for a form field value or a widget, the meta of the form field :func:`form_field_name`
  names, looked up in the same layer.

Form field values and widgets have no group of their own: Nutrient says they "always inherit
the group of the associated form field", so they are judged with their field's group, and a
value also with its field's creator (it is the field's content, filled in). Without such a
field they keep their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.auth.permissions import WIDGET_TYPE, RecordMeta

FORM_FIELD = "form-field"
FORM_FIELD_VALUE = "form-field-value"


def form_field_name(kind: str, content: Mapping[str, Any] | None) -> str | None:
    """Return the name of the form field a value (``name``) or widget (``formFieldName``)
    belongs to, else None (other records, or no name)."""
    body = content or {}
    if kind == FORM_FIELD_VALUE:
        name = body.get("name")
    elif kind == "annotation" and body.get("type") == WIDGET_TYPE:
        name = body.get("formFieldName")
    else:
        return None
    return name if isinstance(name, str) and name else None


def record_meta(
    kind: str,
    content: Mapping[str, Any] | None,
    *,
    creator_id: str | None,
    group: str | None,
    form_field: RecordMeta | None = None,
) -> RecordMeta:
    """Return what the permission evaluator needs to know about one record.

    Args:
        kind: ``annotation``, ``comment``, ``form-field``, ``form-field-value`` or
            ``bookmark``.
        content: the record's Instant JSON (its ``type`` and ``creatorName`` are read), or
            None for a record whose content is unknown.
        creator_id: the ``user_id`` that created it (None: from the PDF, or no ``user_id``).
        group: its group.
        form_field: for a value or widget, the meta of the form field
            ``form_field_name(kind, content)`` names (build it with this function); ignored
            for other records and when it is not a form field's.
    """
    body = content or {}
    record_type = body.get("type")
    creator_name = body.get("creatorName")
    field = form_field if form_field is not None and form_field.kind == FORM_FIELD else None
    if field is not None and form_field_name(kind, body) is not None:
        group = field.group
        if kind == FORM_FIELD_VALUE:
            creator_id = field.creator_id
            creator_name = field.creator_name
    return RecordMeta(
        kind=kind,
        record_type=record_type if isinstance(record_type, str) else "",
        creator_id=creator_id,
        creator_name=creator_name if isinstance(creator_name, str) else None,
        group=group,
    )
