"""Reconnect delays: exponential backoff with full jitter (sync §7.2)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delays between reconnect attempts.

    Attempt ``n`` (0-based) waits a uniformly random time in ``[0, min(maximum, initial *
    factor**n)]`` ("full jitter"), so many clients that lost the same server do not come back
    in lockstep. The attempt counter resets after a connection completes its handshake.
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Return the wait before attempt ``attempt`` (seconds)."""
        ceiling = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return (rng or random).uniform(0.0, ceiling)
