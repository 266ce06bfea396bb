"""Invite links: lamina://join?server=...&token=..."""

from __future__ import annotations

import pytest
from lamina.auth.errors import InviteError
from lamina.auth.invite import Invite, make_invite_link, parse_invite_link

TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJkb2N1bWVudF9pZCI6ImQifQ.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    "server", ["ws://127.0.0.1:8765", "wss://review.example.org", "ws://[::1]:9000/sync"]
)
def test_link_round_trips(server: str) -> None:
    link = make_invite_link(server, TOKEN)
    assert link.startswith("lamina://join?server=ws")
    assert "://" not in link.removeprefix("lamina://")  # the server url is encoded
    assert parse_invite_link(link) == Invite(server, TOKEN)


def test_exact_form_and_surrounding_whitespace() -> None:
    link = make_invite_link("ws://10.0.0.5:8765", TOKEN)
    assert link == f"lamina://join?server=ws%3A%2F%2F10.0.0.5%3A8765&token={TOKEN}"
    assert parse_invite_link(f"  \n{link}\t \n").server_url == "ws://10.0.0.5:8765"


def test_invite_repr_hides_the_token() -> None:
    assert TOKEN not in repr(Invite("ws://h:1", TOKEN))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "not a lamina invite link"),
        ("https://example.org/join?server=x&token=y", "not a lamina invite link"),
        (TOKEN, "not a lamina invite link"),
        ("lamina://join?token=" + TOKEN, "server is missing"),
        ("lamina://join?server=ws%3A%2F%2Fh%3A1", "token is missing"),
        ("lamina://join?server=ws%3A%2F%2Fh%3A1&token=abc", "token is not a jwt"),
        ("lamina://join?server=http%3A%2F%2Fh%3A1&token=" + TOKEN, "must start with ws://"),
        ("lamina://join?server=ws%3A%2F%2Fh%3Axx&token=" + TOKEN, "bad server url"),
        ("lamina://join?server=ws%3A%2F%2F%3A80&token=" + TOKEN, "names no host"),
        (
            f"lamina://join?server=ws%3A%2F%2Fa%3A1&server=ws%3A%2F%2Fb%3A1&token={TOKEN}",
            "server appears more than once",
        ),
        ("lamina://join?&&token", "damaged"),
    ],
)
def test_malformed_links(text: str, problem: str) -> None:
    with pytest.raises(InviteError) as info:
        parse_invite_link(text)
    assert problem in str(info.value)


def test_make_rejects_bad_server_urls() -> None:
    with pytest.raises(InviteError, match="must start with ws:// or wss://"):
        make_invite_link("127.0.0.1:8765", TOKEN)
    with pytest.raises(InviteError, match="port 0"):
        make_invite_link("ws://127.0.0.1:0", TOKEN)
