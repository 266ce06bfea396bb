"""The messages of the sync protocol and their JSON codec (§1, §3, §4, §5, §7, §8).

One frozen dataclass per message type. :func:`encode_message` writes compact JSON;
:func:`lamina.sync.message_decoder.decode_message` reads them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

from lamina.sync.state import (
    Change,
    ChangeResult,
    RecordState,
    dumps,
)

PROTOCOL_VERSION = 1
"""The ``protocol`` of ``hello`` and ``welcome`` (§3.1)."""

MAX_FRAME_BYTES = 4 * 1024 * 1024
"""Largest frame either side accepts (§1.2)."""

DOCUMENT_CHUNK_BYTES = 256 * 1024
"""Largest payload (before base64) of one ``document_chunk`` (§5.4)."""


@dataclass(frozen=True)
class SnapshotResume:
    """Where an interrupted snapshot stopped (§3.8): the client holds every record of the
    snapshot at ``seq`` (of the hello's ``layer_epoch``) whose id is ``after`` or before it."""

    seq: int
    after: str

    def to_wire(self) -> dict[str, Any]:
        return {"seq": self.seq, "after": self.after}


@dataclass(frozen=True)
class Hello:
    """The client's first frame (§3.1)."""

    TYPE: ClassVar[str] = "hello"
    token: str
    client_id: str
    last_seq: int | None = None
    layer_epoch: str | None = None
    presence: Mapping[str, Any] = field(default_factory=dict)
    protocol: int = PROTOCOL_VERSION
    resume: SnapshotResume | None = None
    """The interrupted snapshot to continue (§3.8); None: none."""

    def to_wire(self) -> dict[str, Any]:
        out = {
            "type": "hello",
            "protocol": self.protocol,
            "token": self.token,
            "client_id": self.client_id,
            "last_seq": self.last_seq,
            "layer_epoch": self.layer_epoch,
            "presence": self.presence,
        }
        if self.resume is not None:
            out["resume"] = self.resume.to_wire()
        return out


@dataclass(frozen=True)
class DocumentInfo:
    """The PDF asset of a document, as ``welcome`` describes it (§3.2)."""

    sha256: str
    size: int
    page_count: int

    def to_wire(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "page_count": self.page_count}


@dataclass(frozen=True)
class Welcome:
    """The server's answer to a valid ``hello`` (§3.2)."""

    TYPE: ClassVar[str] = "welcome"
    document_id: str
    layer: str
    layer_epoch: str
    seq: int
    user_id: str | None = None
    permissions: tuple[str, ...] = ()
    collaboration_permissions: tuple[str, ...] | None = None
    default_group: str | None = None
    view_layers: tuple[str, ...] = ()
    document: DocumentInfo | None = None
    protocol: int = PROTOCOL_VERSION

    def to_wire(self) -> dict[str, Any]:
        cp = self.collaboration_permissions
        return {
            "type": "welcome",
            "protocol": self.protocol,
            "document_id": self.document_id,
            "layer": self.layer,
            "user_id": self.user_id,
            "permissions": list(self.permissions),
            "collaboration_permissions": None if cp is None else list(cp),
            "default_group": self.default_group,
            "view_layers": list(self.view_layers),
            "document": None if self.document is None else self.document.to_wire(),
            "layer_epoch": self.layer_epoch,
            "seq": self.seq,
        }


@dataclass(frozen=True)
class Snapshot:
    """Every live record a connection may view, replacing its replica (§3.3, §5.3)."""

    TYPE: ClassVar[str] = "snapshot"
    records: tuple[RecordState, ...]
    seq: int
    layer: str | None = None
    more: bool = False
    """A part of a longer message, more parts follow (§3.7)."""
    resumed_after: str | None = None
    """A resumed snapshot (§3.8): the receiver keeps the records it holds of the interrupted
    one (ids up to this one) and applies these over them; None: a whole snapshot."""

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "snapshot",
            "seq": self.seq,
            "records": [r.wire for r in self.records],
        }
        if self.layer is not None:
            out["layer"] = self.layer
        if self.resumed_after is not None:
            out["resumed_after"] = self.resumed_after
        return out


