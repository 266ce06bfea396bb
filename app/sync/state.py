"""Values of the sync protocol: record states, changes, change results, actors (§2, §4).

Every value is a frozen dataclass with ``to_wire()`` (the JSON-ready dict of the spec) and a
``from_wire(value, path)`` that validates and raises :class:`RemoteProtocolError` naming the
path of the first bad value. Mappings held by these values are never mutated after creation;
callers must not mutate what ``to_wire()`` returns either (it may be cached).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, ClassVar, Literal, TypeAlias

from lamina.model.ids import RecordId
from lamina.sync import _wire as w
from lamina.sync.json_text import SparseFieldRevs, dumps

KINDS = ("annotation", "comment", "form-field", "form-field-value", "bookmark")
"""Record kinds of §2.1."""

MAX_ID_LENGTH = 200
"""Longest record id or change id accepted (ids are ULIDs or pdfObjectIds, or form names)."""

GROUP_FIELD = ":group"
"""Key under which a record's ``group`` is tracked in its per-field revisions (§4.5)."""

JSONObject: TypeAlias = Mapping[str, Any]


class _Stored(enum.Enum):
    """Marks a record's ``content`` as held only as its JSON text (an enum: it pickles)."""

    TEXT = "text"


class _Content:
    """The ``content`` field of :class:`RecordState`: a mapping or None as given, or, for a
    record read from a store (:meth:`RecordState.from_text`), its stored JSON text parsed
    afresh at each read. A room of 100,000 records then holds each one's text once instead
    of a parsed copy beside it (issue 15: server memory a small multiple of the live JSON);
    only the records a change, a scoped view or an export reads are parsed, for that read."""

    def __get__(self, obj: RecordState | None, owner: type | None = None) -> JSONObject | None:
        if obj is None:
            return None  # the field's default, as dataclasses asks for it
        value: JSONObject | _Stored | None = obj.__dict__["_content"]
        if value is _Stored.TEXT:
            parsed: JSONObject = json.loads(obj.__dict__["content_text"])
            return parsed
        assert not isinstance(value, _Stored)
        return value

    def __set__(self, obj: RecordState, value: JSONObject | None) -> None:
        obj.__dict__["_content"] = value


