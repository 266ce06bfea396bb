"""The one WebSocket shell around a sans-I/O :class:`~lamina.sync.client_session.ClientSession`.

:class:`Connection` is to the client session what ``websockets``' asyncio layer is to its
protocol object: it owns the socket and the clock, and nothing else. It connects, writes the
session's ``hello``, feeds every frame that arrives to :meth:`ClientSession.receive_text`,
writes what the session queues (the send loop), and reconnects with backoff and jitter when
the socket drops (sync §3.6, §7.2). Every frame it writes comes from the session: nothing here
knows the wire format.

What the frames *mean* is its owner's business, told through a :class:`ConnectionListener`:
:class:`~lamina.client.document.LaminaDocument` persists and re-emits events; the scripting
verbs (``lamina push/pull/layer-pdf``) use a one-shot connection (``backoff=None``) and an
:class:`EventLog`, and wait with :meth:`Connection.wait_until`.

Everything runs on one asyncio event loop; listener calls are made on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import websockets
from lamina.client.backoff import Backoff
from lamina.client.errors import AccessLostError, ClientError, ConnectionFailedError
from lamina.client.events import ConnectionState
from lamina.sync import client_session as cs
from lamina.sync.errors import RemoteProtocolError
from lamina.sync.messages import MAX_FRAME_BYTES
from websockets.asyncio.client import ClientConnection, connect

log = logging.getLogger("lamina.client")

OPEN_TIMEOUT = 10.0
"""Seconds the TCP connect and WebSocket handshake may take."""

KEEPALIVE = 20.0
"""Seconds between pings, and to wait for a pong before the socket counts as dead."""

BULK_RECORDS = 1000
"""A frame that brings at least this many records (a snapshot part) is a bulk intake."""

PROBE_INTERVAL = 5.0
"""Seconds without a frame after which :meth:`Connection.wait_until` pings the server."""


def sync_url(server_url: str) -> str:
    """Return the WebSocket address of a server's sync endpoint (``/sync``, sync §1.1).

    ``http``/``https`` become ``ws``/``wss``; an address with a path keeps it.
    """
    parts = urlsplit(server_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path if parts.path not in ("", "/") else "/sync"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


class ConnectionListener(Protocol):
    """What the owner of a :class:`Connection` does at each step (on the event loop)."""

    def connection_changed(self, state: ConnectionState, reason: str) -> None:
        """The connection's state or its reason changed."""
        ...

    def sending(self) -> concurrent.futures.Future[None] | None:
        """Frames the session queued are about to be written.

        The session marks pushed changes sent when it queues them; a listener that keeps a
        durable outbox writes that mark now, before the server can possibly apply them
        (sync §4.2). It may write it on another thread and return that write's future: the
        frames are written once it is done (its error ends the connection as a raise does).
        """
        ...

    def received(self, events: Sequence[cs.ClientEvent]) -> None:
        """The session turned a frame (or an adopt) into these events.

        A ``ServerError`` among them has been noted by the connection; raising
        :class:`AccessLostError` here stops it for good.
        """
        ...

    def caught_up(self) -> None:
        """The connection reached the open phase (once per connection, and after an adopt)."""
        ...

    def connection_lost(self) -> None:
        """The socket is gone; the session has forgotten it (unacked changes stay queued)."""
        ...

    def stopped(self, error: ClientError) -> None:
        """No more attempts will be made, because of ``error``."""
        ...


class EventLog:
    """A :class:`ConnectionListener` that keeps every event, for one-shot uses and tests."""

    def __init__(self) -> None:
        self.events: list[cs.ClientEvent] = []
        """Every event received, in order."""

    def connection_changed(self, state: ConnectionState, reason: str) -> None:
        log.debug("connection %s: %s", state.value, reason)

    def sending(self) -> concurrent.futures.Future[None] | None:
        return None  # nothing durable to write

    def received(self, events: Sequence[cs.ClientEvent]) -> None:
        self.events.extend(events)

    def caught_up(self) -> None:
        pass  # wait_until(lambda: connection.is_open) sees it

    def connection_lost(self) -> None:
        pass  # a one-shot connection stops; its error says why

    def stopped(self, error: ClientError) -> None:
        pass  # wait_until raises it


