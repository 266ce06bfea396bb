"""Bad input and attacks: each gets a clear error and close code; everyone else is served."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from lamina.auth.keys import new_keypair
from ulid import ULID
from websockets.asyncio.client import connect

from tests.server.conftest import Client, ServerThread, create, join, run


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _payload(doc: str, **extra: Any) -> dict[str, Any]:
    payload = {
        "document_id": doc,
        "permissions": ["read-document", "write"],
        "exp": time.time() + 600,
    }
    payload.update(extra)
    return payload


async def _hello_raw(server: ServerThread, token: Any, path: str = "/sync") -> Client:
    ws = await connect(f"ws://127.0.0.1:{server.port}{path}", compression=None)
    client = Client(ws)
    await client.send(
        {
            "type": "hello",
            "protocol": 1,
            "token": token,
            "client_id": str(ULID()),
            "last_seq": None,
            "layer_epoch": None,
            "presence": {},
        }
    )
    return client


async def _still_serves(server: ServerThread, doc: str) -> None:
    """Another client can still connect and get a change acknowledged."""
    other, _, _ = await join(server.url, server.token(doc, user_id="bystander"))
    ack = await other.push(create())
    assert ack["results"][0]["status"] == "applied"
    await other.ws.close()


TOKENS: dict[str, Callable[[ServerThread, str], Any]] = {
    "no token": lambda s, d: "",
    "malformed token": lambda s, d: "not-a-jwt",
    "expired token": lambda s, d: s.token(d, now=time.time() - 10 * 86400),
    "not yet valid": lambda s, d: s.token(d, nbf=time.time() + 3600),
    "wrong signature": lambda s, d: jwt.encode(
        _payload(d), new_keypair("ES256").private_pem, algorithm="ES256"
    ),
    "alg none": lambda s, d: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_payload(d))}.",
    "hs256 with the public key": lambda s, d: _hs256(s, d),
    "document that does not exist": lambda s, d: s.token("no-such-doc"),
}
EXPECTED = {
    "no token": ("unauthorized", 4401),
    "malformed token": ("unauthorized", 4401),
    "expired token": ("token-expired", 4403),
    "not yet valid": ("token-expired", 4403),
    "wrong signature": ("unauthorized", 4401),
    "alg none": ("unauthorized", 4401),
    "hs256 with the public key": ("unauthorized", 4401),
    "document that does not exist": ("forbidden", 4403),
}


def _hs256(server: ServerThread, doc: str) -> str:
    header = _b64({"alg": "HS256", "typ": "JWT"})
    body = _b64(_payload(doc))
    import hashlib
    import hmac

    sig = hmac.new(server.keypair.public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"


@pytest.mark.parametrize("case", sorted(TOKENS))
def test_bad_tokens_are_refused_with_their_code(server: ServerThread, doc: str, case: str) -> None:
    async def scenario() -> None:
        client = await _hello_raw(server, TOKENS[case](server, doc))
        code, frames = await client.closed()
        assert [f["type"] for f in frames] == ["error"]
        assert (frames[0]["code"], code) == EXPECTED[case]
        assert frames[0]["message"]
        await _still_serves(server, doc)

    run(scenario())


def test_token_for_another_document_is_forbidden(server: ServerThread, doc: str) -> None:
    async def scenario() -> None:
        client = await _hello_raw(server, server.token(doc), path="/sync?document=other")
        code, frames = await client.closed()
        assert code == 4403
        assert frames[-1]["code"] == "forbidden"
        assert "other" in frames[-1]["message"]
        await _still_serves(server, doc)

    run(scenario())


def test_revoked_token_is_refused_and_live_session_closed(server: ServerThread, doc: str) -> None:
    async def scenario() -> None:
        live, _, _ = await join(server.url, server.token(doc, jti="gone"))
        store = server.open_store()
        store.revoke("gone")  # as `lamina revoke gone` does from another process
        store.close()
        code, frames = await live.closed()
        assert code == 4403
        assert frames[-1]["code"] == "forbidden"
        again = await _hello_raw(server, server.token(doc, jti="gone"))
        code, frames = await again.closed()
        assert (code, frames[-1]["code"]) == (4403, "forbidden")
        await _still_serves(server, doc)

    run(scenario())


@pytest.mark.parametrize(
    "frame",
    ["{not json", '{"type": "teleport"}', "[1, 2]", '{"type": "push", "changes": [{"op": "x"}]}'],
    ids=["malformed json", "unknown type", "not an object", "bad change"],
)
def test_bad_messages_close_with_bad_message(server: ServerThread, doc: str, frame: str) -> None:
    async def scenario() -> None:
        client, _, _ = await join(server.url, server.token(doc))
        await client.ws.send(frame)
        code, frames = await client.closed()
        assert code == 4400
        assert frames[-1]["type"] == "error" and frames[-1]["code"] == "bad-message"
        await _still_serves(server, doc)

    run(scenario())


def test_oversized_frame_closes_with_1009(server: ServerThread, doc: str) -> None:
    async def scenario() -> None:
        client, _, _ = await join(server.url, server.token(doc))
        await client.ws.send("x" * (5 * 1024 * 1024))
        code, _ = await client.closed()
        assert code == 1009
        await _still_serves(server, doc)

    run(scenario())


def test_flood_is_rate_limited_and_others_unaffected(server: ServerThread, doc: str) -> None:
    async def scenario() -> None:
        bystander, _, _ = await join(server.url, server.token(doc, user_id="calm"))
        flooder, _, _ = await join(server.url, server.token(doc, user_id="loud"))
        presence = json.dumps({"type": "presence", "state": {"page": 1}})
        try:
            for _ in range(2000):
                await flooder.ws.send(presence)
        except Exception:
            pass  # the server closed the socket mid-flood
        code, frames = await flooder.closed()
        assert code == 4429
        assert frames[-1]["code"] == "rate-limited"
        ack = await bystander.push(create())
        assert ack["results"][0]["status"] == "applied"
        await bystander.ws.close()

    run(scenario())


def test_change_naming_another_creator_is_rejected_not_relayed(
    server: ServerThread, doc: str
) -> None:
    async def scenario() -> None:
        mallory, _, _ = await join(server.url, server.token(doc, user_id="mallory"))
        watcher, _, _ = await join(server.url, server.token(doc, user_id="watcher"))
        forged = create(creator_id="alice")
        ack = await mallory.push(forged)
        [result] = ack["results"]
        assert result["status"] == "rejected"
        assert "alice" in result["reason"]
        named = server.token(doc, user_id="eve", creator_name="Eve")
        eve, _, _ = await join(server.url, named)
        ack = await eve.push(create(creatorName="Alice"))
        assert ack["results"][0]["status"] == "rejected"
        ok = await mallory.push(create())
        relayed = await watcher.recv_type("changes")
        # The first frame the watcher gets is the allowed change, never the forged one.
        assert [r["id"] for r in relayed["records"]] == [ok["results"][0]["record_id"]]
        for c in (mallory, watcher, eve):
            await c.ws.close()

    run(scenario())


def test_read_only_token_cannot_write(server: ServerThread, doc: str) -> None:
    async def scenario() -> None:
        reader, _, _ = await join(server.url, server.token(doc, permissions=["read-document"]))
        ack = await reader.push(create())
        assert ack["results"][0]["status"] == "rejected"
        assert "write" in ack["results"][0]["reason"]
        await _still_serves(server, doc)

    run(scenario())


def test_the_log_names_the_close_code_the_server_sent_7_1(
    server: ServerThread, doc: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A client that errors out at our `error` frame may close with its own code before ours
    # reaches it (`websockets` closes with 1011 when its block raises); the log named that
    # code beside our reason ("closed 1011 ... (forbidden: ...)").
    async def scenario() -> None:
        client = await _hello_raw(server, server.token(doc, permissions=["write"]))
        await client.ws.close(code=1011, reason="client gave up")

    with caplog.at_level("INFO", logger="lamina.server"):
        run(scenario())
        deadline = time.monotonic() + 10
        while " closed " not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    closed = [r.getMessage() for r in caplog.records if " closed " in r.getMessage()]
    assert len(closed) == 1, caplog.text
    assert " closed 4403 " in closed[0] and "(forbidden:" in closed[0], closed[0]
