"""The edit fuzz draws every kind of step, for every client (play is run by the property tests)."""

from __future__ import annotations

from hypothesis import find

from tests.support.edit_fuzz import CLIENTS, OPS

ACTIONS = ("create", "color", "move", "delete", "disconnect", "reconnect", "pause")


def test_every_action_is_drawn_for_every_client() -> None:
    for action in ACTIONS:
        for who in range(CLIENTS):
            op = find(OPS, lambda o, a=action, w=who: o[0] == a and o[1] == w)
            assert op[:2] == (action, who)
