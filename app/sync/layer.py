"""The in-memory authority of one layer: records, sequence numbers, merge rules (§4, §5.1).

:class:`LayerState` never does I/O. A server applies a push in two steps so that memory only
changes after the store has committed (§4.3)::

    commit = layer.prepare(push.changes, actor, policy, now)   # pure: nothing changes yet
    store.write(commit)        # ONE transaction: commit.records, commit.remembered, commit.seq
    layer.apply_prepared(commit)                                # now memory follows the store
    session.send_ack(commit.results, commit.seq)

For group commit (§4.3), prepare the next push on top of the previous one with
``prepare(..., after=previous_commit)``, write all of them in one transaction, then apply them
in order. If the write fails, drop the commits: the layer is unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from lamina.model.ids import RecordId
from lamina.sync.errors import LocalProtocolError
from lamina.sync.state import (
    GROUP_FIELD,
    Actor,
    Change,
    ChangeResult,
    CreateChange,
    DeleteChange,
    RecordState,
    UpdateChange,
    dumps,
)
from lamina.sync.validation import DEFAULT_LIMITS, Limits, record_problem

_MISSING: Any = object()
_PROTECTED_KEYS = ("id", "type")


class ChangePolicy(Protocol):
    """Decides whether an actor may make a change (§4.8); the server implements it with auth."""

    def check(self, change: Change, current: RecordState | None, actor: Actor) -> str | None:
        """Return why ``change`` is forbidden, or None when it is allowed.

        Args:
            change: the change.
            current: the record's committed state before the change (a tombstone for a
                deleted record), or None when no record has this id.
            actor: who makes the change.
        """
        ...


class AllowAll:
    """A policy that allows every change (a token without restrictions, and tests)."""

    def check(self, change: Change, current: RecordState | None, actor: Actor) -> str | None:
        return None


@dataclass(frozen=True)
class LayerCommit:
    """The outcome of one push, prepared but not yet part of the layer.

    Attributes:
        base_seq: the layer ``seq`` the commit was prepared on.
        seq: the layer ``seq`` after it; goes into the ``ack`` and ``changes`` (§4.10).
        results: one result per change, in order (§4.4).
        records: the new state of every record this push changed, in ``seq`` order, one per
            record; what the store writes and what is relayed (§4.9).
        previous: each changed record's state before this push (None if it did not exist),
            so a relay can tell "no longer visible" from "never visible" (§4.9).
        remembered: results the store must keep so a repeated change id gets them again
            (§4.2); rejected changes are not remembered.
        seeded: base-layer records the store must write too, on a layer's first change (§5.1).
    """

    epoch: str
    base_seq: int
    seq: int
    results: tuple[ChangeResult, ...]
    records: tuple[RecordState, ...]
    previous: Mapping[RecordId, RecordState | None]
    remembered: tuple[ChangeResult, ...]
    seeded: tuple[RecordState, ...] = ()
    # Whether this commit or one before it in its group commit chain seeds the base (§5.1).
    _base_seeded: bool = field(default=False, repr=False)
    # Cumulative overlay over the layer, including earlier commits of a group commit chain.
    _overlay: Mapping[RecordId, RecordState] = field(default_factory=dict, repr=False)
    _known: Mapping[str, ChangeResult] = field(default_factory=dict, repr=False)

    def pending(self, record_id: str) -> RecordState | None:
        """Return a record's state as this commit (and those it was prepared after) leave
        it, or None when none of them changes it."""
        return self._overlay.get(RecordId(record_id))

    def pending_records(self) -> list[RecordState]:
        """Return every record this commit chain changes, in no particular order."""
        return list(self._overlay.values())

    @property
    def changed(self) -> bool:
        """Whether the commit changes any record (else the store has nothing to write)."""
        return bool(self.records) or bool(self.remembered) or bool(self.seeded)


class LayerState:
    """Records of one layer, with tombstones, per-field revisions, ``seq`` and ``epoch``.

    Records are kept in the order of their last change, so :meth:`changes_since` walks only
    the changes a client missed.
    """

    def __init__(
        self,
        epoch: str,
        *,
        seq: int = 0,
        records: Iterable[RecordState] = (),
        known: Iterable[ChangeResult | str] = (),
        history_from: int = 0,
        unpersisted_base: bool = False,
        stored_results: Mapping[str, Any] | None = None,
    ) -> None:
        self.epoch = epoch
        self.seq = seq
        self._records: dict[RecordId, RecordState] = {
            r.id: r for r in sorted(records, key=lambda r: r.seq)
        }
        self._known: dict[str, ChangeResult] = {}
        for k in known:
            if isinstance(k, str):
                # Only the id was kept: answer a repeat with "applied" and the current state.
                self._known[k] = ChangeResult(k, RecordId(""), "applied")
            else:
                self._known[k.change_id] = k
        self._history_from = history_from
        self._unpersisted_base = unpersisted_base
        # Results as a store keeps them (``ChangeResult.to_store``), read when their change
        # id comes again: a cold load of a long-lived layer parses none of them (§4.2).
        self._stored: Mapping[str, Any] = stored_results if stored_results is not None else {}

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def from_records(
        cls,
        records: Iterable[RecordState],
        seq: int,
        epoch: str,
        applied_change_ids: Iterable[ChangeResult | str] = (),
        *,
        history_from: int = 0,
        stored_results: Mapping[str, Any] | None = None,
    ) -> LayerState:
        """Rebuild a layer from what a store persisted (tombstones included).

        Args:
            records: every record state, tombstones included.
            seq: the layer's ``seq``.
            epoch: the layer's ``layer_epoch`` (§3.4).
            applied_change_ids: remembered results (``ChangeResult.to_store`` read back with
                ``ChangeResult.from_wire``), or bare change ids (§4.2).
            history_from: the lowest ``last_seq`` a catch-up can start from; raise it after
                purging tombstones older than it.
            stored_results: remembered results as the store keeps them, by change id
                (``ChangeResult.to_store`` values), each read only when its change id is
                pushed again.
        """
        return cls(
            epoch,
            seq=seq,
            records=records,
            known=applied_change_ids,
            history_from=history_from,
            stored_results=stored_results,
        )

    def known_result(self, change_id: str) -> ChangeResult | None:
        """Return the remembered result of ``change_id`` (§4.2), or None."""
        found = self._known.get(change_id)
        if found is None and change_id in self._stored:
            found = ChangeResult.from_wire(self._stored[change_id], f"stored.{change_id}")
            self._known[change_id] = found
        return found

    @classmethod
    def from_base(cls, base_records: Iterable[RecordState], epoch: str) -> LayerState:
        """Make a layer that mirrors the base layer until its first change (§5.1).

        The base records get ``seq`` 0. The first prepared commit lists them in ``seeded`` so
        the store copies them in with that commit (copy-on-write).
        """
        seeded = [r if r.seq == 0 else _with(r, seq=0) for r in base_records]
        return cls(epoch, records=seeded, unpersisted_base=bool(seeded))

    # --- reading --------------------------------------------------------------------------

    def get(self, record_id: str) -> RecordState | None:
        """Return a record's state (tombstones included), or None."""
        return self._records.get(RecordId(record_id))

    def records(self) -> list[RecordState]:
        """Return every record state, tombstones included, in ``seq`` order."""
        return list(self._records.values())

    def snapshot(self) -> list[RecordState]:
        """Return every live record (§3.3)."""
        return [r for r in self._records.values() if not r.deleted]

    def changes_since(self, seq: int | None) -> list[RecordState] | None:
        """Return the latest state of every record changed after ``seq``, in ``seq`` order.

        Returns None when a catch-up cannot be exact and a snapshot must be sent instead
        (§3.3): no ``seq``, a ``seq`` from the future (server behind, §3.4), or older than the
        kept history.
        """
        if seq is None or seq > self.seq or seq < self._history_from:
            return None
        out = []
        for record in reversed(self._records.values()):
            if record.seq <= seq:
                break
            out.append(record)
        out.reverse()
        return out

    def __len__(self) -> int:
        return len(self._records)

    def has_live_records(self) -> bool:
        """Return whether any record is live (not a tombstone); stops at the first."""
        return any(not r.deleted for r in self._records.values())

    @property
    def history_from(self) -> int:
        """The lowest ``last_seq`` a catch-up can start from (a store's compaction horizon)."""
        return self._history_from

    def forget_history(self, horizon: int) -> int:
        """Drop the tombstones at or below ``horizon`` (its store compacted them) and raise
        :attr:`history_from` to it: a catch-up from below it is then a snapshot. Return how
        many tombstones went."""
        gone = [rid for rid, r in self._records.items() if r.deleted and r.seq <= horizon]
        for record_id in gone:
            del self._records[record_id]
        self._history_from = max(self._history_from, horizon)
        return len(gone)

    # --- changing -------------------------------------------------------------------------

    def prepare(
        self,
        changes: Sequence[Change],
        actor: Actor,
        policy: ChangePolicy,
        now: str,
        *,
        after: LayerCommit | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> LayerCommit:
        """Work out what a push does, without changing the layer.

        Every record a change would leave behind is validated first (``record_problem``:
        schema, kind, numbers, sizes; DESIGN §4.9), and a create past ``records_per_layer``
        is refused; such changes are ``rejected`` with the limit named.

        Args:
            changes: the push's changes, in order.
            actor: who pushes.
            policy: the permission check run on every change before it applies (§4.8).
            now: the commit time (ISO 8601), stored as ``created_at``/``updated_at``.
            after: a commit prepared earlier and not yet applied, to build on (group commit).
            limits: the limits records are checked against.
        """
        if after is not None and after.epoch != self.epoch:
            raise LocalProtocolError("prepare after a commit of another layer epoch")
        overlay: dict[RecordId, RecordState] = dict(after._overlay) if after else {}
        known: dict[str, ChangeResult] = dict(after._known) if after else {}
        seq = after.seq if after is not None else self.seq
        base_seq = seq
        results: list[ChangeResult] = []
        changed: dict[RecordId, RecordState] = {}
        previous: dict[RecordId, RecordState | None] = {}
        remembered: list[ChangeResult] = []
        records = self._records
        count = len(records) + sum(1 for rid in overlay if rid not in records)

        def current(record_id: RecordId) -> RecordState | None:
            state = overlay.get(record_id)
            return state if state is not None else records.get(record_id)

        for change in changes:
            seen = known.get(change.change_id) or self.known_result(change.change_id)
            if seen is not None and seen.author is not None and seen.author != (actor.user_id,):
                # §4.2: a change id is its author's; another user learns nothing from it.
                taken = f"change id {change.change_id} is taken: send the change with a new id"
                results.append(_rejected(change, None, taken))
                continue
            if seen is not None:  # §4.2: send the stored result again, apply nothing
                results.append(self._refresh(seen, _Chain(overlay, records)))
                continue
            before = current(change.record_id)
            if (
                before is None
                and isinstance(change, CreateChange)
                and count >= limits.records_per_layer
            ):
                full = f"the layer holds {count} records (at most {limits.records_per_layer})"
                result = _rejected(change, None, f"limit records_per_layer: {full}")
                results.append(dataclasses.replace(result, limit="records_per_layer"))
                continue
            result, new_state = _decide(change, before, actor, policy, now, seq + 1, limits)
            if new_state is not None:
                if before is None:
                    count += 1
                seq += 1  # §4.10: one per committed change
                overlay[new_state.id] = new_state
                if new_state.id not in previous:
                    previous[new_state.id] = before
                changed.pop(new_state.id, None)
                changed[new_state.id] = new_state
            if result.status != "rejected":
                result = dataclasses.replace(result, author=(actor.user_id,))
                known[change.change_id] = result
                remembered.append(result)
            results.append(result)

        # §5.1: the first commit of a layer copies the base in. Only one commit of a group
        # commit chain may do it, and never over a record the chain has already changed:
        # the store writes commits in order, so a later copy would undo an acked change.
        seeded: tuple[RecordState, ...] = ()
        base_seeded = after is not None and after._base_seeded
        if self._unpersisted_base and changed and not base_seeded:
            seeded = tuple(r for r in records.values() if r.id not in overlay)
            base_seeded = True
        return LayerCommit(
            epoch=self.epoch,
            base_seq=base_seq,
            seq=seq,
            results=tuple(results),
            records=tuple(changed.values()),
            previous=previous,
            remembered=tuple(remembered),
            seeded=seeded,
            _base_seeded=base_seeded,
            _overlay=overlay,
            _known=known,
        )

    def apply_prepared(self, commit: LayerCommit) -> None:
        """Make a prepared commit part of the layer, after the store committed it (§4.3).

        Raises:
            LocalProtocolError: the commit was prepared on another state of the layer (a
                commit applied out of order, or twice).
        """
        if commit.epoch != self.epoch or commit.base_seq != self.seq:
            raise LocalProtocolError(
                f"commit prepared at seq {commit.base_seq} of epoch {commit.epoch!r} cannot "
                f"apply to seq {self.seq} of epoch {self.epoch!r}"
            )
        # The layer keeps records (and the records of remembered results) compact: the
        # commit's own states, with their encodings cached, serve its fan-out and are then
        # dropped; a long-lived room stays a small multiple of its live JSON (issue 15).
        compacted: dict[int, RecordState] = {}
        for record in commit.records:
            self._records.pop(record.id, None)
            self._records[record.id] = compacted[id(record)] = record.compact()
        for result in commit.remembered:
            kept = result.record
            if kept is not None and kept.has_content:
                # Mostly the very state the layer keeps now: then one compact copy for both.
                kept = compacted.get(id(kept)) or kept.compact()
                result = dataclasses.replace(result, record_id=kept.id, record=kept)
            self._known[result.change_id] = result
        if commit.records:
            self._unpersisted_base = False
        self.seq = commit.seq

    def apply(
        self, changes: Sequence[Change], actor: Actor, policy: ChangePolicy, now: str
    ) -> LayerCommit:
        """Prepare and apply at once, for callers without a store (tests, in-memory servers)."""
        commit = self.prepare(changes, actor, policy, now)
        self.apply_prepared(commit)
        return commit

    @staticmethod
    def _refresh(
        known: ChangeResult, records: Mapping[RecordId, RecordState] | _Chain
    ) -> ChangeResult:
        # A result keeps the record as the change left it, so the client can tell which
        # rev its change made (§6.2); one read back from a store has no record: use today's.
        if known.record is not None or not known.record_id:
            return known
        return dataclasses.replace(known, record=records.get(known.record_id))


class _Chain:
    """Read an overlay first, then the layer's records."""

    def __init__(
        self, overlay: Mapping[RecordId, RecordState], base: Mapping[RecordId, RecordState]
    ) -> None:
        self._overlay = overlay
        self._base = base

    def get(self, key: RecordId) -> RecordState | None:
        state = self._overlay.get(key)
        return state if state is not None else self._base.get(key)


def _with(state: RecordState, **changes: Any) -> RecordState:
    return dataclasses.replace(state, **changes)


def _field_rev(state: RecordState, key: str) -> int:
    revs = state.field_revs
    if not revs:
        return state.rev  # unknown history: assume the field just changed (never hides one)
    return revs.get(key, 0)


def _rejected(change: Change, current: RecordState | None, reason: str) -> ChangeResult:
    return ChangeResult(change.change_id, change.record_id, "rejected", current, reason)


def _decide(
    change: Change,
    current: RecordState | None,
    actor: Actor,
    policy: ChangePolicy,
    now: str,
    seq: int,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[ChangeResult, RecordState | None]:
    """Return the result of one change and the record's new state (None: nothing changed)."""
    if isinstance(change, CreateChange):
        return _create(change, current, actor, policy, now, seq, limits)
    if current is None:
        return _rejected(change, None, f"record {change.record_id} does not exist"), None
    reason = policy.check(change, current, actor)  # §4.8
    if reason is not None:
        return _rejected(change, current, reason), None
    if current.deleted:  # §4.6: delete wins
        return ChangeResult(change.change_id, change.record_id, "deleted", current), None
    if isinstance(change, DeleteChange):  # §4.6: a delete applies whatever its base_rev
        rev = current.rev + 1
        tomb = _with(current, rev=rev, seq=seq, deleted=True, updated_at=now)
        return ChangeResult(change.change_id, change.record_id, "applied", tomb, made_rev=rev), tomb
    if change.base_rev > current.rev:
        # A base from the future would count every field as unchanged since and skip
        # conflict detection (§4.5).
        ahead = f"base_rev {change.base_rev} is ahead of the record's rev {current.rev}"
        return _rejected(change, current, ahead), None
    return _update(change, current, now, seq, limits)


def _refused(
    change: Change,
    current: RecordState | None,
    kind: str,
    content: Any,
    limits: Limits,
    encoded: str | None = None,
) -> ChangeResult | None:
    size = None if encoded is None else _utf8_size(encoded)
    problem = record_problem(kind, content, limits, encoded_size=size)
    if problem is None:
        return None
    result = _rejected(change, current, problem.reason)
    return result if problem.limit is None else dataclasses.replace(result, limit=problem.limit)


def _create(
    change: CreateChange,
    current: RecordState | None,
    actor: Actor,
    policy: ChangePolicy,
    now: str,
    seq: int,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[ChangeResult, RecordState | None]:
    content = change.content
    # Encoded once: for the size check here, then as the new state's content_text (its
    # wire text, the ack, the relay and the store row reuse it).
    encoded: str | None = dumps(content) if isinstance(content, Mapping) else None
    refused = _refused(change, current, change.kind, content, limits, encoded)
    if refused is not None:  # DESIGN §4.9: validated before anything else
        return refused, None
    given_id = content.get("id", _MISSING)
    if given_id is not _MISSING and given_id != change.record_id:
        mismatch = f"content id {given_id!r} differs from record id {change.record_id!r}"
        return _rejected(change, current, mismatch), None
    reason = policy.check(change, current, actor)  # §4.8
    if reason is not None:
        return _rejected(change, current, reason), None
    if current is not None and not current.deleted:  # §4.7
        return _rejected(change, current, f"record {change.record_id} already exists"), None
    rev = current.rev + 1 if current is not None else 1  # §4.7: a new life after a tombstone
    content = dict(content)
    if actor.creator_name is not None and "creatorName" not in content:
        content["creatorName"] = actor.creator_name
        encoded = None
    field_revs = dict.fromkeys(content, rev)
    field_revs[GROUP_FIELD] = rev
    state = RecordState(
        id=change.record_id,
        kind=change.kind,
        rev=rev,
        seq=seq,
        content=content,
        deleted=False,
        creator_id=actor.user_id,  # §2.3: set by the server, never by the client
        group=change.group if change.group is not None else actor.default_group,
        created_at=now,
        updated_at=now,
        field_revs=field_revs,
    )
    if encoded is not None:
        state = state.with_content_text(encoded)
    return ChangeResult(change.change_id, change.record_id, "applied", state, made_rev=rev), state


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _update(
    change: UpdateChange, current: RecordState, now: str, seq: int, limits: Limits = DEFAULT_LIMITS
) -> tuple[ChangeResult, RecordState | None]:
    old = current.content or {}
    base = change.base_rev
    for key in _PROTECTED_KEYS:
        if (key in change.set and change.set[key] != old.get(key, _MISSING)) or (
            key in change.unset and key in old
        ):
            return _rejected(change, current, f"content key {key!r} cannot change"), None
    new: dict[str, Any] | None = None
    touched: list[str] = []
    lost: dict[str, Any] = {}
    lost_unset: list[str] = []
    for key, value in change.set.items():  # §4.5: first come, first win, per field
        now_value = old.get(key, _MISSING)
        if now_value == value and now_value is not _MISSING:
            continue
        if _field_rev(current, key) > base:
            lost[key] = value
            continue
        if new is None:
            new = dict(old)
        new[key] = value
        touched.append(key)
    for key in change.unset:
        if key not in old:
            continue
        if _field_rev(current, key) > base:
            lost_unset.append(key)
            continue
        if new is None:
            new = dict(old)
        del new[key]
        touched.append(key)
    group: str | None = current.group
    lost_group = None
    if change.group is not None and change.group != current.group:
        if _field_rev(current, GROUP_FIELD) > base:
            lost_group = change.group
        else:
            group = change.group
            touched.append(GROUP_FIELD)
    conflict = bool(lost or lost_unset or lost_group is not None)
    status: Any = "conflict" if conflict else "applied"
    if not touched:
        result = ChangeResult(
            change.change_id,
            change.record_id,
            status,
            current,
            None,
            lost,
            tuple(lost_unset),
            lost_group,
        )
        return result, None
    encoded = None
    if new is not None:
        encoded = dumps(new)  # once: the size check, then the new state's content_text
        refused = _refused(change, current, current.kind, new, limits, encoded)
        if refused is not None:
            return refused, None
    elif "content_text" in current.__dict__:
        encoded = current.content_text  # the same content (a group change)
    rev = current.rev + 1
    field_revs = dict(current.field_revs) if current.field_revs else {}
    if not field_revs:
        # First tracked change of a record without history: everything else dates from now.
        field_revs = dict.fromkeys(old, current.rev)
        field_revs[GROUP_FIELD] = current.rev
    for key in touched:
        field_revs[key] = rev
    state = _with(
        current,
        rev=rev,
        seq=seq,
        content=new if new is not None else old,
        group=group,
        updated_at=now,
        field_revs=field_revs,
    )
    if encoded is not None:
        state = state.with_content_text(encoded)
    result = ChangeResult(
        change.change_id,
        change.record_id,
        status,
        state,
        None,
        lost,
        tuple(lost_unset),
        lost_group,
        made_rev=rev,
    )
    return result, state
