"""Helpers for tests that run `mtc serve`, `mtc demo` and workers as real processes: ports, HTTP, process trees."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from engine.stages import StageBook
from engine.store.queue import request_cancel
from engine.worker.registry import live_workers, pid_alive


def free_port() -> int:
    """A TCP port nothing listens on now."""
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


def wait_listening(port: int, timeout: float) -> None:
    """Wait until something accepts connections on ``port`` (without asking it for a page)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on port {port} after {timeout} s") from None
            time.sleep(0.2)


def wait_for_text(path: Path, text: str, timeout: float, process: subprocess.Popen) -> None:
    """Wait until the file ``path`` (a process's output) contains ``text``; fail early if the process exits."""
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never appeared; the output was:\n{path.read_text(errors='replace')}")
        time.sleep(0.3)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` in the process tree now (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found: list[int] = []
    frontier = [pid]
    while frontier:
        below = frontier.pop()
        children = [child for child, parent in parents.items() if parent == below]
        found += children
        frontier += children
    return found


def shutdown(process: subprocess.Popen, timeout: float = 40) -> list[int]:
    """SIGTERM ``process`` and wait; then SIGKILL whatever of its tree is still alive after a grace
    period (its Voila kernels, workers). Returns the pids that had to be killed."""
    tree = descendants(process.pid)
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 10
    while (alive := [pid for pid in tree if pid_alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return alive


@contextmanager
def mtc_process(
    args: list[str], output: Path, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """``mtc ARGS`` running in a session of its own, writing to ``output``; stopped (with its tree) on exit."""
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", *args], cwd=cwd, env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        shutdown(process)


def stop_workers(project: Path, timeout: float = 20) -> None:
    """Cancel the project's queued and running stages, wait for its (detached) workers to exit,
    and SIGKILL those still alive after ``timeout`` seconds."""
    with StageBook(project) as book:
        for record in book.stages():
            if record.status in ("queued", "running"):
                request_cancel(book.storage, record.name)
    deadline = time.monotonic() + timeout
    while live_workers(project) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in live_workers(project):
        os.kill(pid, signal.SIGKILL)
