"""An open document: the offline-first replica the desktop app and scripts edit.

:class:`LaminaDocument` is the shell around the sans-I/O :class:`lamina.sync.ClientSession`
(as ``websockets``' asyncio layer is around its protocol object). It owns the WebSocket, the
clock (reconnect backoff) and the durable :class:`~lamina.client.store.LocalStore`:

- local edits apply to the view at once and reach the outbox in SQLite before the call
  returns (DESIGN §4 rule 6, sync §6.1), so a crash loses nothing that was acknowledged to
  the user;
- the connection reconnects with exponential backoff and jitter, resumes from the last
  sequence number and sends the outbox in order (sync §3.3, §3.6, §6.2); change ids make a
  resend harmless (§4.2);
- an expired or revoked token stops the retries (§7.2); a server restored from an old backup
  is reported and nothing is merged until :meth:`adopt_server_state` (§3.4);
- the user's losing versions go to :meth:`conflicts`, from where they can be re-applied
  (§6.4).
- other layers can be viewed read-only (:meth:`view_layer`, §5.3) and merged into an
  export; :meth:`record_flags` says what the token may do with a record (DESIGN §5).

Standalone documents (a local PDF, no server) use the same class: edits go to the same local
store, and :meth:`save` writes them into the PDF file atomically.

Everything runs on one asyncio event loop; subscriber callbacks run on it too.

Example::

    doc = await LaminaDocument.open_invite("lamina://join?server=...&token=...")
    edit = doc.create({"type": "pspdfkit/note", "pageIndex": 0, "bbox": [50, 50, 32, 32],
                       "text": {"format": "plain", "value": "check this"}})
    saved = await doc.ensure_changes_saved([edit.record_id])
    await doc.close()
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import websockets
from lamina.auth.errors import AuthError
from lamina.auth.invite import Invite, parse_invite_link
from lamina.auth.permissions import PermissionEvaluator, RecordMeta, RecordPermissions
from lamina.auth.tokens import ALL_LAYERS, PERMISSIONS, TokenClaims, claims_from_payload
from lamina.client.backend import PdfBackend
from lamina.client.backoff import Backoff
from lamina.client.errors import (
    AccessLostError,
    ChangeRejectedError,
    ClientError,
    DocumentClosedError,
    DocumentUnavailableError,
    LayerAccessError,
    ReadOnlyLayerError,
    ServerBehindError,
    StoreError,
)
from lamina.client.events import (
    ChangeRejected,
    Conflict,
    ConflictAdded,
    ConflictRemoved,
    ConnectionState,
    ConnectionStateChanged,
    DocumentSaved,
    Event,
    LayerRecordsChanged,
    Peer,
    PresenceChanged,
    RecordsChanged,
    ServerBehind,
    SyncStateChanged,
)
from lamina.client.port import AutosaveMode, LocalEdit, ReviewDocument
from lamina.client.store import (
    LocalStore,
    StoredConflict,
    default_store_dir,
    store_path_for,
)
from lamina.model.errors import InstantJsonError
from lamina.model.ids import RecordId, new_record_id
from lamina.model.instant_json import document_from_records, instant_json_to_dict
from lamina.model.records import Record, record_class_for_type, record_from_json, record_to_json
from lamina.sync import client_session as cs
from lamina.sync.errors import RemoteProtocolError, SyncError
from lamina.sync.messages import MAX_FRAME_BYTES
from lamina.sync.state import (
    Change,
    CreateChange,
    RecordState,
    UpdateChange,
    change_from_wire,
)
from websockets.asyncio.client import ClientConnection, connect

log = logging.getLogger("lamina.client")

Callback = Callable[[Event], None]


def decode_token_claims(token: str) -> dict[str, Any]:
    """Return a JWT's payload without verifying it (only the server can verify).

    The client reads ``document_id`` and ``layer`` to name its local store, and shows the
    rest; it trusts none of it.

    Raises:
        ClientError: the text is not a JWT.
    """
    try:
        payload = token.split(".")[1]
        value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise ClientError("the invite's token is not a jwt: copy the whole invite again") from exc
    if not isinstance(value, dict) or not isinstance(value.get("document_id"), str):
        raise ClientError("the invite's token names no document_id")
    return value


def sync_url(server_url: str) -> str:
    """Return the WebSocket address of the sync endpoint (``/sync``, sync §1.1)."""
    parts = urlsplit(server_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path if parts.path not in ("", "/") else "/sync"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _kind_of_content(content: Mapping[str, Any]) -> str:
    type_name = content.get("type")
    if not isinstance(type_name, str):
        raise ClientError("a record needs a type (e.g. pspdfkit/note)")
    return record_class_for_type(type_name).KIND


def _parse(content: Mapping[str, Any] | None) -> Record | None:
    if content is None:
        return None
    try:
        return record_from_json(dict(content))
    except InstantJsonError as exc:
        log.warning("record %s is not valid instant json: %s", content.get("id"), exc)
        return None


def _conflict_to_store(conflict: cs.Conflict, at: str) -> dict[str, Any]:
    return {
        "change_id": conflict.change_id,
        "record_id": conflict.record_id,
        "status": conflict.status,
        "mine": None if conflict.mine is None else dict(conflict.mine),
        "theirs": None if conflict.theirs is None else conflict.theirs.to_store(),
        "lost": dict(conflict.lost),
        "lost_unset": list(conflict.lost_unset),
        "lost_group": conflict.lost_group,
        "kind": conflict.kind,
        "at": at,
    }


def _conflict_from_store(value: Mapping[str, Any]) -> tuple[cs.Conflict, str]:
    theirs = value.get("theirs")
    return (
        cs.Conflict(
            change_id=value["change_id"],
            record_id=RecordId(value["record_id"]),
            status=value["status"],
            mine=value.get("mine"),
            theirs=None if theirs is None else RecordState.from_store(theirs),
            lost=value.get("lost", {}),
            lost_unset=tuple(value.get("lost_unset", ())),
            lost_group=value.get("lost_group"),
            kind=value.get("kind", "annotation"),
        ),
        str(value.get("at", "")),
    )


def _public_conflict(conflict: cs.Conflict, at: str) -> Conflict:
    theirs = conflict.theirs
    return Conflict(
        conflict_id=conflict.change_id,
        record_id=conflict.record_id,
        reason="deleted" if conflict.status == "deleted" else "conflict",
        mine=conflict.mine,
        theirs=None if theirs is None else theirs.content,
        lost=conflict.lost,
        lost_unset=conflict.lost_unset,
        at=at,
    )


@dataclass
class _SaveWaiter:
    record_ids: frozenset[str] | None  # None: every record
    future: asyncio.Future[list[Record | None]]


class LaminaDocument:
    """One open document replica. Build it with :meth:`open_invite`, :meth:`open_store` or
    :meth:`open_local`; end with :meth:`close`.

    Attributes:
        store: the local store.
        standalone: True for a local PDF with no server.
        pdf_path: the standalone PDF (None for a server document).
    """

    def __init__(
        self,
        store: LocalStore,
        *,
        server_url: str | None,
        token: str | None,
        pdf_backend: PdfBackend | None,
        autosave: AutosaveMode,
        backoff: Backoff,
        presence: Mapping[str, Any] | None,
        pdf_path: Path | None = None,
        password: str | None = None,
    ) -> None:
        self.store = store
        self.standalone = server_url is None
        self.server_url = server_url
        self.pdf_path = pdf_path
        self._token = token
        self._backend = pdf_backend
        self._password = password
        self.autosave = autosave
        self._backoff = backoff
        self._presence: dict[str, Any] = dict(presence or {})
        snap = store.load()
        client_id = snap.meta.get("client_id")
        state = cs.ClientState(
            client_id=client_id or str(new_record_id()),
            last_seq=snap.meta.get("last_seq"),
            layer_epoch=snap.meta.get("layer_epoch"),
            replica={RecordId(k): RecordState.from_store(v) for k, v in snap.records.items()},
            outbox=[change_from_wire(c, "outbox") for c in snap.outbox],
            sent_change_ids=set(snap.sent_change_ids),
        )
        self._conflict_times: dict[str, str] = {}
        for stored in snap.conflicts:
            conflict, at = _conflict_from_store(stored.value)
            state.conflicts.append(conflict)
            self._conflict_times[conflict.change_id] = at
        if client_id is None:
            with store.write() as w:
                w.set_meta("client_id", state.client_id)
        self.session = cs.ClientSession(state)
        # What the store holds, by identity, so each persist writes only what changed.
        self._saved_replica: dict[RecordId, RecordState] = dict(state.replica)
        self._saved_outbox: dict[str, Change] = {c.change_id: c for c in state.outbox}
        self._saved_sent: set[str] = set(state.sent_change_ids)
        self._saved_conflicts: set[str] = {c.change_id for c in state.conflicts}
        self._saved_seq = (state.last_seq, state.layer_epoch)
        self._view: dict[RecordId, dict[str, Any]] = self.session.view()
        self._parsed: dict[RecordId, Record | None] = {}
        self._subscribers: list[Callback] = []
        self._waiters: list[_SaveWaiter] = []
        self._gesture_depth = 0
        self._connection_state = ConnectionState.OFFLINE
        self._state_reason = ""
        self._stop_error: ClientError | None = None
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()
        self._doc_waiters: list[asyncio.Future[bytes]] = []
        self._doc_requested = False
        self._peers: tuple[Peer, ...] = ()
        self._save_task: asyncio.Task[None] | None = None
        self._save_again = False
        self._base_cache: dict[str, dict[str, Any]] | None = None
        self._server_behind = False
        self._saving = 0
        self._opened = False  # this connection reached the open phase
        # Other layers viewed read-only (§5.3): name -> their records (None until the first
        # snapshot), kept across reconnects so a view never goes blank while offline.
        self._layers: dict[str, dict[RecordId, Record] | None] = {}
        self._layer_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._claims: TokenClaims | None = None
        self._update_paused()

    # --- opening --------------------------------------------------------------------------

    @classmethod
    async def open_invite(
        cls,
        invite: Invite | str,
        *,
        store_dir: Path | None = None,
        pdf_backend: PdfBackend | None = None,
        presence: Mapping[str, Any] | None = None,
        autosave: AutosaveMode = AutosaveMode.IMMEDIATE,
        backoff: Backoff | None = None,
        connect: bool = True,
    ) -> LaminaDocument:
        """Open a server document from an invite (a ``lamina://join`` link or an Invite).

        Returns at once with whatever the local store holds (everything, for a document
        synced before); the connection is made in the background and retried with backoff.
        A new invite for the same document and layer replaces the stored token.

        Raises:
            InviteError: the link is not a valid invite.
            ClientError: the token names no document.
            StoreError: the local store cannot be opened.
        """
        if isinstance(invite, str):
            invite = parse_invite_link(invite)
        claims = decode_token_claims(invite.token)
        layer = claims.get("layer") or ""
        path = store_path_for(
            store_dir or default_store_dir(), invite.server_url, claims["document_id"], layer
        )
        store = LocalStore.open(path)
        with store.write() as w:
            w.set_meta("server_url", invite.server_url)
            w.set_meta("token", invite.token)
            w.set_meta("document_id", claims["document_id"])
            w.set_meta("layer", layer)
        doc = cls(
            store,
            server_url=invite.server_url,
            token=invite.token,
            pdf_backend=pdf_backend,
            autosave=autosave,
            backoff=backoff or Backoff(),
            presence=presence,
        )
        if connect:
            doc.connect()
        return doc

    @classmethod
    async def open_store(
        cls,
        path: Path,
        *,
        pdf_backend: PdfBackend | None = None,
        presence: Mapping[str, Any] | None = None,
        autosave: AutosaveMode = AutosaveMode.IMMEDIATE,
        backoff: Backoff | None = None,
        connect: bool = True,
    ) -> LaminaDocument:
        """Open a server document from its local store alone (server and token as stored).

        Raises:
            StoreError: the file is not a store of a server document.
        """
        if not path.exists():
            raise StoreError(f"no local store at {path}")
        store = LocalStore.open(path)
        server_url = store.meta("server_url")
        if server_url is None:
            store.close()
            raise StoreError(f"{path} is not the store of a server document")
        doc = cls(
            store,
            server_url=server_url,
            token=store.meta("token"),
            pdf_backend=pdf_backend,
            autosave=autosave,
            backoff=backoff or Backoff(),
            presence=presence,
        )
        if connect:
            doc.connect()
        return doc

    @classmethod
    async def open_local(
        cls,
        pdf_path: Path,
        *,
        pdf_backend: PdfBackend,
        store_dir: Path | None = None,
        password: str | None = None,
        autosave: AutosaveMode = AutosaveMode.DISABLED,
    ) -> LaminaDocument:
        """Open a local PDF with no server (a standalone document).

        The PDF's own annotations become the records; edits go to a local store (so they
        survive a crash before any save), and :meth:`save` writes them into the PDF. The
        default autosave mode is ``DISABLED`` (the file changes only on save).

        Raises:
            OSError: the file cannot be read.
            LaminaError: the PDF bridge cannot open it (its own clear error).
        """
        pdf_path = pdf_path.resolve()
        data_hash = await asyncio.to_thread(_file_sha256, pdf_path)
        path = store_path_for(store_dir or default_store_dir(), "local", str(pdf_path))
        store = LocalStore.open(path)
        saving = store.meta("saving")
        interrupted = isinstance(saving, dict) and saving.get("sha256") == data_hash
        if data_hash != store.meta("pdf_sha256") and not interrupted:
            # First open, or the file changed outside Lamina: it is the new original.
            base = await asyncio.to_thread(pdf_backend.read_base_records, pdf_path, password)
            states = [
                RecordState(
                    id=RecordId(str(r["id"])), kind=_kind_of_content(r), rev=1, seq=0, content=r
                )
                for r in base
            ]
            with store.write() as w:
                w.replace_records(s.to_store() for s in states)
                w.set_meta("base_records", base)
                w.set_meta("pdf_sha256", data_hash)
                w.set_meta("source", str(pdf_path))
                w.set_meta("backup", None)
        doc = cls(
            store,
            server_url=None,
            token=None,
            pdf_backend=pdf_backend,
            autosave=autosave,
            backoff=Backoff(),
            presence=None,
            pdf_path=pdf_path,
            password=password,
        )
        if interrupted:
            # The last save replaced the file but died before folding its changes.
            ids = set(saving["change_ids"])
            doc._fold_saved([c for c in doc.session.state.outbox if c.change_id in ids])
            with store.write() as w:
                w.set_meta("pdf_sha256", data_hash)
                w.set_meta("saving", None)
        return doc

    # --- reading --------------------------------------------------------------------------

    def records(self) -> list[Record]:
        """Return every record as the user sees it (synced state plus pending edits)."""
        out = []
        for rid in self._view:
            record = self.record(rid)
            if record is not None:
                out.append(record)
        return out

    def record(self, record_id: str) -> Record | None:
        """Return one record as the user sees it, or None when it does not exist."""
        rid = RecordId(record_id)
        if rid not in self._parsed:
            self._parsed[rid] = _parse(self._view.get(rid))
        return self._parsed[rid]

    def instant_json_records(self) -> dict[RecordId, dict[str, Any]]:
        """Return every record as the user sees it, as Instant JSON objects by id."""
        return {rid: dict(c) for rid, c in self._view.items()}

    @property
    def store_path(self) -> Path:
        """The local store file."""
        return self.store.path

    @property
    def pending_count(self) -> int:
        """How many changes are not saved yet ("N changes pending")."""
        return self.session.pending_count

    @property
    def connection_state(self) -> ConnectionState:
        return self._connection_state

    @property
    def connection_reason(self) -> str:
        """Why the connection is in its state (one lowercase line, may be empty)."""
        return self._state_reason

    @property
    def peers(self) -> tuple[Peer, ...]:
        """Other clients connected to the layer."""
        return self._peers

    @property
    def client_id(self) -> str:
        return self.session.state.client_id

    def conflicts(self) -> list[Conflict]:
        """Return the user's versions that lost, oldest first (sync §6.4)."""
        return [
            _public_conflict(c, self._conflict_times.get(c.change_id, ""))
            for c in self.session.state.conflicts
        ]

    # --- permissions ----------------------------------------------------------------------

    def claims(self) -> TokenClaims:
        """Return the token's claims, decoded without verifying (the server verifies).

        A standalone document has no token: its claims grant everything.

        Raises:
            ClientError: the stored token's claims are malformed.
        """
        if self._claims is None:
            if self._token is None:
                self._claims = TokenClaims(
                    document_id=str(self.pdf_path or ""), permissions=frozenset(PERMISSIONS), exp=0
                )
            else:
                try:
                    self._claims = claims_from_payload(decode_token_claims(self._token))
                except AuthError as exc:
                    raise ClientError(f"the invite's token is not usable: {exc}") from exc
        return self._claims

    def permissions(self) -> PermissionEvaluator:
        """Return the permission evaluator for the token (what the UI may offer, DESIGN §5).

        The server enforces the same rules; this only greys out what it would refuse.
        """
        return PermissionEvaluator(self.claims())

    def record_meta(self, record_id: str) -> RecordMeta:
        """Return what the permission rules need to know about a record of this layer.

        ``creator_id`` and ``group`` are the server's (sync §2.3). A record created here and
        not yet acknowledged has the token's ``user_id`` as creator and the group it was
        created with (the token's ``default_group`` unless given); a pending group change
        counts. A form field value or widget takes its form field's group (a value also its
        creator), as the server evaluates them.

        Raises:
            ReadOnlyLayerError: the record belongs to another layer being viewed.
            ClientError: no such record.
        """
        rid = RecordId(record_id)
        content = self._view.get(rid)
        if content is None:
            self._raise_if_other_layer(rid)
            raise ClientError(f"record {rid} does not exist")
        kind, creator_id, group = self._owner_of(rid)
        creator_name = content.get("creatorName")
        field = self._form_field_of(kind, content)
        if field is not None:
            _, field_creator, group = self._owner_of(field)
            if kind == "form-field-value":
                creator_id = field_creator
                field_name = self._view[field].get("creatorName")
                creator_name = field_name
        record_type = content.get("type")
        return RecordMeta(
            kind=kind,
            record_type=record_type if isinstance(record_type, str) else "",
            creator_id=creator_id,
            creator_name=creator_name if isinstance(creator_name, str) else None,
            group=group,
        )

    def record_flags(self, record_id: str) -> RecordPermissions:
        """Return what the UI may offer for a record (edit, delete, set group, reply, fill).

        A record of another layer viewed read-only gets every flag False.

        Raises:
            ClientError: no such record.
        """
        rid = RecordId(record_id)
        if rid not in self._view and self._layer_of(rid) is not None:
            return RecordPermissions(False, False, False, False, False)
        return self.permissions().record_flags(self.record_meta(rid))

    def _owner_of(self, rid: RecordId) -> tuple[str, str | None, str | None]:
        """Return ``(kind, creator_id, group)`` of a record in the view, pending edits included."""
        synced = self.session.state.replica.get(rid)
        kind = synced.kind if synced is not None else "annotation"
        creator_id = synced.creator_id if synced is not None and not synced.deleted else None
        group = synced.group if synced is not None and not synced.deleted else None
        claims = self.claims()
        for change in self.session.state.outbox:
            if change.record_id != rid:
                continue
            if isinstance(change, CreateChange):
                # Not acknowledged yet: the server will make the token's user the creator.
                kind = change.kind
                creator_id = claims.user_id
                group = change.group if change.group is not None else claims.default_group
            elif isinstance(change, UpdateChange) and change.group is not None:
                group = change.group
        return kind, creator_id, group

    def _form_field_of(self, kind: str, content: Mapping[str, Any]) -> RecordId | None:
        """Return the form field a value or widget inherits its group from, if in the view."""
        if kind == "form-field-value":
            name = content.get("name")
        elif kind == "annotation" and content.get("type") == "pspdfkit/widget":
            name = content.get("formFieldName")
        else:
            return None
        if not isinstance(name, str) or not name:
            return None
        for rid, other in self._view.items():
            if other.get("name") == name and self._owner_of(rid)[0] == "form-field":
                return rid
        return None

    # --- other layers, read-only (sync §5.3) -------------------------------------------------

    @property
    def layer(self) -> str:
        """This document's own layer (the token's ``layer``; ``""`` is the default layer)."""
        return self.claims().layer

    def available_layers(self) -> tuple[str, ...]:
        """Return the layers the token may view read-only, as its ``view_layers`` claim says.

        ``"*"`` means any layer: the protocol has no message that lists a document's layers,
        so the caller names them (the host knows them: ``lamina layers``) and passes each to
        :meth:`view_layer`. The server's ``welcome`` wins over the token once connected.
        """
        welcome = self.session.welcome
        if welcome is not None:
            return tuple(welcome.view_layers)
        return self.claims().view_layers

    def may_view_layer(self, name: str) -> bool:
        """Return whether :meth:`view_layer` may be asked for ``name``."""
        allowed = self.available_layers()
        return name != self.layer and (ALL_LAYERS in allowed or name in allowed)

    def viewed_layers(self) -> list[str]:
        """Return the other layers being viewed, in the order they were asked for."""
        return list(self._layers)

    async def view_layer(self, name: str) -> list[Record]:
        """Show another layer's records read-only; return them once they have arrived.

        The layer stays viewed (live: :class:`LayerRecordsChanged` reports each change, and
        it is asked again after a reconnect) until :meth:`hide_layer`. Offline, this waits
        for the connection.

        Raises:
            LayerAccessError: the token's ``view_layers`` claim does not allow ``name`` (the
                request is not sent: the server would close the connection), or ``name`` is
                this document's own layer, or the document is standalone.
            AccessLostError: the connection stopped for good meanwhile.
        """
        self._check_open()
        if self.standalone:
            raise LayerAccessError("a local pdf has no other layers to view")
        if name == self.layer:
            raise LayerAccessError(f"layer {name!r} is this document's own layer")
        if not self.may_view_layer(name):
            allowed = ", ".join(repr(n) for n in self.available_layers()) or "none"
            raise LayerAccessError(
                f"this invite may not view layer {name!r} (view_layers allows {allowed}); "
                "ask the host for an invite with view_layers"
            )
        if self._stop_error is not None:
            raise self._stop_error
        if self._layers.get(name) is not None:
            return self.layer_records(name)
        if name not in self._layers:
            self._layers[name] = None
            if self._opened and self.session.phase == "open":
                self.session.view_layer(name)
                self._kick.set()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._layer_waiters.setdefault(name, []).append(future)
        await future
        return self.layer_records(name)

    def layer_records(self, name: str) -> list[Record]:
        """Return the records of a layer being viewed (the last known ones while offline).

        Raises:
            LayerAccessError: the layer is not being viewed (:meth:`view_layer` first).
        """
        records = self._layers.get(name)
        if records is None:
            raise LayerAccessError(f"layer {name!r} is not being viewed: call view_layer first")
        return list(records.values())

    def hide_layer(self, name: str) -> None:
        """Stop showing another layer; its records are forgotten.

        The protocol has no unsubscribe: until the next reconnect the server still relays
        the layer's changes, and they are ignored.
        """
        self._layers.pop(name, None)
        for future in self._layer_waiters.pop(name, []):
            if not future.done():
                future.set_exception(LayerAccessError(f"layer {name!r} was hidden"))

    def _layer_of(self, rid: RecordId) -> str | None:
        for name, records in self._layers.items():
            if records is not None and rid in records:
                return name
        return None

    def _raise_if_other_layer(self, rid: RecordId) -> None:
        name = self._layer_of(rid)
        if name is not None:
            raise ReadOnlyLayerError(
                f"record {rid} is in layer {name!r}, which is only viewed here: it cannot "
                "be changed"
            )

    def _on_layer_records(self, event: cs.LayerRecordsChanged) -> None:
        if event.layer not in self._layers:
            return  # hidden meanwhile; the server relays until the next reconnect
        states = self.session.layers.get(event.layer, {})
        records: dict[RecordId, Record] = {}
        for rid, state in states.items():
            record = None if state.deleted else _parse(state.content)
            if record is not None:
                records[rid] = record
        self._layers[event.layer] = records
        for future in self._layer_waiters.pop(event.layer, []):
            if not future.done():
                future.set_result(None)
        self._emit(LayerRecordsChanged(event.layer, tuple(records.values())))

    # --- events ---------------------------------------------------------------------------

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback`` with every event from now on; returns the unsubscribe function."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: Event) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                # A broken subscriber must not break sync for the others.
                log.exception("event subscriber %r failed on %r", callback, event)

    # --- editing --------------------------------------------------------------------------

    def create(self, record: Record | Mapping[str, Any], *, group: str | None = None) -> LocalEdit:
        """Create a record (applied at once, saved per the autosave mode).

        ``record`` is a model record or its Instant JSON; without an id it gets a new ULID.

        Raises:
            ClientError: the record has no type, or its id exists already.
        """
        self._check_open()
        content = record_to_json(record) if isinstance(record, Record) else dict(record)
        kind = _kind_of_content(content)
        if not content.get("id") and kind != "form-field-value":
            content["id"] = new_record_id()
        try:
            change = self.session.create(kind, content, group)
        except SyncError as exc:
            raise ClientError(str(exc)) from exc
        return self._after_local(change, None)

    def update(
        self,
        record_id: str,
        set: Mapping[str, Any] | None = None,
        unset: Iterable[str] = (),
        *,
        group: str | None = None,
    ) -> LocalEdit:
        """Change top-level Instant JSON keys of a record (``set``) or remove them (``unset``).

        Raises:
            ReadOnlyLayerError: the record belongs to another layer, viewed read-only.
            ClientError: the record does not exist, or ``id``/``type`` would change.
        """
        self._check_open()
        set_ = dict(set or {})
        if any(k in ("id", "type") for k in (*set_, *unset)):
            raise ClientError("a record's id and type cannot change")
        if RecordId(record_id) not in self._view:
            self._raise_if_other_layer(RecordId(record_id))
        before = self.record(record_id)
        try:
            change = self.session.update(record_id, set_, unset, group)
        except SyncError as exc:
            raise ClientError(str(exc)) from exc
        return self._after_local(change, before)

    def replace(self, record: Record) -> LocalEdit:
        """Make a record equal to ``record`` (an update of exactly the keys that differ)."""
        current = self._view.get(record.id)
        if current is None:
            self._raise_if_other_layer(record.id)
            raise ClientError(f"record {record.id} does not exist")
        new = record_to_json(record)
        set_ = {k: v for k, v in new.items() if current.get(k) != v and k not in ("id", "type")}
        unset = [k for k in current if k not in new and k not in ("id", "type")]
        return self.update(record.id, set_, unset)

    def delete(self, record_id: str) -> LocalEdit:
        """Delete a record (applied at once, saved per the autosave mode).

        Raises:
            ReadOnlyLayerError: the record belongs to another layer, viewed read-only.
            ClientError: the record does not exist.
        """
        self._check_open()
        if RecordId(record_id) not in self._view:
            self._raise_if_other_layer(RecordId(record_id))
        before = self.record(record_id)
        try:
            change = self.session.delete(record_id)
        except SyncError as exc:
            raise ClientError(str(exc)) from exc
        return self._after_local(change, before)

    def _after_local(self, change: Change, before: Record | None) -> LocalEdit:
        # The outbox reaches SQLite before the caller hears of the change (§6.1).
        self._persist()
        rid = change.record_id
        self._refresh_view([rid], origin="local")
        self._emit(SyncStateChanged(self.pending_count))
        if self.autosave is AutosaveMode.IMMEDIATE or (
            self.autosave is AutosaveMode.INTELLIGENT and self._gesture_depth == 0
        ):
            self._flush()
        return LocalEdit(change.change_id, rid, before, self.record(rid))

    @contextlib.contextmanager
    def gesture(self) -> Iterator[None]:
        """Group edits into one gesture (a drag, a stroke, typing a note).

        With autosave ``INTELLIGENT`` the changes are saved when the outermost gesture ends.
        """
        self.begin_gesture()
        try:
            yield
        finally:
            self.end_gesture()

    def begin_gesture(self) -> None:
        """Start an edit gesture (see :meth:`gesture`)."""
        self._gesture_depth += 1
        self._update_paused()

    def end_gesture(self) -> None:
        """End an edit gesture; with ``INTELLIGENT`` autosave, save its changes."""
        self._gesture_depth = max(0, self._gesture_depth - 1)
        self._update_paused()
        if self._gesture_depth == 0 and self.autosave is AutosaveMode.INTELLIGENT:
            self._flush()

    def set_autosave(self, mode: AutosaveMode) -> None:
        """Change the autosave mode; switching to ``IMMEDIATE`` saves what is pending."""
        self.autosave = mode
        self._update_paused()
        if mode is AutosaveMode.IMMEDIATE and self.pending_count:
            self._flush()

    def _update_paused(self) -> None:
        """Hold the outbox while the mode says nothing may be sent yet.

        ``DISABLED`` sends only during :meth:`save` (not even after a reconnect, which
        would otherwise send the outbox, sync §3.6); ``INTELLIGENT`` holds it during a
        gesture, so a drag goes as one change when it ends.
        """
        mode = self.autosave
        self.session.paused = self._saving == 0 and (
            mode is AutosaveMode.DISABLED
            or (mode is AutosaveMode.INTELLIGENT and self._gesture_depth > 0)
        )

    # --- conflicts ------------------------------------------------------------------------

    def reapply_conflict(self, conflict_id: str) -> LocalEdit:
        """Apply the user's version from the conflict list again, as a new change.

        A lost field update is set again; a record deleted meanwhile is created again with the
        user's version (sync §4.7).

        Raises:
            ClientError: no such conflict, or nothing left to re-apply.
        """
        self._check_open()
        found = [c for c in self.session.state.conflicts if c.change_id == conflict_id]
        if not found:
            raise ClientError(f"no conflict {conflict_id}")
        before = self.record(found[0].record_id)
        try:
            change = self.session.reapply_conflict(conflict_id)
        except SyncError as exc:
            raise ClientError(str(exc)) from exc
        self._conflict_times.pop(conflict_id, None)
        edit = self._after_local(change, before)
        self._emit(ConflictRemoved(conflict_id))
        return edit

    def dismiss_conflict(self, conflict_id: str) -> None:
        """Remove an entry from the conflict list without applying it."""
        self._check_open()
        self.session.dismiss_conflict(conflict_id)
        self._conflict_times.pop(conflict_id, None)
        self._persist()
        self._emit(ConflictRemoved(conflict_id))

    # --- saving ---------------------------------------------------------------------------

    async def ensure_changes_saved(self, record_ids: Iterable[str]) -> list[Record | None]:
        """Wait until every change to these records is saved; return their saved versions.

        Edits made after the call are waited for too. The result lists each record's
        committed version in the given order (None for a deleted record). With autosave
        ``DISABLED`` nothing is saved until :meth:`save`.

        Raises:
            ChangeRejectedError: the server rejected a change to one of these records.
            AccessLostError: the token was refused; nothing more will be saved.
        """
        ids = [str(r) for r in record_ids]
        return await self._wait_saved(frozenset(ids), ids)

    async def _wait_saved(
        self, ids: frozenset[str] | None, order: list[str]
    ) -> list[Record | None]:
        self._check_open()
        if self._stop_error is not None and self.session.has_pending(ids):
            raise self._stop_error
        future: asyncio.Future[list[Record | None]] = asyncio.get_running_loop().create_future()
        waiter = _SaveWaiter(ids, future)
        self._waiters.append(waiter)
        self._check_waiters()
        try:
            await future
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return [self.record(r) for r in order]

    def _check_waiters(self) -> None:
        for waiter in list(self._waiters):
            if waiter.future.done():
                self._waiters.remove(waiter)
            elif not self.session.has_pending(waiter.record_ids):
                waiter.future.set_result([])
                self._waiters.remove(waiter)

    def _fail_waiters(self, error: Exception, record_id: str | None = None) -> None:
        for waiter in list(self._waiters):
            wanted = waiter.record_ids
            if record_id is None or wanted is None or record_id in wanted:
                if not waiter.future.done():
                    waiter.future.set_exception(error)
                self._waiters.remove(waiter)

    async def save(self) -> None:
        """Save every pending change now and wait until it is saved.

        A server document sends its outbox and waits for the acknowledgements (offline, this
        waits for the connection). A standalone document writes its annotations into the PDF
        file atomically, keeping a backup of the original on the first save.

        Raises:
            ChangeRejectedError: the server rejected a pending change.
            AccessLostError: the token was refused.
            LaminaError: the PDF could not be written (the file is unchanged).
        """
        self._check_open()
        if self.standalone:
            await self._save_standalone()
            return
        self._saving += 1
        self._update_paused()
        try:
            self._flush()
            await self._wait_saved(None, [])
        finally:
            self._saving -= 1
            self._update_paused()

    def _flush(self) -> None:
        if self.standalone:
            self._schedule_standalone_save()
            return
        self.session.flush()
        self._kick.set()

    # --- export ---------------------------------------------------------------------------

    def export_instant_json(self, layers: Iterable[str] = ()) -> dict[str, Any]:
        """Return what the user sees as an Instant JSON diff against the original PDF.

        New records have no ``pdfObjectId``; changed originals keep theirs and are listed in
        ``skippedPdfObjectIds``, as are deleted originals (DESIGN §3).

        ``layers`` adds the records other layers (being viewed, :meth:`view_layer`) made
        themselves: the PDF's original annotations always come from this document's own
        layer, so another layer's change or delete of an original is not merged, and a record
        id already exported is not exported twice.

        Raises:
            LayerAccessError: a named layer is not being viewed.
        """
        extra = self._layer_additions(layers)
        base = self._base_records()
        records: list[Record] = []
        skipped: set[int] = set()
        for rid, content in self._view.items():
            oid = content.get("pdfObjectId")
            original = base.get(rid)
            if isinstance(oid, int) and original is not None and original == content:
                continue
            record = self.record(rid)
            if record is None:
                continue
            if isinstance(oid, int):
                skipped.add(oid)
            records.append(record)
        for base_id, original in base.items():
            oid = original.get("pdfObjectId")
            if base_id not in self._view and isinstance(oid, int):
                skipped.add(oid)
        taken = {r.id for r in records} | set(base)
        for record in extra:
            if record.id not in taken:
                taken.add(record.id)
                records.append(record)
        return instant_json_to_dict(document_from_records(records, skipped_pdf_object_ids=skipped))

    async def export_pdf(
        self, out_path: Path, *, flatten: bool = False, layers: Iterable[str] = ()
    ) -> None:
        """Write the PDF with what the user sees as standard annotations to ``out_path``.

        ``flatten`` burns them into the pages. ``layers`` merges in the records of other
        layers being viewed (see :meth:`export_instant_json` for what is merged). The file
        appears complete or not at all.

        Raises:
            ClientError: no PDF backend was given.
            LayerAccessError: a named layer is not being viewed.
            DocumentUnavailableError: the PDF is not downloaded yet and the server is away.
        """
        backend = self._require_backend()
        diff = self.export_instant_json(layers)
        with self._original_pdf() as source:
            await asyncio.to_thread(
                _write_atomically,
                lambda tmp: backend.write_pdf(
                    source, diff, tmp, flatten=flatten, password=self._password
                ),
                out_path,
            )

    def _layer_additions(self, layers: Iterable[str]) -> list[Record]:
        """Return the records the named viewed layers made (not the PDF's originals)."""
        out: list[Record] = []
        for name in layers:
            if name == self.layer:
                continue
            for record in self.layer_records(name):
                out.append(record)
        return out

    def _require_backend(self) -> PdfBackend:
        if self._backend is None:
            raise ClientError("no pdf backend: pass pdf_backend= when opening the document")
        return self._backend

    @contextlib.contextmanager
    def _original_pdf(self) -> Iterator[Path]:
        if self.standalone:
            yield Path(self.store.meta("source"))
            return
        cached = self.store.document()
        if cached is None:
            raise DocumentUnavailableError(
                "the pdf is not downloaded yet; connect to the server once"
            )
        with tempfile.TemporaryDirectory(prefix="lamina-") as tmp:
            path = Path(tmp) / "document.pdf"
            path.write_bytes(cached[0])
            yield path

    def _base_records(self) -> dict[str, dict[str, Any]]:
        if self._base_cache is not None:
            return self._base_cache
        if self.standalone:
            base = self.store.meta("base_records") or []
        elif self._backend is not None and self.store.document() is not None:
            with self._original_pdf() as source:
                base = self._backend.read_base_records(source, self._password)
        else:
            return {}
        self._base_cache = {str(r["id"]): r for r in base}
        return self._base_cache

    async def pdf_bytes(self) -> bytes:
        """Return the PDF: the cached copy, or wait for its download.

        Raises:
            DocumentUnavailableError: not cached and the connection stopped for good.
        """
        self._check_open()
        if self.standalone:
            assert self.pdf_path is not None
            return await asyncio.to_thread(self.pdf_path.read_bytes)
        cached = self.store.document()
        if cached is not None:
            return cached[0]
        if self._connection_state is ConnectionState.STOPPED:
            raise DocumentUnavailableError(f"the pdf is not cached: {self._state_reason}")
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._doc_waiters.append(future)
        self._kick.set()
        return await future

    # --- presence -------------------------------------------------------------------------

    def set_presence(self, state: Mapping[str, Any]) -> None:
        """Tell the others who this user is and where (name, color, page, cursor)."""
        self._presence = dict(state)
        self.session.presence_frame(self._presence)
        self._kick.set()

    # --- connection -----------------------------------------------------------------------

    def connect(self) -> None:
        """Start (or restart, after a stop) connecting in the background."""
        self._check_open()
        if self.standalone or (self._task is not None and not self._task.done()):
            return
        self._stop_error = None
        self._task = asyncio.get_running_loop().create_task(self._run(), name="lamina-sync")

    async def disconnect(self) -> None:
        """Stop syncing and stay offline; edits continue to the local store."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_state(ConnectionState.OFFLINE, "disconnected by the user")

    async def wait_for_state(self, state: ConnectionState) -> None:
        """Wait until the connection is in ``state``."""
        if self._connection_state is state:
            return
        seen = asyncio.Event()

        def on_event(event: Event) -> None:
            if isinstance(event, ConnectionStateChanged) and event.state is state:
                seen.set()

        unsubscribe = self.subscribe(on_event)
        try:
            await seen.wait()
        finally:
            unsubscribe()

    def adopt_server_state(self) -> None:
        """After :class:`ServerBehind`: take the server's state and send the outbox again.

        The server's records replace the replica; the user's pending changes stay and are
        sent. Without this call nothing is merged.

        Raises:
            ServerBehindError: the server is not behind (nothing to adopt).
        """
        self._check_open()
        if self.session.phase == "behind":
            self._server_behind = False
            events = self.session.adopt_server_state()
            self._after_events(events)
            if self.session.phase == "open":
                self._on_open()
            self._kick.set()
            return
        if not self._server_behind:
            raise ServerBehindError("the server is not behind: there is nothing to adopt")
        # The connection dropped meanwhile: forget our position so that the next hello gets
        # a snapshot, which replaces the replica and keeps the outbox (sync §3.3).
        state = self.session.state
        state.last_seq = None
        state.layer_epoch = None
        self._persist()
        self._server_behind = False
        self.connect()

    def _set_state(self, state: ConnectionState, reason: str = "") -> None:
        if (state, reason) == (self._connection_state, self._state_reason):
            return
        self._connection_state = state
        self._state_reason = reason
        self._emit(ConnectionStateChanged(state, reason))

    async def _run(self) -> None:
        attempt = 0
        url = sync_url(self.server_url or "")
        while not self._closed:
            self._set_state(
                ConnectionState.CONNECTING if attempt == 0 else ConnectionState.RECONNECTING,
                "" if attempt == 0 else self._state_reason,
            )
            reason = "connection lost"
            try:
                async with connect(
                    url,
                    compression=None,
                    max_size=MAX_FRAME_BYTES,
                    open_timeout=10,
                    ping_interval=20,
                    ping_timeout=20,
                ) as ws:
                    reached_open = await self._serve_connection(ws)
                    if reached_open:
                        attempt = 0
            except AccessLostError as exc:
                self._stop(exc)
                return
            except RemoteProtocolError as exc:
                log.warning("server broke the protocol: %s", exc)
                reason = f"server sent a bad message: {exc}"
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
                reason = f"cannot reach {self.server_url}: {exc}" if attempt else str(exc)
                reason = f"server unreachable ({type(exc).__name__})"
            finally:
                self.session.connection_lost()
                self._doc_requested = False
                self._opened = False
                if self._peers:
                    self._peers = ()
                    self._emit(PresenceChanged(()))
            if self._closed or self._connection_state is ConnectionState.STOPPED:
                return
            self._set_state(ConnectionState.RECONNECTING, reason)
            await asyncio.sleep(self._backoff.delay(attempt))
            attempt += 1

    def _stop(self, error: ClientError) -> None:
        self._stop_error = error
        self._set_state(ConnectionState.STOPPED, str(error))
        self._fail_waiters(error)
        for future in self._doc_waiters:
            if not future.done():
                future.set_exception(DocumentUnavailableError(str(error)))
        self._doc_waiters.clear()
        for waiters in self._layer_waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)
        self._layer_waiters.clear()

    async def _serve_connection(self, ws: ClientConnection) -> bool:
        """Run one connection until it closes; return whether it reached the open phase."""
        await ws.send(self.session.hello_frame(self._token or "", self._presence))
        sender = asyncio.get_running_loop().create_task(self._send_loop(ws))
        reached_open = False
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    message = message.decode("utf-8", errors="replace")
                events = self.session.receive_text(message)
                self._after_events(events)
                if self.session.phase == "open":
                    reached_open = True
                    self._on_open()
                self._kick.set()
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        return reached_open

    async def _send_loop(self, ws: ClientConnection) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            frames = self.session.frames_to_send()
            if not frames:
                continue
            # Changes marked sent are never merged with later edits; that mark must be
            # durable before the server can possibly apply them (§4.2).
            self._persist()
            for frame in frames:
                await ws.send(frame)

    def _on_open(self) -> None:
        """The connection is caught up: say so, fetch the PDF, ask again for viewed layers."""
        if self._connection_state is not ConnectionState.ONLINE:
            self._set_state(ConnectionState.ONLINE)
        self._maybe_request_document()
        if not self._opened:
            self._opened = True
            for name in self._layers:
                self.session.view_layer(name)

    def _maybe_request_document(self) -> None:
        welcome = self.session.welcome
        if self._doc_requested or welcome is None or welcome.document is None:
            return
        cached = self.store.document()
        if cached is not None and cached[1] == welcome.document.sha256:
            return
        if "read-document" not in welcome.permissions:
            return
        self._doc_requested = True
        self.session.request_document()

    def _after_events(self, events: list[cs.ClientEvent]) -> None:
        """Persist what a frame changed, then tell subscribers."""
        for event in events:
            if isinstance(event, cs.DocumentReceived):
                with self.store.write() as w:
                    w.put_document(event.data, event.sha256)
                self._base_cache = None
                for future in self._doc_waiters:
                    if not future.done():
                        future.set_result(event.data)
                self._doc_waiters.clear()
            elif isinstance(event, cs.ConflictDetected):
                self._conflict_times[event.conflict.change_id] = _now()
        self._persist()
        touched: set[RecordId] = set()
        snapshot = False
        for event in events:
            if isinstance(event, cs.RecordsChanged):
                touched.update(r.id for r in event.records)
                snapshot = snapshot or event.snapshot
            elif isinstance(event, cs.ChangesAcked):
                touched.update(r.record_id for r in event.results)
        if snapshot:
            touched.update(self._view)
            touched.update(self.session.state.replica)
        if touched:
            self._refresh_view(touched, origin="remote")
        for event in events:
            if isinstance(event, cs.ConflictDetected):
                at = self._conflict_times.get(event.conflict.change_id, "")
                self._emit(ConflictAdded(_public_conflict(event.conflict, at)))
            elif isinstance(event, cs.ChangeRejected):
                self._emit(ChangeRejected(event.change_id, event.record_id, event.reason))
                self._fail_waiters(
                    ChangeRejectedError(event.change_id, event.record_id, event.reason),
                    event.record_id,
                )
            elif isinstance(event, cs.PresenceChanged):
                self._peers = tuple(
                    Peer(c.client_id, c.user_id, c.name or "", c.color or "", c.state)
                    for c in event.clients
                    if c.client_id != self.client_id
                )
                self._emit(PresenceChanged(self._peers))
            elif isinstance(event, cs.ServerBehind):
                message = (
                    f"the server has seq {event.server_seq} but this copy saw "
                    f"{event.client_seq}: it was restored from an older backup; nothing was "
                    "merged"
                )
                self._server_behind = True
                self._emit(ServerBehind(event.client_seq, event.server_seq, message))
                self._set_state(ConnectionState.STOPPED, message)
            elif isinstance(event, cs.ServerError):
                if event.final:
                    raise AccessLostError(event.code, event.message)
                self._state_reason = f"server closed: {event.code}: {event.message}"
            elif isinstance(event, cs.ChangesAcked):
                self._emit(SyncStateChanged(self.pending_count))
            elif isinstance(event, cs.LayerRecordsChanged):
                self._on_layer_records(event)
        self._check_waiters()

    def _refresh_view(self, record_ids: Iterable[RecordId], origin: str) -> None:
        changed: list[Record] = []
        deleted: list[RecordId] = []
        for rid in record_ids:
            new = self.session.view_record(rid)
            old = self._view.get(rid)
            if new == old:
                continue
            self._parsed.pop(rid, None)
            if new is None:
                self._view.pop(rid, None)
                deleted.append(rid)
            else:
                self._view[rid] = new
                record = self.record(rid)
                if record is not None:
                    changed.append(record)
        if changed or deleted:
            self._emit(
                RecordsChanged(
                    tuple(changed), tuple(deleted), "local" if origin == "local" else "remote"
                )
            )

    # --- persistence ----------------------------------------------------------------------

    def _persist(self) -> None:
        """Write to the store whatever the session changed since the last persist."""
        state = self.session.state
        replica, outbox = state.replica, state.outbox
        put = [r for rid, r in replica.items() if self._saved_replica.get(rid) is not r]
        gone = [rid for rid in self._saved_replica if rid not in replica]
        changed = [c for c in outbox if self._saved_outbox.get(c.change_id) is not c]
        ids_now = {c.change_id for c in outbox}
        acked = [cid for cid in self._saved_outbox if cid not in ids_now]
        sent = (state.sent_change_ids & ids_now) - self._saved_sent
        conflicts_now = {c.change_id: c for c in state.conflicts}
        new_conflicts = [c for cid, c in conflicts_now.items() if cid not in self._saved_conflicts]
        old_conflicts = [cid for cid in self._saved_conflicts if cid not in conflicts_now]
        seq = (state.last_seq, state.layer_epoch)
        if (
            not (put or gone or changed or acked or sent or new_conflicts or old_conflicts)
            and seq == self._saved_seq
        ):
            return
        with self.store.write() as w:
            if put:
                w.put_records(r.to_store() for r in put)
            if gone:
                w.delete_records(gone)
            if acked:
                w.remove_changes(acked)
            if changed:
                w.put_changes(c.to_wire() for c in changed)
            if sent:
                w.mark_sent(sent)
            for conflict in new_conflicts:
                at = self._conflict_times.setdefault(conflict.change_id, _now())
                w.add_conflict(
                    StoredConflict(
                        conflict.change_id,
                        conflict.record_id,
                        _conflict_to_store(conflict, at),
                    )
                )
            for cid in old_conflicts:
                w.remove_conflict(cid)
            if seq != self._saved_seq:
                w.set_meta("last_seq", state.last_seq)
                w.set_meta("layer_epoch", state.layer_epoch)
        self._saved_replica = dict(replica)
        self._saved_outbox = {c.change_id: c for c in outbox}
        self._saved_sent = (self._saved_sent | sent) & ids_now
        self._saved_conflicts = set(conflicts_now)
        self._saved_seq = seq

    # --- standalone -----------------------------------------------------------------------

    def _schedule_standalone_save(self) -> None:
        if self._save_task is not None and not self._save_task.done():
            self._save_again = True
            return
        self._save_task = asyncio.get_running_loop().create_task(self._autosave_loop())

    async def _autosave_loop(self) -> None:
        self._save_again = True
        while self._save_again and not self._closed:
            self._save_again = False
            try:
                await self._write_standalone()
            except Exception as exc:
                # Autosave runs unattended: report and keep the changes pending.
                log.error("autosave of %s failed: %s", self.pdf_path, exc)
                return

    async def _save_standalone(self) -> None:
        if self._save_task is not None and not self._save_task.done():
            await self._save_task
        await self._write_standalone()

    async def _write_standalone(self) -> None:
        """Write the view into the PDF atomically, then fold the saved changes (§6 locally)."""
        assert self.pdf_path is not None
        backend = self._require_backend()
        state = self.session.state
        saved = list(state.outbox)
        # Freeze the saved changes: a later edit must become a new change, not merge into one
        # that is being written.
        state.sent_change_ids.update(c.change_id for c in saved)
        diff = self.export_instant_json()
        pdf_path = self.pdf_path
        source = Path(self.store.meta("source"))
        # Write first: a PDF that cannot take annotations (or a full disk) fails here, before
        # a backup copy is made or anything else on disk changes.
        tmp = await asyncio.to_thread(
            _write_temporary,
            lambda out: backend.write_pdf(source, diff, out, password=self._password),
            pdf_path,
        )
        try:
            if self.store.meta("backup") is None:
                backup_path = await asyncio.to_thread(_make_backup, pdf_path)
                with self.store.write() as w:
                    w.set_meta("backup", str(backup_path))
                    w.set_meta("source", str(backup_path))
            new_hash = await asyncio.to_thread(_file_sha256, tmp)
            # If we die right after the rename, the next open finds the file with this hash
            # and folds exactly these changes (instead of mistaking it for a foreign edit).
            with self.store.write() as w:
                w.set_meta(
                    "saving", {"sha256": new_hash, "change_ids": [c.change_id for c in saved]}
                )
            await asyncio.to_thread(_replace, tmp, pdf_path)
        finally:
            tmp.unlink(missing_ok=True)
        self._fold_saved(saved)
        with self.store.write() as w:
            w.set_meta("pdf_sha256", new_hash)
            w.set_meta("saving", None)
        self._emit(DocumentSaved(str(pdf_path)))
        self._emit(SyncStateChanged(self.pending_count))
        self._check_waiters()

    def _fold_saved(self, saved: list[Change]) -> None:
        """Move saved changes from the outbox into the replica, as a server's ack would."""
        state = self.session.state
        ids = {c.change_id for c in saved}
        contents = cs.replay_changes(
            {rid: r.content for rid, r in state.replica.items() if r.content is not None},
            saved,
        )
        kinds = {c.record_id: c.kind for c in saved if isinstance(c, CreateChange)}
        replica: dict[RecordId, RecordState] = {}
        for rid, content in contents.items():
            old = state.replica.get(rid)
            if old is not None and old.content == content:
                replica[rid] = old
                continue
            kind = old.kind if old is not None else kinds.get(rid, _kind_of_content(content))
            replica[rid] = RecordState(
                id=rid,
                kind=kind,
                rev=(old.rev + 1) if old is not None else 1,
                seq=0,
                content=content,
            )
        state.replica.clear()
        state.replica.update(replica)
        state.outbox[:] = [c for c in state.outbox if c.change_id not in ids]
        state.sent_change_ids -= ids
        self._persist()

    # --- closing --------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise DocumentClosedError("the document is closed")

    async def close(self) -> None:
        """Stop syncing and close the store; pending changes stay in it for next time."""
        if self._closed:
            return
        if self._save_task is not None and not self._save_task.done():
            with contextlib.suppress(Exception):
                await self._save_task
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fail_waiters(DocumentClosedError("the document was closed"))
        for waiters in self._layer_waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(DocumentClosedError("the document was closed"))
        self._layer_waiters.clear()
        self.store.close()

    async def __aenter__(self) -> LaminaDocument:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temporary(write: Callable[[Path], None], target: Path) -> Path:
    """Call ``write(tmp)`` for a new temporary file next to ``target``; flush it to disk."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _replace(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` over ``target`` and make the rename durable."""
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def _write_atomically(write: Callable[[Path], None], target: Path) -> None:
    """Call ``write(tmp)`` for a temporary file next to ``target``, then replace ``target``.

    The temporary file is flushed to disk before the rename, so after a crash ``target`` is
    either the old file or the new one, never a mix.
    """
    tmp = _write_temporary(write, target)
    try:
        _replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _make_backup(pdf_path: Path) -> Path:
    """Copy the original PDF next to it (``name.orig.pdf``, never overwriting one)."""
    candidate = pdf_path.with_name(f"{pdf_path.stem}.orig{pdf_path.suffix}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = pdf_path.with_name(f"{pdf_path.stem}.orig{n}{pdf_path.suffix}")

    def copy(tmp: Path) -> None:
        shutil.copyfile(pdf_path, tmp)

    _write_atomically(copy, candidate)
    return candidate


def _implements_review_document(doc: LaminaDocument) -> ReviewDocument:
    # mypy checks here that LaminaDocument satisfies the port the UI uses.
    return doc
