"""Which changes of a push a connection's token may make (§4.8, DESIGN §5).

:class:`TokenPolicy` is the sync layer's change policy for one connection and one push,
backed by ``lamina.auth``; :class:`RefuseAll` refuses every change with one reason (a quota
reached). A room hands one to ``LayerState.prepare`` per push.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lamina.server.access import Access
from lamina.sync.state import Actor, Change, CreateChange, DeleteChange, RecordState

if TYPE_CHECKING:
    from lamina.server.rooms import Room


def taken_id_reason(record_id: str) -> str:
    """Return the rejection of a create whose id is in use (visible to the token or not).

    The same words answer a live record the token sees and any record it does not see, live
    or deleted, so a rejection never tells more than "this id is taken"; record ids are
    ULIDs (80 random bits), so nobody finds a hidden record by trying ids.
    """
    return f"record id {record_id} is taken: create the record with a new id"


def missing_reason(record_id: str) -> str:
    """Return the rejection of a change to a record that does not exist *for this token*.

    Word for word what the sync layer answers for an id nobody uses (§4.8), so a change to a
    record the token cannot view tells nothing about it.
    """
    return f"record {record_id} does not exist"


class TokenPolicy:
    """The sync layer's change policy for one connection and one push, backed by
    ``lamina.auth`` (§4.8).

    Records the token may not view are treated as absent: changing one is answered like an
    unknown id, creating over one like any taken id, and neither answer carries its state
    (the ack filters records by view rights too). It also keeps the document-wide rules the
    permission evaluator cannot see from one record: a form field name belongs to one field
    (DESIGN §5), and a comment joining a thread is a reply to a root the token can view, also
    when the thread's first comment is earlier in the same push or still being written.
    """

    def __init__(self, access: Access, room: Room) -> None:
        self._access = access
        self._room = room
        self._layer = room.layer
        # Changes this policy allowed earlier in the push (the layer has not applied them).
        self._pushed: dict[str, RecordState] = {}
        self._threads: set[str] = set()
        self._rooted: set[str] | None = None

    def check(self, change: Change, current: RecordState | None, actor: Actor) -> str | None:
        """Return why ``change`` is forbidden for this token, or None."""
        from lamina.auth.errors import PermissionDenied

        fields = self._room.field_named
        visible = current is not None and self._access.may_view(current, fields)
        try:
            if isinstance(change, CreateChange):
                if current is not None and (not visible or not current.deleted):
                    return taken_id_reason(change.record_id)
                self._check_field_name(change.record_id, change.kind, change.content)
                root = self._thread_root(change)
                self._access.check_create(
                    change.kind,
                    change.content,
                    change.group if change.group is not None else actor.default_group,
                    root,
                    fields,
                )
                self._remember(change, actor)
            elif current is None:
                return None  # the layer answers "does not exist"
            elif not visible:
                return missing_reason(change.record_id)
            elif isinstance(change, DeleteChange):
                self._access.check_delete(current, fields)
            else:
                if current.kind == "form-field" and "name" in change.set:
                    self._check_field_name(current.id, current.kind, change.set)
                self._access.check_update(current, change.set, change.group, fields)
        except PermissionDenied as exc:
            return exc.reason
        return None

    def _state(self, record_id: str) -> RecordState | None:
        # This push first, then the writes in flight, then the committed layer.
        pushed = self._pushed.get(record_id)
        if pushed is not None:
            return pushed
        tail = self._room.tail
        pending = tail.pending(record_id) if tail is not None else None
        return pending if pending is not None else self._layer.get(record_id)

    def _remember(self, change: CreateChange, actor: Actor) -> None:
        state = RecordState(
            change.record_id, change.kind, 1, 0, change.content, False, actor.user_id, change.group
        )
        self._pushed[change.record_id] = state
        root_id = change.content.get("rootId") if change.kind == "comment" else None
        if isinstance(root_id, str):
            self._threads.add(root_id)

    def _check_field_name(self, record_id: str, kind: str, content: Mapping[str, Any]) -> None:
        from lamina.auth.errors import PermissionDenied

        if kind != "form-field":
            return
        name = content.get("name")
        if not isinstance(name, str):
            return
        taken = self._room.fields.outside_push(name)
        if taken is None or taken.id == record_id or taken.deleted:
            taken = next(
                (
                    r
                    for r in self._pushed.values()
                    if r.kind == "form-field"
                    and r.id != record_id
                    and (r.content or {}).get("name") == name
                ),
                None,
            )
        if taken is not None and taken.id != record_id and not taken.deleted:
            # Visible or not, a second field of that name would take over the first one's
            # values (its widgets and values are found by name).
            raise PermissionDenied(
                f"form field name {name!r} is taken: give the new field another name"
            )

    def _thread_root(self, change: CreateChange) -> RecordState | None:
        """Return the root a comment replies to (None: it starts a thread, or not a comment).

        Raises:
            PermissionDenied: the root does not exist for this token (absent, deleted, or
                not viewable: all answered alike).
        """
        from lamina.auth.errors import PermissionDenied

        if change.kind != "comment":
            return None
        root_id = change.content.get("rootId")
        if not isinstance(root_id, str) or not root_id:
            return None
        root = self._state(root_id)
        if root is None or root.deleted or not self._access.may_view(root, self._room.field_named):
            raise PermissionDenied(f"thread root {root_id} does not exist")
        if root_id in self._threads or self._has_comments(root_id):
            return root
        return None

    def _has_comments(self, root_id: str) -> bool:
        # One walk per push, however many comments it carries.
        if self._rooted is None:
            tail = self._room.tail
            in_flight = tail.pending_records() if tail is not None else []
            self._rooted = {
                root
                for record in (*in_flight, *self._layer.snapshot())
                if record.kind == "comment"
                and not record.deleted
                and isinstance(root := (record.content or {}).get("rootId"), str)
            }
        return root_id in self._rooted


class RefuseAll:
    """A change policy that refuses every change with one reason (a quota reached)."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def check(self, change: Change, current: RecordState | None, actor: Actor) -> str | None:
        return self._reason
