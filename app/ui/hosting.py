"""The review server bundled in the app, hosted in-process for "Host review…".

The server runs on the app's own event loop (it is asyncio code, like the client) and keeps
its data in the user data directory (``…/lamina/hosted``), so a review hosted yesterday is
still there today — on the same port, so yesterday's invites still work: the port and the
bind address are kept in ``<data>/app-hosting.json``. It listens on the loopback interface
(this computer only) unless the host chooses the local network; invite links then carry
this computer's network address. Every invite made here is listed (``app-invites.json``)
with what it lets its holder do, and can be revoked (through
:class:`~lamina.server.admin.HostAdmin`, by the token's ``jti``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from lamina.auth.keys import KeyPair, load_or_create_keypair
from lamina.fsutil import write_bytes_atomically
from lamina.model.ids import new_record_id
from lamina.server.admin import HostAdmin, TokenRequest
from lamina.server.errors import DocumentNotFoundError

if TYPE_CHECKING:
    from lamina.server.app import LaminaServer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InvitePreset:
    """A kind of invite the host hands out (what the invited person may do)."""

    key: str
    label: str
    permissions: tuple[str, ...]
    own_layer: bool
    view_all_layers: bool
    help: str


PRESETS: tuple[InvitePreset, ...] = (
    InvitePreset(
        "reviewer",
        "Reviewer (own layer)",
        ("read-document", "write", "download"),
        True,
        False,
        "Reads the PDF and annotates on a layer of their own.",
    ),
    InvitePreset(
        "viewer", "Viewer", ("read-document",), False, False, "Reads the PDF and the annotations."
    ),
    InvitePreset(
        "lead",
        "Lead reviewer",
        ("read-document", "write", "download"),
        False,
        True,
        "Annotates the shared layer and may view every reviewer's layer.",
    ),
)
PRESETS_BY_KEY = {p.key: p for p in PRESETS}


LOOPBACK = "127.0.0.1"
"""Bind address: this computer only."""
ALL_INTERFACES = "0.0.0.0"
"""Bind address: the local network too (invite links carry :func:`network_address`)."""

HOSTING_FILE = "app-hosting.json"
INVITES_FILE = "app-invites.json"


@dataclass(frozen=True)
class HostedInvite:
    """An invite this app made: who it is for, what it allows, and whether it is revoked."""

    jti: str
    document_id: str
    name: str
    preset: str
    layer: str
    created: str
    revoked: bool = False


def network_address() -> str:
    """Return this computer's address on the local network (no traffic is sent).

    The first IPv4 address the host name resolves to that is not a loopback one; the
    loopback address when there is none (no network).
    """
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return LOOPBACK
    for info in infos:
        address = str(info[4][0])
        if not address.startswith("127."):
            return address
    return LOOPBACK


def default_host_dir() -> Path:
    """Return where the hosted server keeps its documents and keys."""
    return Path(platformdirs.user_data_dir("lamina", appauthor=False)) / "hosted"


class LocalReviewServer:
    """A :class:`~lamina.server.app.LaminaServer` inside the app.

    Documents and invites go through :class:`~lamina.server.admin.HostAdmin`, as
    ``lamina doc`` and ``lamina invite`` do; this class adds the server's lifetime, its
    address (kept across restarts of the app), the invite presets and the invites list.

    Args:
        data_dir: the server's data directory (documents, layers, signing keys).
        port: the port to listen on; None uses the one it had last time (a free one the
            first time), 0 picks a free one.
        bind: the address to listen on (:data:`LOOPBACK` or :data:`ALL_INTERFACES`); None
            uses last time's (loopback the first time).
        advertise: the host name invite links carry; None: the bind address, or
            :func:`network_address` when listening on every interface.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        port: int | None = None,
        bind: str | None = None,
        advertise: str | None = None,
    ) -> None:
        self.data_dir = data_dir or default_host_dir()
        saved = self._read_settings()
        saved_port = saved.get("port", 0)
        if port is None:
            port = saved_port if isinstance(saved_port, int) and 0 <= saved_port < 65536 else 0
        self.port = port
        self.bind = str(saved.get("bind", LOOPBACK)) if bind is None else bind
        self.advertise = advertise
        self.keypair: KeyPair | None = None
        self.moved_from: int | None = None
        """The port kept from last time when it was taken and another had to be used."""
        self._server: LaminaServer | None = None
        self._admin: HostAdmin | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def host(self) -> str:
        """The host name invite links carry."""
        if self.advertise:
            return self.advertise
        if self.bind in (ALL_INTERFACES, "", "::"):
            return network_address()
        return self.bind

    @property
    def on_network(self) -> bool:
        """Whether others on the local network can reach the server."""
        return not self.bind.startswith("127.") and self.bind != "localhost"

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def local_url(self) -> str:
        """The address this computer's own windows use (loopback when listening on it)."""
        host = LOOPBACK if self.bind in (ALL_INTERFACES, "", "::") else self.bind
        return f"ws://{host}:{self.port}"

    async def start(self) -> int:
        """Start listening on the kept port (a free one when it is taken); return it."""
        if self._server is not None:
            return self.port
        from lamina.server.app import LaminaServer
        from lamina.server.store import SqliteStore

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.keypair = keypair = await asyncio.to_thread(load_or_create_keypair, self.data_dir)
        store = await asyncio.to_thread(SqliteStore, self.data_dir)
        server = LaminaServer(store, [keypair.public_pem])
        try:
            port = await server.start(self.bind, self.port)
        except OSError as exc:
            if not self.port:
                await server.shutdown()
                raise
            # The kept port is taken (another program): serve anyway; old invites break.
            log.warning("port %d is taken (%s); hosting on a free port", self.port, exc)
            await server.shutdown()
            server = LaminaServer(store, [keypair.public_pem])
            self.moved_from = self.port
            port = await server.start(self.bind, 0)
        self.port = port
        self._server = server
        self._admin = HostAdmin(self.data_dir, store=store, keypair=keypair)
        await asyncio.to_thread(self._write_settings)
        log.info("hosting reviews on %s (data in %s)", self.url, self.data_dir)
        return self.port

    async def stop(self) -> None:
        """Stop the server (clients go offline and keep their edits until it is back)."""
        server, self._server = self._server, None
        self._admin = None
        if server is not None:
            await server.shutdown()

    async def rebind(self, bind: str) -> int:
        """Listen on ``bind`` instead (the same port); return the port.

        Invite links made before carry the old address: a host switching to the local
        network makes new ones (the Invites list says which address each carries).
        """
        if bind == self.bind and self.running:
            return self.port
        await self.stop()
        self.bind = bind
        return await self.start()

    def _read_settings(self) -> dict[str, object]:
        path = self.data_dir / HOSTING_FILE
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring %s: %s", path, exc)
            return {}
        return value if isinstance(value, dict) else {}

    def _write_settings(self) -> None:
        data = json.dumps({"port": self.port, "bind": self.bind}, indent=1)
        write_bytes_atomically(self.data_dir / HOSTING_FILE, data.encode())

    def _running_admin(self) -> HostAdmin:
        if self._admin is None:
            raise RuntimeError("the review server is not running")
        return self._admin

    def _running_server(self) -> LaminaServer:
        if self._server is None:
            raise RuntimeError("the review server is not running")
        return self._server

    def hosts(self, document_id: str) -> bool:
        """Return whether this server is running and has ``document_id``."""
        if self._admin is None:
            return False
        try:
            self._admin.document(document_id)
        except DocumentNotFoundError:
            return False
        return True

    def create_layer(self, document_id: str, layer: str) -> None:
        """Create ``layer`` on a hosted document; connected windows' layer lists get it.

        Raises:
            DocumentNotFoundError: no such document.
            TokenClaimsInvalid: not a valid layer name.
        """
        self._running_admin().create_layer(document_id, layer)
        self._running_server().announce_layers(document_id)

    async def add_document(self, pdf: Path) -> str:
        """Add a PDF (once: the same file again gives the same document); return its id."""
        admin = self._running_admin()
        info = await asyncio.to_thread(admin.add_document, pdf)
        return info.document_id

    def invite(
        self,
        document_id: str,
        preset: InvitePreset,
        *,
        name: str,
        layer: str = "",
        view_layers: tuple[str, ...] | None = None,
        ttl: timedelta = timedelta(days=14),
        listed: bool = True,
    ) -> str:
        """Return an invite link for ``document_id`` with the permissions of ``preset``.

        Args:
            layer: the invite's layer; by default a layer named after the person for a
                preset with its own layer, else the shared layer ``""``.
            view_layers: the layers the invite may view read-only; by default every layer
                (``"*"``) for a preset that views all layers, else none.
            listed: False for the host's own window (not in the Invites list).
        """
        admin = self._running_admin()
        if not layer and preset.own_layer:
            layer = _layer_name(name)
        if view_layers is None:
            view_layers = ("*",) if preset.view_all_layers else ()
        jti = new_record_id()
        request = TokenRequest(
            document_id=document_id,
            permissions=preset.permissions,
            layer=layer,
            creator_name=name or None,
            view_layers=view_layers,
            ttl=ttl,
            jti=jti,
        )
        link = admin.invite(self.url, request)
        # The layer is the document's now: windows that list its layers get it at once.
        self._running_server().announce_layers(document_id)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        if listed:
            invites = self._read_invites()
            invites.append(HostedInvite(jti, document_id, name, preset.key, layer, created))
            self._write_invites(invites)
        return link

    def invites(self, document_id: str | None = None) -> list[HostedInvite]:
        """Return the invites this app made (on ``document_id``), oldest first."""
        return [i for i in self._read_invites() if document_id in (None, i.document_id)]

    def revoke(self, jti: str) -> None:
        """Revoke an invite: its holder's window is cut off within a second, for good."""
        admin = self._admin or HostAdmin(self.data_dir)
        admin.revoke(jti)
        invites = [
            dataclasses.replace(i, revoked=True) if i.jti == jti else i
            for i in self._read_invites()
        ]
        self._write_invites(invites)

    def _read_invites(self) -> list[HostedInvite]:
        path = self.data_dir / INVITES_FILE
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("ignoring %s: %s", path, exc)
            return []
        out = []
        for row in rows if isinstance(rows, list) else []:
            try:
                out.append(HostedInvite(**row))
            except TypeError as exc:
                log.warning("ignoring an invite in %s: %s", path, exc)
        return out

    def _write_invites(self, invites: list[HostedInvite]) -> None:
        data = json.dumps([dataclasses.asdict(i) for i in invites], indent=1)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(self.data_dir / INVITES_FILE, data.encode(), mode=0o600)

    def invited_layers(self, document_id: str) -> list[str]:
        """Return the layers invites were made for on ``document_id``, in order (kept in
        the data directory, so yesterday's invites count too): the host's window shows
        them when it joins its own review."""
        admin = self._admin or HostAdmin(self.data_dir)
        return admin.invited_layers(document_id)


def _layer_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in name.strip().lower()).strip("-")
    return cleaned[:40] or "reviewer"
