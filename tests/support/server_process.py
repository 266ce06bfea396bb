"""The one out-of-process server harness: ``lamina serve`` as a child process on loopback.

Use it when the test must kill the server without a shutdown (SIGKILL: no flush, no close
frames) or run the command exactly as a user does (``--fsync``, ``--public-key``). The server
keeps a real SQLite store in the data directory the test gives it. For everything else the
in-process :class:`tests.support.server_thread.ServerThread` is faster and easier to debug.

What the child logs at ERROR or above (and any traceback it prints) is read back when it
stops or is killed and logged again in the test process, so the log guard
(:mod:`tests.support.log_guard`) fails the test just as it does for an in-process error.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lamina.auth import mint_token
from lamina.auth.invite import Invite
from lamina.auth.keys import KeyPair, load_or_create_keypair
from lamina.server.documents import add_document_file
from lamina.server.store import SqliteStore, Store
from lamina.server.store_postgres import PostgresStore

from tests.support.corpus import REPO, STAMPS, corpus_pdf
from tests.support.server_thread import add_corpus_document

log = logging.getLogger("tests.support.server_process")

START_TIMEOUT = 30.0
"""Seconds a child has to print its ``listening on`` line (generous: the machine is shared)."""

# A record as ``lamina serve`` writes it on stderr (lamina.applog's stderr format).
_RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (?P<level>[A-Z]+) ")
_LISTENING = re.compile(r"listening on (?P<url>ws://\S+)")


def free_port() -> int:
    """Return a loopback port that is free now (for a server whose URL is needed before it starts).

    Another process may take it before the server binds it; prefer port 0 where possible.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def error_entries(stderr: str) -> list[str]:
    """Return the ERROR and CRITICAL records in ``stderr``, each with its traceback.

    A record runs from its timestamped first line to the next timestamped line, so the
    traceback of ``logger.exception`` stays with its record. Text before the first record that
    holds a traceback is an entry too. (A crash after the first record shows in the exit
    status, which :meth:`ServerProcess.stop` checks.)
    """
    entries: list[tuple[str, list[str]]] = [("", [])]
    for line in stderr.splitlines():
        start = _RECORD_START.match(line)
        if start is not None:
            entries.append((start["level"], [line]))
        else:
            entries[-1][1].append(line)
    preamble = "\n".join(entries[0][1])
    found = [preamble] if "Traceback (most recent call last)" in preamble else []
    found.extend("\n".join(lines) for level, lines in entries[1:] if level in _ERROR_LEVELS)
    return found


_ERROR_LEVELS = ("ERROR", "CRITICAL")


