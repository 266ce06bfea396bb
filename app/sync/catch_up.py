"""What a connecting client is sent right after its ``welcome`` (§3.3, §3.4, §3.8).

:func:`catch_up_for` decides between exactly what the client missed and a snapshot, and
:func:`resumed_snapshot` continues a snapshot a dropped connection interrupted. Both are pure
functions of the client's ``hello``, the layer and the connection's view rule;
:meth:`lamina.sync.server_session.ServerSession.send_catch_up` sends what they decide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from lamina.sync.layer import LayerState
from lamina.sync.messages import Hello
from lamina.sync.state import RecordState

Visibility: TypeAlias = Callable[[RecordState], bool]
"""Whether a connection may view a record (its token's ``view`` rules, §4.9); None: all."""


@dataclass(frozen=True)
class CatchUp:
    """What a connecting client is sent right after its ``welcome`` (§3.3).

    Attributes:
        records: for a snapshot every live record, else the latest state of every record
            changed after the client's ``last_seq``.
        seq: the layer ``seq`` it brings the client to.
        snapshot: whether it replaces the client's replica (``snapshot``) or brings exactly
            what the client missed (``changes`` with ``catch_up``).
    """

    records: Sequence[RecordState]
    seq: int
    snapshot: bool
    resumed_after: str | None = None
    """For a snapshot that continues an interrupted one (§3.8): the last record id the
    client already holds; ``records`` are then the changes of the records up to it and the
    live records after it."""


def catch_up_for(hello: Hello, layer: LayerState, visible: Visibility | None = None) -> CatchUp:
    """Decide what a client that said ``hello`` gets from ``layer`` (§3.3, §3.4, §3.8).

    Exactly what it missed when its ``layer_epoch`` is the layer's and the layer still holds
    every change after its ``last_seq``; otherwise a snapshot (first sync, another epoch, a
    ``last_seq`` older than the kept history or from a future the server lost). When a
    missed record is one the connection may not view (``visible``), a snapshot too: a
    catch-up would have to say it changed (its id, kind and rev), and a snapshot drops it
    from the replica without naming it. A hello that resumes an interrupted snapshot gets
    the rest of it (:func:`resumed_snapshot`) when that can be exact, before all else.
    Snapshot records are in id order (§3.8).
    """
    resumed = resumed_snapshot(hello, layer, visible)
    if resumed is not None:
        return resumed
    missed = layer.changes_since(hello.last_seq) if hello.layer_epoch == layer.epoch else None
    if missed is not None and visible is not None and not all(map(visible, missed)):
        missed = None
    if missed is None:
        return CatchUp(_by_id(layer.snapshot()), layer.seq, snapshot=True)
    return CatchUp(missed, layer.seq, snapshot=False)


def resumed_snapshot(
    hello: Hello, layer: LayerState, visible: Visibility | None = None
) -> CatchUp | None:
    """Return the rest of the snapshot ``hello.resume`` names (§3.8), or None when it
    cannot be exact (no resume, another epoch, history since its ``seq`` not kept, or a
    record up to ``after`` changed that the connection may not view: naming it would leak).

    The records: every record with an id up to ``after`` changed since the interrupted
    snapshot's ``seq`` (its latest state; a tombstone removes it), then every live record
    with a greater id, all in id order: a resumed snapshot can itself be resumed.
    """
    resume = hello.resume
    if resume is None or hello.layer_epoch != layer.epoch:
        return None
    missed = layer.changes_since(resume.seq)
    if missed is None:
        return None
    after = resume.after
    held = [r for r in missed if r.id <= after]
    if visible is not None and not all(map(visible, held)):
        return None
    rest = [r for r in layer.snapshot() if r.id > after]
    return CatchUp(_by_id(held) + _by_id(rest), layer.seq, snapshot=True, resumed_after=after)


def _by_id(records: list[RecordState]) -> list[RecordState]:
    records.sort(key=_record_id)
    return records


def _record_id(record: RecordState) -> str:
    return record.id
