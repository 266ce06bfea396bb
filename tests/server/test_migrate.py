"""``lamina migrate``: a data directory's review copied into PostgreSQL serves the same layers
(the same ``lamina pull`` output), and clients continue where they were, without a snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lamina.cli import main
from lamina.server.store_postgres import PostgresStore

from tests.server.conftest import ServerThread, create, delete, join, run, update

LAYERS = {"stamps": ["", "review", "ann's notes"], "other": ["", "draft"]}


def _pull(
    server: ServerThread, document_id: str, layer: str, capsys: pytest.CaptureFixture[str]
) -> object:
    token = server.token(document_id, layer=layer)
    assert main(["pull", "--server", server.url, "--token", token]) == 0
    return json.loads(capsys.readouterr().out)


def _fill(server: ServerThread) -> dict[tuple[str, str], tuple[str, int]]:
    """Edit every layer of LAYERS (creates, updates, deletes); return each (epoch, seq)."""
    known: dict[tuple[str, str], tuple[str, int]] = {}

    async def scenario() -> None:
        for document_id, layers in LAYERS.items():
            for n, layer in enumerate(layers):
                client, welcome, _ = await join(
                    server.url, server.token(document_id, layer=layer, user_id=f"u{n}")
                )
                a, b = create(), create(strokeColor="#00ff00")
                await client.push(a, b)
                await client.push(update(a["record_id"], 1, bbox=[1, 2, 3 + n, 4]))
                ack = await client.push(delete(b["record_id"], 1))
                known[(document_id, layer)] = (welcome["layer_epoch"], ack["seq"])
                await client.ws.close()

    run(scenario())
    return known


def test_migrated_review_pulls_the_same_and_clients_continue(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    with ServerThread(data) as old:
        old.add_document("annot-stamps", "stamps")
        old.add_document("annot-stamps", "other")
        known = _fill(old)
        revoker = old.open_store()
        revoker.revoke("gone-token")
        revoker.close()
        before = {
            (d, layer): _pull(old, d, layer, capsys)
            for d, layers in LAYERS.items()
            for layer in layers
        }

    assert main(["migrate", "--from", str(data), "--to", postgres_url]) == 0
    out = capsys.readouterr().out
    assert "copied 2 documents, 5 layers" in out
    assert "2 revoked tokens" not in out and "1 revoked tokens" in out

    target = PostgresStore(postgres_url)
    try:
        assert target.revoked_jtis() == frozenset({"gone-token"})
    finally:
        target.close()

    # Both servers at once: the old one on SQLite, the new one on PostgreSQL (same keys).
    with ServerThread(data) as old, ServerThread(data, database=postgres_url) as new:
        for (d, layer), pulled in before.items():
            assert _pull(old, d, layer, capsys) == pulled
            assert _pull(new, d, layer, capsys) == pulled

        async def continue_on_new() -> None:
            for (d, layer), (epoch, seq) in known.items():
                client, _, catch_up = await join(
                    new.url, new.token(d, layer=layer), last_seq=seq, layer_epoch=epoch
                )
                # Up to date at the same epoch: a (empty) catch-up, never a snapshot.
                assert catch_up["type"] != "snapshot", catch_up
                ack = await client.push(create())
                assert ack["seq"] == seq + 1
                await client.ws.close()

        run(continue_on_new())

    # Migrating again into the same database is refused, not doubled.
    assert main(["migrate", "--from", str(data), "--to", postgres_url]) == 1
    assert "already holds 2 documents" in capsys.readouterr().err


def test_migrate_refuses_a_folder_without_a_store(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--from", str(tmp_path), "--to", postgres_url]) == 1
    assert "holds no lamina store" in capsys.readouterr().err


def test_migrate_keeps_the_layers_created_or_invited_to(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from lamina.server.admin import HostAdmin, TokenRequest

    data = tmp_path / "data"
    with ServerThread(data) as old:
        old.add_document("annot-stamps", "stamps")
    with HostAdmin(data) as admin:
        admin.mint_token(TokenRequest("stamps", layer="alice"))
        admin.create_layer("stamps", "bob")  # no records yet: only its name says it exists
    assert main(["migrate", "--from", str(data), "--to", postgres_url]) == 0
    capsys.readouterr()
    store = PostgresStore(postgres_url)
    try:
        # As every process on the database now lists them (HTTP API, list_layers).
        assert HostAdmin(tmp_path / "elsewhere", store=store).layer_names("stamps") == [
            "alice",
            "bob",
        ]
    finally:
        store.close()


def test_a_compacted_layer_keeps_its_horizon_in_postgresql(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The copy lacks what the source compacted away (a tombstone): a client from below the
    horizon must be reset there too, never told an inexact catch-up that misses a delete."""
    from lamina.server.compaction import compact_store

    data = tmp_path / "data"
    with ServerThread(data) as old:
        old.add_document("annot-stamps", "stamps")
        old.add_document("annot-stamps", "other")
        known = _fill(old)
        store = old.open_store()
        try:
            compact_store(store, retention=0.0)
        finally:
            store.close()
    assert main(["migrate", "--from", str(data), "--to", postgres_url]) == 0
    capsys.readouterr()
    epoch, seq = known[("stamps", "")]
    with ServerThread(data, database=postgres_url) as new:

        async def behind() -> None:
            client, _, reset = await join(
                new.url, new.token("stamps"), last_seq=seq - 1, layer_epoch=epoch
            )
            assert reset["type"] == "snapshot", reset
            await client.ws.close()

        run(behind())