class Connection:
    """One reconnecting connection of a client session to a server.

    Args:
        session: the sans-I/O session; the connection drives it and writes its frames.
        server_url: the server (``ws://host:port``; see :func:`sync_url`).
        token: the token the ``hello`` presents.
        listener: told of every state change, frame and loss.
        presence: the presence the ``hello`` announces (see :meth:`set_presence`).
        backoff: the delays between attempts; None makes one attempt only, and any failure
            or drop stops the connection with a :class:`ConnectionFailedError`.

    Attributes:
        session: the session being driven.
        server_url: the server as given.
        presence: what the next ``hello`` announces.
    """

    def __init__(
        self,
        session: cs.ClientSession,
        server_url: str,
        token: str,
        *,
        listener: ConnectionListener,
        presence: Mapping[str, Any] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.session = session
        self.server_url = server_url
        self.presence: dict[str, Any] = dict(presence or {})
        self._url = sync_url(server_url)
        self._token = token
        self._listener = listener
        self._backoff = backoff
        self._state = ConnectionState.OFFLINE
        self._reason = ""
        self._stop_error: ClientError | None = None
        self._task: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()
        self._progress = asyncio.Event()
        self._caught_up = False
        self._ws: ClientConnection | None = None
        self._closed_by_server: ConnectionFailedError | None = None
        """Why the server said it is closing (a non-final ``error``, §7.1)."""

    # --- state ----------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def reason(self) -> str:
        """Why the connection is in its state (one lowercase line, may be empty)."""
        return self._reason

    @property
    def stop_error(self) -> ClientError | None:
        """Why the connection stopped for good (None while it runs or retries)."""
        return self._stop_error

    @property
    def running(self) -> bool:
        """Whether the background task is connecting, connected or waiting to retry."""
        return self._task is not None and not self._task.done()

    @property
    def is_open(self) -> bool:
        """Whether the current connection is caught up (the session may send data, §3.5)."""
        return self._caught_up and self.session.is_open

    # --- control --------------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting in the background (again, after a stop); no-op while running."""
        if self.running:
            return
        self._stop_error = None
        self._task = asyncio.get_running_loop().create_task(self._run(), name="lamina-sync")

    async def stop(self, reason: str = "") -> None:
        """Close the socket, stop retrying and go ``OFFLINE`` with ``reason``."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_state(ConnectionState.OFFLINE, reason)

    def kick(self) -> None:
        """Wake the send loop: the session may have queued frames."""
        self._kick.set()

    def hold(self, reason: str) -> None:
        """Go ``STOPPED`` with ``reason`` but keep the socket (the server is behind, §3.4).

        Once the socket closes no new attempt is made; :meth:`adopt_server_state` resumes.
        """
        self._set_state(ConnectionState.STOPPED, reason)

    def set_presence(self, state: Mapping[str, Any]) -> None:
        """Announce ``state`` now (if connected) and in every later ``hello``."""
        self.presence = dict(state)
        self.session.presence_frame(self.presence)
        self.kick()

    def adopt_server_state(self) -> bool:
        """Take the server's state while the session is ``behind`` (§3.4, §6.6).

        Returns False (and does nothing) when the session is not behind, e.g. because the
        socket closed meanwhile.
        """
        if not self.session.is_behind:
            return False
        self._process(self.session.adopt_server_state())
        return True

    async def wait_until(
        self, done: Callable[[], bool], *, idle_timeout: float | None = None
    ) -> None:
        """Wait until ``done()`` holds; it is checked after every frame and state change.

        The timeout is one of progress, not of the whole wait: any frame counts, and while
        none comes the server is pinged every :data:`PROBE_INTERVAL` seconds, its pong
        counting too. A server busy building a big layer PDF (no frame for minutes) is
        waited for as long as it answers; a server that answers nothing, not even a ping,
        for ``idle_timeout`` seconds is given up on.

        Raises:
            ClientError: the connection stopped for good (its :attr:`stop_error`).
            ConnectionFailedError: nothing (no frame, no pong) for ``idle_timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        heard = loop.time()
        while not done():
            if self._stop_error is not None:
                raise self._stop_error
            self._progress.clear()
            wait = PROBE_INTERVAL if idle_timeout is None else min(PROBE_INTERVAL, idle_timeout)
            try:
                await asyncio.wait_for(self._progress.wait(), wait)
                heard = loop.time()
                continue
            except TimeoutError:
                pass
            if await self._answers_ping(wait):
                heard = loop.time()
            elif idle_timeout is not None and loop.time() - heard >= idle_timeout:
                raise ConnectionFailedError(
                    f"the server stopped answering (nothing for {idle_timeout:g} s)"
                )

    async def _answers_ping(self, timeout: float) -> bool:
        """Ping the server; return whether the pong came within ``timeout`` seconds."""
        ws = self._ws
        if ws is None:
            return False
        try:
            pong = await ws.ping()
            await asyncio.wait_for(pong, timeout)
        except (TimeoutError, websockets.exceptions.WebSocketException, OSError):
            return False
        return True

    # --- the loop -------------------------------------------------------------------------

    def _set_state(self, state: ConnectionState, reason: str = "") -> None:
        if (state, reason) == (self._state, self._reason):
            return
        self._state = state
        self._reason = reason
        self._progress.set()
        self._listener.connection_changed(state, reason)

    def _stop(self, error: ClientError) -> None:
        self._stop_error = error
        self._set_state(ConnectionState.STOPPED, str(error))
        self._progress.set()
        self._listener.stopped(error)

    async def _run(self) -> None:
        attempt = 0
        while True:
            self._set_state(
                ConnectionState.CONNECTING if attempt == 0 else ConnectionState.RECONNECTING,
                "" if attempt == 0 else self._reason,
            )
            try:
                if await self._attempt():
                    attempt = 0
                raise ConnectionFailedError("the server closed the connection")
            except AccessLostError as exc:
                self._stop(exc)
                return
            except ConnectionFailedError as exc:
                failure = exc
            finally:
                self.session.connection_lost()
                self._caught_up = False
                self._listener.connection_lost()
            if self._state is ConnectionState.STOPPED:
                return  # held: the server is behind, and the user decides
            if self._backoff is None:
                self._stop(failure)
                return
            self._set_state(ConnectionState.RECONNECTING, str(failure))
            await asyncio.sleep(self._backoff.delay(attempt))
            attempt += 1

    async def _attempt(self) -> bool:
        """Run one connection until it closes; return whether it reached the open phase.

        Raises:
            ConnectionFailedError: it could not be made, or why it ended.
            AccessLostError: the server refused the token for good.
        """
        try:
            ws = await connect(
                self._url,
                compression=None,
                max_size=MAX_FRAME_BYTES,
                open_timeout=OPEN_TIMEOUT,
                ping_interval=KEEPALIVE,
                ping_timeout=KEEPALIVE,
            )
        except (OSError, TimeoutError) as exc:
            raise ConnectionFailedError(
                f"cannot connect to {self._url}: {exc or 'timed out'}: check the address and "
                "that `lamina serve` is running there"
            ) from exc
        except websockets.exceptions.WebSocketException as exc:
            # Something answers on that port, but it is not a Lamina server.
            raise ConnectionFailedError(
                f"{self._url} is not a lamina server ({exc}): check the address and port"
            ) from exc
        async with ws:
            return await self._serve(ws)

    async def _serve(self, ws: ClientConnection) -> bool:
        opened = False
        self._ws = ws
        sender = asyncio.get_running_loop().create_task(self._send_loop(ws))
        try:
            await ws.send(self.session.hello_frame(self._token, self.presence))
            async for message in ws:
                if isinstance(message, bytes):
                    message = message.decode("utf-8", errors="replace")
                events = self.session.receive_text(message)
                if _bulk(events):
                    # The records just taken in live as long as the replica: exempt them from
                    # the cyclic collector, whose full passes otherwise walk every record
                    # again and again while a big snapshot streams in (a third of a 100,000-
                    # record join). JSON values hold no cycles; refcounting still frees them.
                    gc.freeze()
                self._process(events)
                opened = opened or self._caught_up
        except RemoteProtocolError as exc:
            log.warning("server broke the protocol: %s", exc)
            raise ConnectionFailedError(f"the server sent a bad message: {exc}") from exc
        except (OSError, websockets.exceptions.WebSocketException) as exc:
            raise ConnectionFailedError(f"the connection was lost ({exc})") from exc
        finally:
            self._ws = None
            sender.cancel()
            # The sender fails too when the socket breaks under it; the reason is above.
            with contextlib.suppress(
                asyncio.CancelledError, OSError, websockets.exceptions.WebSocketException
            ):
                await sender
        closing, self._closed_by_server = self._closed_by_server, None
        if closing is not None:
            raise closing
        return opened

    def _process(self, events: list[cs.ClientEvent]) -> None:
        """Hand the session's events to the listener; note errors and the open phase."""
        self._listener.received(events)
        for event in events:
            if isinstance(event, cs.ServerError):
                if event.final:
                    raise AccessLostError(event.code, event.message)
                self._closed_by_server = ConnectionFailedError(
                    f"the server closed the connection: {event.code}: {event.message}"
                )
        if self.session.is_open and not self._caught_up:
            self._caught_up = True
            if self._state is not ConnectionState.ONLINE:
                self._set_state(ConnectionState.ONLINE)
            self._listener.caught_up()
        self._progress.set()
        self.kick()

    async def _send_loop(self, ws: ClientConnection) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            frames = self.session.frames_to_send()
            if not frames:
                continue
            durable = self._listener.sending()
            if durable is not None:
                await asyncio.wrap_future(durable)
            for frame in frames:
                await ws.send(frame)


def _bulk(events: Sequence[cs.ClientEvent]) -> bool:
    return any(isinstance(e, cs.RecordsChanged) and len(e.records) >= BULK_RECORDS for e in events)