class ServerProcess:
    """``lamina serve`` in a child process on 127.0.0.1; start, SIGKILL, restart, stop.

    Args:
        data_dir: the server's data directory (keys and SQLite store), created if missing.
        port: the port to listen on; 0 lets the first start pick a free one, and every
            restart reuses it, so clients reconnect to the same URL.
        args: more ``lamina serve`` options for every start (``["--fsync"]``).
        database: a PostgreSQL URL: serve from it (``--database``); :meth:`add_document` and
            :meth:`layer_records` then use it too. Several processes may share one.

    Attributes:
        command: the program run, before its options (the harness's own tests replace it).
        proc: the running child, or ``None``.
        keypair: the data directory's signing key (see :meth:`token` and :meth:`invite`).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int = 0,
        *,
        args: Sequence[str] = (),
        database: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.database = database
        self.args = list(args) if database is None else ["--database", database, *args]
        self.command = [sys.executable, "-m", "lamina.cli", "serve"]
        self.keypair: KeyPair = load_or_create_keypair(data_dir)
        self.proc: subprocess.Popen[str] | None = None
        self._stderr: Any = None

    @property
    def url(self) -> str:
        """Return ``ws://127.0.0.1:PORT``, the URL invites carry (the socket is at ``/sync``).

        Raises:
            RuntimeError: the port is 0 and the server never started.
        """
        if self.port == 0:
            raise RuntimeError("the server picks its port when it first starts; start it first")
        return f"ws://127.0.0.1:{self.port}"

    @property
    def sync_url(self) -> str:
        """Return the URL of the sync socket (``ws://127.0.0.1:PORT/sync``)."""
        return f"{self.url}/sync"

    def add_document(self, prefix: str = STAMPS, document_id: str = "doc") -> str:
        """Add a corpus PDF to the server's store (as ``lamina doc add``); return its id."""
        if self.database is None:
            return add_corpus_document(self.data_dir, prefix, document_id)
        store = PostgresStore(self.database)
        try:
            return add_document_file(store, corpus_pdf(prefix), document_id).document_id
        finally:
            store.close()

    def start(self, *, args: Sequence[str] = ()) -> None:
        """Start the child and wait until it listens.

        Args:
            args: more ``lamina serve`` options for this start only (``["--fsync"]``).

        Raises:
            RuntimeError: the child exited or stayed silent before listening (with its stderr).
        """
        assert self.proc is None, "the server is already running"
        # Closed in _reap, when the child has exited (it outlives this method).
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                *(*self.command, "--data", str(self.data_dir), "--host", "127.0.0.1"),
                *("--port", str(self.port), *self.args, *args),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self.proc.stdout is not None
        # readline blocks; a watchdog kills a child that never prints so the read returns.
        watchdog = _Watchdog(self.proc, START_TIMEOUT)
        try:
            while True:
                line = self.proc.stdout.readline()
                if not line:
                    tail = self._reap()
                    raise RuntimeError(f"lamina serve exited before listening: {tail}")
                found = _LISTENING.search(line)
                if found is not None:
                    self.port = int(found["url"].rsplit(":", 1)[1])
                    return
        finally:
            watchdog.cancel()

    def kill(self) -> None:
        """SIGKILL the server: no shutdown, no flush."""
        assert self.proc is not None, "the server is not running"
        os.kill(self.proc.pid, signal.SIGKILL)
        self._reap()

    def stop(self) -> None:
        """Stop the server as a user does (SIGTERM), killing it after 10 s; idempotent."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            status = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self._reap()
            log.error("lamina serve did not stop within 10 s of SIGTERM")
            return
        pid = self.proc.pid
        tail = self._reap()
        if status != 0:
            log.error("lamina serve (pid %d) exited with status %d: %s", pid, status, tail)

    def token(self, document_id: str = "doc", **claims: Any) -> str:
        """Mint a token this server trusts (claims as :func:`lamina.auth.mint_token` takes)."""
        return mint_token(self.keypair, document_id=document_id, **claims)

    def invite(self, document_id: str = "doc", **claims: Any) -> Invite:
        """Return an invite to this server's ``document_id`` (claims as :meth:`token`)."""
        return Invite(self.url, self.token(document_id, **claims))

    def layer_records(self, document_id: str = "doc", layer: str = "") -> dict[str, Any]:
        """Read the live records of a layer straight from the server's store."""
        store: Store = (
            SqliteStore(self.data_dir) if self.database is None else PostgresStore(self.database)
        )
        try:
            loaded = store.load_layer(document_id, layer)
            return {r.id: r.content for r in loaded.records if not r.deleted}
        finally:
            store.close()

    def _reap(self) -> str:
        # Wait for the child, then log again what it logged at ERROR (see the module docstring);
        # return the end of its stderr.
        assert self.proc is not None
        self.proc.wait()
        pid = self.proc.pid
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None
        text = self._stderr_text()
        self._stderr.close()
        for entry in error_entries(text):
            log.error("lamina serve (pid %d) logged: %s", pid, entry)
        return text[-2000:]

    def log_text(self) -> str:
        """Return what the running child has written on stderr so far (its log)."""
        assert self.proc is not None, "the server is not running"
        # pread: the child shares this file's offset, so seeking would move its writes.
        fd = self._stderr.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode("utf-8", errors="replace")

    def _stderr_text(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        text: str = self._stderr.read()
        return text


class _Watchdog:
    """Kill ``proc`` unless cancelled within ``seconds``."""

    def __init__(self, proc: subprocess.Popen[str], seconds: float) -> None:
        self._proc = proc
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()

    def cancel(self) -> None:
        self._timer.cancel()
