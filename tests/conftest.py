"""Shared fixtures: real project folders made with mtc's own `create_project`."""

from __future__ import annotations

import os

# Tests run trainings in several processes on few cores: torch's spinning worker threads then
# slow everything down by 10-100x. One thread per process (inherited by child processes).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Callable

import pytest

from engine.project import create_project
from engine.stages import StageBook
from engine.store import DB_URL_ENV

import pg_server
import slurm_cluster

from ci_guard import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401 (hooks)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project_with(tmp_path: Path) -> Callable[[str], Path]:
    """A project whose problem.py is the given source (dedented)."""

    def make(source: str, name: str = "proj") -> Path:
        folder = create_project(tmp_path / name)
        (folder / "problem.py").write_text(textwrap.dedent(source))
        return folder

    return make


def run_mtc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real `mtc` command line in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def example_project(folder: Path, example: str, stage1: Mapping[str, Any] | None = None) -> Path:
    """A project made from a shipped example, its database initialised, stage1 edited with ``stage1``."""
    create_project(folder, example=example)
    with StageBook(folder) as book:
        book.init_conf()
        if stage1:
            book.edit("stage1", stage1)
    return folder


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` every 0.1 s until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg_server.PgServer | str]:
    """The session's PostgreSQL server (started on first use), or why none could be started."""
    server = pg_server.start()
    yield server
    if isinstance(server, pg_server.PgServer):
        server.stop()


@pytest.fixture
def pg_database(postgres: pg_server.PgServer | str) -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database (dropped after the test); skipped, with the
    reason, only when no PostgreSQL server can be started here."""
    if isinstance(postgres, str):
        pytest.skip(f"no PostgreSQL server: {postgres}")
    url = postgres.new_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on each database: SQLite (the project's file) and a fresh PostgreSQL database.

    For PostgreSQL, ``$MTC_DB_URL`` names the new database (child processes inherit it).
    """
    if request.param == "sqlite":
        monkeypatch.delenv(DB_URL_ENV, raising=False)
    else:
        monkeypatch.setenv(DB_URL_ENV, request.getfixturevalue("pg_database"))
    return request.param


@pytest.fixture(scope="session")
def slurm_server() -> Iterator[slurm_cluster.SlurmCluster | str]:
    """The session's single-node SLURM cluster (started on first use), or why none could be started."""
    cluster = slurm_cluster.start()
    yield cluster
    if isinstance(cluster, slurm_cluster.SlurmCluster):
        cluster.stop()


@pytest.fixture
def slurm(slurm_server: slurm_cluster.SlurmCluster | str, monkeypatch: pytest.MonkeyPatch) -> slurm_cluster.SlurmCluster:
    """The SLURM cluster, its ``$SLURM_CONF`` exported for this test; skipped, with the reason, if none starts."""
    if isinstance(slurm_server, str):
        pytest.skip(f"no SLURM cluster: {slurm_server}")
    for key, value in slurm_server.env.items():
        monkeypatch.setenv(key, value)
    return slurm_server

