"""The server side of one connection, sans I/O (§1.3, §3, §4, §5, §7, §8).

The shell feeds each frame to :meth:`ServerSession.receive_text`, acts on the returned events
(verify the token, apply a push to the layer, ...), calls the ``send_*`` methods, and writes
:meth:`ServerSession.frames_to_send`. When ``receive_text`` raises
:class:`RemoteProtocolError`, the ``error`` frame is already queued: write it, then close the
WebSocket with ``exc.close_code``.

Legal order: the server table of :mod:`lamina.sync.phases` (P2)::

    await-hello --hello--> await-welcome --send_welcome--> await-catch-up
    await-catch-up --send_catch_up--> open
    any --send_error / RemoteProtocolError--> closed

After the hello the session knows who is connected: :attr:`ServerSession.presence_client`
is its entry in the presence list, which follows the client's ``presence`` messages (§8.1).
"""

from __future__ import annotations

import base64
import collections
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from lamina.model.ids import RecordId
from lamina.sync.catch_up import CatchUp, Visibility, catch_up_for
from lamina.sync.errors import LocalProtocolError, RemoteProtocolError, close_code_for
from lamina.sync.layer import LayerState
from lamina.sync.message_decoder import check_frame_size, decode_message
from lamina.sync.messages import (
    DOCUMENT_CHUNK_BYTES,
    DocumentChunk,
    Error,
    GetDocument,
    Hello,
    LayerList,
    ListLayers,
    Presence,
    PresenceClient,
    Push,
    UnviewLayer,
    ViewLayer,
    Welcome,
    encode_message,
    encode_parts,
    iter_parts,
)
from lamina.sync.phases import SERVER_RULES, PhaseMachine, ServerPhase, Step
from lamina.sync.relays import ChangesRelay, PresenceRelay
from lamina.sync.state import ChangeResult, RecordState, dumps
from lamina.sync.validation import (
    LimitExceeded,
    Limits,
    check_presence,
    server_limits,
)


@dataclass(frozen=True)
class HelloReceived:
    """The client said hello (§3.1): verify ``hello.token``, then welcome or error."""

    hello: Hello


@dataclass(frozen=True)
class PushReceived:
    """The client pushed changes (§4.1): apply, commit, then ``send_ack``."""

    push: Push


@dataclass(frozen=True)
class PresenceReceived:
    """The client's presence changed (§8.1): relay it."""

    presence: Presence


@dataclass(frozen=True)
class DocumentRequested:
    """The client asked for the PDF (§5.4): check ``read-document``, then send chunks.

    Attributes:
        with_layer: it wants the PDF with the layer's records it may view written into it
            (check ``download``).
        flatten: with ``with_layer``, the records burnt into the pages.
    """

    with_layer: bool = False
    flatten: bool = False


@dataclass(frozen=True)
class ViewLayerRequested:
    """The client asked to view another layer read-only (§5.3)."""

    layer: str


@dataclass(frozen=True)
class LayersRequested:
    """The client asked for the layers its token may view (§4.8); answer with
    :meth:`ServerSession.send_layers`, and again when the list grows."""


@dataclass(frozen=True)
class UnviewLayerRequested:
    """The client stopped viewing another layer (§5.3); nothing more of it is relayed."""

    layer: str


