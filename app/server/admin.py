"""Host administration: the one facade over a server's data directory.

What a host does to run reviews, whether from the command line (``lamina doc``, ``lamina
token``, ``lamina invite``, ``lamina revoke``) or from the app's "Host review…":

- add a PDF once (the same bytes again give the same document), list documents and the
  layers that have changes, remove a document;
- mint tokens and invite links with the host's key pair (``<data>/keys``, made on first use),
  checking every claim *before* a key pair is created;
- remember the layers invites were made for or the HTTP API created
  (``<data>/invited-layers.json``): with the layers that hold records they are the document's
  layers (:meth:`HostAdmin.layer_names`, the API's and the sync protocol's "list layers");
- revoke a token by its ``jti`` (a running server closes its sessions within a second);
- keep the HTTP API's admin secret (``<data>/api-auth-token``, mode 0600).

Example::

    with HostAdmin(data_dir) as admin:
        document = admin.add_document(Path("report.pdf"))
        link = admin.invite("ws://192.168.1.20:9787", TokenRequest(document.document_id))
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from lamina.auth.errors import TtlError
from lamina.auth.invite import check_server_url, make_invite_link
from lamina.auth.keys import KeyPair, load_or_create_keypair
from lamina.auth.permissions import CollaborationPermission
from lamina.auth.tokens import (
    ALL_LAYERS,
    DEFAULT_PERMISSIONS,
    DEFAULT_TTL,
    check_layer_name,
    expand_permissions,
    mint_token,
)
from lamina.fsutil import write_bytes_atomically
from lamina.server.errors import DocumentNotFoundError
from lamina.server.store import DocumentInfo, LayerInfo, NamedLayerStore, SqliteStore, Store

log = logging.getLogger(__name__)

INVITED_LAYERS_FILE = "invited-layers.json"
"""Where, in the data directory, the layers invites were made for are kept."""

API_TOKEN_FILE = "api-auth-token"
"""The HTTP API's admin secret (``Authorization: Token token="…"``), mode 0600."""


@dataclass(frozen=True)
class TokenRequest:
    """The claims of a token to mint (DESIGN §5); see :func:`lamina.auth.mint_token`.

    ``collaboration_permissions`` None leaves the claim out (no restrictions beyond
    ``permissions``); ``()`` restricts everything. ``view_layers`` may hold ``"*"`` (all).
    """

    document_id: str
    permissions: tuple[str, ...] = DEFAULT_PERMISSIONS
    layer: str = ""
    user_id: str | None = None
    creator_name: str | None = None
    collaboration_permissions: tuple[str, ...] | None = None
    default_group: str | None = None
    view_layers: tuple[str, ...] = ()
    ttl: timedelta = DEFAULT_TTL
    jti: str | None = None


def check_token_request(request: TokenRequest) -> None:
    """Raise the error :func:`lamina.auth.mint_token` would, without needing a key.

    Raises:
        TokenClaimsInvalid: an unknown permission, or a bad layer name.
        PermissionStringError: a malformed collaboration permission.
        TtlError: a lifetime of zero or less.
    """
    expand_permissions(request.permissions)
    check_layer_name(request.layer)
    for name in request.view_layers:
        if name != ALL_LAYERS:
            check_layer_name(name, "view_layers")
    for text in request.collaboration_permissions or ():
        CollaborationPermission.parse(text)
    if request.ttl.total_seconds() <= 0:
        raise TtlError("token lifetime must be longer than zero")


