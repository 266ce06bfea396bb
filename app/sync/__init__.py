"""The Lamina sync protocol, as a sans-I/O state machine.

This docstring is the protocol spec. Code that enforces a rule cites its number (``# §4.2``).
The contract it implements is DESIGN.md §4; the wire format below is ours.

§1 Transport
    1.1 One WebSocket per open document replica, at path ``/sync`` on the server's port. Frames
        are UTF-8 JSON text, one message per frame, each an object with a ``"type"``.
        Compression is off on both ends (``compression=None``).
    1.2 A frame larger than ``MAX_FRAME_BYTES`` (4 MiB) closes the connection with 1009.
    1.3 Sessions are sans-I/O: ``receive_text(text)`` feeds one frame and returns the events
        (what happened, for the application); the caller then takes ``frames_to_send()``
        (text to write). Sessions never read a clock or a socket; time, when needed, is
        passed in (``ServerSession.receive_text(text, now=...)`` for §7.3).
    1.4 Errors are split by whose fault they are: ``RemoteProtocolError`` (the peer sent
        something bad: log it, answer ``error`` and close with the code of §7) and
        ``LocalProtocolError`` (our caller misused the session: a bug).
    1.5 The phases a connection goes through on each side, the steps between them and what
        may arrive in each are tables in ``lamina.sync.phases`` (its rules P1-P4); shells ask
        a session ``is_open`` and never compare phases themselves.

§2 Records
    2.1 A record is an annotation, comment, form field, form field value or bookmark in its
        Instant JSON form (``lamina.model.records``). Its ``kind`` is ``annotation``, ``comment``,
        ``form-field``, ``form-field-value`` or ``bookmark``.
    2.2 On the wire a record travels as a *record state*::

            {"id": "01J...", "kind": "annotation", "rev": 7, "seq": 42,
             "content": {...Instant JSON...} | null, "deleted": false,
             "creator_id": "alice" | null, "group": "students" | null,
             "created_at": "2026-11-22T10:00:00Z", "updated_at": "..."}

        ``rev`` counts the record's committed versions (1 on create). ``seq`` is the layer
        sequence number of its last change. A deleted record is a tombstone: ``deleted``
        true, ``content`` the last version before the delete (§4.6), sent only to clients
        that may view it.
    2.3 ``creator_id`` is the token's ``user_id`` of whoever created the record; it is set by
        the server and never by the client. ``group`` defaults to the token's
        ``default_group``.
    2.4 Records read from the PDF (the base layer) have ids equal to their ``pdfObjectId``
        and ``creator_id`` null.
    2.5 Every record a server accepts passes ``lamina.sync.validation.record_problem``: its
        content parses with the Instant JSON codec of its ``type``, the type belongs to its
        ``kind``, numbers are finite within ±2^53 (a frame with any other number is
        ``bad-message``), and strings, arrays, nesting, ink points and size stay within the
        server's ``Limits``; a change that breaks this is ``rejected`` (§4.4, with
        ``limit``). A client checks what it receives the same way (sizes aside) and skips
        a bad record.

§3 Handshake
    3.1 The client's first frame is ``hello``::

            {"type": "hello", "protocol": 1, "token": "<JWT>", "client_id": "<ULID>",
             "last_seq": 41 | null, "layer_epoch": "<str>" | null,
             "presence": {"name": "Ann", "color": "#RRGGBB"},
             "resume": {"seq": 40, "after": "01J..."}}

        ``resume`` is optional: the interrupted snapshot to continue (§3.8).

        ``client_id`` names the replica (stable across reconnects of one local store).
    3.2 The server verifies the token (``lamina.auth``); on failure it sends ``error`` and closes
        (§7). On success it sends ``welcome``::

            {"type": "welcome", "protocol": 1, "document_id": "...", "layer": "",
             "user_id": "...", "permissions": [...], "collaboration_permissions": [...]|null,
             "default_group": ..., "view_layers": [...],
             "document": {"sha256": "...", "size": 123, "page_count": 4},
             "layer_epoch": "<str>", "seq": 57}

        followed by exactly one catch-up message (§3.3), chosen by
        ``lamina.sync.server_session.catch_up_for``.
    3.3 Catch-up: if the client's ``layer_epoch`` equals the server's and the server still has
        every change after ``last_seq``, it sends ``changes`` with every record changed after
        ``last_seq`` (only the latest state of each record), ``"catch_up": true``. Otherwise
        it sends ``snapshot`` with every live record the token may view and ``seq``. A
        snapshot replaces the client's synced replica; pending local changes stay pending.
    3.4 ``layer_epoch`` changes when a layer's history is reset (the layer was deleted and
        re-created, or the store restored from an older backup). A client whose ``last_seq``
        is greater than the server's ``seq`` for the same epoch has seen a future the server
        has lost: the server is behind (restored from a backup). The client reports this to
        its user as ``ServerBehind`` and does not silently merge; it keeps its replica and
        outbox until the user decides (§6.6).
    3.5 The server never sends records before the room's state has loaded from the store,
        and answers ``hello`` only after it has.
    3.6 After the catch-up message the client sends its pending changes (§4), so sync is
        two-way in one cycle.
    3.7 Parts: a ``snapshot``, ``changes`` or ``ack`` larger than the server's
        ``chunk_bytes`` (1 MiB) goes as several frames of the same type and ``seq``, each
        but the last with ``"more": true``, one right after another; the receiver handles
        them as one message when the last arrives. So no reply outgrows a frame (§1.2).
        A catch-up that would name a record the connection may not view is sent as a
        snapshot instead (§3.3), so no id, kind or rev of such a record is ever sent.
        The server streams a snapshot's or catch-up's parts (and the PDF's chunks, §5.4) as
        the client reads them: the next part is written once the socket has taken the last
        one, and frames of later messages (relays, acks, presence) wait behind the stream,
        so a joiner of any layer is never dropped as too slow for its snapshot, and the
        server holds about one part per joiner, not its whole snapshot.
    3.8 Resume: a snapshot's records come in ascending ``id`` order (code point order).
        A client whose connection drops mid-snapshot may keep the records of the parts it
        received whole and, on reconnecting, add to its ``hello``
        ``"resume": {"seq": S, "after": "<id>"}``: S the interrupted snapshot's ``seq``,
        ``after`` the last record id of its last whole part, ``layer_epoch`` that
        snapshot's epoch. When the server still holds every change after S, and every
        record up to ``after`` changed since is one the connection may view, the catch-up
        is a *resumed* snapshot: ``snapshot`` (in parts, §3.7) with
        ``"resumed_after": "<id>"`` and the current ``seq``, whose records are, in id
        order, the latest state of each record up to ``after`` changed since S (a
        tombstone, ``deleted`` true, removes one) and then every live record after
        ``after``. The client keeps what it held, applies these records over it, and has
        the snapshot at the new ``seq``. Otherwise the server sends a whole snapshot (no
        ``resumed_after``), which replaces what the client held. A resumed snapshot can be
        interrupted and resumed again: its records are in id order too; the client's
        resume point is then the new snapshot's ``seq`` and last whole part's last id,
        once that id is past ``after`` (before that, it keeps the old point, which is
        still exact).

§4 Changes
    4.1 The client sends ``push``::

            {"type": "push", "changes": [
              {"change_id": "<ULID>", "op": "create", "record_id": "01J...",
               "kind": "annotation", "content": {...}, "group": null},
              {"change_id": "...", "op": "update", "record_id": "...", "base_rev": 3,
               "set": {"bbox": [...], "strokeColor": "#ff0000"}, "unset": ["note"]},
              {"change_id": "...", "op": "delete", "record_id": "...", "base_rev": 4}]}

        ``set``/``unset`` are top-level Instant JSON keys of ``content``; ``id`` and ``type``
        cannot change. A ``group`` key in an update changes the record's group (needs
        ``set-group`` for the destination group).
    4.2 Idempotence: the server remembers every applied ``change_id`` per layer with its
        result. A change seen before is not applied again; its stored result is sent again.
        Rejected changes are not remembered (nothing happened; a repeat is checked again).
        A repeated ``change_id`` within one push gets the first one's result.
    4.3 Durability: the server acknowledges a change only after the transaction that holds
        it has committed. It may commit several changes (from several clients) in one
        transaction (group commit). An acknowledged change survives ``kill -9``.
    4.4 ``ack`` answers one ``push``, in order, one result per change::

            {"type": "ack", "seq": 58, "results": [
              {"change_id": "...", "status": "applied", "record": <record state>},
              {"change_id": "...", "status": "conflict", "record": <record state>,
               "conflict": {"lost": {"strokeColor": "#00ff00"}, "lost_unset": []}},
              {"change_id": "...", "status": "deleted", "record": <tombstone>},
              {"change_id": "...", "status": "rejected", "reason": "...", "record": <state>|null}]}

        ``record`` is the record's committed state after the change, filtered by the
        client's view rights (null when it may not see it). Each result also carries
        ``record_id``, and ``made_rev`` (the ``rev`` the change produced) when it changed the
        record; a conflict on the group adds ``"lost_group"`` to ``conflict``.
    4.5 Per-field merge (first come, first win): an update with ``base_rev`` B changes each
        field in ``set``/``unset``. When a field was changed by a commit after B (the server
        tracks, per record, the rev at which each top-level field last changed) and the
        incoming value differs from the current one, the current value stays and the
        incoming one is returned in ``conflict.lost``. Every other field of the change is
        applied. The result is ``conflict`` if any field lost, else ``applied``. Fields whose
        value does not change are not touched. An update that changes nothing (all equal, or
        all lost) commits nothing: no new ``rev``, no ``seq``. ``id`` and ``type`` cannot
        change: such an update is ``rejected``. A record without per-field history (e.g.
        from the base layer) counts every field as changed at its current ``rev``.
    4.6 Delete wins: an update or delete of a tombstone gets ``deleted`` with the tombstone,
        whose ``content`` is the last live version; the client keeps the user's version in
        its conflict list so it can be re-applied as a new create. A delete always applies
        (if permitted), whatever its ``base_rev``.
    4.7 A create with an id that already exists live is ``rejected`` unless the change id is
        known (§4.2). Re-creating a tombstone's id is allowed (restoring a deleted record)
        and starts a new life at ``rev`` = tombstone rev + 1. A create whose content ``id``
        differs from its ``record_id`` is ``rejected``. When the token forces a
        ``creator_name`` and the content has no ``creatorName``, the server sets it.
    4.8 Permission checks (``lamina.auth``) run on every change before it is applied: the
        layer is the token's; ``create`` needs ``write``; ``update`` needs ``edit`` (and
        ``set-group`` for a group change), ``delete`` needs ``delete``, a comment reply needs
        ``reply`` on the thread's root; ``form-field-value`` updates need ``fill``. A change
        naming a creator other than the token's ``user_id`` (``creator_id`` in content or a
        ``creatorName`` other than the token's ``creator_name`` when that claim is set) is
        rejected. A rejected change is never relayed.
    4.9 After commit the server sends ``changes`` to every *other* connection on the layer
        (and to connections granted view of this layer, §5.3)::

            {"type": "changes", "seq": 58, "records": [<record state>...]}

        filtered per connection: a record the connection may not view is left out, and a
        record it could view before but not now is sent as a tombstone without content.
    4.10 Sequence numbers grow by one per committed change that changes a record, per
        layer; ``changes`` and ``ack`` carry the layer ``seq`` right after that push's
        commit (with group commit: after *that* push, not the whole transaction). A server
        sends to one connection in commit order (the ``changes`` of every earlier commit
        before a later ``ack``). A client stores the highest ``seq`` it has applied, and only
        moves it once every message up to it has been applied.

§5 Layers and documents
    5.1 A layer holds its own records. Until its first change, a layer mirrors the base layer
        (the PDF's own annotations); the first change copies the base records in (copy-on-
        write).
    5.2 A connection sees only its token's layer, never records of another layer.
    5.3 A token with the ``view_layers`` claim (a list of layer names, or ``["*"]`` for all)
        may additionally subscribe to those layers read-only with ``{"type": "view_layer",
        "layer": "..."}``; the server answers with ``snapshot`` carrying ``"layer"`` and then
        relays that layer's ``changes`` with ``"layer"`` set. Changes to them are rejected.
    5.4 The PDF travels over the same connection for tokens with ``read-document``:
        ``{"type": "get_document"}`` is answered by ``document_chunk`` messages
        ``{"type": "document_chunk", "sha256": "...", "index": 0, "count": 3,
        "data": "<base64 of at most 256 KiB>"}``; the client verifies the hash.
        ``{"type": "get_document", "with_layer": true, "flatten": false}`` asks instead for
        the PDF with the layer's records this token may view written into it (needs
        ``download``, else ``forbidden``); its chunks carry that PDF's own hash. Both keys
        are optional (read as JSON truth values), so the plain form stays valid.

§6 Client state
    6.1 The client applies its own changes to its view at once (optimistic) and queues them
        in a durable outbox, in order.
    6.2 At most one ``push`` is in flight; changes are sent in outbox order; a change leaves
        the outbox only when its ``ack`` result arrives. A push holds at most one change per
        record. An update's ``base_rev`` is the synced ``rev`` when it was made; when an
        ack says an earlier change of the record made ``rev`` R (``made_rev``), later
        changes with ``base_rev`` R-1 move to R (they saw everything before it, and R is
        their own). An edit of a record whose last outbox change was never sent is merged
        into it (same ``change_id``); a change sent once is never merged, since the server
        may already have applied it.
    6.3 The client's view is the synced replica with the pending changes replayed on top.
        Remote ``changes`` update the replica; pending changes are replayed over them.
    6.4 A ``conflict`` or ``deleted`` result puts the user's losing version in the conflict
        list (record id, mine, theirs, time); the user can re-apply it (a new change) or
        dismiss it. A ``rejected`` result is reported with its reason and the record returns
        to its committed state.
    6.5 ``ensure_changes_saved`` resolves when every change touching the given records has
        left the outbox, to the records' committed state at that time.
    6.6 On ``welcome`` the client checks §3.4 before anything else.

§7 Errors and closing
    7.1 ``{"type": "error", "code": "<code>", "message": "<one lowercase line>"}`` precedes
        every close the server initiates. Codes and WebSocket close codes:
        ``unauthorized`` (no/malformed token, bad signature, disallowed algorithm) 4401;
        ``token-expired`` (also not-yet-valid) 4403; ``forbidden`` (wrong document, revoked
        token, no ``read-document``) 4403; ``bad-message`` (malformed JSON, unknown type,
        message out of order) 4400; ``too-large`` 1009; ``rate-limited`` 4429;
        ``limit-exceeded`` 4413; ``server-error`` 1011; ``shutting-down`` 1001. For
        ``rate-limited`` and ``limit-exceeded`` the frame names the ``Limits`` field in
        ``"limit"``. The server closes a connection whose token passes ``exp`` (plus the
        leeway) with ``token-expired``.
    7.2 ``token-expired``, ``unauthorized`` and ``forbidden`` are final: the client stops
        retrying and tells the user to get a new invite. Other closes are retried with
        exponential backoff and jitter.
    7.3 A flood (more than ``Limits.messages_per_second`` frames per second sustained, a
        token bucket of the connection's own) is answered with ``rate-limited`` and a
        close; other clients are unaffected. Bytes,
        changes and joins per second are token buckets too, shared by every connection of
        one token (``Limits``), as are ``push_bytes``, ``changes_per_push``,
        ``presence_bytes`` and ``connections_per_token``. Past its byte or change budget a
        connection is first slowed down to it (the server reads its next frame only when
        the budget allows, ``ServerSession.take_throttle``), and refused with
        ``rate-limited`` only when that lasts longer than ``Limits.throttle_seconds``.

§8 Presence
    8.1 ``{"type": "presence", "state": {...}}`` from a client (name, color, page, cursor)
        is relayed to the other connections of the layer as ``{"type": "presence",
        "clients": [{"client_id", "user_id", "name", "color", "state"}...]}``. Presence is
        never stored and never touches records or sequence numbers. ``ServerSession`` keeps
        each connection's entry; ``PresenceRelay`` encodes a layer's list once for all.
"""