@dataclass(frozen=True)
class Changes:
    """Records changed by commits up to ``seq`` (§3.3 catch-up, §4.9 relay)."""

    TYPE: ClassVar[str] = "changes"
    records: tuple[RecordState, ...]
    seq: int
    catch_up: bool = False
    layer: str | None = None
    more: bool = False
    """A part of a longer message, more parts follow (§3.7)."""

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "changes",
            "seq": self.seq,
            "records": [r.wire for r in self.records],
        }
        if self.catch_up:
            out["catch_up"] = True
        if self.layer is not None:
            out["layer"] = self.layer
        return out


@dataclass(frozen=True)
class Push:
    """Changes from a client, in outbox order (§4.1)."""

    TYPE: ClassVar[str] = "push"
    changes: tuple[Change, ...]

    def to_wire(self) -> dict[str, Any]:
        return {"type": "push", "changes": [c.to_wire() for c in self.changes]}


@dataclass(frozen=True)
class Ack:
    """The results of one ``push``, in order (§4.4)."""

    TYPE: ClassVar[str] = "ack"
    seq: int
    results: tuple[ChangeResult, ...]
    more: bool = False
    """A part of a longer message, more parts follow (§3.7)."""

    def to_wire(self) -> dict[str, Any]:
        out = {"type": "ack", "seq": self.seq, "results": [r.to_wire() for r in self.results]}
        if self.more:
            out["more"] = True
        return out


@dataclass(frozen=True)
class Presence:
    """A client's own ephemeral state: name, color, page, cursor (§8.1, client to server)."""

    TYPE: ClassVar[str] = "presence"
    state: Mapping[str, Any]

    def to_wire(self) -> dict[str, Any]:
        return {"type": "presence", "state": self.state}


@dataclass(frozen=True)
class PresenceClient:
    """One connection of a layer, as presence lists it (§8.1)."""

    client_id: str
    user_id: str | None = None
    name: str | None = None
    color: str | None = None
    state: Mapping[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "user_id": self.user_id,
            "name": self.name,
            "color": self.color,
            "state": self.state,
        }


@dataclass(frozen=True)
class PresenceList:
    """Who is connected to the layer (§8.1, server to client)."""

    TYPE: ClassVar[str] = "presence"
    clients: tuple[PresenceClient, ...]

    def to_wire(self) -> dict[str, Any]:
        return {"type": "presence", "clients": [c.to_wire() for c in self.clients]}


@dataclass(frozen=True)
class GetDocument:
    """Ask for the PDF (§5.4).

    Attributes:
        with_layer: ask instead for the PDF with the layer's records this token may view
            written into it (needs ``download``).
        flatten: with ``with_layer``, burn the records into the pages.
    """

    TYPE: ClassVar[str] = "get_document"
    with_layer: bool = False
    flatten: bool = False

    def to_wire(self) -> dict[str, Any]:
        if not self.with_layer:
            return {"type": "get_document"}
        return {"type": "get_document", "with_layer": True, "flatten": self.flatten}


@dataclass(frozen=True)
class DocumentChunk:
    """One piece of the PDF, base64 in ``data`` (§5.4)."""

    TYPE: ClassVar[str] = "document_chunk"
    sha256: str
    index: int
    count: int
    data: str

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "document_chunk",
            "sha256": self.sha256,
            "index": self.index,
            "count": self.count,
            "data": self.data,
        }


@dataclass(frozen=True)
class ViewLayer:
    """Subscribe read-only to another layer (§5.3)."""

    TYPE: ClassVar[str] = "view_layer"
    layer: str

    def to_wire(self) -> dict[str, Any]:
        return {"type": "view_layer", "layer": self.layer}


@dataclass(frozen=True)
class Error:
    """The server's last word before it closes (§7.1)."""

    TYPE: ClassVar[str] = "error"
    code: str
    message: str
    limit: str | None = None
    """For ``limit-exceeded`` and ``rate-limited``: the ``Limits`` field that was passed."""

    def to_wire(self) -> dict[str, Any]:
        out = {"type": "error", "code": self.code, "message": self.message}
        if self.limit is not None:
            out["limit"] = self.limit
        return out


