"""The messages of the sync protocol and their JSON codec (§1, §3, §4, §5, §7, §8).

One frozen dataclass per message type. :func:`encode_message` writes compact JSON;
:func:`decode_message` validates a frame completely and raises
:class:`~lamina.sync.errors.RemoteProtocolError` naming the first bad value
(``push.changes[2].op: expected create, update or delete, got 'move'``), never another
exception.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

from lamina.sync import _wire as w
from lamina.sync.errors import RemoteProtocolError
from lamina.sync.state import (
    MAX_ID_LENGTH,
    Change,
    ChangeResult,
    RecordState,
    change_from_wire,
    dumps,
)
from lamina.sync.validation import MAX_SAFE_INTEGER

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


ClientMessage: TypeAlias = Hello | Push | Presence | GetDocument | ViewLayer
"""Messages a client sends."""

ServerMessage: TypeAlias = Welcome | Snapshot | Changes | Ack | PresenceList | DocumentChunk | Error
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


# --- decoding -----------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise RemoteProtocolError(f"frame: {name} is not valid JSON")


def _finite_float(text: str) -> float:
    # json reads 1e309 as inf, which can never be written back (dumps(allow_nan=False)):
    # one such number stored in a record broke every later join of its layer.
    value = float(text)
    if not math.isfinite(value):
        raise RemoteProtocolError(f"frame: number {text[:40]} is not finite")
    return value


def _safe_int(text: str) -> int:
    # Longer than 4300 digits, int() raises ValueError (reported as malformed JSON); past
    # 2^53 a number changes when a JavaScript or float reader reads it (DESIGN §10).
    value = int(text)
    if len(text) > 15 and abs(value) > MAX_SAFE_INTEGER:
        raise RemoteProtocolError(f"frame: integer {text[:40]}... outside ±2^53")
    return value


def _hello(o: dict[str, Any]) -> Hello:
    protocol = w.integer(w.required(o, "protocol", "hello"), "hello.protocol")
    if protocol != PROTOCOL_VERSION:
        raise RemoteProtocolError(
            f"hello.protocol: unsupported protocol {protocol} "
            f"(this server speaks {PROTOCOL_VERSION})"
        )
    epoch = o.get("layer_epoch")
    return Hello(
        token=w.string(w.required(o, "token", "hello"), "hello.token"),
        client_id=w.string(
            w.required(o, "client_id", "hello"),
            "hello.client_id",
            nonempty=True,
            max_len=MAX_ID_LENGTH,
        ),
        last_seq=w.opt_integer(o.get("last_seq"), "hello.last_seq"),
        layer_epoch=w.opt_string(epoch, "hello.layer_epoch"),
        presence=w.obj(o.get("presence") or {}, "hello.presence"),
        protocol=protocol,
        resume=_resume(o.get("resume")),
    )


def _resume(value: Any) -> SnapshotResume | None:
    if value is None:
        return None
    o = w.obj(value, "hello.resume")
    return SnapshotResume(
        w.integer(w.required(o, "seq", "hello.resume"), "hello.resume.seq"),
        w.string(
            w.required(o, "after", "hello.resume"),
            "hello.resume.after",
            nonempty=True,
            max_len=MAX_ID_LENGTH,
        ),
    )


def _push(o: dict[str, Any]) -> Push:
    raw = w.lst(w.required(o, "changes", "push"), "push.changes")
    return Push(tuple(change_from_wire(c, f"push.changes[{i}]") for i, c in enumerate(raw)))


def _presence_in(o: dict[str, Any]) -> Presence:
    return Presence(w.obj(w.required(o, "state", "presence"), "presence.state"))


def _get_document(o: dict[str, Any]) -> GetDocument:
    # §5.4: the options are read as JSON truth values, as the first servers read them.
    return GetDocument(with_layer=bool(o.get("with_layer")), flatten=bool(o.get("flatten")))


def _view_layer(o: dict[str, Any]) -> ViewLayer:
    return ViewLayer(w.string(w.required(o, "layer", "view_layer"), "view_layer.layer"))


def _records(o: dict[str, Any], path: str) -> tuple[RecordState, ...]:
    raw = w.lst(w.required(o, "records", path), f"{path}.records")
    return tuple(RecordState.from_wire(r, f"{path}.records[{i}]") for i, r in enumerate(raw))


def _opt_layer(o: dict[str, Any], path: str) -> str | None:
    return w.opt_string(o.get("layer"), f"{path}.layer")


def _welcome(o: dict[str, Any]) -> Welcome:
    p = "welcome"
    protocol = w.integer(w.required(o, "protocol", p), f"{p}.protocol")
    if protocol != PROTOCOL_VERSION:
        raise RemoteProtocolError(
            f"welcome.protocol: unsupported protocol {protocol} "
            f"(this client speaks {PROTOCOL_VERSION})"
        )
    doc = o.get("document")
    document = None
    if doc is not None:
        d = w.obj(doc, f"{p}.document")
        document = DocumentInfo(
            w.string(w.required(d, "sha256", f"{p}.document"), f"{p}.document.sha256"),
            w.integer(w.required(d, "size", f"{p}.document"), f"{p}.document.size"),
            w.integer(w.required(d, "page_count", f"{p}.document"), f"{p}.document.page_count"),
        )
    cp = o.get("collaboration_permissions")
    return Welcome(
        document_id=w.string(w.required(o, "document_id", p), f"{p}.document_id"),
        layer=w.string(w.required(o, "layer", p), f"{p}.layer"),
        layer_epoch=w.string(w.required(o, "layer_epoch", p), f"{p}.layer_epoch"),
        seq=w.integer(w.required(o, "seq", p), f"{p}.seq"),
        user_id=w.opt_string(o.get("user_id"), f"{p}.user_id"),
        permissions=w.strings(o.get("permissions", []), f"{p}.permissions"),
        collaboration_permissions=None
        if cp is None
        else w.strings(cp, f"{p}.collaboration_permissions"),
        default_group=w.opt_string(o.get("default_group"), f"{p}.default_group"),
        view_layers=w.strings(o.get("view_layers", []), f"{p}.view_layers"),
        document=document,
        protocol=protocol,
    )


def _snapshot(o: dict[str, Any]) -> Snapshot:
    return Snapshot(
        _records(o, "snapshot"),
        w.integer(w.required(o, "seq", "snapshot"), "snapshot.seq"),
        _opt_layer(o, "snapshot"),
        w.boolean(o.get("more", False), "snapshot.more"),
        w.opt_string(o.get("resumed_after"), "snapshot.resumed_after"),
    )


def _changes(o: dict[str, Any]) -> Changes:
    return Changes(
        _records(o, "changes"),
        w.integer(w.required(o, "seq", "changes"), "changes.seq"),
        w.boolean(o.get("catch_up", False), "changes.catch_up"),
        _opt_layer(o, "changes"),
        w.boolean(o.get("more", False), "changes.more"),
    )


def _ack(o: dict[str, Any]) -> Ack:
    raw = w.lst(w.required(o, "results", "ack"), "ack.results")
    return Ack(
        w.integer(w.required(o, "seq", "ack"), "ack.seq"),
        tuple(ChangeResult.from_wire(r, f"ack.results[{i}]") for i, r in enumerate(raw)),
        w.boolean(o.get("more", False), "ack.more"),
    )


def _presence_out(o: dict[str, Any]) -> PresenceList:
    raw = w.lst(w.required(o, "clients", "presence"), "presence.clients")
    clients = []
    for i, c in enumerate(raw):
        p = f"presence.clients[{i}]"
        co = w.obj(c, p)
        clients.append(
            PresenceClient(
                client_id=w.string(w.required(co, "client_id", p), f"{p}.client_id"),
                user_id=w.opt_string(co.get("user_id"), f"{p}.user_id"),
                name=w.opt_string(co.get("name"), f"{p}.name"),
                color=w.opt_string(co.get("color"), f"{p}.color"),
                state=w.obj(co.get("state") or {}, f"{p}.state"),
            )
        )
    return PresenceList(tuple(clients))


def _document_chunk(o: dict[str, Any]) -> DocumentChunk:
    p = "document_chunk"
    index = w.integer(w.required(o, "index", p), f"{p}.index")
    count = w.integer(w.required(o, "count", p), f"{p}.count", minimum=1)
    if index >= count:
        raise w.fail(f"{p}.index", f"{index} is not below count {count}")
    return DocumentChunk(
        w.string(w.required(o, "sha256", p), f"{p}.sha256"),
        index,
        count,
        w.string(w.required(o, "data", p), f"{p}.data"),
    )


def _error(o: dict[str, Any]) -> Error:
    code = w.string(w.required(o, "code", "error"), "error.code")
    limit = w.opt_string(o.get("limit"), "error.limit")
    return Error(code, w.string(o.get("message", ""), "error.message"), limit)


_FROM_CLIENT: dict[str, Callable[[dict[str, Any]], Message]] = {
    "hello": _hello,
    "push": _push,
    "presence": _presence_in,
    "get_document": _get_document,
    "view_layer": _view_layer,
}
_FROM_SERVER: dict[str, Callable[[dict[str, Any]], Message]] = {
    "welcome": _welcome,
    "snapshot": _snapshot,
    "changes": _changes,
    "ack": _ack,
    "presence": _presence_out,
    "document_chunk": _document_chunk,
    "error": _error,
}


def check_frame_size(text: str) -> None:
    """Raise ``too-large`` when ``text`` is longer than :data:`MAX_FRAME_BYTES` in UTF-8."""
    # A character is at most 4 bytes, so most frames need no encoding to be measured.
    if len(text) * 4 > MAX_FRAME_BYTES and len(text.encode("utf-8", "surrogatepass")) > (
        MAX_FRAME_BYTES
    ):
        raise RemoteProtocolError(f"frame of more than {MAX_FRAME_BYTES} bytes", code="too-large")


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_no_lone_surrogates(value: Any) -> None:
    # json.loads turns an unpaired "\ud800" escape into a lone surrogate, which cannot be
    # written as UTF-8 later: relaying it would break every receiving connection.
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise RemoteProtocolError("frame: string with an unpaired surrogate escape") from None


def decode_message(text: str, *, from_client: bool) -> Message:
    """Parse and validate one frame.

    Args:
        text: the frame.
        from_client: True to decode what a client sends (the server's side), False for what
            a server sends (the client's side).

    Raises:
        RemoteProtocolError: ``too-large`` for a frame over :data:`MAX_FRAME_BYTES`,
            ``bad-message`` for anything else wrong; the message names the bad value.
    """
    if not isinstance(text, str):
        raise RemoteProtocolError(f"frame: expected text, got {type(text).__name__}")
    check_frame_size(text)
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_safe_int,
        )
    except RemoteProtocolError:
        raise
    except RecursionError:
        raise RemoteProtocolError("frame: JSON nested too deeply") from None
    except ValueError as exc:
        raise RemoteProtocolError(f"frame: malformed JSON ({exc})") from None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        _check_no_lone_surrogates(value)
    if not isinstance(value, dict):
        raise RemoteProtocolError(f"frame: expected a JSON object, got {w.kind_of(value)}")
    type_ = value.get("type")
    table = _FROM_CLIENT if from_client else _FROM_SERVER
    if not isinstance(type_, str):
        raise RemoteProtocolError(f"type: expected a string, got {w.kind_of(type_)}")
    decoder = table.get(type_)
    if decoder is None:
        side = "client" if from_client else "server"
        raise RemoteProtocolError(f"type: unknown message type {type_[:40]!r} from a {side}")
    try:
        return decoder(value)
    except RecursionError:
        raise RemoteProtocolError(f"{type_}: JSON nested too deeply") from None


# --- layer listing (DESIGN §4.8; appended by the HTTP work, issue 12) ----------------------


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


def _list_layers(o: dict[str, Any]) -> ListLayers:
    return ListLayers()


def _unview_layer(o: dict[str, Any]) -> UnviewLayer:
    return UnviewLayer(w.string(w.required(o, "layer", "unview_layer"), "unview_layer.layer"))


def _layer_list(o: dict[str, Any]) -> LayerList:
    return LayerList(tuple(w.strings(w.required(o, "layers", "layers"), "layers.layers")))


_FROM_CLIENT["list_layers"] = _list_layers  # type: ignore[assignment]
_FROM_CLIENT["unview_layer"] = _unview_layer  # type: ignore[assignment]
_FROM_SERVER["layers"] = _layer_list  # type: ignore[assignment]
