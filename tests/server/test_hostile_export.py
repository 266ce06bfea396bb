"""The PDF paths under hostile use (issue 11 defects 15 and 17), checked with pypdf.

The plain download hides the PDF's own annotations a token's rules hide; PDF builds run in
a bounded pool of worker processes, so a flood of exports never runs on the event loop.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lamina.auth import mint_token, verify_token
from lamina.auth.keys import load_or_create_keypair
from lamina.server.access import Access
from lamina.server.documents import add_document_file
from lamina.server.export import ExportBusy, ExportPool, build_off_loop, plain_pdf
from lamina.server.store import DocumentInfo
from lamina.server.store_sqlite import SqliteStore
from pypdf import PdfReader

from tests.support.corpus import STAMPS, corpus_pdf


@pytest.fixture
def stamps(tmp_path: Path) -> Iterator[tuple[SqliteStore, DocumentInfo]]:
    store = SqliteStore(tmp_path / "data")
    try:
        yield store, add_document_file(store, corpus_pdf(STAMPS), "stamps")
    finally:
        store.close()


def _annotation_count(data: bytes) -> int:
    return sum(len(page.get("/Annots") or []) for page in PdfReader(io.BytesIO(data)).pages)


def _visible(tmp_path: Path, rules: list[str] | None):  # type: ignore[no-untyped-def]
    keypair = load_or_create_keypair(tmp_path / "keys")
    token = mint_token(keypair, document_id="stamps", collaboration_permissions=rules)
    return Access(verify_token(token, keypair.public_pem)).view_rule(None)


def test_the_plain_download_leaves_out_annotations_the_token_may_not_view_15(
    tmp_path: Path, stamps: tuple[SqliteStore, DocumentInfo]
) -> None:
    store, document = stamps
    original = store.read_asset(document.sha256)
    assert _annotation_count(original) >= 1
    everything = _visible(tmp_path, None)
    assert everything is None
    assert plain_pdf(store, document, everything) == original
    only_comments = _visible(tmp_path, ["comments:view:all"])
    hidden = plain_pdf(store, document, only_comments)
    assert _annotation_count(hidden) == 0
    assert len(PdfReader(io.BytesIO(hidden)).pages) == len(PdfReader(io.BytesIO(original)).pages)
    # The same through the server's off-loop entry point.
    off = asyncio.run(build_off_loop(store, document, [], only_comments, with_layer=False))
    assert _annotation_count(off) == 0


def test_pdf_builds_run_in_a_bounded_pool_of_worker_processes_17(
    stamps: tuple[SqliteStore, DocumentInfo],
) -> None:
    store, document = stamps

    async def scenario() -> None:
        pool = ExportPool(workers=1, queue=1)
        try:
            assert await pool.run(os.getpid) != os.getpid()  # not this process, not the loop
            first = asyncio.ensure_future(pool.run(time.sleep, 1.0))
            second = asyncio.ensure_future(pool.run(time.sleep, 0.0))
            await asyncio.sleep(0)
            with pytest.raises(ExportBusy):
                await pool.run(os.getpid)
            await asyncio.gather(first, second)
            # While a build runs the loop stays free: a timer fires during it.
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            ticker = asyncio.ensure_future(tick())
            data = await build_off_loop(store, document, [], None, with_layer=True)
            ticker.cancel()
            assert ticks > 0
            assert PdfReader(io.BytesIO(data)).pages
        finally:
            pool.close()

    asyncio.run(scenario())


def test_the_desktop_clients_pdf_export_needs_download_15(tmp_path: Path) -> None:
    from lamina.auth.invite import Invite
    from lamina.client.backoff import Backoff
    from lamina.client.document import LaminaDocument
    from lamina.client.errors import ClientError
    from lamina.client.events import ConnectionState
    from lamina.pdf.backend import PdfBackendImpl

    from tests.support.server_thread import ServerThread

    async def export(server: ServerThread, permissions: list[str], name: str) -> Path:
        invite = Invite(
            f"ws://127.0.0.1:{server.port}",
            server.token("stamps", user_id=name, permissions=permissions),
        )
        doc = await LaminaDocument.open_invite(
            invite,
            store_dir=tmp_path / name,
            backoff=Backoff(initial=0.05, maximum=0.3),
            pdf_backend=PdfBackendImpl(),
        )
        try:
            await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
            await asyncio.wait_for(doc.pdf_bytes(), 30)  # read-document: the app shows it
            out = tmp_path / f"{name}.pdf"
            await doc.export_pdf(out)
            return out
        finally:
            await doc.close()

    with ServerThread(tmp_path / "data") as server:
        server.add_document(STAMPS, "stamps")
        allowed = asyncio.run(export(server, ["read-document", "write", "download"], "a"))
        assert PdfReader(io.BytesIO(allowed.read_bytes())).pages
        with pytest.raises(ClientError, match="download"):
            asyncio.run(export(server, ["read-document", "write"], "b"))
        assert not (tmp_path / "b.pdf").exists()


def test_get_document_hides_the_pdfs_own_annotations_the_token_may_not_view_15(
    tmp_path: Path,
) -> None:
    import base64
    import hashlib

    from tests.support.protocol_client import join, run
    from tests.support.server_thread import ServerThread

    async def download(server: ServerThread, rules: list[str] | None) -> bytes:
        token = server.token("stamps", collaboration_permissions=rules)
        client, _, _ = await join(server.url, token)
        await client.send({"type": "get_document"})
        pieces = [await client.recv_type("document_chunk", timeout=60)]
        while pieces[-1]["index"] + 1 < pieces[-1]["count"]:
            pieces.append(await client.recv_type("document_chunk", timeout=60))
        await client.ws.close()
        data = b"".join(base64.b64decode(p["data"]) for p in pieces)
        assert hashlib.sha256(data).hexdigest() == pieces[-1]["sha256"]
        return data

    with ServerThread(tmp_path / "data") as server:
        server.add_document(STAMPS, "stamps")
        everything = run(download(server, None))
        only_comments = run(download(server, ["comments:view:all"]))
    assert _annotation_count(everything) >= 1
    assert _annotation_count(only_comments) == 0


def test_welcome_announces_the_filtered_pdf_a_restricted_token_was_sent(tmp_path: Path) -> None:
    """A client compares ``welcome``'s hash with the PDF it has: announcing the original's to
    a token whose rules filter it made that client download it again on every connect."""
    from tests.support.protocol_client import join, run
    from tests.support.server_thread import ServerThread

    async def connect(server: ServerThread, token: str, download: bool) -> tuple[str, str]:
        client, welcome, _ = await join(server.url, token)
        sent = ""
        if download:
            await client.send({"type": "get_document"})
            sent = (await client.recv_type("document_chunk", timeout=60))["sha256"]
        await client.ws.close()
        return welcome["document"]["sha256"], sent

    with ServerThread(tmp_path / "data") as server:
        server.add_document(STAMPS, "stamps")
        token = server.token("stamps", collaboration_permissions=["comments:view:all"])
        _, filtered = run(connect(server, token, download=True))
        announced, _ = run(connect(server, token, download=False))
        full, original = run(connect(server, server.token("stamps"), download=True))
    assert filtered != original
    assert announced == filtered, "welcome names the PDF this token was sent"
    assert full == original


def test_closing_the_pool_ends_the_builds_in_progress_at_once(tmp_path: Path) -> None:
    # `lamina serve` stopping (SIGTERM, Ctrl-C) waited, at interpreter exit, for every build
    # in progress to finish: a layer PDF of 100,000 records kept it up for many seconds
    # after the clients were gone. Nobody is left to receive such a build.
    async def scenario() -> tuple[int, BaseException | None]:
        pool = ExportPool(workers=1, queue=0)
        worker = await pool.run(os.getpid)
        build = asyncio.ensure_future(pool.run(time.sleep, 600))
        await asyncio.sleep(0.3)  # the build is running in the worker
        pool.close()
        try:
            await asyncio.wait_for(build, 30)
        except Exception as exc:  # the build was ended, not finished
            return worker, exc
        return worker, None

    worker, error = asyncio.run(scenario())
    assert error is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the export worker {worker} still runs after the pool closed")


def test_a_stopping_server_stops_waiting_for_its_builds_and_the_pool_serves_on() -> None:
    # A stopping server waited out aiohttp's grace period for an HTTP handler still waiting
    # for a layer PDF (`lamina serve` took 11 s to stop during a 20,000-record build; 1.7 s
    # now). Only the stopping loop's waits end: the pool serves other servers on.
    pool = ExportPool(workers=1, queue=2)

    async def stopping() -> BaseException | None:
        build = asyncio.ensure_future(pool.run(time.sleep, 2.0))
        await asyncio.sleep(0.3)
        pool.cancel_waits()
        try:
            await asyncio.wait_for(build, 1.5)  # before the build could have ended
        except BaseException as exc:  # CancelledError is a BaseException
            return exc
        return None

    async def serving_on() -> int:
        return await pool.run(os.getpid)

    try:
        error = asyncio.run(stopping())
        assert isinstance(error, asyncio.CancelledError), repr(error)
        assert pool.active == 0
        assert asyncio.run(serving_on()) != os.getpid()
    finally:
        pool.close()
