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
from tests.support.protocol_client import Client, create, delete, join, run, update
from tests.support.server_thread import ServerThread

__all__ = ["STAMPS", "Client", "ServerThread", "create", "delete", "join", "run", "update"]


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """Which store the server keeps: None for SQLite in its data directory, else the URL of
    a fresh PostgreSQL database (each test using ``server`` runs on both)."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def server(tmp_path: Path, store_url: str | None) -> Iterator[ServerThread]:
    """A started server with no document (on each store, see ``store_url``)."""
    with ServerThread(tmp_path / "data", database=store_url) as running:
        yield running


@pytest.fixture
def doc(server: ServerThread) -> str:
    """The stamps PDF added to ``server`` as document ``stamps``; its id."""
    return server.add_document(STAMPS, "stamps")
