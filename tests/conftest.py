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
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import pytest

from engine.project import create_project
from engine.stages import StageBook

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

