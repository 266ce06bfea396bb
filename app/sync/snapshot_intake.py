"""A layer's snapshot while its parts arrive, and where an interrupted one resumes (§3.7, §3.8)."""

from __future__ import annotations

from dataclasses import dataclass

from lamina.model.ids import RecordId
from lamina.sync.errors import RemoteProtocolError
from lamina.sync.messages import Snapshot, SnapshotResume, Welcome


@dataclass
class SnapshotIntake:
    """This layer's snapshot while its parts arrive (§3.7), or what an interrupted one left
    for the next ``hello`` to resume (§3.8).

    Attributes:
        seq: the snapshot's ``seq``.
        after: for a resumed snapshot, the id it resumed after; None for a whole one.
        epoch: the layer epoch the snapshot belongs to (the ``welcome``'s).
        seen: the ids the replica holds from this snapshot (and the one it resumes).
        last_id: the last record id of the last part taken in whole.
    """

    seq: int
    after: str | None
    epoch: str | None
    seen: set[RecordId]
    last_id: str | None = None

    @classmethod
    def start(
        cls, first: Snapshot, resume: SnapshotIntake | None, welcome: Welcome | None
    ) -> SnapshotIntake:
        epoch = welcome.layer_epoch if welcome is not None else None
        if first.resumed_after is None:
            return cls(first.seq, None, epoch, set())  # whole: replaces everything
        if resume is None or resume.last_id != first.resumed_after:
            raise RemoteProtocolError(
                f"snapshot.resumed_after: {first.resumed_after!r} is not where we stopped"
            )
        return cls(first.seq, first.resumed_after, epoch, resume.seen, first.resumed_after)

    def point(self) -> SnapshotResume:
        """The ``hello``'s ``resume`` (§3.8)."""
        assert self.last_id is not None
        return SnapshotResume(self.seq, self.last_id)

    def interrupted(self, previous: SnapshotIntake | None) -> SnapshotIntake | None:
        """Return the resume point this snapshot leaves when its connection drops (§3.8)."""
        if self.after is None:
            return self if self.last_id is not None else None
        assert self.last_id is not None
        if self.last_id > self.after:
            return self  # past the old point: the new one is exact
        # Not past it: the old point is still exact, but records after it may be gone.
        assert previous is not None
        previous.seen = {rid for rid in self.seen if rid <= self.after}
        return previous