from lamina.sync.client_session import (
    ChangeRejected,
    ChangesAcked,
    ClientEvent,
    ClientSession,
    ClientState,
    Conflict,
    ConflictDetected,
    DocumentReceived,
    LayerRecordsChanged,
    PresenceChanged,
    RecordsChanged,
    ServerBehind,
    ServerError,
    Welcomed,
)
from lamina.sync.errors import LocalProtocolError, RemoteProtocolError, SyncError
from lamina.sync.form_fields import FormFields
from lamina.sync.layer import AllowAll, ChangePolicy, LayerCommit, LayerState
from lamina.sync.local_replica import LocalReplica
from lamina.sync.message_decoder import decode_message
from lamina.sync.messages import (
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    DocumentInfo,
    PresenceClient,
    Welcome,
    encode_message,
)
from lamina.sync.phases import ClientPhase, ServerPhase
from lamina.sync.server_session import (
    CatchUp,
    ChangesRelay,
    DocumentRequested,
    HelloReceived,
    PresenceReceived,
    PresenceRelay,
    PushReceived,
    ServerEvent,
    ServerSession,
    ViewLayerRequested,
    catch_up_for,
)
from lamina.sync.state import (
    Actor,
    Change,
    ChangeResult,
    CreateChange,
    DeleteChange,
    RecordState,
    UpdateChange,
)

__all__ = [
    "MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "Actor",
    "AllowAll",
    "CatchUp",
    "Change",
    "ChangePolicy",
    "ChangeRejected",
    "ChangeResult",
    "ChangesAcked",
    "ChangesRelay",
    "ClientEvent",
    "ClientPhase",
    "ClientSession",
    "ClientState",
    "Conflict",
    "ConflictDetected",
    "CreateChange",
    "DeleteChange",
    "DocumentInfo",
    "DocumentReceived",
    "DocumentRequested",
    "FormFields",
    "HelloReceived",
    "LayerCommit",
    "LayerRecordsChanged",
    "LayerState",
    "LocalProtocolError",
    "LocalReplica",
    "PresenceChanged",
    "PresenceClient",
    "PresenceReceived",
    "PresenceRelay",
    "PushReceived",
    "RecordState",
    "RecordsChanged",
    "RemoteProtocolError",
    "ServerBehind",
    "ServerError",
    "ServerEvent",
    "ServerPhase",
    "ServerSession",
    "SyncError",
    "UpdateChange",
    "ViewLayerRequested",
    "Welcome",
    "Welcomed",
    "catch_up_for",
    "decode_message",
    "encode_message",
]
