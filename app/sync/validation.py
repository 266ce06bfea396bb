"""What a record may contain, and the server's limits and quotas (§2.5, §9; DESIGN §4.9, §10).

Every record a server accepts, and every record a client takes from a server, passes
:func:`record_problem`: its content parses with the Instant JSON codec of its type
(:func:`lamina.model.records.record_from_json`, the one schema), its ``type`` belongs to its
``kind``, every number is finite and JSON-safe, and strings, arrays, ink points, nesting and
the encoded size stay within a :class:`Limits`. One record that passes can be stored, relayed,
joined and exported by everyone; one that does not is refused with a reason naming the limit.

:class:`Limits` is one frozen value with defaults; ``lamina serve`` reads it from flags
(:meth:`Limits.add_arguments` / :meth:`Limits.from_args`).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lamina.model.errors import JsonValueError
from lamina.model.records import UnknownAnnotation, record_class_for_type, record_from_json
from lamina.sync.errors import RemoteProtocolError
from lamina.sync.state import dumps

MAX_SAFE_INTEGER = 2**53
"""Largest integer magnitude every JSON reader keeps exactly (JavaScript's safe integers)."""


@dataclass(frozen=True)
class Limits:
    """The server's limits and quotas (DESIGN §10); each refusal names its field.

    Attributes:
        frame_bytes: largest frame either side accepts (§1.2).
        push_bytes: largest ``push`` frame a server accepts: below ``frame_bytes`` so that
            the ``ack`` (the same records plus their metadata) still fits one frame.
        changes_per_push: changes one ``push`` may carry.
        record_bytes: largest record content, encoded as JSON.
        unknown_record_bytes: largest content of a record whose ``type`` Lamina does not
            know (kept verbatim, so it gets a tighter bound).
        string_chars: longest string anywhere in a record's content.
        array_items: longest array anywhere in a record's content.
        depth: deepest nesting of a record's content.
        points_per_ink: points of all lines of one ink annotation together.
        records_per_layer: records (tombstones included) one layer may hold.
        layers_per_document: layers one document may have.
        presence_bytes: largest presence state of one connection, encoded as JSON.
        connections_per_token: connections one token may hold open at once.
        messages_per_second: frames one connection may send per second, sustained (§7.3);
            unlike the buckets below it is the connection's own.
        messages_burst: frames one connection may send at once (token bucket size).
        changes_per_second: changes a connection may push per second, sustained.
        changes_burst: changes a connection may push at once (token bucket size).
        bytes_per_second: bytes a connection may send per second, sustained.
        bytes_burst: bytes a connection may send at once.
        joins_per_second: hellos one token may send per second, sustained (each join
            costs the server a snapshot).
        joins_burst: hellos one token may send at once.
        chunk_bytes: target size of one ``snapshot``/``changes``/``ack`` part (§3.7).
        throttle_seconds: how long a connection past its byte or change budget is slowed
            down to it (the server reads its next frame only once the budget allows it)
            before it is refused with ``rate-limited`` (§7.3).
        token_leeway: seconds an open connection outlives its token's ``exp`` (the clock
            skew verification allows, DESIGN §5).
        history_retention: seconds a layer keeps tombstones and applied change ids for a
            replica that has not come back (lamina.server.compaction); one that comes back
            later gets a snapshot reset.
    """

    frame_bytes: int = 4 * 1024 * 1024
    push_bytes: int = 1024 * 1024
    changes_per_push: int = 1000
    record_bytes: int = 512 * 1024
    unknown_record_bytes: int = 64 * 1024
    string_chars: int = 256 * 1024
    array_items: int = 100_000
    depth: int = 32
    points_per_ink: int = 50_000
    records_per_layer: int = 50_000
    layers_per_document: int = 1000
    presence_bytes: int = 4096
    connections_per_token: int = 32
    messages_per_second: float = 100.0
    messages_burst: float = 200.0
    changes_per_second: float = 1000.0
    changes_burst: float = 5000.0
    bytes_per_second: float = 1024 * 1024
    bytes_burst: float = 8 * 1024 * 1024
    joins_per_second: float = 1.0
    joins_burst: float = 20.0
    chunk_bytes: int = 1024 * 1024
    token_leeway: float = 30.0
    throttle_seconds: float = 10.0
    history_retention: float = 30 * 24 * 3600.0

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """Add one ``--limit-NAME`` flag per limit to ``lamina serve``'s parser."""
        group = parser.add_argument_group("limits and quotas (DESIGN §10)")
        for f in dataclasses.fields(Limits):
            flag = "--limit-" + f.name.replace("_", "-")
            kind = float if f.type in ("float", float) else int
            group.add_argument(
                flag,
                dest=f"limit_{f.name}",
                type=kind,
                default=None,
                metavar="N",
                help=f"default {f.default}",
            )

    @staticmethod
    def from_args(args: argparse.Namespace) -> Limits:
        """Return the limits the flags of :meth:`add_arguments` give (defaults elsewhere)."""
        given = {
            f.name: getattr(args, f"limit_{f.name}")
            for f in dataclasses.fields(Limits)
            if getattr(args, f"limit_{f.name}", None) is not None
        }
        return Limits(**given)


DEFAULT_LIMITS = Limits()

_configured: list[Limits] = []


def configure_limits(limits: Limits) -> None:
    """Set the limits of the server in this process (``lamina serve`` flags); a server
    object's own ``limits`` attribute, when set, wins."""
    _configured[:] = [limits]


def server_limits() -> Limits:
    """Return the limits :func:`configure_limits` set, else :data:`DEFAULT_LIMITS`."""
    return _configured[0] if _configured else DEFAULT_LIMITS


_ANY_SIZE = 1 << 62
RECEIVED_LIMITS = Limits(
    record_bytes=_ANY_SIZE,
    unknown_record_bytes=_ANY_SIZE,
    string_chars=_ANY_SIZE,
    array_items=_ANY_SIZE,
    points_per_ink=_ANY_SIZE,
    depth=512,
)
"""What a client checks records it receives against: the schema, the kind and the numbers,
not the sizes (a server with other limits, or the PDF's own annotations, may exceed ours)."""


class LimitExceeded(RemoteProtocolError):
    """A peer went past one of the :class:`Limits`; ``limit`` names the field (§7.1).

    Its error code is ``limit-exceeded`` (close 4413), except a frame over ``frame_bytes``,
    which stays ``too-large`` (1009), and a rate, which stays ``rate-limited`` (4429).
    """

    def __init__(self, limit: str, message: str, code: str = "limit-exceeded") -> None:
        super().__init__(f"limit {limit}: {message}", code=code)
        self.limit = limit


@dataclass(frozen=True)
class Problem:
    """Why a record is refused: the reason (one line) and the limit it broke, if any."""

    reason: str
    limit: str | None = None


def _walk(value: Any, limits: Limits, path: str, depth: int) -> Problem | None:
    # Iterative over siblings, recursive over depth (bounded by limits.depth).
    if depth > limits.depth:
        return Problem(f"{path}: nested deeper than {limits.depth}", "depth")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            return Problem(f"{path}: integer outside ±2^53", None)
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > MAX_SAFE_INTEGER:
            return Problem(f"{path}: number {value!r} is not finite within ±2^53", None)
        return None
    if isinstance(value, str):
        if len(value) > limits.string_chars:
            return Problem(
                f"{path}: string of {len(value)} characters (at most {limits.string_chars})",
                "string_chars",
            )
        return None
    if isinstance(value, list | tuple):
        if len(value) > limits.array_items:
            return Problem(
                f"{path}: array of {len(value)} items (at most {limits.array_items})",
                "array_items",
            )
        for i, item in enumerate(value):
            found = _walk(item, limits, f"{path}[{i}]", depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, Mapping):
        if len(value) > limits.array_items:
            return Problem(f"{path}: object of {len(value)} keys", "array_items")
        for key, item in value.items():
            if not isinstance(key, str) or len(key) > limits.string_chars:
                return Problem(f"{path}: key too long", "string_chars")
            found = _walk(item, limits, f"{path}.{key}", depth + 1)
            if found is not None:
                return found
        return None
    return Problem(f"{path}: not a JSON value ({type(value).__name__})")


def _fine(value: Any, limits: Limits, depth: int) -> bool:
    """Return True when ``value`` certainly passes :func:`_walk`'s rules.

    The fast path of every record received or committed: exact types only, no path strings
    (building ``content.a[3].b`` for every value cost more than the checks). False means
    "ask :func:`_walk`", which gives the reason, or finds none for types this leaves to it.
    """
    if depth > limits.depth:
        return False
    kind = type(value)
    if kind is str:
        return len(value) <= limits.string_chars
    if kind is bool or value is None:
        return True
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if kind is float:
        return math.isfinite(value) and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if kind is list:
        if len(value) > limits.array_items:
            return False
        # A loop, not all(...): a generator costs a frame for every list walked.
        for item in value:  # noqa: SIM110
            if not _fine(item, limits, depth + 1):
                return False
        return True
    if kind is dict:
        if len(value) > limits.array_items:
            return False
        for key, item in value.items():
            if type(key) is not str or len(key) > limits.string_chars:
                return False
            if not _fine(item, limits, depth + 1):
                return False
        return True
    return False


def _ink_points(content: Mapping[str, Any]) -> int:
    lines = content.get("lines")
    points = lines.get("points") if isinstance(lines, Mapping) else None
    if not isinstance(points, list):
        return 0
    return sum(len(line) for line in points if isinstance(line, list))


def value_problem(
    value: Any, limits: Limits = DEFAULT_LIMITS, path: str = "value"
) -> Problem | None:
    """Return why a JSON value breaks the number, string, array or depth rules, or None."""
    return None if _fine(value, limits, 0) else _walk(value, limits, path, 0)


def record_problem(
    kind: str,
    content: Mapping[str, Any] | None,
    limits: Limits = DEFAULT_LIMITS,
    *,
    encoded_size: int | None = None,
) -> Problem | None:
    """Return why a record with this ``kind`` and ``content`` is refused, or None (DESIGN §4.9).

    Args:
        kind: the record's kind (§2.1).
        content: its Instant JSON (None: a content-less tombstone, always fine).
        limits: the limits to apply.
        encoded_size: the content's size as compact JSON when the caller knows it.
    """
    if content is None:
        return None
    found = value_problem(content, limits, "content")
    if found is not None:
        return found
    if encoded_size is not None:
        size = encoded_size
    elif limits.record_bytes >= _ANY_SIZE and limits.unknown_record_bytes >= _ANY_SIZE:
        size = (
            0  # no size can break these limits: a client's received records are not encoded again
        )
    else:
        size = len(dumps(content).encode("utf-8"))
    if size > limits.record_bytes:
        return Problem(
            f"record content of {size} bytes (at most {limits.record_bytes})", "record_bytes"
        )
    type_name = content.get("type")
    if not isinstance(type_name, str) or not type_name:
        return Problem("content.type: missing record type")
    cls = record_class_for_type(type_name)
    if kind != cls.KIND:
        # DESIGN §5: the content type decides the permission content type.
        return Problem(f"kind {kind!r} does not match content type {type_name[:80]!r}")
    if cls is UnknownAnnotation and size > limits.unknown_record_bytes:
        return Problem(
            f"record of unknown type {type_name[:80]!r} of {size} bytes "
            f"(at most {limits.unknown_record_bytes})",
            "unknown_record_bytes",
        )
    try:
        record_from_json(dict(content), "content")
    except JsonValueError as exc:
        return Problem(str(exc))
    points = _ink_points(content) if type_name == "pspdfkit/ink" else 0
    if points > limits.points_per_ink:
        return Problem(
            f"ink of {points} points (at most {limits.points_per_ink})", "points_per_ink"
        )
    return None


def check_presence(state: Mapping[str, Any], limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise :class:`LimitExceeded` when a presence state is larger than ``presence_bytes``."""
    size = len(dumps(dict(state)).encode("utf-8"))
    if size > limits.presence_bytes:
        raise LimitExceeded(
            "presence_bytes", f"presence state of {size} bytes (at most {limits.presence_bytes})"
        )
