"""A throw-away PostgreSQL cluster for tests, started from the system's own binaries.

:class:`PostgresCluster` runs ``initdb`` and ``pg_ctl`` in a fresh temporary directory (its
unix socket lives there too) and listens on 127.0.0.1 on a free port. PostgreSQL refuses to
run as root, and CI runs as root: then the cluster runs as the unprivileged system user
``lamina-test`` (created with ``useradd`` when missing). Authentication is ``trust``: only
this machine's processes can reach it, and it lives as long as the test session.

Binaries are found in ``$LAMINA_PG_BINDIR``, on ``PATH`` or in ``/usr/lib/postgresql/*/bin``
(Debian's ``postgresql`` package, which ``.ci/run`` installs). :func:`require_postgres` skips
a test when there are none, unless ``LAMINA_REQUIRE_POSTGRES=1``, when it fails instead.

Tests get one database each (:meth:`PostgresCluster.create_database`), so one cluster serves
the whole session.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest

TEST_USER = "lamina-test"
SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries on this machine."""


def find_bindir() -> Path:
    """Return the folder holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Raises:
        PostgresUnavailable: none found.
    """
    candidates: list[str] = []
    if os.environ.get("LAMINA_PG_BINDIR"):
        candidates.append(os.environ["LAMINA_PG_BINDIR"])
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    # Debian keeps the server binaries off PATH; newest major version first.
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in candidates:
        if all((Path(folder) / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in "
        "/usr/lib/postgresql/*/bin: install the 'postgresql' package"
    )


def require_postgres() -> Path:
    """Return the binaries' folder; skip the test without them (fail with
    ``LAMINA_REQUIRE_POSTGRES=1``)."""
    try:
        return find_bindir()
    except PostgresUnavailable as exc:
        if os.environ.get("LAMINA_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"LAMINA_REQUIRE_POSTGRES=1 but {exc}", pytrace=False)
        pytest.skip(str(exc))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _unprivileged_user() -> pwd.struct_passwd | None:
    """Return the user to run PostgreSQL as when we are root (creating it), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(TEST_USER)


class PostgresCluster:
    """A PostgreSQL cluster in a temporary directory; use as a context manager.

    Args:
        fsync: ``fsync=off`` by default (tests need crash-safety against killed processes,
            which the OS cache gives, not against power loss); the bench turns it on.

    Attributes:
        port: the TCP port on 127.0.0.1.
        url: ``postgresql://`` URL of the ``postgres`` database as the superuser.
    """

    def __init__(self, *, fsync: bool = False) -> None:
        self.bindir = find_bindir()
        self.fsync = fsync
        self.port = 0
        self.directory = Path(tempfile.mkdtemp(prefix="lamina-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self._user = _unprivileged_user()
        self._running = False

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid}
        result = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.directory,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            **kwargs,  # type: ignore[call-overload]
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({result.returncode}): "
                f"{result.stderr.strip()[-2000:]}\n{log}"
            )
        return result

    def start(self) -> PostgresCluster:
        """Create the cluster and start it; return self."""
        if self._user is not None:
            os.chown(self.directory, self._user.pw_uid, self._user.pw_gid)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-instructions",
        )
        self.port = _free_port()
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.directory}",
                f"-c fsync={'on' if self.fsync else 'off'}",
                "-c max_connections=200",
                "-c shared_buffers=32MB",
            ]
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self._running = True
        self.url = self.url_for("postgres")
        return self

    def url_for(self, database: str) -> str:
        """Return the URL of ``database`` in this cluster."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "lamina") -> str:
        """Create an empty database with a fresh name; return its URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def stop(self) -> None:
        """Stop the cluster (fast shutdown) and delete its directory; idempotent."""
        if self._running:
            self._running = False
            with contextlib.suppress(RuntimeError):
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def running(self) -> bool:
        """Whether the cluster answers (``pg_ctl status``)."""
        if not self._running:
            return False
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "status")
        except RuntimeError:
            return False
        return True

    def __enter__(self) -> PostgresCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throw-away cluster for the whole test session (skips without PostgreSQL)."""
    require_postgres()
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """The URL of a fresh, empty database of the session's cluster."""
    return postgres_cluster.create_database()


async def terminate_lock_waiter(url: str, timeout: float = 30) -> int:
    """Wait until a Lamina backend waits for a lock (a commit a test holds back with a row
    lock), then terminate it; return its pid.

    Raises:
        AssertionError: no Lamina backend waited for a lock within ``timeout`` seconds.
    """
    import asyncio

    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as admin:
        while time.monotonic() < deadline:
            row = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'lamina' "
                "AND wait_event_type = 'Lock'"
            ).fetchone()
            if row is not None:
                admin.execute("SELECT pg_terminate_backend(%s)", (row[0],))
                return int(row[0])
            await asyncio.sleep(0.01)
    raise AssertionError("the commit never waited for the row lock")
