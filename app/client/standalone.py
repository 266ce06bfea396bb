"""A local PDF's upstream: saving writes the annotations into the file (no server).

:class:`LocalPdfUpstream` implements :class:`~lamina.client.upstream.Upstream` for a
standalone document. The PDF's own annotations, read when the file is first opened (or
changed outside Lamina), are the base records; edits wait in the local store's outbox like a
review's, and a save writes the whole view into the PDF through the
:class:`~lamina.client.backend.PdfBackend`, atomically, then folds the saved changes into
the replica as a server's ack would (sync §6, locally). The first save keeps the original
next to it (``NAME.orig.pdf``). A save that dies after replacing the file is finished on the
next open (:func:`open_local_store`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from lamina.auth.tokens import PERMISSIONS, TokenClaims
from lamina.client.backend import PdfBackend
from lamina.client.errors import ClientError, LayerAccessError
from lamina.client.events import ConnectionState, DocumentSaved, Peer, SyncStateChanged
from lamina.client.replica import Replica, kind_of_content, parse_record
from lamina.client.store import LocalStore, default_store_dir, store_path_for
from lamina.fsutil import replace_durably, write_atomically, write_temporary
from lamina.model.ids import RecordId
from lamina.model.records import Record, record_from_json
from lamina.sync.local_replica import replay_changes
from lamina.sync.state import Change, CreateChange, RecordState

log = logging.getLogger("lamina.client")


def local_store_path(pdf_path: Path, store_dir: Path | None = None) -> Path:
    """Return the local store file of a PDF opened standalone (one per absolute path)."""
    return store_path_for(store_dir or default_store_dir(), "local", str(pdf_path.resolve()))


async def open_local_store(
    pdf_path: Path, backend: PdfBackend, store_dir: Path | None, password: str | None
) -> tuple[LocalStore, list[str] | None]:
    """Open the local store of a PDF, making its annotations the base if the file is new.

    Returns the store and, when the last save replaced the file but died before folding its
    changes, the ids of those changes (:meth:`LocalPdfUpstream.finish_interrupted_save`).

    Raises:
        OSError: the file cannot be read.
        LaminaError: the PDF backend cannot read it.
    """
    data_hash = await asyncio.to_thread(file_sha256, pdf_path)
    store = LocalStore.open(local_store_path(pdf_path, store_dir))
    saving = store.meta("saving")
    interrupted = isinstance(saving, dict) and saving.get("sha256") == data_hash
    if data_hash != store.meta("pdf_sha256") and not interrupted:
        # First open, or the file changed outside Lamina: it is the new original.
        base = await asyncio.to_thread(backend.read_base_records, pdf_path, password)
        states = [
            RecordState(id=_base_record_id(r), kind=kind_of_content(r), rev=1, seq=0, content=r)
            for r in base
        ]
        with store.write() as w:
            w.replace_records(s.to_store() for s in states)
            w.set_meta("base_records", base)
            w.set_meta("pdf_sha256", data_hash)
            w.set_meta("source", str(pdf_path))
            w.set_meta("backup", None)
    return store, list(saving["change_ids"]) if interrupted else None


def _base_record_id(content: dict[str, Any]) -> RecordId:
    """Return the id of a record the PDF holds; a form field value's comes from its name."""
    if "id" in content:
        return RecordId(str(content["id"]))
    return record_from_json(content).id