@dataclass(frozen=True)
class RecordState:
    """One record as the server committed it (§2.2); a tombstone when ``deleted``.

    ``field_revs`` maps each top-level content key (and :data:`GROUP_FIELD`) to the ``rev``
    at which it last changed (§4.5). It is server bookkeeping: it never travels on the wire,
    but a store keeps it (see :meth:`to_store` / :meth:`from_store`). When it is empty every
    field counts as changed at ``rev``, which can only report extra conflicts, never hide one.

    ``content`` must not be mutated. A state read from a store holds it as text
    (:meth:`from_text`): each read returns a new parse, so read it once where it is used
    several times, and use :attr:`has_content` to tell a tombstone's ``None``.
    """

    id: RecordId
    kind: str
    rev: int
    seq: int
    content: JSONObject | None = _Content()  # type: ignore[assignment]
    deleted: bool = False
    creator_id: str | None = None
    group: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    field_revs: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def live(self) -> bool:
        """Whether the record exists (is not a tombstone)."""
        return not self.deleted

    @classmethod
    def from_text(
        cls,
        record_id: RecordId,
        kind: str,
        rev: int,
        seq: int,
        content_text: str | None,
        *,
        deleted: bool = False,
        creator_id: str | None = None,
        group: str | None = None,
        created_at: str | None = None,
        updated_at: str | None = None,
        field_revs: Mapping[str, int] | None = None,
    ) -> RecordState:
        """Return a state whose content is kept as ``content_text`` (``dumps`` of a JSON
        object, as a store holds it), parsed only when read; see the class docstring. None:
        a state without content (a tombstone)."""
        state = cls(
            record_id,
            kind,
            rev,
            seq,
            None,
            deleted,
            creator_id,
            group,
            created_at,
            updated_at,
            {} if field_revs is None else field_revs,
        )
        if content_text is not None:
            state.__dict__["_content"] = _Stored.TEXT
            state.__dict__["content_text"] = content_text
        return state

    def compact(self) -> RecordState:
        """Return this state in the form of :meth:`from_text` (itself when it is already, or
        has no content): what a room keeps of a record once its commit is fanned out. Its
        ``field_revs`` are kept as sparse text (:class:`~lamina.sync.json_text.SparseFieldRevs`)."""
        if self._compact or not self.has_content:
            return self
        revs: Mapping[str, int] = self.field_revs
        if isinstance(revs, dict) and revs:
            content = self.content  # (parsed: this state is not compact)
            assert content is not None
            revs = SparseFieldRevs.encode(revs, content, self.content_text, (GROUP_FIELD,))
        return RecordState.from_text(
            self.id,
            self.kind,
            self.rev,
            self.seq,
            self.content_text,
            deleted=self.deleted,
            creator_id=self.creator_id,
            group=self.group,
            created_at=self.created_at,
            updated_at=self.updated_at,
            field_revs=revs,
        )

    @property
    def has_content(self) -> bool:
        """Whether ``content`` is not None, without parsing a stored text."""
        return self.__dict__["_content"] is not None

    @property
    def _compact(self) -> bool:
        # A state from a store: its encodings are remade when asked, never kept beside it.
        return self.__dict__["_content"] is _Stored.TEXT

    @property
    def wire(self) -> dict[str, Any]:
        """The §2.2 dict (cached unless the content is held as text; do not mutate)."""
        cached: dict[str, Any] | None = self.__dict__.get("_wire")
        if cached is not None:
            return cached
        made = self._make_wire()
        if not self._compact:
            self.__dict__["_wire"] = made
        return made

    def _make_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "rev": self.rev,
            "seq": self.seq,
            "content": self.content,
            "deleted": self.deleted,
            "creator_id": self.creator_id,
            "group": self.group,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @cached_property
    def content_text(self) -> str:
        """``content`` as compact JSON (``null`` for none), encoded once: the validation's
        size check, ``wire_text`` and a store's row all use this one string."""
        return dumps(self.content)

    @property
    def wire_text(self) -> str:
        """The §2.2 dict as compact JSON, encoded once and reused for every viewer (the
        bytes of ``dumps(wire)``, with the content's cached encoding spliced in); for a
        state read from a store, spliced again at each call (no second copy is kept)."""
        cached: str | None = self.__dict__.get("_wire_text")
        if cached is not None:
            return cached
        made = self._make_wire_text()
        if not self._compact:
            self.__dict__["_wire_text"] = made
        return made

    def _make_wire_text(self) -> str:
        head = dumps({"id": self.id, "kind": self.kind, "rev": self.rev, "seq": self.seq})
        tail = dumps(
            {
                "deleted": self.deleted,
                "creator_id": self.creator_id,
                "group": self.group,
                "created_at": self.created_at,
                "updated_at": self.updated_at,
            }
        )
        return f'{head[:-1]},"content":{self.content_text},{tail[1:]}'

    def with_content_text(self, text: str) -> RecordState:
        """Return this state with ``text`` (``dumps(content)``, already made by the caller)
        as its cached :attr:`content_text`, so the content is never encoded twice."""
        self.__dict__["content_text"] = text  # what cached_property itself stores
        return self

    def to_wire(self) -> dict[str, Any]:
        """Return the §2.2 dict (a fresh shallow copy)."""
        return dict(self.wire)

    def hidden(self) -> RecordState:
        """Return the content-less tombstone sent to a viewer who may no longer see it (§4.9)."""
        return RecordState(
            self.id, self.kind, self.rev, self.seq, None, True, updated_at=self.updated_at
        )

    def to_store(self) -> dict[str, Any]:
        """Return the wire dict plus ``field_revs``, for a store to persist."""
        out = self.to_wire()
        out["field_revs"] = dict(self.field_revs)
        return out

    @classmethod
    def from_store(cls, value: Any) -> RecordState:
        """Read what :meth:`to_store` wrote.

        Raises:
            RemoteProtocolError: the value is not a valid stored record state.
        """
        state = cls.from_wire(value, "record")
        revs = w.obj(value.get("field_revs", {}), "record.field_revs")
        checked = {str(k): w.integer(v, f"record.field_revs.{k}") for k, v in revs.items()}
        return dataclasses.replace(state, field_revs=checked)

    @classmethod
    def from_wire(cls, value: Any, path: str) -> RecordState:
        """Validate and read a §2.2 dict.

        Raises:
            RemoteProtocolError: a key is missing or has the wrong type; the message names it.
        """
        o = w.obj(value, path)
        content = o.get("content")
        if content is not None:
            content = w.obj(content, f"{path}.content")
        return cls(
            id=RecordId(
                w.string(
                    w.required(o, "id", path), f"{path}.id", nonempty=True, max_len=MAX_ID_LENGTH
                )
            ),
            kind=w.one_of(w.required(o, "kind", path), f"{path}.kind", KINDS),
            rev=w.integer(w.required(o, "rev", path), f"{path}.rev"),
            seq=w.integer(w.required(o, "seq", path), f"{path}.seq"),
            content=content,
            deleted=w.boolean(o.get("deleted", False), f"{path}.deleted"),
            creator_id=w.opt_string(o.get("creator_id"), f"{path}.creator_id"),
            group=w.opt_string(o.get("group"), f"{path}.group"),
            created_at=w.opt_string(o.get("created_at"), f"{path}.created_at"),
            updated_at=w.opt_string(o.get("updated_at"), f"{path}.updated_at"),
        )


