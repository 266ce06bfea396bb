"""The server's durable store: the ``Store`` port and the values that cross it.

The store holds documents (their PDF assets, stored once by SHA-256), the base layer of each
document (the PDF's own annotations), the records of every named layer with their sequence
numbers, the result of every applied change (for idempotence, §4.2), the ``seq`` each replica
acknowledged (for history compaction, lamina.server.compaction) and the revoked token ids.
The server writes through :class:`Store` only; two implementations sit behind it (DESIGN §8):

- :class:`lamina.server.store_sqlite.SqliteStore`, the embedded default (one SQLite file and an
  ``assets/`` folder in the data directory);
- :class:`lamina.server.store_postgres.PostgresStore`, for several server processes on one
  PostgreSQL (``lamina serve --database postgresql://...``).

``SqliteStore``, ``DATABASE_NAME`` and ``ASSETS_DIR`` are still importable from here (loaded on
first use, so this module never imports an implementation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, overload, runtime_checkable

from lamina.model.ids import RecordId
from lamina.server.compaction import CompactingStore
from lamina.server.errors import InvalidNameError, StoreError
from lamina.sync.json_text import LazyJsonObject, dumps
from lamina.sync.layer import LayerState
from lamina.sync.state import RecordState
from ulid import ULID

if TYPE_CHECKING:
    from lamina.server.store_sqlite import ASSETS_DIR as ASSETS_DIR
    from lamina.server.store_sqlite import DATABASE_NAME as DATABASE_NAME
    from lamina.server.store_sqlite import SqliteStore as SqliteStore

_DOCUMENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_LAYER_NAME = 256


def check_document_id(document_id: str) -> str:
    """Return ``document_id`` if the server accepts it, else raise :class:`InvalidNameError`."""
    if not _DOCUMENT_ID_RE.match(document_id):
        raise InvalidNameError(
            f"invalid document id {document_id!r}: use 1-128 letters, digits, '.', '_' or '-'"
        )
    return document_id


def check_layer_name(layer: str) -> str:
    """Return ``layer`` if it is a valid Instant layer name (no ``*``, at most 256 chars)."""
    if "*" in layer or len(layer) > MAX_LAYER_NAME:
        raise InvalidNameError(
            f"invalid layer name {layer[:40]!r}: at most {MAX_LAYER_NAME} characters, no '*'"
        )
    return layer


@dataclass(frozen=True)
class DocumentInfo:
    """A stored document: one PDF asset."""

    document_id: str
    sha256: str
    size: int
    page_count: int
    filename: str
    added_at: str
    epoch: str
    """Epoch of the document's layers until one is reset (§3.4)."""
    base_record_count: int = 0


@dataclass(frozen=True)
class LayerInfo:
    """A named layer that has been changed at least once (materialized, §5.1)."""

    document_id: str
    name: str
    epoch: str
    seq: int
    record_count: int


@dataclass(frozen=True)
class LoadedLayer:
    """Everything a room needs to serve a layer (§3.5).

    ``materialized`` is false while the layer still mirrors the base layer; ``records`` are
    then the base records. ``records`` are the live ones and the tombstones above the
    layer's compaction horizon ``history_from`` (lamina.server.compaction): a catch-up from
    below it cannot be exact and gets a snapshot (§3.3).
    """

    document: DocumentInfo
    layer: str
    epoch: str
    seq: int
    materialized: bool
    records: tuple[RecordState, ...]
    change_results: Mapping[str, Any]
    history_from: int = 0

    def state(self) -> LayerState:
        """Return the sync core's state of the layer as loaded: the records with their
        remembered change results (read when a change id comes again, not here) and the
        compaction horizon (below it a catch-up is a snapshot, a reset); a layer that still
        mirrors the base layer starts from the base records."""
        if not self.materialized:
            return LayerState.from_base(self.records, self.epoch)
        return LayerState.from_records(
            self.records,
            self.seq,
            self.epoch,
            stored_results=self.change_results,
            history_from=self.history_from,
        )


