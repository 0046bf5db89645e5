"""``mtc serve`` and the serving ``mtc demo``: Voila serves the configurator; a taken port or a
non-project is refused; stopping them leaves no process behind."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from engine.cli.serve_commands import VoilaServer
from engine.errors import MtcError
from engine.project import create_project
from engine.stages import StageBook

from conftest import run_mtc
from processes import free_port, get, mtc_process, shutdown, wait_for_text


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = create_project(tmp_path / "served", example="hello-world")
    with StageBook(folder) as book:
        book.init_conf()
    return folder


def test_serve_answers_with_the_configurator_page(project: Path, tmp_path: Path) -> None:
    port = free_port()
    with mtc_process(["-C", str(project), "serve", "--port", str(port)], tmp_path / "serve.log") as server:
        status, page = get(f"http://127.0.0.1:{port}/", timeout=90)
        assert status == 200
        assert "application/vnd.jupyter.widget-view+json" in page  # the app's output, to be bootstrapped
        assert "/voila/static/voila.js" in page  # Voila's widget manager
        assert "mtc configurator of" in page
        taken = run_mtc("-C", str(project), "serve", "--port", str(port))
        assert taken.returncode == 1
        assert f"port {port} on 127.0.0.1 is not free" in taken.stderr and "--port" in taken.stderr
        leftovers = shutdown(server)  # SIGTERM: mtc serve stops Voila, Voila its kernels
    output = (tmp_path / "serve.log").read_text()
    assert f"serving {project / 'configurator.ipynb'} at http://127.0.0.1:{port}/" in output
    assert server.returncode == 130 and "mtc: interrupted" in output
    assert leftovers == []


def test_serve_refuses_a_folder_that_is_not_a_project(tmp_path: Path) -> None:
    result = run_mtc("-C", str(tmp_path), "serve", "--port", str(free_port()))
    assert result.returncode == 1
    assert "is not an mtc project: configurator.ipynb and problem.py missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_bad_port(project: Path) -> None:
    result = run_mtc("-C", str(project), "serve", "--port", "70000")
    assert result.returncode == 1 and "--port must be between 1 and 65535" in result.stderr


def test_demo_trains_while_serving_then_serves_until_stopped(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "demo.log"
    with mtc_process(["demo", "--max-steps", "30", "--port", str(port)], log, cwd=tmp_path) as demo:
        status, page = get(f"http://127.0.0.1:{port}/", timeout=120)
        assert status == 200 and "mtc configurator of" in page
        wait_for_text(log, "(Ctrl-C stops)", 240, demo)
        leftovers = shutdown(demo)
    output = log.read_text()
    assert f"the configurator is served at http://127.0.0.1:{port}/" in output
    assert "relative L2 error" in output and f"still serving the demo's configurator at http://127.0.0.1:{port}/" in output
    assert demo.returncode == 130 and "Traceback" not in output
    assert leftovers == []
    assert "Voil" in (tmp_path / "mtc-demo" / ".mtc" / "logs" / "voila.log").read_text()  # Voila's log, not the terminal


def test_demo_refuses_a_taken_port_before_training(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_mtc("demo", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 1 and f"port {port} on 127.0.0.1 is not free" in result.stderr
    assert "training" not in result.stdout and "Traceback" not in result.stderr


def test_a_voila_that_stops_with_an_error_is_reported_with_its_last_words(project: Path, tmp_path: Path) -> None:
    log = tmp_path / "voila.log"
    server = VoilaServer(project, "127.0.0.1", free_port(), log=log)
    # a server process that dies at start, as Voila does when it finds no template
    server.command = [sys.executable, "-c", "import sys; print('ValueError: no template named lab'); sys.exit(3)"]
    with server, pytest.raises(MtcError) as raised:
        server.wait()
    message = str(raised.value)
    assert "Voila stopped with exit code 3" in message and "ValueError: no template named lab" in message
    assert str(log) in message
