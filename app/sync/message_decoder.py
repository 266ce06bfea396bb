"""Reading the sync protocol's frames (§1, §7.1): :func:`decode_message`.

It validates a frame completely and raises :class:`~lamina.sync.errors.RemoteProtocolError`
naming the first bad value (``push.changes[2].op: expected create, update or delete, got
'move'``), never another exception. The messages themselves are in
:mod:`lamina.sync.messages`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from lamina.sync import _wire as w
from lamina.sync.errors import RemoteProtocolError
from lamina.sync.messages import (
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    Ack,
    Changes,
    DocumentChunk,
    DocumentInfo,
    Error,
    GetDocument,
    Hello,
    LayerList,
    ListLayers,
    Message,
    Presence,
    PresenceClient,
    PresenceList,
    Push,
    Snapshot,
    SnapshotResume,
    UnviewLayer,
    ViewLayer,
    Welcome,
)
from lamina.sync.state import (
    MAX_ID_LENGTH,
    ChangeResult,
    RecordState,
    change_from_wire,
)
from lamina.sync.validation import MAX_SAFE_INTEGER


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


def _list_layers(o: dict[str, Any]) -> ListLayers:
    return ListLayers()


def _unview_layer(o: dict[str, Any]) -> UnviewLayer:
    return UnviewLayer(w.string(w.required(o, "layer", "unview_layer"), "unview_layer.layer"))


def _layer_list(o: dict[str, Any]) -> LayerList:
    return LayerList(tuple(w.strings(w.required(o, "layers", "layers"), "layers.layers")))


_FROM_CLIENT: dict[str, Callable[[dict[str, Any]], Message]] = {
    "hello": _hello,
    "push": _push,
    "presence": _presence_in,
    "get_document": _get_document,
    "view_layer": _view_layer,
    "list_layers": _list_layers,
    "unview_layer": _unview_layer,
}
_FROM_SERVER: dict[str, Callable[[dict[str, Any]], Message]] = {
    "welcome": _welcome,
    "snapshot": _snapshot,
    "changes": _changes,
    "ack": _ack,
    "presence": _presence_out,
    "document_chunk": _document_chunk,
    "error": _error,
    "layers": _layer_list,
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
