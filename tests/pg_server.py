"""A throw-away PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` on 127.0.0.1, a free port, a temp folder.

``start()`` returns a running ``PgServer`` or, when no server can be started here, the
reason (the PostgreSQL half of the parametrized tests is then skipped with it). With
``MTC_TEST_PG_URL`` exported, that server is used instead (its URL must allow
``CREATE DATABASE``). Each test gets a fresh database of its own (``new_database``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

TEST_URL_ENV = "MTC_TEST_PG_URL"
USER, PASSWORD = "mtc", "mtc-test-secret"


@dataclass
class PgServer:
    """A PostgreSQL server reachable at ``url`` (its maintenance database); ``folder`` set when we started it."""

    url: str
    folder: Path | None = None
    run_as: str | None = None

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        name = f"mtc_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        """Drop a database made by ``new_database`` (disconnecting whoever still uses it)."""
        self._admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server we started and delete its folder."""
        if self.folder is None:
            return
        _run(["pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop"], self.run_as)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _admin(self, statement: str) -> None:
        import psycopg

        parsed = make_url(self.url)
        conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(statement)


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _run(command: list[str], run_as: str | None) -> subprocess.CompletedProcess:
    binaries = _binaries()
    assert binaries is not None
    full = [str(binaries / command[0]), *command[1:]]
    if run_as is not None:
        full = ["runuser", "-u", run_as, "--", *full]
    return subprocess.run(full, capture_output=True, text=True, timeout=120)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start() -> PgServer | str:
    """A running server (ours or ``$MTC_TEST_PG_URL``'s), or why none could be started."""
    if os.environ.get(TEST_URL_ENV):
        return PgServer(os.environ[TEST_URL_ENV])
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    if _binaries() is None:
        return "PostgreSQL is not installed (apt-get install postgresql) and MTC_TEST_PG_URL is not set"
    run_as = None
    if os.geteuid() == 0:  # the server refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
        run_as = "postgres"
    folder = Path(tempfile.mkdtemp(prefix="mtc-pg-"))
    (folder / "password").write_text(PASSWORD)
    if run_as is not None:
        shutil.chown(folder, run_as)
        shutil.chown(folder / "password", run_as)
    port = _free_port()
    init = _run(
        ["initdb", "-D", str(folder / "data"), "-U", USER, f"--pwfile={folder / 'password'}",
         "--auth=scram-sha-256", "--encoding=UTF8", "--no-sync"], run_as,
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        return f"initdb failed: {init.stderr.strip()[-300:]}"
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off -c max_connections=200"
    started = _run(["pg_ctl", "-D", str(folder / "data"), "-o", options, "-l", str(folder / "log"), "-w", "start"], run_as)
    if started.returncode != 0:
        log = (folder / "log").read_text(errors="replace")[-300:] if (folder / "log").is_file() else ""
        shutil.rmtree(folder, ignore_errors=True)
        return f"pg_ctl start failed: {started.stderr.strip()[-300:]} {log}"
    return PgServer(f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/postgres", folder, run_as)