@dataclass(frozen=True)
class ListLayers:
    """Ask for the layers of the document this token may view; ``layers`` answers, and
    follows again whenever that list grows (a new layer)."""

    TYPE: ClassVar[str] = "list_layers"

    def to_wire(self) -> dict[str, Any]:
        return {"type": "list_layers"}


@dataclass(frozen=True)
class UnviewLayer:
    """Stop viewing a layer that ``view_layer`` subscribed to (§5.3)."""

    TYPE: ClassVar[str] = "unview_layer"
    layer: str

    def to_wire(self) -> dict[str, Any]:
        return {"type": "unview_layer", "layer": self.layer}


@dataclass(frozen=True)
class LayerList:
    """The layers of the document this token may view, by name (its own included; the
    default layer is ``""``)."""

    TYPE: ClassVar[str] = "layers"
    layers: tuple[str, ...]

    def to_wire(self) -> dict[str, Any]:
        return {"type": "layers", "layers": list(self.layers)}


ClientMessage: TypeAlias = (
    Hello | Push | Presence | GetDocument | ViewLayer | ListLayers | UnviewLayer
)
"""Messages a client sends."""

ServerMessage: TypeAlias = (
    Welcome | Snapshot | Changes | Ack | PresenceList | DocumentChunk | Error | LayerList
)
"""Messages a server sends."""

Message: TypeAlias = ClientMessage | ServerMessage


def encode_message(msg: Message) -> str:
    """Encode a message as one compact JSON text frame (§1.1)."""
    if isinstance(msg, Snapshot | Changes):
        extra = {k: v for k, v in msg.to_wire().items() if k not in ("type", "seq", "records")}
        if msg.more:
            extra["more"] = True
        return encode_records_frame(msg.TYPE, msg.seq, [r.wire_text for r in msg.records], extra)
    return dumps(msg.to_wire())


def encode_parts(
    type_: str,
    seq: int,
    texts: Sequence[str],
    extra: Mapping[str, Any] | None = None,
    *,
    key: str = "records",
    chunk_bytes: int,
) -> list[str]:
    """Build one ``snapshot``/``changes``/``ack`` as frames of about ``chunk_bytes`` (§3.7).

    ``texts`` are the items (records, or ack results) already encoded as JSON. Every frame
    but the last carries ``"more": true``; one item larger than ``chunk_bytes`` goes alone.
    """
    return list(iter_parts(type_, seq, texts, extra, key=key, chunk_bytes=chunk_bytes))


def iter_parts(
    type_: str,
    seq: int,
    texts: Iterable[str],
    extra: Mapping[str, Any] | None = None,
    *,
    key: str = "records",
    chunk_bytes: int,
) -> Iterator[str]:
    """Yield the frames of :func:`encode_parts` one at a time, each made when asked for.

    ``texts`` is read as the parts are made, so a streamed snapshot (§3.7) never holds more
    than one part's text at once; an empty ``texts`` still gives one (empty) frame.
    """
    more = dict(extra or {})
    more["more"] = True
    group: list[str] = []
    size = 0
    for text in texts:
        if group and size + len(text) > chunk_bytes:
            yield encode_records_frame(type_, seq, group, more, key=key)
            group = []
            size = 0
        group.append(text)
        size += len(text) + 1
    yield encode_records_frame(type_, seq, group, extra or None, key=key)


def encode_records_frame(
    type_: str,
    seq: int,
    record_texts: Sequence[str],
    extra: Mapping[str, Any] | None = None,
    *,
    key: str = "records",
) -> str:
    """Build a ``snapshot`` or ``changes`` frame from records already encoded as JSON.

    Record states cache their encoding (``RecordState.wire_text``), so relaying one commit to
    many viewers joins strings instead of encoding the same records again.
    """
    head = f'{{"type":"{type_}","seq":{int(seq)}'
    if extra:
        head += "," + dumps(dict(extra))[1:-1]
    return f'{head},"{key}":[{",".join(record_texts)}]}}'
