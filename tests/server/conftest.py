"""A real sync server on 127.0.0.1, port 0, with a real SQLite file in tmp_path.

The harness (:class:`~tests.support.server_thread.ServerThread`) and the raw protocol client
(:mod:`tests.support.protocol_client`) live in :mod:`tests.support`; they are re-exported here
for the tests that import them from this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.corpus import STAMPS

# PostgreSQL fixtures: one throw-away cluster per session, one fresh database per test.
from tests.support.postgres import postgres_cluster, postgres_url  # noqa: F401
from tests.support.protocol_client import Client, create, delete, join, run, update
from tests.support.server_thread import ServerThread

__all__ = ["STAMPS", "Client", "ServerThread", "create", "delete", "join", "run", "update"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    """A started server with no document."""
    with ServerThread(tmp_path / "data") as running:
        yield running


@pytest.fixture
def doc(server: ServerThread) -> str:
    """The stamps PDF added to ``server`` as document ``stamps``; its id."""
    return server.add_document(STAMPS, "stamps")