ServerEvent: TypeAlias = (
    HelloReceived
    | PushReceived
    | PresenceReceived
    | DocumentRequested
    | ViewLayerRequested
    | LayersRequested
    | UnviewLayerRequested
)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class ServerSession:
    """One client connection, as the server sees it (sans I/O).

    Attributes:
        hello: the client's ``hello`` once received.
        presence: the client's presence state: its hello's, then its last ``presence``.
        view_layers: the other layers this connection has been sent a snapshot of (§5.3).
    """

    def __init__(
        self,
        *,
        limits: Limits | None = None,
    ) -> None:
        self._phases = PhaseMachine(SERVER_RULES)
        self.limits = limits if limits is not None else server_limits()
        self.buckets: dict[str, float] = {}
        """The byte and change buckets (DESIGN §10); a server may hand every connection of
        one token the same dict, so reconnecting never refills them."""
        self.hello: Hello | None = None
        self.presence: Mapping[str, Any] = {}
        self.view_layers: set[str] = set()
        self._user_id: str | None = None
        self._frames: list[str | Iterator[str]] = []
        self._tokens = self.limits.messages_burst
        self._last_time: float | None = None
        self._throttle = 0.0
        self._throttled_since: float | None = None

    # --- phase ----------------------------------------------------------------------------

    @property
    def phase(self) -> ServerPhase:
        """Where the connection is (P2 of :mod:`lamina.sync.phases`)."""
        return self._phases.phase

    @property
    def state(self) -> ServerPhase:
        """The old name of :attr:`phase`."""
        return self._phases.phase

    @property
    def is_open(self) -> bool:
        """Whether the catch-up went out and the connection is not closed: records, acks,
        presence and the document may be sent."""
        return self._phases.phase is ServerPhase.OPEN

    @property
    def is_closed(self) -> bool:
        """Whether ``error`` was queued (by :meth:`send_error` or a protocol error)."""
        return self._phases.phase is ServerPhase.CLOSED

    # --- input ----------------------------------------------------------------------------

    def receive_text(self, text: str, now: float | None = None) -> list[ServerEvent]:
        """Feed one frame from the client and return what happened.

        Args:
            text: the frame.
            now: a monotonic time in seconds, for the rate limit (§7.3); None skips it.

        Raises:
            RemoteProtocolError: the client broke the protocol; the ``error`` frame is queued
                and the session is closed: write the frames, then close with
                ``exc.close_code``.
            LocalProtocolError: the session is already closed.
        """
        self._phases.require_receiving()
        try:
            if now is not None:
                self._spend_token(now)
            check_frame_size(text)
            self._throttle = 0.0
            if now is not None:
                self._spend("bytes", len(text), now)
            msg = decode_message(text, from_client=True)
            self._phases.check_receive(msg.TYPE)  # P4
            self._check_limits(msg, text, now)
            if self._throttle == 0.0:
                self._throttled_since = None  # within budget again
            return [self._event_for(msg)]
        except RemoteProtocolError as exc:
            self._phases.advance(Step.ERROR)
            limit = exc.limit if isinstance(exc, LimitExceeded) else None
            self._frames.append(encode_message(Error(exc.code, exc.message, limit)))
            raise

    def _spend_token(self, now: float) -> None:
        # §7.3: token bucket; time comes from the caller (§1.3).
        rate, burst = self.limits.messages_per_second, self.limits.messages_burst
        if self._last_time is not None and now > self._last_time:
            self._tokens = min(burst, self._tokens + (now - self._last_time) * rate)
        self._last_time = now if self._last_time is None else max(self._last_time, now)
        if self._tokens < 1:
            raise LimitExceeded(
                "messages_per_second",
                f"more than {rate:g} messages per second",
                code="rate-limited",
            )
        self._tokens -= 1

    def _spend(self, what: str, amount: float, now: float) -> None:
        # DESIGN §10: changes and bytes per second per connection, token buckets like §7.3
        # (the frame bucket uses ``_last_time``, these keep their own).
        limits = self.limits
        rate, burst = {
            "bytes": (limits.bytes_per_second, limits.bytes_burst),
            "changes": (limits.changes_per_second, limits.changes_burst),
            "joins": (limits.joins_per_second, limits.joins_burst),
        }[what]
        last = self.buckets.get(f"{what}.t")
        tokens = self.buckets.get(what, burst)
        if last is not None and now > last:
            tokens = min(burst, tokens + (now - last) * rate)
        self.buckets[f"{what}.t"] = now if last is None else max(last, now)
        if tokens < amount and what != "joins":
            # §7.3: past its byte or change budget a connection is first slowed down to it
            # (the shell waits ``take_throttle()`` before reading on, so the socket pushes
            # back), and refused only when that lasts longer than ``throttle_seconds``:
            # a refusal makes a client reconnect and be sent its snapshot again.
            wait = (amount - tokens) / rate
            since = self._throttled_since if self._throttled_since is not None else now
            if now + wait - since <= limits.throttle_seconds:
                self._throttled_since = since
                self._throttle = max(self._throttle, wait)
                self.buckets[what] = tokens - amount
                return
        if tokens < amount:
            name = f"{what}_per_second"
            raise LimitExceeded(name, f"more than {rate:g} {what} per second", code="rate-limited")
        self.buckets[what] = tokens - amount

    def take_throttle(self) -> float:
        """Return (and forget) the seconds the shell should wait before it reads the
        client's next frame: 0 unless the last frame went past a byte or change budget."""
        wait, self._throttle = self._throttle, 0.0
        return wait

    def _check_limits(self, msg: Any, text: str, now: float | None) -> None:
        limits = self.limits
        if isinstance(msg, Push):
            if len(text) > limits.push_bytes:
                raise LimitExceeded(
                    "push_bytes", f"push of {len(text)} bytes (at most {limits.push_bytes})"
                )
            if len(msg.changes) > limits.changes_per_push:
                raise LimitExceeded(
                    "changes_per_push",
                    f"push of {len(msg.changes)} changes (at most {limits.changes_per_push})",
                )
            if now is not None:
                self._spend("changes", len(msg.changes), now)
        elif isinstance(msg, Hello) and now is not None:
            # DESIGN §10: one token's connections share their byte, change and join
            # budgets, so neither more connections nor reconnecting buys more.
            self.buckets = _TOKEN_BUCKETS.of(msg.token, self.buckets)
            self._spend("joins", 1, now)
            check_presence(msg.presence, limits)
        elif isinstance(msg, Presence):
            check_presence(msg.state, limits)
        elif isinstance(msg, Hello):
            check_presence(msg.presence, limits)

    def _event_for(self, msg: Any) -> ServerEvent:
        if isinstance(msg, Hello):
            self._phases.advance(Step.HELLO)
            self.hello = msg
            self.presence = dict(msg.presence)
            return HelloReceived(msg)
        if isinstance(msg, Push):
            return PushReceived(msg)
        if isinstance(msg, Presence):
            self.presence = dict(msg.state)
            return PresenceReceived(msg)
        if isinstance(msg, GetDocument):
            return DocumentRequested(msg.with_layer, msg.flatten)
        if isinstance(msg, ViewLayer):
            return ViewLayerRequested(msg.layer)
        if isinstance(msg, ListLayers):
            return LayersRequested()
        if isinstance(msg, UnviewLayer):
            self.view_layers.discard(msg.layer)
            return UnviewLayerRequested(msg.layer)
        raise RemoteProtocolError(f"{msg.TYPE}: unexpected from a client")  # pragma: no cover

    @property
    def presence_client(self) -> PresenceClient:
        """This connection as the presence list shows it (§8.1): its ``client_id``, the
        ``user_id`` its welcome named, and the name and color of its presence state."""
        if self.hello is None:
            raise LocalProtocolError("presence of a session that has not said hello")
        return PresenceClient(
            client_id=self.hello.client_id,
            user_id=self._user_id,
            name=_str_or_none(self.presence.get("name")),
            color=_str_or_none(self.presence.get("color")),
            state=self.presence,
        )

    # --- output ---------------------------------------------------------------------------

    def send_layers(self, layers: Sequence[str]) -> None:
        """Queue the ``layers`` list (§4.8): the layers this token may view, by name."""
        self._frames.append(encode_message(LayerList(tuple(layers))))

    def frames_to_send(self) -> list[str]:
        """Return and forget the frames queued for the client, in order (streamed parts
        made now: a shell that writes as the client reads takes :meth:`output`)."""
        frames: list[str] = []
        for item in self.output():
            if isinstance(item, str):
                frames.append(item)
            else:
                frames.extend(item)
        return frames

    def output(self) -> list[str | Iterator[str]]:
        """Return and forget what is queued for the client, in order: frames, and streams
        of parts (a snapshot or catch-up, §3.7) that make each frame when it is taken, so
        the shell can write them as fast as the client reads and no faster."""
        out, self._frames = self._frames, []
        return out

    def send_welcome(self, welcome: Welcome) -> None:
        """Queue ``welcome`` (§3.2); :meth:`send_catch_up` must follow (§3.3)."""
        self._phases.advance(Step.WELCOME, "send_welcome")
        self._user_id = welcome.user_id
        self._frames.append(encode_message(welcome))

    def send_catch_up(self, layer: LayerState, *, visible: Visibility | None = None) -> CatchUp:
        """Queue what the client missed of ``layer``, or a snapshot (§3.3), and open.

        The choice is :func:`catch_up_for`'s. Records the connection may not view are left
        out (a catch-up that would name one becomes a snapshot).

        Returns:
            What was sent.
        """
        if self.hello is None:
            raise LocalProtocolError("send_catch_up before hello")
        catch_up = catch_up_for(self.hello, layer, visible)
        if catch_up.snapshot:
            self.send_snapshot(
                catch_up.records,
                catch_up.seq,
                visible=visible,
                resumed_after=catch_up.resumed_after,
            )
        else:
            self.send_changes(catch_up.records, catch_up.seq, catch_up=True, visible=visible)
        return catch_up

    def send_snapshot(
        self,
        records: Iterable[RecordState],
        seq: int,
        *,
        layer: str | None = None,
        visible: Visibility | None = None,
        resumed_after: str | None = None,
    ) -> None:
        """Queue ``snapshot`` of the live records this connection may view (§3.3, §5.3), as
        a stream of parts (:meth:`output`).

        Args:
            records: the layer's live records (tombstones are left out here anyway), in
                the order they go (id order, §3.8).
            seq: the layer ``seq`` the snapshot is at.
            layer: another layer's name, for a ``view_layer`` answer (§5.3); None for the
                catch-up of the connection's own layer (prefer :meth:`send_catch_up`).
            visible: the connection's view rule; None when it may view everything.
            resumed_after: for a resumed snapshot (§3.8), the last id the client holds;
                its records up to that id are changes, tombstones included.
        """
        if layer is None:
            self._phases.advance(Step.CATCH_UP, "send_snapshot")
        else:
            self._phases.advance(Step.SEND, "send_snapshot of another layer")
            self.view_layers.add(layer)
        # Who may view what is decided now, at the snapshot's seq; the encoding is left to
        # the stream (each record's cached text, joined one part at a time).
        if resumed_after is None:
            shown = [r for r in records if not r.deleted and (visible is None or visible(r))]
        else:
            shown = [
                r
                for r in records
                if (r.id <= resumed_after or not r.deleted) and (visible is None or visible(r))
            ]
        extra: dict[str, Any] = {"layer": layer} if layer is not None else {}
        if resumed_after is not None:
            extra["resumed_after"] = resumed_after
        self._frames.append(
            iter_parts(
                "snapshot",
                seq,
                (r.wire_text for r in shown),
                extra,
                chunk_bytes=self.limits.chunk_bytes,
            )
        )

    def send_changes(
        self,
        records: Sequence[RecordState],
        seq: int,
        *,
        catch_up: bool = False,
        layer: str | None = None,
        visible: Visibility | None = None,
        previous: Mapping[RecordId, RecordState | None] | None = None,
    ) -> bool:
        """Queue ``changes`` filtered for this connection (§3.3 catch-up, §4.9 relay).

        A record it may not view is left out, unless it could view it before (per
        ``previous``; always, when ``previous`` is None) — then it gets a content-less
        tombstone. For relaying one commit to many connections, :meth:`relay` with a shared
        :class:`ChangesRelay` is cheaper.

        Returns:
            Whether a frame was queued (a relay with nothing visible sends nothing; a
            catch-up is always sent, even empty).
        """
        if catch_up:
            self._phases.advance(Step.CATCH_UP, "send_changes(catch_up=True)")
            shown = [r if visible is None or visible(r) else r.hidden() for r in records]
            self._frames.append(
                iter_parts(
                    "changes",
                    seq,
                    (r.wire_text for r in shown),
                    {"catch_up": True},
                    chunk_bytes=self.limits.chunk_bytes,
                )
            )
            return True
        relay = ChangesRelay(
            records, seq, previous=previous, layer=layer, chunk_bytes=self.limits.chunk_bytes
        )
        return self.relay(relay, visible)

    def relay(self, relay: ChangesRelay, visible: Visibility | None = None) -> bool:
        """Queue one commit's shared ``changes`` frame as this connection may see it (§4.9).

        Returns:
            Whether a frame was queued.
        """
        self._phases.advance(Step.SEND, "relay changes")
        if relay.layer is not None and relay.layer not in self.view_layers:
            raise LocalProtocolError(f"relay of layer {relay.layer!r} this session does not view")
        frames = relay.frames_for(visible)
        if frames is None:
            return False
        self._frames.extend(frames)
        return True

    def send_ack(
        self,
        results: Sequence[ChangeResult],
        seq: int,
        *,
        visible: Visibility | None = None,
    ) -> None:
        """Queue the ``ack`` of one push (§4.4), each record filtered by ``visible``.

        ``seq`` is the layer ``seq`` right after this push's commit (``LayerCommit.seq``),
        not after a whole group commit, so the client never skips another commit (§4.10).
        """
        self._phases.advance(Step.SEND, "send_ack")
        items = []
        for result in results:
            record = result.record
            shown = record is not None and (visible is None or visible(record))
            text = dumps(result.to_wire(record=None))
            if shown and record is not None:
                # The record's cached encoding (the relay uses the same string): a big
                # record is encoded once per commit, not once per path.
                text = text.replace('"record":null', f'"record":{record.wire_text}', 1)
            items.append(text)
        # §3.7: an ack of big records goes in parts too, so it never outgrows a frame.
        self._frames.extend(
            encode_parts("ack", seq, items, key="results", chunk_bytes=self.limits.chunk_bytes)
        )

    def relay_presence(self, relay: PresenceRelay) -> None:
        """Queue a layer's shared presence list (§8.1)."""
        self._phases.advance(Step.SEND, "relay_presence")
        self._frames.append(relay.frame)

    def send_document_chunks(self, data: bytes, sha256: str) -> None:
        """Queue the PDF as ``document_chunk`` messages of at most 256 KiB each (§5.4), as
        a stream (:meth:`output`): each chunk is encoded when it is taken."""
        self._phases.advance(Step.SEND, "send_document_chunks")
        self._frames.append(_document_chunks(data, sha256))

    def send_error(self, code: str, message: str) -> int:
        """Queue ``error`` and close the session (§7.1).

        Returns:
            The WebSocket close code to close with after writing the frames.

        Raises:
            LocalProtocolError: the session is already closed.
        """
        self._phases.advance(Step.ERROR, "send_error")
        self._frames.append(encode_message(Error(code, message)))
        return close_code_for(code)


def _document_chunks(data: bytes, sha256: str) -> Iterator[str]:
    count = max(1, -(-len(data) // DOCUMENT_CHUNK_BYTES))
    for index in range(count):
        piece = data[index * DOCUMENT_CHUNK_BYTES : (index + 1) * DOCUMENT_CHUNK_BYTES]
        chunk = DocumentChunk(sha256, index, count, base64.b64encode(piece).decode("ascii"))
        yield encode_message(chunk)


class TokenBuckets:
    """The rate buckets of each token, shared by all its connections (the newest
    ``kept`` tokens' are remembered; a token is a JWT, so a new one costs its signer)."""

    def __init__(self, kept: int = 10_000) -> None:
        self._kept = kept
        self._buckets: collections.OrderedDict[str, dict[str, float]] = collections.OrderedDict()

    def of(self, token: str, start: Mapping[str, float]) -> dict[str, float]:
        """Return ``token``'s buckets; a token seen first starts from ``start``."""
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        buckets = self._buckets.get(key)
        if buckets is None:
            buckets = self._buckets[key] = dict(start)
            while len(self._buckets) > self._kept:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return buckets


_TOKEN_BUCKETS = TokenBuckets()