class HostAdmin:
    """A host's documents, invites and revocations in one data directory.

    Args:
        data_dir: the server's data directory (``--data``): keys, store, assets.
        store: the open store of a running server in this process; None opens the data
            directory's SQLite store when first needed (and :meth:`close` closes it).
        keypair: the host's key pair when already loaded; None loads it (or makes one) from
            ``data_dir`` at the first token.

    Methods block on disk and database I/O: call them off an event loop
    (``asyncio.to_thread``) where that matters.
    """

    def __init__(
        self, data_dir: Path, *, store: Store | None = None, keypair: KeyPair | None = None
    ) -> None:
        self.data_dir = Path(data_dir)
        self._store = store
        self._owns_store = store is None
        self._keypair = keypair

    # --- documents ------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The store (opened on first use when none was given)."""
        if self._store is None:
            self._store = SqliteStore(self.data_dir)
        return self._store

    def add_document(self, pdf: Path, document_id: str | None = None) -> DocumentInfo:
        """Add a PDF and return its document; the same bytes added again return the same one.

        With ``document_id``, the document gets that id (and adding the same bytes under the
        same id again returns it); without, a document holding the same bytes is reused, or
        the new one gets a ULID.

        Raises:
            lamina.pdf.errors.PdfError: not a PDF, damaged, encrypted, ... (one line).
            DocumentExistsError: ``document_id`` holds another PDF.
            InvalidNameError: ``document_id`` is not a valid id.
            OSError: the file cannot be read.
        """
        from lamina.server.documents import add_document_file  # imports pymupdf

        digest = hashlib.sha256(Path(pdf).read_bytes()).hexdigest()
        for existing in self.store.list_documents():
            if existing.sha256 == digest and document_id in (None, existing.document_id):
                return existing
        return add_document_file(self.store, pdf, document_id)

    def add_document_bytes(
        self, data: bytes, filename: str, document_id: str | None = None
    ) -> DocumentInfo:
        """Add a PDF given as bytes (an HTTP upload) as :meth:`add_document` adds a file."""
        import tempfile

        name = Path(filename).name or "document.pdf"
        with tempfile.TemporaryDirectory(prefix="lamina-upload-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            return self.add_document(path, document_id)

    def documents(self) -> list[DocumentInfo]:
        """Return every document, oldest first."""
        return self.store.list_documents()

    def document(self, document_id: str) -> DocumentInfo:
        """Return one document.

        Raises:
            DocumentNotFoundError: no such document.
        """
        info = self.store.get_document(document_id)
        if info is None:
            raise DocumentNotFoundError(f"no document {document_id!r}")
        return info

    def layers(self, document_id: str) -> list[LayerInfo]:
        """Return the layers of a document that have changes, by name.

        Raises:
            DocumentNotFoundError: no such document.
        """
        self.document(document_id)
        return self.store.list_layers(document_id)

    def remove_document(self, document_id: str) -> None:
        """Remove a document, its layers and (when no other document uses it) its PDF.

        Raises:
            DocumentNotFoundError: no such document.
        """
        self.store.remove_document(document_id)

    # --- tokens and invites ---------------------------------------------------------------

    def mint_token(self, request: TokenRequest, *, algorithm: str | None = None) -> str:
        """Return a token signed with the host's key and remember its layer.

        Every claim is checked before the key pair is loaded, so bad input never creates one.

        Args:
            request: the claims.
            algorithm: RS256, RS512, ES256 or ES512: that of a new key pair (ES256 when
                None); an existing key signs with its own unless told otherwise.

        Raises:
            AuthError: a claim is invalid (see :func:`check_token_request`).
            KeyFileError: the key pair cannot be read, or cannot sign ``algorithm``.
        """
        check_token_request(request)
        if self._keypair is None:
            self._keypair = load_or_create_keypair(self.data_dir, algorithm)
        token = mint_token(
            self._keypair,
            document_id=request.document_id,
            permissions=request.permissions,
            layer=request.layer,
            user_id=request.user_id,
            creator_name=request.creator_name,
            collaboration_permissions=request.collaboration_permissions,
            default_group=request.default_group,
            view_layers=request.view_layers,
            ttl=request.ttl,
            jti=request.jti,
        )
        self._remember_layer(request.document_id, request.layer)
        return token

    def invite(
        self, server_url: str, request: TokenRequest, *, algorithm: str | None = None
    ) -> str:
        """Return a ``lamina://join`` link to ``server_url`` with a token for ``request``.

        Raises:
            InviteError: ``server_url`` is not a ``ws://`` or ``wss://`` address.
            AuthError, KeyFileError: as :meth:`mint_token`.
        """
        check_server_url(server_url)
        return make_invite_link(server_url, self.mint_token(request, algorithm=algorithm))

    def invited_layers(self, document_id: str) -> list[str]:
        """Return the layers tokens were minted for on ``document_id``, oldest first."""
        shared = self._named_layer_store()
        if shared is not None:
            return shared.named_layers(document_id)
        return list(self._read_invited_layers().get(document_id, []))

    def _named_layer_store(self) -> NamedLayerStore | None:
        # PostgreSQL keeps the names itself, so every process lists the same layers; never
        # opens a store just for this (minting a token needs none).
        store = self._store
        return store if isinstance(store, NamedLayerStore) else None

    def revoke(self, jti: str) -> bool:
        """Revoke every token with this ``jti``; return False when it already was."""
        return self.store.revoke(jti)

    # --- layers and the API secret --------------------------------------------------------

    def layer_names(self, document_id: str) -> list[str]:
        """Return the document's layers by name: those created or invited to, and those with
        live records (Document Engine's "list layers"); the default layer ``""`` is left out.

        Raises:
            DocumentNotFoundError: no such document.
        """
        names = {layer.name for layer in self.layers(document_id) if layer.record_count}
        names.update(self.invited_layers(document_id))
        names.discard("")
        return sorted(names)

    def create_layer(self, document_id: str, layer: str) -> None:
        """Remember ``layer`` as a layer of the document (it starts as the PDF's own
        annotations until its first change).

        Raises:
            DocumentNotFoundError: no such document.
            TokenClaimsInvalid: not a valid layer name.
        """
        self.document(document_id)
        check_layer_name(layer)
        self._remember_layer(document_id, layer)

    def forget_layer(self, document_id: str, layer: str) -> None:
        """Stop listing ``layer`` (its records are deleted through the server's room)."""
        shared = self._named_layer_store()
        if shared is not None:
            shared.forget_layer(document_id, layer)
            return
        known = self._read_invited_layers()
        if layer in known.get(document_id, []):
            known[document_id].remove(layer)
            self._write_invited_layers(known)

    def api_auth_token(self) -> str:
        """Return the HTTP API's admin secret, made (mode 0600) on first use."""
        import secrets

        path = self.data_dir / API_TOKEN_FILE
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            text = ""
        if text:
            return text
        # Hex, not URL-safe base64: a secret that begins with '-' reads as an option on
        # command lines (`--api-auth-token SECRET`).
        secret = secrets.token_hex(32)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(path, (secret + "\n").encode(), mode=0o600)
        return secret

    # --- invited layers -------------------------------------------------------------------

    @property
    def _invited_layers_path(self) -> Path:
        return self.data_dir / INVITED_LAYERS_FILE

    def _read_invited_layers(self) -> dict[str, list[str]]:
        path = self._invited_layers_path
        try:
            raw: Any = json.loads(path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # Only a convenience for the Layers panel: a damaged file starts over.
            log.warning("cannot read %s (%s): starting a new list of invited layers", path, exc)
            return {}
        documents = raw.get("documents") if isinstance(raw, dict) else None
        if not isinstance(documents, dict):
            log.warning("%s holds no documents: starting a new list of invited layers", path)
            return {}
        return {
            str(doc): [layer for layer in layers if isinstance(layer, str)]
            for doc, layers in documents.items()
            if isinstance(layers, list)
        }

    def _remember_layer(self, document_id: str, layer: str) -> None:
        shared = self._named_layer_store()
        if shared is not None:
            shared.remember_layer(document_id, layer)
            return
        known = self._read_invited_layers()
        layers = known.setdefault(document_id, [])
        if layer in layers:
            return
        layers.append(layer)
        try:
            self._write_invited_layers(known)
        except OSError as exc:
            # The token is valid either way; only the Layers panel will not offer this layer.
            log.warning("cannot remember invited layer %r of %s: %s", layer, document_id, exc)

    def _write_invited_layers(self, known: dict[str, list[str]]) -> None:
        text = json.dumps({"version": 1, "documents": known}, indent=1, ensure_ascii=False)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(self._invited_layers_path, text.encode("utf-8"))

    # --- closing --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store if this facade opened it."""
        if self._owns_store and self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> HostAdmin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