class StoredJson(Mapping[str, Any]):
    """A read-only mapping of keys to values a store keeps as JSON text, each parsed when it
    is first looked up (a layer's remembered change results: a cold load reads them all
    and parses none; a change id seen again parses its one result, §4.2)."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self._texts = texts
        self.parsed = 0
        """How many values were parsed so far (for tests)."""

    def __getitem__(self, key: str) -> Any:
        text = self._texts[key]
        self.parsed += 1
        return json.loads(text)

    def __contains__(self, key: object) -> bool:
        return key in self._texts

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


def stored_record(
    record_id: str,
    kind: str,
    rev: int,
    seq: int,
    content_text: str | None,
    deleted: bool,
    creator_id: str | None,
    group: str | None,
    created_at: str | None,
    updated_at: str | None,
    field_revs_text: str,
    shared: SharedStrings | None = None,
) -> RecordState:
    """Return a record state read from a store row, in its compact form: its content stays
    the stored text (parsed when read; a join sends it as stored, never encoding it again),
    and its ``field_revs`` are parsed only when an update needs them. A bulk load passes one
    ``shared`` for all its rows."""
    if shared is not None:
        kind, creator_id, group = shared(kind), shared(creator_id), shared(group)
        created_at, updated_at = shared(created_at), shared(updated_at)
    revs: Mapping[str, int] = (
        _NO_FIELD_REVS if field_revs_text == "{}" else LazyJsonObject(field_revs_text)
    )
    return RecordState.from_text(
        RecordId(record_id),
        kind,
        rev,
        seq,
        content_text,
        deleted=deleted,
        creator_id=creator_id,
        group=group,
        created_at=created_at,
        updated_at=updated_at,
        field_revs=revs,
    )


def record_row(document_id: str, layer: str, r: RecordState) -> tuple[Any, ...]:
    """Return the ``records`` row of ``r`` as both stores write it (the inverse of
    :func:`stored_record`): document, layer, id, kind, rev, seq, content text (None for a
    tombstone), deleted, creator, group, created, updated, ``field_revs`` text."""
    return (
        document_id,
        layer,
        r.id,
        r.kind,
        r.rev,
        r.seq,
        r.content_text if r.has_content else None,
        r.deleted,
        r.creator_id,
        r.group,
        r.created_at,
        r.updated_at,
        dumps(dict(r.field_revs)),
    )


_NO_FIELD_REVS: Mapping[str, int] = MappingProxyType({})
"""The ``field_revs`` of every record stored without any (one shared, read-only)."""


class SharedStrings:
    """One copy of each equal string of a bulk load: a layer's rows repeat a few kinds,
    creators, groups and (for records imported together) timestamps; a separate str object
    for each would cost a room of 100,000 records tens of megabytes."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    @overload
    def __call__(self, value: str) -> str: ...
    @overload
    def __call__(self, value: None) -> None: ...
    @overload
    def __call__(self, value: str | None) -> str | None: ...
    def __call__(self, value: str | None) -> str | None:
        return None if value is None else self._seen.setdefault(value, value)


@dataclass(frozen=True)
class LayerWrite:
    """One layer's part of a group commit: its new sequence number and changed records."""

    document_id: str
    layer: str
    epoch: str
    seq: int
    records: Sequence[RecordState]
    change_results: Sequence[tuple[str, Any]] = ()
    """``(change_id, result)`` pairs; ``result`` is JSON-ready and returned again (§4.2)."""
    base_seq: int | None = None
    """The layer ``seq`` the write was prepared on. A store shared by several processes
    commits the write only while the layer is still at it (else :class:`LayerAdvancedError`),
    so two processes never hand out the same ``seq``; None: not checked."""


