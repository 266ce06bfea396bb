"""Copy a review from the embedded SQLite store into PostgreSQL (``lamina migrate``).

Everything is copied as it is: each document with its id, PDF asset, base layer, epoch and
time added; each materialized layer with its epoch, sequence number, records (their own
``seq``, revisions, tombstones and field revisions), applied change ids (each as committed at
the layer's ``seq``, the cautious side) and compaction horizon; every revoked token id.
Because epochs and sequence numbers are kept, a client that knew a layer at some ``seq``
reconnects to the new server and catches up from there, without a snapshot reset (§3.4). The
target must hold no documents yet; the source is only read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lamina.server.compaction import BATCH_ROWS
from lamina.server.errors import StoreError
from lamina.server.store import LayerWrite
from lamina.server.store_postgres import PostgresStore
from lamina.server.store_sqlite import SqliteStore


@dataclass(frozen=True)
class MigrationSummary:
    """What :func:`copy_store` copied."""

    documents: int
    layers: int
    records: int
    revocations: int

    def __str__(self) -> str:
        return (
            f"{self.documents} documents, {self.layers} layers, {self.records} records, "
            f"{self.revocations} revoked tokens"
        )


def copy_store(
    source: SqliteStore,
    target: PostgresStore,
    named_layers: Mapping[str, Sequence[str]] | None = None,
) -> MigrationSummary:
    """Copy every document, layer, record and revocation of ``source`` into ``target``.

    ``named_layers``: the layers created or invited to per document (the data directory's
    ``invited-layers.json``, :meth:`HostAdmin.invited_layers`), kept in ``target`` too.

    Each document is copied in one transaction, then each of its layers in one; a layer is
    read back and compared before the next document starts.

    Raises:
        StoreError: ``target`` already holds documents, or a copy does not match its source.
    """
    existing = target.list_documents()
    if existing:
        raise StoreError(
            f"the target database already holds {len(existing)} documents "
            f"(e.g. {existing[0].document_id!r}): migrate into an empty database"
        )
    layers = records = 0
    documents = source.list_documents()
    for info in documents:
        target.import_document(
            info, source.read_asset(info.sha256), source.base_records(info.document_id)
        )
        for layer in source.list_layers(info.document_id):
            loaded = source.load_layer(info.document_id, layer.name)
            target.commit(
                [
                    LayerWrite(
                        info.document_id,
                        layer.name,
                        loaded.epoch,
                        loaded.seq,
                        loaded.records,
                        list(loaded.change_results.items()),
                        base_seq=0,
                    )
                ]
            )
            if loaded.history_from:
                # What the source compacted away is gone from the copy too: a catch-up from
                # below its horizon must be a reset there as well (lamina.server.compaction).
                while (
                    max(
                        target.drop_history(
                            info.document_id,
                            layer.name,
                            loaded.epoch,
                            loaded.history_from,
                            BATCH_ROWS,
                        )
                    )
                    == BATCH_ROWS
                ):
                    pass
            copied = target.load_layer(info.document_id, layer.name)
            if (copied.epoch, copied.seq, copied.records, copied.history_from) != (
                loaded.epoch,
                loaded.seq,
                loaded.records,
                loaded.history_from,
            ):
                raise StoreError(
                    f"layer {layer.name!r} of {info.document_id!r} did not copy exactly"
                )
            layers += 1
            records += len(loaded.records)
        for name in (named_layers or {}).get(info.document_id, ()):
            target.remember_layer(info.document_id, name)
    revoked = source.revocations()
    for jti, revoked_at in revoked:
        target.revoke(jti, revoked_at)
    return MigrationSummary(len(documents), layers, records, len(revoked))
