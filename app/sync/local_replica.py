"""The client's records as its user sees and edits them, sans I/O (§6.1-§6.5).

:class:`LocalReplica` holds the persistent :class:`ClientState`: the synced replica, the
outbox of local changes not yet acknowledged, and the conflicts awaiting the user. The view is
the replica with the outbox replayed on top (§6.3); an edit of a record whose last outbox
change was never sent is merged into it (§6.2); an ack's ``made_rev`` rebases later changes
of the record (§6.2); losing versions can be re-applied or dismissed (§6.4).
:class:`~lamina.sync.client_session.ClientSession` adds the connection on top.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lamina.model.ids import RecordId, new_record_id
from lamina.sync.errors import ChangeTooLargeError, LocalProtocolError
from lamina.sync.outbox import Outbox, TrackedIds, TrackedRecords
from lamina.sync.state import (
    KINDS,
    Change,
    CreateChange,
    DeleteChange,
    RecordState,
    UpdateChange,
    dumps,
)
from lamina.sync.validation import DEFAULT_LIMITS

MAX_PUSH_CHANGES = 500
"""Most changes sent in one ``push``."""

PUSH_BUDGET = DEFAULT_LIMITS.push_bytes - 64 * 1024
"""Most bytes of changes in one ``push``: under the server's ``push_bytes`` limit, with room
for the frame around them (the ack comes in parts when it is bigger, §3.7)."""


@dataclass(frozen=True)
class Conflict:
    """A user's losing version, kept so they can see it and re-apply it (§6.4).

    Attributes:
        change_id: the change that lost.
        record_id: the record.
        status: ``conflict`` (some fields lost, §4.5) or ``deleted`` (the record was deleted
            meanwhile, §4.6).
        mine: the record's content as the user saw it with their change (None if unknown).
        theirs: the committed state that won (a tombstone for ``deleted``).
        lost: the values that did not win.
        lost_unset: the keys the user removed but that stayed.
        lost_group: the group the user set but that did not win.
        kind: the record's kind (for re-creating a deleted record).
    """

    change_id: str
    record_id: RecordId
    status: str
    mine: Mapping[str, Any] | None
    theirs: RecordState | None
    lost: Mapping[str, Any] = field(default_factory=dict)
    lost_unset: tuple[str, ...] = ()
    lost_group: str | None = None
    kind: str = "annotation"


@dataclass
class ClientState:
    """Everything a client must persist to resume (§6): mutated in place by the session.

    Attributes:
        client_id: the replica's id, stable across reconnects (§3.1).
        last_seq: the highest layer ``seq`` fully applied (§4.10); None before the first sync.
        layer_epoch: the epoch ``last_seq`` belongs to (§3.4).
        replica: the synced records, tombstones included (§6.3).
        outbox: unacknowledged local changes, in order (§6.1).
        conflicts: losing versions awaiting the user (§6.4).
        sent_change_ids: ids of outbox changes that have been sent at least once; those are
            never coalesced with later edits, since the server may have applied them.

    ``replica``, ``outbox`` and ``sent_change_ids`` may be given (and assigned) as a plain
    dict, list and set; they are kept as the indexed, change-tracking containers of
    :mod:`lamina.sync.outbox`, so an edit touches one record's entries (DESIGN §7).
    """

    client_id: str
    last_seq: int | None = None
    layer_epoch: str | None = None
    replica: TrackedRecords = field(default_factory=TrackedRecords)
    outbox: Outbox = field(default_factory=Outbox)
    conflicts: list[Conflict] = field(default_factory=list)
    sent_change_ids: TrackedIds = field(default_factory=TrackedIds)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "replica" and not isinstance(value, TrackedRecords):
            value = TrackedRecords(value)
        elif name == "outbox" and not isinstance(value, Outbox):
            value = Outbox(value)
        elif name == "sent_change_ids" and not isinstance(value, TrackedIds):
            value = TrackedIds(value)
        object.__setattr__(self, name, value)


def _apply_to_content(
    content: Mapping[str, Any], set_: Mapping[str, Any], unset: Iterable[str]
) -> dict[str, Any]:
    out = dict(content)
    out.update(set_)
    for key in unset:
        out.pop(key, None)
    return out


def new_change_id() -> str:
    """Return a fresh change id (a ULID)."""
    return str(new_record_id())


class LocalReplica:
    """The replica, the outbox and the conflicts of one client, as its user edits them.

    Attributes:
        state: the persistent part (see :class:`ClientState`).
    """

    def __init__(self, state: ClientState) -> None:
        self.state = state

    # --- the outbox -----------------------------------------------------------------------

    def next_push(self) -> tuple[list[Change], str] | None:
        """Return the changes of the next ``push`` and its frame, or None for an empty
        outbox; marks them sent (they will never be merged with later edits, §6.2)."""
        outbox = self.state.outbox
        if not outbox:
            return None
        batch: list[Change] = []
        texts: list[str] = []
        size = 0
        records: set[RecordId] = set()
        for change in outbox:
            # One change per record per push: the next one's base_rev must be rebased on the
            # rev this one makes (§6.2), which only its ack tells.
            if change.record_id in records or len(batch) >= MAX_PUSH_CHANGES:
                break
            text = dumps(change.to_wire())
            if batch and size + len(text) > PUSH_BUDGET:
                break
            batch.append(change)
            texts.append(text)
            records.add(change.record_id)
            size += len(text) + 1
        self.state.sent_change_ids.update(c.change_id for c in batch)
        return batch, f'{{"type":"push","changes":[{",".join(texts)}]}}'

    def rebase(self, record_id: RecordId, made_rev: int) -> None:
        """Move later changes of ``record_id`` that saw ``made_rev - 1`` to ``made_rev`` (§6.2)."""
        # §6.2: a later change of the record that saw everything before our change (its
        # base_rev is made_rev - 1) saw the record at made_rev, since made_rev is ours.
        outbox = self.state.outbox
        for change in outbox.of_record(record_id):
            if not isinstance(change, CreateChange) and change.base_rev == made_rev - 1:
                if isinstance(change, UpdateChange):
                    outbox.put(
                        UpdateChange(
                            change.change_id,
                            record_id,
                            made_rev,
                            change.set,
                            change.unset,
                            change.group,
                        )
                    )
                else:
                    outbox.put(DeleteChange(change.change_id, record_id, made_rev))

    # --- local edits ----------------------------------------------------------------------

    def _enqueue(self, change: Change) -> Change:
        if len(dumps(change.to_wire()).encode("utf-8")) > PUSH_BUDGET:
            raise ChangeTooLargeError(
                f"change of record {change.record_id} is larger than {PUSH_BUDGET} bytes"
            )
        # Same change id: an edit merged into an unsent change, which keeps its place.
        self.state.outbox.put(change)
        return change

    def _last_unsent(self, record_id: RecordId) -> Change | None:
        """Return the outbox entry of this record that a new edit may be merged into."""
        change = self.state.outbox.last_of_record(record_id)
        if change is None or change.change_id in self.state.sent_change_ids:
            return None
        return change

    def create(
        self,
        kind: str,
        content: Mapping[str, Any],
        group: str | None = None,
        *,
        record_id: str | None = None,
    ) -> CreateChange:
        """Create a record locally (§6.1) and queue it; returns the change.

        The id is ``record_id``, else ``content["id"]``, else a new ULID; ``content["id"]`` is
        set to it (form field values keep their name-derived id without one).

        Raises:
            LocalProtocolError: unknown kind, or the record already exists in the view.
            ChangeTooLargeError: the content cannot fit in one frame.
        """
        if kind not in KINDS:
            raise LocalProtocolError(f"unknown record kind {kind!r}")
        rid = RecordId(record_id or content.get("id") or new_record_id())
        if self.view_record(rid) is not None:
            raise LocalProtocolError(f"record {rid} already exists")
        body = dict(content)
        if kind != "form-field-value":
            body["id"] = rid
        change = CreateChange(new_change_id(), rid, kind, body, group)
        result = self._enqueue(change)
        assert isinstance(result, CreateChange)
        return result

    def update(
        self,
        record_id: str,
        set: Mapping[str, Any] | None = None,
        unset: Iterable[str] = (),
        group: str | None = None,
    ) -> Change:
        """Change top-level keys of a record locally (§6.1) and queue it; returns the change.

        An edit of a record whose last outbox change was never sent is merged into that
        change (same ``change_id``).

        Raises:
            LocalProtocolError: the record does not exist in the view, or a key is in both
                ``set`` and ``unset``.
        """
        rid = RecordId(record_id)
        set_ = dict(set or {})
        unset_ = tuple(dict.fromkeys(unset))
        if any(k in set_ for k in unset_):
            raise LocalProtocolError("a key is both set and unset")
        if self.view_record(rid) is None:
            raise LocalProtocolError(f"record {rid} does not exist")
        prior = self._last_unsent(rid)
        if prior is not None:
            if isinstance(prior, CreateChange):
                merged_content = _apply_to_content(prior.content, set_, unset_)
                grp = group if group is not None else prior.group
                return self._enqueue(
                    CreateChange(prior.change_id, rid, prior.kind, merged_content, grp)
                )
            if isinstance(prior, UpdateChange):
                new_set = {k: v for k, v in prior.set.items() if k not in unset_}
                new_set.update(set_)
                new_unset = tuple(k for k in prior.unset if k not in set_) + tuple(
                    k for k in unset_ if k not in prior.unset
                )
                grp = group if group is not None else prior.group
                return self._enqueue(
                    UpdateChange(prior.change_id, rid, prior.base_rev, new_set, new_unset, grp)
                )
        change = UpdateChange(new_change_id(), rid, self._base_rev(rid), set_, unset_, group)
        return self._enqueue(change)

    def delete(self, record_id: str) -> DeleteChange:
        """Delete a record locally (§6.1) and queue it; returns the change.

        Raises:
            LocalProtocolError: the record does not exist in the view.
        """
        rid = RecordId(record_id)
        if self.view_record(rid) is None:
            raise LocalProtocolError(f"record {rid} does not exist")
        change = DeleteChange(new_change_id(), rid, self._base_rev(rid))
        self._enqueue(change)
        return change

    def _base_rev(self, record_id: RecordId) -> int:
        synced = self.state.replica.get(record_id)
        return synced.rev if synced is not None else 0

    # --- conflicts ------------------------------------------------------------------------

    def dismiss_conflict(self, change_id: str) -> None:
        """Forget a conflict the user does not want to re-apply (§6.4)."""
        self.state.conflicts = [c for c in self.state.conflicts if c.change_id != change_id]

    def reapply_conflict(self, change_id: str) -> Change:
        """Re-apply the user's losing version as a new change and forget the conflict (§6.4).

        A lost update is set again over the record; a record deleted meanwhile is re-created
        with the user's version (§4.7).

        Raises:
            LocalProtocolError: no such conflict, or nothing left to re-apply.
        """
        found = [c for c in self.state.conflicts if c.change_id == change_id]
        if not found:
            raise LocalProtocolError(f"no conflict for change {change_id}")
        conflict = found[0]
        if self.view_record(conflict.record_id) is not None and conflict.status == "conflict":
            change = self.update(
                conflict.record_id, conflict.lost, conflict.lost_unset, conflict.lost_group
            )
        elif conflict.mine is not None and self.view_record(conflict.record_id) is None:
            change = self.create(conflict.kind, conflict.mine, record_id=conflict.record_id)
        else:
            raise LocalProtocolError(f"conflict {change_id} has nothing to re-apply")
        self.dismiss_conflict(change_id)
        return change

    # --- reading --------------------------------------------------------------------------

    def view(self) -> dict[RecordId, dict[str, Any]]:
        """Return every record as the user sees it: the replica with pending changes (§6.3)."""
        out: dict[RecordId, dict[str, Any]] = {
            rid: dict(r.content)
            for rid, r in self.state.replica.items()
            if not r.deleted and r.content is not None
        }
        for change in self.state.outbox:
            _replay(out, change)
        return out

    def view_shared(self) -> dict[RecordId, Mapping[str, Any]]:
        """Return :meth:`view` without copying the synced records' content: a record with
        no pending change is the replica's own mapping (never change any of them)."""
        outbox = self.state.outbox
        out: dict[RecordId, Mapping[str, Any]] = {
            rid: r.content
            for rid, r in self.state.replica.items()
            if not r.deleted and r.content is not None and not outbox.has_record(rid)
        }
        for rid in {c.record_id: None for c in outbox}:
            content = self.view_record(rid)
            if content is not None:
                out[rid] = content
        return out

    def view_content(self, record_id: RecordId) -> Mapping[str, Any] | None:
        """Return one record as :meth:`view_shared` holds it, or None."""
        if self.state.outbox.has_record(record_id):
            return self.view_record(record_id)
        synced = self.state.replica.get(record_id)
        if synced is None or synced.deleted:
            return None
        return synced.content

    def view_record(self, record_id: str) -> dict[str, Any] | None:
        """Return one record as the user sees it, or None (§6.3)."""
        rid = RecordId(record_id)
        synced = self.state.replica.get(rid)
        out: dict[RecordId, dict[str, Any]] = {}
        if synced is not None and not synced.deleted and synced.content is not None:
            out[rid] = dict(synced.content)
        for change in self.state.outbox.of_record(rid):
            _replay(out, change)
        return out.get(rid)

    def _users_version(self, record_id: RecordId) -> dict[str, Any] | None:
        """The record as the user made it, even if a remote delete already hid it (§4.6)."""
        synced = self.state.replica.get(record_id)
        out: dict[RecordId, dict[str, Any]] = {}
        if synced is not None and synced.content is not None:
            out[record_id] = dict(synced.content)  # a tombstone keeps the last live version
        for change in self.state.outbox.of_record(record_id):
            _replay(out, change)
        return out.get(record_id)

    def has_pending(self, record_ids: Iterable[str] | None = None) -> bool:
        """Whether any (or any of these records') change awaits its ack (§6.5)."""
        if record_ids is None:
            return bool(self.state.outbox)
        outbox = self.state.outbox
        return any(outbox.has_record(RecordId(r)) for r in set(record_ids))

    @property
    def pending_count(self) -> int:
        """How many changes await their ack ("N changes pending")."""
        return len(self.state.outbox)


def _replay(view: dict[RecordId, dict[str, Any]], change: Change) -> None:
    if isinstance(change, CreateChange):
        view[change.record_id] = dict(change.content)
    elif isinstance(change, UpdateChange):
        current = view.get(change.record_id)
        if current is not None:
            view[change.record_id] = _apply_to_content(current, change.set, change.unset)
    else:
        view.pop(change.record_id, None)


def replay_changes(
    records: Mapping[RecordId, Mapping[str, Any]], changes: Sequence[Change]
) -> dict[RecordId, dict[str, Any]]:
    """Return ``records`` with ``changes`` applied in order, as a client view does (§6.3)."""
    out = {rid: dict(c) for rid, c in records.items()}
    for change in changes:
        _replay(out, change)
    return out