@dataclass(frozen=True)
class Actor:
    """Whoever makes a change: the facts of their token the layer needs (§2.3).

    Attributes:
        user_id: the token's ``user_id``, stored as ``creator_id`` of records it creates.
        creator_name: the token's forced ``creator_name``; written into new records'
            ``creatorName`` when the content has none.
        default_group: the token's ``default_group``, the group of new records without one.
    """

    user_id: str | None = None
    creator_name: str | None = None
    default_group: str | None = None


def _change_id(o: dict[str, Any], path: str) -> str:
    return w.string(
        w.required(o, "change_id", path), f"{path}.change_id", nonempty=True, max_len=MAX_ID_LENGTH
    )


def _record_id(o: dict[str, Any], path: str) -> RecordId:
    return RecordId(
        w.string(
            w.required(o, "record_id", path),
            f"{path}.record_id",
            nonempty=True,
            max_len=MAX_ID_LENGTH,
        )
    )


@dataclass(frozen=True)
class CreateChange:
    """Create a record, or re-create a tombstone's id (§4.1, §4.7)."""

    OP: ClassVar[str] = "create"
    change_id: str
    record_id: RecordId
    kind: str
    content: JSONObject
    group: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "change_id": self.change_id,
            "op": "create",
            "record_id": self.record_id,
            "kind": self.kind,
            "content": self.content,
            "group": self.group,
        }


@dataclass(frozen=True)
class UpdateChange:
    """Set and unset top-level content keys of a record, and maybe change its group (§4.1).

    ``group`` None means the group does not change.
    """

    OP: ClassVar[str] = "update"
    change_id: str
    record_id: RecordId
    base_rev: int
    set: JSONObject = field(default_factory=dict)
    unset: tuple[str, ...] = ()
    group: str | None = None

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "change_id": self.change_id,
            "op": "update",
            "record_id": self.record_id,
            "base_rev": self.base_rev,
            "set": self.set,
            "unset": list(self.unset),
        }
        if self.group is not None:
            out["group"] = self.group
        return out


@dataclass(frozen=True)
class DeleteChange:
    """Delete a record; it becomes a tombstone (§4.6)."""

    OP: ClassVar[str] = "delete"
    change_id: str
    record_id: RecordId
    base_rev: int

    def to_wire(self) -> dict[str, Any]:
        return {
            "change_id": self.change_id,
            "op": "delete",
            "record_id": self.record_id,
            "base_rev": self.base_rev,
        }


Change: TypeAlias = CreateChange | UpdateChange | DeleteChange
"""One change of one record (§4.1)."""

OPS = ("create", "update", "delete")


def change_from_wire(value: Any, path: str) -> Change:
    """Validate and read one change of a ``push`` (§4.1).

    Raises:
        RemoteProtocolError: e.g. ``push.changes[2].op: expected create, update or delete``.
    """
    o = w.obj(value, path)
    op = w.one_of(w.required(o, "op", path), f"{path}.op", OPS)
    change_id = _change_id(o, path)
    record_id = _record_id(o, path)
    if op == "create":
        return CreateChange(
            change_id,
            record_id,
            w.one_of(w.required(o, "kind", path), f"{path}.kind", KINDS),
            w.obj(w.required(o, "content", path), f"{path}.content"),
            w.opt_string(o.get("group"), f"{path}.group"),
        )
    base_rev = w.integer(w.required(o, "base_rev", path), f"{path}.base_rev")
    if op == "delete":
        return DeleteChange(change_id, record_id, base_rev)
    set_ = w.obj(o.get("set", {}), f"{path}.set")
    unset = w.strings(o.get("unset", []), f"{path}.unset")
    both = set(set_).intersection(unset)
    if both:
        raise w.fail(f"{path}.unset", f"{sorted(both)[0]!r} is also in set")
    return UpdateChange(
        change_id,
        record_id,
        base_rev,
        set_,
        unset,
        w.opt_string(o.get("group"), f"{path}.group"),
    )


Status: TypeAlias = Literal["applied", "conflict", "deleted", "rejected"]
STATUSES: tuple[Status, ...] = ("applied", "conflict", "deleted", "rejected")


