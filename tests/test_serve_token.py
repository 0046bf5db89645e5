"""`mtc serve --ip 0.0.0.0` asks for a token; requests go to 127.0.0.1 only (never another address)."""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from engine.cli.serve_commands import access_token
from engine.errors import MtcError
from conftest import example_project
from processes import free_port, get, mtc_process, shutdown, wait_for_text

PAGE = "mtc configurator of"


def _page_without_token(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # follows the redirect to the login page
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, ""


def test_serving_off_loopback_requires_the_token(tmp_path: Path) -> None:
    project = example_project(tmp_path / "served", "hello-world")
    port, log = free_port(), tmp_path / "serve.log"
    with mtc_process(["-C", str(project), "serve", "--ip", "0.0.0.0", "--port", str(port)], log) as server:
        wait_for_text(log, "?token=", 60, server)
        token = re.search(r"serving .* at http://\S+:\d+/\?token=(\S+) \(Ctrl-C stops\)", log.read_text()).group(1)
        assert len(token) >= 24 and socket.gethostname() in log.read_text()
        status, page = get(f"http://127.0.0.1:{port}/?token={token}", timeout=90)
        assert status == 200 and PAGE in page
        status, page = _page_without_token(f"http://127.0.0.1:{port}/")
        assert PAGE not in page and (status >= 400 or "login" in page.lower()), (status, page[:300])
        status, page = _page_without_token(f"http://127.0.0.1:{port}/?token=not-{token}")
        assert PAGE not in page
        assert shutdown(server) == []


def test_a_given_token_is_used_and_loopback_stays_token_free() -> None:
    assert access_token("0.0.0.0", "mine") == "mine"
    assert access_token("127.0.0.1", None) is None and access_token("localhost", None) is None
    assert access_token("::1", None) is None
    assert access_token("0.0.0.0", None) != access_token("0.0.0.0", None)  # generated, fresh each time
    assert access_token("node12.cluster", None) is not None
    with pytest.raises(MtcError, match="--token must not be empty"):
        access_token("0.0.0.0", " ")
