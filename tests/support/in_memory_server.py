"""In-memory wiring of clients and a server, no sockets, no loop (h11's ``SessionPair`` idea).

:class:`InMemoryServer` holds one :class:`LayerState` and a :class:`ServerSession` per link,
and handles events with the same session code as the real server shell
(``lamina.server``): ``send_welcome`` then ``send_catch_up`` (the one catch-up decision,
``catch_up_for``), apply then ack then relay through one ``ChangesRelay``, presence through
one ``PresenceRelay``. It differs only where a real server does I/O: it applies each commit
at once instead of writing it to a store first. :class:`Link` carries frames both ways with
delivery under the test's control: one frame at a time, all of them, or a disconnect that
loses whatever is in transit.

    server = InMemoryServer()
    alice = ClientSession.new()
    link = server.connect(alice)
    link.pump()                       # hello, welcome, snapshot
    alice.create("annotation", {...}); alice.flush()
    server.pump()                     # push, ack, relay to everyone
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from lamina.sync.client_session import ClientEvent, ClientSession
from lamina.sync.errors import RemoteProtocolError
from lamina.sync.layer import AllowAll, ChangePolicy, LayerCommit, LayerState
from lamina.sync.messages import DocumentInfo, Welcome
from lamina.sync.relays import ChangesRelay, PresenceRelay
from lamina.sync.server_session import (
    DocumentRequested,
    HelloReceived,
    PresenceReceived,
    PushReceived,
    ServerEvent,
    ServerSession,
    ViewLayerRequested,
    Visibility,
)
from lamina.sync.state import Actor


@dataclass
class Link:
    """One connection between a client session and the in-memory server."""

    server: InMemoryServer
    client: ClientSession
    session: ServerSession
    actor: Actor
    visible: Visibility | None = None
    to_server: deque[str] = field(default_factory=deque)
    to_client: deque[str] = field(default_factory=deque)
    open: bool = True
    client_events: list[ClientEvent] = field(default_factory=list)

    def _collect_client(self) -> None:
        if self.open:
            self.to_server.extend(self.client.frames_to_send())

    def deliver_to_server(self, n: int = 1) -> int:
        """Deliver up to ``n`` client frames to the server; return how many went."""
        self._collect_client()
        done = 0
        while done < n and self.open and self.to_server:
            self.server.handle(self, self.to_server.popleft())
            done += 1
        return done

    def deliver_to_client(self, n: int = 1) -> int:
        """Deliver up to ``n`` server frames to the client; return how many went."""
        done = 0
        while done < n and self.open and self.to_client:
            text = self.to_client.popleft()
            self.client_events.extend(self.client.receive_text(text))
            done += 1
        self._collect_client()
        return done

    def pending(self) -> int:
        """Frames in transit on this link (after collecting the client's)."""
        self._collect_client()
        return len(self.to_server) + len(self.to_client)

    def pump(self) -> None:
        """Deliver in both directions until nothing is in transit on this link."""
        while self.open and self.pending():
            self.deliver_to_server(len(self.to_server))
            self.deliver_to_client(len(self.to_client))

    def disconnect(self) -> None:
        """Drop the connection; frames in transit are lost (both ways)."""
        if not self.open:
            return
        self.open = False
        self.to_server.clear()
        self.to_client.clear()
        self.client.connection_lost()
        self.server.links.remove(self)
        self.server.broadcast_presence()


class InMemoryServer:
    """A reference server shell over one layer, with frames in deques instead of sockets."""

    def __init__(
        self,
        layer: LayerState | None = None,
        *,
        policy: ChangePolicy | None = None,
        document: bytes = b"%PDF-1.7\n%%EOF\n",
        clock: Callable[[], str] | None = None,
    ) -> None:
        self.layer = layer or LayerState("epoch-1")
        self.policy: ChangePolicy = policy or AllowAll()
        self.document = document
        self.links: list[Link] = []
        self.commits: list[LayerCommit] = []
        """Every commit applied, in order (what a store would have written)."""
        self._tick = 0
        self._clock = clock or self._fake_clock

    def _fake_clock(self) -> str:
        self._tick += 1
        return f"2026-01-01T00:00:{self._tick // 1000:02d}.{self._tick % 1000:03d}Z"

    def connect(
        self,
        client: ClientSession,
        *,
        token: str = "token",
        actor: Actor | None = None,
        visible: Visibility | None = None,
        presence: dict[str, object] | None = None,
    ) -> Link:
        """Open a link; the client's ``hello`` is queued towards the server."""
        link = Link(
            self,
            client,
            ServerSession(),
            actor or Actor(user_id=client.state.client_id),
            visible,
        )
        link.to_server.append(client.hello_frame(token, presence))
        self.links.append(link)
        return link

    def pump(self) -> None:
        """Deliver everything on every link until all are quiet."""
        while any(link.pending() for link in self.links):
            for link in list(self.links):
                link.pump()

    def handle(self, link: Link, text: str) -> None:
        """Process one frame from a client, as a server shell does."""
        try:
            events = link.session.receive_text(text)
        except RemoteProtocolError:
            self._flush(link)
            link.disconnect()
            return
        for event in events:
            self._on_event(link, event)
        self._flush(link)

    def _flush(self, link: Link) -> None:
        if link.open:
            link.to_client.extend(link.session.frames_to_send())

    def _on_event(self, link: Link, event: ServerEvent) -> None:
        session, layer = link.session, self.layer
        if isinstance(event, HelloReceived):
            session.send_welcome(
                Welcome(
                    document_id="doc",
                    layer="",
                    layer_epoch=layer.epoch,
                    seq=layer.seq,
                    user_id=link.actor.user_id,
                    permissions=("read-document", "write", "download"),
                    default_group=link.actor.default_group,
                    document=DocumentInfo(
                        hashlib.sha256(self.document).hexdigest(), len(self.document), 1
                    ),
                )
            )
            session.send_catch_up(layer, visible=link.visible)
            self.broadcast_presence()
        elif isinstance(event, PushReceived):
            commit = layer.prepare(event.push.changes, link.actor, self.policy, self._clock())
            layer.apply_prepared(commit)  # a real server writes the commit durably first
            self.commits.append(commit)
            session.send_ack(commit.results, commit.seq, visible=link.visible)
            if commit.records:
                relay = ChangesRelay(commit.records, commit.seq, previous=commit.previous)
                for other in self.links:
                    if other is not link and other.session.is_open:
                        other.session.relay(relay, other.visible)
                        self._flush(other)
        elif isinstance(event, PresenceReceived):
            self.broadcast_presence()
        elif isinstance(event, DocumentRequested):
            session.send_document_chunks(self.document, hashlib.sha256(self.document).hexdigest())
        elif isinstance(event, ViewLayerRequested):
            session.send_error("forbidden", f"no view rights on layer {event.layer!r}")

    def broadcast_presence(self) -> None:
        """Send the list of connected clients to every open link (§8.1)."""
        members = [link for link in self.links if link.session.is_open]
        relay = PresenceRelay(link.session for link in members)
        for link in members:
            link.session.relay_presence(relay)
            self._flush(link)
