"""What a server sends to many connections at once, encoded once (§4.9, §8.1).

A :class:`ChangesRelay` is one commit's ``changes``, a :class:`PresenceRelay` one layer's
presence list: built once per event and handed to every connection's
:class:`~lamina.sync.server_session.ServerSession` (``relay`` / ``relay_presence``), so viewers
that see the same thing share one encoded string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from lamina.model.ids import RecordId
from lamina.sync.catch_up import Visibility
from lamina.sync.errors import LocalProtocolError
from lamina.sync.messages import PresenceClient, PresenceList, encode_message, encode_parts
from lamina.sync.state import RecordState
from lamina.sync.validation import DEFAULT_LIMITS

if TYPE_CHECKING:
    from lamina.sync.server_session import ServerSession

_DECISION_SKIP, _DECISION_FULL, _DECISION_HIDDEN = 0, 1, 2


def _decide(
    record: RecordState,
    previous: Mapping[RecordId, RecordState | None] | None,
    visible: Visibility,
) -> int:
    # §4.9: visible -> as is; seen before but not now -> content-less tombstone; else nothing.
    if visible(record):
        return _DECISION_FULL
    if previous is None:
        return _DECISION_HIDDEN  # unknown history (catch-up): a tombstone is always safe
    before = previous.get(record.id)
    if before is not None and visible(before):
        return _DECISION_HIDDEN
    return _DECISION_SKIP


class ChangesRelay:
    """One commit's ``changes`` frame, encoded once per distinct visibility (§4.9).

    Build it once per commit and hand it to every connection's :meth:`ServerSession.relay`;
    viewers that see the same subset of records share one encoded string.
    """

    def __init__(
        self,
        records: Sequence[RecordState],
        seq: int,
        *,
        previous: Mapping[RecordId, RecordState | None] | None = None,
        layer: str | None = None,
        chunk_bytes: int = DEFAULT_LIMITS.chunk_bytes,
    ) -> None:
        self.records = tuple(records)
        self.seq = seq
        self.previous = previous
        self.layer = layer
        self.chunk_bytes = chunk_bytes
        self._frames: dict[tuple[int, ...], list[str] | None] = {}
        self._all: list[str] | None = None

    def frames_for(self, visible: Visibility | None) -> list[str] | None:
        """Return the frames a viewer gets (one, or the parts of §3.7 for a big commit), or
        None when it may see none of the records. Viewers alike share the same strings."""
        if visible is None:
            if self._all is None:
                self._all = self._encode(tuple(_DECISION_FULL for _ in self.records))
            return self._all
        key = tuple(_decide(r, self.previous, visible) for r in self.records)
        try:
            return self._frames[key]
        except KeyError:
            frames = self._frames[key] = self._encode(key)
            return frames

    def frame_for(self, visible: Visibility | None) -> str | None:
        """Return the single frame a viewer gets (None: nothing to see); for commits that
        fit one part (use :meth:`frames_for` in general)."""
        frames = self.frames_for(visible)
        if frames is None:
            return None
        if len(frames) != 1:
            raise LocalProtocolError("frame_for on a commit sent in parts: use frames_for")
        return frames[0]

    def _encode(self, decisions: tuple[int, ...]) -> list[str] | None:
        texts = [
            r.wire_text if d == _DECISION_FULL else r.hidden().wire_text
            for r, d in zip(self.records, decisions, strict=True)
            if d != _DECISION_SKIP
        ]
        if not texts:
            return None
        extra = {"layer": self.layer} if self.layer is not None else None
        return encode_parts("changes", self.seq, texts, extra, chunk_bytes=self.chunk_bytes)


class PresenceRelay:
    """Who is connected to a layer, encoded once for all its members (§8.1).

    Build it from the members' sessions when presence changes and hand it to each member's
    :meth:`ServerSession.relay_presence`: every member gets the same string. ``others`` are
    the layer's connections to other server processes on the same store (DESIGN §8).
    """

    def __init__(
        self, sessions: Iterable[ServerSession], others: Iterable[PresenceClient] = ()
    ) -> None:
        self.clients = tuple(
            sorted((*(s.presence_client for s in sessions), *others), key=lambda c: c.client_id)
        )

    @cached_property
    def frame(self) -> str:
        """The ``presence`` frame (encoded on first use)."""
        return encode_message(PresenceList(self.clients))
