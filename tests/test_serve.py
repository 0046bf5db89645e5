"""``mtc serve``: Voila serves the project's configurator; a taken port or a non-project is refused."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from engine.project import create_project
from engine.stages import StageBook

from conftest import run_mtc


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, timeout: float) -> tuple[int, str]:
    """The first answer of ``url`` within ``timeout`` seconds (retrying while the server starts)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.status, response.read().decode()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = create_project(tmp_path / "served", example="hello-world")
    with StageBook(folder) as book:
        book.init_conf()
    return folder


def test_serve_answers_with_the_configurator_page(project: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "-C", str(project), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        status, page = get(f"http://127.0.0.1:{port}/", timeout=90)
        assert status == 200
        assert "application/vnd.jupyter.widget-view+json" in page  # the app's output, to be bootstrapped
        assert "/voila/static/voila.js" in page  # Voila's widget manager
        assert "mtc configurator of" in page
        taken = run_mtc("-C", str(project), "serve", "--port", str(port))
        assert taken.returncode == 1
        assert f"port {port} on 127.0.0.1 is not free" in taken.stderr and "--port" in taken.stderr
    finally:
        server.terminate()  # mtc serve passes it on: Voila shuts its kernels down
        try:
            output, _ = server.communicate(timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):  # anything left of the group (nothing, normally)
                os.killpg(server.pid, signal.SIGKILL)
    assert f"serving {project / 'configurator.ipynb'} at http://127.0.0.1:{port}/" in output


def test_serve_refuses_a_folder_that_is_not_a_project(tmp_path: Path) -> None:
    result = run_mtc("-C", str(tmp_path), "serve", "--port", str(free_port()))
    assert result.returncode == 1
    assert "is not an mtc project: configurator.ipynb and problem.py missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_bad_port(project: Path) -> None:
    result = run_mtc("-C", str(project), "serve", "--port", "70000")
    assert result.returncode == 1 and "--port must be between 1 and 65535" in result.stderr
