"""record_meta: the one description of a record for the permission rules (creator, group,
form field inheritance), whoever builds it."""

from __future__ import annotations

from typing import Any

import pytest
from lamina.auth import PermissionEvaluator, form_field_name, record_meta
from lamina.auth.permissions import RecordMeta
from lamina.auth.tokens import TokenClaims

FIELD_CONTENT = {"type": "pspdfkit/form-field/text", "name": "tenant.name", "creatorName": "T"}
FIELD = record_meta("form-field", FIELD_CONTENT, creator_id="landlord", group="landlords")
VALUE_CONTENT = {"type": "pspdfkit/form-field-value", "name": "tenant.name", "value": "x"}
WIDGET_CONTENT = {"type": "pspdfkit/widget", "formFieldName": "tenant.name", "creatorName": "W"}


def test_a_plain_record_keeps_its_own_creator_group_and_name() -> None:
    content = {"type": "pspdfkit/ink", "creatorName": "Ann"}
    meta = record_meta("annotation", content, creator_id="ann", group="students")
    assert meta == RecordMeta("annotation", "pspdfkit/ink", "ann", "Ann", "students")
    # A form field offered to a record that has none changes nothing.
    assert (
        record_meta("annotation", content, creator_id="ann", group="students", form_field=FIELD)
        == meta
    )


def test_a_form_field_value_takes_its_fields_group_and_creator() -> None:
    meta = record_meta(
        "form-field-value", VALUE_CONTENT, creator_id="tenant", group="tenants", form_field=FIELD
    )
    assert meta == RecordMeta(
        "form-field-value", "pspdfkit/form-field-value", "landlord", "T", "landlords"
    )


def test_a_widget_takes_its_fields_group_but_keeps_its_creator() -> None:
    meta = record_meta("annotation", WIDGET_CONTENT, creator_id="bob", group=None, form_field=FIELD)
    assert meta == RecordMeta("annotation", "pspdfkit/widget", "bob", "W", "landlords")


def test_without_its_field_a_value_keeps_its_own() -> None:
    meta = record_meta("form-field-value", VALUE_CONTENT, creator_id="tenant", group="tenants")
    assert (meta.creator_id, meta.group) == ("tenant", "tenants")
    # Only a form field's meta is inherited from.
    other = record_meta("annotation", {"type": "pspdfkit/ink"}, creator_id="x", group="xs")
    meta = record_meta(
        "form-field-value", VALUE_CONTENT, creator_id="tenant", group="tenants", form_field=other
    )
    assert (meta.creator_id, meta.group) == ("tenant", "tenants")


@pytest.mark.parametrize(
    ("kind", "content", "name"),
    [
        ("form-field-value", VALUE_CONTENT, "tenant.name"),
        ("annotation", WIDGET_CONTENT, "tenant.name"),
        ("annotation", {"type": "pspdfkit/ink", "formFieldName": "tenant.name"}, None),
        ("form-field", FIELD_CONTENT, None),
        ("form-field-value", {"name": ""}, None),
        ("form-field-value", {"name": 3}, None),
        ("form-field-value", None, None),
    ],
)
def test_form_field_name(kind: str, content: dict[str, Any] | None, name: str | None) -> None:
    assert form_field_name(kind, content) == name


def test_unknown_content_still_gives_a_meta() -> None:
    meta = record_meta("comment", None, creator_id=None, group=None)
    assert meta == RecordMeta("comment", "", None, None, None)
    assert (
        record_meta(
            "annotation", {"type": 7, "creatorName": ["x"]}, creator_id=None, group=None
        ).record_type
        == ""
    )


def test_what_the_evaluator_decides_follows_the_inherited_group() -> None:
    # A tenant may fill the tenants' fields only: the value's own group does not matter.
    claims = TokenClaims(
        document_id="lease",
        permissions=frozenset({"read-document", "write"}),
        exp=0,
        user_id="tenant",
        collaboration_permissions=(
            "form-fields:view:all",
            "form-fields:fill:group=tenants",
        ),
    )
    evaluator = PermissionEvaluator(claims)
    tenants_field = record_meta("form-field", FIELD_CONTENT, creator_id="landlord", group="tenants")
    mine = record_meta(
        "form-field-value",
        VALUE_CONTENT,
        creator_id="tenant",
        group="landlords",
        form_field=tenants_field,
    )
    theirs = record_meta(
        "form-field-value", VALUE_CONTENT, creator_id="tenant", group="tenants", form_field=FIELD
    )
    assert evaluator.record_flags(mine).fill
    assert not evaluator.record_flags(theirs).fill
