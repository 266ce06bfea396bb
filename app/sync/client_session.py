"""The client side of the sync protocol, sans I/O (§3, §4, §6).

The shell (``lamina.client``) owns the socket, the clock and the durable store. It restores a
:class:`ClientSession` from its saved :class:`ClientState`, writes :meth:`hello_frame` on each
connect, feeds every frame to :meth:`receive_text`, acts on the returned events, and writes
:meth:`frames_to_send`. Local edits go through :meth:`create`, :meth:`update` and
:meth:`delete`; they show in :meth:`view` at once (§6.1) and leave with :meth:`flush`.

Persisting: ``session.state`` is the live :class:`ClientState`. After a local edit, persist
the returned change (it may *replace* the outbox entry with the same ``change_id``: an edit of
an unsent change is coalesced into it); after an ack persist the outbox and the acked
records; after ``RecordsChanged`` persist those records and ``state.last_seq``.

The replica, the outbox and the view are :class:`~lamina.sync.local_replica.LocalReplica`'s
job (this class extends it with the connection); its values, and the events of
:mod:`lamina.sync.client_events`, are importable from here too.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

from lamina.model.ids import RecordId
from lamina.sync.client_events import (
    ChangeRejected,
    ChangesAcked,
    ClientEvent,
    ConflictDetected,
    DocumentReceived,
    LayerRecordsChanged,
    LayersListed,
    PresenceChanged,
    RecordsChanged,
    ServerBehind,
    ServerError,
    Welcomed,
)
from lamina.sync.errors import FINAL_CODES, RemoteProtocolError
from lamina.sync.local_replica import (
    MAX_PUSH_CHANGES,
    ClientState,
    Conflict,
    LocalReplica,
    new_change_id,
    replay_changes,
)
from lamina.sync.message_decoder import decode_message
from lamina.sync.messages import (
    Ack,
    Changes,
    DocumentChunk,
    Error,
    GetDocument,
    Hello,
    LayerList,
    ListLayers,
    Presence,
    PresenceList,
    Snapshot,
    UnviewLayer,
    ViewLayer,
    Welcome,
    encode_message,
)
from lamina.sync.phases import CLIENT_RULES, ClientPhase, PhaseMachine, Step
from lamina.sync.snapshot_intake import SnapshotIntake
from lamina.sync.state import Change, ChangeResult, CreateChange, RecordState
from lamina.sync.validation import RECEIVED_LIMITS, record_problem

__all__ = [
    "MAX_PUSH_CHANGES",
    "ChangeRejected",
    "ChangesAcked",
    "ClientEvent",
    "ClientSession",
    "ClientState",
    "Conflict",
    "ConflictDetected",
    "DocumentReceived",
    "LayerRecordsChanged",
    "LayersListed",
    "PresenceChanged",
    "RecordsChanged",
    "ServerBehind",
    "ServerError",
    "Welcomed",
    "replay_changes",
]


class ClientSession(LocalReplica):
    """The client's protocol state: replica, outbox and conflicts (from
    :class:`LocalReplica`) and the connection.

    Attributes:
        state: the persistent part (see :class:`ClientState`).
        welcome: the last ``welcome``.
        layers: records of other layers viewed read-only (§5.3), by layer name.
        paused: while True no ``push`` starts, not even the one the catch-up starts (§3.6):
            a client whose user saves by hand (autosave disabled) or is in the middle of an
            edit gesture holds its outbox. A push already in flight still gets its ack, and
            :meth:`flush` requests are kept: call :meth:`flush` after unpausing.
    """

    def __init__(self, state: ClientState) -> None:
        super().__init__(state)
        self._phases = PhaseMachine(CLIENT_RULES)
        self.welcome: Welcome | None = None
        self.layers: dict[str, dict[RecordId, RecordState]] = {}
        self.paused = False
        self._frames: list[str] = []
        self._in_flight: list[Change] = []
        self._want_flush = False
        self._held: list[Snapshot | Changes] = []
        self._parts: list[tuple[Any, Snapshot | Changes | Ack]] = []
        self.refused: list[tuple[RecordId, str]] = []
        """Records a server sent that failed validation (DESIGN §4.9) and were not taken in:
        (record id, reason), newest last, for the application to log."""
        self._chunks: list[bytes] = []
        self._chunk_sha: str | None = None
        self._intake: SnapshotIntake | None = None
        self._resume: SnapshotIntake | None = None
        """What an interrupted snapshot left (§3.8): the next ``hello`` resumes it."""

    @classmethod
    def new(cls, client_id: str | None = None) -> ClientSession:
        """Start a replica that has never synced."""
        return cls(ClientState(client_id or new_change_id()))

    # --- connection -----------------------------------------------------------------------

    @property
    def phase(self) -> ClientPhase:
        """Where the current connection is (P3 of :mod:`lamina.sync.phases`)."""
        return self._phases.phase

    @property
    def is_open(self) -> bool:
        """Whether the catch-up has arrived: pushes, presence and requests may go."""
        return self._phases.phase is ClientPhase.OPEN

    @property
    def is_behind(self) -> bool:
        """Whether the server lost changes this client saw and the session waits for
        :meth:`adopt_server_state` (§3.4)."""
        return self._phases.phase is ClientPhase.BEHIND

    def hello_frame(self, token: str, presence: Mapping[str, Any] | None = None) -> str:
        """Return the ``hello`` frame to write first on a new connection (§3.1).

        Raises:
            LocalProtocolError: a connection is already being made or open.
        """
        self._phases.advance(Step.HELLO, "hello_frame")
        self._in_flight = []
        self._chunks = []
        resume = self._resume
        hello = Hello(
            token=token,
            client_id=self.state.client_id,
            last_seq=self.state.last_seq,
            layer_epoch=self.state.layer_epoch if resume is None else resume.epoch,
            presence=dict(presence or {}),
            resume=None if resume is None else resume.point(),
        )
        return encode_message(hello)

    def connection_lost(self) -> None:
        """Forget the connection: unacked changes stay in the outbox and go again (§4.2)."""
        self._phases.advance(Step.LOST)
        self._in_flight = []
        self._frames = []
        self._held = []
        self._parts = []
        self._chunks = []
        self._chunk_sha = None
        self.layers.clear()
        intake, self._intake = self._intake, None
        if intake is not None:
            self._resume = intake.interrupted(self._resume)

    def frames_to_send(self) -> list[str]:
        """Return and forget the frames queued for the server, in order."""
        frames, self._frames = self._frames, []
        return frames

    @property
    def push_in_flight(self) -> bool:
        """Whether a ``push`` awaits its ``ack`` (§6.2)."""
        return bool(self._in_flight)

    def flush(self) -> None:
        """Send the outbox now: one push at a time until it is empty (§6.2).

        Without a connection, the outbox goes after the next catch-up (§3.6).
        """
        self._want_flush = True
        self._maybe_push()

    def presence_frame(self, state: Mapping[str, Any]) -> None:
        """Queue this client's presence (§8.1); dropped when not connected."""
        if self._phases.allows(Step.SEND):
            self._frames.append(encode_message(Presence(dict(state))))

    def request_document(self, *, with_layer: bool = False, flatten: bool = False) -> None:
        """Queue ``get_document`` (§5.4); :class:`DocumentReceived` follows.

        Args:
            with_layer: ask for the PDF with the layer's records this token may view written
                into it (the token needs ``download``), instead of the PDF as uploaded.
            flatten: with ``with_layer``, burn the records into the pages.

        Raises:
            LocalProtocolError: the connection is not open.
        """
        self._phases.advance(Step.SEND, "request_document")
        self._frames.append(encode_message(GetDocument(with_layer, flatten)))

    def view_layer(self, layer: str) -> None:
        """Ask to view another layer read-only (§5.3).

        Raises:
            LocalProtocolError: the connection is not open.
        """
        self._phases.advance(Step.SEND, "view_layer")
        self._frames.append(encode_message(ViewLayer(layer)))

    def list_layers(self) -> None:
        """Ask for the layers this token may view (§4.8); :class:`LayersListed` follows, and
        again whenever a layer is added.

        Raises:
            LocalProtocolError: the connection is not open.
        """
        self._phases.advance(Step.SEND, "list_layers")
        self._frames.append(encode_message(ListLayers()))

    def unview_layer(self, layer: str) -> None:
        """Stop viewing ``layer`` (§5.3): the server relays nothing more of it.

        Raises:
            LocalProtocolError: the connection is not open.
        """
        self._phases.advance(Step.SEND, "unview_layer")
        self._frames.append(encode_message(UnviewLayer(layer)))

    def adopt_server_state(self) -> list[ClientEvent]:
        """After :class:`ServerBehind`, accept the server's state and resume (§3.4, §6.6).

        The replica becomes the server's; the outbox stays and is sent.

        Raises:
            LocalProtocolError: the session is not waiting for this decision.
        """
        self._phases.advance(Step.ADOPT, "adopt_server_state")
        held, self._held = self._held, []
        events: list[ClientEvent] = []
        for msg in held:
            self._on_records(msg, events)
        return events

    # --- input ----------------------------------------------------------------------------

    def receive_text(self, text: str) -> list[ClientEvent]:
        """Feed one frame from the server and return what happened.

        Raises:
            RemoteProtocolError: the server broke the protocol (close and reconnect).
            LocalProtocolError: no connection is being made.
        """
        self._phases.require_receiving()
        msg = decode_message(text, from_client=False)
        self._phases.check_receive(msg.TYPE)  # P4
        events: list[ClientEvent] = []
        if isinstance(msg, Snapshot) and msg.layer is None and not self.is_behind:
            # §3.7/§3.8: this layer's snapshot is taken in part by part, shown as it comes.
            if self._parts:
                self._parts = []
                raise RemoteProtocolError("snapshot: a part of another message came between parts")
            self._take_snapshot_part(msg, events)
            return events
        if self._intake is not None:
            self._intake = None
            raise RemoteProtocolError(f"{msg.TYPE}: a part of another message came between parts")
        if isinstance(msg, Snapshot | Changes | Ack):
            whole = self._assemble(msg)
            if whole is None:
                return events
            msg = _valid_only(whole, self.refused)
        if isinstance(msg, Error):
            self._phases.advance(Step.ERROR)
            return [ServerError(msg.code, msg.message, msg.code in FINAL_CODES)]
        if isinstance(msg, Welcome):
            self._on_welcome(msg, events)
        elif isinstance(msg, Snapshot | Changes):
            self._on_records(msg, events)
        elif isinstance(msg, PresenceList):
            events.append(PresenceChanged(msg.clients))
        elif isinstance(msg, Ack):
            self._on_ack(msg, events)
        elif isinstance(msg, DocumentChunk):
            self._on_chunk(msg, events)
        elif isinstance(msg, LayerList):
            events.append(LayersListed(msg.layers))
        return events

    def _assemble(self, msg: Snapshot | Changes | Ack) -> Snapshot | Changes | Ack | None:
        # §3.7: parts of one message arrive in a row; hold them until the last one.
        key = (msg.TYPE, getattr(msg, "layer", None), getattr(msg, "catch_up", False), msg.seq)
        if self._parts and self._parts[0][0] != key:
            self._parts = []
            raise RemoteProtocolError(f"{msg.TYPE}: a part of another message came between parts")
        if msg.more:
            self._parts.append((key, msg))
            return None
        if not self._parts:
            return msg
        parts = [m for _, m in self._parts] + [msg]
        self._parts = []
        if isinstance(msg, Ack):
            results = tuple(r for m in parts if isinstance(m, Ack) for r in m.results)
            return dataclasses.replace(msg, results=results)
        records = tuple(r for m in parts if isinstance(m, Snapshot | Changes) for r in m.records)
        return dataclasses.replace(msg, records=records)

    def _on_welcome(self, welcome: Welcome, events: list[ClientEvent]) -> None:
        self.welcome = welcome
        events.append(Welcomed(welcome))
        last = self.state.last_seq
        # §6.6 / §3.4: check for a server that lost our future before merging anything.
        same_epoch = self.state.layer_epoch == welcome.layer_epoch
        if same_epoch and last is not None and last > welcome.seq:
            self._phases.advance(Step.BEHIND)
            events.append(ServerBehind(last, welcome.seq))
        else:
            self._phases.advance(Step.WELCOME)

    def _on_records(self, msg: Snapshot | Changes, events: list[ClientEvent]) -> None:
        if msg.layer is not None:
            self._on_other_layer(msg, events)
            return
        is_catch_up = isinstance(msg, Snapshot) or msg.catch_up
        if self.is_behind:
            if is_catch_up == bool(self._held):
                raise RemoteProtocolError(f"{msg.TYPE}: expected one catch-up first")
            self._held.append(msg)  # §3.4: do not merge until the user decides
            return
        awaited = self._phases.allows(Step.CATCH_UP)
        if is_catch_up != awaited:
            raise RemoteProtocolError(
                f"{msg.TYPE}: catch-up expected"
                if is_catch_up is False
                else f"{msg.TYPE}: a second catch-up"
            )
        if isinstance(msg, Snapshot):  # held while behind (§3.4), taken whole on adopt
            self._take_snapshot_part(msg, events)
            return
        applied = tuple(r for r in msg.records if self._store_synced(r))
        if applied:
            events.append(RecordsChanged(applied, "remote"))
        self._advance_seq(msg.seq)
        if awaited:
            self._catch_up_done()

    def _catch_up_done(self) -> None:
        assert self.welcome is not None
        self.state.layer_epoch = self.welcome.layer_epoch
        self._phases.advance(Step.CATCH_UP)
        self._want_flush = self._want_flush or bool(self.state.outbox)  # §3.6
        self._maybe_push()

    def _take_snapshot_part(self, msg: Snapshot, events: list[ClientEvent]) -> None:
        """Apply one part of this layer's snapshot to the replica at once (§3.3, §3.7, §3.8).

        Each part's records replace the replica's; when the last part is in, the records the
        snapshot did not name are removed and the replica is the snapshot at its ``seq``. A
        dropped connection leaves a resume point (:meth:`connection_lost`).
        """
        intake = self._intake
        if intake is None:
            if not self._phases.allows(Step.CATCH_UP):
                raise RemoteProtocolError("snapshot: a second catch-up")
            intake = self._intake = SnapshotIntake.start(msg, self._resume, self.welcome)
        elif msg.seq != intake.seq or msg.resumed_after != intake.after:
            self._intake = None
            raise RemoteProtocolError("snapshot: a part of another message came between parts")
        replica = self.state.replica
        kept = _valid_only(msg, self.refused).records
        changed: list[RecordState] = []
        for record in kept:
            if intake.after is not None and record.deleted and record.content is None:
                # §3.8: a tombstone in a resumed snapshot removes what we held.
                old = replica.pop(record.id, None)
                intake.seen.discard(record.id)
                if old is not None:
                    changed.append(old.hidden())
                continue
            replica[record.id] = record
            intake.seen.add(record.id)
            changed.append(record)
        if msg.records:
            intake.last_id = msg.records[-1].id
        if msg.more:
            if changed:
                events.append(RecordsChanged(tuple(changed), "remote"))
            return
        # §3.3: the snapshot replaces the synced replica; pending changes stay pending.
        seen = intake.seen
        gone = [rid for rid in replica if rid not in seen]
        for rid in gone:
            changed.append(replica.pop(rid).hidden())
        self._intake = None
        self._resume = None
        events.append(RecordsChanged(tuple(changed), "remote", snapshot=True))
        self.state.last_seq = msg.seq
        if self._phases.allows(Step.CATCH_UP):
            self._catch_up_done()

    def _on_other_layer(self, msg: Snapshot | Changes, events: list[ClientEvent]) -> None:
        if not self.is_open:
            raise RemoteProtocolError(f"{msg.TYPE}: layer records before the catch-up")
        assert msg.layer is not None
        if isinstance(msg, Snapshot):
            self.layers[msg.layer] = {r.id: r for r in msg.records}
            events.append(LayerRecordsChanged(msg.layer, msg.records, True))
            return
        records = self.layers.get(msg.layer)
        if records is None:
            raise RemoteProtocolError(f"changes: layer {msg.layer!r} was never snapshotted")
        for r in msg.records:
            if r.deleted and r.content is None:
                records.pop(r.id, None)
            else:
                records[r.id] = r
        events.append(LayerRecordsChanged(msg.layer, msg.records, False))

    def _store_synced(self, record: RecordState) -> bool:
        """Put a committed state in the replica unless it already holds a newer one."""
        replica = self.state.replica
        existing = replica.get(record.id)
        if existing is not None and existing.seq > record.seq:
            return False
        if record.deleted and record.content is None:
            # §4.9: no longer visible to us, or gone before we saw it.
            replica.pop(record.id, None)
        else:
            replica[record.id] = record
        return True

    def _advance_seq(self, seq: int) -> None:
        # §4.10: one connection delivers in seq order, so every message up to seq is applied.
        last = self.state.last_seq
        if last is None or seq > last:
            self.state.last_seq = seq

    def _on_ack(self, ack: Ack, events: list[ClientEvent]) -> None:
        flight = self._in_flight
        if not flight:
            raise RemoteProtocolError("ack: no push is waiting for one")
        if len(ack.results) != len(flight):
            raise RemoteProtocolError(
                f"ack.results: expected {len(flight)} results, got {len(ack.results)}"
            )
        for i, (change, result) in enumerate(zip(flight, ack.results, strict=True)):
            if result.change_id != change.change_id:
                raise RemoteProtocolError(
                    f"ack.results[{i}].change_id: expected {change.change_id!r}, "
                    f"got {result.change_id!r}"
                )
        self._in_flight = []
        synced: list[RecordState] = []
        for change, result in zip(flight, ack.results, strict=True):
            mine = self._users_version(change.record_id)
            self.state.outbox.remove(change.change_id)
            self.state.sent_change_ids.discard(change.change_id)
            if result.record is not None and self._store_synced(result.record):
                synced.append(result.record)
            if result.made_rev is not None:
                self.rebase(change.record_id, result.made_rev)
            if result.status in ("conflict", "deleted"):
                conflict = Conflict(
                    change_id=change.change_id,
                    record_id=change.record_id,
                    status=result.status,
                    mine=mine,
                    theirs=result.record,
                    lost=result.lost,
                    lost_unset=result.lost_unset,
                    lost_group=result.lost_group,
                    kind=self._kind_of(change, result),
                )
                self.state.conflicts.append(conflict)
                events.append(ConflictDetected(conflict))
            elif result.status == "rejected":
                events.append(
                    ChangeRejected(change.change_id, change.record_id, result.reason or "")
                )
        if synced:
            events.append(RecordsChanged(tuple(synced), "local"))
        events.append(ChangesAcked(ack.results))
        self._advance_seq(ack.seq)
        self._maybe_push()

    def _kind_of(self, change: Change, result: ChangeResult) -> str:
        if isinstance(change, CreateChange):
            return change.kind
        if result.record is not None:
            return result.record.kind
        known = self.state.replica.get(change.record_id)
        return known.kind if known is not None else "annotation"

    def _on_chunk(self, chunk: DocumentChunk, events: list[ClientEvent]) -> None:
        expected = len(self._chunks)
        if chunk.index != expected or (expected and chunk.sha256 != self._chunk_sha):
            self._chunks = []
            raise RemoteProtocolError(
                f"document_chunk.index: expected {expected}, got {chunk.index}"
            )
        try:
            piece = base64.b64decode(chunk.data, validate=True)
        except (binascii.Error, ValueError):
            raise RemoteProtocolError("document_chunk.data: not valid base64") from None
        self._chunk_sha = chunk.sha256
        self._chunks.append(piece)
        if chunk.index + 1 == chunk.count:
            data = b"".join(self._chunks)
            self._chunks = []
            digest = hashlib.sha256(data).hexdigest()
            if digest != chunk.sha256.lower():
                raise RemoteProtocolError(
                    f"document_chunk: sha256 mismatch (expected {chunk.sha256}, got {digest})"
                )
            events.append(DocumentReceived(data, digest))

    # --- pushing --------------------------------------------------------------------------

    def _maybe_push(self) -> None:
        if not self.is_open or self._in_flight or not self._want_flush or self.paused:
            return
        push = self.next_push()
        if push is None:
            self._want_flush = False
            return
        self._in_flight, frame = push
        self._frames.append(frame)


def _valid_only(msg: Snapshot | Changes | Ack, refused: list[tuple[RecordId, str]]) -> Any:
    """Return ``msg`` without the records that fail validation (DESIGN §4.9): a bad server
    or an old store must not crash the client, nor keep it from taking the rest."""
    if isinstance(msg, Ack):
        results = []
        for result in msg.results:
            record = result.record
            problem = (
                None
                if record is None
                else record_problem(record.kind, record.content, RECEIVED_LIMITS)
            )
            if problem is not None and record is not None:
                refused.append((record.id, problem.reason))
                result = dataclasses.replace(result, record=None)
            results.append(result)
        return dataclasses.replace(msg, results=tuple(results))
    kept = []
    for record in msg.records:
        problem = record_problem(record.kind, record.content, RECEIVED_LIMITS)
        if problem is None:
            kept.append(record)
        else:
            refused.append((record.id, problem.reason))
    del refused[:-100]
    if len(kept) == len(msg.records):
        return msg
    return dataclasses.replace(msg, records=tuple(kept))
