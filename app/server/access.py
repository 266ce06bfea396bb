"""What one connection may see and do: its token's claims applied to record states (§4.8, §4.9).

:class:`Access` filters every record before it is sent (``view``) and implements the sync
layer's change policy with :class:`app.auth.PermissionEvaluator` (``write``, ``edit``,
``delete``, ``set-group``, ``reply``, ``fill``, and the creator rule of §4.8).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.auth.errors import PermissionDenied
from app.auth.permissions import PermissionEvaluator, RecordMeta
from app.auth.tokens import READ_DOCUMENT, WRITE, TokenClaims
from app.sync.state import RecordState


def record_meta(record: RecordState, content: Mapping[str, Any] | None = None) -> RecordMeta:
    """Return what the permission evaluator needs to know about ``record``."""
    body = record.content if content is None else content
    body = body or {}
    record_type = body.get("type")
    creator_name = body.get("creatorName")
    return RecordMeta(
        kind=record.kind,
        record_type=record_type if isinstance(record_type, str) else "",
        creator_id=record.creator_id,
        creator_name=creator_name if isinstance(creator_name, str) else None,
        group=record.group,
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

    def may_view(self, record: RecordState) -> bool:
        """Return whether the connection may receive ``record`` (a tombstone counts as its
        last content)."""
        if not self.can_read:
            return False
        if self.sees_everything:
            return True
        return self.evaluator.can_view(record_meta(record))

    def visible(self, record: RecordState | None) -> RecordState | None:
        """Return ``record`` if it may be viewed, else None (ack results, §4.4)."""
        if record is None or not self.may_view(record):
            return None
        return record

    def relayed(self, record: RecordState, before: RecordState | None) -> RecordState | None:
        """Return what a ``changes`` message carries for ``record`` (§4.9).

        A record the connection may view is sent as is; one it could view before the change
        but not after is sent as a content-less tombstone; anything else is left out.
        """
        if self.may_view(record):
            return record
        if before is not None and self.may_view(before):
            return record.hidden()
        return None

    # --- enforcement (§4.8) ---------------------------------------------------------------

    def check_create(
        self,
        kind: str,
        content: Mapping[str, Any],
        group: str | None,
        thread_root: RecordState | None,
    ) -> None:
        """Raise :class:`PermissionDenied` unless this token may create the record."""
        if not self.can_write:
            raise PermissionDenied("token lacks the write permission: records cannot be created")
        self._check_creator(content)
        record_type = content.get("type")
        meta = RecordMeta(
            kind=kind,
            record_type=record_type if isinstance(record_type, str) else "",
            creator_id=self.claims.user_id,
            creator_name=self.claims.creator_name,
            group=group,
        )
        root = None if thread_root is None else record_meta(thread_root)
        self.evaluator.check_create(meta, thread_root=root)

    def check_update(
        self,
        record: RecordState,
        set_: Mapping[str, Any],
        new_group: str | None,
    ) -> None:
        """Raise :class:`PermissionDenied` unless this token may change ``record``."""
        if not self.can_write:
            raise PermissionDenied("token lacks the write permission: records cannot be changed")
        self._check_creator(set_)
        if new_group is None:
            self.evaluator.check_update(record_meta(record))
        else:
            self.evaluator.check_update(record_meta(record), new_group=new_group)

    def check_delete(self, record: RecordState) -> None:
        """Raise :class:`PermissionDenied` unless this token may delete ``record``."""
        if not self.can_write:
            raise PermissionDenied("token lacks the write permission: records cannot be deleted")
        self.evaluator.check_delete(record_meta(record))

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
