"""The port between a document and where its changes are saved: a server, or its PDF file.

:class:`~lamina.client.document.LaminaDocument` does everything both kinds of document share
(the replica, editing, autosave, waiting for saves, export) and leaves the rest to an
:class:`Upstream`. There are two implementations:

- :class:`lamina.client.review.ReviewUpstream`: a server document; saving sends the outbox
  over the reconnecting :class:`~lamina.client.connection.Connection`, the PDF is the
  server's (cached in the store), other layers can be viewed, peers come and go;
- :class:`lamina.client.standalone.LocalPdfUpstream`: a local PDF; saving writes the
  annotations into the file atomically, the PDF's own annotations are the base, there is no
  connection (``OFFLINE``), no peer and no other layer, and the claims grant everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from lamina.auth.tokens import TokenClaims
from lamina.client.errors import ClientError
from lamina.client.events import ConnectionState, Peer
from lamina.model.ids import RecordId
from lamina.model.records import Record


class Upstream(Protocol):
    """Where a document's saved changes go and its PDF comes from."""

    @property
    def standalone(self) -> bool:
        """True for a local PDF (no server)."""
        ...

    @property
    def pdf_path(self) -> Path | None:
        """The local PDF file; None for a server document."""
        ...

    def claims(self) -> TokenClaims:
        """Return the token's claims, unverified; a local PDF's grant everything.

        Raises:
            ClientError: the stored token's claims are malformed.
        """
        ...

    # --- saving ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Start saving what is pending (the autosave mode said so); do not wait."""
        ...

    async def save(self) -> None:
        """Save every pending change now and wait until it is saved."""
        ...

    # --- the PDF ---------------------------------------------------------------------------

    def base_records(self) -> list[Record]:
        """Return the PDF's own annotations (what an Instant JSON export is a diff against).

        Empty while a server document's PDF is not downloaded (or there is no backend).
        """
        ...

    def original_pdf(self) -> AbstractContextManager[Path]:
        """Return a context giving the original PDF as a file, for the PDF backend.

        Raises:
            DocumentUnavailableError: a server document's PDF is not downloaded yet.
        """
        ...

    async def pdf_bytes(self) -> bytes:
        """Return the PDF's bytes (a server document's: cached, or once downloaded)."""
        ...

    # --- connection and presence -----------------------------------------------------------

    @property
    def connection_state(self) -> ConnectionState: ...

    @property
    def connection_reason(self) -> str: ...

    @property
    def server_behind(self) -> bool:
        """Whether the connection is held because the server is behind (the user decides:
        :meth:`adopt_server_state` goes on), as opposed to stopped for good."""
        ...

    @property
    def peers(self) -> tuple[Peer, ...]: ...

    @property
    def stop_error(self) -> ClientError | None:
        """Why syncing stopped for good (the token was refused); None otherwise."""
        ...

    def connect(self) -> None:
        """Start (or restart) connecting in the background."""
        ...

    async def disconnect(self) -> None:
        """Stop syncing and stay offline."""
        ...

    def adopt_server_state(self) -> None:
        """Take the state of a server that is behind, and send the outbox again."""
        ...

    def set_presence(self, state: Mapping[str, Any]) -> None:
        """Tell the others who this user is and where."""
        ...

    # --- other layers ----------------------------------------------------------------------

    def available_layers(self) -> tuple[str, ...]: ...

    def may_view_layer(self, name: str) -> bool: ...

    def viewed_layers(self) -> list[str]: ...

    async def view_layer(self, name: str) -> list[Record]: ...

    def layer_records(self, name: str) -> list[Record]: ...

    def hide_layer(self, name: str) -> None: ...

    def layer_of(self, record_id: RecordId) -> str | None:
        """Return the other layer being viewed that a record is on, or None."""
        ...

    # --- lifetime --------------------------------------------------------------------------

    async def close(self) -> None:
        """Finish or stop what runs in the background (a save in progress completes)."""
        ...