class LocalPdfUpstream:
    """Saves a standalone document's annotations into its PDF file.

    Args:
        replica: the document's replica.
        pdf_path: the PDF (absolute).
        backend: reads and writes the PDF.
        password: the PDF's password, if it has one.
    """

    standalone = True

    def __init__(
        self, replica: Replica, pdf_path: Path, backend: PdfBackend, password: str | None
    ) -> None:
        self._replica = replica
        self._pdf_path = pdf_path
        self._backend = backend
        self._password = password
        self._base: list[Record] | None = None
        self._save_task: asyncio.Task[None] | None = None
        self._save_again = False
        self._closed = False
        self._claims = TokenClaims(
            document_id=str(pdf_path), permissions=frozenset(PERMISSIONS), exp=0
        )
        self.export_diff: Callable[[], dict[str, Any]] = lambda: {}
        """What a save writes: the document's Instant JSON export (set by the document)."""

    @property
    def pdf_path(self) -> Path:
        return self._pdf_path

    def claims(self) -> TokenClaims:
        return self._claims

    # --- saving ---------------------------------------------------------------------------

    def flush(self) -> None:
        if self._save_task is not None and not self._save_task.done():
            self._save_again = True
            return
        self._save_task = asyncio.get_running_loop().create_task(self._autosave_loop())

    async def _autosave_loop(self) -> None:
        self._save_again = True
        while self._save_again and not self._closed:
            self._save_again = False
            try:
                await self._write()
            except Exception as exc:
                # Autosave runs unattended: report and keep the changes pending.
                log.error("autosave of %s failed: %s", self._pdf_path, exc)
                return

    async def save(self) -> None:
        if self._save_task is not None and not self._save_task.done():
            await self._save_task
        await self._write()

    async def _write(self) -> None:
        """Write the view into the PDF atomically, then fold the saved changes (§6 locally)."""
        replica = self._replica
        store = replica.store
        state = replica.session.state
        saved = list(state.outbox)
        # Freeze the saved changes: a later edit must become a new change, not merge into one
        # that is being written.
        state.sent_change_ids.update(c.change_id for c in saved)
        diff = self.export_diff()
        pdf_path = self._pdf_path
        source = Path(store.meta("source"))
        # Write first: a PDF that cannot take annotations (or a full disk) fails here, before
        # a backup copy is made or anything else on disk changes.
        tmp = await asyncio.to_thread(
            write_temporary,
            pdf_path,
            lambda out: self._backend.write_pdf(source, diff, out, password=self._password),
        )
        try:
            if store.meta("backup") is None:
                backup_path = await asyncio.to_thread(make_backup, pdf_path)
                with store.write() as w:
                    w.set_meta("backup", str(backup_path))
                    w.set_meta("source", str(backup_path))
            new_hash = await asyncio.to_thread(file_sha256, tmp)
            # If we die right after the rename, the next open finds the file with this hash
            # and folds exactly these changes (instead of mistaking it for a foreign edit).
            with store.write() as w:
                w.set_meta(
                    "saving", {"sha256": new_hash, "change_ids": [c.change_id for c in saved]}
                )
            await asyncio.to_thread(replace_durably, tmp, pdf_path)
        finally:
            tmp.unlink(missing_ok=True)
        self._fold(saved)
        with store.write() as w:
            w.set_meta("pdf_sha256", new_hash)
            w.set_meta("saving", None)
        replica.emit(DocumentSaved(str(pdf_path)))
        replica.emit(SyncStateChanged(replica.session.pending_count))
        replica.check_waiters()

    def finish_interrupted_save(self, change_ids: list[str]) -> None:
        """Fold the changes of a save that replaced the file but died before folding them."""
        ids = set(change_ids)
        self._fold([c for c in self._replica.session.state.outbox if c.change_id in ids])
        with self._replica.store.write() as w:
            w.set_meta("pdf_sha256", self._replica.store.meta("saving")["sha256"])
            w.set_meta("saving", None)

    def _fold(self, saved: list[Change]) -> None:
        """Move saved changes from the outbox into the replica, as a server's ack would."""
        state = self._replica.session.state
        ids = {c.change_id for c in saved}
        # Only the records these changes touch: a save folds what it saved, O(changes).
        touched = {c.record_id for c in saved}
        contents = replay_changes(
            {
                rid: r.content
                for rid in touched
                if (r := state.replica.get(rid)) is not None and r.content is not None
            },
            saved,
        )
        kinds = {c.record_id: c.kind for c in saved if isinstance(c, CreateChange)}
        for rid in touched:
            content = contents.get(rid)
            old = state.replica.get(rid)
            if content is None:
                state.replica.pop(rid, None)
            elif old is None or old.content != content:
                kind = old.kind if old is not None else kinds.get(rid, kind_of_content(content))
                state.replica[rid] = RecordState(
                    id=rid,
                    kind=kind,
                    rev=(old.rev + 1) if old is not None else 1,
                    seq=0,
                    content=content,
                )
        state.outbox.remove_many(ids)
        state.sent_change_ids -= ids
        self._replica.persist()

    # --- the PDF --------------------------------------------------------------------------

    def base_records(self) -> list[Record]:
        if self._base is None:
            base = self._replica.store.meta("base_records") or []
            self._base = [r for r in map(parse_record, base) if r is not None]
        return self._base

    @contextlib.contextmanager
    def original_pdf(self) -> Iterator[Path]:
        yield Path(self._replica.store.meta("source"))

    async def pdf_bytes(self) -> bytes:
        return await asyncio.to_thread(self._pdf_path.read_bytes)

    # --- no connection, no peers ----------------------------------------------------------

    @property
    def connection_state(self) -> ConnectionState:
        return ConnectionState.OFFLINE

    @property
    def connection_reason(self) -> str:
        return ""

    @property
    def server_behind(self) -> bool:
        return False

    @property
    def peers(self) -> tuple[Peer, ...]:
        return ()

    @property
    def stop_error(self) -> ClientError | None:
        return None  # nothing to stop

    def connect(self) -> None:
        pass  # a local PDF has no server to connect to

    async def disconnect(self) -> None:
        pass  # never connected

    def adopt_server_state(self) -> None:
        pass  # no server, so never behind one

    def set_presence(self, state: Mapping[str, Any]) -> None:
        pass  # nobody to tell

    # --- no other layers ------------------------------------------------------------------

    def available_layers(self) -> tuple[str, ...]:
        return ()

    def may_view_layer(self, name: str) -> bool:
        return False

    def viewed_layers(self) -> list[str]:
        return []

    async def view_layer(self, name: str) -> list[Record]:
        raise LayerAccessError("a local pdf has no other layers to view")

    def layer_records(self, name: str) -> list[Record]:
        raise LayerAccessError(f"layer {name!r} is not being viewed: a local pdf has no layers")

    def hide_layer(self, name: str) -> None:
        pass  # none is viewed

    def layer_of(self, record_id: RecordId) -> str | None:
        return None

    # --- lifetime -------------------------------------------------------------------------

    async def close(self) -> None:
        if self._save_task is not None and not self._save_task.done():
            await self._save_task  # never raises: the autosave loop logs its failure
        self._closed = True


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make_backup(pdf_path: Path) -> Path:
    """Copy the original PDF next to it (``name.orig.pdf``, never overwriting one)."""
    candidate = pdf_path.with_name(f"{pdf_path.stem}.orig{pdf_path.suffix}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = pdf_path.with_name(f"{pdf_path.stem}.orig{n}{pdf_path.suffix}")

    def copy(tmp: Path) -> None:
        shutil.copyfile(pdf_path, tmp)

    # The copy may be read by whoever may read the original: no more, no fewer.
    write_atomically(candidate, copy, mode=pdf_path.stat().st_mode & 0o7777)
    return candidate
