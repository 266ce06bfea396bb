"""An open document: the offline-first replica the desktop app and scripts edit.

:class:`LaminaDocument` is the facade over the parts that do the work, each with one job:

- :class:`~lamina.client.replica.Replica`: the sans-I/O
  :class:`lamina.sync.ClientSession`, written through to the durable
  :class:`~lamina.client.store.LocalStore` (:mod:`lamina.client.persistence`), the user's
  view of the records, the subscribers and the callers waiting for saves. Local edits apply
  to the view at once and reach the outbox in SQLite before the call returns (DESIGN §4
  rule 6, sync §6.1), so a crash loses nothing that was acknowledged to the user;
- an :class:`~lamina.client.upstream.Upstream`, where the changes are saved: for a review
  :class:`~lamina.client.review.ReviewUpstream` (the reconnecting
  :class:`~lamina.client.connection.Connection`, which resumes from the last sequence number
  and sends the outbox in order, sync §3.3, §3.6, §6.2; the PDF download; peers; other layers
  viewed read-only, §5.3), for a local PDF :class:`~lamina.client.standalone.LocalPdfUpstream`
  (:meth:`save` writes the annotations into the file atomically);
- :mod:`lamina.client.ownership` (what the permission rules know of a record, DESIGN §5) and
  :mod:`lamina.client.export` (Instant JSON and PDF exports, DESIGN §3).

An expired or revoked token stops the retries (§7.2); a server restored from an old backup is
reported and nothing is merged until :meth:`adopt_server_state` (§3.4); the user's losing
versions go to :meth:`conflicts`, from where they can be re-applied (§6.4).

Everything runs on one asyncio event loop; subscriber callbacks run on it too. The desktop
app uses a document through :class:`lamina.client.port.ReviewDocument`.

Example::

    doc = await LaminaDocument.open_invite("lamina://join?server=...&token=...")
    edit = doc.create({"type": "pspdfkit/note", "pageIndex": 0, "bbox": [50, 50, 32, 32],
                       "text": {"format": "plain", "value": "check this"}})
    saved = await doc.ensure_changes_saved([edit.record_id])
    await doc.close()
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from lamina.auth.invite import Invite, parse_invite_link
from lamina.auth.permissions import PermissionEvaluator, RecordMeta, RecordPermissions
from lamina.auth.tokens import TokenClaims
from lamina.client import export
from lamina.client.backend import PdfBackend
from lamina.client.backoff import Backoff
from lamina.client.editing import Editor
from lamina.client.errors import (
    ClientError,
    ConnectionFailedError,
    DocumentClosedError,
    StoreError,
)
from lamina.client.events import Conflict, ConnectionState, ConnectionStateChanged, Event, Peer
from lamina.client.ownership import replica_record_meta
from lamina.client.port import AutosaveMode, LocalEdit, ReviewDocument
from lamina.client.replica import Replica
from lamina.client.review import ReviewUpstream, decode_token_claims, review_store_path
from lamina.client.standalone import LocalPdfUpstream, open_local_store
from lamina.client.store import LocalStore
from lamina.client.upstream import Upstream
from lamina.model.ids import RecordId
from lamina.model.records import Record

__all__ = ["AutosaveMode", "LaminaDocument", "LocalEdit", "decode_token_claims"]

Callback = Callable[[Event], None]


class LaminaDocument:
    """One open document replica. Build it with :meth:`open_invite`, :meth:`open_store` or
    :meth:`open_local`; end with :meth:`close`.

    Attributes:
        store: the local store.
        session: the sans-I/O client session (the replica, outbox and conflicts).
        standalone: True for a local PDF with no server.
        server_url: the review's server (None for a local PDF).
        pdf_path: the standalone PDF (None for a server document).
    """

    def __init__(
        self,
        replica: Replica,
        upstream: Upstream,
        *,
        autosave: AutosaveMode,
        backend: PdfBackend | None,
        server_url: str | None = None,
        password: str | None = None,
    ) -> None:
        self._replica = replica
        self._upstream = upstream
        self.store = replica.store
        self.session = replica.session
        self.standalone = upstream.standalone
        self.server_url = server_url
        self.pdf_path = upstream.pdf_path
        self._editor = Editor(replica, upstream, autosave)
        self._backend = backend
        self._password = password
        self._closed = False

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
            ClientError: the token is not a JWT, or names no document.
            StoreError: the local store cannot be opened.
        """
        if isinstance(invite, str):
            invite = parse_invite_link(invite)
        claims = decode_token_claims(invite.token)
        store = LocalStore.open(review_store_path(invite, store_dir))
        with store.write() as w:
            w.set_meta("server_url", invite.server_url)
            w.set_meta("token", invite.token)
            w.set_meta("document_id", claims["document_id"])
            w.set_meta("layer", claims.get("layer") or "")
        url, token = invite.server_url, invite.token
        return cls._review(store, url, token, pdf_backend, presence, autosave, backoff, connect)

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
        token = store.meta("token") or ""
        return cls._review(
            store, server_url, token, pdf_backend, presence, autosave, backoff, connect
        )

    @classmethod
    def _review(
        cls,
        store: LocalStore,
        server_url: str,
        token: str,
        backend: PdfBackend | None,
        presence: Mapping[str, Any] | None,
        autosave: AutosaveMode,
        backoff: Backoff | None,
        connect: bool,
    ) -> LaminaDocument:
        replica = Replica(store)
        upstream = ReviewUpstream(
            replica,
            server_url=server_url,
            token=token,
            backend=backend,
            backoff=backoff or Backoff(),
            presence=presence,
        )
        doc = cls(replica, upstream, autosave=autosave, backend=backend, server_url=server_url)
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
        store, interrupted = await open_local_store(pdf_path, pdf_backend, store_dir, password)
        replica = Replica(store)
        upstream = LocalPdfUpstream(replica, pdf_path, pdf_backend, password)
        doc = cls(replica, upstream, autosave=autosave, backend=pdf_backend, password=password)
        upstream.export_diff = doc.export_instant_json
        if interrupted is not None:
            # The last save replaced the file but died before folding its changes.
            upstream.finish_interrupted_save(interrupted)
        return doc

    # --- reading --------------------------------------------------------------------------

    def records(self) -> list[Record]:
        """Return every record as the user sees it (synced state plus pending edits)."""
        return self._replica.records()

    def record(self, record_id: str) -> Record | None:
        """Return one record as the user sees it, or None when it does not exist."""
        return self._replica.record(record_id)

    def base_records(self) -> list[Record]:
        """Return the PDF's own annotations as read from the original (the diff's base).

        A record equal to its base record is one nobody edited: the desktop shows it with
        the PDF's own appearance stream. A joined review reads the PDF once, on first call.
        """
        return self._upstream.base_records()

    def instant_json_records(self) -> dict[RecordId, dict[str, Any]]:
        """Return every record as the user sees it, as Instant JSON objects by id."""
        return {rid: dict(c) for rid, c in self._replica.view.items()}

    @property
    def store_path(self) -> Path:
        """The local store file."""
        return self.store.path

    @property
    def pending_count(self) -> int:
        """How many changes are not saved yet ("N changes pending")."""
        return self.session.pending_count

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback`` with every event from now on; returns the unsubscribe function.

        A callback that raises is logged (``logger.exception``) and the others still run.
        """
        return self._replica.subscribe(callback)

    # --- permissions ----------------------------------------------------------------------

    def claims(self) -> TokenClaims:
        """Return the token's claims, decoded without verifying (the server verifies).

        A standalone document has no token: its claims grant everything.

        Raises:
            ClientError: the stored token's claims are malformed.
        """
        return self._upstream.claims()

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
        self._editor.require_own(rid)
        return replica_record_meta(self.session, self._replica.view, self.claims(), rid)

    def record_flags(self, record_id: str) -> RecordPermissions:
        """Return what the UI may offer for a record (edit, delete, set group, reply, fill).

        A record of another layer viewed read-only gets every flag False.

        Raises:
            ClientError: no such record.
        """
        rid = RecordId(record_id)
        if rid not in self._replica.view and self._upstream.layer_of(rid) is not None:
            return RecordPermissions(False, False, False, False, False)
        return self.permissions().record_flags(self.record_meta(rid))

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
        return self._upstream.available_layers()

    def listed_layers(self) -> tuple[str, ...] | None:
        """Return the layers the server lists for this token (its own included, sync §4.8),
        kept current while connected (a new layer is added live); None for a local PDF or
        before the server answered."""
        listed = getattr(self._upstream, "listed_layers", None)
        return listed() if listed is not None else None

    def may_view_layer(self, name: str) -> bool:
        """Return whether :meth:`view_layer` may be asked for ``name``."""
        return self._upstream.may_view_layer(name)

    def viewed_layers(self) -> list[str]:
        """Return the other layers being viewed, in the order they were asked for."""
        return self._upstream.viewed_layers()

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
        return await self._upstream.view_layer(name)

    def layer_records(self, name: str) -> list[Record]:
        """Return the records of a layer being viewed (the last known ones while offline).

        Raises:
            LayerAccessError: the layer is not being viewed (:meth:`view_layer` first).
        """
        return self._upstream.layer_records(name)

    def hide_layer(self, name: str) -> None:
        """Stop showing another layer; its records are forgotten.

        The protocol has no unsubscribe: until the next reconnect the server still relays
        the layer's changes, and they are ignored.
        """
        self._upstream.hide_layer(name)

    # --- editing --------------------------------------------------------------------------

    def create(self, record: Record | Mapping[str, Any], *, group: str | None = None) -> LocalEdit:
        """Create a record (applied at once, saved per the autosave mode).

        ``record`` is a model record or its Instant JSON; without an id it gets a new ULID.

        Raises:
            ClientError: the record has no type, or its id exists already.
        """
        self._check_open()
        return self._editor.create(record, group)

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
        return self._editor.update(record_id, set or {}, unset, group)

    def replace(self, record: Record) -> LocalEdit:
        """Make a record equal to ``record`` (an update of exactly the keys that differ).

        Raises:
            ReadOnlyLayerError: the record belongs to another layer, viewed read-only.
            ClientError: the record does not exist.
        """
        self._check_open()
        return self._editor.replace(record)

    def delete(self, record_id: str) -> LocalEdit:
        """Delete a record (applied at once, saved per the autosave mode).

        Raises:
            ReadOnlyLayerError: the record belongs to another layer, viewed read-only.
            ClientError: the record does not exist.
        """
        self._check_open()
        return self._editor.delete(record_id)

    @contextlib.contextmanager
    def gesture(self) -> Iterator[None]:
        """Group edits into one gesture (a drag, a stroke, typing a note).

        With autosave ``INTELLIGENT`` the changes are saved when the outermost gesture ends.
        """
        self._editor.begin_gesture()
        try:
            yield
        finally:
            self._editor.end_gesture()

    @property
    def autosave(self) -> AutosaveMode:
        """When edits are saved (sent to the server, or written into a standalone PDF)."""
        return self._editor.autosave

    def set_autosave(self, mode: AutosaveMode) -> None:
        """Change the autosave mode; switching to ``IMMEDIATE`` saves what is pending."""
        self._editor.set_autosave(mode)

    # --- conflicts ------------------------------------------------------------------------

    def conflicts(self) -> list[Conflict]:
        """Return the user's versions that lost, oldest first (sync §6.4)."""
        return self._replica.conflicts()

    def reapply_conflict(self, conflict_id: str) -> LocalEdit:
        """Apply the user's version from the conflict list again, as a new change.

        A lost field update is set again; a record deleted meanwhile is created again with the
        user's version (sync §4.7).

        Raises:
            ClientError: no such conflict, or nothing left to re-apply.
        """
        self._check_open()
        return self._editor.reapply_conflict(conflict_id)

    def dismiss_conflict(self, conflict_id: str) -> None:
        """Remove an entry from the conflict list without applying it."""
        self._check_open()
        self._editor.dismiss_conflict(conflict_id)

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
        self._check_open()
        ids = [str(r) for r in record_ids]
        self._raise_if_stopped(frozenset(ids))
        await self._replica.wait_saved(frozenset(ids))
        return [self.record(r) for r in ids]

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
        self._raise_if_stopped(None)
        await self._editor.save()

    def _raise_if_stopped(self, record_ids: frozenset[str] | None) -> None:
        error = self._upstream.stop_error
        if error is not None and self.session.has_pending(record_ids):
            raise error

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
        return export.export_instant_json(self._upstream, self.records(), layers)

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
        if self._backend is None:
            raise ClientError("no pdf backend: pass pdf_backend= when opening the document")
        if not self.claims().has("download"):
            # DESIGN §5, Document Engine's meaning: download lets the PDF leave the review.
            raise ClientError(
                "this invite does not allow saving the pdf (no download permission): "
                "ask the host for an invite with download"
            )
        diff = self.export_instant_json(layers)
        await export.export_pdf(
            self._upstream, self._backend, diff, out_path, flatten=flatten, password=self._password
        )

    async def pdf_bytes(self) -> bytes:
        """Return the PDF: the file, the cached copy, or wait for its download.

        Raises:
            DocumentUnavailableError: not cached and the connection stopped for good.
        """
        self._check_open()
        return await self._upstream.pdf_bytes()

    # --- connection and presence ----------------------------------------------------------

    @property
    def connection_state(self) -> ConnectionState:
        return self._upstream.connection_state

    @property
    def connection_reason(self) -> str:
        """Why the connection is in its state (one lowercase line, may be empty)."""
        return self._upstream.connection_reason

    @property
    def peers(self) -> tuple[Peer, ...]:
        """Other clients connected to the layer."""
        return self._upstream.peers

    def set_presence(self, state: Mapping[str, Any]) -> None:
        """Tell the others who this user is and where (name, color, page, cursor)."""
        self._upstream.set_presence(state)

    def connect(self) -> None:
        """Start (or restart, after a stop) connecting in the background."""
        self._check_open()
        self._upstream.connect()

    async def disconnect(self) -> None:
        """Stop syncing and stay offline; edits continue to the local store."""
        await self._upstream.disconnect()

    async def wait_for_state(self, state: ConnectionState) -> None:
        """Wait until the connection is in ``state``.

        Raises:
            ConnectionFailedError: the connection stopped for good first (the server refused
                the token): it will never reach ``state``; the message says why. A server
                that is behind holds the connection until :meth:`adopt_server_state`; that
                is not for good.
        """
        if self.connection_state is state:
            return
        upstream = self._upstream
        done: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

        def on_event(event: Event) -> None:
            if not isinstance(event, ConnectionStateChanged) or done.done():
                return
            if event.state is state:
                done.set_result(None)
            elif event.state is ConnectionState.STOPPED and not upstream.server_behind:
                # Stopped for good (a server that is behind waits for the user instead).
                done.set_result(event.reason or "no reason given")

        unsubscribe = self._replica.subscribe(on_event, only=(ConnectionStateChanged,))
        try:
            stopped = await done
        finally:
            unsubscribe()
        if stopped is not None:
            raise ConnectionFailedError(f"the connection has stopped: {stopped}")

    def adopt_server_state(self) -> None:
        """After :class:`ServerBehind`: take the server's state and send the outbox again.

        The server's records replace the replica; the user's pending changes stay and are
        sent. Without this call nothing is merged.

        Raises:
            ServerBehindError: the server is not behind (nothing to adopt).
        """
        self._check_open()
        self._upstream.adopt_server_state()

    def write_edits_behind(self) -> None:
        """Write each local edit to the local store on the store's own thread from now on.

        For a GUI: an edit then returns before its fsync (a few to tens of milliseconds)
        instead of after it. The edit is still durable before it is sent or written into the
        PDF (both wait for the writes behind), and :meth:`close` waits for them; a crash
        right after an edit may lose that edit, which nothing had reported saved.
        """
        self._replica.write_behind = True

    # --- closing --------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise DocumentClosedError("the document is closed")

    async def close(self) -> None:
        """Stop syncing and close the store; pending changes stay in it for next time."""
        if self._closed:
            return
        await self._upstream.close()
        self._closed = True
        self._replica.fail_waiters(DocumentClosedError("the document was closed"))
        self.store.close()

    async def __aenter__(self) -> LaminaDocument:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _implements_review_document(doc: LaminaDocument) -> ReviewDocument:
    # mypy checks here that LaminaDocument satisfies the port the UI uses.
    return doc
