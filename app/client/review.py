"""A server document's upstream: the review on a Lamina server (sync §3-§8).

:class:`ReviewUpstream` implements :class:`~lamina.client.upstream.Upstream` over the one
reconnecting :class:`~lamina.client.connection.Connection`, and is that connection's
listener: each frame's events are made durable in the local store first, then reported to
subscribers (sync §6.1). It fetches the PDF once per new version (§5.4), keeps the peers
(§8), asks again for the layers being viewed after each reconnect (§5.3), and stops syncing
when the server is behind until the user decides (§3.4).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from lamina.auth.errors import AuthError
from lamina.auth.invite import Invite
from lamina.auth.tokens import ALL_LAYERS, TokenClaims, unverified_claims, unverified_payload
from lamina.client.backend import PdfBackend
from lamina.client.backoff import Backoff
from lamina.client.connection import Connection
from lamina.client.errors import (
    ChangeRejectedError,
    ClientError,
    DocumentClosedError,
    DocumentUnavailableError,
    LayerAccessError,
    ServerBehindError,
)
from lamina.client.events import (
    ChangeRejected,
    ConflictAdded,
    ConnectionState,
    ConnectionStateChanged,
    LayersListed,
    Peer,
    PresenceChanged,
    ServerBehind,
    SyncStateChanged,
)
from lamina.client.layers import LayerViews
from lamina.client.replica import Replica, parse_record, public_conflict
from lamina.client.store import default_store_dir, store_path_for
from lamina.model.ids import RecordId
from lamina.model.records import Record
from lamina.model.timestamps import utc_now_iso
from lamina.sync import client_session as cs


def decode_token_claims(token: str) -> dict[str, Any]:
    """Return a JWT's payload without verifying it (only the server can verify).

    The client reads ``document_id`` and ``layer`` to name its local store, and shows the
    rest; it trusts none of it.

    Raises:
        ClientError: the text is not a JWT, or it names no ``document_id``.
    """
    try:
        value = unverified_payload(token)
    except AuthError as exc:
        raise ClientError(f"the invite's {exc}") from exc
    if not isinstance(value.get("document_id"), str):
        raise ClientError("the invite's token names no document_id")
    return value


def review_store_path(invite: Invite, store_dir: Path | None = None) -> Path:
    """Return the local store file of the review an invite opens (one per document and layer).

    Raises:
        ClientError: the token is not a JWT, or names no document.
    """
    claims = decode_token_claims(invite.token)
    return store_path_for(
        store_dir or default_store_dir(),
        invite.server_url,
        claims["document_id"],
        claims.get("layer") or "",
    )


class ReviewUpstream:
    """The server side of a review document: connection, PDF download, peers, layers.

    Args:
        replica: the document's replica (session, store, view, subscribers, waiters).
        server_url: the server (``ws://host:port``).
        token: the token to present.
        backend: reads the PDF's own annotations (for exports); None: exports list every
            record as new.
        backoff: the reconnect delays.
        presence: what this user announces (name, colour...).
    """

    standalone = False
    pdf_path: Path | None = None

    def __init__(
        self,
        replica: Replica,
        *,
        server_url: str,
        token: str,
        backend: PdfBackend | None,
        backoff: Backoff,
        presence: Mapping[str, Any] | None,
    ) -> None:
        self._replica = replica
        self._session = replica.session
        self._token = token
        self._backend = backend
        self._claims: TokenClaims | None = None
        self._base: list[Record] | None = None
        self._doc_waiters: list[asyncio.Future[bytes]] = []
        self._doc_requested = False
        self._peers: tuple[Peer, ...] = ()
        self._server_behind = False
        self._layers = LayerViews()
        self._listed_layers: tuple[str, ...] | None = None
        self._layers_asked = False
        self.connection = Connection(
            replica.session, server_url, token, listener=self, presence=presence, backoff=backoff
        )

    def claims(self) -> TokenClaims:
        if self._claims is None:
            try:
                self._claims = unverified_claims(self._token)
            except AuthError as exc:
                raise ClientError(f"the invite's token is not usable: {exc}") from exc
        return self._claims

    # --- saving ---------------------------------------------------------------------------

    def flush(self) -> None:
        self._session.flush()
        self.connection.kick()

    async def save(self) -> None:
        self.flush()
        await self._replica.wait_saved(None)

    # --- the PDF --------------------------------------------------------------------------

    def base_records(self) -> list[Record]:
        if self._base is None:
            if self._backend is None or self._replica.store.document_sha256() is None:
                return []
            with self.original_pdf() as source:
                base = self._backend.read_base_records(source)
            self._base = [r for r in map(parse_record, base) if r is not None]
        return self._base

    @contextlib.contextmanager
    def original_pdf(self) -> Iterator[Path]:
        cached = self._replica.store.document()
        if cached is None:
            raise DocumentUnavailableError(
                "the pdf is not downloaded yet; connect to the server once"
            )
        with tempfile.TemporaryDirectory(prefix="lamina-") as tmp:
            path = Path(tmp) / "document.pdf"
            path.write_bytes(cached[0])
            yield path

    async def pdf_bytes(self) -> bytes:
        cached = self._replica.store.document()
        if cached is not None:
            return cached[0]
        if self.connection.state is ConnectionState.STOPPED:
            raise DocumentUnavailableError(f"the pdf is not cached: {self.connection.reason}")
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._doc_waiters.append(future)
        self.connection.kick()
        return await future

    def _maybe_request_document(self) -> None:
        welcome = self._session.welcome
        if self._doc_requested or welcome is None or welcome.document is None:
            return
        # The hash only: reading a 50 MB PDF to compare it cost every connection 56 ms.
        if self._replica.store.document_sha256() == welcome.document.sha256:
            return
        if "read-document" not in welcome.permissions:
            return
        self._doc_requested = True
        self._session.request_document()

    # --- connection and presence ----------------------------------------------------------

    @property
    def connection_state(self) -> ConnectionState:
        return self.connection.state

    @property
    def connection_reason(self) -> str:
        return self.connection.reason

    @property
    def server_behind(self) -> bool:
        return self._server_behind

    @property
    def peers(self) -> tuple[Peer, ...]:
        return self._peers

    @property
    def stop_error(self) -> ClientError | None:
        return self.connection.stop_error

    def connect(self) -> None:
        self.connection.start()

    async def disconnect(self) -> None:
        await self.connection.stop("disconnected by the user")

    def set_presence(self, state: Mapping[str, Any]) -> None:
        self.connection.set_presence(state)

    def adopt_server_state(self) -> None:
        if self.connection.adopt_server_state():
            self._server_behind = False
            return
        if not self._server_behind:
            raise ServerBehindError("the server is not behind: there is nothing to adopt")
        # The connection dropped meanwhile: forget our position so that the next hello gets
        # a snapshot, which replaces the replica and keeps the outbox (sync §3.3).
        state = self._session.state
        state.last_seq = None
        state.layer_epoch = None
        self._replica.persist()
        self._server_behind = False
        self.connection.start()

    # --- other layers, read-only (sync §5.3) ----------------------------------------------

    def available_layers(self) -> tuple[str, ...]:
        welcome = self._session.welcome
        if welcome is not None:
            return tuple(welcome.view_layers)
        return self.claims().view_layers

    def may_view_layer(self, name: str) -> bool:
        allowed = self.available_layers()
        return name != self.claims().layer and (ALL_LAYERS in allowed or name in allowed)

    def viewed_layers(self) -> list[str]:
        return self._layers.names()

    def listed_layers(self) -> tuple[str, ...] | None:
        """The layers the server says this token may view (its own included; sync §4.8),
        kept current while connected; None until the server answered (the first call asks,
        and every reconnect asks again)."""
        if not self._layers_asked and self.connection.is_open:
            self._layers_asked = True
            self._session.list_layers()
            self.connection.kick()
        return self._listed_layers

    async def view_layer(self, name: str) -> list[Record]:
        if name == self.claims().layer:
            raise LayerAccessError(f"layer {name!r} is this document's own layer")
        if not self.may_view_layer(name):
            allowed = ", ".join(repr(n) for n in self.available_layers()) or "none"
            raise LayerAccessError(
                f"this invite may not view layer {name!r} (view_layers allows {allowed}); "
                "ask the host for an invite with view_layers"
            )
        if self.connection.stop_error is not None:
            raise self.connection.stop_error
        if self._layers.arrived(name):
            return self._layers.records(name)
        if self._layers.add(name) and self.connection.is_open:
            self._session.view_layer(name)
            self.connection.kick()
        await self._layers.wait(name)
        return self._layers.records(name)

    def layer_records(self, name: str) -> list[Record]:
        return self._layers.records(name)

    def hide_layer(self, name: str) -> None:
        self._layers.hide(name)
        if self.connection.is_open:  # sync §4.8: the server stops relaying it
            self._session.unview_layer(name)
            self.connection.kick()

    def layer_of(self, record_id: RecordId) -> str | None:
        return self._layers.layer_of(record_id)

    # --- lifetime -------------------------------------------------------------------------

    async def close(self) -> None:
        await self.connection.stop()
        self._layers.fail(DocumentClosedError("the document was closed"))

    # --- ConnectionListener ---------------------------------------------------------------

    def connection_changed(self, state: ConnectionState, reason: str) -> None:
        self._replica.emit(ConnectionStateChanged(state, reason))

    def sending(self) -> concurrent.futures.Future[None] | None:
        # Changes marked sent are never merged with later edits; that mark must be durable
        # before the server can possibly apply them (§4.2). Written behind (a GUI's), the
        # connection waits for it without holding the event loop's thread.
        if self._replica.write_behind:
            return self._replica.persist_behind()
        self._replica.persist()
        return None

    def caught_up(self) -> None:
        self._maybe_request_document()
        for name in self._layers.names():
            self._session.view_layer(name)
        if self._layers_asked:  # sync §4.8: asked before, so ask again on this connection
            self._session.list_layers()

    def connection_lost(self) -> None:
        self._doc_requested = False
        if self._peers:
            self._peers = ()
            self._replica.emit(PresenceChanged(()))

    def stopped(self, error: ClientError) -> None:
        self._replica.fail_waiters(error)
        for future in self._doc_waiters:
            if not future.done():
                future.set_exception(DocumentUnavailableError(str(error)))
        self._doc_waiters.clear()
        self._layers.fail(error)

    def received(self, events: Sequence[cs.ClientEvent]) -> None:
        """Persist what a frame changed, then tell subscribers."""
        replica = self._replica
        for event in events:
            if isinstance(event, cs.DocumentReceived):
                with replica.store.write() as w:
                    w.put_document(event.data, event.sha256)
                self._base = None
                for future in self._doc_waiters:
                    if not future.done():
                        future.set_result(event.data)
                self._doc_waiters.clear()
            elif isinstance(event, cs.ConflictDetected):
                replica.conflict_times[event.conflict.change_id] = utc_now_iso()
        replica.persist()
        # A snapshot's events name every record it changed, the ones it removed included
        # (as tombstones), so only those are looked at, part by part (DESIGN §7).
        touched: dict[RecordId, None] = {}
        for event in events:
            if isinstance(event, cs.RecordsChanged):
                touched.update((r.id, None) for r in event.records)
            elif isinstance(event, cs.ChangesAcked):
                touched.update((r.record_id, None) for r in event.results)
        if touched:
            replica.refresh(touched, origin="remote")
        for event in events:
            self._report(event)
        replica.check_waiters()

    def _report(self, event: cs.ClientEvent) -> None:
        replica = self._replica
        if isinstance(event, cs.ConflictDetected):
            at = replica.conflict_times.get(event.conflict.change_id, "")
            replica.emit(ConflictAdded(public_conflict(event.conflict, at)))
        elif isinstance(event, cs.ChangeRejected):
            replica.emit(ChangeRejected(event.change_id, event.record_id, event.reason))
            replica.fail_waiters(
                ChangeRejectedError(event.change_id, event.record_id, event.reason),
                event.record_id,
            )
        elif isinstance(event, cs.PresenceChanged):
            me = self._session.state.client_id
            self._peers = tuple(
                Peer(c.client_id, c.user_id, c.name or "", c.color or "", c.state)
                for c in event.clients
                if c.client_id != me
            )
            replica.emit(PresenceChanged(self._peers))
        elif isinstance(event, cs.ServerBehind):
            message = (
                f"the server has seq {event.server_seq} but this copy saw "
                f"{event.client_seq}: it was restored from an older backup; nothing was "
                "merged"
            )
            self._server_behind = True
            replica.emit(ServerBehind(event.client_seq, event.server_seq, message))
            self.connection.hold(message)
        elif isinstance(event, cs.ChangesAcked):
            replica.emit(SyncStateChanged(self._session.pending_count))
        elif isinstance(event, cs.LayersListed):
            self._listed_layers = event.layers
            replica.emit(LayersListed(event.layers))
        elif isinstance(event, cs.LayerRecordsChanged):
            changed = self._layers.update(event, self._session)
            if changed is not None:
                replica.emit(changed)
