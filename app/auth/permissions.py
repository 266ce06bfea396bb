"""The Collaboration Permissions evaluator (DESIGN §5; nutrient-spec §2).

A token's ``collaboration_permissions`` claim is a list of ``content-type:action:scope``
strings. The same evaluator runs in the server (enforcement, app/sync §4.8) and in the UI
(greying out what the user may not do).

Content types (:func:`content_type_of`):

- ``annotations``: every annotation except widgets and comment markers. Bookmarks count as
  annotations too (Nutrient's content types do not name them; putting them here keeps the
  default-deny promise: with the claim present, nobody edits a bookmark without a grant).
- ``comments``: comments, and the ``pspdfkit/comment-marker`` annotations that anchor a
  thread (a marker exists only to hold comments, so whoever may see the comments sees it).
- ``form-fields``: form fields, their widget annotations and form field values. A form field
  value's ``group`` and creator are those of its form field: the caller passes them.

Actions: ``view``, ``edit``, ``delete``, ``set-group`` on every content type, ``reply`` on
``comments`` only, ``fill`` on ``form-fields`` only. Other combinations are malformed.

Scopes: ``all``; ``self`` (the record's creator id equals the token's ``user_id``; a token
without ``user_id`` owns nothing); ``createdBy=NAME`` (the record's creator id is NAME: the
``user_id`` of the token that created it, which the server sets and nobody can forge, not the
display ``creatorName``); ``group=NAME`` (the record's group is NAME). For ``set-group``,
``group=NAME`` names the *destination* group, ``all`` allows any destination, and
``self``/``createdBy=NAME`` allow any destination for records with that creator.

Evaluation, in order:

1. ``permissions`` first: nothing at all without ``read-document``; no change of any kind
   without ``write``.
2. Claim absent (None): no further restrictions.
3. Claim present: rules only grant, and nothing is granted unless a rule says so (``[]``
   grants nothing, so nothing is visible). Every action on a record also needs ``view`` of
   it (you cannot change what you cannot see), and ``set-group`` also needs ``edit`` (moving
   a record is editing it).
4. Creation is governed by ``write``, not by these rules, with three consequences of the rules
   above: a new record whose group is not the token's ``default_group`` needs ``set-group``
   for that group; a comment joining a thread that already has comments is a *reply* and
   needs ``comments:reply`` with a scope matching the thread's root (the first comment of a
   new thread is plain creation); creating, changing or deleting a form field value is
   *filling* and needs ``form-fields:fill``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from lamina.auth.errors import PermissionDenied, PermissionStringError

if TYPE_CHECKING:
    from lamina.auth.tokens import TokenClaims

ContentType = Literal["annotations", "comments", "form-fields"]
CONTENT_TYPES: tuple[ContentType, ...] = ("annotations", "comments", "form-fields")
ACTIONS: tuple[str, ...] = ("view", "edit", "delete", "set-group", "reply", "fill")
_ACTIONS_OF: Final[dict[str, frozenset[str]]] = {
    "annotations": frozenset({"view", "edit", "delete", "set-group"}),
    "comments": frozenset({"view", "edit", "delete", "set-group", "reply"}),
    "form-fields": frozenset({"view", "edit", "delete", "set-group", "fill"}),
}
_NAMED_SCOPES = frozenset({"createdBy", "group"})

WIDGET_TYPE = "pspdfkit/widget"
COMMENT_MARKER_TYPE = "pspdfkit/comment-marker"
_READ = "read-document"
_WRITE = "write"


@dataclass(frozen=True)
class CollaborationPermission:
    """One ``content-type:action:scope`` grant; ``name`` is set for named scopes only."""

    content_type: str
    action: str
    scope: str
    name: str | None = None

    @classmethod
    def parse(cls, text: str) -> CollaborationPermission:
        """Return the grant written as ``text``, e.g. ``annotations:view:group=students``.

        Raises:
            PermissionStringError: ``text`` is not a valid permission string.
        """
        if not isinstance(text, str):
            raise PermissionStringError(repr(text), "expected a string")
        parts = text.split(":", 2)
        if len(parts) != 3:
            raise PermissionStringError(text, "expected content-type:action:scope")
        content_type, action, scope_text = parts
        if content_type not in _ACTIONS_OF:
            raise PermissionStringError(
                text,
                f"unknown content type {content_type!r} (use {', '.join(CONTENT_TYPES)})",
            )
        if action not in ACTIONS:
            raise PermissionStringError(
                text, f"unknown action {action!r} (use {', '.join(ACTIONS)})"
            )
        if action not in _ACTIONS_OF[content_type]:
            only = "comments" if action == "reply" else "form-fields"
            raise PermissionStringError(text, f"{action} applies to {only} only")
        scope, sep, name = scope_text.partition("=")
        if scope in ("all", "self"):
            if sep:
                raise PermissionStringError(text, f"scope {scope} takes no =value")
            return cls(content_type, action, scope)
        if scope in _NAMED_SCOPES:
            if not name:
                raise PermissionStringError(text, f"scope {scope}= needs a name after =")
            return cls(content_type, action, scope, name)
        raise PermissionStringError(
            text, f"unknown scope {scope_text!r} (use all, self, createdBy=NAME or group=NAME)"
        )

    def __str__(self) -> str:
        scope = self.scope if self.name is None else f"{self.scope}={self.name}"
        return f"{self.content_type}:{self.action}:{scope}"


def parse_permissions(texts: Iterable[str]) -> tuple[CollaborationPermission, ...]:
    """Parse every string of a ``collaboration_permissions`` claim."""
    return tuple(CollaborationPermission.parse(text) for text in texts)


@dataclass(frozen=True)
class RecordMeta:
    """What the evaluator needs to know about a record.

    Attributes:
        kind: ``annotation``, ``comment``, ``form-field``, ``form-field-value`` or
            ``bookmark`` (app/sync §2.1).
        record_type: the Instant JSON ``type``, e.g. ``pspdfkit/widget``.
        creator_id: the ``user_id`` of the token that created the record (None for records
            from the PDF, or made with a token without ``user_id``).
        creator_name: the display name, used only in messages.
        group: the record's group (for a form field value: its form field's group).
    """

    kind: str
    record_type: str = ""
    creator_id: str | None = None
    creator_name: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class RecordPermissions:
    """Per-record flags for the UI (Nutrient's ``isEditable``, ``isDeletable``, ...)."""

    edit: bool
    delete: bool
    set_group: bool
    reply: bool
    fill: bool


def content_type_of(meta: RecordMeta) -> ContentType | None:
    """Return the content type that governs ``meta``, or None for a kind nobody covers."""
    if meta.kind == "annotation":
        if meta.record_type == WIDGET_TYPE:
            return "form-fields"
        if meta.record_type == COMMENT_MARKER_TYPE:
            return "comments"
        return "annotations"
    if meta.kind == "bookmark":
        return "annotations"
    if meta.kind == "comment":
        return "comments"
    if meta.kind in ("form-field", "form-field-value"):
        return "form-fields"
    return None


def describe_records(meta: RecordMeta) -> str:
    """Return ``records created by bob in group students`` for a denial message."""
    creator = (
        f"records created by {meta.creator_id}"
        if meta.creator_id is not None
        else "records with no creator"
    )
    group = f" in group {meta.group}" if meta.group is not None else ""
    return creator + group


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"


UNCHANGED: Final = _Unchanged.UNCHANGED
"""Marker for :meth:`PermissionEvaluator.check_update`: the change leaves the group alone."""


def _group_label(group: str | None) -> str:
    return "no group" if group is None else f"group {group}"


class PermissionEvaluator:
    """Decide what a token may do with records (the rules are in the module docstring).

    ``can_*`` answer yes or no; ``check_*`` raise :class:`PermissionDenied` with the reason.
    """

    def __init__(self, claims: TokenClaims) -> None:
        self.claims = claims
        self.rules: tuple[CollaborationPermission, ...] | None = (
            None
            if claims.collaboration_permissions is None
            else parse_permissions(claims.collaboration_permissions)
        )
        self._by_grant: dict[tuple[str, str], list[CollaborationPermission]] = {}
        for rule in self.rules or ():
            self._by_grant.setdefault((rule.content_type, rule.action), []).append(rule)

    @property
    def restricted(self) -> bool:
        """Whether the token carries a ``collaboration_permissions`` claim."""
        return self.rules is not None

    # --- rule matching ------------------------------------------------------------------

    def _creator_matches(self, rule: CollaborationPermission, meta: RecordMeta) -> bool:
        if rule.scope == "self":
            return self.claims.user_id is not None and meta.creator_id == self.claims.user_id
        if rule.scope == "createdBy":
            return meta.creator_id == rule.name
        return False

    def _matches(self, rule: CollaborationPermission, meta: RecordMeta) -> bool:
        if rule.scope == "all":
            return True
        if rule.scope == "group":
            return meta.group == rule.name
        return self._creator_matches(rule, meta)

    def _granted(self, content_type: str, action: str, meta: RecordMeta) -> bool:
        rules = self._by_grant.get((content_type, action), ())
        return any(self._matches(rule, meta) for rule in rules)

    def _granted_group(self, content_type: str, meta: RecordMeta, group: str | None) -> bool:
        for rule in self._by_grant.get((content_type, "set-group"), ()):
            if rule.scope == "all" or self._creator_matches(rule, meta):
                return True
            if rule.scope == "group" and rule.name == group:
                return True
        return False

    # --- decisions: None when allowed, else the reason -----------------------------------

    def _base(self, needs_write: bool) -> str | None:
        if not self.claims.has(_READ):
            return "the token lacks the read-document permission: ask the host for a new invite"
        if needs_write and not self.claims.has(_WRITE):
            return "the token is read-only (no write permission): ask the host for a new invite"
        return None

    def _uncovered(self, meta: RecordMeta) -> str:
        return f"collaboration permissions do not cover {meta.kind} records"

    def _view(self, meta: RecordMeta) -> str | None:
        reason = self._base(needs_write=False)
        if reason is not None or self.rules is None:
            return reason
        content_type = content_type_of(meta)
        if content_type is None:
            return self._uncovered(meta)
        if self._granted(content_type, "view", meta):
            return None
        return f"{content_type}:view is not granted for {describe_records(meta)}"

    def _act(self, action: str, meta: RecordMeta) -> str | None:
        """Decide ``edit``, ``delete`` or ``fill`` on an existing record."""
        reason = self._base(needs_write=True)
        if reason is not None:
            return reason
        content_type = content_type_of(meta)
        if action == "fill" and content_type != "form-fields":
            return f"only form fields can be filled, not {meta.kind} records"
        if self.rules is None:
            return None
        if content_type is None:
            return self._uncovered(meta)
        if not self._granted(content_type, "view", meta):
            return (
                f"{content_type}:view is not granted for {describe_records(meta)}, "
                f"so they cannot be changed"
            )
        if self._granted(content_type, action, meta):
            return None
        return f"{content_type}:{action} is not granted for {describe_records(meta)}"

    def _set_group(self, meta: RecordMeta, new_group: str | None) -> str | None:
        reason = self._act("edit", meta)
        if reason is not None or self.rules is None:
            return reason
        content_type = content_type_of(meta)
        assert content_type is not None  # _act refused uncovered kinds
        if self._granted_group(content_type, meta, new_group):
            return None
        return (
            f"{content_type}:set-group is not granted for {_group_label(new_group)} "
            f"(moving {describe_records(meta)})"
        )

    def _reply(self, root: RecordMeta) -> str | None:
        reason = self._base(needs_write=True)
        if reason is not None:
            return reason
        content_type = content_type_of(root)
        if content_type not in ("annotations", "comments"):
            return f"comments cannot be added to {root.kind} records ({root.record_type})"
        if self.rules is None:
            return None
        if self._granted("comments", "reply", root):
            return None
        return f"comments:reply is not granted for threads on {describe_records(root)}"

    def _create(self, meta: RecordMeta, thread_root: RecordMeta | None) -> str | None:
        reason = self._base(needs_write=True)
        if reason is not None:
            return reason
        if meta.kind == "form-field-value":
            return self._act("fill", meta)
        if meta.kind == "comment" and thread_root is not None:
            reason = self._reply(thread_root)
            if reason is not None:
                return reason
        if self.rules is None or meta.group == self.claims.default_group:
            return None
        content_type = content_type_of(meta)
        if content_type is None:
            return self._uncovered(meta)
        if self._granted_group(content_type, meta, meta.group):
            return None
        return (
            f"{content_type}:set-group is not granted for {_group_label(meta.group)}, and new "
            f"records go to {_group_label(self.claims.default_group)}"
        )

    # --- public answers -----------------------------------------------------------------

    def can_view(self, meta: RecordMeta) -> bool:
        """Return whether the record may be sent to this token's client."""
        return self._view(meta) is None

    def can_edit(self, meta: RecordMeta) -> bool:
        """Return whether the record's content may be changed."""
        return self._act("edit", meta) is None

    def can_delete(self, meta: RecordMeta) -> bool:
        """Return whether the record may be deleted."""
        return self._act("delete", meta) is None

    def can_fill(self, meta: RecordMeta) -> bool:
        """Return whether a form field (its widget, or its value) may be filled in."""
        return self._act("fill", meta) is None

    def can_set_group(self, meta: RecordMeta, new_group: str | None) -> bool:
        """Return whether the record may be moved to ``new_group`` (the destination)."""
        return self._set_group(meta, new_group) is None

    def can_reply(self, root_meta: RecordMeta) -> bool:
        """Return whether a comment may be added to the thread rooted at ``root_meta``."""
        return self._reply(root_meta) is None

    def can_create(self, meta: RecordMeta, *, thread_root: RecordMeta | None = None) -> bool:
        """Return whether the record may be created (see :meth:`check_create`)."""
        return self._create(meta, thread_root) is None

    def set_group_destinations(self, meta: RecordMeta) -> frozenset[str] | None:
        """Return the groups the record may be moved to; None means any group.

        An empty set means the group cannot be changed.
        """
        if self._act("edit", meta) is not None:
            return frozenset()
        if self.rules is None:
            return None
        content_type = content_type_of(meta)
        groups: set[str] = set()
        for rule in self._by_grant.get((content_type or "", "set-group"), ()):
            if rule.scope == "all" or self._creator_matches(rule, meta):
                return None
            if rule.scope == "group" and rule.name is not None:
                groups.add(rule.name)
        return frozenset(groups)

    def record_flags(self, meta: RecordMeta) -> RecordPermissions:
        """Return what the UI may offer for a record it shows."""
        content_type = content_type_of(meta)
        destinations = self.set_group_destinations(meta)
        return RecordPermissions(
            edit=self.can_edit(meta),
            delete=self.can_delete(meta),
            set_group=destinations is None or any(g != meta.group for g in destinations),
            reply=content_type in ("annotations", "comments") and self.can_reply(meta),
            fill=content_type == "form-fields" and self.can_fill(meta),
        )

    # --- enforcement --------------------------------------------------------------------

    def check_view(self, meta: RecordMeta) -> None:
        """Raise :class:`PermissionDenied` unless the record may be seen."""
        _raise_if(self._view(meta))

    def check_create(self, meta: RecordMeta, *, thread_root: RecordMeta | None = None) -> None:
        """Raise :class:`PermissionDenied` unless the record may be created.

        Args:
            meta: the new record, with ``creator_id`` the token's ``user_id`` and ``group``
                the group it will get.
            thread_root: for a comment joining a thread that already has comments, the
                thread's root annotation (the reply is checked against it). None for the
                first comment of a new thread, and for every other kind.
        """
        _raise_if(self._create(meta, thread_root))

    def check_update(
        self, meta: RecordMeta, *, new_group: str | _Unchanged | None = UNCHANGED
    ) -> None:
        """Raise :class:`PermissionDenied` unless the record may be changed.

        Args:
            meta: the record as it is now (before the change).
            new_group: the group the change gives the record, or :data:`UNCHANGED`.
        """
        action = "fill" if meta.kind == "form-field-value" else "edit"
        _raise_if(self._act(action, meta))
        if new_group is not UNCHANGED and new_group != meta.group:
            _raise_if(self._set_group(meta, new_group))

    def check_delete(self, meta: RecordMeta) -> None:
        """Raise :class:`PermissionDenied` unless the record may be deleted.

        Deleting a form field value clears the field, so it needs ``fill``.
        """
        action = "fill" if meta.kind == "form-field-value" else "delete"
        _raise_if(self._act(action, meta))


def _raise_if(reason: str | None) -> None:
    if reason is not None:
        raise PermissionDenied(reason)
