"""The PostgreSQL store's schema: an ordered list of versioned steps, applied by the server.

:data:`MIGRATIONS` is the schema's whole history, oldest first; ``lamina_schema_version``
records the steps a database has had. :func:`migrate_schema` (run by every
:class:`~lamina.server.store_postgres.PostgresStore` as it opens) applies what is missing, in
order, in one transaction under an advisory lock, so processes starting at once never apply a
step twice. A database migrated by a newer Lamina is refused rather than misread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from lamina.server.errors import StoreError


@dataclass(frozen=True)
class Migration:
    """One step of the schema's history: applied once, in order, in one transaction."""

    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "documents, assets, base layers, layer records, applied changes, revocations",
        """
        CREATE TABLE assets (
            sha256 TEXT PRIMARY KEY,
            data BYTEA NOT NULL
        );
        ALTER TABLE assets ALTER COLUMN data SET STORAGE EXTERNAL;
        CREATE TABLE documents (
            id TEXT PRIMARY KEY,
            sha256 TEXT NOT NULL REFERENCES assets (sha256),
            size BIGINT NOT NULL,
            page_count INTEGER NOT NULL,
            filename TEXT NOT NULL,
            added_at TEXT NOT NULL,
            epoch TEXT NOT NULL
        );
        CREATE TABLE base_records (
            document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            record_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            kind TEXT NOT NULL,
            content TEXT NOT NULL,
            PRIMARY KEY (document_id, record_id)
        );
        CREATE TABLE layers (
            document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            epoch TEXT NOT NULL,
            seq BIGINT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (document_id, name)
        );
        CREATE SEQUENCE records_order;
        CREATE TABLE records (
            document_id TEXT NOT NULL,
            layer TEXT NOT NULL,
            record_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            rev BIGINT NOT NULL,
            seq BIGINT NOT NULL,
            content TEXT,
            deleted BOOLEAN NOT NULL,
            creator_id TEXT,
            grp TEXT,
            created_at TEXT,
            updated_at TEXT,
            field_revs TEXT NOT NULL,
            -- SQLite's rowid: the order of writes among records of one seq.
            ord BIGINT NOT NULL DEFAULT nextval('records_order'),
            PRIMARY KEY (document_id, layer, record_id),
            FOREIGN KEY (document_id, layer) REFERENCES layers (document_id, name)
                ON DELETE CASCADE
        );
        CREATE INDEX records_by_seq ON records (document_id, layer, seq, ord);
        CREATE TABLE applied_changes (
            document_id TEXT NOT NULL,
            layer TEXT NOT NULL,
            change_id TEXT NOT NULL,
            result TEXT NOT NULL,
            PRIMARY KEY (document_id, layer, change_id),
            FOREIGN KEY (document_id, layer) REFERENCES layers (document_id, name)
                ON DELETE CASCADE
        );
        CREATE TABLE revoked_tokens (
            jti TEXT PRIMARY KEY,
            revoked_at TEXT NOT NULL
        );
        """,
    ),
    Migration(
        2,
        "applied changes remember the layer seq they committed at (cross-process catch-up)",
        """
        ALTER TABLE applied_changes ADD COLUMN seq BIGINT;
        CREATE INDEX applied_changes_by_seq ON applied_changes (document_id, layer, seq);
        """,
    ),
    Migration(
        3,
        "the layers created or invited to, kept for every process (the data directory's "
        "invited-layers.json on SQLite)",
        """
        CREATE TABLE named_layers (
            document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            ord BIGINT GENERATED ALWAYS AS IDENTITY,
            PRIMARY KEY (document_id, name)
        );
        """,
    ),
    Migration(
        4,
        "history compaction: applied change ids remember when they committed, layers their "
        "compaction horizon; the replicas of each layer and the seq each acknowledged",
        """
        ALTER TABLE applied_changes ADD COLUMN committed_at TEXT;
        -- Rows from before: as late as can be (their layer's seq now, committed now).
        UPDATE applied_changes a SET seq = coalesce(a.seq, l.seq),
            committed_at = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
            FROM layers l WHERE l.document_id = a.document_id AND l.name = a.layer;
        ALTER TABLE layers ADD COLUMN compacted_seq BIGINT NOT NULL DEFAULT 0;
        CREATE INDEX records_tombstones ON records (document_id, layer, seq) WHERE deleted;
        CREATE TABLE replicas (
            document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            layer TEXT NOT NULL,
            client_id TEXT NOT NULL,
            epoch TEXT NOT NULL,
            seq BIGINT NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (document_id, layer, client_id)
        );
        """,
    ),
    Migration(
        5,
        "a group commit in one call: lamina_commit writes, commits, then announces (one "
        "round trip; see PostgresStore.commit)",
        """
        CREATE PROCEDURE lamina_commit(writes jsonb, INOUT unannounced text DEFAULT NULL)
        LANGUAGE plpgsql AS $$
        DECLARE
            moved bigint;
        BEGIN
            UPDATE layers AS l SET seq = (v->>3)::bigint
                FROM jsonb_array_elements(writes->'layers') AS v
                WHERE l.document_id = v->>0 AND l.name = v->>1 AND l.epoch = v->>2
                AND (l.seq = (v->>4)::bigint OR (NOT (v->>5)::boolean AND l.seq < (v->>4)::bigint));
            GET DIAGNOSTICS moved = ROW_COUNT;
            IF moved <> jsonb_array_length(writes->'layers') THEN
                RAISE EXCEPTION 'a layer was not where the write was prepared'
                    USING ERRCODE = 'LA001';
            END IF;
            INSERT INTO records AS r (document_id, layer, record_id, kind, rev, seq,
                content, deleted, creator_id, grp, created_at, updated_at, field_revs)
                SELECT v->>0, v->>1, v->>2, v->>3, (v->>4)::bigint, (v->>5)::bigint, v->>6,
                    (v->>7)::boolean, v->>8, v->>9, v->>10, v->>11, v->>12
                FROM jsonb_array_elements(writes->'records') WITH ORDINALITY AS e(v, n) ORDER BY n
                ON CONFLICT (document_id, layer, record_id) DO UPDATE SET
                kind = EXCLUDED.kind, rev = EXCLUDED.rev, seq = EXCLUDED.seq,
                content = EXCLUDED.content, deleted = EXCLUDED.deleted,
                creator_id = EXCLUDED.creator_id, grp = EXCLUDED.grp,
                created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
                field_revs = EXCLUDED.field_revs, ord = EXCLUDED.ord;
            INSERT INTO applied_changes (document_id, layer, change_id, result, seq, committed_at)
                SELECT v->>0, v->>1, v->>2, v->>3, (v->>4)::bigint, v->>5
                FROM jsonb_array_elements(writes->'changes') AS v
                ON CONFLICT (document_id, layer, change_id) DO UPDATE SET
                result = EXCLUDED.result, seq = EXCLUDED.seq, committed_at = EXCLUDED.committed_at;
            COMMIT;
            BEGIN
                PERFORM set_config('synchronous_commit', 'off', true);
                PERFORM pg_notify(v->>0, v->>1) FROM jsonb_array_elements(writes->'notes') AS v;
            EXCEPTION WHEN OTHERS THEN
                unannounced := SQLERRM;
            END;
        END
        $$;
        """,
    ),
    Migration(
        6,
        "the layer channels each process listens to (layer_listeners): a commit is announced "
        "only to a layer another process has a room for",
        """
        CREATE TABLE layer_listeners (
            channel TEXT NOT NULL,
            origin TEXT NOT NULL,
            pid INTEGER NOT NULL,
            PRIMARY KEY (channel, origin)
        );
        CREATE OR REPLACE PROCEDURE lamina_commit(writes jsonb, INOUT unannounced text DEFAULT NULL)
        LANGUAGE plpgsql AS $$
        DECLARE
            moved bigint;
        BEGIN
            UPDATE layers AS l SET seq = (v->>3)::bigint
                FROM jsonb_array_elements(writes->'layers') AS v
                WHERE l.document_id = v->>0 AND l.name = v->>1 AND l.epoch = v->>2
                AND (l.seq = (v->>4)::bigint OR (NOT (v->>5)::boolean AND l.seq < (v->>4)::bigint));
            GET DIAGNOSTICS moved = ROW_COUNT;
            IF moved <> jsonb_array_length(writes->'layers') THEN
                RAISE EXCEPTION 'a layer was not where the write was prepared'
                    USING ERRCODE = 'LA001';
            END IF;
            INSERT INTO records AS r (document_id, layer, record_id, kind, rev, seq,
                content, deleted, creator_id, grp, created_at, updated_at, field_revs)
                SELECT v->>0, v->>1, v->>2, v->>3, (v->>4)::bigint, (v->>5)::bigint, v->>6,
                    (v->>7)::boolean, v->>8, v->>9, v->>10, v->>11, v->>12
                FROM jsonb_array_elements(writes->'records') WITH ORDINALITY AS e(v, n) ORDER BY n
                ON CONFLICT (document_id, layer, record_id) DO UPDATE SET
                kind = EXCLUDED.kind, rev = EXCLUDED.rev, seq = EXCLUDED.seq,
                content = EXCLUDED.content, deleted = EXCLUDED.deleted,
                creator_id = EXCLUDED.creator_id, grp = EXCLUDED.grp,
                created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
                field_revs = EXCLUDED.field_revs, ord = EXCLUDED.ord;
            INSERT INTO applied_changes (document_id, layer, change_id, result, seq, committed_at)
                SELECT v->>0, v->>1, v->>2, v->>3, (v->>4)::bigint, v->>5
                FROM jsonb_array_elements(writes->'changes') AS v
                ON CONFLICT (document_id, layer, change_id) DO UPDATE SET
                result = EXCLUDED.result, seq = EXCLUDED.seq, committed_at = EXCLUDED.committed_at;
            COMMIT;
            BEGIN
                PERFORM set_config('synchronous_commit', 'off', true);
                -- Only a layer another process has a room for (or a layer list: every one).
                PERFORM pg_notify(v->>0, v->>1) FROM jsonb_array_elements(writes->'notes') AS v
                    WHERE (v->>2)::boolean OR EXISTS (SELECT 1 FROM layer_listeners l
                        WHERE l.channel = v->>0 AND l.origin <> writes->>'origin');
            EXCEPTION WHEN OTHERS THEN
                unannounced := SQLERRM;
            END;
        END
        $$;
        """,
    ),
)
"""Every schema step, oldest first. Append new steps; never edit one that has shipped."""

SCHEMA_VERSION = MIGRATIONS[-1].version
_MIGRATION_LOCK = 0x4C414D494E41  # "LAMINA": the advisory lock id of schema migration


def migrate_schema(conn: psycopg.Connection[Any]) -> int:
    """Apply every migration the database lacks, in order; return the schema version.

    Raises:
        StoreError: the database was migrated by a newer Lamina.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS lamina_schema_version ("
            "version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
            "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        row = conn.execute("SELECT max(version) FROM lamina_schema_version").fetchone()
        current = 0 if row is None or row[0] is None else int(row[0])
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"the database's schema is version {current}, newer than this lamina's "
                f"{SCHEMA_VERSION}: upgrade lamina"
            )
        for step in MIGRATIONS:
            if step.version <= current:
                continue
            conn.execute(step.sql.encode())
            conn.execute(
                "INSERT INTO lamina_schema_version (version, description) VALUES (%s, %s)",
                (step.version, step.description),
            )
            current = step.version
    return current