@dataclass(frozen=True)
class LayerChanges:
    """What a layer committed after some ``seq`` (:meth:`Store.changes_after`), read in one
    snapshot of the store."""

    epoch: str
    seq: int
    records: tuple[RecordState, ...]
    """The records changed since, in ``seq`` order."""
    change_results: Mapping[str, Any]
    """The change ids applied since, with their stored results."""
    history_from: int = 0
    """The layer's compaction horizon: when above the ``seq`` asked for, tombstones and
    change ids in between are gone and these changes are not the whole story."""


class LayerAdvancedError(StoreError):
    """Another process committed to the layer since the write was prepared on it."""


class Store(CompactingStore, Protocol):
    """Where the server keeps everything that must survive a restart; its history is
    compacted through the :class:`~lamina.server.compaction.CompactingStore` methods."""

    def add_document(
        self,
        document_id: str,
        pdf_bytes: bytes,
        *,
        page_count: int,
        filename: str,
        base_records: Sequence[RecordState],
    ) -> DocumentInfo:
        """Store a PDF asset (once per content) and its base layer."""

    def get_document(self, document_id: str) -> DocumentInfo | None:
        """Return the document, or None."""

    def list_documents(self) -> list[DocumentInfo]:
        """Return every document, oldest first."""

    def remove_document(self, document_id: str) -> None:
        """Delete a document, its layers and (when unused) its asset."""

    def read_asset(self, sha256: str) -> bytes:
        """Return the bytes of a stored PDF asset."""

    def list_layers(self, document_id: str) -> list[LayerInfo]:
        """Return the materialized layers of a document."""

    def load_layer(self, document_id: str, layer: str) -> LoadedLayer:
        """Return a layer's state (the base layer's while it is not materialized)."""

    def changes_after(self, document_id: str, layer: str, seq: int) -> LayerChanges | None:
        """Return what a materialized layer committed after ``seq``, in one snapshot, read
        by ``seq`` (indexed: O(changes), never O(records)); None while the layer is not
        materialized (or there is no such document). A cold catch-up reads this instead of
        the whole layer (:mod:`lamina.server.rooms_catch_up`)."""

    def commit(self, writes: Sequence[LayerWrite]) -> None:
        """Write every layer change of a group commit in one transaction (§4.3)."""

    def revoke(self, jti: str) -> bool:
        """Record a revoked token id; return False when it already was."""

    def revoked_jtis(self) -> frozenset[str]:
        """Return every revoked token id."""

    def checkpoint(self) -> None:
        """Make committed writes durable against power loss (may block; call off the loop)."""

    def close(self) -> None:
        """Release the store's resources."""


@runtime_checkable
class LoopCommitStore(Protocol):
    """A store that can also commit from the event loop without blocking it (PostgreSQL:
    a commit is a network round trip); the group-commit writer then needs no thread
    (:mod:`lamina.server.writer`)."""

    async def commit_on_loop(self, writes: Sequence[LayerWrite]) -> None:
        """:meth:`Store.commit`, awaited on the running event loop."""


@runtime_checkable
class NamedLayerStore(Protocol):
    """A store that keeps the names of the layers created or invited to (PostgreSQL, so
    every process lists them); with any other store they live in the data directory
    (:class:`lamina.server.admin.HostAdmin`)."""

    def remember_layer(self, document_id: str, layer: str) -> None:
        """Keep ``layer`` as a layer of the document (nothing when the document is unknown)."""

    def forget_layer(self, document_id: str, layer: str) -> None:
        """Stop keeping ``layer`` as a layer of the document."""

    def named_layers(self, document_id: str) -> list[str]:
        """Return the layers kept for the document, oldest first."""


def new_epoch() -> str:
    """Return a fresh layer epoch (§3.4)."""
    return str(ULID())


_SQLITE_NAMES = frozenset({"SqliteStore", "DATABASE_NAME", "ASSETS_DIR"})


def __getattr__(name: str) -> Any:
    # The SQLite names lived here before the split; importers keep working.
    if name in _SQLITE_NAMES:
        from lamina.server import store_sqlite

        return getattr(store_sqlite, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
