"""The review server bundled in the app: hosted in-process on 127.0.0.1 for "Host review…".

The server runs on the app's own event loop (it is asyncio code, like the client), listens
on a free port of the loopback interface, and keeps its data in the user data directory
(``…/lamina/hosted``), so a review hosted yesterday is still there today.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from lamina.auth.keys import KeyPair, load_or_create_keypair
from lamina.server.admin import HostAdmin, TokenRequest

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


def default_host_dir() -> Path:
    """Return where the hosted server keeps its documents and keys."""
    return Path(platformdirs.user_data_dir("lamina", appauthor=False)) / "hosted"


class LocalReviewServer:
    """A :class:`~lamina.server.app.LaminaServer` on 127.0.0.1 inside the app.

    Documents and invites go through :class:`~lamina.server.admin.HostAdmin`, as
    ``lamina doc`` and ``lamina invite`` do; this class adds the server's lifetime, its
    address and the invite presets.

    Args:
        data_dir: the server's data directory (documents, layers, signing keys).
        port: the port to listen on; 0 picks a free one (kept for a restart).
    """

    def __init__(self, data_dir: Path | None = None, port: int = 0) -> None:
        self.data_dir = data_dir or default_host_dir()
        self.port = port
        self.keypair: KeyPair | None = None
        self._server: LaminaServer | None = None
        self._admin: HostAdmin | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> int:
        """Start listening (on the same port as before, after a :meth:`stop`); return it."""
        if self._server is not None:
            return self.port
        from lamina.server.app import LaminaServer
        from lamina.server.store import SqliteStore

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.keypair = keypair = await asyncio.to_thread(load_or_create_keypair, self.data_dir)
        store = await asyncio.to_thread(SqliteStore, self.data_dir)
        server = LaminaServer(store, [keypair.public_pem])
        self.port = await server.start("127.0.0.1", self.port)
        self._server = server
        self._admin = HostAdmin(self.data_dir, store=store, keypair=keypair)
        log.info("hosting reviews on %s (data in %s)", self.url, self.data_dir)
        return self.port

    async def stop(self) -> None:
        """Stop the server (clients go offline and keep their edits until it is back)."""
        server, self._server = self._server, None
        self._admin = None
        if server is not None:
            await server.shutdown()

    def _running_admin(self) -> HostAdmin:
        if self._admin is None:
            raise RuntimeError("the review server is not running")
        return self._admin

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
    ) -> str:
        """Return an invite link for ``document_id`` with the permissions of ``preset``.

        Args:
            layer: the invite's layer; by default a layer named after the person for a
                preset with its own layer, else the shared layer ``""``.
            view_layers: the layers the invite may view read-only; by default every layer
                (``"*"``) for a preset that views all layers, else none.
        """
        admin = self._running_admin()
        if not layer and preset.own_layer:
            layer = _layer_name(name)
        if view_layers is None:
            view_layers = ("*",) if preset.view_all_layers else ()
        request = TokenRequest(
            document_id=document_id,
            permissions=preset.permissions,
            layer=layer,
            creator_name=name or None,
            view_layers=view_layers,
            ttl=ttl,
        )
        return admin.invite(self.url, request)

    def invited_layers(self, document_id: str) -> list[str]:
        """Return the layers invites were made for on ``document_id``, in order.

        The protocol cannot list a document's layers; the host knows the ones it handed out
        (kept in the data directory, so yesterday's invites count too), so a lead
        reviewer's window can offer them in its Layers panel.
        """
        admin = self._admin or HostAdmin(self.data_dir)
        return admin.invited_layers(document_id)


def _layer_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in name.strip().lower()).strip("-")
    return cleaned[:40] or "reviewer"
