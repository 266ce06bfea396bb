"""Random edits by several client documents, for the convergence property tests.

:data:`OPS` draws one step (create, recolour, move or delete a note, go offline, come back,
pause); :func:`play` applies a list of them to real client documents, then brings every
client back online and waits until each has saved what it did. The tests then compare the
replicas with what the server(s) serve and store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st
from lamina.client.document import LaminaDocument

COLORS = ("#ff0000", "#00ff00", "#0000ff")
CLIENTS = 3

OPS = st.one_of(
    st.tuples(st.just("create"), st.integers(0, CLIENTS - 1), st.integers(0, 99)),
    st.tuples(
        st.just("color"), st.integers(0, CLIENTS - 1), st.integers(0, 99), st.sampled_from(COLORS)
    ),
    st.tuples(
        st.just("move"), st.integers(0, CLIENTS - 1), st.integers(0, 99), st.integers(0, 400)
    ),
    st.tuples(st.just("delete"), st.integers(0, CLIENTS - 1), st.integers(0, 99)),
    st.tuples(st.just("disconnect"), st.integers(0, CLIENTS - 1)),
    st.tuples(st.just("reconnect"), st.integers(0, CLIENTS - 1)),
    st.tuples(st.just("pause"), st.integers(0, CLIENTS - 1)),
)
"""One step: (action, client index[, record pick[, value]])."""


async def play(
    clients: Sequence[LaminaDocument],
    ops: Sequence[tuple[Any, ...]],
    note: Callable[[str], dict[str, Any]],
) -> None:
    """Apply ``ops`` to ``clients`` (all online at first), then reconnect all and save."""
    online = [True] * len(clients)
    for op in ops:
        action, who = op[0], op[1]
        doc = clients[who]
        ids = sorted(doc.instant_json_records())
        target = ids[op[2] % len(ids)] if len(op) > 2 and ids else None
        if action == "create":
            doc.create(note(f"c{who}-{op[2]}"))
        elif action == "color" and target is not None:
            doc.update(target, {"color": op[3]})
        elif action == "move" and target is not None:
            doc.update(target, {"bbox": [op[3], op[3], 20, 20]})
        elif action == "delete" and target is not None:
            doc.delete(target)
        elif action == "disconnect" and online[who]:
            await doc.disconnect()
            online[who] = False
        elif action == "reconnect" and not online[who]:
            doc.connect()
            online[who] = True
        elif action == "pause":
            await asyncio.sleep(0.05)
    for doc in clients:
        doc.connect()
    for doc in clients:
        await asyncio.wait_for(doc.save(), 60)