_NOTHING_LOST: JSONObject = MappingProxyType({})
"""The ``lost`` of every result that lost nothing (one shared, read-only: a server remembers
the result of each change it applied)."""


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """What became of one change (§4.4).

    Attributes:
        change_id: the change's id.
        record_id: the record it touched.
        status: ``applied``, ``conflict`` (some fields lost, §4.5), ``deleted`` (the record is
            a tombstone, §4.6) or ``rejected`` (nothing happened, see ``reason``).
        record: the record's committed state after the change (None when it does not exist,
            or, on the wire, when the receiver may not view it).
        reason: why a change was rejected.
        lost: for a conflict, the incoming values that did not win.
        lost_unset: for a conflict, the keys the change wanted removed but that stayed.
        lost_group: for a conflict, the group the change wanted but did not get.
        made_rev: the ``rev`` this change produced, None when it changed nothing. A client
            moves the ``base_rev`` of its later changes of the record to it (§6.2).
    """

    change_id: str
    record_id: RecordId
    status: Status
    record: RecordState | None = None
    reason: str | None = None
    lost: JSONObject = field(default_factory=lambda: _NOTHING_LOST)
    lost_unset: tuple[str, ...] = ()
    lost_group: str | None = None
    made_rev: int | None = None
    author: tuple[str | None] | None = field(default=None, compare=False)
    """Whose change this was, ``(user_id,)``, kept by the store so that a repeated change id
    gets its stored result only from its author (§4.2); None when unknown (older stores)."""
    limit: str | None = None
    """For a change rejected by a limit, the :class:`~lamina.sync.validation.Limits` field."""

    def to_wire(self, record: RecordState | bool | None = True) -> dict[str, Any]:
        """Return the §4.4 result dict.

        Args:
            record: True to include :attr:`record`, a state to send instead (a viewer's
                filtered version), or None/False to send null.
        """
        sent = self.record if record is True else (record or None)
        out: dict[str, Any] = {
            "change_id": self.change_id,
            "record_id": self.record_id,
            "status": self.status,
            "record": None if sent is None else sent.wire,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        if self.made_rev is not None:
            out["made_rev"] = self.made_rev
        if self.limit is not None:
            out["limit"] = self.limit
        if self.status == "conflict":
            conflict: dict[str, Any] = {
                "lost": dict(self.lost),
                "lost_unset": list(self.lost_unset),
            }
            if self.lost_group is not None:
                conflict["lost_group"] = self.lost_group
            out["conflict"] = conflict
        return out

    def to_store(self) -> dict[str, Any]:
        """Return the result without its record, for a store to remember it (§4.2)."""
        out = self.to_wire(record=None)
        if self.author is not None:
            out["author"] = {"user_id": self.author[0]}
        return out

    @classmethod
    def from_wire(cls, value: Any, path: str) -> ChangeResult:
        """Validate and read one §4.4 result (or what :meth:`to_store` wrote).

        Raises:
            RemoteProtocolError: the value is not a valid result; the message names the path.
        """
        o = w.obj(value, path)
        status: Any = w.one_of(w.required(o, "status", path), f"{path}.status", STATUSES)
        raw_record = o.get("record")
        record = None if raw_record is None else RecordState.from_wire(raw_record, f"{path}.record")
        record_id = o.get("record_id")
        if record_id is None and record is not None:
            record_id = record.id
        lost: Mapping[str, Any] = {}
        lost_unset: tuple[str, ...] = ()
        lost_group = None
        if status == "conflict" and o.get("conflict") is not None:
            c = w.obj(o["conflict"], f"{path}.conflict")
            lost = w.obj(c.get("lost", {}), f"{path}.conflict.lost")
            lost_unset = w.strings(c.get("lost_unset", []), f"{path}.conflict.lost_unset")
            lost_group = w.opt_string(c.get("lost_group"), f"{path}.conflict.lost_group")
        return cls(
            change_id=_change_id(o, path),
            record_id=RecordId(w.string(record_id or "", f"{path}.record_id")),
            status=status,
            record=record,
            reason=w.opt_string(o.get("reason"), f"{path}.reason"),
            lost=lost,
            lost_unset=lost_unset,
            lost_group=lost_group,
            made_rev=w.opt_integer(o.get("made_rev"), f"{path}.made_rev"),
            author=_author(o.get("author"), f"{path}.author"),
            limit=w.opt_string(o.get("limit"), f"{path}.limit"),
        )


def _author(value: Any, path: str) -> tuple[str | None] | None:
    if value is None:
        return None
    return (w.opt_string(w.obj(value, path).get("user_id"), f"{path}.user_id"),)
