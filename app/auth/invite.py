"""Invite links: a server address and a token in one line a host can paste into a chat.

The form is ``lamina://join?server=<urlencoded ws://host:port>&token=<jwt>``. The token is
not checked here (only the server can verify it); the link only has to be readable.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from lamina.auth.errors import InviteError

SCHEME = "lamina"
ACTION = "join"
SERVER_SCHEMES = ("ws", "wss")


@dataclass(frozen=True)
class Invite:
    """Where to connect, and the token to present there."""

    server_url: str
    token: str

    def __repr__(self) -> str:
        # A token opens a document: keep it out of logs.
        return f"Invite(server_url={self.server_url!r}, token=<{len(self.token)} chars>)"


def check_server_url(url: str) -> str:
    """Return ``url`` if it is a ``ws://`` or ``wss://`` address with a host.

    Raises:
        InviteError: the url has another scheme, no host, or a bad port.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InviteError(f"bad server url {url!r}: {exc}") from exc
    if parts.scheme not in SERVER_SCHEMES:
        raise InviteError(
            f"bad server url {url!r}: it must start with ws:// or wss://, "
            "like ws://192.168.1.20:8765"
        )
    if not parts.hostname:
        raise InviteError(f"bad server url {url!r}: it names no host")
    if port == 0:
        raise InviteError(f"bad server url {url!r}: port 0 is not a port to connect to")
    if any(ch.isspace() for ch in url):
        raise InviteError(f"bad server url {url!r}: it contains spaces")
    return url


def _check_token_shape(token: str) -> str:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise InviteError("the invite's token is not a jwt: copy the whole invite link again")
    return token


def make_invite_link(server_url: str, token: str) -> str:
    """Return ``lamina://join?server=...&token=...`` for a server and a token."""
    check_server_url(server_url)
    _check_token_shape(token)
    return f"{SCHEME}://{ACTION}?server={quote(server_url, safe='')}&token={token}"


def parse_invite_link(text: str) -> Invite:
    """Return the invite in ``text`` (surrounding whitespace is ignored).

    Raises:
        InviteError: ``text`` is not a complete ``lamina://join`` link.
    """
    link = text.strip()
    prefix = f"{SCHEME}://{ACTION}?"
    if not link.lower().startswith(prefix):
        shown = link if len(link) <= 40 else link[:37] + "..."
        raise InviteError(f"not a lamina invite link: {shown!r} (an invite starts with {prefix})")
    query = urlsplit(link).query
    try:
        fields = parse_qs(query, strict_parsing=True, max_num_fields=16)
    except ValueError as exc:
        raise InviteError("the invite link is damaged: copy the whole link again") from exc
    for name in ("server", "token"):
        values = fields.get(name, [])
        if len(values) != 1 or not values[0]:
            problem = "is missing" if not values else "appears more than once"
            raise InviteError(f"the invite link's {name} {problem}: copy the whole link again")
    server_url = check_server_url(fields["server"][0])
    token = _check_token_shape(fields["token"][0])
    return Invite(server_url=server_url, token=token)
