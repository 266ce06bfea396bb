"""The Collaboration Permissions evaluator: what each role may see and do with each record."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lamina.auth.errors import PermissionDenied, PermissionStringError
from lamina.auth.keys import new_keypair
from lamina.auth.permissions import (
    CollaborationPermission,
    PermissionEvaluator,
    RecordMeta,
    RecordPermissions,
    content_type_of,
)
from lamina.auth.tokens import TokenClaims, mint_token, verify_token

STUDENT_RULES = (
    "annotations:view:group=students",
    "annotations:view:self",
    "annotations:edit:self",
    "annotations:delete:self",
    "comments:view:all",
    "comments:reply:all",
    "form-fields:view:all",
    "form-fields:fill:all",
    "annotations:set-group:group=private_students",
)
TEACHER_RULES = tuple(
    f"{content}:{action}:all"
    for content, actions in (
        ("annotations", ("view", "edit", "delete", "set-group")),
        ("comments", ("view", "edit", "delete", "set-group", "reply")),
        ("form-fields", ("view", "edit", "delete", "set-group", "fill")),
    )
    for action in actions
)
READ_WRITE = ("read-document", "write", "download")


def evaluator(
    rules: Iterable[str] | None,
    *,
    user_id: str | None = "stu1",
    group: str | None = None,
    permissions: Iterable[str] = READ_WRITE,
) -> PermissionEvaluator:
    return PermissionEvaluator(
        TokenClaims(
            document_id="doc",
            permissions=frozenset(permissions),
            exp=2_000_000_000,
            user_id=user_id,
            collaboration_permissions=None if rules is None else tuple(rules),
            default_group=group,
        )
    )


def ink(creator: str | None, group: str | None) -> RecordMeta:
    return RecordMeta("annotation", "pspdfkit/ink", creator_id=creator, group=group)


OWN = ink("stu1", "students")
CLASSMATE = ink("stu2", "students")
CLASSMATE_PRIVATE = ink("stu2", "private_students")
OWN_PRIVATE = ink("stu1", "private_students")
TEACHERS = ink("teacher", "teachers")
FROM_PDF = ink(None, None)
TEACHER_COMMENT = RecordMeta("comment", "pspdfkit/comment", "teacher", "Ms T", "teachers")
WIDGET = RecordMeta("annotation", "pspdfkit/widget", "teacher", None, "teachers")
FIELD = RecordMeta("form-field", "pspdfkit/form-field/text", "teacher", None, "teachers")
FIELD_VALUE = RecordMeta(
    "form-field-value", "pspdfkit/form-field-value", "teacher", None, "teachers"
)


@pytest.fixture
def student() -> PermissionEvaluator:
    return evaluator(STUDENT_RULES, user_id="stu1", group="students")


@pytest.fixture
def teacher() -> PermissionEvaluator:
    return evaluator(TEACHER_RULES, user_id="teacher", group="teachers")


@pytest.mark.parametrize(
    ("meta", "view", "flags"),
    [
        (
            OWN,
            True,
            RecordPermissions(edit=True, delete=True, set_group=True, reply=True, fill=False),
        ),
        (OWN_PRIVATE, True, RecordPermissions(True, True, False, True, False)),
        (CLASSMATE, True, RecordPermissions(False, False, False, True, False)),
        (CLASSMATE_PRIVATE, False, RecordPermissions(False, False, False, True, False)),
        (TEACHERS, False, RecordPermissions(False, False, False, True, False)),
        (FROM_PDF, False, RecordPermissions(False, False, False, True, False)),
        (TEACHER_COMMENT, True, RecordPermissions(False, False, False, True, False)),
        (WIDGET, True, RecordPermissions(False, False, False, False, True)),
        (FIELD, True, RecordPermissions(False, False, False, False, True)),
        (FIELD_VALUE, True, RecordPermissions(False, False, False, False, True)),
    ],
)
def test_student_matrix(
    student: PermissionEvaluator, meta: RecordMeta, view: bool, flags: RecordPermissions
) -> None:
    assert student.can_view(meta) is view
    assert student.record_flags(meta) == flags


@pytest.mark.parametrize(
    "meta",
    [OWN, CLASSMATE, CLASSMATE_PRIVATE, TEACHERS, FROM_PDF, TEACHER_COMMENT, WIDGET, FIELD],
)
def test_teacher_may_do_everything(teacher: PermissionEvaluator, meta: RecordMeta) -> None:
    assert teacher.can_view(meta)
    flags = teacher.record_flags(meta)
    assert flags.edit and flags.delete and flags.set_group
    content = content_type_of(meta)
    assert flags.fill is (content == "form-fields")
    assert flags.reply is (content != "form-fields")
    assert teacher.can_set_group(meta, "anything")
    teacher.check_update(meta, new_group="graded")
    teacher.check_delete(meta)


def test_student_denials_carry_a_precise_reason(student: PermissionEvaluator) -> None:
    with pytest.raises(PermissionDenied) as info:
        student.check_update(CLASSMATE)
    assert (
        info.value.reason
        == "annotations:edit is not granted for records created by stu2 in group students"
    )
    assert info.value.code == "forbidden"
    with pytest.raises(
        PermissionDenied,
        match="annotations:view is not granted for records created by teacher in group "
        "teachers, so they cannot be changed",
    ):
        student.check_delete(TEACHERS)
    with pytest.raises(PermissionDenied, match="comments:edit is not granted"):
        student.check_update(TEACHER_COMMENT)
    with pytest.raises(PermissionDenied, match="form-fields:edit is not granted"):
        student.check_update(WIDGET)


def test_set_group_scope_names_the_destination(student: PermissionEvaluator) -> None:
    assert student.can_set_group(OWN, "private_students")
    assert not student.can_set_group(OWN, "teachers")
    # Moving a classmate's record needs edit on it, not just the destination grant.
    assert not student.can_set_group(CLASSMATE, "private_students")
    student.check_update(OWN, new_group="private_students")
    with pytest.raises(PermissionDenied, match="set-group is not granted for group teachers"):
        student.check_update(OWN, new_group="teachers")
    # The record's current group matching a group= rule does not let it move elsewhere.
    reviewer = evaluator(
        ["annotations:view:all", "annotations:edit:all", "annotations:set-group:group=reviewed"]
    )
    reviewed = ink("bob", "reviewed")
    assert reviewer.can_set_group(ink("bob", "drafts"), "reviewed")
    assert not reviewer.can_set_group(reviewed, "drafts")
    assert reviewer.set_group_destinations(reviewed) == {"reviewed"}
    assert reviewer.record_flags(reviewed).set_group is False
    assert reviewer.record_flags(ink("bob", "drafts")).set_group is True
    # A change that keeps the group needs only edit.
    reviewer.check_update(reviewed, new_group="reviewed")


def test_student_creation(student: PermissionEvaluator) -> None:
    student.check_create(ink("stu1", "students"))
    student.check_create(ink("stu1", "private_students"))
    with pytest.raises(PermissionDenied, match="set-group is not granted for group teachers"):
        student.check_create(ink("stu1", "teachers"))
    # Replying to a thread on a teacher's annotation the student cannot see: comments:reply:all.
    reply = RecordMeta("comment", "pspdfkit/comment", "stu1", None, "students")
    student.check_create(reply, thread_root=TEACHERS)
    assert student.can_create(RecordMeta("form-field-value", "", "teacher", None, "teachers"))


def test_reply_needs_a_reply_grant_matching_the_root() -> None:
    own_threads = evaluator(["comments:view:all", "comments:reply:self"], user_id="ann")
    reply = RecordMeta("comment", "pspdfkit/comment", "ann", None, None)
    marker = RecordMeta("annotation", "pspdfkit/comment-marker", "ann", None, None)
    others = RecordMeta("annotation", "pspdfkit/comment-marker", "bob", None, None)
    own_threads.check_create(reply, thread_root=marker)
    with pytest.raises(
        PermissionDenied,
        match="comments:reply is not granted for threads on records created by bob",
    ):
        own_threads.check_create(reply, thread_root=others)
    # The first comment of a new thread is plain creation: write is enough.
    no_reply = evaluator(["comments:view:all"], user_id="ann")
    no_reply.check_create(reply)
    assert not no_reply.can_reply(marker)
    # Comments cannot hang off form fields.
    assert not own_threads.can_reply(WIDGET)


def test_filling_a_form_field_value_is_fill_not_create_or_edit() -> None:
    viewer = evaluator(["form-fields:view:all"])
    filler = evaluator(["form-fields:view:all", "form-fields:fill:group=tenant"])
    tenant_value = RecordMeta("form-field-value", "", None, None, "tenant")
    landlord_value = RecordMeta("form-field-value", "", None, None, "landlord")
    with pytest.raises(PermissionDenied, match="form-fields:fill is not granted"):
        viewer.check_create(tenant_value)
    filler.check_create(tenant_value)
    filler.check_update(tenant_value)
    filler.check_delete(tenant_value)
    with pytest.raises(
        PermissionDenied,
        match="form-fields:fill is not granted for records with no creator in group landlord",
    ):
        filler.check_update(landlord_value)
    assert not filler.can_fill(OWN)


def test_claim_absent_means_only_permissions_count() -> None:
    free = evaluator(None)
    for meta in (OWN, TEACHERS, FROM_PDF, TEACHER_COMMENT, WIDGET, FIELD_VALUE):
        assert free.can_view(meta)
        assert free.can_edit(meta) and free.can_delete(meta)
        assert free.can_set_group(meta, "anything")
    assert free.can_create(ink("stu1", "whatever"))
    assert free.set_group_destinations(OWN) is None
    reader = evaluator(None, permissions=["read-document"])
    assert reader.can_view(TEACHERS)
    assert reader.record_flags(TEACHERS) == RecordPermissions(False, False, False, False, False)
    with pytest.raises(PermissionDenied, match="the token is read-only"):
        reader.check_create(OWN)
    nobody = evaluator(None, permissions=["download"])
    assert not nobody.can_view(OWN)
    with pytest.raises(PermissionDenied, match="lacks the read-document permission"):
        nobody.check_view(OWN)


def test_empty_claim_means_nothing_is_visible_but_write_still_creates() -> None:
    empty = evaluator([])
    for meta in (OWN, TEACHERS, FROM_PDF, TEACHER_COMMENT, WIDGET, FIELD_VALUE):
        assert not empty.can_view(meta)
        assert not empty.can_edit(meta)
        assert not empty.can_delete(meta)
    assert empty.record_flags(OWN) == RecordPermissions(False, False, False, False, False)
    empty.check_create(ink("stu1", None))
    # Write is still needed when the claim restricts.
    with pytest.raises(PermissionDenied, match="read-only"):
        evaluator(
            ["annotations:edit:all", "annotations:view:all"], permissions=["read-document"]
        ).check_update(OWN)


def test_created_by_scope_matches_the_creator_id_not_the_display_name() -> None:
    bobs = evaluator(
        ["annotations:view:createdBy=bob", "annotations:edit:createdBy=bob"], user_id="alice"
    )
    assert bobs.can_view(ink("bob", None))
    assert bobs.can_edit(ink("bob", "x"))
    assert not bobs.can_view(ink("alice", None))
    spoofed = RecordMeta("annotation", "pspdfkit/ink", creator_id="alice", creator_name="bob")
    assert not bobs.can_view(spoofed)


def test_self_scope_needs_a_user_id() -> None:
    anonymous = evaluator(["annotations:view:self"], user_id=None)
    assert not anonymous.can_view(ink(None, None))


def test_widgets_are_form_fields_and_markers_are_comments() -> None:
    annotations_only = evaluator(["annotations:view:all"])
    fields_only = evaluator(["form-fields:view:all"])
    comments_only = evaluator(["comments:view:all"])
    marker = RecordMeta("annotation", "pspdfkit/comment-marker", "bob")
    note = RecordMeta("annotation", "pspdfkit/note", "bob")
    bookmark = RecordMeta("bookmark", "pspdfkit/bookmark")
    assert annotations_only.can_view(note) and not annotations_only.can_view(WIDGET)
    assert fields_only.can_view(WIDGET) and fields_only.can_view(FIELD)
    assert not fields_only.can_view(note)
    assert comments_only.can_view(marker) and not comments_only.can_view(note)
    assert annotations_only.can_view(bookmark) and not comments_only.can_view(bookmark)
    assert content_type_of(RecordMeta("stamp-collection")) is None
    assert not annotations_only.can_view(RecordMeta("stamp-collection"))


def test_rules_from_a_signed_token_drive_the_evaluator() -> None:
    keypair = new_keypair("ES256")
    token = mint_token(
        keypair,
        document_id="doc",
        user_id="stu1",
        default_group="students",
        collaboration_permissions=STUDENT_RULES,
    )
    student = PermissionEvaluator(verify_token(token, keypair.public_pem, document_id="doc"))
    assert student.restricted
    assert student.can_edit(OWN) and not student.can_edit(CLASSMATE)


# --- permission strings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("annotations:view", "expected content-type:action:scope"),
        ("", "expected content-type:action:scope"),
        ("notes:view:all", "unknown content type 'notes'"),
        ("annotations:create:all", "unknown action 'create'"),
        ("annotations:reply:all", "reply applies to comments only"),
        ("comments:fill:all", "fill applies to form-fields only"),
        ("annotations:view:everyone", "unknown scope 'everyone'"),
        ("annotations:view:group=", "needs a name after ="),
        ("annotations:view:createdBy", "scope createdBy= needs a name"),
        ("annotations:view:self=me", "takes no =value"),
        ("Annotations:view:all", "unknown content type"),
    ],
)
def test_malformed_permission_strings(text: str, problem: str) -> None:
    with pytest.raises(PermissionStringError) as info:
        CollaborationPermission.parse(text)
    assert problem in str(info.value)
    assert str(info.value).startswith(f"bad collaboration permission {text!r}")


_ACTIONS = {
    "annotations": ["view", "edit", "delete", "set-group"],
    "comments": ["view", "edit", "delete", "set-group", "reply"],
    "form-fields": ["view", "edit", "delete", "set-group", "fill"],
}
_grants = st.sampled_from(sorted(_ACTIONS)).flatmap(
    lambda content: st.tuples(st.just(content), st.sampled_from(_ACTIONS[content]))
)
_scopes = st.one_of(
    st.sampled_from(["all", "self"]),
    st.builds(
        lambda kind, name: f"{kind}={name}",
        st.sampled_from(["createdBy", "group"]),
        st.text(min_size=1),
    ),
)


@given(_grants, _scopes)
def test_permission_strings_round_trip(grant: tuple[str, str], scope: str) -> None:
    text = f"{grant[0]}:{grant[1]}:{scope}"
    parsed = CollaborationPermission.parse(text)
    assert str(parsed) == text
    assert CollaborationPermission.parse(str(parsed)) == parsed
    assert parsed.content_type == grant[0] and parsed.action == grant[1]
